"""Review decisions on the version the reviewer saw, corrections on the version the phone
corrected, and the audit log's old values (real PostGIS). Each of the three bugs a review found
is reproduced here first: a bulk approval that wrote a made-up old comment, a retried
correction that undid a second send-back, and a decision taken on a version the reviewer never
saw."""

from __future__ import annotations

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
