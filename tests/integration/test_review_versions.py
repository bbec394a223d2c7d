"""Review decisions on the version the reviewer saw, corrections on the version the phone
corrected, and the audit log's old values (real PostGIS). Each of the three bugs a review found
is reproduced here first: a bulk approval that wrote a made-up old comment, a retried
correction that undid a second send-back, and a decision taken on a version the reviewer never
saw."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, text

from app.main import create_app
from app.settings import Settings
from tests.auth import bearer, make_token, make_user
from tests.factories import household_answers, household_survey

URL = "/api/v1/submissions"


@pytest.fixture
def people(sync_engine: Engine) -> dict[str, dict[str, str]]:
    """A volunteer and two leaders of ward W03 (An Xuân), a leader of W01."""
    roles = {
        "volunteer": [("volunteer", ("ward", "W03"))],
        "leader": [("ward_leader", ("ward", "W03"))],
        "other_leader": [("ward_leader", ("ward", "W01"))],
    }
    return {
        name: bearer(make_token(sync_engine, make_user(sync_engine, f"versions-{name}", grants)))
        for name, grants in roles.items()
    }


def send(client: TestClient, who: dict[str, str], **overrides: Any) -> dict[str, Any]:
    body = household_survey(**overrides)
    response = client.post(URL, json=body, headers=who)
    assert response.status_code == 201, response.text
    return body


def decide(
    client: TestClient,
    who: dict[str, str],
    survey_id: str,
    decision: str,
    comment: str | None = None,
    **extra: Any,
) -> Any:
    return client.post(
        f"{URL}/{survey_id}/review",
        json={"decision": decision, "comment": comment, **extra},
        headers=who,
    )


def settlement_point(sync_engine: Engine) -> tuple[int, float, float]:
    """A settlement of W03 and a point inside it (lon, lat)."""
    with sync_engine.connect() as connection:
        settlement_id, lon, lat = connection.execute(
            text(
                "SELECT s.id, ST_X(ST_PointOnSurface(s.geom)), ST_Y(ST_PointOnSurface(s.geom)) "
                "FROM settlements s JOIN wards w ON w.id = s.ward_id WHERE w.code = 'W03' "
                "ORDER BY s.id LIMIT 1"
            )
        ).one()
    return int(settlement_id), float(lon), float(lat)


def in_settlement(
    client: TestClient, who: dict[str, str], sync_engine: Engine, count: int
) -> tuple[int, list[dict[str, Any]]]:
    """`count` households 20 m apart inside one settlement (not one household twice)."""
    settlement_id, lon, lat = settlement_point(sync_engine)
    bodies = [
        send(
            client,
            who,
            location={"lat": lat + 0.0002 * index, "lon": lon, "accuracy_m": 5},
            answers=household_answers(
                head_name=f"Hộ số {index} Lê Thị", head_phone=f"09060000{index:02d}"
            ),
        )
        for index in range(count)
    ]
    return settlement_id, bodies


def row(sync_engine: Engine, survey_id: str) -> dict[str, Any]:
    with sync_engine.connect() as connection:
        found = connection.execute(
            text(
                "SELECT status, review_comment, version, answers FROM household_surveys "
                "WHERE id = :id"
            ),
            {"id": survey_id},
        ).one()
    return dict(found._mapping)


def history(client: TestClient, who: dict[str, str], survey_id: str) -> dict[str, Any]:
    answer = client.get(f"{URL}/{survey_id}/history", headers=who)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


# ------------------------------------------------------------------ the audit log's old values


def test_bulk_approval_records_the_comment_a_corrected_survey_still_carries(
    client: TestClient, people: dict, sync_engine: Engine
) -> None:
    """Sent back with a comment, then corrected: the survey waits again with that comment on
    its row, and the bulk approval that clears it records it as the old value (it wrote
    `"comment": null` for every survey)."""
    settlement_id, (body,) = in_settlement(client, people["volunteer"], sync_engine, 1)
    sid = body["id"]
    assert decide(client, people["leader"], sid, "needs_correction", "Sai tên chủ hộ").is_success
    corrected = dict(body, answers=household_answers(head_name="Nguyễn Thị Hòa"))
    answer = client.put(f"{URL}/{sid}", json=corrected, headers=people["volunteer"])
    assert answer.status_code == 200 and answer.headers["x-outcome"] == "corrected"
    assert row(sync_engine, sid)["review_comment"] == "Sai tên chủ hộ"
    bulk = client.post(
        f"/api/v1/settlements/{settlement_id}/review", json={}, headers=people["leader"]
    )
    assert bulk.status_code == 200 and bulk.json()["approved"] == 1, bulk.text
    last = history(client, people["leader"], sid)["changes"][-1]
    assert last["action"] == "survey.review"
    assert last["old"] == {"status": "received", "comment": "Sai tên chủ hộ"}
    assert last["new"] == {"status": "approved", "comment": None, "bulk": True}
    assert row(sync_engine, sid)["review_comment"] is None


# ------------------------------------------------------------------ corrections name their base


def sent_back_and_corrected(
    client: TestClient, people: dict, **answers: Any
) -> tuple[str, dict[str, Any]]:
    """A survey sent back, then corrected on the phone (version 1 -> 2, waiting again)."""
    body = send(client, people["volunteer"])
    sid = body["id"]
    assert decide(client, people["leader"], sid, "needs_correction", "Sai số người").is_success
    corrected = {**body, "answers": household_answers(**answers), "base_version": 1}
    first = client.put(f"{URL}/{sid}", json=corrected, headers=people["volunteer"])
    assert first.status_code == 200, first.text
    assert first.headers["x-outcome"] == "corrected" and first.json()["status"] == "received"
    return sid, corrected


def test_a_retried_correction_after_a_second_send_back_changes_nothing(
    client: TestClient, people: dict, sync_engine: Engine
) -> None:
    """The phone's correction B (made on version 1) was taken (version 2) but its answer was
    lost; the leader sends version 2 back again; the phone retries B. It is a resend: the
    second send-back stands and the volunteer sees its comment (it was 'corrected', the
    survey back to received, the comment never seen)."""
    sid, corrected = sent_back_and_corrected(client, people, household_size=6)
    again = decide(client, people["leader"], sid, "needs_correction", "Vẫn sai, hỏi lại")
    assert again.status_code == 200, again.text
    before = history(client, people["leader"], sid)
    retry = client.put(f"{URL}/{sid}", json=corrected, headers=people["volunteer"])
    assert retry.status_code == 200, retry.text
    assert retry.headers["x-outcome"] == "unchanged"
    assert retry.json()["status"] == "needs_correction"
    mine = client.get("/api/v1/me/surveys", headers=people["volunteer"]).json()["items"]
    assert [(s["status"], s["review_comment"], s["version"]) for s in mine] == [
        ("needs_correction", "Vẫn sai, hỏi lại", 2)
    ]
    assert history(client, people["leader"], sid) == before  # nothing on record either
    assert row(sync_engine, sid)["answers"]["household_size"] == 6


def test_the_volunteer_confirms_the_survey_sent_back_again_by_naming_its_version(
    client: TestClient, people: dict
) -> None:
    """Having seen the second send-back (version 2), the volunteer checks and sends the same
    content again: made on the current version, it is a confirmation ("corrected", version
    3 with the same content), and a retry of that confirmation changes nothing more."""
    sid, corrected = sent_back_and_corrected(client, people, household_size=6)
    decide(client, people["leader"], sid, "needs_correction", "Vẫn sai, hỏi lại")
    confirm = {**corrected, "base_version": 2}
    answer = client.put(f"{URL}/{sid}", json=confirm, headers=people["volunteer"])
    assert answer.status_code == 200 and answer.headers["x-outcome"] == "corrected"
    assert (answer.json()["status"], answer.json()["version"]) == ("received", 3)
    retry = client.put(f"{URL}/{sid}", json=confirm, headers=people["volunteer"])
    assert retry.status_code == 200 and retry.headers["x-outcome"] == "unchanged"
    # Other content made on version 2 came after the confirmation: refused.
    changed = {**corrected, "answers": household_answers(household_size=7), "base_version": 2}
    late = client.put(f"{URL}/{sid}", json=changed, headers=people["volunteer"])
    assert late.status_code == 409 and late.json()["code"] == "correction_outdated"
    # Sent back once more, a new correction made on version 3 is taken as a new version.
    decide(client, people["leader"], sid, "needs_correction", "Hỏi lại lần nữa")
    third = client.put(
        f"{URL}/{sid}", json={**changed, "base_version": 3}, headers=people["volunteer"]
    )
    assert third.status_code == 200 and third.headers["x-outcome"] == "corrected"
    record = history(client, people["leader"], sid)
    corrections = [
        change["new"] for change in record["changes"] if change["action"] == "survey.correct"
    ]
    assert corrections == [
        {"version": 2, "status": "received"},
        {"version": 3, "status": "received"},
        {"version": 4, "status": "received"},
    ]
    hashes = [version["content_hash"] for version in record["versions"]]
    assert [version["version"] for version in record["versions"]] == [1, 2, 3]
    assert hashes[1] == hashes[2] != hashes[0]  # version 3 confirmed version 2


def test_a_retried_confirmation_after_a_second_send_back_changes_nothing(
    client: TestClient, people: dict, sync_engine: Engine
) -> None:
    """The volunteer confirms the survey sent back (the same content, made on version 1): it
    is taken, its answer lost; the leader sends it back again with a new comment; the phone
    retries the same body. It is a resend: the second send-back stands and the phone's next
    review fetch brings its comment. (A confirmation left the version at 1, so the retry
    named the current version and was taken as a new confirmation: the survey went back to
    the queue and the volunteer never saw the comment.)"""
    body = send(client, people["volunteer"])
    sid = body["id"]
    first = "Kiểm tra số người"
    assert decide(client, people["leader"], sid, "needs_correction", first).is_success
    confirm = {**body, "base_version": 1}
    taken = client.put(f"{URL}/{sid}", json=confirm, headers=people["volunteer"])
    assert taken.status_code == 200 and taken.headers["x-outcome"] == "corrected", taken.text
    assert taken.json()["status"] == "received"
    again = decide(client, people["leader"], sid, "needs_correction", "Vẫn sai, hỏi lại")
    assert again.status_code == 200, again.text
    before = history(client, people["leader"], sid)
    retry = client.put(f"{URL}/{sid}", json=confirm, headers=people["volunteer"])
    assert retry.status_code == 200, retry.text
    assert retry.headers["x-outcome"] == "unchanged"
    assert retry.json()["status"] == "needs_correction"
    mine = client.get("/api/v1/me/surveys", headers=people["volunteer"]).json()["items"]
    assert [(s["status"], s["review_comment"], s["version"]) for s in mine] == [
        ("needs_correction", "Vẫn sai, hỏi lại", 2)
    ]
    assert history(client, people["leader"], sid) == before  # nothing on record either
    # The confirmation made version 2: the same content as version 1, which is kept with the
    # comment it answered.
    assert [(v["version"], v["content"]["review_comment"]) for v in before["versions"]] == [
        (1, first)
    ]
    # Having seen the comment, the volunteer confirms again, on version 2: a new confirmation.
    second = client.put(
        f"{URL}/{sid}", json={**body, "base_version": 2}, headers=people["volunteer"]
    )
    assert second.status_code == 200 and second.headers["x-outcome"] == "corrected"
    assert (second.json()["status"], second.json()["version"]) == ("received", 3)
    assert row(sync_engine, sid)["answers"] == body["answers"]


@pytest.mark.parametrize("language", ["vi", "en"])
def test_a_correction_made_on_an_older_version_with_other_content_is_refused(
    client: TestClient, people: dict, sync_engine: Engine, language: str
) -> None:
    """Version 2 came from elsewhere (another phone of the volunteer): a correction made on
    version 1 with other content would silently replace it. 409, nothing changes."""
    sid, corrected = sent_back_and_corrected(client, people, household_size=6)
    decide(client, people["leader"], sid, "needs_correction", "Vẫn sai, hỏi lại")
    before = history(client, people["leader"], sid)
    other = {**corrected, "answers": household_answers(household_size=8), "base_version": 1}
    refused = client.put(
        f"{URL}/{sid}?lang={language}",
        json=other,
        headers={**people["volunteer"], "accept-language": language},
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "correction_outdated"
    words = {"vi": "phiên bản 2", "en": "version 2"}[language]
    assert words in refused.json()["detail"] and sid in refused.json()["detail"]
    assert history(client, people["leader"], sid) == before
    stored = row(sync_engine, sid)
    assert (stored["status"], stored["version"]) == ("needs_correction", 2)
    assert stored["answers"]["household_size"] == 6


def test_without_a_base_version_a_correction_follows_the_rules_of_older_clients(
    client: TestClient, people: dict
) -> None:
    """Other clients and phones older than base_version: the same content after a second
    send-back is a confirmation, as before (the server cannot tell it from a retry)."""
    sid, corrected = sent_back_and_corrected(client, people, household_size=6)
    decide(client, people["leader"], sid, "needs_correction", "Vẫn sai, hỏi lại")
    plain = {key: value for key, value in corrected.items() if key != "base_version"}
    for body in (plain, {**plain, "base_version": None}):
        answer = client.put(f"{URL}/{sid}", json=body, headers=people["volunteer"])
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "received"
    assert answer.headers["x-outcome"] == "unchanged"  # the second: received already


def test_a_correction_naming_a_version_the_server_never_had_is_refused(
    client: TestClient, people: dict, sync_engine: Engine
) -> None:
    body = send(client, people["volunteer"])
    sid = body["id"]
    decide(client, people["leader"], sid, "needs_correction", "Sai số người")
    for answers in (body["answers"], household_answers(household_size=9)):
        refused = client.put(
            f"{URL}/{sid}",
            json={**body, "answers": answers, "base_version": 5},
            headers={**people["volunteer"], "accept-language": "en"},
        )
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "correction_version_unknown"
        assert "no version 5" in refused.json()["detail"]
    stored = row(sync_engine, sid)
    assert (stored["status"], stored["version"]) == ("needs_correction", 1)


def test_a_resend_of_a_correction_to_a_survey_approved_since_changes_nothing(
    client: TestClient, people: dict
) -> None:
    sid, corrected = sent_back_and_corrected(client, people, household_size=6)
    assert decide(client, people["leader"], sid, "approved").is_success
    retry = client.put(f"{URL}/{sid}", json=corrected, headers=people["volunteer"])
    assert retry.status_code == 200 and retry.headers["x-outcome"] == "unchanged"
    assert retry.json()["status"] == "approved"
    other = {**corrected, "answers": household_answers(household_size=8)}
    late = client.put(f"{URL}/{sid}", json=other, headers=people["volunteer"])
    assert late.status_code == 409 and late.json()["code"] == "not_correctable"


# Text, out of range (an integer column), fractions, booleans, containers. (2.0 is 2: JSON has
# one kind of number.)
HOSTILE_VERSIONS = [
    "2",
    "",
    -1,
    0,
    2**70,
    2**31,
    1.5,
    -2.0,
    1e300,
    [2],
    {"v": 2},
    True,
    False,
]


@pytest.mark.parametrize("version", HOSTILE_VERSIONS, ids=repr)
def test_a_hostile_base_version_is_a_422_naming_it(
    client: TestClient, people: dict, sync_engine: Engine, version: Any
) -> None:
    body = send(client, people["volunteer"])
    sid = body["id"]
    decide(client, people["leader"], sid, "needs_correction", "Sai số người")
    changed = {**body, "answers": household_answers(household_size=6), "base_version": version}
    for language, words in (("vi", "phiên bản"), ("en", "version")):
        refused = client.put(
            f"{URL}/{sid}?lang={language}",
            json=changed,
            headers={**people["volunteer"], "accept-language": language},
        )
        assert refused.status_code == 422, refused.text
        [problem] = refused.json()["errors"]
        assert (problem["field"], problem["code"]) == ("base_version", "not_a_version")
        assert words in problem["message"]
    assert row(sync_engine, sid)["version"] == 1


def test_a_base_version_belongs_to_corrections_only(client: TestClient, people: dict) -> None:
    body = {**household_survey(), "base_version": 1}
    refused = client.post(URL, json=body, headers=people["volunteer"])
    assert refused.status_code == 422
    assert [(e["field"], e["code"]) for e in refused.json()["errors"]] == [
        ("base_version", "unknown_field")
    ]


def test_a_bad_base_version_is_named_with_the_surveys_other_problems(
    client: TestClient, people: dict
) -> None:
    body = send(client, people["volunteer"])
    broken = {**body, "answers": household_answers(household_size="nhiều"), "base_version": "1"}
    refused = client.put(f"{URL}/{body['id']}", json=broken, headers=people["volunteer"])
    assert refused.status_code == 422
    fields = {e["field"] for e in refused.json()["errors"]}
    assert {"base_version", "answers.household_size"} <= fields


def test_odd_survey_ids_in_a_correction_address(client: TestClient, people: dict) -> None:
    body = {**household_survey(), "base_version": 1}
    for address, expected in (
        (f"{URL}/{uuid.uuid4()}", 422),  # the body's id is another: id_mismatch
        (f"{URL}/not-a-uuid", 404),
        (f"{URL}/{'9' * 40}", 404),
    ):
        answer = client.put(address, json=body, headers=people["volunteer"])
        assert answer.status_code == expected, (address, answer.text)
    missing = {**body, "id": str(uuid.uuid4())}
    answer = client.put(f"{URL}/{missing['id']}", json=missing, headers=people["volunteer"])
    assert answer.status_code == 404 and answer.json()["code"] == "not_found"


# ------------------------------------------------------------------ decisions name the version


def corrected_meanwhile(client: TestClient, people: dict) -> tuple[str, dict[str, Any]]:
    """The leader opens a survey (version 1); its volunteer corrects it meanwhile (version 2,
    still waiting for review)."""
    body = send(client, people["volunteer"])
    sid = body["id"]
    seen = client.get(f"{URL}/{sid}", headers=people["leader"]).json()
    assert (seen["version"], seen["answers"]["household_size"]) == (1, 4)
    corrected = {**body, "answers": household_answers(household_size=9), "base_version": 1}
    answer = client.put(f"{URL}/{sid}", json=corrected, headers=people["volunteer"])
    assert answer.status_code == 200 and answer.headers["x-outcome"] == "corrected", answer.text
    assert (answer.json()["status"], answer.json()["version"]) == ("received", 2)
    return sid, seen


@pytest.mark.parametrize("decision", ["approved", "needs_correction", "rejected"])
def test_a_decision_on_a_version_the_reviewer_never_saw_is_refused(
    client: TestClient, people: dict, sync_engine: Engine, decision: str
) -> None:
    """The leader read version 1 and taps a decision after the volunteer's version 2 came:
    409, nothing changes (version 2 was approved, unseen)."""
    sid, seen = corrected_meanwhile(client, people)
    before = history(client, people["leader"], sid)
    for language, words in (("vi", "nay là phiên bản 2"), ("en", "it is now version 2")):
        refused = client.post(
            f"{URL}/{sid}/review?lang={language}",
            json={"decision": decision, "comment": "Xem lại", "version": seen["version"]},
            headers={**people["leader"], "accept-language": language},
        )
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "review_version_changed"
        assert words in refused.json()["detail"]
    stored = row(sync_engine, sid)
    assert (stored["status"], stored["version"]) == ("received", 2)
    assert history(client, people["leader"], sid) == before
    # Shown version 2, the leader decides on it.
    taken = decide(client, people["leader"], sid, decision, "Xem lại", version=2)
    assert taken.status_code == 200, taken.text
    assert row(sync_engine, sid)["status"] == decision
    again = decide(client, people["leader"], sid, decision, "Xem lại", version=2)
    assert again.status_code == 200  # a double tap changes nothing
    reviews = [
        c for c in history(client, people["leader"], sid)["changes"] if "review" in c["action"]
    ]
    assert len(reviews) == 1


def test_a_decision_without_a_version_is_on_the_current_one(
    client: TestClient, people: dict, sync_engine: Engine
) -> None:
    """Other clients: no version named, the decision is taken as before (null is none)."""
    sid, _seen = corrected_meanwhile(client, people)
    answer = decide(client, people["leader"], sid, "approved", version=None)
    assert answer.status_code == 200, answer.text
    assert (row(sync_engine, sid)["status"], row(sync_engine, sid)["version"]) == ("approved", 2)


def test_a_stale_version_tells_nothing_to_those_who_may_not_review(
    client: TestClient, people: dict
) -> None:
    sid, _seen = corrected_meanwhile(client, people)
    other = decide(client, people["other_leader"], sid, "approved", version=1)
    assert other.status_code == 404
    own = decide(client, people["volunteer"], sid, "approved", version=1)
    assert own.status_code == 403


@pytest.mark.parametrize("version", HOSTILE_VERSIONS, ids=repr)
def test_a_hostile_review_version_is_a_422_naming_it(
    client: TestClient, people: dict, sync_engine: Engine, version: Any
) -> None:
    body = send(client, people["volunteer"])
    for language, words in (("vi", "phiên bản"), ("en", "version")):
        refused = client.post(
            f"{URL}/{body['id']}/review?lang={language}",
            json={"decision": "approved", "version": version},
            headers={**people["leader"], "accept-language": language},
        )
        assert refused.status_code == 422, refused.text
        [problem] = refused.json()["errors"]
        assert (problem["field"], problem["code"]) == ("version", "not_a_version")
        assert words in problem["message"]
    assert row(sync_engine, body["id"])["status"] == "received"


def test_odd_survey_ids_in_a_review_address(client: TestClient, people: dict) -> None:
    for address in (
        f"{URL}/{uuid.uuid4()}/review",
        f"{URL}/not-a-uuid/review",
        f"{URL}/{'f' * 33}/review",
        f"{URL}/%00/review",
    ):
        answer = client.post(
            address, json={"decision": "approved", "version": 1}, headers=people["leader"]
        )
        assert answer.status_code == 404, (address, answer.text)


def test_every_record_says_its_version(client: TestClient, people: dict) -> None:
    body = send(client, people["volunteer"])
    assert client.get(f"{URL}/{body['id']}", headers=people["leader"]).json()["version"] == 1
    listed = client.get(URL, params={"status": "received"}, headers=people["leader"]).json()
    assert {item["id"]: item["version"] for item in listed["items"]}[body["id"]] == 1
    again = client.post(URL, json=body, headers=people["volunteer"])
    assert again.status_code == 200 and again.json()["version"] == 1


# ------------------------------------------------------------------ bulk approval of what was seen


def bulk(client: TestClient, who: dict[str, str], settlement_id: int, **body: Any) -> Any:
    return client.post(f"/api/v1/settlements/{settlement_id}/review", json=body, headers=who)


def test_bulk_approval_of_the_surveys_seen_leaves_those_changed_since(
    client: TestClient, people: dict, sync_engine: Engine
) -> None:
    settlement_id, bodies = in_settlement(client, people["volunteer"], sync_engine, 4)
    unchanged, corrected, sent_back, not_shown = (body["id"] for body in bodies)
    elsewhere = send(client, people["volunteer"])["id"]  # in no settlement
    seen = [{"id": sid, "version": 1} for sid in (unchanged, corrected, sent_back, elsewhere)]
    seen.append({"id": str(uuid.uuid4()), "version": 1})  # nothing of that id
    # Meanwhile: one is corrected (version 2), another sent back by a second leader.
    changed = {**bodies[1], "answers": household_answers(household_size=9), "base_version": 1}
    assert client.put(f"{URL}/{corrected}", json=changed, headers=people["volunteer"]).is_success
    assert decide(client, people["leader"], sent_back, "needs_correction", "Thiếu ảnh").is_success
    answer = bulk(client, people["leader"], settlement_id, surveys=seen)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert (result["approved"], result["changed"]) == (1, 4)
    assert set(result["changed_ids"]) == {s["id"] for s in seen} - {unchanged}
    states = {sid: row(sync_engine, sid)["status"] for sid in (unchanged, corrected, sent_back)}
    assert states == {
        unchanged: "approved",
        corrected: "received",
        sent_back: "needs_correction",
    }
    assert row(sync_engine, not_shown)["status"] == "received"  # not seen, not approved
    assert row(sync_engine, elsewhere)["status"] == "received"
    # Shown the corrected one's version 2, the leader approves it.
    again = bulk(client, people["leader"], settlement_id, surveys=[{"id": corrected, "version": 2}])
    assert again.json() == {
        "settlement_id": settlement_id,
        "approved": 1,
        "changed": 0,
        "changed_ids": [],
        "own": 0,
        "own_ids": [],
    }
    # Without a list, every waiting survey of the settlement, as before.
    rest = bulk(client, people["leader"], settlement_id)
    assert rest.json()["approved"] == 1 and rest.json()["changed"] == 0
    assert row(sync_engine, not_shown)["status"] == "approved"


def test_bulk_approval_with_only_unflagged_leaves_a_listed_survey_flagged_since(
    client: TestClient, people: dict, sync_engine: Engine
) -> None:
    settlement_id, (body,) = in_settlement(client, people["volunteer"], sync_engine, 1)
    with sync_engine.begin() as connection:
        connection.execute(
            text("UPDATE household_surveys SET flags = '{low_gps_accuracy}' WHERE id = :id"),
            {"id": body["id"]},
        )
    answer = bulk(
        client,
        people["leader"],
        settlement_id,
        only_unflagged=True,
        surveys=[{"id": body["id"], "version": 1}],
    )
    assert answer.json()["approved"] == 0 and answer.json()["changed_ids"] == [body["id"]]
    assert row(sync_engine, body["id"])["status"] == "received"


def race_a_correction(
    client: TestClient, people: dict, sync_engine: Engine, listed: bool
) -> tuple[str, str, Any]:
    """A bulk approval of two surveys (`listed`: naming them at version 1) waits on the lock
    of the first while the volunteer corrects the second (version 2): the two ids and the
    bulk approval's answer."""
    settlement_id, lon, lat = settlement_point(sync_engine)
    low, high = (str(survey_id) for survey_id in sorted([uuid.uuid4(), uuid.uuid4()]))
    bodies = {
        sid: send(
            client,
            people["volunteer"],
            id=sid,
            location={"lat": lat + 0.0004 * index, "lon": lon, "accuracy_m": 5},
            answers=household_answers(head_name=f"Hộ {index}", head_phone=f"092200000{index}"),
        )
        for index, sid in enumerate((low, high))
    }
    body = {"surveys": [{"id": low, "version": 1}, {"id": high, "version": 1}]} if listed else {}
    out: dict[str, Any] = {}
    with sync_engine.connect() as holder:
        holder.execute(
            text("SELECT 1 FROM household_surveys WHERE id = :id FOR UPDATE"), {"id": low}
        )
        waiting = threading.Thread(
            target=lambda: out.update(answer=bulk(client, people["leader"], settlement_id, **body))
        )
        waiting.start()
        wait_for_lock_wait(sync_engine)
        corrected = {
            **bodies[high],
            "answers": household_answers(
                head_name="Hộ 1", head_phone="0922000001", household_size=9
            ),
            "base_version": 1,
        }
        answer = client.put(f"{URL}/{high}", json=corrected, headers=people["volunteer"])
        assert answer.status_code == 200 and answer.headers["x-outcome"] == "corrected"
        holder.rollback()
    waiting.join(30)
    assert out["answer"].status_code == 200, out["answer"].text
    return low, high, out["answer"].json()


def test_bulk_approval_waiting_on_a_lock_leaves_a_survey_corrected_meanwhile(
    client: TestClient, people: dict, sync_engine: Engine
) -> None:
    """Naming what the reviewer saw: the second survey is read again once locked, found at
    version 2 and left waiting; its history ends with the correction (it ended with an
    approval of a version nobody saw)."""
    low, high, result = race_a_correction(client, people, sync_engine, listed=True)
    assert result["approved"] == 1 and result["changed_ids"] == [high]
    assert row(sync_engine, low)["status"] == "approved"
    assert (row(sync_engine, high)["status"], row(sync_engine, high)["version"]) == ("received", 2)
    changes = history(client, people["leader"], high)["changes"]
    assert changes[-1]["action"] == "survey.correct"
    assert not any(change["action"] == "survey.review" for change in changes)


def test_a_bulk_approval_that_waited_is_on_record_after_what_it_waited_for(
    client: TestClient, people: dict, sync_engine: Engine
) -> None:
    """Without a list (older clients) the corrected survey is approved as before, and its
    history says so last: the approval is on record at the time it was made, not at the
    start of its transaction (before the correction it came after)."""
    _low, high, result = race_a_correction(client, people, sync_engine, listed=False)
    assert result["approved"] == 2
    record = history(client, people["leader"], high)
    assert (record["status"], record["version"]) == ("approved", 2)
    actions = [(c["action"], c["new"]["status"]) for c in record["changes"]]
    assert actions == [("survey.correct", "received"), ("survey.review", "approved")]
    times = [c["at"] for c in record["changes"]]
    assert times == sorted(times)


def wait_for_lock_wait(sync_engine: Engine) -> None:
    """Until some session of the test database waits for a row lock."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with sync_engine.connect() as connection:
            waiting = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
        if waiting:
            return
        time.sleep(0.05)
    raise AssertionError("the bulk approval never waited for the locked survey")


SOME_ID = "0b6f5c1e-2f3a-4c5d-8e9f-0a1b2c3d4e5f"
HOSTILE_LISTS: list[tuple[Any, list[tuple[str, str]]]] = [
    ("x", [("surveys", "wrong_type")]),
    ({"id": SOME_ID, "version": 1}, [("surveys", "wrong_type")]),
    (7, [("surveys", "wrong_type")]),
    ([1], [("surveys[0]", "wrong_type")]),
    ([None], [("surveys[0]", "wrong_type")]),
    ([[SOME_ID, 1]], [("surveys[0]", "wrong_type")]),
    ([{"id": "x", "version": 1}], [("surveys[0].id", "invalid_uuid")]),
    ([{"id": 5, "version": 1}], [("surveys[0].id", "invalid_uuid")]),
    ([{"id": "f" * 5000, "version": 1}], [("surveys[0].id", "invalid_uuid")]),
    ([{"version": 1}], [("surveys[0].id", "invalid_uuid")]),
    ([{"id": SOME_ID}], [("surveys[0].version", "not_a_version")]),
    ([{"id": SOME_ID, "version": None}], [("surveys[0].version", "not_a_version")]),
    *[
        ([{"id": SOME_ID, "version": version}], [("surveys[0].version", "not_a_version")])
        for version in HOSTILE_VERSIONS
    ],
    (
        [{"id": SOME_ID, "version": 1, "status": "approved"}],
        [("surveys[0].status", "unknown_field")],
    ),
    (
        [{"id": SOME_ID, "version": 1}, {"id": SOME_ID.upper(), "version": 2}],
        [("surveys[1].id", "listed_twice")],
    ),
    ([{"id": SOME_ID, "version": 1}] * 5001, [("surveys", "too_many_items")]),
]


@pytest.mark.parametrize(("surveys", "expected"), HOSTILE_LISTS, ids=lambda v: repr(v)[:40])
def test_a_hostile_list_of_surveys_seen_is_a_422_naming_each_item(
    client: TestClient,
    people: dict,
    sync_engine: Engine,
    surveys: Any,
    expected: list[tuple[str, str]],
) -> None:
    settlement_id, (body,) = in_settlement(client, people["volunteer"], sync_engine, 1)
    for language in ("vi", "en"):
        refused = client.post(
            f"/api/v1/settlements/{settlement_id}/review?lang={language}",
            json={"surveys": surveys},
            headers={**people["leader"], "accept-language": language},
        )
        assert refused.status_code == 422, refused.text
        errors = refused.json()["errors"]
        assert [(e["field"], e["code"]) for e in errors] == expected
        assert all(e["message"] and e["message"] != e["code"] for e in errors)
    assert row(sync_engine, body["id"])["status"] == "received"


def test_an_empty_list_approves_nothing_and_null_is_no_list(
    client: TestClient, people: dict, sync_engine: Engine
) -> None:
    settlement_id, (body,) = in_settlement(client, people["volunteer"], sync_engine, 1)
    none = bulk(client, people["leader"], settlement_id, surveys=[])
    assert none.json()["approved"] == 0 and none.json()["changed"] == 0
    assert row(sync_engine, body["id"])["status"] == "received"
    every = bulk(client, people["leader"], settlement_id, surveys=None)
    assert every.json()["approved"] == 1


@pytest.mark.parametrize(
    ("settlement", "expected"),
    [("0", 422), ("-1", 422), ("abc", 422), (str(2**70), 422), ("1.5", 422), ("999999", 404)],
)
def test_odd_settlement_ids_in_a_bulk_approval(
    client: TestClient, people: dict, settlement: str, expected: int
) -> None:
    answer = client.post(
        f"/api/v1/settlements/{settlement}/review",
        json={"surveys": [{"id": SOME_ID, "version": 1}]},
        headers=people["leader"],
    )
    assert answer.status_code == expected, answer.text


def test_a_version_written_as_a_whole_float_is_that_version_and_1e400_none(
    client: TestClient, people: dict, sync_engine: Engine
) -> None:
    """JSON has one kind of number (JSON Schema's integer takes 2.0): 1.0 is version 1. A
    number past any double (read as infinity) is no version."""
    body = send(client, people["volunteer"])
    url = f"{URL}/{body['id']}/review"
    raw = '{"decision": "approved", "version": 1e400}'
    refused = client.post(
        url, content=raw, headers={**people["leader"], "content-type": "application/json"}
    )
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["version"]
    stale = decide(client, people["leader"], body["id"], "approved", version=2.0)
    assert stale.status_code == 409 and stale.json()["code"] == "review_version_changed"
    taken = decide(client, people["leader"], body["id"], "approved", version=1.0)
    assert taken.status_code == 200, taken.text
    assert row(sync_engine, body["id"])["status"] == "approved"


def test_a_history_read_while_a_decision_lands_is_one_moment_of_the_survey(
    client: TestClient, people: dict, settings: Settings
) -> None:
    """The survey, its changes and its earlier versions are read in one snapshot: a send-back
    committed between the reads (here, by another server process, as the survey's changes
    are about to be read) is in all three or in none (found by review: a status of
    `received` beside a last change to `needs_correction`, the current version listed among
    the earlier ones)."""
    body = send(client, people["volunteer"])
    survey_id = body["id"]
    engine = client.app.state.engine.sync_engine  # type: ignore[attr-defined]
    landed: list[int] = []

    with TestClient(create_app(settings)) as other:

        def send_back_first(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
            if "FROM audit_log" in statement and not landed:
                response = decide(other, people["leader"], survey_id, "needs_correction", "Sai")
                landed.append(response.status_code)

        event.listen(engine, "before_cursor_execute", send_back_first)
        try:
            seen = client.get(f"{URL}/{survey_id}/history", headers=people["leader"]).json()
        finally:
            event.remove(engine, "before_cursor_execute", send_back_first)
    assert landed == [200]
    actions = [change["action"] for change in seen["changes"]]
    assert (seen["status"], "survey.review" in actions) == ("received", False)
    now = client.get(f"{URL}/{survey_id}/history", headers=people["leader"]).json()
    assert now["status"] == "needs_correction"
    assert [change["action"] for change in now["changes"]][-1] == "survey.review"
