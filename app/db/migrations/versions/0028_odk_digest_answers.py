"""odk_digest_answers: the Digest answers taken, shared by every server process

Revision ID: 0028_odk_digest_answers
Revises: 0027_sign_in_addresses
Create Date: 2026-12-07

A Digest answer (nonce, nc, cnonce) is taken once. Kept per process, a captured
Authorization header was taken again once by each other uvicorn worker while its nonce was
fresh (10 minutes). One row per answer taken: the SHA-256 of the triple (fixed size, any text
a client sends) and when its nonce expires, after which the row is useless and purged
(app.services.odk_auth).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0028_odk_digest_answers"
down_revision: str | None = "0027_sign_in_addresses"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE TABLE odk_digest_answers ("
        " answer bytea PRIMARY KEY,"
        " expires_at timestamptz NOT NULL)"
    )
    op.execute("CREATE INDEX ix_odk_digest_answers_expires_at ON odk_digest_answers (expires_at)")


def downgrade() -> None:
    op.execute("DROP TABLE odk_digest_answers")
