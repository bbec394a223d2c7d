"""cdf_remittance: a group hands the repayments it collected over to the fund; backups restore

Revision ID: 0010_cdf_remittance
Revises: 0009_cdf_project_photos
Create Date: 2026-12-03

Repayments are collected in the group's cash box at its meeting; a remittance entry
(Dr fund cash, Cr group cash) records the money going back to the fund, which lends it
again (the revolving fund).

An entry's transaction id is now set by the database rather than checked: a restore
(pg_restore --single-transaction) copies entries with the ids of the transactions that first
posted them, which the check refused; lines still join only an entry of their own
transaction, so a restore writes entries and lines in one.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010_cdf_remittance"
down_revision: str | None = "0009_cdf_project_photos"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = (
    "capital",
    "savings",
    "withdrawal",
    "mutual_aid",
    "fine",
    "disbursement",
    "repayment",
    "cash_difference",
    "reversal",
)


ENTRY_CHECKS = """
CREATE OR REPLACE FUNCTION cdf_entry_checks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM cdf_periods p WHERE p.fund_id = NEW.fund_id
               AND NEW.entry_date BETWEEN p.starts_on AND p.ends_on) THEN
        RAISE EXCEPTION 'cdf_period_closed: % lies in a closed period', NEW.entry_date
            USING ERRCODE = 'P0001';
    END IF;
    {txid}
    IF NEW.reverses_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM cdf_entries o WHERE o.id = NEW.reverses_id AND o.fund_id = NEW.fund_id
    ) THEN
        RAISE EXCEPTION 'cdf_reversal_fund: a reversal reverses an entry of its own fund'
            USING ERRCODE = 'P0001';
    END IF;
    RETURN NEW;
END $$;
"""
SET_TXID = "NEW.txid := txid_current();"
CHECK_TXID = """IF NEW.txid <> txid_current() THEN
        RAISE EXCEPTION 'cdf_entry_txid: an entry belongs to the transaction that posts it'
            USING ERRCODE = 'P0001';
    END IF;"""


def upgrade() -> None:
    op.execute(ENTRY_CHECKS.replace("{txid}", SET_TXID))
    op.execute("ALTER TABLE cdf_entries DROP CONSTRAINT cdf_entries_kind_check")
    op.execute(
        "ALTER TABLE cdf_entries ADD CONSTRAINT cdf_entries_kind_check "
        f"CHECK (kind IN {(*KINDS, 'remittance')})"
    )


def downgrade() -> None:
    op.execute(ENTRY_CHECKS.replace("{txid}", CHECK_TXID))
    # Posted remittances stay (the books are never edited): the older check skips them.
    op.execute("ALTER TABLE cdf_entries DROP CONSTRAINT cdf_entries_kind_check")
    op.execute(
        "ALTER TABLE cdf_entries ADD CONSTRAINT cdf_entries_kind_check "
        f"CHECK (kind IN {KINDS}) NOT VALID"
    )
