"""CDF national report benchmark: 50 CDFs x 100 groups x 20 members x 36 monthly meetings.

The books are generated inside PostgreSQL (INSERT ... SELECT over generate_series): per group
and month a savings sheet (a cash line and a line per member); every other member borrows
in turn (12 monthly installments at 1 %/month flat, one loan after another), repaying on
the due date, 45 days late (1 in 20 borrowers) or stopping after 3 installments (1 in 20):
about 9 million journal lines at full size. The database's checks and the triggers that
keep the report's sums are switched off for the load only (ALTER TABLE ... DISABLE TRIGGER
USER, as the tables' owner); the sums are then computed from the journal in one statement
per table (`cdf_summary_rebuild()`, as migration 0011 does), timed on its own.

Measured, best of 3 (the machine is shared):
  app:      app.services.cdf_reports.national_report (the API's JSON, as the page reads it:
            as of the books' last day, from the sums the database keeps)
  baseline: the same aggregates as one plain SQL statement over the journal
  past day: the app's report a year before the last day (balances from the kept sums,
            arrears from the journal), one run; skipped with --no-past
Usage: python -m bench.cdf [--quick] [--keep] [--database NAME]
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import date, timedelta
from typing import Any

from sqlalchemy import create_engine, text

from app.db import cdf_reports as queries
from app.db.engine import make_engine
from app.db.migrate import create_database_if_missing, upgrade_to_head
from app.services import cdf_reports
from app.services.access import SYSTEM
from app.services.cdf_schedule import add_months
from app.settings import with_driver
from bench.common import bench_arguments, bench_database_url, remove_database

START = date(2023, 1, 1)

LOAD = """
INSERT INTO cities (id, slug, name)
  SELECT 100000 + f, 'bench-cdf-' || f, 'Thành phố ' || f FROM generate_series(1, :F) f;
INSERT INTO cdf_funds (id, city_id, name)
  SELECT f, 100000 + f, 'CDF ' || f FROM generate_series(1, :F) f;
INSERT INTO cdf_groups (id, fund_id, name, founded_on, meeting_frequency, share_value)
  SELECT g, (g - 1) / :G + 1, 'Nhóm ' || g, DATE '2023-01-01', 'monthly', 20000
  FROM generate_series(1, :F * :G) g;
INSERT INTO cdf_members (id, group_id, code, name, joined_on)
  SELECT m, (m - 1) / :M + 1, 'TV-' || m, 'Thành viên ' || m, DATE '2023-01-01'
  FROM generate_series(1, :F * :G * :M) m;
INSERT INTO cdf_loan_products (id, fund_id, code, name, kind, rate_bp, rate_period,
                               term_installments, frequency, method)
  SELECT f, f, 'SX', 'Sản xuất', 'income', 100, 'month', 12, 'monthly', 'flat'
  FROM generate_series(1, :F) f;
-- Accounts: fund cash f, interest F+f, capital 2F+f, group cash 3F+g, savings 3F+FG+m,
-- receivable 3F+FG+FGM+m.
INSERT INTO cdf_accounts (id, fund_id, group_id, member_id, kind, source)
  SELECT f, f, NULL::int, NULL::int, 'fund_cash', NULL::text FROM generate_series(1, :F) f
  UNION ALL SELECT :F + f, f, NULL, NULL, 'interest_income', NULL FROM generate_series(1, :F) f
  UNION ALL SELECT 2 * :F + f, f, NULL, NULL, 'capital', 'seed_grant'
    FROM generate_series(1, :F) f
  UNION ALL SELECT 3 * :F + g, (g - 1) / :G + 1, g, NULL, 'group_cash', NULL
    FROM generate_series(1, :F * :G) g
  UNION ALL SELECT 3 * :F + :F * :G + m, (m - 1) / (:G * :M) + 1, (m - 1) / :M + 1, m,
    'savings', NULL FROM generate_series(1, :F * :G * :M) m
  UNION ALL SELECT 3 * :F + :F * :G + :F * :G * :M + m, (m - 1) / (:G * :M) + 1,
    (m - 1) / :M + 1, m, 'loans_receivable', NULL
    FROM generate_series(1, :F * :G * :M) m WHERE m % 2 = 0;
-- Loans: every even member, one 12-month loan after another (k = 0, 1, 2...).
INSERT INTO cdf_loans (id, client_id, fund_id, group_id, member_id, product_id, principal,
  rate_bp, rate_period, term_installments, frequency, method, status, applied_on,
  approved_at, disbursed_on)
  SELECT m * 10 + k, md5('loan' || m || '-' || k)::uuid, (m - 1) / (:G * :M) + 1,
         (m - 1) / :M + 1, m, (m - 1) / (:G * :M) + 1, 1200000 * (1 + m % 12), 100, 'month',
         12, 'monthly', 'flat', 'disbursed', DATE '2023-01-01' + make_interval(months => 12 * k),
         now(), DATE '2023-01-01' + make_interval(months => 12 * k)
  FROM generate_series(2, :F * :G * :M, 2) m, generate_series(0, (:T - 1) / 12) k;
INSERT INTO cdf_installments (loan_id, seq, due_on, principal_due, interest_due)
  SELECT l.id, s, l.disbursed_on + make_interval(months => s), l.principal / 12, l.principal / 100
  FROM cdf_loans l, generate_series(1, 12) s;
-- Entries: capital, savings sheets, disbursements, repayments (ids in separate ranges).
INSERT INTO cdf_entries (id, fund_id, client_id, entry_date, kind, group_id)
  SELECT f, f, md5('cap' || f)::uuid, DATE '2022-12-01', 'capital', NULL::int
    FROM generate_series(1, :F) f
  UNION ALL
  SELECT 1000000 + (g - 1) * :T + t, (g - 1) / :G + 1, md5('sav' || g || '-' || t)::uuid,
         DATE '2023-01-01' + make_interval(months => t), 'savings', g
    FROM generate_series(1, :F * :G) g, generate_series(0, :T - 1) t
  UNION ALL
  SELECT 100000000 + l.id, l.fund_id, md5('dis' || l.id)::uuid, l.disbursed_on, 'disbursement',
         l.group_id FROM cdf_loans l;
INSERT INTO cdf_entries (id, fund_id, client_id, entry_date, kind, group_id, member_id, loan_id)
  SELECT 200000000 + i.loan_id * 20 + i.seq, l.fund_id,
         md5('rep' || i.loan_id || '-' || i.seq)::uuid,
         i.due_on + CASE WHEN l.member_id % 40 = 2 THEN 45 ELSE 0 END, 'repayment', l.group_id,
         l.member_id, l.id
  FROM cdf_installments i JOIN cdf_loans l ON l.id = i.loan_id
  WHERE i.due_on + CASE WHEN l.member_id % 40 = 2 THEN 45 ELSE 0 END
          < DATE '2023-01-01' + make_interval(months => :T)
    AND NOT (l.member_id % 40 = 4 AND i.seq > 3);
INSERT INTO cdf_lines (entry_id, account_id, amount)
  SELECT f, f, 1000000000000 FROM generate_series(1, :F) f
  UNION ALL SELECT f, 2 * :F + f, -1000000000000 FROM generate_series(1, :F) f;
INSERT INTO cdf_lines (entry_id, account_id, amount)
  SELECT 1000000 + (g - 1) * :T + t, 3 * :F + g,
         (SELECT 20000 * sum(1 + (m + t) % 5) FROM generate_series((g - 1) * :M + 1, g * :M) m)
  FROM generate_series(1, :F * :G) g, generate_series(0, :T - 1) t
  UNION ALL
  SELECT 1000000 + ((m - 1) / :M) * :T + t, 3 * :F + :F * :G + m, -20000 * (1 + (m + t) % 5)
  FROM generate_series(1, :F * :G * :M) m, generate_series(0, :T - 1) t;
INSERT INTO cdf_lines (entry_id, account_id, amount, loan_id)
  SELECT 100000000 + l.id, 3 * :F + :F * :G + :F * :G * :M + l.member_id, l.principal, l.id
    FROM cdf_loans l
  UNION ALL SELECT 100000000 + l.id, l.fund_id, -l.principal, l.id FROM cdf_loans l;
INSERT INTO cdf_lines (entry_id, account_id, amount, loan_id, installment_seq, component)
  SELECT e.id, 3 * :F + e.group_id, i.principal_due + i.interest_due, l.id, NULL::int,
         NULL::text
    FROM cdf_entries e JOIN cdf_loans l ON l.id = e.loan_id
    JOIN cdf_installments i ON i.loan_id = l.id AND i.seq = e.id - 200000000 - l.id * 20
    WHERE e.kind = 'repayment'
  UNION ALL
  SELECT e.id, 3 * :F + :F * :G + :F * :G * :M + l.member_id, -i.principal_due, l.id, i.seq,
         'principal'
    FROM cdf_entries e JOIN cdf_loans l ON l.id = e.loan_id
    JOIN cdf_installments i ON i.loan_id = l.id AND i.seq = e.id - 200000000 - l.id * 20
    WHERE e.kind = 'repayment'
  UNION ALL
  SELECT e.id, :F + l.fund_id, -i.interest_due, l.id, i.seq, 'interest'
    FROM cdf_entries e JOIN cdf_loans l ON l.id = e.loan_id
    JOIN cdf_installments i ON i.loan_id = l.id AND i.seq = e.id - 200000000 - l.id * 20
    WHERE e.kind = 'repayment';
"""


def plain_sql() -> str:
    """The report's aggregates, per fund, as one statement over the journal."""
    return f"""
WITH balances AS ({queries.BALANCES}),
lent AS ({queries.LENT}),
counts AS ({queries.COUNTS}),
arrears AS ({queries.ARREARS})
SELECT f.id AS fund_id,
  (SELECT -sum(total) FROM balances b WHERE b.fund_id = f.id AND b.kind = 'savings') AS savings,
  (SELECT sum(total) FROM balances b WHERE b.fund_id = f.id AND b.kind = 'loans_receivable')
    AS outstanding,
  (SELECT -sum(total) FROM balances b WHERE b.fund_id = f.id AND b.kind = 'capital') AS capital,
  (SELECT lent FROM lent WHERE lent.fund_id = f.id) AS lent,
  c.groups, c.members, a.at_risk_30, a.due_in_period, a.on_time_in_period, a.due_to_date,
  a.collected_to_date, a.aging_1_30, a.aging_31_60, a.aging_61_90, a.aging_over_90
FROM cdf_funds f LEFT JOIN counts c ON c.fund_id = f.id LEFT JOIN arrears a ON a.fund_id = f.id
WHERE f.id = ANY(:funds)
"""


TRIGGERED = ("cdf_entries", "cdf_lines", "cdf_installments")


def load(sync_url: str, sizes: dict[str, int]) -> tuple[float, int, float]:
    """Generate the books, then their kept sums; seconds, journal lines, seconds of sums."""
    engine = create_engine(sync_url)
    started = time.perf_counter()
    try:
        with engine.begin() as connection:
            for table in TRIGGERED:
                connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            # Bound as integer: psycopg sends small ints as smallint, which F * G * M overflows.
            sql = re.sub(r":([FGMT])\b", r"CAST(:\1 AS integer)", LOAD)
            for statement in sql.split(";\n"):
                if statement.strip():
                    connection.execute(text(statement), sizes)
            for table in TRIGGERED:
                connection.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
            for table, column in (("cities", "id"), ("cdf_funds", "id"), ("cdf_groups", "id"),
                                  ("cdf_members", "id"), ("cdf_accounts", "id"),
                                  ("cdf_loans", "id"), ("cdf_entries", "id"),
                                  ("cdf_loan_products", "id")):  # fmt: skip
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                        f"(SELECT max({column}) FROM {table}))"
                    )
                )
        generated = time.perf_counter() - started
        began = time.perf_counter()
        with engine.begin() as connection:
            connection.execute(text("SELECT cdf_summary_rebuild()"))
        summed = time.perf_counter() - began
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT")
            connection.execute(text("VACUUM ANALYZE"))
            lines = int(connection.execute(text("SELECT count(*) FROM cdf_lines")).scalar_one())
            unbalanced = connection.execute(
                text(
                    "SELECT count(*) FROM (SELECT entry_id FROM cdf_lines GROUP BY entry_id "
                    "HAVING sum(amount) <> 0) x"
                )
            ).scalar_one()
        assert unbalanced == 0, f"{unbalanced} unbalanced entries generated"
    finally:
        engine.dispose()
    return generated, lines, summed


def measure(
    url: str, runs: int, months: int, past: bool
) -> tuple[float, float, float | None, dict[str, Any], list[Any], dict[str, Any]]:
    """Best times of the app's national report and of the one plain SQL statement, as of
    the last day of the generated books (on-time rate over their last 12 months); the
    app's time for a day a year earlier; the report and the statement's rows."""
    as_of = add_months(START, months) - timedelta(days=1)
    start = add_months(as_of, -12)

    async def both() -> tuple[
        float, float, float | None, dict[str, Any], list[Any], dict[str, Any]
    ]:
        engine = make_engine(with_driver(url, "postgresql+asyncpg"))
        try:
            app_best, report = float("inf"), {}
            for _ in range(runs):
                began = time.perf_counter()
                report = await cdf_reports.national_report(engine, SYSTEM, as_of, start)
                app_best = min(app_best, time.perf_counter() - began)
            async with engine.connect() as connection:
                funds = [f["fund_id"] for f in await queries.funds(connection, None)]
                base_best, rows = float("inf"), []
                for _ in range(runs):
                    began = time.perf_counter()
                    result = await connection.execute(
                        text(plain_sql()), {"funds": funds, "as_of": as_of, "start": start}
                    )
                    rows = list(result)
                    base_best = min(base_best, time.perf_counter() - began)
            past_time, past_report = None, {}
            if past:
                began = time.perf_counter()
                earlier = add_months(as_of, -12)
                past_report = await cdf_reports.national_report(
                    engine, SYSTEM, earlier, add_months(earlier, -12)
                )
                past_time = time.perf_counter() - began
            return app_best, base_best, past_time, report, rows, past_report
        finally:
            await engine.dispose()

    return asyncio.run(both())


def agree(total: dict[str, Any], rows: list[Any]) -> None:
    """The app's totals (from the kept sums) equal the plain statement's (the journal)."""

    def summed(name: str) -> int:
        return sum(int(getattr(row, name) or 0) for row in rows)

    pairs = {
        "savings": total["savings_balance"],
        "outstanding": total["loans_outstanding"],
        "capital": total["capital_total"],
        "lent": total["lent_to_date"],
        "groups": total["groups"],
        "members": total["members"],
        "at_risk_30": total["portfolio_at_risk"]["over_30"],
        "due_in_period": total["due_in_period"],
        "on_time_in_period": total["paid_on_time_in_period"],
        "due_to_date": total["due_to_date"],
        "collected_to_date": total["collected_to_date"],
        **{f"aging_{key}": value for key, value in total["aging"].items()},
    }
    for name, value in pairs.items():
        assert summed(name) == value, (name, summed(name), value)


def main() -> None:
    parser = bench_arguments(__doc__, "cdfmap_bench_cdf")
    parser.add_argument("--funds", type=int, default=50)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--no-past", action="store_true", help="skip the report of a past day")
    args = parser.parse_args()
    sizes = {"F": args.funds, "G": args.groups, "M": args.members, "T": args.months}
    if args.quick:
        sizes = {"F": 2, "G": 5, "M": 10, "T": 14}
    url = bench_database_url(args.database)
    sync_url = with_driver(url, "postgresql+psycopg")
    remove_database(url)
    create_database_if_missing(sync_url)
    try:
        upgrade_to_head(sync_url)
        seconds, lines, summed = load(sync_url, sizes)
        print(f"sizes {sizes}: {lines} journal lines generated in {seconds:.1f} s")
        print(f"kept sums computed from the journal in {summed:.1f} s (cdf_summary_rebuild)")
        runs = 1 if args.quick else 3
        app_time, base_time, past_time, report, rows, past_report = measure(
            url, runs, sizes["T"], not args.no_past
        )
        total = report["total"]
        print(f"national report app: {app_time * 1000:.0f} ms ({len(report['cities'])} cities)")
        print(f"national report baseline (one SQL statement): {base_time * 1000:.0f} ms")
        print(f"national report ratio: {app_time / base_time:.4f}")
        if past_time is not None:
            print(
                f"national report a year earlier (arrears from the journal): {past_time:.1f} s, "
                f"loans_outstanding {past_report['total']['loans_outstanding']}"
            )
        print(
            f"figures: loans_outstanding {total['loans_outstanding']}, par30 {total['par30']}, "
            f"on_time {total['on_time_repayment_rate']}, collection {total['collection_rate']}"
        )
        agree(total, rows)
        print("app and baseline agree on loans outstanding and every figure the baseline sums")
    finally:
        if not args.keep:
            remove_database(url)


if __name__ == "__main__":
    main()
