"""The sample city's CDF books: savings groups in most settlements, 2-3 years of monthly
meetings, savings, mutual aid, fines, loans and repayments with realistic arrears.

Generated from a seed, so the same every time; the dates end with the month the sample is
loaded (the last meeting falls in the month before), so that reports read "today" show
current books rather than years of arrears. Written with COPY in one transaction: the
database's own checks (balanced entries, accounts of the fund) run on every row, and the
whole load adds about 5 seconds to `make run`'s first start (docs/cdf.md).

Figures follow the reference (docs/cdf.md): 15-25 members a group, shares of 20,000-50,000
đồng and 1-5 shares a meeting, loans of 1-15 million at 0.5-1.5 %/month; most borrowers pay
on time, some late, a few stop paying (PAR30 clearly above zero).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, text

from app.services.cdf_schedule import Outstanding, add_months, allocate, schedule
from app.vietnam import today_in_vietnam

SEED_NAMESPACE = uuid.UUID("4c6f616e-5361-6d70-6c65-434446000000")
SHARE_VALUES = (20_000, 25_000, 30_000, 40_000, 50_000)
# code, name, kind, rate_bp a month, installments, method, share of loans, principal choices
PRODUCTS = (
    ("SXKD", "Vay sản xuất kinh doanh", "income", 120, 12, "flat", 0.6, (1, 2, 3, 4, 5, 6, 7)),
    ("KC", "Vay khẩn cấp", "emergency", 50, 6, "declining", 0.25, (1, 1.5, 2, 3)),
    ("NHA", "Vay sửa nhà", "housing", 80, 24, "declining", 0.15, (8, 10, 12, 15)),
)
CAPITAL = (
    ("seed_grant", 1_200_000_000, 0, "Vốn hạt giống ACCA"),
    ("city_budget", 400_000_000, 0, "Ngân sách thành phố đối ứng"),
    ("donor", 250_000_000, 0, "Nhà tài trợ"),
    ("donor", 200_000_000, 12, "Nhà tài trợ bổ sung"),
)
FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Phan", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô")
MIDDLE = ("Thị", "Văn", "Thị", "Hữu", "Thị", "Minh", "Thị", "Đức")
GIVEN = (
    "Hoa", "Lan", "Mai", "Hồng", "Thu", "Hạnh", "Nga", "Bình", "An", "Tâm", "Hương", "Xuân",
    "Cúc", "Đào", "Hải", "Long", "Sơn", "Tuấn", "Phúc", "Lộc", "Yến", "Trang", "Vân", "Liên",
)  # fmt: skip


@dataclass
class Books:
    """Rows to COPY, with ids reserved from each table's sequence."""

    ids: dict[str, list[int]]
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)

    def next_id(self, table: str) -> int:
        """An id reserved for `table`."""
        return self.ids[table].pop()

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        """A row for `table`."""
        self.rows.setdefault(table, []).append(row)


@dataclass
class Loan:
    id: int
    member: int
    receivable: int
    owed: list[Outstanding]
    behaviour: str  # good | late | stops
    stops_after: int


class Generator:
    """The books of one fund, built row by row in memory."""

    def __init__(self, books: Books, fund_id: int, rng: random.Random, staff: tuple[int, int]):
        self.books, self.fund_id, self.rng, self.staff = books, fund_id, rng, staff
        self.accounts: dict[tuple[Any, ...], int] = {}
        self.entry_count = 0
        self.paid_off: set[int] = set()  # loans repaid in full: closed, as the API closes them

    def account(self, kind: str, group: int | None = None, member: int | None = None,
                source: str | None = None) -> int:  # fmt: skip
        """The id of an account, opened on first use."""
        key = (kind, group, member, source)
        if key not in self.accounts:
            account_id = self.books.next_id("cdf_accounts")
            self.accounts[key] = account_id
            self.books.add("cdf_accounts", (account_id, self.fund_id, group, member, kind, source))
        return self.accounts[key]

    def entry(self, day: date, kind: str, lines: Sequence[tuple[Any, ...]], memo: str = "",
              group: int | None = None, member: int | None = None, loan: int | None = None,
              meeting: uuid.UUID | None = None) -> int:  # fmt: skip
        """Post an entry; lines are (account, amount[, loan, seq, component])."""
        entry_id = self.books.next_id("cdf_entries")
        self.entry_count += 1
        client = uuid.uuid5(SEED_NAMESPACE, f"{self.fund_id}-{self.entry_count}")
        self.books.add(
            "cdf_entries",
            (entry_id, self.fund_id, client, day, kind, memo, group, member, loan, meeting,
             self.staff[0]),
        )  # fmt: skip
        for line in lines:
            account, amount, *tags = line
            loan_id, seq, component = (*tags, None, None, None)[:3]
            if amount:
                self.books.add("cdf_lines", (entry_id, account, amount, loan_id, seq, component))
        return entry_id

    def name(self) -> str:
        """A Vietnamese name."""
        r = self.rng
        return f"{r.choice(FAMILY)} {r.choice(MIDDLE)} {r.choice(GIVEN)}"


def _reserve(connection: Connection, table: str, count: int) -> list[int]:
    rows = connection.execute(
        text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
        {"t": table, "n": count},
    )
    return sorted((int(r[0]) for r in rows), reverse=True)


def _copy(
    connection: Connection, table: str, columns: str, rows: Iterable[tuple[Any, ...]]
) -> None:
    raw = connection.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


COLUMNS = {
    "cdf_groups": "id, fund_id, settlement_id, name, founded_on, meeting_frequency, share_value, "
    "rules, created_by",
    "cdf_members": "id, group_id, code, name, household_survey_id, joined_on",
    "cdf_accounts": "id, fund_id, group_id, member_id, kind, source",
    "cdf_loans": "id, client_id, fund_id, group_id, member_id, product_id, principal, rate_bp, "
    "rate_period, term_installments, frequency, method, purpose, status, applied_on, "
    "applied_by, approved_by, approved_at, disbursed_on, disbursed_by",
    "cdf_installments": "loan_id, seq, due_on, principal_due, interest_due",
    "cdf_meetings": "id, group_id, held_on, status, attendance, cash_counted, cash_in_ledger, "
    "note, opened_by, closed_by, closed_at",
    "cdf_entries": "id, fund_id, client_id, entry_date, kind, memo, group_id, member_id, loan_id, "
    "meeting_id, created_by",
    "cdf_lines": "entry_id, account_id, amount, loan_id, installment_seq, component",
}
ORDER = tuple(COLUMNS)
RESERVE = {"cdf_groups": 100, "cdf_members": 3000, "cdf_accounts": 8000, "cdf_loans": 6000,
           "cdf_entries": 80_000}  # fmt: skip


def _group(
    gen: Generator,
    settlement: dict[str, Any],
    surveys: list[uuid.UUID],
    products: list[tuple[int, tuple[Any, ...]]],
    end: date,
) -> None:
    """One savings group's members, meetings, money and loans."""
    rng, books = gen.rng, gen.books
    months = rng.randint(24, 36)
    day = rng.randint(1, 28)
    founded = add_months(date(end.year, end.month, day), -months)
    group = books.next_id("cdf_groups")
    share = rng.choice(SHARE_VALUES)
    books.add(
        "cdf_groups",
        (group, gen.fund_id, settlement["id"], f"Nhóm tiết kiệm {settlement['name']}", founded,
         "monthly", share, "Mỗi tháng họp một lần; mỗi thành viên mua 1-5 cổ phần; "
         "phạt 10.000 đồng khi vắng không báo.", gen.staff[0]),
    )  # fmt: skip
    cash = gen.account("group_cash", group)
    aid = gen.account("mutual_aid", group)
    fines = gen.account("fine_income", group)
    over_short = gen.account("cash_over_short", group)
    interest = gen.account("interest_income")
    fund_cash = gen.account("fund_cash")
    members = []
    for index in range(rng.randint(15, 25)):
        member = books.next_id("cdf_members")
        draw = rng.random()  # drawn either way: the books do not depend on the surveys loaded
        linked = surveys[index] if index < len(surveys) and draw < 0.7 else None
        books.add("cdf_members", (member, group, f"TV-{index + 1:02}", gen.name(), linked, founded))
        members.append((member, gen.account("savings", group, member), rng.randint(1, 3)))
    saved = dict.fromkeys((m for m, _, _ in members), 0)
    loans: dict[int, Loan] = {}
    ledger_cash = 0
    for month in range(months):
        held = add_months(founded, month)
        meeting = uuid.uuid5(SEED_NAMESPACE, f"meeting-{group}-{month}")
        present = [m for m in members if rng.random() < 0.92]
        # The meeting's collection sheet of savings as one entry: the box, each member.
        sheet: list[tuple[Any, ...]] = []
        for member, savings, habit in present:
            amount = share * max(1, min(5, habit + rng.choice((-1, 0, 0, 0, 1))))
            sheet.append((savings, -amount))
            saved[member] += amount
        total = -sum(line[1] for line in sheet)
        gen.entry(held, "savings", [(cash, total), *sheet], memo="Mua cổ phần", group=group,
                  meeting=meeting)  # fmt: skip
        ledger_cash += total
        if month and month % 12 == 0:
            for member, savings, _ in present:
                if rng.random() < 0.2 and saved[member] > 0:
                    amount = saved[member] // 2 // 1000 * 1000
                    gen.entry(held, "withdrawal", [(savings, amount), (cash, -amount)],
                              group=group, member=member, meeting=meeting)  # fmt: skip
                    saved[member] -= amount
                    ledger_cash -= amount
        contribution = sum(rng.choice((5_000, 10_000)) for _ in present)
        gen.entry(held, "mutual_aid", [(cash, contribution), (aid, -contribution)],
                  memo="Quỹ tương trợ", group=group, meeting=meeting)  # fmt: skip
        ledger_cash += contribution
        absent = len(members) - len(present)
        if absent and rng.random() < 0.5:
            fine = 10_000 * rng.randint(1, absent)
            gen.entry(held, "fine", [(cash, fine), (fines, -fine)], memo="Phạt vắng họp",
                      group=group, meeting=meeting)  # fmt: skip
            ledger_cash += fine
        repaid = _repayments(gen, loans, held, cash, interest, group, meeting)
        if repaid:  # handed over to the fund, which lends it again
            gen.entry(held, "remittance", [(fund_cash, repaid), (cash, -repaid)],
                      memo="Nộp tiền thu nợ về quỹ", group=group, meeting=meeting)  # fmt: skip
        if month >= 2:
            _new_loans(gen, loans, members, products, held, group, fund_cash, saved)
        counted = ledger_cash
        note = ""
        if rng.random() < 0.03:
            difference = rng.choice((-1, 1)) * rng.choice((2_000, 5_000, 10_000, 20_000))
            counted += difference
            note = "Thiếu tiền khi kiểm quỹ" if difference < 0 else "Thừa tiền khi kiểm quỹ"
            gen.entry(held, "cash_difference", [(cash, difference), (over_short, -difference)],
                      memo=note, group=group, meeting=meeting)  # fmt: skip
        books.add(
            "cdf_meetings",
            (meeting, group, held, "closed", len(present), counted, ledger_cash, note,
             gen.staff[0], gen.staff[0], held),
        )  # fmt: skip
        ledger_cash = counted


def _repayments(
    gen: Generator, loans: dict[int, Loan], held: date, cash: int, interest: int, group: int,
    meeting: uuid.UUID,
) -> int:  # fmt: skip
    """Each borrower pays what fell due by this meeting, as their habit goes."""
    collected = 0
    for member, loan in list(loans.items()):
        due = [o for o in loan.owed if o.due_on <= held and o.principal + o.interest > 0]
        if not due:
            if all(o.principal + o.interest == 0 for o in loan.owed):
                del loans[member]
            continue
        paid_so_far = sum(1 for o in loan.owed if o.principal + o.interest == 0)
        if loan.behaviour == "stops" and paid_so_far >= loan.stops_after:
            continue
        if loan.behaviour == "late" and len(due) < 3 and gen.rng.random() < 0.55:
            continue
        amount = sum(o.principal + o.interest for o in due)
        parts = allocate(amount, loan.owed, held)
        lines: list[tuple[Any, ...]] = [(cash, amount, loan.id)]
        left = {o.seq: o for o in loan.owed}
        for part in parts:
            target = loan.receivable if part.component == "principal" else interest
            lines.append((target, -part.amount, loan.id, part.seq, part.component))
            o = left[part.seq]
            left[part.seq] = Outstanding(
                o.seq,
                o.due_on,
                o.principal - (part.amount if part.component == "principal" else 0),
                o.interest - (part.amount if part.component == "interest" else 0),
            )
        loan.owed = [left[o.seq] for o in loan.owed]
        gen.entry(held, "repayment", lines, group=group, member=member, loan=loan.id,
                  meeting=meeting)  # fmt: skip
        if all(o.principal + o.interest == 0 for o in loan.owed):
            gen.paid_off.add(loan.id)
        collected += amount
    return collected


def _new_loans(
    gen: Generator,
    loans: dict[int, Loan],
    members: list[tuple[int, int, int]],
    products: list[tuple[int, tuple[Any, ...]]],
    held: date,
    group: int,
    fund_cash: int,
    saved: dict[int, int],
) -> None:
    """Some members without a loan borrow at this meeting."""
    rng, books = gen.rng, gen.books
    for member, _savings, _habit in members:
        if member in loans or rng.random() > 0.07:
            continue
        product_id, (_code, name, _kind, rate, term, method, _share, sizes) = rng.choices(
            products, weights=[p[1][6] for p in products]
        )[0]
        principal = int(rng.choice(sizes) * 1_000_000)
        if sum(saved.values()) * 10 < principal:  # the group's savings precondition (10 %)
            continue
        loan_id = books.next_id("cdf_loans")
        behaviour = rng.choices(("good", "late", "stops"), weights=(82, 13, 5))[0]
        rows = schedule(principal, rate, "month", term, "monthly", method, held)
        status = "disbursed"
        books.add(
            "cdf_loans",
            (loan_id, uuid.uuid5(SEED_NAMESPACE, f"loan-{loan_id}"), gen.fund_id, group, member,
             product_id, principal, rate, "month", term, "monthly", method, name, status,
             held, gen.staff[0], gen.staff[1], held, held, gen.staff[1]),
        )  # fmt: skip
        for row in rows:
            books.add(
                "cdf_installments", (loan_id, row.seq, row.due_on, row.principal, row.interest)
            )
        receivable = gen.account("loans_receivable", group, member)
        lines = [(receivable, principal, loan_id), (fund_cash, -principal, loan_id)]
        gen.entry(held, "disbursement", lines, memo=name, group=group, member=member,
                  loan=loan_id)  # fmt: skip
        loans[member] = Loan(
            loan_id,
            member,
            receivable,
            [Outstanding(r.seq, r.due_on, r.principal, r.interest) for r in rows],
            behaviour,
            rng.randint(1, max(1, term // 3)),
        )


def _staff(connection: Connection, city_id: int, grant: bool = True) -> tuple[int, int]:
    """Two CDF staff demo accounts (the maker and the checker of the sample's loans); with
    `grant`, staff of this city's fund (and of no other)."""
    from app.services.auth import hash_password

    # The demo accounts' hash when they exist (one argon2 hash costs ~0.1 s of CPU).
    password_hash = connection.execute(
        text("SELECT password_hash FROM users WHERE username = 'demo-admin'")
    ).scalar() or hash_password("demo")
    ids = []
    for username, display in (
        ("demo-cdf-staff", "Cán bộ quỹ CDF (demo)"),
        ("demo-cdf-board", "Ban quản lý quỹ CDF (demo)"),
    ):
        user_id = connection.execute(
            text(
                "INSERT INTO users (username, display_name, password_hash, is_demo) "
                "VALUES (:u, :d, :p, true) ON CONFLICT (username) DO UPDATE "
                "SET display_name = excluded.display_name RETURNING id"
            ),
            {"u": username, "d": display, "p": password_hash},
        ).scalar_one()
        if grant:
            connection.execute(text("DELETE FROM role_grants WHERE user_id = :id"), {"id": user_id})
            connection.execute(
                text(
                    "INSERT INTO role_grants (user_id, role, city_id) VALUES (:u, 'cdf_staff', :c)"
                ),
                {"u": user_id, "c": city_id},
            )
        ids.append(int(user_id))
    return ids[0], ids[1]


def load_sample_cdf(
    connection: Connection,
    city_id: int,
    seed: int = 2026,
    today: date | None = None,
    demo_grants: bool = True,
) -> int:
    """The sample city's CDF books (once: nothing when its fund has groups); the number of
    journal lines written. A demo treasurer keeps the first group's cash book. Without
    `demo_grants` (the network's other cities) the demo accounts keep the roles they have."""
    today = today or today_in_vietnam()
    exists = connection.execute(
        text(
            "SELECT count(*) FROM cdf_groups g JOIN cdf_funds f ON f.id = g.fund_id "
            "WHERE f.city_id = :c"
        ),
        {"c": city_id},
    ).scalar_one()
    if exists:
        return 0
    staff = _staff(connection, city_id, demo_grants)
    fund_id = connection.execute(
        text(
            "INSERT INTO cdf_funds (city_id, name) SELECT id, 'Quỹ phát triển cộng đồng ' || name "
            "FROM cities WHERE id = :c ON CONFLICT (city_id) DO UPDATE SET name = excluded.name "
            "RETURNING id"
        ),
        {"c": city_id},
    ).scalar_one()
    rng = random.Random(seed)
    settlements = [
        dict(row._mapping)
        for row in connection.execute(
            text("SELECT id, name FROM settlements WHERE city_id = :c ORDER BY code"),
            {"c": city_id},
        )
    ]
    chosen = [s for s in settlements if rng.random() < 0.75]
    surveys: dict[int, list[uuid.UUID]] = {}
    for row in connection.execute(
        text(
            "SELECT settlement_id, (array_agg(id ORDER BY id))[1:25] AS ids FROM household_surveys "
            "WHERE city_id = :c AND settlement_id IS NOT NULL GROUP BY settlement_id"
        ),
        {"c": city_id},
    ):
        surveys[row.settlement_id] = list(row.ids)
    products = []
    for product in PRODUCTS:
        code, name, kind, rate, term, method, _share, _sizes = product
        product_id = connection.execute(
            text(
                "INSERT INTO cdf_loan_products (fund_id, code, name, kind, rate_bp, rate_period, "
                "term_installments, frequency, method, min_savings_bp, max_principal) VALUES "
                "(:f, :code, :name, :kind, :rate, 'month', :term, 'monthly', :method, 1000, "
                "15000000) ON CONFLICT (fund_id, code) DO UPDATE SET name = excluded.name "
                "RETURNING id"
            ),
            {"f": fund_id, "code": code, "name": name, "kind": kind, "rate": rate, "term": term,
             "method": method},
        ).scalar_one()  # fmt: skip
        products.append((int(product_id), product))
    books = Books({table: _reserve(connection, table, n) for table, n in RESERVE.items()})
    gen = Generator(books, int(fund_id), rng, staff)
    start = add_months(date(today.year, today.month, 1), -37)
    fund_cash = gen.account("fund_cash")
    for source, amount, months_later, memo in CAPITAL:
        capital = gen.account("capital", source=source)
        gen.entry(
            add_months(start, months_later),
            "capital",
            [(fund_cash, amount), (capital, -amount)],
            memo=memo,
        )
    for settlement in chosen:
        _group(gen, settlement, surveys.get(settlement["id"], []), products, today)
    status = COLUMNS["cdf_loans"].split(", ").index("status")
    books.rows["cdf_loans"] = [
        (*row[:status], "closed", *row[status + 1 :]) if row[0] in gen.paid_off else row
        for row in books.rows.get("cdf_loans", [])
    ]
    for table in ORDER:
        _copy(connection, table, COLUMNS[table], books.rows.get(table, []))
    first_group = books.rows["cdf_groups"][0][0]
    treasurer = connection.execute(
        text(
            "INSERT INTO users (username, display_name, password_hash, is_demo) VALUES "
            "('demo-treasurer', 'Thủ quỹ nhóm (demo)', (SELECT password_hash FROM users "
            "WHERE username = 'demo-cdf-staff'), true) ON CONFLICT (username) DO UPDATE "
            "SET display_name = excluded.display_name RETURNING id"
        )
    ).scalar_one()
    if demo_grants:
        connection.execute(text("DELETE FROM role_grants WHERE user_id = :id"), {"id": treasurer})
        connection.execute(
            text(
                "INSERT INTO role_grants (user_id, role, city_id, cdf_group_id) "
                "VALUES (:u, 'treasurer', :c, :g)"
            ),
            {"u": treasurer, "c": city_id, "g": first_group},
        )
    for table in ("cdf_entries", "cdf_lines", "cdf_installments", "cdf_accounts"):
        connection.execute(text(f"ANALYZE {table}"))
    return len(books.rows.get("cdf_lines", []))
