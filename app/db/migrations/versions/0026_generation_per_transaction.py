"""boundary_generation: moved once per transaction that changes the boundaries, not per statement

Revision ID: 0026_generation_per_transaction
Revises: 0025_create_client_ids
Create Date: 2026-12-07

The statement triggers of 0019 moved the generation on at every statement on cities, wards or
settlements: a writer changing boundaries a row at a time (an admin's psql session, a script)
moved it hundreds of times in one transaction, and each move, once committed, is the same news
to every server (build the placement index again, place the batch again); only the committed
value is ever seen by another transaction. The row now notes the transaction that last moved
it (`moved_by`, pg_current_xact_id(): 64 bits, never reused in a cluster; with `moved_at`, its
now(), which tells it apart from a transaction of another cluster the row was restored from),
and the trigger moves it on only when that is not the current transaction.

Nothing else changes. The first boundary statement of a transaction writes the row and so
locks it (FOR NO KEY UPDATE) until the transaction ends, as before; the later ones find their
own transaction's note in the version they see and neither write nor lock again (they hold the
lock already: no one else can have written the row since). Another transaction's note is
never taken for this one's: an UPDATE that waited for a concurrent writer checks its WHERE
again on the row that writer left. Inserts read the row FOR SHARE as before and wait for the
transaction, then see the generation one past the old one. A rollback, of the transaction or
of the savepoint whose statement moved the generation, takes back both the move and the note:
the next boundary statement moves it again.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0026_generation_per_transaction"
down_revision: str | None = "0025_create_client_ids"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The triggers call the function by its oid: replacing its body keeps them.
    op.execute(
        """
ALTER TABLE boundary_generation ADD COLUMN moved_by xid8, ADD COLUMN moved_at timestamptz;
CREATE OR REPLACE FUNCTION boundary_generation_next() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE boundary_generation
    SET generation = generation + 1, moved_by = pg_current_xact_id(), moved_at = now()
    WHERE (moved_by, moved_at) IS DISTINCT FROM (pg_current_xact_id(), now());
    RETURN NULL;
END $$;
"""
    )


def downgrade() -> None:
    op.execute(
        """
CREATE OR REPLACE FUNCTION boundary_generation_next() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE boundary_generation SET generation = generation + 1;
    RETURN NULL;
END $$;
ALTER TABLE boundary_generation DROP COLUMN moved_by, DROP COLUMN moved_at;
"""
    )
