"""Review against a real PostGIS: decisions and who may take them, corrections that keep
earlier versions, bulk approval, the audit log, what counts in indicators."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests import hostile
from tests.auth import bearer, make_token, make_user
from tests.factories import household_answers, household_survey

URL = "/api/v1/submissions"


@pytest.fixture
def people(sync_engine: Engine) -> dict[str, dict[str, str]]:
    """A volunteer and a leader of ward W03 (An Xuân), a leader of W01, a planner."""
    roles = {
        "volunteer": [("volunteer", ("ward", "W03"))],
        "other_volunteer": [("volunteer", ("ward", "W03"))],
        "leader": [("ward_leader", ("ward", "W03"))],
        "other_leader": [("ward_leader", ("ward", "W01"))],
        "planner": [("planner", ("city", "tam-ky"))],
    }
    return {
        name: bearer(make_token(sync_engine, make_user(sync_engine, f"review-{name}", grants)))
        for name, grants in roles.items()
    }


def send(client: TestClient, who: dict[str, str], **overrides: object) -> dict:
    body = household_survey(**overrides)
    response = client.post(URL, json=body, headers=who)
    assert response.status_code == 201, response.text
    return body


def decide(client: TestClient, who: dict[str, str], survey_id: str, decision: str, comment=None):  # type: ignore[no-untyped-def]
    return client.post(
        f"{URL}/{survey_id}/review", json={"decision": decision, "comment": comment}, headers=who
    )


def test_the_ward_leader_reviews_and_the_volunteer_sees_the_comment(
    client: TestClient, people: dict
) -> None:
    body = send(client, people["volunteer"])
    sid = body["id"]
    assert decide(client, people["volunteer"], sid, "approved").status_code == 403
    assert decide(client, people["other_leader"], sid, "approved").status_code == 404
    assert decide(client, people["planner"], sid, "approved").status_code == 403
    missing = decide(client, people["leader"], sid, "needs_correction")
    assert missing.status_code == 422 and missing.json()["errors"][0]["code"] == "comment_required"
    sent_back = decide(client, people["leader"], sid, "needs_correction", "Thiếu số điện thoại")
    assert sent_back.status_code == 200, sent_back.text
    again = decide(client, people["leader"], sid, "needs_correction", "Thiếu số điện thoại")
    assert again.status_code == 200  # a double tap changes nothing
    mine = client.get("/api/v1/me/surveys", headers=people["volunteer"]).json()["items"]
    assert [(s["id"], s["status"], s["review_comment"]) for s in mine] == [
        (sid, "needs_correction", "Thiếu số điện thoại")
    ]
    history = client.get(f"{URL}/{sid}/history", headers=people["leader"]).json()
    reviews = [c for c in history["changes"] if c["action"] == "survey.review"]
    assert len(reviews) == 1
    assert reviews[0]["actor"] == "review-leader"
    assert reviews[0]["old"]["status"] == "received"
    assert reviews[0]["new"] == {"status": "needs_correction", "comment": "Thiếu số điện thoại"}


def test_a_correction_keeps_the_earlier_version_and_waits_for_review(
    client: TestClient, people: dict, sync_engine: Engine
) -> None:
    body = send(client, people["volunteer"])
    sid = body["id"]
    decide(client, people["leader"], sid, "needs_correction", "Sai số người trong hộ")
    corrected = dict(body, answers=household_answers(household_size=6))
    other = client.put(f"{URL}/{sid}", json=corrected, headers=people["other_volunteer"])
    assert other.status_code == 404  # someone else's survey does not exist for them
    answer = client.put(f"{URL}/{sid}", json=corrected, headers=people["volunteer"])
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-outcome"] == "corrected"
    assert answer.json()["status"] == "received"
    assert answer.json()["answers"]["household_size"] == 6
    resend = client.put(f"{URL}/{sid}", json=corrected, headers=people["volunteer"])
    assert resend.status_code == 200 and resend.headers["x-outcome"] == "unchanged"
    history = client.get(f"{URL}/{sid}/history", headers=people["leader"]).json()
    assert history["version"] == 2
    assert [v["version"] for v in history["versions"]] == [1]
    assert history["versions"][0]["content"]["answers"]["household_size"] == 4
    assert history["versions"][0]["content"]["answers"]["head_name"] == "Nguyễn Thị Hoa"
    planner_view = client.get(f"{URL}/{sid}/history", headers=people["planner"]).json()
    assert "head_name" not in planner_view["versions"][0]["content"]["answers"]
    # The reviewer's comment (free text about the household) is personal too.
    assert "Sai số người" in str(history)
    assert "Sai số người" not in str(planner_view)
    assert [c["new"].get("status") for c in planner_view["changes"]] == [
        c["new"].get("status") for c in history["changes"]
    ]
    # Once approved, the survey is final for its volunteer.
    decide(client, people["leader"], sid, "approved")
    late = dict(corrected, answers=household_answers(household_size=7))
    refused = client.put(f"{URL}/{sid}", json=late, headers=people["volunteer"])
    assert refused.status_code == 409 and refused.json()["code"] == "not_correctable"
    with sync_engine.connect() as connection:
        size = connection.execute(
            text("SELECT answers->>'household_size' FROM household_surveys WHERE id = :id"),
            {"id": sid},
        ).scalar_one()
    assert size == "6"


def test_a_correction_must_carry_its_own_id(client: TestClient, people: dict) -> None:
    body = send(client, people["volunteer"])
    other = household_survey()
    response = client.put(f"{URL}/{body['id']}", json=other, headers=people["volunteer"])
    assert response.status_code == 422 and response.json()["errors"][0]["code"] == "id_mismatch"


@pytest.mark.parametrize("comment", [*hostile.NAMES, "x" * 1001, hostile.NUL, 5])
def test_hostile_review_comments(client: TestClient, people: dict, comment: object) -> None:
    body = send(client, people["volunteer"])
    response = decide(client, people["leader"], body["id"], "rejected", comment)
    if isinstance(comment, str) and len(comment) <= 1000 and "\x00" not in comment:
        assert response.status_code == 200
        mine = client.get("/api/v1/me/surveys", headers=people["volunteer"]).json()["items"]
        assert mine[-1]["review_comment"] == comment.strip()
    else:
        assert response.status_code == 422


def test_bulk_approval_of_a_settlement(
    client: TestClient, people: dict, sync_engine: Engine
) -> None:
    with sync_engine.connect() as connection:
        settlement_id, lon, lat = connection.execute(
            text(
                "SELECT s.id, ST_X(ST_PointOnSurface(s.geom)), ST_Y(ST_PointOnSurface(s.geom)) "
                "FROM settlements s JOIN wards w ON w.id = s.ward_id WHERE w.code = 'W03' "
                "ORDER BY s.id LIMIT 1"
            )
        ).one()
    # Three households 20 m apart (not one household surveyed three times), one more with a
    # poor GPS fix.
    clean = [
        send(
            client,
            people["volunteer"],
            location={"lat": lat + 0.0002 * index, "lon": lon, "accuracy_m": 5},
            answers=household_answers(head_name=name, head_phone=f"09050000{index}{index}"),
        )
        for index, name in enumerate(("Lê Thị Cúc", "Phan Văn Đức", "Võ Thị Én"))
    ]
    flagged = send(
        client,
        people["volunteer"],
        location={"lat": lat - 0.0003, "lon": lon, "accuracy_m": 80},
        answers=household_answers(head_name="Hồ Văn Giang", head_phone="0905999999"),
    )
    url = f"/api/v1/settlements/{settlement_id}/review"
    assert client.post(url, json={}, headers=people["other_leader"]).status_code == 404
    # A planner reads the settlement but may not review it: 403, as for one survey.
    planner = client.post(url, json={}, headers=people["planner"])
    assert planner.status_code == 403 and planner.json()["code"] == "not_allowed"
    missing = client.post("/api/v1/settlements/999999/review", json={}, headers=people["leader"])
    assert missing.status_code == 404
    # A ward id is a whole number: 3.0 is one (JSON Schema's integer takes it), 3.5 and "3"
    # are not (schemathesis found 435.0 refused).
    for not_an_id in (3.5, "3", True, 0, 2**31):
        odd = client.post(url, json={"ward_id": not_an_id}, headers=people["leader"])
        assert odd.status_code == 422 and odd.json()["errors"][0]["field"] == "ward_id", not_an_id
    with sync_engine.connect() as connection:
        ward = connection.execute(
            text("SELECT ward_id FROM settlements WHERE id = :id"), {"id": settlement_id}
        ).scalar_one()
    first = client.post(
        url, json={"only_unflagged": True, "ward_id": float(ward)}, headers=people["leader"]
    )
    assert first.status_code == 200 and first.json()["approved"] == 3
    statuses = {
        s["id"]: s["status"]
        for s in client.get("/api/v1/me/surveys", headers=people["volunteer"]).json()["items"]
    }
    assert all(statuses[b["id"]] == "approved" for b in clean)
    assert statuses[flagged["id"]] == "received"
    assert client.post(url, json={}, headers=people["leader"]).json()["approved"] == 1
    history = client.get(f"{URL}/{clean[0]['id']}/history", headers=people["leader"]).json()
    assert history["changes"][-1]["new"]["bulk"] is True


def test_indicators_count_approved_surveys_unless_asked(client: TestClient, people: dict) -> None:
    def households(**params: str) -> int:
        report = client.get("/api/v1/cities/tam-ky/indicators", params=params).json()
        return int(report["totals"]["households"] or 0)

    before, before_all = households(), households(surveys="all")
    body = send(client, people["volunteer"])
    assert households() == before
    assert households(surveys="all") == before_all + 1
    decide(client, people["leader"], body["id"], "approved")
    assert households() == before + 1
    decide(client, people["leader"], body["id"], "rejected", "Trùng hộ")
    assert households(surveys="all") == before_all


def test_an_unknown_decision_lists_the_decisions_in_words(client: TestClient, people: dict) -> None:
    body = send(client, people["volunteer"])
    refused = client.post(
        f"{URL}/{body['id']}/review", json={"decision": "received"}, headers=people["leader"]
    )
    assert refused.status_code == 422
    message = refused.json()["errors"][0]["message"]
    assert "approved, needs_correction, rejected" in message and "(" not in message


def test_a_missing_decision_is_said_missing_with_the_decisions_allowed(
    client: TestClient, people: dict
) -> None:
    body = send(client, people["volunteer"])
    url = f"{URL}/{body['id']}/review"
    for sent in ({}, {"decision": None}, {"comment": "Xem lại"}):
        for language, expected in (
            ("vi", "Chưa có quyết định duyệt. Chọn một trong: "),
            ("en", "The review decision is missing. Choose one of: "),
        ):
            headers = {**people["leader"], "Accept-Language": language}
            refused = client.post(f"{url}?lang={language}", json=sent, headers=headers)
            assert refused.status_code == 422, refused.text
            error = refused.json()["errors"][0]
            assert (error["field"], error["code"]) == ("decision", "decision_missing")
            assert error["message"] == expected + "approved, needs_correction, rejected."
            assert "None" not in refused.text
    settlement = client.post(
        "/api/v1/settlements/1/review?lang=en",
        json={"decision": None},
        headers={**people["leader"], "Accept-Language": "en"},
    )
    assert settlement.status_code == 422
    assert settlement.json()["errors"][0]["message"] == (
        "The review decision is missing. Choose one of: approved."
    )


def test_only_its_collector_corrects_a_survey_and_others_are_told_so(
    client: TestClient, people: dict
) -> None:
    """A ward leader's PUT of a volunteer's survey still waiting for review: 403 saying only
    its collector corrects it (not "already reviewed"); 409 is for a reviewed survey only."""
    body = send(client, people["volunteer"])
    sid = body["id"]
    corrected = dict(body, answers=household_answers(household_size=6))
    for language, words in (("en", "collected"), ("vi", "thu thập")):
        leader = client.put(
            f"{URL}/{sid}",
            json=corrected,
            headers={**people["leader"], "accept-language": language},
        )
        assert leader.status_code == 403, leader.text
        assert leader.json()["code"] == "not_collector"
        assert words in leader.json()["detail"] and "received" not in leader.json()["detail"]
    same = client.put(f"{URL}/{sid}", json=body, headers=people["leader"])
    assert same.status_code == 403  # not even an unchanged resend
    other = client.put(f"{URL}/{sid}", json=corrected, headers=people["other_volunteer"])
    assert other.status_code == 404
    decide(client, people["leader"], sid, "approved")
    assert client.put(f"{URL}/{sid}", json=corrected, headers=people["leader"]).status_code == 403
    late = client.put(f"{URL}/{sid}", json=corrected, headers=people["volunteer"])
    assert late.status_code == 409 and late.json()["code"] == "not_correctable"
    # The status in words (it read "trạng thái: approved").
    assert "(trạng thái: Đã duyệt)" in late.json()["detail"]
    assert "approved" not in late.json()["detail"]


def test_a_correction_sent_back_unchanged_waits_for_review_again(
    client: TestClient, people: dict
) -> None:
    """The volunteer checked the survey sent back and confirms it as it is: the same content
    puts it back in the review queue, on record as a correction and as a new version (the
    earlier one kept, the same content with the comment it answered); a resend of it (a
    lost answer) changes nothing more."""
    body = send(client, people["volunteer"])
    sid = body["id"]
    decide(client, people["leader"], sid, "needs_correction", "Kiểm tra lại số người")
    confirmed = client.put(f"{URL}/{sid}", json=body, headers=people["volunteer"])
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.headers["x-outcome"] == "corrected"
    assert confirmed.json()["status"] == "received"
    mine = client.get("/api/v1/me/surveys", headers=people["volunteer"]).json()["items"]
    assert [(s["id"], s["status"], s["version"]) for s in mine] == [(sid, "received", 2)]
    queue = client.get(URL, params={"status": "received"}, headers=people["leader"]).json()
    assert [s["id"] for s in queue["items"]] == [sid]

    def corrections() -> list[dict]:
        history = client.get(f"{URL}/{sid}/history", headers=people["leader"]).json()
        [kept] = history["versions"]  # the same content, with the comment it answered
        assert (kept["version"], kept["content"]["review_comment"]) == (
            1,
            "Kiểm tra lại số người",
        )
        assert kept["content"]["status"] == "needs_correction"
        return [c for c in history["changes"] if c["action"] == "survey.correct"]

    [change] = corrections()
    assert change["actor"] == "review-volunteer"
    assert change["old"] == {"version": 1, "status": "needs_correction"}
    assert change["new"] == {"version": 2, "status": "received"}
    assert change["at"]
    resend = client.put(f"{URL}/{sid}", json=body, headers=people["volunteer"])
    assert resend.status_code == 200 and resend.headers["x-outcome"] == "unchanged"
    assert resend.json()["status"] == "received"
    assert len(corrections()) == 1
    again = client.get("/api/v1/me/surveys", headers=people["volunteer"]).json()["items"]
    assert again == mine  # not even its time of change moved


def test_a_resend_of_a_changed_correction_changes_nothing_more(
    client: TestClient, people: dict
) -> None:
    body = send(client, people["volunteer"])
    sid = body["id"]
    decide(client, people["leader"], sid, "needs_correction", "Sai số người trong hộ")
    corrected = dict(body, answers=household_answers(household_size=6))
    first = client.put(f"{URL}/{sid}", json=corrected, headers=people["volunteer"])
    assert first.headers["x-outcome"] == "corrected"
    before = client.get(f"{URL}/{sid}/history", headers=people["leader"]).json()
    mine = client.get("/api/v1/me/surveys", headers=people["volunteer"]).json()["items"]
    resend = client.put(f"{URL}/{sid}", json=corrected, headers=people["volunteer"])
    assert resend.status_code == 200 and resend.headers["x-outcome"] == "unchanged"
    assert client.get(f"{URL}/{sid}/history", headers=people["leader"]).json() == before
    assert client.get("/api/v1/me/surveys", headers=people["volunteer"]).json()["items"] == mine


def test_a_bad_since_names_since(client: TestClient, people: dict) -> None:
    """The phone's own parameter, not `from` (the name the surveys list uses)."""
    for since in ("0000-01-01", "hôm qua"):
        answer = client.get(
            "/api/v1/me/surveys", params={"since": since}, headers=people["volunteer"]
        )
        assert answer.status_code == 422, answer.text
        assert [(e["field"], e["code"]) for e in answer.json()["errors"]] == [
            ("since", "invalid_datetime")
        ]
