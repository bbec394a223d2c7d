"""The CDF data migrations on real books: a database at 0009 (the release before 0010) holds
a fund, savings groups and members with hostile names, capital, savings, mutual aid, fines,
loans disbursed and repaid on time, late, in part and not at all, reversals, a meeting and a
closed period, each entry posted in a transaction of its own with the SQL of that schema.
Upgraded to head, 0010 swaps cdf_entries' kind check over those rows and 0011 fills the kept
sums from them (`SELECT cdf_summary_rebuild()`): every row is still there unchanged, and
every kept sum equals the one recomputed here from the journal, before and after entries
posted on the upgraded schema (a remittance, which 0010 allows, and a late repayment).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg
import pytest
from alembic import command

from app.db.migrate import alembic_config, head_revision, upgrade_to_head
from app.settings import with_driver
from tests.integration.test_migrate_upgrade import HOSTILE
from tests.scratch_db import scratch_database

BEFORE_0010 = "0009_cdf_project_photos"
# The books' tables as 0009 has them, compared row by row before and after the upgrade.
BOOKS = {
    "cdf_funds": "id",
    "cdf_groups": "id",
    "cdf_members": "id",
    "cdf_loan_products": "id",
    "cdf_loans": "id",
    "cdf_installments": "loan_id, seq",
    "cdf_accounts": "id",
    "cdf_meetings": "id",
    "cdf_periods": "id",
    "cdf_entries": "id",
    "cdf_lines": "id",
}
SHARE = 50_000
PRINCIPAL = 6_000_000
INSTALLMENTS = 6
INTEREST = 60_000  # flat 1 % a month on 6,000,000
DUE = [date(2026, month, 1) for month in range(3, 3 + INSTALLMENTS)]


@dataclass
class Ledger:
    """What the filling needs to post: the connection and the accounts by purpose."""

    connection: psycopg.Connection[Any]
    fund: int
    maker: int
    accounts: dict[tuple[Any, ...], int]

    def account(
        self,
        kind: str,
        group: int | None = None,
        member: int | None = None,
        source: str | None = None,
    ) -> int:
        key = (kind, group, member, source)
        if key not in self.accounts:
            self.accounts[key] = self.connection.execute(
                "INSERT INTO cdf_accounts (fund_id, group_id, member_id, kind, source) "
                "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                (self.fund, group, member, kind, source),
            ).fetchone()[0]  # type: ignore[index]
        return self.accounts[key]

    def post(
        self,
        kind: str,
        day: date,
        lines: list[tuple[int, int, int | None, int | None, str | None]],
        group: int | None = None,
        member: int | None = None,
        loan: int | None = None,
        meeting: uuid.UUID | None = None,
        reverses: int | None = None,
        memo: str = "",
    ) -> int:
        """One entry and its lines (account, amount, loan, installment, component) in a
        transaction of their own, as the app posts; the database checks the balance at
        commit."""
        with self.connection.transaction():
            entry: int = self.connection.execute(
                "INSERT INTO cdf_entries (fund_id, client_id, request_hash, entry_date, kind, "
                "memo, group_id, member_id, loan_id, meeting_id, reverses_id, created_by) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (
                    self.fund,
                    uuid.uuid4(),
                    "f" * 64,
                    day,
                    kind,
                    memo,
                    group,
                    member,
                    loan,
                    meeting,
                    reverses,
                    self.maker,
                ),
            ).fetchone()[0]  # type: ignore[index]
            for account, amount, line_loan, seq, component in lines:
                self.connection.execute(
                    "INSERT INTO cdf_lines (entry_id, account_id, amount, loan_id, "
                    "installment_seq, component) VALUES (%s, %s, %s, %s, %s, %s)",
                    (entry, account, amount, line_loan, seq, component),
                )
        return entry

    def transfer(
        self, kind: str, day: date, debit: int, credit: int, amount: int, **refs: Any
    ) -> int:
        """A two-line entry: `amount` from the `credit` account to the `debit` one."""
        loan = refs.get("loan")
        lines = [(debit, amount, loan, None, None), (credit, -amount, loan, None, None)]
        return self.post(kind, day, lines, **refs)

    def reverse(self, entry: int, day: date, memo: str) -> int:
        """The reversal of an entry: its lines negated, dated `day`."""
        kind, group, member, loan = self.connection.execute(
            "SELECT kind, group_id, member_id, loan_id FROM cdf_entries WHERE id = %s", (entry,)
        ).fetchone()  # type: ignore[misc]
        assert kind != "reversal"
        lines = self.connection.execute(
            "SELECT account_id, -amount, loan_id, installment_seq, component FROM cdf_lines "
            "WHERE entry_id = %s ORDER BY id",
            (entry,),
        ).fetchall()
        return self.post("reversal", day, lines, group, member, loan, reverses=entry, memo=memo)

    def repay(
        self,
        group: int,
        member: int | None,
        loan: int,
        day: date,
        parts: list[tuple[int, str, int]],
    ) -> int:
        """A repayment into the group's box: (installment, component, amount) parts."""
        receivable = self.account("loans_receivable", group, member)
        lines: list[tuple[int, int, int | None, int | None, str | None]] = [
            (self.account("group_cash", group), sum(part[2] for part in parts), loan, None, None)
        ]
        for seq, component, amount in parts:
            target = receivable if component == "principal" else self.account("interest_income")
            lines.append((target, -amount, loan, seq, component))
        return self.post("repayment", day, lines, group, member, loan)


def installment(seq: int) -> list[tuple[int, str, int]]:
    return [(seq, "interest", INTEREST), (seq, "principal", PRINCIPAL // INSTALLMENTS)]


def fill_books(url: str) -> dict[str, Any]:
    """The books of one city's fund at 0009, posted entry by entry; ids the test reuses."""
    with psycopg.connect(url, autocommit=True) as connection:
        city = connection.execute(
            "INSERT INTO cities (slug, name, province) VALUES ('tam-ky', 'Tam Kỳ', 'Quảng Nam') "
            "RETURNING id"
        ).fetchone()[0]  # type: ignore[index]
        ward = connection.execute(
            "INSERT INTO wards (city_id, code, name, geom) VALUES (%s, 'W01', 'An Mỹ', "
            "ST_GeomFromText('MULTIPOLYGON(((108.46 15.56,108.49 15.56,108.49 15.59,"
            "108.46 15.59,108.46 15.56)))', 4326)) RETURNING id",
            (city,),
        ).fetchone()[0]  # type: ignore[index]
        settlement = connection.execute(
            "INSERT INTO settlements (city_id, ward_id, code, name, geom) VALUES (%s, %s, 'S01', "
            "%s, ST_GeomFromText('POLYGON((108.47 15.57,108.48 15.57,108.48 15.58,108.47 15.58,"
            "108.47 15.57))', 4326)) RETURNING id",
            (city, ward, HOSTILE[1]),
        ).fetchone()[0]  # type: ignore[index]
        maker, checker = (
            connection.execute(
                "INSERT INTO users (username, display_name) VALUES (%s, %s) RETURNING id",
                (username, name),
            ).fetchone()[0]  # type: ignore[index]
            for username, name in (("cdf-maker", HOSTILE[2]), ("cdf-checker", "Lê Thị Thu"))
        )
        fund = connection.execute(
            "INSERT INTO cdf_funds (city_id, name) VALUES (%s, %s) RETURNING id",
            (city, "Quỹ CDF " + HOSTILE[1]),
        ).fetchone()[0]  # type: ignore[index]
        product = connection.execute(
            "INSERT INTO cdf_loan_products (fund_id, code, name, kind, rate_bp, rate_period, "
            "term_installments, frequency, method, min_savings_bp, max_principal) VALUES "
            "(%s, 'NHA-6', %s, 'housing', 100, 'month', %s, 'monthly', 'flat', 1000, 20000000) "
            "RETURNING id",
            (fund, "Sửa nhà " + HOSTILE[3], INSTALLMENTS),
        ).fetchone()[0]  # type: ignore[index]
        books = Ledger(connection, fund, maker, {})
        fund_cash = books.account("fund_cash")
        for day, source, amount in ((5, "seed_grant", 200_000_000), (10, "donor", 50_000_000)):
            capital = books.account("capital", source=source)
            books.transfer(
                "capital", date(2026, 1, day), fund_cash, capital, amount, memo=HOSTILE[4]
            )

        groups: list[int] = []
        members: dict[int, list[int]] = {}
        savings: list[int] = []
        for index in range(3):
            group = connection.execute(
                "INSERT INTO cdf_groups (fund_id, settlement_id, name, founded_on, "
                "meeting_frequency, share_value, rules, created_by) VALUES (%s, %s, %s, "
                "'2025-12-01', 'monthly', %s, %s, %s) RETURNING id",
                (
                    fund,
                    settlement if index else None,
                    f"Nhóm {index + 1} {HOSTILE[index]}",
                    SHARE,
                    HOSTILE[(index + 1) % len(HOSTILE)],
                    maker,
                ),
            ).fetchone()[0]  # type: ignore[index]
            groups.append(group)
            members[group] = [
                connection.execute(
                    "INSERT INTO cdf_members (group_id, code, name, household_survey_id, "
                    "joined_on) VALUES (%s, %s, %s, %s, '2025-12-01') RETURNING id",
                    (
                        group,
                        f"TV-{number:02d}",
                        HOSTILE[(index + number) % len(HOSTILE)],
                        uuid.uuid4() if number % 2 else None,
                    ),
                ).fetchone()[0]  # type: ignore[index]
                for number in range(4)
            ]
            box = books.account("group_cash", group)
            for month in (1, 2, 3):
                meeting = uuid.uuid4()
                held = date(2026, month, 15)
                connection.execute(
                    "INSERT INTO cdf_meetings (id, group_id, held_on, status, attendance, "
                    "cash_counted, cash_in_ledger, note, opened_by, closed_by, closed_at) "
                    "VALUES (%s, %s, %s, 'closed', 4, 0, 0, %s, %s, %s, now())",
                    (meeting, group, held, HOSTILE[month % len(HOSTILE)], maker, checker),
                )
                for number, member in enumerate(members[group]):
                    amount = SHARE * (number + 1)
                    savings.append(
                        books.transfer(
                            "savings",
                            held,
                            box,
                            books.account("savings", group, member),
                            amount,
                            group=group,
                            member=member,
                            meeting=meeting,
                            memo=HOSTILE[number],
                        )
                    )
                aid = books.account("mutual_aid", group)
                books.transfer("mutual_aid", held, box, aid, 20_000, group=group, meeting=meeting)
            books.transfer(
                "fine",
                date(2026, 2, 15),
                box,
                books.account("fine_income", group),
                5_000,
                group=group,
                member=members[group][3],
                memo="đi họp muộn " + HOSTILE[0],
            )

        # A saving recorded in error, reversed (in a month closed afterwards).
        books.reverse(savings[5], date(2026, 1, 20), "nhập trùng " + HOSTILE[1])

        loans: list[int] = []
        for index, group in enumerate(groups):
            member = members[group][0] if index < 2 else None  # the last: the whole group's
            loan = connection.execute(
                "INSERT INTO cdf_loans (client_id, fund_id, group_id, member_id, product_id, "
                "principal, rate_bp, rate_period, term_installments, frequency, method, "
                "purpose, status, applied_on, applied_by, approved_by, approved_at, "
                "disbursed_on, disbursed_by) VALUES (%s, %s, %s, %s, %s, %s, 100, 'month', "
                "%s, 'monthly', 'flat', %s, 'disbursed', '2026-01-20', %s, %s, now(), "
                "'2026-02-01', %s) RETURNING id",
                (
                    uuid.uuid4(),
                    fund,
                    group,
                    member,
                    product,
                    PRINCIPAL,
                    INSTALLMENTS,
                    "lợp mái " + HOSTILE[index],
                    maker,
                    checker,
                    checker,
                ),
            ).fetchone()[0]  # type: ignore[index]
            loans.append(loan)
            for seq, due_on in enumerate(DUE, start=1):
                connection.execute(
                    "INSERT INTO cdf_installments (loan_id, seq, due_on, principal_due, "
                    "interest_due) VALUES (%s, %s, %s, %s, %s)",
                    (loan, seq, due_on, PRINCIPAL // INSTALLMENTS, INTEREST),
                )
            receivable = books.account("loans_receivable", group, member)
            books.transfer(
                "disbursement",
                date(2026, 2, 1),
                receivable,
                fund_cash,
                PRINCIPAL,
                group=group,
                member=member,
                loan=loan,
            )

        first, second = (groups[0], loans[0]), (groups[1], loans[1])
        first_member, second_member = members[first[0]][0], members[second[0]][0]
        # The first loan: on time, late, then half an installment (its interest) on time.
        books.repay(first[0], first_member, first[1], date(2026, 2, 28), installment(1))
        books.repay(first[0], first_member, first[1], date(2026, 4, 10), installment(2))
        books.repay(first[0], first_member, first[1], date(2026, 5, 1), [(3, "interest", INTEREST)])
        # The second: paid on time, reversed (the cash never came), paid again late.
        paid = books.repay(second[0], second_member, second[1], date(2026, 2, 27), installment(1))
        books.reverse(paid, date(2026, 3, 5), "tiền giả " + HOSTILE[3])
        books.repay(second[0], second_member, second[1], date(2026, 3, 20), installment(1))
        # The third (the whole group's): nothing paid yet.

        connection.execute(
            "INSERT INTO cdf_periods (fund_id, starts_on, ends_on, closed_by) "
            "VALUES (%s, '2026-01-01', '2026-01-31', %s)",
            (fund, checker),
        )
        return {"books": books, "groups": groups, "loans": loans, "members": members}


def snapshot(url: str) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """Every row of the books' tables, with the column names they had."""
    found = {}
    with psycopg.connect(url) as connection:
        for table, key in BOOKS.items():
            cursor = connection.execute(f"SELECT * FROM {table} ORDER BY {key}")
            found[table] = ([c.name for c in cursor.description or []], cursor.fetchall())
    return found


def same_columns(url: str, before: dict[str, tuple[list[str], list[Any]]]) -> dict[str, Any]:
    """The same tables read again, the columns they had before only (later migrations may
    add some)."""
    found = {}
    with psycopg.connect(url) as connection:
        for table, (columns, _rows) in before.items():
            cursor = connection.execute(
                f"SELECT {', '.join(columns)} FROM {table} ORDER BY {BOOKS[table]}"
            )
            found[table] = (columns, cursor.fetchall())
    return found


def recomputed(url: str) -> dict[str, set[tuple[Any, ...]]]:
    """The four kept sums worked out here from the journal and the schedules."""
    with psycopg.connect(url) as connection:
        journal = connection.execute(
            "SELECT e.fund_id, e.kind, e.entry_date, o.kind, o.entry_date, a.kind, "
            "coalesce(a.source, ''), l.amount, l.loan_id, l.installment_seq, l.component "
            "FROM cdf_lines l JOIN cdf_entries e ON e.id = l.entry_id "
            "JOIN cdf_accounts a ON a.id = l.account_id "
            "LEFT JOIN cdf_entries o ON o.id = e.reverses_id"
        ).fetchall()
        schedule = connection.execute(
            "SELECT i.loan_id, i.seq, lo.fund_id, i.due_on, i.principal_due, i.interest_due "
            "FROM cdf_installments i JOIN cdf_loans lo ON lo.id = i.loan_id"
        ).fetchall()
    balances: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0])
    paid: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])  # principal, all
    lines_on: dict[tuple[int, int], list[tuple[Any, ...]]] = defaultdict(list)
    for fund, kind, day, o_kind, o_day, a_kind, source, amount, loan, seq, component in journal:
        row = balances[(fund, a_kind, source, day)]
        row[0] += amount
        if a_kind == "loans_receivable" and kind == "disbursement":
            row[1] += amount
        if seq is not None:
            paid[(loan, seq)][0] += -amount if component == "principal" else 0
            paid[(loan, seq)][1] += -amount
            lines_on[(loan, seq)].append((kind, day, o_kind, o_day, -amount))
    installments = set()
    for loan, seq, fund, due_on, principal_due, interest_due in schedule:
        # Paid by the due date; a reversal takes back a payment that had counted.
        on_time = sum(
            amount
            for kind, day, o_kind, o_day, amount in lines_on[(loan, seq)]
            if (kind != "reversal" and day <= due_on)
            or (kind == "reversal" and o_kind != "reversal" and o_day <= due_on)
        )
        principal_paid, all_paid = paid[(loan, seq)]
        installments.add(
            (
                loan,
                seq,
                fund,
                due_on,
                principal_due + interest_due,
                principal_due,
                principal_paid,
                all_paid,
                on_time,
            )
        )
    loans: dict[int, list[Any]] = {}
    days: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for loan, _seq, fund, due_on, due, principal_due, principal_paid, all_paid, on_time in sorted(
        installments
    ):
        unpaid = due - all_paid > 0
        entry = loans.setdefault(loan, [fund, 0, None])
        entry[1] += principal_due - principal_paid
        if unpaid and (entry[2] is None or due_on < entry[2]):
            entry[2] = due_on
        day = days[(fund, due_on)]
        day[0] += due
        day[1] += min(all_paid, due)
        day[2] += min(on_time, due)
        day[3] += principal_due - principal_paid if unpaid else 0
    return {
        "cdf_sum_balances": {(*key, *value) for key, value in balances.items()},
        "cdf_sum_installments": installments,
        "cdf_sum_loans": {(loan, *value) for loan, value in loans.items()},
        "cdf_sum_due_days": {(*key, *value) for key, value in days.items()},
    }


def kept(url: str) -> dict[str, set[tuple[Any, ...]]]:
    columns = {
        "cdf_sum_balances": "fund_id, kind, source, day, amount, lent",
        "cdf_sum_installments": "loan_id, seq, fund_id, due_on, due, principal_due, "
        "principal_paid, paid, paid_on_time",
        "cdf_sum_loans": "loan_id, fund_id, outstanding, oldest_unpaid_due",
        "cdf_sum_due_days": "fund_id, due_on, due, collected, on_time, principal_unpaid",
    }
    with psycopg.connect(url) as connection:
        return {
            table: set(connection.execute(f"SELECT {names} FROM {table}").fetchall())
            for table, names in columns.items()
        }


@pytest.fixture
def books_at_0009(database_url: str) -> Iterator[tuple[str, dict[str, Any]]]:
    with scratch_database(database_url, "cdfmap_upgrade_cdf") as url:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        command.upgrade(alembic_config(with_driver(url, "postgresql+psycopg")), BEFORE_0010)
        yield url, fill_books(url)


def test_the_cdf_books_survive_0010_and_0011_and_the_kept_sums_match_the_journal(
    books_at_0009: tuple[str, dict[str, Any]],
) -> None:
    url, filled = books_at_0009
    before = snapshot(url)
    # Capital twice; each group's savings, mutual aid and a fine; a saving reversed; three
    # disbursements; five repayments and one reversed.
    assert len(before["cdf_entries"][1]) == 2 + 3 * (3 * 4 + 3 + 1) + 1 + 3 + 5 + 1
    assert len(before["cdf_installments"][1]) == 3 * INSTALLMENTS

    upgrade_to_head(with_driver(url, "postgresql+psycopg"))
    with psycopg.connect(url) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchone() == (
            head_revision(),
        )
    assert same_columns(url, before) == before  # nothing lost, nothing changed
    with psycopg.connect(url) as connection:
        # 0029: each loan keeps its product's savings share (10 %), copied from the product.
        shares = connection.execute("SELECT id, min_savings_bp FROM cdf_loans ORDER BY id")
        assert shares.fetchall() == [(loan, 1000) for loan in sorted(filled["loans"])]
    sums = kept(url)
    assert sums == recomputed(url)

    # The figures a treasurer knows by heart, read from the kept sums.
    loans = {row[0]: row for row in sums["cdf_sum_loans"]}
    first, second, third = filled["loans"]
    per_installment = PRINCIPAL // INSTALLMENTS
    assert loans[first][2:] == (PRINCIPAL - 2 * per_installment, DUE[2])  # #3 half paid
    assert loans[second][2:] == (PRINCIPAL - per_installment, DUE[1])  # reversed, paid again
    assert loans[third][2:] == (PRINCIPAL, DUE[0])
    on_time = {(row[0], row[1]): row[8] for row in sums["cdf_sum_installments"]}
    assert on_time[(first, 1)] == INTEREST + per_installment
    assert on_time[(first, 2)] == 0  # paid late
    assert on_time[(first, 3)] == INTEREST
    assert on_time[(second, 1)] == 0  # the on-time payment was reversed, the next was late
    fund_cash = sum(row[4] for row in sums["cdf_sum_balances"] if row[1] == "fund_cash")
    assert fund_cash == 250_000_000 - 3 * PRINCIPAL

    # The upgraded schema posts on: a remittance (0010's new kind) and a late repayment,
    # each kept in the sums by 0011's triggers as it commits.
    books: Ledger = filled["books"]
    with psycopg.connect(url, autocommit=True) as connection:
        books.connection = connection
        group = filled["groups"][2]
        fund_cash, box = books.account("fund_cash"), books.account("group_cash", group)
        books.transfer(
            "remittance", date(2026, 4, 15), fund_cash, box, 1_000_000, group=group, memo=HOSTILE[2]
        )
        books.repay(group, None, third, date(2026, 4, 20), installment(1))
    after = kept(url)
    assert after == recomputed(url)
    assert {row[0]: row for row in after["cdf_sum_loans"]}[third][2:] == (
        PRINCIPAL - per_installment,
        DUE[1],
    )
    assert same_columns(url, before)["cdf_groups"] == before["cdf_groups"]
