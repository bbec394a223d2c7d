"""Group commit of single surveys (app.db.submissions.InsertGroups) against a real PostGIS:
surveys that arrive while the database is busy leave together, each answered as if alone."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from sqlalchemy import Engine, text

from app.db import submissions as queries
from app.db.pool import StatementPool
from app.forms.registry import FormRegistry
from app.geo import sample_city
from app.services.intake import prepare_submission
from app.services.submissions import submission_row
from tests.integration.test_statement_pool import run

pytestmark = pytest.mark.usefixtures("clean_surveys")


def rows(forms: FormRegistry, count: int, seed: int, **overrides: Any) -> list[dict[str, Any]]:
    """Checked survey rows at the sample city's generated households (in and out of its
    settlements), as intake makes them."""
    out = []
    city = sample_city.generate_city()
    for raw in sample_city.generate_households(city, count, seed):
        raw = {**raw, "id": str(uuid.uuid4()), **overrides}
        prepared, problems = prepare_submission(
            raw,
            forms,
            datetime.now(UTC),
            future_tolerance=timedelta(minutes=5),
            low_accuracy_m=50,
            late_after=timedelta(days=3650),
        )
        assert prepared is not None, problems
        out.append(submission_row(prepared))
    return out


def transactions(engine: Engine, ids: list[Any]) -> int:
    """In how many transactions these surveys were stored (one statement: one xmin)."""
    with engine.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT count(DISTINCT xmin::text) FROM household_surveys "
                    "WHERE id = ANY(CAST(:ids AS uuid[]))"
                ),
                {"ids": [str(i) for i in ids]},
            ).scalar_one()
        )


def test_surveys_of_a_busy_moment_leave_in_groups_with_the_records_of_single_ones(
    database_url: str, forms: FormRegistry, sync_engine: Engine
) -> None:
    surveys = rows(forms, 61, seed=3)
    alone, busy = surveys[0], surveys[1:]

    async def body(pool: StatementPool) -> tuple[dict[str, Any] | None, list[Any]]:
        single = await queries.insert_one(pool, alone)
        groups = queries.InsertGroups(pool, in_flight=1, max_rows=16)
        return single, list(await asyncio.gather(*(groups.insert(row) for row in busy)))

    single, records = run(database_url, 4, body)
    assert single is not None
    assert all(record is not None for record in records)
    # every survey answered with its own record, as the single statement gives it
    assert [r["id"] for r in records] == [row["id"] for row in busy]
    assert all(set(r) == set(single) for r in records)
    # placed as the single statement places: the same wards and settlements as one by one
    with sync_engine.connect() as connection:
        placed = {
            str(r.id): (r.ward_id, r.settlement_id)
            for r in connection.execute(
                text(
                    "SELECT h.id, (SELECT w.id FROM wards w WHERE ST_Intersects(w.geom, h.geom)"
                    " ORDER BY w.id LIMIT 1) AS ward_id, (SELECT s.id FROM settlements s"
                    " WHERE ST_Intersects(s.geom, h.geom) ORDER BY s.id LIMIT 1)"
                    " AS settlement_id FROM household_surveys h"
                )
            )
        }
    assert len(placed) == 61
    assert {str(r["id"]): (r["ward_id"], r["settlement_id"]) for r in records} == {
        str(row["id"]): placed[str(row["id"])] for row in busy
    }
    assert sum(1 for r in records if r["settlement_id"] is not None) > 10
    assert all(r["ward_name"] for r in records if r["ward_id"] is not None)
    # and they did leave together: 60 surveys, one alone then groups of at most 16
    assert 5 <= transactions(sync_engine, [row["id"] for row in busy]) <= 8


def test_copies_of_one_survey_in_one_burst_store_it_once(
    database_url: str, forms: FormRegistry, sync_engine: Engine
) -> None:
    survey, *others = rows(forms, 11, seed=4)
    burst = [survey, *others[:5], survey, survey, *others[5:], survey]

    async def body(pool: StatementPool) -> list[Any]:
        groups = queries.InsertGroups(pool, in_flight=1, max_rows=32)
        return list(await asyncio.gather(*(groups.insert(row) for row in burst)))

    records = run(database_url, 4, body)
    copies = [r for row, r in zip(burst, records, strict=True) if row["id"] == survey["id"]]
    assert sum(1 for r in copies if r is not None) == 1  # stored by one, found by the others
    assert all(r is not None for row, r in zip(burst, records, strict=True) if row in others)
    with sync_engine.connect() as connection:
        stored = connection.execute(text("SELECT id FROM household_surveys")).scalars().all()
    assert sorted(map(str, stored)) == sorted(str(row["id"]) for row in [survey, *others])


def test_a_survey_the_database_refuses_costs_only_itself(
    database_url: str, forms: FormRegistry, sync_engine: Engine
) -> None:
    good = rows(forms, 20, seed=5)
    (bad,) = rows(forms, 1, seed=6, collector="refuse-me")
    burst = [*good[:10], bad, *good[10:]]
    with sync_engine.begin() as connection:
        connection.execute(
            text(
                "CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                " IF NEW.collector = 'refuse-me' THEN RAISE EXCEPTION 'refused for the test';"
                " END IF; RETURN NEW; END $$;"
                "CREATE TRIGGER test_refuse BEFORE INSERT ON household_surveys"
                " FOR EACH ROW EXECUTE FUNCTION test_refuse()"
            )
        )
    try:

        async def body(pool: StatementPool) -> list[Any]:
            groups = queries.InsertGroups(pool, in_flight=1, max_rows=32)
            return list(
                await asyncio.gather(*(groups.insert(row) for row in burst), return_exceptions=True)
            )

        outcomes = run(database_url, 4, body)
    finally:
        with sync_engine.begin() as connection:
            connection.execute(
                text("DROP TRIGGER test_refuse ON household_surveys; DROP FUNCTION test_refuse()")
            )
    assert isinstance(outcomes[10], asyncpg.RaiseError)
    assert all(isinstance(o, dict) for i, o in enumerate(outcomes) if i != 10)
    with sync_engine.connect() as connection:
        stored = connection.execute(text("SELECT id FROM household_surveys")).scalars().all()
    assert sorted(map(str, stored)) == sorted(str(row["id"]) for row in good)


def test_a_request_that_goes_away_while_waiting_costs_the_others_nothing(
    database_url: str, forms: FormRegistry, sync_engine: Engine
) -> None:
    surveys = rows(forms, 12, seed=7)

    async def body(pool: StatementPool) -> list[Any]:
        groups = queries.InsertGroups(pool, in_flight=1, max_rows=32)
        tasks = [asyncio.ensure_future(groups.insert(row)) for row in surveys]
        await asyncio.sleep(0)  # all have arrived: the first runs, the others wait
        tasks[5].cancel()
        return list(await asyncio.gather(*tasks, return_exceptions=True))

    outcomes = run(database_url, 4, body)
    assert isinstance(outcomes[5], asyncio.CancelledError)
    assert all(isinstance(o, dict) for i, o in enumerate(outcomes) if i != 5)
    with sync_engine.connect() as connection:
        stored = set(
            map(str, connection.execute(text("SELECT id FROM household_surveys")).scalars())
        )
    assert stored == {str(row["id"]) for i, row in enumerate(surveys) if i != 5}
