"""sign_in_addresses: where each account signed in lately, so outsiders cannot lock it out

Revision ID: 0027_sign_in_addresses
Revises: 0026_generation_per_transaction
Create Date: 2026-12-07

Five wrong passwords for an account, from anywhere, refused it everywhere for the throttling
window: whoever knew a ward leader's username kept them out with five requests a quarter of
an hour. An address (an IPv6 /64, as throttling counts them) the account signed in from with
its password within the last 60 days is "known" for it: there only that address's own
failures for the account count (app.services.auth.check_sign_in). One row per account and
address, its last success; a success forgets the account's rows past the 60 days.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0027_sign_in_addresses"
down_revision: str | None = "0026_generation_per_transaction"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE TABLE sign_in_addresses ("
        " username text NOT NULL,"
        " address text NOT NULL,"
        " last_at timestamptz NOT NULL DEFAULT now(),"
        " PRIMARY KEY (username, address))"
    )
    # The failures of one account from one address (the username index read them all).
    op.execute(
        "CREATE INDEX ix_sign_in_failures_username_address"
        " ON sign_in_failures (username, address, at)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_sign_in_failures_username_address")
    op.execute("DROP TABLE sign_in_addresses")
