"""A new form version is loaded beside the old one; surveys of the old version still validate."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine, text

from app.main import create_app
from app.settings import REPO_ROOT, Settings
from tests.auth import bearer
from tests.factories import household_survey

OLD = "2026112801"
NEW = "2026120501"


def write_new_version(source: Path, target: Path, version: str) -> None:
    """Copy an XLSForm, changing only its settings' version."""
    workbook = load_workbook(source)
    sheet = workbook["settings"]
    header = [cell.value for cell in sheet[1]]
    sheet.cell(row=2, column=header.index("version") + 1, value=version)
    workbook.save(target)


@pytest.fixture
def versioned_client(
    database_url: str, tmp_path: Path, clean_surveys: None, admin_token: str
) -> Iterator[TestClient]:
    forms_dir = tmp_path / "forms"
    (forms_dir / "versions").mkdir(parents=True)
    shutil.copy(
        REPO_ROOT / "forms" / "household.xlsx", forms_dir / "versions" / f"household-{OLD}.xlsx"
    )
    write_new_version(REPO_ROOT / "forms" / "household.xlsx", forms_dir / "household.xlsx", NEW)
    settings = Settings(database_url=database_url, forms_dir=forms_dir, media_dir=tmp_path / "m")
    with TestClient(create_app(settings), headers=bearer(admin_token)) as client:
        yield client


def test_both_versions_are_served(versioned_client: TestClient) -> None:
    listing = versioned_client.get("/api/v1/forms").json()
    assert [(f["form_id"], f["version"]) for f in listing["forms"]] == [("household", NEW)]
    assert listing["problems"] == {}
    current = versioned_client.get("/api/v1/forms/household").json()
    assert current["version"] == NEW
    assert current["model"]["root"] == "data" and current["model"]["children"]
    old = versioned_client.get("/api/v1/forms/household", params={"version": OLD})
    assert old.status_code == 200 and old.json()["version"] == OLD


def test_surveys_of_old_and_new_versions_are_accepted(
    versioned_client: TestClient, sync_engine: Engine
) -> None:
    old = household_survey(form_version=OLD)
    new = household_survey(form_version=NEW)
    response = versioned_client.post("/api/v1/submissions/batch", json={"submissions": [old, new]})
    assert response.status_code == 200, response.text
    assert [r["outcome"] for r in response.json()["results"]] == ["created", "created"]
    with sync_engine.connect() as connection:
        stored: dict[str, str] = dict(
            connection.execute(text("SELECT id::text, form_version FROM household_surveys")).all()
        )
    assert stored == {old["id"]: OLD, new["id"]: NEW}


def test_an_unknown_version_is_refused_naming_the_known_ones(versioned_client: TestClient) -> None:
    body = household_survey(form_version="1999")
    response = versioned_client.post("/api/v1/submissions", json=body, params={"lang": "en"})
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "form_version"
    assert error["code"] == "unknown_form_version"
    assert OLD in error["message"] and NEW in error["message"]


def test_a_form_dropped_into_forms_is_served_without_a_restart(
    database_url: str, tmp_path: Path, clean_surveys: None, admin_token: str
) -> None:
    forms_dir = tmp_path / "forms"
    forms_dir.mkdir()
    shutil.copy(REPO_ROOT / "forms" / "household.xlsx", forms_dir / "household.xlsx")
    settings = Settings(database_url=database_url, forms_dir=forms_dir, forms_reload_seconds=0)
    with TestClient(create_app(settings), headers=bearer(admin_token)) as client:
        assert [f["form_id"] for f in client.get("/api/v1/forms").json()["forms"]] == ["household"]
        missing = client.get("/api/v1/forms/settlement", headers={"Accept-Language": "en"})
        assert missing.status_code == 404
        assert missing.json()["detail"].startswith("There is no form 'settlement'")
        shutil.copy(REPO_ROOT / "forms" / "settlement.xlsx", forms_dir / "settlement.xlsx")
        listed = [f["form_id"] for f in client.get("/api/v1/forms").json()["forms"]]
        assert listed == ["household", "settlement"]
        write_new_version(REPO_ROOT / "forms" / "household.xlsx", forms_dir / "household.xlsx", NEW)
        assert client.get("/api/v1/forms/household").json()["version"] == NEW
        (forms_dir / "broken.xlsx").write_bytes(b"not a spreadsheet")
        assert "broken.xlsx" in client.get("/api/v1/forms").json()["problems"]
        # A survey of the new version is accepted at once.
        response = client.post("/api/v1/submissions", json=household_survey(form_version=NEW))
        assert response.status_code == 201, response.text


HOSTILE_NAME = "{{7*7}}<img src=x onerror=alert(1)> %s {0} {name}"
HOSTILE_FORM = f"""| survey |
| | type | name | label |
| | select_one yn | answer | Trả lời |
| choices |
| | list_name | name | label |
| | yn | yes | Có |
| | yn | {HOSTILE_NAME} | Lạ |
| settings |
| | form_id | version |
| | hostile | 1 |
"""


def test_a_refused_form_is_listed_in_the_language_of_the_request(
    database_url: str, tmp_path: Path, clean_surveys: None, admin_token: str
) -> None:
    """Each problem of a form file that is not used: its code, where (sheet, rows, column)
    and why, said in the request's language (?lang=, else Accept-Language, else Vietnamese);
    a name from the form is quoted as written."""
    forms_dir = tmp_path / "forms"
    forms_dir.mkdir()
    shutil.copy(REPO_ROOT / "forms" / "household.xlsx", forms_dir / "household.xlsx")
    shutil.copy(REPO_ROOT / "tests" / "forms" / "refused_duplicate_names.md", forms_dir)
    (forms_dir / "hostile.md").write_text(HOSTILE_FORM, encoding="utf-8")
    settings = Settings(database_url=database_url, forms_dir=forms_dir, media_dir=tmp_path / "m")
    with TestClient(create_app(settings), headers=bearer(admin_token)) as client:
        said = {
            "vi": client.get("/api/v1/forms", params={"lang": "vi"}).json(),
            "en": client.get("/api/v1/forms", headers={"Accept-Language": "en-GB,en"}).json(),
            "default": client.get("/api/v1/forms").json(),
            "lang first": client.get(
                "/api/v1/forms", params={"lang": "en"}, headers={"Accept-Language": "vi"}
            ).json(),
        }
    assert [f["form_id"] for f in said["vi"]["forms"]] == ["household"]
    assert said["default"] == said["vi"] and said["lang first"] == said["en"]
    for language, listing in said.items():
        assert set(listing["problems"]) == {"refused_duplicate_names.md", "hostile.md"}, language
        [duplicate] = listing["problems"]["refused_duplicate_names.md"]
        assert {k: v for k, v in duplicate.items() if k != "message"} == {
            "code": "form_name_repeated",
            "sheet": "survey",
            "rows": [3, 6],
            "column": "name",
            "params": {"name": "name"},
        }
    assert said["vi"]["problems"]["refused_duplicate_names.md"][0]["message"] == (
        "trang tính survey, các hàng 3, 6, cột name: tên 'name' được dùng nhiều lần "
        "(câu trả lời được lưu theo tên câu hỏi)"
    )
    assert said["en"]["problems"]["refused_duplicate_names.md"][0]["message"] == (
        "survey sheet, rows 3, 6, column name: the name 'name' is used more than once "
        "(answers are keyed by name)"
    )
    for language, start in (
        ("vi", "trang tính choices, hàng 3, cột name: danh sách 'yn': tên '"),
        ("en", "choices sheet, row 3, column name: list 'yn': the name '"),
    ):
        [hostile] = said[language]["problems"]["hostile.md"]
        assert hostile["code"] == "form_choice_name_unsafe"
        assert hostile["params"] == {"list_name": "yn", "name": HOSTILE_NAME}
        assert hostile["message"].startswith(start + HOSTILE_NAME + "' "), hostile["message"]
