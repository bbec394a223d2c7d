"""Questions named like ODK metadata (`start`, `end`, `deviceid`, `today`: ordinary names to
pyxform and ODK Collect) are answers of their own type, from a phone's JSON and from Collect's
XML; the form's own start/end metadata still gives the collection time (found by review: the
server read a text `end` as a time and refused every survey, from Collect too)."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.main import create_app
from app.settings import REPO_ROOT, Settings
from tests.auth import bearer, make_token, make_user
from tests.integration.test_odk import post_submission

FORM = "meta_named_questions"


@pytest.fixture
def meta_client(
    database_url: str, tmp_path: Path, clean_surveys: None, admin_token: str
) -> Iterator[TestClient]:
    forms_dir = tmp_path / "forms"
    forms_dir.mkdir()
    shutil.copy(REPO_ROOT / "forms" / "household.xlsx", forms_dir / "household.xlsx")
    shutil.copy(REPO_ROOT / "tests" / "forms" / f"{FORM}.md", forms_dir / f"{FORM}.md")
    settings = Settings(database_url=database_url, forms_dir=forms_dir, media_dir=tmp_path / "m")
    with TestClient(create_app(settings), headers=bearer(admin_token)) as test_client:
        yield test_client


@pytest.fixture
def volunteer(sync_engine: Engine) -> dict[str, Any]:
    user_id = make_user(sync_engine, "meta-names-volunteer", [("volunteer", ("ward", "W03"))])
    return {"id": user_id, "headers": bearer(make_token(sync_engine, user_id))}


def stored(engine: Engine, survey_id: str) -> tuple[dict[str, Any], str]:
    with engine.connect() as connection:
        answers, collected_at = connection.execute(
            text(
                "SELECT answers, to_char(collected_at AT TIME ZONE 'UTC', "
                "'YYYY-MM-DD\"T\"HH24:MI:SS') FROM household_surveys WHERE id = :id"
            ),
            {"id": survey_id},
        ).one()
    return answers, collected_at


def test_a_phone_survey_answering_questions_named_start_and_end_is_stored(
    meta_client: TestClient, volunteer: dict[str, Any], sync_engine: Engine
) -> None:
    survey_id = str(uuid.uuid4())
    answers = {"start": "Hà Nội", "end": "Huế", "deviceid": 3, "today": "2026-01-05"}
    body = {
        "id": survey_id,
        "form_id": FORM,
        "form_version": "1",
        "city": "tam-ky",
        "collected_at": "2026-01-02T02:00:00Z",
        "answers": answers,
    }
    response = meta_client.post("/api/v1/submissions", json=body, headers=volunteer["headers"])
    assert response.status_code == 201, response.text
    assert stored(sync_engine, survey_id) == (answers, "2026-01-02T02:00:00")
    # Still checked as their own types: a deviceid of 0 breaks its constraint, not "not text".
    bad = {**body, "id": str(uuid.uuid4()), "answers": {**answers, "deviceid": 0}}
    refused = meta_client.post("/api/v1/submissions", json=bad, headers=volunteer["headers"])
    assert refused.status_code == 422
    assert [(p["field"], p["code"]) for p in refused.json()["errors"]] == [
        ("answers.deviceid", "constraint")
    ]


def test_collect_sends_them_and_the_forms_own_metadata_gives_the_time(
    meta_client: TestClient, volunteer: dict[str, Any], sync_engine: Engine
) -> None:
    setup = meta_client.post("/api/v1/odk/setup", json={"user_id": volunteer["id"]}).json()
    prefix = setup["server_url"].removeprefix("http://testserver")
    survey_id = str(uuid.uuid4())
    xml = (
        f'<data id="{FORM}" version="1">'
        "<started>2026-01-02T08:00:00.000+07:00</started>"
        "<ended>2026-01-02T09:30:00.000+07:00</ended>"
        "<start>Hà Nội</start><end>Huế</end><deviceid>3</deviceid><today>2026-01-05</today>"
        f"<meta><instanceID>uuid:{survey_id}</instanceID></meta></data>"
    ).encode()
    response = post_submission(meta_client, prefix, xml)
    assert response.status_code == 201, response.text
    answers, collected_at = stored(sync_engine, survey_id)
    assert answers == {"start": "Hà Nội", "end": "Huế", "deviceid": 3, "today": "2026-01-05"}
    assert collected_at == "2026-01-02T02:30:00"
