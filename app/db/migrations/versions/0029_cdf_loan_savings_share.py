"""cdf_loan_savings_share: each loan keeps the savings share it was made with

Revision ID: 0029_cdf_loan_savings_share
Revises: 0028_odk_digest_answers
Create Date: 2026-12-07

A loan copied its product's rate, term, frequency and method when applied for, but not the
savings precondition (min_savings_bp: the group's savings must be at least that share of the
loan): the payout and every withdrawal dated back before a payout read it from the product
at that moment, so a product edited later changed what its old loans had needed. Each loan
now keeps its own copy, backfilled here from its product (nothing has edited a product yet:
no API does). The service gives it at the application; a loan inserted without it (the
sample's and the benchmark's COPY, a plain INSERT in psql) gets its product's share of that
moment from a trigger, so no loan is left without one.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0029_cdf_loan_savings_share"
down_revision: str | None = "0028_odk_digest_answers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE cdf_loans ADD COLUMN min_savings_bp integer")
    op.execute(
        "UPDATE cdf_loans l SET min_savings_bp = p.min_savings_bp "
        "FROM cdf_loan_products p WHERE p.id = l.product_id"
    )
    op.execute(
        """
CREATE FUNCTION cdf_loan_savings_share() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.min_savings_bp IS NULL THEN
        SELECT p.min_savings_bp INTO NEW.min_savings_bp
        FROM cdf_loan_products p WHERE p.id = NEW.product_id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER cdf_loans_savings_share BEFORE INSERT ON cdf_loans
    FOR EACH ROW EXECUTE FUNCTION cdf_loan_savings_share();
"""
    )
    op.execute(
        "ALTER TABLE cdf_loans ALTER COLUMN min_savings_bp SET NOT NULL, "
        "ADD CONSTRAINT ck_cdf_loans_min_savings_bp "
        "CHECK (min_savings_bp BETWEEN 0 AND 100000)"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER cdf_loans_savings_share ON cdf_loans")
    op.execute("DROP FUNCTION cdf_loan_savings_share()")
    op.execute("ALTER TABLE cdf_loans DROP COLUMN min_savings_bp")
