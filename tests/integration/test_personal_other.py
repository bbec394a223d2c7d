"""Answers a form marks personal without a `personal` cell of their own
(tests/forms/personal_other.md): the "other" text of a personal `select_one ... or_other`
(pyxform's generated `<name>_other` question: an ID number typed in), at the top and inside a
repeat, and every answer of a group or a repeat marked personal. A planner finds none of them
in any export, the OGC API (items, filters, queryables) or the read API; an admin does."""

from __future__ import annotations

import json
import shutil
import subprocess
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
from tests.factories import TAM_KY_POINT

FORM_ID = "personal_other"
VERSION = "2026120301"
SECRET_ID = "CMND-SECRET-079123456789"  # typed for "other" at the top
SECRET_MEMBER_ID = "MEMBER-SECRET-ID-555"  # the same, in a repeat
SECRET_PHONE = "0977000111"  # in a group marked personal
SECRET_CONTACT_ID = "CONTACT-SECRET-42"  # an `_other` text in a group marked personal
SECRET_KID = "KID-SECRET-NAME"  # in a repeat marked personal
SECRETS = (SECRET_ID, SECRET_MEMBER_ID, SECRET_PHONE, SECRET_CONTACT_ID, SECRET_KID)
PUBLIC_OTHER = "ROOF-PUBLIC-PALM"  # the other text of a select not marked personal
ANSWERS: dict[str, Any] = {
    "resp_name": "Nguyễn Bí Mật",
    "id_type": "other",
    "id_type_other": SECRET_ID,
    "roof": "other",
    "roof_other": PUBLIC_OTHER,
    "contact_phone": SECRET_PHONE,
    "contact_idt": "other",
    "contact_idt_other": SECRET_CONTACT_ID,
    "member": [
        {"member_name": "Con Bí Mật", "member_idt": "other", "member_idt_other": SECRET_MEMBER_ID}
        | {"age": 7}
    ],
    "kids": [{"kid_name": SECRET_KID, "kid_age": 3}],
    "notes": "ok",
}
EXPORT = "/api/v1/export"
# Each planner output, and the file name GDAL reads it from (None: read the bytes as sent).
OUTPUTS: tuple[tuple[str, str | None], ...] = (
    (f"{EXPORT}/forms/{FORM_ID}.geojson?city=tam-ky", None),
    (f"{EXPORT}/forms/{FORM_ID}.csv?city=tam-ky", None),
    (f"{EXPORT}/forms/{FORM_ID}.csv?city=tam-ky&repeat=member", None),
    (f"{EXPORT}/forms/{FORM_ID}.kml?city=tam-ky", None),
    (f"{EXPORT}/forms/{FORM_ID}.xlsx?city=tam-ky", "form.xlsx"),
    (f"{EXPORT}/forms/{FORM_ID}.gpkg?city=tam-ky", "form.gpkg"),
    (f"{EXPORT}/layers.gpkg?city=tam-ky", "layers.gpkg"),
    (f"/ogc/collections/{FORM_ID}/items", None),
    (f"/ogc/collections/{FORM_ID}/queryables", None),
)


@pytest.fixture
def forms_dir(tmp_path: Path) -> Path:
    """The app's forms and the form of these tests."""
    found = tmp_path / "forms"
    found.mkdir()
    for path in [*(REPO_ROOT / "forms").glob("*.xlsx"), *(REPO_ROOT / "forms").glob("*.yaml")]:
        shutil.copy(path, found / path.name)
    shutil.copy(REPO_ROOT / "tests" / "forms" / f"{FORM_ID}.md", found / f"{FORM_ID}.md")
    return found


@pytest.fixture
def app_client(database_url: str, forms_dir: Path, clean_surveys: None) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=database_url, forms_dir=forms_dir))) as client:
        yield client


def store_survey(sync_engine: Engine) -> str:
    """An approved survey of the form with every secret answered, in Tam Kỳ."""
    with sync_engine.begin() as connection:
        return str(
            connection.execute(
                text(
                    "INSERT INTO household_surveys (id, city_id, form_id, form_version, "
                    "collected_at, status, answers, content_hash, geom) SELECT "
                    "gen_random_uuid(), id, :form_id, :version, now(), 'approved', "
                    "CAST(:answers AS jsonb), 'x', ST_SetSRID(ST_MakePoint(108.474, 15.571), "
                    "4326) FROM cities WHERE slug = 'tam-ky' RETURNING id"
                ),
                {"form_id": FORM_ID, "version": VERSION, "answers": json.dumps(ANSWERS)},
            ).scalar_one()
        )


def read(client: TestClient, url: str, token: str, as_file: str | None, tmp_path: Path) -> bytes:
    """An output as its reader's tool reads it (GDAL for the binary files)."""
    response = client.get(url, headers=bearer(token))
    assert response.status_code == 200, (url, response.status_code, response.text[:300])
    if as_file is None:
        return response.content
    (tmp_path / as_file).write_bytes(response.content)
    return subprocess.run(
        ["ogrinfo", "-al", "-q", str(tmp_path / as_file)], capture_output=True, check=True
    ).stdout


def test_a_planner_finds_no_personal_other_text_nor_a_personal_sections_answers(
    app_client: TestClient, sync_engine: Engine, planner_token: str, tmp_path: Path
) -> None:
    survey_id = store_survey(sync_engine)
    leaks: dict[str, list[str]] = {}
    urls = [
        *OUTPUTS,
        (f"/api/v1/submissions/{survey_id}", None),
    ]
    for url, as_file in urls:
        body = read(app_client, url, planner_token, as_file, tmp_path)
        leaks[url] = [s for s in SECRETS if s.encode() in body]
        assert "Nguyễn Bí Mật".encode() not in body, url
        if not any(part in url for part in ("queryables", "repeat=")):
            # The other text of a select not marked personal is still there.
            assert PUBLIC_OTHER.encode() in body, url
    assert not any(leaks.values()), leaks
    # The planner cannot search surveys by a person's ID number either: no such property.
    for name, value in (("id_type_other", SECRET_ID), ("kid_name", SECRET_KID)):
        found = app_client.get(
            f"/ogc/collections/{FORM_ID}/items?{name}={value}", headers=bearer(planner_token)
        )
        assert found.status_code == 400, found.text
        assert found.json()["errors"][0]["code"] == "ogc_unknown_parameter", found.text
    queryables = app_client.get(
        f"/ogc/collections/{FORM_ID}/queryables", headers=bearer(planner_token)
    ).json()
    assert "roof_other" in queryables["properties"]
    assert not PERSONAL_NAMES & set(queryables["properties"]), queryables["properties"]
    answers = app_client.get(
        f"/api/v1/submissions/{survey_id}", headers=bearer(planner_token)
    ).json()["answers"]
    assert answers == {
        "roof": "other",
        "roof_other": PUBLIC_OTHER,
        "member": [{"age": 7}],
        "notes": "ok",
    }


PERSONAL_NAMES = {
    "id_type_other",
    "contact_phone",
    "contact_idt",
    "contact_idt_other",
    "member_idt_other",
    "kids",
    "kid_name",
}


def test_an_admin_reads_them_all(
    app_client: TestClient, sync_engine: Engine, admin_token: str, tmp_path: Path
) -> None:
    survey_id = store_survey(sync_engine)
    answers = app_client.get(f"/api/v1/submissions/{survey_id}", headers=bearer(admin_token))
    assert answers.json()["answers"] == ANSWERS
    exported = read(
        app_client,
        f"{EXPORT}/forms/{FORM_ID}.geojson?city=tam-ky&personal=true",
        admin_token,
        None,
        tmp_path,
    )
    assert all(secret.encode() in exported for secret in SECRETS)


def test_the_other_text_sent_by_a_phone_is_hidden_from_a_planner(
    app_client: TestClient, admin_token: str, planner_token: str
) -> None:
    """Through the ordinary intake: the `_other` text is a valid answer, stored as sent."""
    body = {
        "id": str(uuid.uuid4()),
        "form_id": FORM_ID,
        "form_version": VERSION,
        "collected_at": "2026-11-26T09:30:00+07:00",
        "collector": "tnv-07",
        "location": dict(TAM_KY_POINT),
        "answers": {"resp_name": "Nguyễn Bí Mật", "id_type": "other", "id_type_other": SECRET_ID},
    }
    created = app_client.post("/api/v1/submissions", json=body, headers=bearer(admin_token))
    assert created.status_code == 201, created.text
    seen = app_client.get(f"/api/v1/submissions/{body['id']}", headers=bearer(planner_token))
    assert seen.status_code == 200, seen.text
    assert SECRET_ID not in seen.text and "id_type_other" not in seen.json()["answers"]
    mine = app_client.get(f"/api/v1/submissions/{body['id']}", headers=bearer(admin_token))
    assert mine.json()["answers"]["id_type_other"] == SECRET_ID
