"""A correction's expressions read the time of the correction, as the phone's editor does.

The phone keeps a survey's first `collected_at` through its corrections (the survey is the
same one) but evaluates `today()` and `now()` on its clock while the volunteer edits it. The
server read them at `collected_at` for a correction too: a payment dated today, corrected
three days after the survey was collected, broke `. <= today()` on the server while the
phone took it (and the reverse with `. >= today()`). A first sending keeps reading the
collection time (the verdict the phone gave when the survey was finished)."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.main import create_app
from app.settings import REPO_ROOT, Settings
from app.vietnam import VIETNAM_TIME
from tests.auth import bearer, make_token, make_user
from tests.integration.test_odk import message, post_submission
from tests.odk import NAMESPACES

URL = "/api/v1/submissions"
FORM_ID = "payments"
FORM_VERSION = "2026120301"


def write_payments_form(path: Path) -> None:
    """A form whose dates are checked against today: a payment made, an instalment due."""
    book = openpyxl.Workbook()
    survey = book.active
    assert survey is not None
    survey.title = "survey"
    survey.append(["type", "name", "label::English (en)", "constraint"])
    survey.append(["date", "paid_on", "Paid on", ". <= today()"])
    survey.append(["date", "due_on", "Next instalment due", ". >= today()"])
    settings = book.create_sheet("settings")
    settings.append(["form_id", "version"])
    settings.append([FORM_ID, FORM_VERSION])
    book.save(path)


@pytest.fixture
def app_client(
    database_url: str, tmp_path: Path, clean_surveys: None, admin_token: str
) -> Iterator[TestClient]:
    forms_dir = tmp_path / "forms"
    forms_dir.mkdir()
    shutil.copy(REPO_ROOT / "forms" / "household.xlsx", forms_dir / "household.xlsx")
    write_payments_form(forms_dir / "payments.xlsx")
    settings = Settings(database_url=database_url, forms_dir=forms_dir, media_dir=tmp_path / "m")
    with TestClient(create_app(settings), headers=bearer(admin_token)) as client:
        yield client


@pytest.fixture
def people(sync_engine: Engine) -> dict[str, Any]:
    volunteer = make_user(sync_engine, "today-volunteer", [("volunteer", ("ward", "W03"))])
    leader = make_user(sync_engine, "today-leader", [("ward_leader", ("ward", "W03"))])
    return {
        "volunteer_id": volunteer,
        "volunteer": bearer(make_token(sync_engine, volunteer)),
        "leader": bearer(make_token(sync_engine, leader)),
    }


def days_ago(days: int) -> datetime:
    return datetime.now(VIETNAM_TIME) - timedelta(days=days)


def payment(collected: datetime, paid_on: str, due_on: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "form_id": FORM_ID,
        "form_version": FORM_VERSION,
        "collected_at": collected.isoformat(),
        "city": "tam-ky",
        "answers": {"paid_on": paid_on, "due_on": due_on},
        **extra,
    }


def send_back(client: TestClient, people: dict[str, Any], survey_id: str) -> None:
    answer = client.post(
        f"{URL}/{survey_id}/review",
        json={"decision": "needs_correction", "comment": "Ngày trả chưa đúng"},
        headers=people["leader"],
    )
    assert answer.status_code == 200, answer.text


def refused_fields(answer: Any) -> list[str]:
    assert answer.status_code == 422, answer.text
    return [problem["field"] for problem in answer.json()["errors"]]


def test_a_json_correction_reads_today_at_the_time_of_the_correction(
    app_client: TestClient, people: dict[str, Any]
) -> None:
    collected = days_ago(3)
    then, today = collected.date().isoformat(), days_ago(0).date().isoformat()
    # The first sending reads today() at its collection time: paid today is in its future.
    early = payment(collected, paid_on=today, due_on=then)
    assert refused_fields(app_client.post(URL, json=early, headers=people["volunteer"])) == [
        "answers.paid_on"
    ]
    body = payment(collected, paid_on=then, due_on=then)
    created = app_client.post(URL, json=body, headers=people["volunteer"])
    assert created.status_code == 201, created.text
    send_back(app_client, people, body["id"])
    # Corrected today, as the phone's editor checked it: paid today, due today.
    fixed = {**body, "answers": {"paid_on": today, "due_on": today}, "base_version": 1}
    corrected = app_client.put(f"{URL}/{body['id']}", json=fixed, headers=people["volunteer"])
    assert corrected.status_code == 200, corrected.text
    assert corrected.headers["x-outcome"] == "corrected"
    assert corrected.json()["answers"] == {"paid_on": today, "due_on": today}
    # The collection time stays the first one.
    stored = datetime.fromisoformat(corrected.json()["collected_at"])
    assert stored == collected.replace(microsecond=stored.microsecond)
    # The reverse: an instalment due three days ago is past today (the phone refuses it).
    send_back(app_client, people, body["id"])
    stale = {**body, "answers": {"paid_on": today, "due_on": then}, "base_version": 2}
    refused = app_client.put(f"{URL}/{body['id']}", json=stale, headers=people["volunteer"])
    assert refused_fields(refused) == ["answers.due_on"]
    assert app_client.get(f"{URL}/{body['id']}").json()["version"] == 2


def payment_xml(
    instance_id: str, collected: datetime, paid_on: str, due_on: str, deprecated_id: str = ""
) -> bytes:
    """A payment as ODK Collect submits it (an edit names the instance it replaces)."""
    moment = collected.isoformat(timespec="milliseconds")
    meta = f"<instanceID>{instance_id}</instanceID>"
    if deprecated_id:
        meta += f"<deprecatedID>{deprecated_id}</deprecatedID>"
    return (
        f'<?xml version=\'1.0\' ?><data id="{FORM_ID}" version="{FORM_VERSION}" {NAMESPACES}>'
        f"<start>{moment}</start><end>{moment}</end>"
        f"<paid_on>{paid_on}</paid_on><due_on>{due_on}</due_on>"
        f"<meta>{meta}<instanceName/></meta></data>"
    ).encode()


def test_an_odk_edit_reads_today_at_the_time_of_the_edit(
    app_client: TestClient, people: dict[str, Any]
) -> None:
    setup = app_client.post("/api/v1/odk/setup", json={"user_id": people["volunteer_id"]})
    assert setup.status_code == 201, setup.text
    prefix = setup.json()["server_url"].removeprefix("http://testserver")
    collected = days_ago(3)
    then, today = collected.date().isoformat(), days_ago(0).date().isoformat()
    # A first sending reads today() at its collection time (`end`).
    early = payment_xml(f"uuid:{uuid.uuid4()}", collected, paid_on=today, due_on=then)
    response = post_submission(app_client, prefix, early)
    assert response.status_code == 400 and "paid_on" in message(response)[1], response.text
    first = f"uuid:{uuid.uuid4()}"
    sent = post_submission(app_client, prefix, payment_xml(first, collected, then, then))
    assert sent.status_code == 201, sent.text
    send_back(app_client, people, first[5:])
    edit_id = f"uuid:{uuid.uuid4()}"
    edit = payment_xml(edit_id, collected, today, today, deprecated_id=first)
    edited = post_submission(app_client, prefix, edit)
    assert edited.status_code == 201, edited.text
    record = app_client.get(f"{URL}/{first[5:]}").json()
    assert (record["version"], record["answers"]) == (2, {"paid_on": today, "due_on": today})
    # The reverse: due three days ago is past at the time of the edit.
    send_back(app_client, people, first[5:])
    stale = payment_xml(f"uuid:{uuid.uuid4()}", collected, today, then, deprecated_id=edit_id)
    response = post_submission(app_client, prefix, stale)
    assert response.status_code == 400 and "due_on" in message(response)[1], response.text
    assert app_client.get(f"{URL}/{first[5:]}").json()["version"] == 2


def test_a_survey_finished_again_after_midnight_reads_today_at_its_last_finish(
    app_client: TestClient, people: dict[str, Any]
) -> None:
    """Finished at 23:50, reopened and finished again at 00:10 with a visit dated the new day:
    the phone took it (today() was the new day) and sends its last finish as `finished_at`;
    the server read today() at `collected_at` (the first finish, which the survey keeps) and
    refused it."""
    first = (days_ago(2)).replace(hour=23, minute=50, second=0, microsecond=0)
    last = first + timedelta(minutes=20)
    then, next_day = first.date().isoformat(), last.date().isoformat()
    body = payment(first, paid_on=next_day, due_on=next_day, finished_at=last.isoformat())
    # Without the last finish, the new day is in the future of the first one.
    without = {key: value for key, value in body.items() if key != "finished_at"}
    refused = app_client.post(URL, json=without, headers=people["volunteer"])
    assert refused_fields(refused) == ["answers.paid_on"]
    created = app_client.post(URL, json=body, headers=people["volunteer"])
    assert created.status_code == 201, created.text
    stored = app_client.get(f"{URL}/{body['id']}").json()
    assert datetime.fromisoformat(stored["collected_at"]) == first  # the first finish stays
    # The reverse: due the day before is past at the last finish.
    late = payment(first, paid_on=then, due_on=then, finished_at=last.isoformat())
    answer = app_client.post(URL, json=late, headers=people["volunteer"])
    assert refused_fields(answer) == ["answers.due_on"]
    # A correction finished on the phone reads its finish too, not the time it arrives.
    send_back(app_client, people, body["id"])
    today = days_ago(0).date().isoformat()
    fixed = {**body, "answers": {"paid_on": today, "due_on": today}, "base_version": 1}
    refused = app_client.put(f"{URL}/{body['id']}", json=fixed, headers=people["volunteer"])
    assert refused_fields(refused) == ["answers.paid_on"]
    # A time that is no time is named.
    bad = payment(first, paid_on=then, due_on=next_day, finished_at="after midnight")
    answer = app_client.post(URL, json=bad, headers=people["volunteer"])
    assert refused_fields(answer) == ["finished_at"]
