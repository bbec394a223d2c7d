"""The tally triggers stay linear on big statements and cheap on small ones: old and new rows
matched by hash, not by comparing every pair (migration 0015); a group that loses its latest
survey reads its new latest time from its settlement's surveys only (migration 0017)."""

from __future__ import annotations

import random
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, text

from tests.integration.test_indicator_tallies import INSERT, _survey, places

__all__ = ["places"]  # the fixture, shared with test_indicator_tallies


def test_the_tally_triggers_never_plan_nested_loops_nor_compile(sync_engine: Engine) -> None:
    with sync_engine.connect() as connection:
        settings = dict(
            connection.execute(
                text(
                    "SELECT proname, proconfig FROM pg_proc WHERE proname IN "
                    "('household_tallies_updated', 'household_tallies_deleted')"
                )
            ).all()
        )
    # Nor compile: a plan with a nested loop it cannot avoid costs 10^10 with nested loops
    # off, and JIT took ~0.8 s to compile the statement of one approval (migration 0017).
    assert settings == {
        "household_tallies_updated": ["enable_nestloop=off", "jit=off"],
        "household_tallies_deleted": ["enable_nestloop=off", "jit=off"],
    }


def _surveys_read(connection: Connection) -> dict[str, int]:
    """What this transaction has read of household_surveys so far: its sequential scans and
    their rows, and the rows fetched through its indexes (plain and bitmap index scans)."""
    row = connection.execute(
        text(
            "SELECT pg_stat_get_xact_numscans(c.oid) AS seq_scans,"
            " pg_stat_get_xact_tuples_returned(c.oid) AS seq_rows,"
            " pg_stat_get_xact_tuples_fetched(c.oid)"
            " + (SELECT coalesce(sum(pg_stat_get_xact_tuples_fetched(i.indexrelid)), 0)"
            "    FROM pg_index i WHERE i.indrelid = c.oid) AS fetched"
            " FROM pg_class c WHERE c.oid = 'household_surveys'::regclass"
        )
    ).one()
    return {key: int(value) for key, value in row._mapping.items()}


def _group_times(connection: Connection, settlement: int) -> tuple[list[Any], list[Any]]:
    """A settlement's tally groups with their last times, as kept and as recounted."""
    kept = connection.execute(
        text(
            "SELECT city_id, ward_id, form_id, status, shard, last_collected_at"
            " FROM household_tallies WHERE settlement_id = :s AND households > 0"
            " ORDER BY 1, 2, 3, 4, 5"
        ),
        {"s": settlement},
    ).all()
    recounted = connection.execute(
        text(
            "SELECT coalesce(city_id, 0), coalesce(ward_id, 0), form_id, status,"
            " (get_byte(uuid_send(id), 15) % 8)::smallint, max(collected_at)"
            " FROM household_surveys WHERE settlement_id = :s"
            " GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5"
        ),
        {"s": settlement},
    ).all()
    return [tuple(r) for r in kept], [tuple(r) for r in recounted]


def test_the_latest_survey_leaving_a_group_reads_only_its_settlement(
    sync_engine: Engine, places: dict[str, Any]
) -> None:
    """A reviewer approves the newest survey of a small settlement in a city with many more:
    the group's last time is read again from that settlement's surveys, not from the city's
    (0013 scanned every survey of every city for it)."""
    rng = random.Random(17)
    small, big = places["settlements"][0], places["settlements"][1]
    surveys = []
    for index in range(5000):
        survey = _survey(rng, places)
        survey |= {"city": places["cities"][0], "form": "household", "status": "received"}
        survey["settlement"] = small if index < 12 else big
        surveys.append(survey)
    with sync_engine.begin() as connection:
        connection.execute(INSERT, {"items": orjson.dumps(surveys).decode()})
    with sync_engine.connect() as connection:  # as autovacuum would: the planner knows sizes
        connection.execute(text("ANALYZE household_surveys"))
        connection.commit()
    mine = sorted((s for s in surveys if s["settlement"] == small), key=lambda s: s["at"])
    for step, leaving in enumerate((mine[-1], mine[-2])):  # an approval, then a delete
        with sync_engine.connect() as connection, connection.begin():
            before = _surveys_read(connection)
            statement = (
                "UPDATE household_surveys SET status = 'approved' WHERE id = CAST(:id AS uuid)"
                if step == 0
                else "DELETE FROM household_surveys WHERE id = CAST(:id AS uuid)"
            )
            connection.execute(text(statement), {"id": leaving["id"]})
            after = _surveys_read(connection)
            kept, recounted = _group_times(connection, small)
        assert after["seq_scans"] == before["seq_scans"], step  # no scan of the whole table
        assert after["seq_rows"] == before["seq_rows"], step
        # The settlement's 12 surveys (and the one the statement changed), not the 4,988 others.
        read = after["fetched"] - before["fetched"]
        assert 0 < read <= 2 * len(mine), (step, before, after)
        assert kept == recounted, step  # every group's last time, the changed one's too


def _unsettled_times(connection: Connection) -> tuple[list[Any], list[Any]]:
    """The tally groups of surveys in no settlement (every city, and none), kept and
    recounted."""
    kept = connection.execute(
        text(
            "SELECT city_id, ward_id, form_id, status, shard, last_collected_at"
            " FROM household_tallies WHERE settlement_id = 0 AND households > 0"
            " ORDER BY 1, 2, 3, 4, 5"
        )
    ).all()
    recounted = connection.execute(
        text(
            "SELECT coalesce(city_id, 0), coalesce(ward_id, 0), form_id, status,"
            " (get_byte(uuid_send(id), 15) % 8)::smallint, max(collected_at)"
            " FROM household_surveys WHERE settlement_id IS NULL"
            " GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5"
        )
    ).all()
    return [tuple(r) for r in kept], [tuple(r) for r in recounted]


def test_surveys_in_no_settlement_keep_their_latest_times_per_city(
    sync_engine: Engine, places: dict[str, Any]
) -> None:
    """Surveys outside every settlement, in two cities and in none: each group's newest
    leaving it (reviews and deletes) leaves the time of the next newest of that city."""
    rng = random.Random(29)
    first, second = places["cities"]
    surveys = []
    for index in range(90):
        survey = _survey(rng, places) | {"form": "household", "status": "received"}
        survey |= {"city": (first, second, None)[index % 3], "ward": None, "settlement": None}
        surveys.append(survey)
    with sync_engine.begin() as connection:
        connection.execute(INSERT, {"items": orjson.dumps(surveys).decode()})
    for city in (first, second, None):
        mine = sorted((s for s in surveys if s["city"] == city), key=lambda s: s["at"])
        for step, leaving in enumerate(mine[-3:]):
            statement = (
                "DELETE FROM household_surveys WHERE id = CAST(:id AS uuid)"
                if step == 1
                else "UPDATE household_surveys SET status = 'approved' WHERE id = CAST(:id AS uuid)"
            )
            with sync_engine.begin() as connection:
                connection.execute(text(statement), {"id": leaving["id"]})
                kept, recounted = _unsettled_times(connection)
            assert kept == recounted, (city, step)
