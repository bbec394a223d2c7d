"""Review decisions on the version the reviewer saw, corrections on the version the phone
corrected, and the audit log's old values (real PostGIS). Each of the three bugs a review found
is reproduced here first: a bulk approval that wrote a made-up old comment, a retried
correction that undid a second send-back, and a decision taken on a version the reviewer never
saw."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

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
    content again: made on the current version, it is a confirmation ("corrected"), and a
    retry of that confirmation changes nothing more."""
    sid, corrected = sent_back_and_corrected(client, people, household_size=6)
    decide(client, people["leader"], sid, "needs_correction", "Vẫn sai, hỏi lại")
    confirm = {**corrected, "base_version": 2}
    answer = client.put(f"{URL}/{sid}", json=confirm, headers=people["volunteer"])
    assert answer.status_code == 200 and answer.headers["x-outcome"] == "corrected"
    assert answer.json()["status"] == "received"
    retry = client.put(f"{URL}/{sid}", json=confirm, headers=people["volunteer"])
    assert retry.status_code == 200 and retry.headers["x-outcome"] == "unchanged"
    # A new correction made on version 2 is taken as a new version.
    changed = {**corrected, "answers": household_answers(household_size=7), "base_version": 2}
    third = client.put(f"{URL}/{sid}", json=changed, headers=people["volunteer"])
    assert third.status_code == 200 and third.headers["x-outcome"] == "corrected"
    corrections = [
        change["new"]
        for change in history(client, people["leader"], sid)["changes"]
        if change["action"] == "survey.correct"
    ]
    assert corrections == [
        {"version": 2, "status": "received"},
        {"version": 2, "status": "received"},
        {"version": 3, "status": "received"},
    ]


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


HOSTILE_VERSIONS = ["2", "", -1, 0, 2**70, 2**31, 1.5, 2.0, [2], {"v": 2}, True, False]


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
