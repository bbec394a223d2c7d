"""household_tallies: a group's last collection time read again from its settlements' surveys

Revision ID: 0017_tallies_latest
Revises: 0016_survey_parents
Create Date: 2026-12-04

When an update or a delete takes a group's latest survey out of it (a reviewer approving the
newest survey of a settlement; a bulk approval), the group's last collection time is read
again from the surveys. 0013 did so with one subquery per group whose keys (coalesce(...)
of each place) no index could answer: a scan of every survey of every city for each such
group. Approving the latest survey of one settlement read all the surveys (15,000 in 14 ms;
a city of 1,000,000 in ~0.4 s, for one tap), and approving a city's 10,000 waiting surveys
in one UPDATE read them once per group: 1.3 s, against 0.24 s for the same UPDATE without the
trigger, and 16-52 s for 100,000 surveys.

Now the groups that need it are found first, and their times come from one aggregate over
the surveys of their settlements only, read settlement by settlement through the settlement
index (the surveys of a city that are in no settlement only when such a group needs them),
joined to the groups by hash. The counts, the locks and the lock order are unchanged
(0014); nested loops stay off in the two functions (0015), and so does JIT: the settlement
by settlement read is a nested loop, which with nested loops off costs 10^10 in the plan, and
JIT then spent ~0.8 s compiling the statement of one approval. At 100,000 surveys: approving
the newest survey of a settlement 40 -> 5.5-9.2 ms, deleting it 41 -> 7.7-8.7 ms, approving all
in one UPDATE 16.3 -> 3.8-4.4 s (2.7-2.9 s with no tally trigger at all).
"""

import importlib.util
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "0017_tallies_latest"
down_revision: str | None = "0016_survey_parents"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _migration(name: str) -> ModuleType:
    """An earlier migration of this directory (its SQL builders and frozen rules)."""
    path = Path(__file__).with_name(f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"household_tallies_{name[:4]}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _remove(tallies: ModuleType, source: str) -> str:
    """Subtract the rows of `source` from their groups; a group that lost its latest survey
    takes the latest of those left, read from the surveys of its settlement only."""
    key = tallies.KEY
    sums = ", ".join(f"{c} = t.{c} - d.{c}" for c in ["households", *tallies.COUNT_COLUMNS])
    key_match = " AND ".join(f"t.{k} = d.{k}" for k in key)
    latest_match = " AND ".join(f"l.{k} = d.{k}" for k in key)
    keys = ", ".join(f"t.{k}" for k in key)
    columns = "id, city_id, settlement_id, ward_id, form_id, status, collected_at"
    return f"""
    WITH d AS MATERIALIZED ({tallies._grouped(source)}),
    stale AS MATERIALIZED (
        SELECT {keys} FROM household_tallies t JOIN d ON {key_match}
        WHERE (d.last_collected_at < t.last_collected_at) IS NOT TRUE),
    latest AS MATERIALIZED (
        SELECT coalesce(h.city_id, 0) AS city_id, coalesce(h.settlement_id, 0) AS settlement_id,
               coalesce(h.ward_id, 0) AS ward_id, h.form_id, h.status,
               (get_byte(uuid_send(h.id), 15) % {tallies.SHARDS})::smallint AS shard,
               max(h.collected_at) AS last_collected_at
        FROM (SELECT DISTINCT s.settlement_id,
                     CASE WHEN s.settlement_id = 0 THEN s.city_id END AS city_id
              FROM stale s) s
        -- One settlement at a time, by the settlement index (a nested loop, whatever the
        -- planner guesses of a list of settlements); the surveys of a city in no settlement
        -- (and those in no city) only for the groups of those.
        CROSS JOIN LATERAL (
            SELECT {columns} FROM household_surveys
            WHERE settlement_id = s.settlement_id
            UNION ALL
            SELECT {columns} FROM household_surveys
            WHERE s.settlement_id = 0 AND s.city_id <> 0
              AND city_id = s.city_id AND settlement_id IS NULL
            UNION ALL
            SELECT {columns} FROM household_surveys
            WHERE s.settlement_id = 0 AND s.city_id = 0
              AND city_id IS NULL AND settlement_id IS NULL) h
        GROUP BY 1, 2, 3, 4, 5, 6)
    UPDATE household_tallies t SET {sums},
        last_collected_at = CASE
            WHEN d.last_collected_at < t.last_collected_at THEN t.last_collected_at
            ELSE l.last_collected_at END
    FROM d LEFT JOIN latest l ON {latest_match}
    WHERE {key_match};"""


def _functions(remove: Callable[[ModuleType, str], str], settings: str) -> str:
    tallies = _migration("0013_household_tallies")
    claim = _migration("0014_tallies_lock_order")._claim
    old, new = tallies._OLD_CHANGED, tallies._NEW_CHANGED
    return f"""
CREATE OR REPLACE FUNCTION household_tallies_deleted() RETURNS trigger
LANGUAGE plpgsql {settings} AS $$
BEGIN
    {tallies._lock("old_surveys")}
    {remove(tallies, "old_surveys")}
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION household_tallies_updated() RETURNS trigger
LANGUAGE plpgsql {settings} AS $$
BEGIN
    -- Only the rows whose counted fields changed: out of their old group, into their new.
    {claim(tallies, old, new)}
    {remove(tallies, old)}
    {tallies._add(new)}
    RETURN NULL;
END $$;
"""


def upgrade() -> None:
    op.execute(_functions(_remove, "SET enable_nestloop = off SET jit = off"))


def downgrade() -> None:
    op.execute(
        _functions(lambda tallies, source: tallies._remove(source), "SET enable_nestloop = off")
    )
