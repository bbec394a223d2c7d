"""household_tallies: an update takes its tally rows in one key order, new ones included

Revision ID: 0014_tallies_lock_order
Revises: 0013_household_tallies
Create Date: 2026-12-03

0013's update trigger locked the tally rows that existed (in key order), then inserted the
groups that did not: a writer creating group G (not yet committed) while holding a later
row H could meet another that held H's lock and waited on G: a deadlock (six concurrent
writers found it). Now the update trigger first claims every group it will touch in one
INSERT ... ON CONFLICT DO UPDATE in key order (a missing group is created at 0, an existing
one locked), as the insert trigger's UPSERT does: every writer takes rows in the same order.
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "0014_tallies_lock_order"
down_revision: str | None = "0013_household_tallies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _tallies() -> ModuleType:
    """Migration 0013 (its SQL builders and frozen rules)."""
    path = Path(__file__).with_name("0013_household_tallies.py")
    spec = importlib.util.spec_from_file_location("household_tallies_0013", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _claim(tallies: ModuleType, *sources: str) -> str:
    """Create (at 0) or lock the tally rows of the rows of `sources`, in key order."""
    keys = " UNION ".join(
        "SELECT coalesce(r.city_id, 0), coalesce(r.settlement_id, 0), "
        "coalesce(r.ward_id, 0), r.form_id, r.status, "
        f"(get_byte(uuid_send(r.id), 15) % {tallies.SHARDS})::smallint FROM {source} r"
        for source in sources
    )
    key = ", ".join(tallies.KEY)
    columns = ", ".join([*tallies.KEY, "households", *tallies.COUNT_COLUMNS])
    zeros = ", ".join("0" for _ in range(1 + len(tallies.COUNT_COLUMNS)))
    return f"""
    INSERT INTO household_tallies AS t ({columns})
    SELECT k.*, {zeros} FROM ({keys}) k ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT ({key}) DO UPDATE SET households = t.households;"""


def _updated(body: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION household_tallies_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Only the rows whose counted fields changed: out of their old group, into their new.
    {body}
    RETURN NULL;
END $$;
"""


def upgrade() -> None:
    tallies = _tallies()
    old, new = tallies._OLD_CHANGED, tallies._NEW_CHANGED
    op.execute(_updated(_claim(tallies, old, new) + tallies._remove(old) + tallies._add(new)))


def downgrade() -> None:
    tallies = _tallies()
    old, new = tallies._OLD_CHANGED, tallies._NEW_CHANGED
    op.execute(_updated(tallies._lock(old, new) + tallies._remove(old) + tallies._add(new)))
