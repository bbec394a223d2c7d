"""Statements that change several stored surveys lock them in id order, whatever their plan:
a bulk approval of a settlement and a city's re-placement after a boundary change take
overlapping surveys, and two statements that take two rows in opposite orders deadlock (one
of them fails). Checked directly: while a statement waits on the survey another transaction
holds, the surveys it has already locked are exactly those with a smaller id."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy import Engine, text

from app.db.engine import make_engine
from app.db.submissions import REPLACE_HOUSEHOLDS, approve_received
from app.settings import Settings
from tests.integration.test_indicator_tallies import INSERT, _survey, places

__all__ = ["places"]  # the fixture, shared with test_indicator_tallies

SURVEYS = 40


def _store_in_random_order(sync_engine: Engine, places: dict[str, Any]) -> list[str]:
    """SURVEYS received surveys of the first settlement, one statement each: the table holds
    them in an order that is not their ids' (a plan that reads the table or the settlement
    index meets them in that order)."""
    rng = random.Random(11)
    ids = []
    with sync_engine.begin() as connection:
        for _ in range(SURVEYS):
            survey = _survey(rng, places) | {
                "city": places["cities"][0],
                "ward": places["wards"][0],
                "settlement": places["settlements"][0],
                "form": "household",
                "status": "received",
                "lon": 105.8001 + rng.random() * 0.0048,  # inside the first settlement
            }
            connection.execute(INSERT, {"items": orjson.dumps([survey]).decode()})
            ids.append(survey["id"])
    assert ids != sorted(ids)
    return ids


def _locked_before_blocker(
    sync_engine: Engine, ids: list[str], statement: Callable[[], Any]
) -> tuple[set[str], set[str], Any]:
    """Hold the survey with the median id, run `statement` in a thread until it waits for it;
    (the surveys it had locked by then, those with a smaller id, its result)."""
    blocker = sorted(ids)[len(ids) // 2]
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = statement()
        except BaseException as exc:  # reported below
            outcome["error"] = exc

    with sync_engine.connect() as holder, sync_engine.connect() as observer:
        holder.execute(
            text("SELECT id FROM household_surveys WHERE id = CAST(:id AS uuid) FOR UPDATE"),
            {"id": blocker},
        )
        thread = threading.Thread(target=run)
        thread.start()
        deadline = time.monotonic() + 20
        while True:  # until the statement waits for the blocker's transaction
            waiting = observer.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted AND pid IN ("
                    " SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid() AND state = 'active')"
                )
            ).scalar_one()
            observer.commit()
            if waiting:
                break
            assert time.monotonic() < deadline, "the statement never waited for the survey"
            assert thread.is_alive(), outcome
            time.sleep(0.02)
        free = set(
            observer.execute(
                text(
                    "SELECT id::text FROM household_surveys WHERE id = ANY(CAST(:ids AS uuid[]))"
                    " FOR UPDATE SKIP LOCKED"
                ),
                {"ids": ids},
            ).scalars()
        )
        observer.rollback()
        holder.rollback()  # the statement goes on
        thread.join(20)
    assert "error" not in outcome, outcome["error"]
    locked = set(ids) - free - {blocker}
    return locked, {i for i in ids if i < blocker}, outcome["result"]


def test_a_bulk_approval_locks_the_surveys_in_id_order(
    sync_engine: Engine, places: dict[str, Any], database_url: str, admin_token: str
) -> None:
    ids = _store_in_random_order(sync_engine, places)
    with sync_engine.connect() as connection:
        reviewer = connection.execute(text("SELECT min(id) FROM users")).scalar_one()

    async def approve() -> int:
        engine = make_engine(Settings(database_url=database_url).async_database_url)
        try:
            async with engine.begin() as connection:
                return await approve_received(
                    connection, places["settlements"][0], reviewer, "lock-order test", False
                )
        finally:
            await engine.dispose()

    locked, smaller, approved = _locked_before_blocker(
        sync_engine, ids, lambda: asyncio.run(approve())
    )
    assert locked == smaller
    assert approved == SURVEYS
    with sync_engine.connect() as connection:
        statuses = connection.execute(
            text("SELECT status, count(*) FROM household_surveys GROUP BY status")
        ).all()
    assert statuses == [("approved", SURVEYS)]


def test_a_city_placed_again_locks_the_surveys_it_moves_in_id_order(
    sync_engine: Engine, places: dict[str, Any]
) -> None:
    ids = _store_in_random_order(sync_engine, places)
    with sync_engine.begin() as connection:  # as if their settlement had been drawn elsewhere
        connection.execute(text("UPDATE household_surveys SET settlement_id = NULL"))

    def replace() -> int:
        with sync_engine.begin() as connection:
            return int(
                connection.execute(
                    REPLACE_HOUSEHOLDS,
                    {"city_id": places["cities"][0], "actor_id": None, "actor": "test"},
                ).rowcount
            )

    locked, smaller, moved = _locked_before_blocker(sync_engine, ids, replace)
    assert locked == smaller
    assert moved == SURVEYS
    with sync_engine.connect() as connection:
        placed = connection.execute(
            text("SELECT settlement_id, ward_id, count(*) FROM household_surveys GROUP BY 1, 2")
        ).all()
    assert placed == [(places["settlements"][0], places["wards"][0], SURVEYS)]
