"""boundary_generation: a counter that moves whenever a ward, a settlement or a city changes

Revision ID: 0019_boundary_generation
Revises: 0018_duplicate_checks
Create Date: 2026-12-06

The server places a batch's points in its own index of the boundaries (app.geo.placement)
instead of in the insert statement. The index is built at one generation; every statement
that stores points placed by it names that generation, and stores nothing when the boundaries
have moved on since (it answers the new generation instead: the server builds its index again
and places those surveys anew). The counter is one row, changed by statement triggers in the
transaction that changes the boundaries: a reader sees the new value exactly when it sees the
new boundaries.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019_boundary_generation"
down_revision: str | None = "0018_duplicate_checks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("cities", "wards", "settlements")


def upgrade() -> None:
    op.execute(
        """
CREATE TABLE boundary_generation (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    generation bigint NOT NULL
);
INSERT INTO boundary_generation (generation) VALUES (1);
CREATE FUNCTION boundary_generation_next() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE boundary_generation SET generation = generation + 1;
    RETURN NULL;
END $$;
"""
    )
    for table in _TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_boundary_generation "
            f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION boundary_generation_next()"
        )


def downgrade() -> None:
    for table in _TABLES:
        op.execute(f"DROP TRIGGER {table}_boundary_generation ON {table}")
    op.execute("DROP FUNCTION boundary_generation_next(); DROP TABLE boundary_generation")
