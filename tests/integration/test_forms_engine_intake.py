"""Defect 2 over HTTP: a survey of a form with `regex(., '^\\p{Lu}')` is checked, never a 500;
a valid survey beside a bad one in a batch is stored. Repeats go through intake and storage."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import REPO_ROOT, Settings
from tests.auth import bearer
from tests.factories import household_survey

URL = "/api/v1/submissions"
CORPUS = REPO_ROOT / "tests" / "forms"


@pytest.fixture
def corpus_client(
    database_url: str, tmp_path: Path, clean_surveys: None, admin_token: str
) -> Iterator[TestClient]:
    forms_dir = tmp_path / "forms"
    forms_dir.mkdir()
    shutil.copy(REPO_ROOT / "forms" / "household.xlsx", forms_dir / "household.xlsx")
    for name in ("defect_2_regex_unicode.md", "household_roster.md"):
        shutil.copy(CORPUS / name, forms_dir / name)
    settings = Settings(database_url=database_url, forms_dir=forms_dir, media_dir=tmp_path / "m")
    with TestClient(create_app(settings), headers=bearer(admin_token)) as client:
        yield client


def survey(form_id: str, version: str, answers: dict[str, Any]) -> dict[str, Any]:
    base = household_survey()
    return {**base, "id": str(uuid.uuid4()), "form_id": form_id, "form_version": version} | {
        "answers": answers
    }


def test_defect_2_a_unicode_regex_is_checked_on_single_and_batch(
    corpus_client: TestClient,
) -> None:
    good = survey("defect_2_regex_unicode", "1", {"village": "Ánh"})
    bad = survey("defect_2_regex_unicode", "1", {"village": "anh"})
    response = corpus_client.post(URL, json=bad)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "answers.village"
    batch = corpus_client.post(
        f"{URL}/batch", json={"submissions": [bad, good, household_survey()]}
    )
    assert batch.status_code == 200, batch.text
    assert [r["outcome"] for r in batch.json()["results"]] == ["invalid", "created", "created"]


def test_a_roster_is_stored_with_its_members_and_calculations(corpus_client: TestClient) -> None:
    members = [
        {"member_name": "Hoa", "age": 40, "sex": "female", "disability": "no"},
        {"member_name": "Bảo", "age": "3", "sex": "male"},
    ]
    body = survey(
        "household_roster", "2026120201", {"head_name": "Hoa", "member_count": 2, "member": members}
    )
    response = corpus_client.post(URL, json=body)
    assert response.status_code == 201, response.text
    stored = corpus_client.get(f"{URL}/{body['id']}").json()["answers"]
    assert stored["member"][1] == {"member_name": "Bảo", "age": 3, "sex": "male"} | {
        "position_in_roster": "2"
    }
    assert stored["adults"] == "1" and stored["total_age"] == "43"
    wrong = survey(
        "household_roster",
        "2026120201",
        {"head_name": "Hoa", "member_count": 2, "member": [{**members[0], "age": 400}]},
    )
    refused = corpus_client.post(URL, json=wrong)
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["answers.member[1].age"]


def test_the_form_model_is_served_for_a_markdown_form(corpus_client: TestClient) -> None:
    body = corpus_client.get("/api/v1/forms/household_roster").json()
    assert body["version"] == "2026120201"
    member = next(n for n in body["model"]["children"] if n["name"] == "member")
    assert member["kind"] == "repeat" and member["path"] == "/data/member"
    assert body["model"]["instances"]["sex"][0]["name"] == "female"
    assert [q["name"] for q in body["questions"]][:2] == ["head_name", "member_count"]
