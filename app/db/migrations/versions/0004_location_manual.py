"""location_manual: a survey's point placed by hand on the phone's map (GPS poor or off)

Revision ID: 0004_location_manual
Revises: 0003_accounts
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_location_manual"
down_revision: str | None = "0003_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A constant default: PostgreSQL adds the column without rewriting the table.
    op.add_column(
        "household_surveys",
        sa.Column("location_manual", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("household_surveys", "location_manual")
