"""accounts, scoped roles, tokens, phone enrolment, review and audit

Revision ID: 0003_accounts
Revises: 0002_attachments
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_accounts"
down_revision: str | None = "0002_attachments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = ("volunteer", "ward_leader", "planner", "city_admin", "national_admin")
NOW = sa.text("now()")


def _created_at() -> sa.Column:
    return sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False)


def upgrade() -> None:
    # Similar names of heads of household (a likely duplicate survey): trigram similarity.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), sa.Identity(), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("is_demo", sa.Boolean(), server_default=sa.false(), nullable=False),
        _created_at(),
        sa.CheckConstraint("username = lower(username)", name="ck_users_username_lower"),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )
    op.create_table(
        "role_grants",
        sa.Column("id", sa.Integer(), sa.Identity(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE")),
        sa.Column("role", sa.String(24), nullable=False),
        # A ward grant also names the ward's city: scope checks read one column per level.
        sa.Column("city_id", sa.Integer(), sa.ForeignKey("cities.id", ondelete="CASCADE")),
        sa.Column("ward_id", sa.Integer(), sa.ForeignKey("wards.id", ondelete="CASCADE")),
        sa.Column("granted_by", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        _created_at(),
        sa.CheckConstraint(f"role IN {ROLES}", name="ck_role_grants_role"),
        sa.CheckConstraint(
            "(role = 'national_admin' AND city_id IS NULL AND ward_id IS NULL)"
            " OR (role = 'ward_leader' AND city_id IS NOT NULL AND ward_id IS NOT NULL)"
            " OR (role IN ('planner', 'city_admin') AND city_id IS NOT NULL AND ward_id IS NULL)"
            " OR (role = 'volunteer' AND city_id IS NOT NULL)",
            name="ck_role_grants_scope",
        ),
    )
    op.create_index(
        "uq_role_grants",
        "role_grants",
        ["user_id", "role", sa.text("coalesce(city_id, 0)"), sa.text("coalesce(ward_id, 0)")],
        unique=True,
    )
    op.create_table(
        "auth_tokens",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        # HMAC-SHA256 of the token under the server's secret key: the token itself is never
        # stored, and a copy of the database does not let anyone in.
        sa.Column("token_hash", sa.LargeBinary(), nullable=False, unique=True),
        sa.Column("name", sa.Text(), nullable=True),
        _created_at(),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('api', 'session', 'device')", name="ck_auth_tokens_kind"),
    )
    op.create_table(
        "enrolments",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("code_hash", sa.LargeBinary(), nullable=False, unique=True),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("device_name", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        _created_at(),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "token_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("auth_tokens.id", ondelete="SET NULL"),
        ),
    )
    op.create_table(
        "sign_in_failures",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    )
    op.create_index("ix_sign_in_failures_username", "sign_in_failures", ["username", "at"])
    op.create_index("ix_sign_in_failures_address", "sign_in_failures", ["address", "at"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("actor_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("actor", sa.Text(), nullable=True),  # the username then, kept if deleted
        sa.Column("action", sa.String(48), nullable=False),
        sa.Column("entity", sa.String(32), nullable=False),
        sa.Column("entity_id", sa.Text(), nullable=False),
        sa.Column("old", postgresql.JSONB(), nullable=True),
        sa.Column("new", postgresql.JSONB(), nullable=True),
    )
    op.create_index("ix_audit_log_entity", "audit_log", ["entity", "entity_id", "at"])
    op.create_table(
        "survey_versions",
        sa.Column(
            "survey_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("household_surveys.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("content", postgresql.JSONB(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("replaced_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("replaced_by", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
    )
    op.add_column(
        "household_surveys",
        sa.Column(
            "collector_user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")
        ),
    )
    op.add_column("household_surveys", sa.Column("review_comment", sa.Text()))
    op.add_column(
        "household_surveys",
        sa.Column("reviewed_by", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
    )
    op.add_column(
        "household_surveys", sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "household_surveys",
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
    )
    # When the survey last changed (sent, corrected, reviewed): phones ask for their own
    # surveys changed since they last looked.
    op.add_column(
        "household_surveys",
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    )
    op.create_check_constraint(
        "ck_household_surveys_status",
        "household_surveys",
        "status IN ('received', 'approved', 'needs_correction', 'rejected')",
    )
    op.create_index(
        "ix_household_surveys_collector", "household_surveys", ["collector_user_id", "updated_at"]
    )
    op.add_column(
        "cities",
        sa.Column("public_aggregates", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("cities", "public_aggregates")
    op.drop_index("ix_household_surveys_collector", table_name="household_surveys")
    op.drop_constraint("ck_household_surveys_status", "household_surveys")
    for column in (
        "updated_at",
        "version",
        "reviewed_at",
        "reviewed_by",
        "review_comment",
        "collector_user_id",
    ):
        op.drop_column("household_surveys", column)
    op.drop_table("survey_versions")
    op.drop_index("ix_audit_log_entity", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index("ix_sign_in_failures_address", table_name="sign_in_failures")
    op.drop_index("ix_sign_in_failures_username", table_name="sign_in_failures")
    op.drop_table("sign_in_failures")
    op.drop_table("enrolments")
    op.drop_table("auth_tokens")
    op.drop_index("uq_role_grants", table_name="role_grants")
    op.drop_table("role_grants")
    op.drop_table("users")
