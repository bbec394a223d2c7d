"""Surveys the database places (single surveys, ODK submissions, corrections, the batches it
places itself) follow a boundary import that commits while they are being stored: each ends
in the ward and settlement the current lines give it, stored once.

The import re-places the stored surveys and commits afterwards: a statement that placed a
survey by the lines its snapshot held (the old ones) and committed after that re-placement
left the survey by the old lines for good. Each interleaving is forced here (an import held
open, a statement held back by another transaction's lock) rather than left to luck."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import submissions as queries
from app.db.engine import SERVER_SETTINGS, make_engine
from app.db.pool import StatementPool
from app.forms.registry import FormRegistry
from app.services import review
from app.services.access import Grant, Principal
from app.services.boundaries import import_city
from app.services.intake import PreparedSubmission, prepare_submission
from app.services.submissions import ingest_one, submission_row
from app.settings import with_driver
from tests.auth import make_user
from tests.factories import household_survey
from tests.integration.test_boundaries import write_layer

SLUG = "thi-xa-ranh"
WEST, SOUTH = 107.7, 14.2
# Two wards (and a settlement in each) side by side; the import moves the line between them
# east, from OLD_LINE to NEW_LINE (degrees east of WEST): the strip between changes sides.
OLD_LINE, NEW_LINE = 0.010, 0.012
IN_STRIP = (0.0105, 0.0115)
APP_NAME = "place-test"  # the sessions of the surveys' statements, as pg_stat_activity names them
IMPORT_NAME = "place-import"  # the import's session


def rectangle(west: float, east: float, south: float, north: float) -> dict[str, Any]:
    corners = [(west, south), (east, south), (east, north), (west, north), (west, south)]
    return {"type": "Polygon", "coordinates": [[[WEST + x, SOUTH + y] for x, y in corners]]}


def import_lines(connection: Connection, tmp_path: Path, line: float) -> None:
    """Import the town with its ward line at `line`, in the connection's transaction."""
    # The session named for pg_stat_activity until the transaction ends (is_local).
    connection.execute(
        text("SELECT set_config('application_name', :name, true)"), {"name": IMPORT_NAME}
    )
    wards = write_layer(
        tmp_path / f"wards-{line}.geojson",
        [
            ({"code": "W1", "name": "Phường Tây"}, rectangle(0, line, 0, 0.01)),
            ({"code": "W2", "name": "Phường Đông"}, rectangle(line, 0.02, 0, 0.01)),
        ],
    )
    settlements = write_layer(
        tmp_path / f"settlements-{line}.geojson",
        [
            (
                {"code": "T1", "name": "Tổ Tây", "ward_code": "W1"},
                rectangle(0.001, line, 0.001, 0.009),
            ),
            (
                {"code": "T2", "name": "Tổ Đông", "ward_code": "W2"},
                rectangle(line, 0.019, 0.001, 0.009),
            ),
        ],
    )
    import_city(
        connection,
        slug=SLUG,
        name="Thị xã Ranh",
        province=None,
        wards_path=wards,
        settlements_path=settlements,
    )


def open_import(sync_engine: Engine, tmp_path: Path, line: float) -> Connection:
    """A connection whose transaction has imported the new lines and re-placed the stored
    surveys, not yet committed."""
    connection = sync_engine.connect()
    try:
        import_lines(connection, tmp_path, line)
    except BaseException:
        connection.close()
        raise
    return connection


def import_and_commit(sync_engine: Engine, tmp_path: Path, line: float, hold: float = 0) -> None:
    """Import the lines, hold the transaction open `hold` seconds after the re-placement,
    commit."""
    with sync_engine.connect() as connection:
        import_lines(connection, tmp_path, line)
        if hold:
            connection.execute(text("SELECT pg_sleep(:hold)"), {"hold": hold})
        connection.commit()


@pytest.fixture
def town(sync_engine: Engine, tmp_path: Path, clean_surveys: None) -> Iterator[None]:
    with sync_engine.begin() as connection:
        import_lines(connection, tmp_path, OLD_LINE)
    yield
    with sync_engine.begin() as connection:
        connection.execute(text("DELETE FROM cities WHERE slug = :slug"), {"slug": SLUG})


@pytest.fixture
def collector(sync_engine: Engine) -> Principal:
    user_id = make_user(sync_engine, "place-test-collector", [("national_admin", None)])
    return Principal(
        user_id, "place-test-collector", "place-test-collector", (Grant("national_admin"),)
    )


def prepared_at(
    forms: FormRegistry, x: float, y: float, survey_id: str | None = None
) -> PreparedSubmission:
    """A household survey at (WEST + x, SOUTH + y), in the town."""
    body = household_survey(
        id=survey_id or str(uuid.uuid4()),
        city=SLUG,
        location={"lat": SOUTH + y, "lon": WEST + x, "accuracy_m": 5.0},
    )
    prepared, problems = prepare_submission(body, forms, datetime.now(UTC))
    assert prepared is not None, problems
    return prepared


def run(database_url: str, body: Callable[[StatementPool, AsyncEngine], Awaitable[Any]]) -> Any:
    """`body` with a fresh ingest pool and engine (sessions named APP_NAME) on an event loop
    of its own thread."""

    async def main() -> Any:
        pool = StatementPool(database_url, 4, {**SERVER_SETTINGS, "application_name": APP_NAME})
        engine = make_engine(
            with_driver(database_url, "postgresql+asyncpg"), application_name=APP_NAME
        )
        try:
            return await body(pool, engine)
        finally:
            await pool.close()
            await engine.dispose()

    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, main()).result()


SESSIONS = text(
    """
SELECT count(*) FILTER (WHERE wait_event_type = 'Lock') AS waiting,
       count(*) FILTER (WHERE state <> 'idle' AND wait_event_type IS DISTINCT FROM 'Lock')
FROM pg_stat_activity WHERE datname = current_database() AND application_name = :name
"""
)


async def settled(sync_engine: Engine, name: str, tasks: Sequence[asyncio.Future[Any]]) -> None:
    """Until every task has ended, or the sessions named `name` all wait for a lock (three
    looks in a row, 50 ms apart: a task still on its way to the database is not missed)."""

    def look() -> tuple[int, int]:
        with sync_engine.connect() as connection:
            waiting, busy = connection.execute(SESSIONS, {"name": name}).one()
        return int(waiting), int(busy)

    calm = 0
    for _ in range(600):
        if all(task.done() for task in tasks):
            return
        waiting, busy = await asyncio.to_thread(look)
        calm = calm + 1 if waiting and not busy else 0
        if calm == 3:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the sessions {name} neither ended nor waited")


def placements(
    sync_engine: Engine,
) -> list[tuple[str, str | None, str | None, str | None, str | None]]:
    """Each stored survey of the town: its id, its ward and settlement codes, and those the
    current lines give its point."""
    with sync_engine.connect() as connection:
        rows = connection.execute(
            text(
                """
SELECT h.id::text, w.code, s.code,
       (SELECT x.code FROM wards x WHERE x.city_id = c.id AND ST_Covers(x.geom, h.geom)
        ORDER BY x.id LIMIT 1),
       (SELECT x.code FROM settlements x WHERE x.city_id = c.id AND ST_Covers(x.geom, h.geom)
        ORDER BY x.id LIMIT 1)
FROM household_surveys h
JOIN cities c ON c.slug = :slug AND c.id = h.city_id
LEFT JOIN wards w ON w.id = h.ward_id
LEFT JOIN settlements s ON s.id = h.settlement_id
ORDER BY h.id
"""
            ),
            {"slug": SLUG},
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def misplaced(sync_engine: Engine) -> list[tuple[Any, ...]]:
    """The surveys whose ward or settlement is not the one the current lines give them."""
    return [row for row in placements(sync_engine) if row[1:3] != row[3:5]]


def stored_ids(sync_engine: Engine) -> list[str]:
    with sync_engine.connect() as connection:
        return [
            str(i) for i in connection.execute(text("SELECT id FROM household_surveys")).scalars()
        ]


def test_surveys_sent_while_an_import_is_open_are_placed_by_its_lines(
    database_url: str,
    sync_engine: Engine,
    forms: FormRegistry,
    town: None,
    collector: Principal,
    tmp_path: Path,
) -> None:
    """The import has re-placed the stored surveys and not committed yet: single surveys (alone
    and grouped), a batch the database places and a correction, all in the strip that changes
    wards, wait for it and are placed by its lines."""
    stored_before = prepared_at(forms, 0.005, 0.005)  # in W1 either way; corrected into the strip
    singles = [prepared_at(forms, IN_STRIP[i % 2], 0.002 + i * 0.0005) for i in range(8)]
    batch = [submission_row(prepared_at(forms, IN_STRIP[1], 0.0085))]

    async def body(pool: StatementPool, engine: AsyncEngine) -> list[Any]:
        await ingest_one(pool, stored_before, [], collector.user_id)
        importing = await asyncio.to_thread(open_import, sync_engine, tmp_path, NEW_LINE)
        try:
            correction = prepared_at(forms, IN_STRIP[0], 0.0045, str(stored_before.id))
            tasks = [
                asyncio.ensure_future(ingest_one(pool, prepared, [], collector.user_id))
                for prepared in singles
            ]
            tasks.append(asyncio.ensure_future(queries.insert_many(pool, batch)))
            tasks.append(
                asyncio.ensure_future(
                    review.correct(engine, collector, stored_before.id, correction)
                )
            )
            await settled(sync_engine, APP_NAME, tasks)
            await asyncio.to_thread(importing.commit)
        finally:
            await asyncio.to_thread(importing.close)
        return list(await asyncio.wait_for(asyncio.gather(*tasks), 30))

    results = run(database_url, body)
    assert [result.outcome for result in results[: len(singles)]] == ["created"] * len(singles)
    assert len(results[len(singles)]) == 1 and results[-1][0] == "corrected"
    assert misplaced(sync_engine) == []
    assert sorted(stored_ids(sync_engine)) == sorted(
        [str(stored_before.id), *(str(p.id) for p in singles), str(batch[0]["id"])]
    )
    assert {row[1:3] for row in placements(sync_engine)} == {("W1", "T1")}


def test_a_survey_statement_begun_before_an_import_holds_the_import_back(
    database_url: str,
    sync_engine: Engine,
    forms: FormRegistry,
    town: None,
    collector: Principal,
    tmp_path: Path,
) -> None:
    """A single survey's statement has read the old lines and waits (here for another
    transaction that holds its id); an import that starts meanwhile waits for it to commit,
    then places it anew: it does not stay by the lines it was placed by."""
    sent = prepared_at(forms, IN_STRIP[0], 0.005)

    async def body(pool: StatementPool, engine: AsyncEngine) -> Any:
        holding = sync_engine.connect()
        try:
            holding.execute(
                text(
                    "INSERT INTO household_surveys (id, form_id, form_version, collected_at, "
                    "answers, content_hash) VALUES (:id, 'household', 'x', now(), '{}', 'x')"
                ),
                {"id": str(sent.id)},
            )
            sending = asyncio.ensure_future(ingest_one(pool, sent, [], collector.user_id))
            await settled(sync_engine, APP_NAME, [sending])
            assert not sending.done()
            importing = asyncio.ensure_future(
                asyncio.to_thread(import_and_commit, sync_engine, tmp_path, NEW_LINE)
            )
            await settled(sync_engine, IMPORT_NAME, [importing])
            await asyncio.to_thread(holding.rollback)
        finally:
            await asyncio.to_thread(holding.close)
        result = await asyncio.wait_for(sending, 30)
        await asyncio.wait_for(importing, 30)
        return result

    assert run(database_url, body).outcome == "created"
    assert misplaced(sync_engine) == []
    assert [row[1:3] for row in placements(sync_engine)] == [("W1", "T1")]


def test_a_correction_that_locked_its_survey_before_an_import_is_placed_by_the_new_lines(
    database_url: str,
    sync_engine: Engine,
    forms: FormRegistry,
    town: None,
    collector: Principal,
    tmp_path: Path,
) -> None:
    """A correction has locked a survey the import moves (and not written yet) when the import
    starts: neither waits for the other for ever (no deadlock), and the survey ends by the new
    lines, each move on its record."""
    survey = prepared_at(forms, IN_STRIP[1], 0.005)  # W2 by the old lines, W1 by the new
    correction = prepared_at(forms, IN_STRIP[0], 0.006, str(survey.id))

    async def body(pool: StatementPool, engine: AsyncEngine) -> str:
        await ingest_one(pool, survey, [], collector.user_id)
        locked, released = asyncio.Event(), asyncio.Event()

        async def claim(_raw: Any) -> None:
            locked.set()
            await released.wait()

        correcting = asyncio.ensure_future(
            review.correct(engine, collector, survey.id, correction, claim)
        )
        await asyncio.wait_for(locked.wait(), 30)
        importing = asyncio.ensure_future(
            asyncio.to_thread(import_and_commit, sync_engine, tmp_path, NEW_LINE)
        )
        await settled(sync_engine, IMPORT_NAME, [importing])
        released.set()
        outcome, _record = await asyncio.wait_for(correcting, 30)
        await asyncio.wait_for(importing, 30)
        return outcome

    assert run(database_url, body) == "corrected"
    assert misplaced(sync_engine) == []
    assert [row[1:3] for row in placements(sync_engine)] == [("W1", "T1")]
    with sync_engine.connect() as connection:
        actions = connection.execute(
            text("SELECT action FROM audit_log WHERE entity = 'survey' AND entity_id = :id"),
            {"id": str(survey.id)},
        ).scalars()
        assert {"survey.correct", "survey.place"} <= set(actions)


def test_surveys_streamed_through_imports_are_each_stored_once_by_the_current_lines(
    database_url: str,
    sync_engine: Engine,
    forms: FormRegistry,
    town: None,
    collector: Principal,
    tmp_path: Path,
) -> None:
    """Phones keep sending (new surveys, resends, corrections, a few batches the database
    places) while imports move the line back and forth, each held open a moment after it has
    re-placed the stored surveys: afterwards every survey sent is stored once, where the
    current lines place it."""
    lines = [NEW_LINE, OLD_LINE, NEW_LINE]

    async def body(pool: StatementPool, engine: AsyncEngine) -> tuple[set[str], list[str]]:
        done = asyncio.Event()
        sent: set[str] = set()
        outcomes: list[str] = []

        async def phone(seed: int) -> None:
            rng = random.Random(seed)
            mine: list[PreparedSubmission] = []  # the phone's surveys as last sent
            while not done.is_set():
                x, y = rng.uniform(0.009, 0.013), rng.uniform(0.0015, 0.0085)
                turn = rng.random()
                if mine and turn < 0.15:  # a resend after a lost answer
                    again = rng.choice(mine)
                    outcomes.append((await ingest_one(pool, again, [], collector.user_id)).outcome)
                elif mine and turn < 0.3:
                    which = rng.randrange(len(mine))
                    fixed = prepared_at(forms, x, y, str(mine[which].id))
                    outcome, _ = await review.correct(engine, collector, fixed.id, fixed)
                    outcomes.append(outcome)
                    mine[which] = fixed
                elif turn < 0.35:
                    rows = [submission_row(prepared_at(forms, x, y + i * 1e-5)) for i in range(3)]
                    stored = await queries.insert_many(pool, rows)
                    assert len(stored) == len(rows)
                    sent.update(str(row["id"]) for row in rows)
                else:
                    prepared = prepared_at(forms, x, y)
                    result = await ingest_one(pool, prepared, [], collector.user_id)
                    assert result.outcome == "created"
                    sent.add(str(prepared.id))
                    mine.append(prepared)

        phones = [asyncio.ensure_future(phone(seed)) for seed in range(6)]
        try:
            for line in lines:
                await asyncio.sleep(0.1)
                await asyncio.to_thread(import_and_commit, sync_engine, tmp_path, line, 0.3)
        finally:
            done.set()
            await asyncio.wait_for(asyncio.gather(*phones), 30)
        return sent, outcomes

    sent, outcomes = run(database_url, body)
    assert len(sent) > 50 and {"duplicate", "corrected"} <= set(outcomes)
    assert sorted(stored_ids(sync_engine)) == sorted(sent)
    assert misplaced(sync_engine) == []
