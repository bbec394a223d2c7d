"""A form without a geopoint question: its surveys come without a location and are stored
without a point; a survey of a form that needs a location and has none is refused on its own."""

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
from tests.auth import bearer
from tests.factories import household_survey
from tests.phone_forms import VISIT_FORM_ID, VISIT_FORM_VERSION, write_visit_form


@pytest.fixture
def two_forms_client(
    database_url: str, tmp_path: Path, clean_surveys: None, admin_token: str
) -> Iterator[TestClient]:
    forms_dir = tmp_path / "forms"
    forms_dir.mkdir()
    shutil.copy(REPO_ROOT / "forms" / "household.xlsx", forms_dir / "household.xlsx")
    write_visit_form(forms_dir / "visit_note.xlsx")
    settings = Settings(database_url=database_url, forms_dir=forms_dir, media_dir=tmp_path / "m")
    with TestClient(create_app(settings), headers=bearer(admin_token)) as client:
        yield client


def visit_note(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "form_id": VISIT_FORM_ID,
        "form_version": VISIT_FORM_VERSION,
        "collected_at": "2026-12-02T09:30:00+07:00",
        "collector": "tnv-07",
        "answers": {"meeting_place": "Nhà văn hoá tổ 3", "people_present": 12},
    }
    body.update(overrides)
    return body


def test_a_survey_without_a_location_is_stored_when_its_form_asks_none(
    two_forms_client: TestClient, sync_engine: Engine
) -> None:
    note = visit_note()
    created = two_forms_client.post("/api/v1/submissions", json=note)
    assert created.status_code == 201, created.text
    assert created.json()["location"] is None
    again = two_forms_client.post("/api/v1/submissions", json=note)
    assert again.status_code == 200  # the same content again: a duplicate, not a second one
    read = two_forms_client.get(f"/api/v1/submissions/{note['id']}")
    assert read.status_code == 200 and read.json()["location"] is None
    with sync_engine.connect() as connection:
        geom_is_null = connection.execute(
            text("SELECT geom IS NULL FROM household_surveys WHERE id = :id"), {"id": note["id"]}
        ).scalar_one()
    assert geom_is_null
    # A location given all the same is kept.
    placed = visit_note(location={"lat": 15.5712, "lon": 108.4741, "accuracy_m": 5})
    response = two_forms_client.post("/api/v1/submissions", json=placed)
    assert response.status_code == 201 and response.json()["location"]["lat"] == 15.5712


def test_a_household_survey_without_a_location_is_invalid_on_its_own_in_a_batch(
    two_forms_client: TestClient, sync_engine: Engine
) -> None:
    household = household_survey()
    del household["location"]
    good = household_survey()
    note = visit_note()
    response = two_forms_client.post(
        "/api/v1/submissions/batch",
        json={"submissions": [household, good, note]},
        params={"lang": "en"},
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["outcome"] for r in results] == ["invalid", "created", "created"]
    assert {"field": "location", "code": "missing"}.items() <= results[0]["errors"][0].items()
    with sync_engine.connect() as connection:
        rows = connection.execute(text("SELECT id::text FROM household_surveys"))
        stored = {row[0] for row in rows}
    assert stored == {good["id"], note["id"]}


def test_a_location_of_the_wrong_shape_is_still_refused(two_forms_client: TestClient) -> None:
    response = two_forms_client.post("/api/v1/submissions", json=visit_note(location="here"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "location"
