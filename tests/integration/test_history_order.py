"""A survey's history lists its changes in the order they were made, also when two
transactions overlap (app/db/accounts.history)."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.auth import bearer, make_token, make_user
from tests.factories import household_answers, household_survey

URL = "/api/v1/submissions"


def test_a_bulk_approval_that_waited_is_listed_after_the_correction_it_waited_for(
    client: TestClient, sync_engine: Engine
) -> None:
    # audit_log.at is when a transaction began: the bulk approval began first, waited on a
    # survey's row while the volunteer corrected another, then approved it. Sorted by time,
    # the history ended with the correction ("received") while the survey was approved.
    volunteer = bearer(
        make_token(
            sync_engine, make_user(sync_engine, "order-vol", [("volunteer", ("ward", "W03"))])
        )
    )
    leader = bearer(
        make_token(
            sync_engine, make_user(sync_engine, "order-lead", [("ward_leader", ("ward", "W03"))])
        )
    )
    with sync_engine.connect() as connection:
        settlement, lon, lat = connection.execute(
            text(
                "SELECT s.id, ST_X(ST_PointOnSurface(s.geom)), ST_Y(ST_PointOnSurface(s.geom)) "
                "FROM settlements s JOIN wards w ON w.id = s.ward_id WHERE w.code = 'W03' "
                "ORDER BY s.id LIMIT 1"
            )
        ).one()
    low, high = sorted([uuid.uuid4(), uuid.uuid4()])
    bodies = []
    for n, survey_id in enumerate((low, high)):
        body = household_survey(
            id=str(survey_id),
            location={"lat": lat + 0.0004 * n, "lon": lon, "accuracy_m": 5},
            answers=household_answers(head_name=f"Hộ {n}", head_phone=f"09220000{n}{n}"),
        )
        assert client.post(URL, json=body, headers=volunteer).status_code == 201
        bodies.append(body)
    answers: dict[str, Any] = {}
    with sync_engine.connect() as holder:
        # Held, so that the bulk approval (which locks in id order) waits on the first survey.
        holder.execute(
            text("SELECT 1 FROM household_surveys WHERE id = :id FOR UPDATE"), {"id": str(low)}
        )

        def approve() -> None:
            answers["bulk"] = client.post(
                f"/api/v1/settlements/{settlement}/review", json={}, headers=leader
            )

        bulk = threading.Thread(target=approve)
        bulk.start()
        deadline = time.monotonic() + 10
        while not _waiting_on_a_row(sync_engine) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _waiting_on_a_row(sync_engine), "the bulk approval never waited"
        corrected = dict(
            bodies[1],
            answers=household_answers(head_name="Hộ 1", head_phone="0922000011", household_size=9),
        )
        response = client.put(f"{URL}/{high}", json=corrected, headers=volunteer)
        assert response.status_code == 200, response.text
        assert response.headers["x-outcome"] == "corrected"
        holder.rollback()
    bulk.join(30)
    assert answers["bulk"].status_code == 200, answers["bulk"].text
    history = client.get(f"{URL}/{high}/history", headers=leader).json()
    actions = [change["action"] for change in history["changes"]]
    assert actions[-2:] == ["survey.correct", "survey.review"], actions
    assert history["changes"][-1]["new"]["status"] == history["status"] == "approved"


def _waiting_on_a_row(sync_engine: Engine) -> bool:
    with sync_engine.connect() as connection:
        return bool(
            connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND query ILIKE '%household_surveys%'"
                )
            ).scalar()
        )
