"""Collect submissions that lost data without a word: the audit log of a form with an `audit`
row (Collect sends `audit.csv`, the server answered 201 and kept nothing), a file no question
names, and instance XML whose repeats held unknown elements or a question twice (stored
without them). The log is now the survey's file, served as a photo is (to those who see
personal fields); the other file is named as not kept; the XML is refused, naming where."""

from __future__ import annotations

import io
import shutil
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import Engine, text

from app.forms.definition import load_form
from app.forms.instance_xml import map_instance, parse_instance
from app.main import create_app
from app.settings import REPO_ROOT, Settings
from tests.auth import bearer, make_user
from tests.odk import NAMESPACES, household_xml, multipart

RESPONSE_NS = "{http://openrosa.org/http/response}"
# A form with Collect's audit log (its location too), a group and a repeat.
AUDIT_FORM = """\
| survey |
| | type | name | label | parameters |
| | start | start | | |
| | end | end | | |
| | audit | audit | | location-priority=balanced location-min-interval=60 location-max-age=120 |
| | text | head | Head | |
| | integer | age | Age | |
| | geopoint | loc | Location | |
| | begin_group | g | Group | |
| | text | street | Street | |
| | end_group | | | |
| | begin_repeat | members | Members | |
| | text | m_name | Name | |
| | end_repeat | | | |
| settings |
| | form_id | version |
| | audit_roster | 1 |
"""
GOOD = (
    "<head>Lê Thị Thu</head><age>40</age><loc>15.571 108.474 12.0 6.5</loc>"
    "<g><street>Lê Lợi</street></g><members><m_name>A</m_name></members>"
)
AUDIT_CSV = (
    b"event,node,start,end,latitude,longitude,accuracy\n"
    b"form start,,1764741000000,,15.571,108.474,6.5\n"
    b"question,/data/head,1764741001000,1764741009000,15.571,108.474,6.5\n"
    b"form save,,1764741100000,,,,\n"
)


def instance(body: str = GOOD, meta: str = "<audit>audit.csv</audit>", uid: str = "") -> bytes:
    uid = uid or f"uuid:{uuid.uuid4()}"
    return (
        f'<data id="audit_roster" version="1" {NAMESPACES}>'
        "<start>2026-11-26T09:10:00.000+07:00</start><end>2026-11-26T09:30:00.000+07:00</end>"
        f"{body}<meta><instanceID>{uid}</instanceID>{meta}</meta></data>"
    ).encode()


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), "red").save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def message(response: Any) -> tuple[str, str]:
    assert response.headers["X-OpenRosa-Version"] == "1.0"
    root = ET.fromstring(response.content)
    found = root.find(f"{RESPONSE_NS}message")
    assert found is not None
    return found.get("nature", ""), found.text or ""


def stored(sync_engine: Engine) -> tuple[int, int]:
    with sync_engine.connect() as connection:
        surveys = connection.execute(text("SELECT count(*) FROM household_surveys")).scalar()
        files = connection.execute(text("SELECT count(*) FROM attachments")).scalar()
    return int(surveys or 0), int(files or 0)


@pytest.fixture
def forms_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "forms"
    folder.mkdir()
    shutil.copy(REPO_ROOT / "forms" / "household.xlsx", folder / "household.xlsx")
    (folder / "audit_roster.md").write_text(AUDIT_FORM, encoding="utf-8")
    return folder


@pytest.fixture
def app_client(
    database_url: str, tmp_path: Path, forms_dir: Path, clean_surveys: None, admin_token: str
) -> Iterator[TestClient]:
    settings = Settings(database_url=database_url, forms_dir=forms_dir, media_dir=tmp_path / "m")
    with TestClient(create_app(settings), headers=bearer(admin_token)) as test_client:
        yield test_client


@pytest.fixture
def prefix(app_client: TestClient, sync_engine: Engine) -> str:
    user_id = make_user(sync_engine, "odk-audit", [("volunteer", ("ward", "W03"))])
    setup = app_client.post("/api/v1/odk/setup", json={"user_id": user_id})
    assert setup.status_code == 201, setup.text
    return str(setup.json()["server_url"]).removeprefix("http://testserver")


def post(
    client: TestClient, prefix: str, xml: bytes, files: list[tuple[str, bytes, str]] | None = None
) -> Any:
    body, content_type = multipart(xml, files)
    return client.post(
        f"{prefix}/submission",
        content=body,
        headers={
            "Content-Type": content_type,
            "X-OpenRosa-Version": "1.0",
            "Accept-Language": "en",
        },
    )


# --- the audit log, and files no question names ---------------------------------------------


def test_the_audit_log_is_kept_as_the_surveys_file_for_those_who_see_personal_fields(
    app_client: TestClient, prefix: str, sync_engine: Engine, planner_token: str
) -> None:
    uid = f"uuid:{uuid.uuid4()}"
    # Collect's HTTP client may give a CSV any type: the log is read as CSV whatever it says.
    response = post(
        app_client,
        prefix,
        instance(uid=uid),
        [("audit.csv", AUDIT_CSV, "application/octet-stream")],
    )
    assert response.status_code == 201, response.text
    assert message(response) == ("", "The server received the survey.")
    assert stored(sync_engine) == (1, 1)
    url = f"/api/v1/submissions/{uid[5:]}/attachments/audit.csv"
    download = app_client.get(url)
    assert download.status_code == 200, download.text
    assert download.content == AUDIT_CSV
    assert download.headers["content-type"].startswith("text/csv")
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["cache-control"] == "private, no-store"
    # Who filled in what, where and when: personal, as a photo is (404 as for no file).
    assert app_client.get(url, headers=bearer(planner_token)).status_code == 404
    # The same sending again (a resend, or the next part of a split one): nothing new.
    again = post(app_client, prefix, instance(uid=uid), [("audit.csv", AUDIT_CSV, "text/csv")])
    assert again.status_code == 202, again.text
    assert stored(sync_engine) == (1, 1)


def test_a_file_no_question_names_is_said_not_kept(
    app_client: TestClient, prefix: str, sync_engine: Engine
) -> None:
    # A form without an audit row whose phone sends audit.csv, and a photo the survey never
    # names: the survey is stored, each file named as not kept (no silent 201).
    files = [("audit.csv", AUDIT_CSV, "text/csv"), ("stray.jpg", jpeg(), "image/jpeg")]
    response = post(app_client, prefix, household_xml(), files)
    assert response.status_code == 201, response.text
    nature, said = message(response)
    assert nature == ""
    assert "not kept" in said and "audit.csv" in said and "stray.jpg" in said, said
    assert stored(sync_engine) == (1, 0)
    # The audit form whose instance names no log (`meta/audit` empty): not kept either.
    response = post(app_client, prefix, instance(meta="<audit/>"), [("audit.csv", AUDIT_CSV, "")])
    assert response.status_code == 201, response.text
    assert "audit.csv" in message(response)[1]
    assert stored(sync_engine) == (2, 0)


def test_an_audit_log_over_its_limits_is_not_kept_and_said_so(
    app_client: TestClient, prefix: str, sync_engine: Engine
) -> None:
    # No CSV: the survey is stored, the log named as not kept.
    response = post(app_client, prefix, instance(), [("audit.csv", b"\x00\x01bin", "text/csv")])
    assert response.status_code == 201, response.text
    nature, said = message(response)
    assert nature == "" and "not kept" in said and "audit.csv" in said and "text/csv" in said
    assert stored(sync_engine) == (1, 0)
    # Over the log's own limit (5 MB): 413 naming it, as for a photo over a photo's limit.
    large = b"event,node\n" + b"x" * (5 * 1024 * 1024)
    response = post(app_client, prefix, instance(), [("audit.csv", large, "text/csv")])
    assert response.status_code == 413, response.text
    nature, said = message(response)
    assert nature == "error" and "audit.csv" in said and "5 MB" in said, said
    assert stored(sync_engine)[1] == 0


# --- instance XML that is not the form's ----------------------------------------------------

BAD = {
    "unknown-in-repeat": (
        GOOD.replace("<m_name>A</m_name>", "<m_name>B</m_name><bogus>x</bogus>"),
        [("answers.members[1].bogus", "unknown_question")],
    ),
    "question-twice-in-repeat": (
        GOOD + "<members><m_name>B</m_name><m_name>dup</m_name></members>",
        [("answers.members[2].m_name", "element_twice")],
    ),
    "reviewer-case": (
        GOOD.replace(
            "<m_name>A</m_name>", "<m_name>B</m_name><bogus>x</bogus><m_name>dup</m_name>"
        ),
        [
            ("answers.members[1].bogus", "unknown_question"),
            ("answers.members[1].m_name", "element_twice"),
        ],
    ),
    "question-twice": (
        GOOD.replace("<age>40</age>", "<age>40</age><age>200</age>"),
        [("answers.age", "element_twice")],
    ),
    "repeat-in-itself": (
        GOOD.replace("</m_name>", "</m_name><members><m_name>C</m_name></members>"),
        [("answers.members[1].members", "unknown_question")],
    ),
    "group-twice": (GOOD + "<g><street>T</street></g>", [("answers.g", "element_twice")]),
    "out-of-its-group": (
        GOOD.replace("<g><street>Lê Lợi</street></g>", "<street>Lê Lợi</street>"),
        [("answers.street", "unknown_question")],
    ),
    "unknown-in-group": (
        GOOD.replace("<g>", "<g><castle>yes</castle>"),
        [("answers.g.castle", "unknown_question")],
    ),
    "element-in-a-question": (
        GOOD.replace("<age>40</age>", "<age>40<x>1</x></age>"),
        [("answers.age.x", "unknown_question")],
    ),
    "unknown-with-a-question-inside": (
        GOOD + "<extra><head>Z</head></extra>",
        [("answers.extra", "unknown_question")],
    ),
}


@pytest.mark.parametrize(("body", "expected"), BAD.values(), ids=BAD.keys())
def test_elements_not_the_forms_are_named_where_they_are(
    body: str, expected: list[tuple[str, str]], tmp_path: Path
) -> None:
    path = tmp_path / "audit_roster.md"
    path.write_text(AUDIT_FORM, encoding="utf-8")
    mapped = map_instance(parse_instance(instance(body)), load_form(path), None, "2026-12-03")
    assert [(p.field, p.code) for p in mapped.problems] == expected


GOOD_CASES = {
    "plain": GOOD,
    "two-members": GOOD + "<members><m_name>B</m_name></members>",
    "no-member": GOOD.replace("<members><m_name>A</m_name></members>", ""),
    "empty-repeat": GOOD.replace("<members><m_name>A</m_name></members>", "<members/>"),
    "template": GOOD.replace(
        "<members>", '<members jr:template=""><m_name/></members><members>', 1
    ),
    "empty-answers": "<head/><age/><loc>15.571 108.474 12.0 6.5</loc><g><street/></g>",
}


@pytest.mark.parametrize("body", GOOD_CASES.values(), ids=GOOD_CASES.keys())
def test_what_collect_sends_is_still_read(body: str, tmp_path: Path) -> None:
    path = tmp_path / "audit_roster.md"
    path.write_text(AUDIT_FORM, encoding="utf-8")
    form = load_form(path)
    meta = (
        "<audit>audit.csv</audit><instanceName>Thu</instanceName>"
        f"<deprecatedID>uuid:{uuid.uuid4()}</deprecatedID>"
    )
    for xml in (
        instance(body, meta),
        instance(body, meta).replace(b"<meta>", b"<orx:meta>").replace(b"</meta>", b"</orx:meta>"),
    ):
        mapped = map_instance(parse_instance(xml), form, None, "2026-12-03")
        assert mapped.problems == []
        assert mapped.audit == "audit.csv" and mapped.files == {"audit.csv": "audit.csv"}
        assert mapped.raw["collected_at"] == "2026-11-26T09:30:00.000+07:00"
        members = mapped.raw["answers"].get("members", [])
        assert all(set(member) <= {"m_name"} for member in members)


def test_the_server_refuses_them_with_a_clear_error_and_stores_nothing(
    app_client: TestClient, prefix: str, sync_engine: Engine
) -> None:
    for body, expected in BAD.values():
        response = post(app_client, prefix, instance(body), [("audit.csv", AUDIT_CSV, "text/csv")])
        assert response.status_code == 400, (body, response.text)
        nature, said = message(response)
        assert nature == "error" and said.startswith("The survey is not valid"), said
        for field, _code in expected:
            assert field.removeprefix("answers.") in said, said
        assert stored(sync_engine) == (0, 0)
    twice = post(app_client, prefix, instance(BAD["question-twice"][0]))
    assert "'age' is sent twice" in message(twice)[1]
    # As an unknown element at the top level always was.
    top = post(app_client, prefix, instance(GOOD + "<bogus>x</bogus>"))
    assert top.status_code == 400 and "bogus" in message(top)[1]
    ok = post(app_client, prefix, instance(GOOD_CASES["template"]))
    assert ok.status_code == 201, ok.text
    assert stored(sync_engine) == (1, 0)
