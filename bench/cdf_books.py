"""The CDF bench's books, written with PostgreSQL COPY and checked as the ledger checks them.

F funds x G savings groups x M members x T monthly meetings: per group and month a savings
sheet (a cash line and a line per member); every other member borrows in turn (12 monthly
installments at 1 %/month flat, one loan after another), repaying on the due date, 45 days
late (1 in 20 borrowers) or stopping after 3 installments (1 in 20): about 9 million journal
lines at 50 x 100 x 20 x 36. Every row is made by a generator, one group at a time, and
streamed through `COPY ... FROM STDIN` (psycopg's `cursor.copy`): nothing holds all the rows.

Every trigger of the ledger (migrations 0006, 0010, 0011) stays on, and everything is
written in ONE transaction, as a restore does: the per-row checks (a line on an account of
its entry's fund, only for an entry of its own transaction, no entry in a closed period)
fire per row; each entry's balance (lines sum to zero, at least two) is checked at the
commit by the deferred constraint triggers, so a broken generator fails the whole load and
nothing of it stays; the sums the reports read are kept by their statement triggers, fired
once per COPY with every row in the transition table. Nothing is updated or deleted, so the
immutability triggers have nothing to refuse. Switching the per-row checks off for the load
and checking the same rules in a few set-based statements before the commit was measured at
365,104 lines (2 funds, load average 4-5): 14.5 s against 16.7-18.0 s with every trigger on,
the deferred balance checks costing 3 s of it at the commit. Not worth a load that could
commit books no trigger looked at.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from typing import Any

import psycopg

from app.services.cdf_schedule import add_months

START = date(2023, 1, 1)
LATE_DAYS = 45
TERM = 12
CAPITAL = 1_000_000_000_000
SHARE = 20_000


def _uuid(seed: str) -> uuid.UUID:
    """As PostgreSQL's md5(seed)::uuid (the ids stay what the SQL generator made)."""
    return uuid.UUID(hashlib.md5(seed.encode()).hexdigest())


class Books:
    """Ids and amounts of the generated books, as pure arithmetic over the sizes."""

    def __init__(self, funds: int, groups: int, members: int, months: int) -> None:
        self.F, self.G, self.M, self.T = funds, groups, members, months
        self.loans_each = (months - 1) // TERM + 1
        self.month = [add_months(START, t) for t in range(months + TERM * self.loans_each + 1)]
        self.end = self.month[months]  # the first day after the books

    # Accounts: fund cash f, interest F+f, capital 2F+f, group cash 3F+g, savings 3F+FG+m,
    # loans receivable 3F+FG+FGM+m.
    def fund_of_group(self, g: int) -> int:
        return (g - 1) // self.G + 1

    def members_of(self, g: int) -> range:
        return range((g - 1) * self.M + 1, g * self.M + 1)

    def group_cash(self, g: int) -> int:
        return 3 * self.F + g

    def savings(self, m: int) -> int:
        return 3 * self.F + self.F * self.G + m

    def receivable(self, m: int) -> int:
        return 3 * self.F + self.F * self.G + self.F * self.G * self.M + m

    def saved(self, m: int, t: int) -> int:
        return SHARE * (1 + (m + t) % 5)

    def loans_of(self, g: int) -> Iterator[tuple[int, int, int, date]]:
        """(loan id, member, principal, disbursed on) for every even member of the group."""
        for m in self.members_of(g):
            if m % 2 == 0:
                for k in range(self.loans_each):
                    yield m * 10 + k, m, 1_200_000 * (1 + m % 12), self.month[TERM * k]

    def repayments(self, m: int, disbursed: date) -> Iterator[tuple[int, date, date]]:
        """(seq, due on, paid on) of the installments the borrower pays within the books."""
        start = self.month.index(disbursed)
        for seq in range(1, TERM + 1):
            due = self.month[start + seq]
            paid = due + timedelta(days=LATE_DAYS if m % 40 == 2 else 0)
            if paid < self.end and not (m % 40 == 4 and seq > 3):
                yield seq, due, paid

    # --- rows per table ----------------------------------------------------------------------

    def cities(self) -> Iterator[tuple[Any, ...]]:
        for f in range(1, self.F + 1):
            yield 100_000 + f, f"bench-cdf-{f}", f"Thành phố {f}"

    def funds(self) -> Iterator[tuple[Any, ...]]:
        for f in range(1, self.F + 1):
            yield f, 100_000 + f, f"CDF {f}"

    def groups(self) -> Iterator[tuple[Any, ...]]:
        for g in range(1, self.F * self.G + 1):
            yield g, self.fund_of_group(g), f"Nhóm {g}", START, "monthly", SHARE

    def members(self) -> Iterator[tuple[Any, ...]]:
        for m in range(1, self.F * self.G * self.M + 1):
            yield m, (m - 1) // self.M + 1, f"TV-{m}", f"Thành viên {m}", START

    def products(self) -> Iterator[tuple[Any, ...]]:
        for f in range(1, self.F + 1):
            yield f, f, "SX", "Sản xuất", "income", 100, "month", TERM, "monthly", "flat"

    def accounts(self) -> Iterator[tuple[Any, ...]]:
        F, G, M = self.F, self.G, self.M
        for f in range(1, F + 1):
            yield f, f, None, None, "fund_cash", None
            yield F + f, f, None, None, "interest_income", None
            yield 2 * F + f, f, None, None, "capital", "seed_grant"
        for g in range(1, F * G + 1):
            yield self.group_cash(g), self.fund_of_group(g), g, None, "group_cash", None
        for m in range(1, F * G * M + 1):
            g = (m - 1) // M + 1
            yield self.savings(m), self.fund_of_group(g), g, m, "savings", None
            if m % 2 == 0:
                yield self.receivable(m), self.fund_of_group(g), g, m, "loans_receivable", None

    def loans(self) -> Iterator[tuple[Any, ...]]:
        for g in range(1, self.F * self.G + 1):
            fund = self.fund_of_group(g)
            for loan, m, principal, day in self.loans_of(g):
                k = loan - m * 10
                yield (loan, _uuid(f"loan{m}-{k}"), fund, g, m, fund, principal, 100, "month",
                       TERM, "monthly", "flat", "disbursed", day, day, day)  # fmt: skip

    def installments(self) -> Iterator[tuple[Any, ...]]:
        for g in range(1, self.F * self.G + 1):
            for loan, _m, principal, day in self.loans_of(g):
                start = self.month.index(day)
                for seq in range(1, TERM + 1):
                    yield loan, seq, self.month[start + seq], principal // TERM, principal // 100

    def entries(self) -> Iterator[tuple[Any, ...]]:
        """(id, fund, client id, date, kind, group, member, loan), a group at a time."""
        for f in range(1, self.F + 1):
            yield f, f, _uuid(f"cap{f}"), date(2022, 12, 1), "capital", None, None, None
        for g in range(1, self.F * self.G + 1):
            fund = self.fund_of_group(g)
            for t in range(self.T):
                yield (1_000_000 + (g - 1) * self.T + t, fund, _uuid(f"sav{g}-{t}"),
                       self.month[t], "savings", g, None, None)  # fmt: skip
            for loan, m, _principal, day in self.loans_of(g):
                yield (100_000_000 + loan, fund, _uuid(f"dis{100_000_000 + loan}"), day,
                       "disbursement", g, None, None)  # fmt: skip
                for seq, _due, paid in self.repayments(m, day):
                    yield (200_000_000 + loan * 20 + seq, fund, _uuid(f"rep{loan}-{seq}"), paid,
                           "repayment", g, m, loan)  # fmt: skip

    def lines(self) -> Iterator[tuple[Any, ...]]:
        """(entry, account, amount, loan, installment seq, component), a group at a time."""
        F = self.F
        for f in range(1, F + 1):
            yield f, f, CAPITAL, None, None, None
            yield f, 2 * F + f, -CAPITAL, None, None, None
        for g in range(1, F * self.G + 1):
            fund = self.fund_of_group(g)
            members = self.members_of(g)
            for t in range(self.T):
                entry = 1_000_000 + (g - 1) * self.T + t
                cash = sum(self.saved(m, t) for m in members)
                yield entry, self.group_cash(g), cash, None, None, None
                for m in members:
                    yield entry, self.savings(m), -self.saved(m, t), None, None, None
            for loan, m, principal, day in self.loans_of(g):
                yield 100_000_000 + loan, self.receivable(m), principal, loan, None, None
                yield 100_000_000 + loan, fund, -principal, loan, None, None
                principal_due, interest_due = principal // TERM, principal // 100
                for seq, _due, _paid in self.repayments(m, day):
                    entry = 200_000_000 + loan * 20 + seq
                    paid = principal_due + interest_due
                    yield entry, self.group_cash(g), paid, loan, None, None
                    yield entry, self.receivable(m), -principal_due, loan, seq, "principal"
                    yield entry, F + fund, -interest_due, loan, seq, "interest"


# Table, columns, and the Books method that makes its rows, in the order of the foreign keys.
TABLES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("cities", ("id", "slug", "name"), "cities"),
    ("cdf_funds", ("id", "city_id", "name"), "funds"),
    ("cdf_groups", ("id", "fund_id", "name", "founded_on", "meeting_frequency", "share_value"),
     "groups"),
    ("cdf_members", ("id", "group_id", "code", "name", "joined_on"), "members"),
    ("cdf_loan_products", ("id", "fund_id", "code", "name", "kind", "rate_bp", "rate_period",
                           "term_installments", "frequency", "method"), "products"),
    ("cdf_accounts", ("id", "fund_id", "group_id", "member_id", "kind", "source"), "accounts"),
    ("cdf_loans", ("id", "client_id", "fund_id", "group_id", "member_id", "product_id",
                   "principal", "rate_bp", "rate_period", "term_installments", "frequency",
                   "method", "status", "applied_on", "approved_at", "disbursed_on"), "loans"),
    ("cdf_installments", ("loan_id", "seq", "due_on", "principal_due", "interest_due"),
     "installments"),
    ("cdf_entries", ("id", "fund_id", "client_id", "entry_date", "kind", "group_id",
                     "member_id", "loan_id"), "entries"),
    ("cdf_lines", ("entry_id", "account_id", "amount", "loan_id", "installment_seq",
                   "component"), "lines"),
)  # fmt: skip
SEQUENCES = ("cities", "cdf_funds", "cdf_groups", "cdf_members", "cdf_accounts", "cdf_loans",
             "cdf_entries", "cdf_loan_products")  # fmt: skip


def copy_rows(
    cursor: psycopg.Cursor[Any], table: str, columns: Iterable[str], rows: Iterable[Any]
) -> int:
    """Stream rows into a table with COPY FROM STDIN; how many were written."""
    count = 0
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


# The sums the triggers keep: their planner statistics, as they grow during the load.
SUMS = "cdf_sum_balances, cdf_sum_installments, cdf_sum_loans, cdf_sum_due_days"


def load_books(url: str, books: Books, report: Any = print) -> dict[str, float]:
    """Write the books with COPY in one transaction, every trigger on (see the module's
    docstring); the seconds each step took."""
    seconds: dict[str, float] = {}
    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        for table, columns, method in TABLES:
            began = time.perf_counter()
            count = copy_rows(cursor, table, columns, getattr(books, method)())
            # The triggers of the next tables join this one and the sums: their sizes now.
            cursor.execute(f"ANALYZE {table}, {SUMS}")
            seconds[table] = time.perf_counter() - began
            report(f"  COPY {table}: {count} rows in {seconds[table]:.1f} s")
        for table in SEQUENCES:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        began = time.perf_counter()
        connection.commit()  # every entry's balance is checked here (deferred triggers)
        seconds["commit"] = time.perf_counter() - began
        report(f"  committed (each entry's balance checked) in {seconds['commit']:.1f} s")
    return seconds
