"""household_tallies: the indicator counts per settlement kept by the database as surveys arrive

Revision ID: 0013_household_tallies
Revises: 0012_context_layers
Create Date: 2026-12-03

Every indicator read summed the answers of every survey (1.4 s at 1,000,000 households).
This table holds, per city, settlement, ward, form, review status and shard, how many
surveys there are, the last collection time and, per indicator, how many answered and how
many are deficient. Statement-level triggers with transition tables keep it in the
transaction that writes the surveys (insert, update of status, answers, place or time,
delete, TRUNCATE), so it is never stale, whatever writes (the API, a batch, COPY, psql):
a batch of 500 pays one UPSERT per group, not per row. Reads sum a few rows per settlement
and apply the status and household-form rules (`surveys=all|approved`) and the weights.

The shard (8 of them, from the last byte of the survey's random id) spreads phones posting
in one settlement at once over 8 rows, so they rarely wait on one row lock.
Missing places are stored as 0 (ids start at 1), so the key is a plain unique index.

The rules are frozen here (as a migration must be): changing a rule in
app/services/indicators.py needs a new migration that recreates `household_tallies_add`,
`household_tallies_remove` and rebuilds (tests compare the fast path with the full
recomputation and fail on drift). The last collection time cannot be subtracted: when the
rows removed from a group held its latest time, the group's time is read again from the
surveys (an index scan backwards by time).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013_household_tallies"
down_revision: str | None = "0012_context_layers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (key, question, values, negate): app/db/indicators.py TALLIED_RULES, frozen.
RULES: tuple[tuple[str, str, tuple[str, ...], bool], ...] = (
    ("insecure_tenure", "tenure", ("papers_only", "renting", "public_land", "relatives"), False),
    ("no_piped_water", "water_source", ("piped",), True),
    ("no_own_toilet", "sanitation", ("own_toilet",), True),
    ("floods_often", "flooding", ("yearly", "often"), False),
    ("temporary_house", "house_condition", ("temporary", "dilapidated"), False),
    ("no_own_electricity", "electricity", ("own_meter",), True),
    ("no_car_access", "lane_access", ("car",), True),
    ("no_waste_collection", "waste", ("collected",), True),
)
KEY = ("city_id", "settlement_id", "ward_id", "form_id", "status", "shard")
SHARDS = 8


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _counts() -> list[str]:
    columns = []
    for key, question, values, negate in RULES:
        answer = f"(r.answers->>{_literal(question)})"
        listed = ", ".join(_literal(v) for v in values)
        operator = "NOT IN" if negate else "IN"
        columns.append(f"count(*) FILTER (WHERE {answer} IS NOT NULL)::integer AS n_{key}")
        columns.append(
            f"count(*) FILTER (WHERE coalesce({answer} IS NOT NULL AND {answer} "
            f"{operator} ({listed}), false))::integer AS d_{key}"
        )
    return columns


COUNT_COLUMNS = [f"{p}_{rule[0]}" for rule in RULES for p in ("n", "d")]


def _grouped(source: str) -> str:
    """SELECT: the rows of `source` (alias r) summed per tally key, in key order."""
    return f"""
    SELECT coalesce(r.city_id, 0) AS city_id, coalesce(r.settlement_id, 0) AS settlement_id,
           coalesce(r.ward_id, 0) AS ward_id, r.form_id, r.status,
           (get_byte(uuid_send(r.id), 15) % {SHARDS})::smallint AS shard,
           count(*)::integer AS households, max(r.collected_at) AS last_collected_at,
           {", ".join(_counts())}
    FROM {source} r
    GROUP BY 1, 2, 3, 4, 5, 6
    ORDER BY 1, 2, 3, 4, 5, 6"""


def _add(source: str) -> str:
    columns = ", ".join([*KEY, "households", "last_collected_at", *COUNT_COLUMNS])
    sums = ", ".join(f"{c} = t.{c} + excluded.{c}" for c in ["households", *COUNT_COLUMNS])
    return f"""
    INSERT INTO household_tallies AS t ({columns})
    {_grouped(source)}
    ON CONFLICT ({", ".join(KEY)}) DO UPDATE SET {sums},
        last_collected_at = greatest(t.last_collected_at, excluded.last_collected_at);"""


def _remove(source: str) -> str:
    sums = ", ".join(f"{c} = t.{c} - d.{c}" for c in ["households", *COUNT_COLUMNS])
    key_match = " AND ".join(f"t.{k} = d.{k}" for k in KEY)
    return f"""
    WITH d AS ({_grouped(source)})
    UPDATE household_tallies t SET {sums},
        last_collected_at = CASE
            WHEN d.last_collected_at < t.last_collected_at THEN t.last_collected_at
            ELSE (SELECT max(h.collected_at) FROM household_surveys h
                  WHERE coalesce(h.city_id, 0) = t.city_id
                    AND coalesce(h.settlement_id, 0) = t.settlement_id
                    AND coalesce(h.ward_id, 0) = t.ward_id
                    AND h.form_id = t.form_id AND h.status = t.status
                    AND get_byte(uuid_send(h.id), 15) % {SHARDS} = t.shard) END
    FROM d WHERE {key_match};"""


def _lock(*sources: str) -> str:
    """Lock the tally rows of the rows of `sources` in key order: two statements moving
    surveys between the same groups in opposite directions wait instead of deadlocking."""
    keys = " UNION ".join(
        f"SELECT coalesce(r.city_id, 0), coalesce(r.settlement_id, 0), coalesce(r.ward_id, 0), "
        f"r.form_id, r.status, (get_byte(uuid_send(r.id), 15) % {SHARDS})::smallint "
        f"FROM {source} r"
        for source in sources
    )
    return f"""
    PERFORM 1 FROM household_tallies t
    WHERE ({", ".join(f"t.{k}" for k in KEY)}) IN ({keys})
    ORDER BY {", ".join(f"t.{k}" for k in KEY)}
    FOR UPDATE OF t;"""


# What a survey counts by: a change to anything else (flags, reviewer notes) changes nothing.
_COUNTED_BY = "city_id, settlement_id, ward_id, form_id, status, collected_at, answers"
_SAME = " AND ".join(f"o.{c} IS NOT DISTINCT FROM r.{c}" for c in _COUNTED_BY.split(", "))
# The rows of one transition table not in the other as they were (changed in what counts).
_CHANGED = (
    "(SELECT r.* FROM {this} r WHERE NOT EXISTS "
    f"(SELECT 1 FROM {{other}} o WHERE o.id = r.id AND {_SAME}))"
)
_OLD_CHANGED = _CHANGED.format(this="old_surveys", other="new_surveys")
_NEW_CHANGED = _CHANGED.format(this="new_surveys", other="old_surveys")


def _table() -> str:
    counts = ",\n    ".join(f"{c} integer NOT NULL" for c in COUNT_COLUMNS)
    return f"""
CREATE TABLE household_tallies (
    city_id integer NOT NULL,
    settlement_id integer NOT NULL,
    ward_id integer NOT NULL,
    form_id varchar(64) NOT NULL,
    status varchar(16) NOT NULL,
    shard smallint NOT NULL,
    households integer NOT NULL,
    last_collected_at timestamptz,
    {counts},
    PRIMARY KEY ({", ".join(KEY)})
);
"""


def _functions() -> str:
    return f"""
CREATE FUNCTION household_tallies_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_add("new_surveys")}
    RETURN NULL;
END $$;

CREATE FUNCTION household_tallies_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_lock("old_surveys")}
    {_remove("old_surveys")}
    RETURN NULL;
END $$;

CREATE FUNCTION household_tallies_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Only the rows whose counted fields changed: out of their old group, into their new.
    {_lock(_OLD_CHANGED, _NEW_CHANGED)}
    {_remove(_OLD_CHANGED)}
    {_add(_NEW_CHANGED)}
    RETURN NULL;
END $$;

CREATE FUNCTION household_tallies_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE household_tallies;
    RETURN NULL;
END $$;

-- Every tally again from the surveys, in one statement (the backfill; after a bulk load).
CREATE FUNCTION household_tallies_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE household_tallies;
    {_add("household_surveys")}
END $$;

CREATE TRIGGER household_tallies_inserted AFTER INSERT ON household_surveys
    REFERENCING NEW TABLE AS new_surveys
    FOR EACH STATEMENT EXECUTE FUNCTION household_tallies_inserted();
CREATE TRIGGER household_tallies_updated AFTER UPDATE ON household_surveys
    REFERENCING OLD TABLE AS old_surveys NEW TABLE AS new_surveys
    FOR EACH STATEMENT EXECUTE FUNCTION household_tallies_updated();
CREATE TRIGGER household_tallies_deleted AFTER DELETE ON household_surveys
    REFERENCING OLD TABLE AS old_surveys
    FOR EACH STATEMENT EXECUTE FUNCTION household_tallies_deleted();
CREATE TRIGGER household_tallies_truncated AFTER TRUNCATE ON household_surveys
    FOR EACH STATEMENT EXECUTE FUNCTION household_tallies_truncated();
"""


def upgrade() -> None:
    op.execute(_table())
    op.execute(_functions())  # the triggers lock out writers until the backfill commits
    op.execute("SELECT household_tallies_rebuild()")


def downgrade() -> None:
    op.execute(
        "DROP TRIGGER household_tallies_inserted ON household_surveys;"
        "DROP TRIGGER household_tallies_updated ON household_surveys;"
        "DROP TRIGGER household_tallies_deleted ON household_surveys;"
        "DROP TRIGGER household_tallies_truncated ON household_surveys;"
        "DROP FUNCTION household_tallies_rebuild(), household_tallies_truncated(),"
        " household_tallies_updated(), household_tallies_deleted(),"
        " household_tallies_inserted();"
        "DROP TABLE household_tallies;"
    )
