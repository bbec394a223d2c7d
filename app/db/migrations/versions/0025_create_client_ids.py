"""cdf_groups.client_id, cdf_projects.client_id: a registration sent again is not a second

Revision ID: 0025_create_client_ids
Revises: 0024_manual_points
Create Date: 2026-12-07

A savings group and an upgrading project are registered through the API (integrators'
scripts, a spreadsheet upload): a resend after a lost answer made a second group or project
(a project without a code; a group has no code at all). The client may now send a
`client_id` it made (a UUID), as every posting of the books does: the same id again is the
record stored, with the same request (`request_hash`), else a 409. NULL for records made
without one; each id once per table.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0025_create_client_ids"
down_revision: str | None = "0024_manual_points"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("cdf_groups", "cdf_projects"):
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN client_id uuid UNIQUE, "
            "ADD COLUMN request_hash varchar(64)"
        )


def downgrade() -> None:
    for table in ("cdf_groups", "cdf_projects"):
        op.execute(f"ALTER TABLE {table} DROP COLUMN client_id, DROP COLUMN request_hash")
