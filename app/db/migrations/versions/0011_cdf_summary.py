"""cdf_summary: the report's sums kept by the database as entries are posted

Revision ID: 0011_cdf_summary
Revises: 0010_cdf_remittance
Create Date: 2026-12-03

The national report summed the whole journal on every request (78 s at 9 million lines).
These tables hold the same sums, kept by triggers on the journal in the transaction that
posts, so they are never stale and no code path (the API, COPY, a plain INSERT in psql)
can post without them:
- cdf_sum_balances: per fund, account kind, capital source and entry day, the sum of the
  lines and the principal paid out (disbursement lines on loans receivable). A balance as
  of any day is the sum of the rows up to that day.
- cdf_sum_installments: per installment, what is due and what the journal says was paid on
  it: principal, everything, and on time (by its due date, by entries not reversed).
- cdf_sum_loans: per loan, its outstanding principal and the due date of its oldest
  unpaid installment (days late = the day - that date).
- cdf_sum_due_days: per fund and due date, what fell due, what was collected and paid on
  time on it (each installment's capped at what it owed) and the principal left on the
  installments still unpaid.
The installment sums describe the books as they are now: the report reads them for a day
on or after the fund's latest entry; an earlier day is worked out from the journal.

Postings of one fund take a transaction-level advisory lock on it at their first line, so
the summary rows of a fund are changed by one transaction at a time (no deadlock between
two postings updating the same rows in different orders). The service already locks the
group first; two groups of one fund now queue for the few milliseconds to their commit.

Schedules stand once made (as posted entries): installments refuse UPDATE and DELETE.
`cdf_summary_rebuild()` recomputes every summary from the journal in one statement per
table (this migration's backfill; bench/cdf.py after a load with the triggers off).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011_cdf_summary"
down_revision: str | None = "0010_cdf_remittance"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = """
CREATE TABLE cdf_sum_balances (
    fund_id integer NOT NULL,
    kind varchar(20) NOT NULL,
    source varchar(24) NOT NULL DEFAULT '',
    day date NOT NULL,
    amount bigint NOT NULL,
    lent bigint NOT NULL,
    PRIMARY KEY (fund_id, kind, source, day)
);
CREATE TABLE cdf_sum_installments (
    loan_id integer NOT NULL,
    seq integer NOT NULL,
    fund_id integer NOT NULL,
    due_on date NOT NULL,
    due bigint NOT NULL,
    principal_due bigint NOT NULL,
    principal_paid bigint NOT NULL,
    paid bigint NOT NULL,
    paid_on_time bigint NOT NULL,
    PRIMARY KEY (loan_id, seq)
);
CREATE TABLE cdf_sum_loans (
    loan_id integer PRIMARY KEY,
    fund_id integer NOT NULL,
    outstanding bigint NOT NULL,
    oldest_unpaid_due date
);
CREATE INDEX ix_cdf_sum_loans_fund ON cdf_sum_loans (fund_id);
CREATE TABLE cdf_sum_due_days (
    fund_id integer NOT NULL,
    due_on date NOT NULL,
    due bigint NOT NULL,
    collected bigint NOT NULL,
    on_time bigint NOT NULL,
    principal_unpaid bigint NOT NULL,
    PRIMARY KEY (fund_id, due_on)
);
"""

# What each line adds to its installment's paid on time: a payment by the due date counts;
# a reversal's line takes the payment it reverses back out when that one counted (a
# reversal of a reversal changes nothing: the payment stays reversed, as in the journal).
ON_TIME = """coalesce(sum(-l.amount) FILTER (
        WHERE (e.kind <> 'reversal' AND e.entry_date <= i.due_on)
           OR (e.kind = 'reversal' AND o.kind <> 'reversal' AND o.entry_date <= i.due_on)),
        0)"""

FUNCTIONS = f"""
CREATE FUNCTION cdf_summary_lock(funds integer[]) RETURNS void LANGUAGE sql AS $$
    SELECT count(pg_advisory_xact_lock(1128547923, f))::int * 0
    FROM (SELECT DISTINCT f FROM unnest(funds) f ORDER BY f) x;
$$;

-- The loans' outstanding principal and oldest unpaid due date, again from their installments.
CREATE FUNCTION cdf_summary_loans(loans integer[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO cdf_sum_loans AS s (loan_id, fund_id, outstanding, oldest_unpaid_due)
    SELECT i.loan_id, min(i.fund_id), sum(i.principal_due - i.principal_paid),
           min(i.due_on) FILTER (WHERE i.due - i.paid > 0)
    FROM cdf_sum_installments i WHERE i.loan_id = ANY(loans)
    GROUP BY i.loan_id ORDER BY i.loan_id
    ON CONFLICT (loan_id) DO UPDATE SET outstanding = excluded.outstanding,
        oldest_unpaid_due = excluded.oldest_unpaid_due;
$$;

CREATE FUNCTION cdf_summary_lines() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    loans integer[];
BEGIN
    PERFORM cdf_summary_lock(array_agg(DISTINCT e.fund_id))
    FROM new_lines l JOIN cdf_entries e ON e.id = l.entry_id;

    INSERT INTO cdf_sum_balances AS s (fund_id, kind, source, day, amount, lent)
    SELECT a.fund_id, a.kind, coalesce(a.source, ''), e.entry_date, sum(l.amount),
           coalesce(sum(l.amount) FILTER (
             WHERE a.kind = 'loans_receivable' AND e.kind = 'disbursement'), 0)
    FROM new_lines l JOIN cdf_accounts a ON a.id = l.account_id
    JOIN cdf_entries e ON e.id = l.entry_id
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (fund_id, kind, source, day) DO UPDATE
        SET amount = s.amount + excluded.amount, lent = s.lent + excluded.lent;

    SELECT array_agg(DISTINCT l.loan_id) INTO loans
    FROM new_lines l WHERE l.installment_seq IS NOT NULL;
    IF loans IS NULL THEN
        RETURN NULL;
    END IF;

    WITH paid AS (
        SELECT l.loan_id, l.installment_seq AS seq,
               coalesce(sum(-l.amount) FILTER (WHERE l.component = 'principal'), 0)
                 AS principal_paid,
               sum(-l.amount) AS paid,
               {ON_TIME} AS on_time
        FROM new_lines l JOIN cdf_entries e ON e.id = l.entry_id
        JOIN cdf_sum_installments i ON i.loan_id = l.loan_id AND i.seq = l.installment_seq
        LEFT JOIN cdf_entries o ON o.id = e.reverses_id
        WHERE l.installment_seq IS NOT NULL
        GROUP BY 1, 2
    ),
    changed AS (
        UPDATE cdf_sum_installments i
        SET principal_paid = i.principal_paid + p.principal_paid, paid = i.paid + p.paid,
            paid_on_time = i.paid_on_time + p.on_time
        FROM paid p WHERE i.loan_id = p.loan_id AND i.seq = p.seq
        RETURNING i.fund_id, i.due_on, i.due, i.principal_due, i.principal_paid, i.paid,
                  i.paid_on_time, p.principal_paid AS d_principal, p.paid AS d_paid,
                  p.on_time AS d_on_time
    )
    INSERT INTO cdf_sum_due_days AS s (fund_id, due_on, due, collected, on_time,
                                       principal_unpaid)
    SELECT fund_id, due_on, 0,
           sum(least(paid, due) - least(paid - d_paid, due)),
           sum(least(paid_on_time, due) - least(paid_on_time - d_on_time, due)),
           sum(CASE WHEN due - paid > 0 THEN principal_due - principal_paid ELSE 0 END
               - CASE WHEN due - (paid - d_paid) > 0
                      THEN principal_due - (principal_paid - d_principal) ELSE 0 END)
    FROM changed GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (fund_id, due_on) DO UPDATE
        SET collected = s.collected + excluded.collected, on_time = s.on_time + excluded.on_time,
            principal_unpaid = s.principal_unpaid + excluded.principal_unpaid;

    PERFORM cdf_summary_loans(loans);
    RETURN NULL;
END $$;

CREATE FUNCTION cdf_summary_installments() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    loans integer[];
BEGIN
    PERFORM cdf_summary_lock(array_agg(DISTINCT lo.fund_id))
    FROM new_installments n JOIN cdf_loans lo ON lo.id = n.loan_id;
    SELECT array_agg(DISTINCT n.loan_id) INTO loans FROM new_installments n;

    -- Lines posted before their schedule (a restore, a load) are counted here.
    WITH added AS (
        INSERT INTO cdf_sum_installments (loan_id, seq, fund_id, due_on, due, principal_due,
                                          principal_paid, paid, paid_on_time)
        SELECT n.loan_id, n.seq, lo.fund_id, n.due_on, n.principal_due + n.interest_due,
               n.principal_due, coalesce(p.principal_paid, 0), coalesce(p.paid, 0),
               coalesce(p.on_time, 0)
        FROM new_installments n JOIN cdf_loans lo ON lo.id = n.loan_id
        LEFT JOIN LATERAL (
            SELECT coalesce(sum(-l.amount) FILTER (WHERE l.component = 'principal'), 0)
                     AS principal_paid,
                   sum(-l.amount) AS paid,
                   {ON_TIME.replace("i.due_on", "n.due_on")} AS on_time
            FROM cdf_lines l JOIN cdf_entries e ON e.id = l.entry_id
            LEFT JOIN cdf_entries o ON o.id = e.reverses_id
            WHERE l.loan_id = n.loan_id AND l.installment_seq = n.seq
        ) p ON true
        RETURNING *
    )
    INSERT INTO cdf_sum_due_days AS s (fund_id, due_on, due, collected, on_time,
                                       principal_unpaid)
    SELECT fund_id, due_on, sum(due), sum(least(paid, due)), sum(least(paid_on_time, due)),
           sum(CASE WHEN due - paid > 0 THEN principal_due - principal_paid ELSE 0 END)
    FROM added GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (fund_id, due_on) DO UPDATE
        SET due = s.due + excluded.due, collected = s.collected + excluded.collected,
            on_time = s.on_time + excluded.on_time,
            principal_unpaid = s.principal_unpaid + excluded.principal_unpaid;

    PERFORM cdf_summary_loans(loans);
    RETURN NULL;
END $$;

CREATE TRIGGER cdf_lines_summary AFTER INSERT ON cdf_lines
    REFERENCING NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION cdf_summary_lines();
CREATE TRIGGER cdf_installments_summary AFTER INSERT ON cdf_installments
    REFERENCING NEW TABLE AS new_installments
    FOR EACH STATEMENT EXECUTE FUNCTION cdf_summary_installments();
CREATE TRIGGER cdf_installments_immutable BEFORE UPDATE OR DELETE ON cdf_installments
    FOR EACH ROW EXECUTE FUNCTION cdf_refuse_change();
CREATE TRIGGER cdf_installments_no_truncate BEFORE TRUNCATE ON cdf_installments
    FOR EACH STATEMENT EXECUTE FUNCTION cdf_refuse_change();

-- Every summary again from the journal, one statement per table.
CREATE FUNCTION cdf_summary_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM cdf_summary_lock(array_agg(id)) FROM cdf_funds;
    TRUNCATE cdf_sum_balances, cdf_sum_installments, cdf_sum_loans, cdf_sum_due_days;
    INSERT INTO cdf_sum_balances (fund_id, kind, source, day, amount, lent)
    SELECT a.fund_id, a.kind, coalesce(a.source, ''), e.entry_date, sum(l.amount),
           coalesce(sum(l.amount) FILTER (
             WHERE a.kind = 'loans_receivable' AND e.kind = 'disbursement'), 0)
    FROM cdf_lines l JOIN cdf_accounts a ON a.id = l.account_id
    JOIN cdf_entries e ON e.id = l.entry_id
    GROUP BY 1, 2, 3, 4;
    INSERT INTO cdf_sum_installments (loan_id, seq, fund_id, due_on, due, principal_due,
                                      principal_paid, paid, paid_on_time)
    SELECT i.loan_id, i.seq, lo.fund_id, i.due_on, i.principal_due + i.interest_due,
           i.principal_due, coalesce(p.principal_paid, 0), coalesce(p.paid, 0),
           coalesce(p.on_time, 0)
    FROM cdf_installments i JOIN cdf_loans lo ON lo.id = i.loan_id
    LEFT JOIN (
        SELECT l.loan_id, l.installment_seq AS seq,
               coalesce(sum(-l.amount) FILTER (WHERE l.component = 'principal'), 0)
                 AS principal_paid,
               sum(-l.amount) AS paid,
               {ON_TIME} AS on_time
        FROM cdf_lines l JOIN cdf_entries e ON e.id = l.entry_id
        JOIN cdf_installments i ON i.loan_id = l.loan_id AND i.seq = l.installment_seq
        LEFT JOIN cdf_entries o ON o.id = e.reverses_id
        WHERE l.installment_seq IS NOT NULL
        GROUP BY 1, 2
    ) p ON p.loan_id = i.loan_id AND p.seq = i.seq;
    INSERT INTO cdf_sum_loans (loan_id, fund_id, outstanding, oldest_unpaid_due)
    SELECT loan_id, min(fund_id), sum(principal_due - principal_paid),
           min(due_on) FILTER (WHERE due - paid > 0)
    FROM cdf_sum_installments GROUP BY loan_id;
    INSERT INTO cdf_sum_due_days (fund_id, due_on, due, collected, on_time, principal_unpaid)
    SELECT fund_id, due_on, sum(due), sum(least(paid, due)), sum(least(paid_on_time, due)),
           sum(CASE WHEN due - paid > 0 THEN principal_due - principal_paid ELSE 0 END)
    FROM cdf_sum_installments GROUP BY 1, 2;
END $$;
"""


def upgrade() -> None:
    op.execute(TABLES)
    op.execute(FUNCTIONS)
    op.execute("SELECT cdf_summary_rebuild()")


def downgrade() -> None:
    op.execute(
        "DROP TRIGGER cdf_lines_summary ON cdf_lines;"
        "DROP TRIGGER cdf_installments_summary ON cdf_installments;"
        "DROP TRIGGER cdf_installments_immutable ON cdf_installments;"
        "DROP TRIGGER cdf_installments_no_truncate ON cdf_installments;"
        "DROP FUNCTION cdf_summary_rebuild(), cdf_summary_installments(), cdf_summary_lines(),"
        " cdf_summary_loans(integer[]), cdf_summary_lock(integer[]);"
        "DROP TABLE cdf_sum_due_days, cdf_sum_loans, cdf_sum_installments, cdf_sum_balances;"
    )
