"""The tally triggers match a statement's old and new rows by hash, not by comparing every
pair: approving a city's surveys in one UPDATE stays linear (migration 0015)."""

from __future__ import annotations

from sqlalchemy import Engine, text


def test_the_tally_triggers_never_plan_nested_loops(sync_engine: Engine) -> None:
    with sync_engine.connect() as connection:
        settings = dict(
            connection.execute(
                text(
                    "SELECT proname, proconfig FROM pg_proc WHERE proname IN "
                    "('household_tallies_updated', 'household_tallies_deleted')"
                )
            ).all()
        )
    assert settings == {
        "household_tallies_updated": ["enable_nestloop=off"],
        "household_tallies_deleted": ["enable_nestloop=off"],
    }
