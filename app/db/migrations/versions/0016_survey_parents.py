"""household_surveys: its places and collector checked once per statement, not once per row

Revision ID: 0016_survey_parents
Revises: 0015_tallies_hash_joins
Create Date: 2026-12-04

A survey names its city, ward, settlement and collector. Four foreign keys checked each of
them row by row: for every survey stored, four queries through SPI, each started, run and
ended on its own, each locking its parent row again. A phone's batch of 500 surveys paid
2,000 of them for the dozen places and the one volunteer it names: ~6 ms of PostgreSQL's
~55 ms per 500 (measured in interleaved runs of the batch statement, 22,000 surveys
stored), the largest share of what a batch costs beyond placing and storing the rows.

The same rules now hold per statement, with the same locks:
- after an INSERT or UPDATE of surveys, the places and people the statement's rows name
  (an UPDATE: those a row names and did not name before, as a foreign key skips a row whose
  key is unchanged) are locked FOR KEY SHARE in id order and must all be there, else the
  statement fails with foreign_key_violation (SQLSTATE 23503), as before; a statement whose
  rows name none (COPY of unplaced rows) costs one small query;
- deleting a city deletes its surveys (ON DELETE CASCADE before); deleting a ward, a
  settlement or a person leaves their surveys with no ward, settlement or collector (ON
  DELETE SET NULL before); changing a referenced id is refused.
A delete waits for the KEY SHARE locks of statements storing surveys that name the row, and
then sees what they stored (a new snapshot per statement in READ COMMITTED). Under REPEATABLE
READ or SERIALIZABLE it would not (a foreign key raises a serialization failure there), so a
delete of a city, ward, settlement or person is refused outside READ COMMITTED (SQLSTATE
55000, not a serialization failure: retrying would not help).

Changed: TRUNCATE of cities, wards, settlements or users is refused while surveys name their
rows, also with CASCADE or with household_surveys in the same TRUNCATE (a foreign key let
those empty the surveys too): empty household_surveys first.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016_survey_parents"
down_revision: str | None = "0015_tallies_hash_joins"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (column of household_surveys, referenced table, what a deletion of the parent does)
PARENTS = (
    ("city_id", "cities", "CASCADE"),
    ("ward_id", "wards", "SET NULL"),
    ("settlement_id", "settlements", "SET NULL"),
    ("collector_user_id", "users", "SET NULL"),
)


def _named_rows(updated: bool) -> str:
    """Per distinct combination, the parents the statement's rows name: an UPDATE's row only
    where its key changed (or the row is new to the statement's old rows)."""
    columns = [column for column, _, _ in PARENTS]
    if not updated:
        return f"SELECT DISTINCT {', '.join(columns)} FROM new_surveys"
    changed = ", ".join(
        f"CASE WHEN n.{c} IS DISTINCT FROM o.{c} THEN n.{c} END AS {c}" for c in columns
    )
    return f"SELECT DISTINCT {changed} FROM new_surveys n LEFT JOIN old_surveys o ON o.id = n.id"


def _checked(updated: bool) -> str:
    """One statement (a single row's insert pays one query, not eight): the parents named,
    locked in a fixed order (table by table, by id), and the first column naming a parent
    that is not there."""
    # The statement's rows read once (most statements store one survey, or a phone's batch).
    ctes = [f"named AS MATERIALIZED ({_named_rows(updated)})"]
    missing = []
    for column, table, _ in PARENTS:
        ctes.append(
            f"named_{column} AS MATERIALIZED "
            f"(SELECT DISTINCT r.{column} AS id FROM named r WHERE r.{column} IS NOT NULL)"
        )
        ctes.append(
            f"locked_{column} AS MATERIALIZED (SELECT p.id FROM {table} p "
            f"WHERE p.id IN (SELECT * FROM named_{column}) ORDER BY p.id FOR KEY SHARE OF p)"
        )
        missing.append(
            f"WHEN (SELECT count(*) FROM named_{column}) > (SELECT count(*) FROM locked_{column})"
            f" THEN '{column}'"
        )
    name = "updated" if updated else "inserted"
    with_ctes = ",\n         ".join(ctes)
    cases = "\n        ".join(missing)
    return f"""
CREATE FUNCTION household_surveys_parents_{name}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing text;
BEGIN
    -- Rows naming no place and no person (unplaced surveys copied in) need nothing more.
    PERFORM 1 FROM new_surveys n
    WHERE n.city_id IS NOT NULL OR n.ward_id IS NOT NULL OR n.settlement_id IS NOT NULL
       OR n.collector_user_id IS NOT NULL
    LIMIT 1;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    WITH {with_ctes}
    SELECT CASE
        {cases}
    END INTO missing;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
            TABLE = 'household_surveys', COLUMN = missing,
            CONSTRAINT = 'household_surveys_' || missing || '_fkey',
            MESSAGE = format('insert or update on table "household_surveys" names in %s a row '
                             'that is not there', missing);
    END IF;
    RETURN NULL;
END $$;
"""


def _deleted(column: str, table: str, action: str) -> str:
    change = (
        "DELETE FROM household_surveys h USING old_rows o WHERE h.{c} = o.id"
        if action == "CASCADE"
        else "UPDATE household_surveys h SET {c} = NULL FROM old_rows o WHERE h.{c} = o.id"
    ).format(c=column)
    return f"""
CREATE FUNCTION {table}_surveys_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = 'delete from "{table}" only in a READ COMMITTED transaction: its surveys '
                      'stored meanwhile by others would be missed';
    END IF;
    {change};
    RETURN NULL;
END $$;
CREATE TRIGGER {table}_surveys_deleted AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {table}_surveys_deleted();
CREATE TRIGGER {table}_surveys_id_kept BEFORE UPDATE OF id ON {table}
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id)
    EXECUTE FUNCTION surveys_parent_kept('{column}');
CREATE TRIGGER {table}_surveys_kept BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION surveys_parent_kept('{column}');
"""


# A referenced id never changes and a referenced table is never emptied under its surveys.
KEPT = """
CREATE FUNCTION surveys_parent_kept() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    used boolean;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM household_surveys WHERE %I = $1)',
                       TG_ARGV[0]) INTO used USING OLD.id;
    ELSE
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM household_surveys WHERE %I IS NOT NULL)',
                       TG_ARGV[0]) INTO used;
    END IF;
    IF used THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
            MESSAGE = format('surveys name the rows of "%s": their ids stay, the table is not '
                             'truncated under them', TG_TABLE_NAME);
    END IF;
    RETURN CASE WHEN TG_OP = 'UPDATE' THEN NEW END;
END $$;
"""


def upgrade() -> None:
    op.execute(
        "ALTER TABLE household_surveys "
        + ", ".join(f"DROP CONSTRAINT household_surveys_{column}_fkey" for column, _, _ in PARENTS)
    )
    op.execute(_checked(updated=False))
    op.execute(_checked(updated=True))
    # Transition tables carry no statistics: hash the old ids (0015) rather than loop.
    op.execute("ALTER FUNCTION household_surveys_parents_updated() SET enable_nestloop = off")
    op.execute(
        """
CREATE TRIGGER household_surveys_parents_inserted AFTER INSERT ON household_surveys
    REFERENCING NEW TABLE AS new_surveys
    FOR EACH STATEMENT EXECUTE FUNCTION household_surveys_parents_inserted();
CREATE TRIGGER household_surveys_parents_updated AFTER UPDATE ON household_surveys
    REFERENCING OLD TABLE AS old_surveys NEW TABLE AS new_surveys
    FOR EACH STATEMENT EXECUTE FUNCTION household_surveys_parents_updated();
"""
    )
    op.execute(KEPT)
    for column, table, action in PARENTS:
        op.execute(_deleted(column, table, action))


def downgrade() -> None:
    for _, table, _ in PARENTS:
        op.execute(
            f"DROP TRIGGER {table}_surveys_kept ON {table};"
            f"DROP TRIGGER {table}_surveys_id_kept ON {table};"
            f"DROP TRIGGER {table}_surveys_deleted ON {table};"
            f"DROP FUNCTION {table}_surveys_deleted();"
        )
    op.execute(
        "DROP FUNCTION surveys_parent_kept();"
        "DROP TRIGGER household_surveys_parents_updated ON household_surveys;"
        "DROP TRIGGER household_surveys_parents_inserted ON household_surveys;"
        "DROP FUNCTION household_surveys_parents_updated(), household_surveys_parents_inserted();"
    )
    for column, table, action in PARENTS:
        # A survey naming a row that is gone (written with the triggers disabled) stops the
        # downgrade with the survey and the column named, not a bare constraint error.
        op.execute(f"""
DO $$
DECLARE
    orphan uuid;
BEGIN
    SELECT h.id INTO orphan FROM household_surveys h
    WHERE h.{column} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {table} p WHERE p.id = h.{column})
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'survey % names in {column} a row of "{table}" that is not there: '
                        'set it to NULL (or restore the row) before downgrading', orphan;
    END IF;
END $$;""")
        op.execute(
            f"ALTER TABLE household_surveys ADD CONSTRAINT household_surveys_{column}_fkey "
            f"FOREIGN KEY ({column}) REFERENCES {table}(id) ON DELETE {action}"
        )
