"""Quality flags at ingest, on crafted data: flags for the reviewer, never refusals."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import Engine, text

from app.main import create_app
from app.settings import REPO_ROOT, Settings
from app.vietnam import VIETNAM_TIME
from tests.auth import bearer, make_token, make_user
from tests.factories import household_answers, household_survey
from tests.integration.test_odk import post_submission
from tests.odk import household_xml

URL = "/api/v1/submissions"


@pytest.fixture
def volunteer(sync_engine: Engine) -> dict[str, str]:
    """A volunteer given ward W03 (An Xuân), where the factory's point lies."""
    user_id = make_user(sync_engine, "flags-volunteer", [("volunteer", ("ward", "W03"))])
    return bearer(make_token(sync_engine, user_id))


# A national admin's headers (set for every test below): the reviewer's view of a survey,
# `possible_duplicate` included (its sender does not see that one).
REVIEWER: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _reviewer(admin_token: str) -> None:
    REVIEWER.update(bearer(admin_token))


def flags_of(client: TestClient, who: dict[str, str], body: dict) -> list[str]:
    """The flags of a survey sent by `who`, as its reviewer reads them."""
    response = client.post(URL, json=body, headers=who)
    assert response.status_code == 201, response.text
    read = client.get(f"{URL}/{body['id']}", headers=REVIEWER)
    assert read.status_code == 200, read.text
    return list(read.json()["flags"])


@pytest.fixture
def settlement_point(sync_engine: Engine) -> dict[str, float]:
    with sync_engine.connect() as connection:
        lon, lat = connection.execute(
            text(
                "SELECT ST_X(ST_PointOnSurface(s.geom)), ST_Y(ST_PointOnSurface(s.geom)) "
                "FROM settlements s JOIN wards w ON w.id = s.ward_id WHERE w.code = 'W03' "
                "ORDER BY s.id LIMIT 1"
            )
        ).one()
    return {"lat": lat, "lon": lon, "accuracy_m": 4.0}


def test_a_likely_second_survey_of_a_household_is_flagged(
    client: TestClient, volunteer: dict, settlement_point: dict
) -> None:
    first = household_survey(location=settlement_point)
    assert flags_of(client, volunteer, first) == []
    # 3 m away, the same head with different accents and case: flagged.
    near = dict(settlement_point, lat=settlement_point["lat"] + 0.000027)
    same_name = household_survey(
        location=near, answers=household_answers(head_name="NGUYỄN THỊ HOA", head_phone="")
    )
    assert "possible_duplicate" in flags_of(client, volunteer, same_name)
    # The same phone, another name: flagged.
    same_phone = household_survey(
        location=near, answers=household_answers(head_name="Trần Văn Bảy")
    )
    assert "possible_duplicate" in flags_of(client, volunteer, same_phone)
    # A neighbour next door with another name and phone: not flagged.
    neighbour = household_survey(
        location=near,
        answers=household_answers(head_name="Lê Thị Cúc", head_phone="0912000111"),
    )
    assert "possible_duplicate" not in flags_of(client, volunteer, neighbour)
    # The same household 100 m away: another house, not flagged.
    far = dict(settlement_point, lat=settlement_point["lat"] + 0.0009)
    moved = household_survey(location=far)
    assert "possible_duplicate" not in flags_of(client, volunteer, moved)


def visit_form(path: Path) -> None:
    """Another form asking the head's name and phone at the house (a follow-up visit)."""
    workbook = Workbook()
    survey = workbook.active
    assert survey is not None
    survey.title = "survey"
    survey.append(["type", "name", "label::English (en)", "personal"])
    survey.append(["geopoint", "location", "Location", None])
    survey.append(["text", "head_name", "Head of household", "yes"])
    survey.append(["text", "head_phone", "Phone", "yes"])
    settings = workbook.create_sheet("settings")
    settings.append(["form_id", "version"])
    settings.append(["visit", "1"])
    workbook.save(path)


def test_a_survey_of_another_form_is_not_a_duplicate_household(
    database_url: str,
    clean_surveys: None,
    volunteer: dict,
    settlement_point: dict,
    tmp_path: Path,
) -> None:
    """A follow-up visit to a surveyed house names the same head: it is no second household."""
    forms_dir = tmp_path / "forms"
    forms_dir.mkdir()
    shutil.copy(REPO_ROOT / "forms" / "household.xlsx", forms_dir / "household.xlsx")
    visit_form(forms_dir / "visit.xlsx")
    settings = Settings(database_url=database_url, forms_dir=forms_dir, media_dir=tmp_path)
    with TestClient(create_app(settings)) as client:
        assert flags_of(client, volunteer, household_survey(location=settlement_point)) == []
        near = dict(settlement_point, lat=settlement_point["lat"] + 0.000027)
        visit = household_survey(
            form_id="visit",
            form_version="1",
            location=near,
            answers={"head_name": "Nguyễn Thị Hoa", "head_phone": "0905123456"},
        )
        assert "possible_duplicate" not in flags_of(client, volunteer, visit)
        # A second household survey there still is one.
        again = household_survey(location=near)
        assert "possible_duplicate" in flags_of(client, volunteer, again)


def test_contradicting_answers_are_flagged(client: TestClient, volunteer: dict) -> None:
    narrow = household_survey(answers=household_answers(lane_access="car", lane_width_m=1.2))
    assert "contradiction" in flags_of(client, volunteer, narrow)
    fine = household_survey(answers=household_answers(lane_access="car", lane_width_m=4))
    assert "contradiction" not in flags_of(client, volunteer, fine)


def test_a_survey_outside_the_volunteers_ward_is_flagged(
    client: TestClient, volunteer: dict, sync_engine: Engine
) -> None:
    with sync_engine.connect() as connection:
        lon, lat = connection.execute(
            text(
                "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
                "FROM wards WHERE code = 'W01'"
            )
        ).one()
    elsewhere = household_survey(location={"lat": lat, "lon": lon, "accuracy_m": 5})
    assert "outside_assigned_ward" in flags_of(client, volunteer, elsewhere)
    assert "outside_assigned_ward" not in flags_of(client, volunteer, household_survey())
    # An admin surveys anywhere.
    assert "outside_assigned_ward" not in flags_of(
        client, {}, household_survey(location=elsewhere["location"])
    )


@pytest.fixture
def strict(settings: Settings, clean_surveys: None, admin_token: str) -> Iterator[TestClient]:
    """An app flagging surveys sent more than 14 days after they were collected."""
    with TestClient(
        create_app(settings.model_copy(update={"late_upload_days": 14})),
        headers=bearer(admin_token),
    ) as client:
        yield client


def test_a_survey_sent_long_after_it_was_collected_is_flagged(strict: TestClient) -> None:
    now = datetime.now(UTC)
    old = household_survey(collected_at=(now - timedelta(days=20)).isoformat())
    recent = household_survey(collected_at=(now - timedelta(days=2)).isoformat())
    assert "late_upload" in flags_of(strict, {}, old)
    assert "late_upload" not in flags_of(strict, {}, recent)


@pytest.fixture
def leader(sync_engine: Engine) -> dict[str, str]:
    """A leader of ward W03, who sends surveys back for correction."""
    user_id = make_user(sync_engine, "flags-leader", [("ward_leader", ("ward", "W03"))])
    return bearer(make_token(sync_engine, user_id))


def sent_back_and_corrected(
    client: TestClient, volunteer: dict, leader: dict, body: dict, **answers: object
) -> list[str]:
    """The survey sent back, then corrected with these answers: its flags."""
    back = client.post(
        f"{URL}/{body['id']}/review",
        json={"decision": "needs_correction", "comment": "Kiểm tra lại số người"},
        headers=leader,
    )
    assert back.status_code == 200, back.text
    corrected = {**body, "answers": {**body["answers"], **answers}}
    response = client.put(f"{URL}/{body['id']}", json=corrected, headers=volunteer)
    assert response.status_code == 200 and response.headers["x-outcome"] == "corrected", (
        response.text
    )
    return list(client.get(f"{URL}/{body['id']}", headers=leader).json()["flags"])


def test_a_corrected_first_survey_of_a_pair_is_not_flagged(
    client: TestClient, volunteer: dict, leader: dict, settlement_point: dict
) -> None:
    """Of a pair, the later survey carries the flag. A correction of the first one was
    compared with every survey, the later one included, and flagged it too."""
    first = household_survey(location=settlement_point)
    assert flags_of(client, volunteer, first) == []
    second = household_survey(location=settlement_point)
    assert flags_of(client, volunteer, second) == ["possible_duplicate"]
    assert sent_back_and_corrected(client, volunteer, leader, first, household_size=5) == []
    # The later one, corrected, is still the second survey of the household.
    assert sent_back_and_corrected(client, volunteer, leader, second, household_size=6) == [
        "possible_duplicate"
    ]


def test_a_survey_corrected_onto_a_later_unflagged_one_is_flagged(
    client: TestClient, volunteer: dict, leader: dict, settlement_point: dict
) -> None:
    """The first survey's point was wrong; corrected, it stands where a later survey of the
    same household stands, which was checked without it: one of the pair is flagged."""
    far = dict(settlement_point, lat=settlement_point["lat"] + 0.0009)
    first = household_survey(location=far)
    assert flags_of(client, volunteer, first) == []
    later = household_survey(location=settlement_point)
    assert flags_of(client, volunteer, later) == []
    first_moved = {**first, "location": settlement_point}
    assert sent_back_and_corrected(client, volunteer, leader, first_moved) == ["possible_duplicate"]


def test_a_json_correction_keeps_the_late_upload_of_the_first_sending(
    strict: TestClient, settings: Settings
) -> None:
    """Lateness is about the first sending (received_at - collected_at): a correction keeps
    the flag the survey had (it was dropped) and never adds it."""
    now = datetime.now(UTC)
    late = household_survey(collected_at=(now - timedelta(days=20)).isoformat())
    assert flags_of(strict, {}, late) == ["late_upload"]
    corrected = strict.put(
        f"{URL}/{late['id']}", json={**late, "answers": household_answers(household_size=6)}
    )
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["flags"] == ["late_upload"]
    # Sent in time (the server then took surveys 30 days late), corrected since: never late.
    with TestClient(
        create_app(settings.model_copy(update={"late_upload_days": 30})),
        headers=dict(strict.headers),
    ) as lenient:
        in_time = household_survey(collected_at=(now - timedelta(days=20)).isoformat())
        assert flags_of(lenient, {}, in_time) == []
    again = strict.put(
        f"{URL}/{in_time['id']}", json={**in_time, "answers": household_answers(household_size=6)}
    )
    assert again.status_code == 200, again.text
    assert again.json()["flags"] == []


def test_an_odk_edit_keeps_the_late_upload_of_the_first_sending(
    strict: TestClient, settings: Settings, sync_engine: Engine
) -> None:
    """The same rule for ODK Collect's edits, which added the flag when edited late."""
    user_id = make_user(sync_engine, "flags-odk", [("volunteer", ("ward", "W03"))])
    setup = strict.post("/api/v1/odk/setup", json={"user_id": user_id})
    assert setup.status_code == 201, setup.text
    prefix = setup.json()["server_url"].removeprefix("http://testserver")
    then = (datetime.now(VIETNAM_TIME) - timedelta(days=20)).isoformat(timespec="milliseconds")

    def flags_after(client: TestClient, xml: bytes, instance_id: str) -> list[str]:
        response = post_submission(client, prefix, xml)
        assert response.status_code == 201, response.text
        return list(strict.get(f"{URL}/{instance_id[5:]}").json()["flags"])

    late = f"uuid:{uuid.uuid4()}"
    assert flags_after(strict, household_xml(late, start=then, end=then), late) == ["late_upload"]
    edit = household_xml(
        f"uuid:{uuid.uuid4()}", start=then, end=then, deprecated_id=late, household_size="6"
    )
    assert flags_after(strict, edit, late) == ["late_upload"]
    with TestClient(
        create_app(settings.model_copy(update={"late_upload_days": 30})),
        headers=dict(strict.headers),
    ) as lenient:
        in_time = f"uuid:{uuid.uuid4()}"
        assert flags_after(lenient, household_xml(in_time, start=then, end=then), in_time) == []
    edit = household_xml(
        f"uuid:{uuid.uuid4()}", start=then, end=then, deprecated_id=in_time, household_size="6"
    )
    assert flags_after(strict, edit, in_time) == []


def test_only_the_surveys_readers_see_that_it_may_be_a_duplicate(
    client: TestClient,
    volunteer: dict,
    leader: dict,
    sync_engine: Engine,
    settlement_point: dict,
    planner_token: str,
) -> None:
    """`possible_duplicate` says that a survey nearby names a similar head or the same
    phone. Shown to the sender, it let any volunteer (of any city) learn who lives in a
    house: a survey 3 m from it with a made-up name came back unflagged, with the right
    name flagged. The sender's answer, their reads and their list no longer show it; the
    ward's leader and the city's planners (who may read both surveys) still do."""
    first = household_survey(location=settlement_point)
    assert client.post(URL, json=first, headers=volunteer).status_code == 201
    outsider = bearer(
        make_token(
            sync_engine, make_user(sync_engine, "flags-outsider", [("volunteer", ("ward", "W01"))])
        )
    )
    near = dict(settlement_point, lat=settlement_point["lat"] + 0.000027)
    guesses = {
        name: household_survey(
            location=near, answers=household_answers(head_name=name, head_phone="")
        )
        for name in ("Lý Văn Đoán", "NGUYỄN THỊ HOA")
    }
    for body in guesses.values():
        sent = client.post(URL, json=body, headers=outsider)
        assert sent.status_code == 201, sent.text
        assert "possible_duplicate" not in sent.json()["flags"]
        # Sent again (a lost answer): the stored survey, still without the flag.
        again = client.post(URL, json=body, headers=outsider)
        assert again.status_code == 200 and "possible_duplicate" not in again.json()["flags"]
        read = client.get(f"{URL}/{body['id']}", headers=outsider)
        assert read.status_code == 200 and "possible_duplicate" not in read.json()["flags"]
    listed = client.get(URL, headers=outsider, params={"limit": 100}).json()["items"]
    assert {item["id"] for item in listed} >= {body["id"] for body in guesses.values()}
    assert all("possible_duplicate" not in item["flags"] for item in listed)
    # Those who may read both surveys see which one is the likely second survey.
    planner = bearer(planner_token)
    for reader in (leader, planner):
        flags = {
            name: client.get(f"{URL}/{body['id']}", headers=reader).json()["flags"]
            for name, body in guesses.items()
        }
        assert "possible_duplicate" in flags["NGUYỄN THỊ HOA"], flags
        assert "possible_duplicate" not in flags["Lý Văn Đoán"], flags
