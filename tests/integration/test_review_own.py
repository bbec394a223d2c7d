"""Four eyes (real PostGIS): nobody reviews a survey they collected, whatever their role. A
ward leader who surveys too, a city admin, a national admin: each is refused a decision on
their own survey (409 own_survey, nothing changed, nothing on record), their bulk approval
leaves it and says so, and another reviewer decides it as usual."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.auth import Place, bearer, make_token, make_user
from tests.factories import household_answers, household_survey

URL = "/api/v1/submissions"
W03: Place = ("ward", "W03")
# Who collects a survey and then may review the ward's surveys.
REVIEWERS: dict[str, list[tuple[str, Place]]] = {
    "ward_leader": [("volunteer", W03), ("ward_leader", W03)],
    "leader_only": [("ward_leader", W03)],  # a leader sends surveys without a volunteer role
    "city_admin": [("city_admin", ("city", "tam-ky"))],
    "national_admin": [("national_admin", None)],
}


@pytest.fixture
def people(sync_engine: Engine) -> dict[str, tuple[int, dict[str, str]]]:
    """Every reviewer of REVIEWERS, a volunteer of W03 and a second leader of W03: (user id,
    headers)."""
    roles = {
        **REVIEWERS,
        "volunteer": [("volunteer", W03)],
        "second_leader": [("ward_leader", W03)],
    }
    out = {}
    for name, grants in roles.items():
        user_id = make_user(sync_engine, f"own-{name}", grants)
        out[name] = (user_id, bearer(make_token(sync_engine, user_id)))
    return out


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


def send(client: TestClient, who: dict[str, str], sync_engine: Engine, index: int) -> str:
    """A household of the W03 settlement (20 m from the others); its id."""
    _, lon, lat = settlement_point(sync_engine)
    body = household_survey(
        location={"lat": lat + 0.0002 * index, "lon": lon, "accuracy_m": 5},
        answers=household_answers(
            head_name=f"Hộ số {index} Phạm Văn", head_phone=f"09070000{index:02d}"
        ),
    )
    answer = client.post(URL, json=body, headers=who)
    assert answer.status_code == 201, answer.text
    return str(body["id"])


def state(sync_engine: Engine, survey_id: str) -> dict[str, Any]:
    """The survey's review state and its audit entries."""
    with sync_engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT status, review_comment, reviewed_by, version, updated_at "
                "FROM household_surveys WHERE id = :id"
            ),
            {"id": survey_id},
        ).one()
        entries = connection.execute(
            text(
                "SELECT action FROM audit_log WHERE entity = 'survey' AND entity_id = :id "
                "ORDER BY id"
            ),
            {"id": survey_id},
        ).scalars()
        return {**row._mapping, "audit": list(entries)}


@pytest.mark.parametrize("who", list(REVIEWERS))
@pytest.mark.parametrize("decision", ["approved", "needs_correction", "rejected"])
def test_nobody_reviews_a_survey_they_collected(
    client: TestClient, people: dict, sync_engine: Engine, who: str, decision: str
) -> None:
    """409 own_survey in the reviewer's language, with or without the version they saw;
    nothing changes and nothing is on record. Another leader of the ward decides it."""
    user_id, headers = people[who]
    sid = send(client, headers, sync_engine, 0)
    record = client.get(f"{URL}/{sid}", headers=headers).json()
    assert record["collector_user_id"] == user_id
    before = state(sync_engine, sid)
    assert before["audit"] == []
    for language, words in (
        ("vi", "Bạn đã thu thập phiếu"),
        ("en", "You collected survey"),
    ):
        for version in (None, 1):
            refused = client.post(
                f"{URL}/{sid}/review?lang={language}",
                json={"decision": decision, "comment": "Tự duyệt", "version": version},
                headers={**headers, "accept-language": language},
            )
            assert refused.status_code == 409, refused.text
            assert refused.json()["code"] == "own_survey"
            detail = refused.json()["detail"]
            assert words in detail and sid in detail
    assert state(sync_engine, sid) == before
    taken = client.post(
        f"{URL}/{sid}/review",
        json={"decision": decision, "comment": "Đã kiểm tra"},
        headers=people["second_leader"][1],
    )
    assert taken.status_code == 200, taken.text
    assert state(sync_engine, sid)["status"] == decision


def test_the_message_names_who_reviews_instead_in_both_languages(
    client: TestClient, people: dict, sync_engine: Engine
) -> None:
    _, headers = people["ward_leader"]
    sid = send(client, headers, sync_engine, 0)
    details = {
        language: client.post(
            f"{URL}/{sid}/review",
            json={"decision": "approved"},
            headers={**headers, "accept-language": language},
        ).json()["detail"]
        for language in ("vi", "en")
    }
    assert "một trưởng phường khác hoặc quản trị thành phố sẽ duyệt" in details["vi"]
    assert "another ward leader or the city admin reviews it" in details["en"]


@pytest.mark.parametrize("who", list(REVIEWERS))
def test_a_bulk_approval_leaves_the_reviewers_own_surveys_and_says_so(
    client: TestClient, people: dict, sync_engine: Engine, who: str
) -> None:
    user_id, headers = people[who]
    settlement_id, _, _ = settlement_point(sync_engine)
    own = send(client, headers, sync_engine, 0)
    theirs = send(client, people["volunteer"][1], sync_engine, 1)
    with sync_engine.connect() as connection:
        ward_id = connection.execute(
            text("SELECT ward_id FROM household_surveys WHERE id = :id"), {"id": own}
        ).scalar_one()
    counts = client.get(f"/api/v1/wards/{ward_id}/review-counts", headers=headers).json()
    [place] = [s for s in counts["settlements"] if s["id"] == settlement_id]
    assert (place["received_unflagged"], place["own_unflagged"]) == (2, 1)
    other = client.get(
        f"/api/v1/wards/{ward_id}/review-counts", headers=people["second_leader"][1]
    ).json()
    assert [s["own_unflagged"] for s in other["settlements"] if s["id"] == settlement_id] == [0]
    before = state(sync_engine, own)
    # Naming what the page showed: the own survey is counted apart, not as changed.
    seen = [{"id": own, "version": 1}, {"id": theirs, "version": 1}]
    bulk = client.post(
        f"/api/v1/settlements/{settlement_id}/review", json={"surveys": seen}, headers=headers
    )
    assert bulk.status_code == 200, bulk.text
    assert bulk.json() == {
        "settlement_id": settlement_id,
        "approved": 1,
        "changed": 0,
        "changed_ids": [],
        "own": 1,
        "own_ids": [own],
    }
    assert state(sync_engine, theirs)["status"] == "approved"
    assert state(sync_engine, own) == before  # waiting, nothing on record
    # Without a list too; another leader's bulk approval takes it.
    again = client.post(f"/api/v1/settlements/{settlement_id}/review", json={}, headers=headers)
    assert (again.json()["approved"], again.json()["own_ids"]) == (0, [own])
    assert state(sync_engine, own) == before
    second = client.post(
        f"/api/v1/settlements/{settlement_id}/review",
        json={},
        headers=people["second_leader"][1],
    )
    assert (second.json()["approved"], second.json()["own"]) == (1, 0)
    assert state(sync_engine, own)["status"] == "approved"
    assert state(sync_engine, own)["reviewed_by"] == people["second_leader"][0]
    assert user_id != people["second_leader"][0]


def test_surveys_without_an_account_are_reviewed_by_anyone_who_may(
    client: TestClient, people: dict, sync_engine: Engine
) -> None:
    """Imported and sample surveys have no collector account: no one's own."""
    _, headers = people["ward_leader"]
    sid = send(client, people["volunteer"][1], sync_engine, 0)
    with sync_engine.begin() as connection:
        connection.execute(
            text("UPDATE household_surveys SET collector_user_id = NULL WHERE id = :id"),
            {"id": sid},
        )
    taken = client.post(f"{URL}/{sid}/review", json={"decision": "approved"}, headers=headers)
    assert taken.status_code == 200, taken.text
    assert client.get(f"{URL}/{sid}", headers=headers).json()["collector_user_id"] is None
