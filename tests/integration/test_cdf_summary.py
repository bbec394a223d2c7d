"""The sums the database keeps as entries are posted (migration 0011) against the journal.

Randomized books (seeded, so a failure repeats): capital, savings, withdrawals, mutual aid,
loans of both methods repaid on time, late, in part or not at all, reversals (also of
entries in a period closed afterwards), a closed period refusing entries, and a burst of
postings for two groups of the fund at the same moment on separate connections. After each
stage every figure of the report read from the kept sums equals the same figure summed
from the journal (app/db/cdf_reports.py, `journal=True`), for several days and periods;
and the kept rows equal the ones `cdf_summary_rebuild()` computes from the journal.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import cdf_reports as queries
from app.db.engine import make_engine
from app.errors import Conflict, DomainError, InvalidInput
from app.services import cdf_books, cdf_loans, cdf_postings
from app.services.access import Grant, Principal
from app.settings import Settings
from tests.aio import run
from tests.auth import make_user
from tests.cdf_support import drop_cities, make_city, uid

CITY = "cdf-summary-town"
BASE = date(2024, 1, 1)
SUMS = {
    "cdf_sum_balances": "fund_id, kind, source, day, amount, lent",
    "cdf_sum_installments": "loan_id, seq, fund_id, due_on, due, principal_due, "
    "principal_paid, paid, paid_on_time",
    "cdf_sum_loans": "loan_id, fund_id, outstanding, oldest_unpaid_due",
    "cdf_sum_due_days": "fund_id, due_on, due, collected, on_time, principal_unpaid",
}


@pytest.fixture(scope="module")
def books(database_url: str, sync_engine: Engine) -> Iterator[dict[str, Any]]:
    ids = make_city(sync_engine, CITY)
    people = []
    for name in ("cdf-summary-maker", "cdf-summary-checker"):
        user = make_user(sync_engine, name, [("cdf_staff", ("city", CITY))], city=CITY)
        people.append(Principal(user, name, name, (Grant("cdf_staff", ids["city"]),)))  # type: ignore[arg-type]
    yield {
        "maker": people[0],
        "checker": people[1],
        "settings": Settings(database_url=database_url),
    }
    drop_cities(sync_engine, CITY)


def _day_of(months: int, days: int = 0, base: date = BASE) -> str:
    year, month = divmod(base.month - 1 + months, 12)
    return (date(base.year + year, month + 1, base.day) + timedelta(days=days)).isoformat()


async def _fund(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "SELECT f.id FROM cdf_funds f JOIN cities c ON c.id = f.city_id "
                    "WHERE c.slug = :slug"
                ),
                {"slug": CITY},
            )
        ).one()
    return int(row.id)


def _rows(raw: dict[str, list[dict[str, Any]]]) -> dict[str, list[tuple[Any, ...]]]:
    def norm(row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(sorted((k, int(v) if v is not None and k != "kind" and k != "source"
                             else v) for k, v in row.items()))  # fmt: skip

    return {name: sorted(norm(r) for r in rows) for name, rows in raw.items()}


async def _compare(engine: AsyncEngine, fund: int, base: date) -> int:
    """Every figure from the kept sums equals the journal's, for days after the latest entry
    (the sums' arrears) and before it (their balances); how many figures were compared."""
    compared = 0
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="REPEATABLE READ")
        latest = await queries.latest_entry(connection, [fund])
        assert latest is not None
        days = [latest, latest + timedelta(days=31), latest + timedelta(days=95)]
        days += [latest - timedelta(days=40), base + timedelta(days=150)]
        for as_of in days:
            for start in (base, base + timedelta(days=120), as_of - timedelta(days=61)):
                kept = _rows(await queries.figures(connection, [fund], as_of, start))
                journal = _rows(
                    await queries.figures(connection, [fund], as_of, start, journal=True)
                )
                assert kept == journal, (as_of, start)
                assert kept["arrears"] and kept["balances"]
                compared += sum(len(r) for rows in kept.values() for r in rows)
    return compared


def _cases(engine: Engine, fund: int) -> dict[str, int]:
    """What the books hold: payments on time and late, reversed or not."""
    with engine.connect() as connection:
        row = connection.execute(
            text(
                """
SELECT count(*) FILTER (WHERE e.entry_date <= i.due_on AND r.id IS NULL) AS on_time,
       count(*) FILTER (WHERE e.entry_date <= i.due_on AND r.id IS NOT NULL) AS on_time_reversed,
       count(*) FILTER (WHERE e.entry_date > i.due_on AND r.id IS NULL) AS late,
       count(*) FILTER (WHERE e.entry_date > i.due_on AND r.id IS NOT NULL) AS late_reversed
FROM cdf_lines l JOIN cdf_entries e ON e.id = l.entry_id AND e.kind = 'repayment'
JOIN cdf_installments i ON i.loan_id = l.loan_id AND i.seq = l.installment_seq
LEFT JOIN cdf_entries r ON r.reverses_id = e.id
WHERE e.fund_id = :f
"""
            ),
            {"f": fund},
        ).one()
    return dict(row._mapping)


def _kept_equals_rebuilt(engine: Engine, fund: int) -> None:
    with engine.connect() as connection, connection.begin() as outer:

        def read() -> dict[str, list[tuple[Any, ...]]]:
            return {
                table: sorted(
                    tuple(row)
                    for row in connection.execute(
                        text(f"SELECT {columns} FROM {table} WHERE fund_id = :f"), {"f": fund}
                    )
                )
                for table, columns in SUMS.items()
            }

        kept = read()
        connection.execute(text("SELECT cdf_summary_rebuild()"))
        rebuilt = read()
        outer.rollback()
    assert kept == rebuilt
    assert all(kept.values())


async def _try(call: Any) -> Any:
    """A posting that may be refused (more than owed, more than saved): None then."""
    try:
        return await call
    except (InvalidInput, Conflict):
        return None


async def _scenario(books: dict[str, Any], seed: int, sync_engine: Engine) -> None:
    rng = random.Random(seed)
    # Each run's books in years of their own (the period a run closes refuses the next's).
    base = date(BASE.year - 1 - seed % 3, 1, 1)

    def _day(months: int, days: int = 0) -> str:
        return _day_of(months, days, base)

    maker, checker = books["maker"], books["checker"]
    engine = make_engine(books["settings"].async_database_url, pool_size=10, max_overflow=10)
    try:
        await cdf_postings.receive_capital(
            engine,
            maker,
            CITY,
            {"client_id": uid(), "source": "seed_grant", "amount": 200_000_000, "date": _day(0)},
        )
        await cdf_postings.receive_capital(
            engine,
            maker,
            CITY,
            {"client_id": uid(), "source": "donor", "amount": 50_000_000, "date": _day(2)},
        )
        products = []
        for code, method, rate, term in (("F", "flat", 120, 6), ("D", "declining", 80, 4)):
            product = await cdf_books.create_product(
                engine,
                maker,
                CITY,
                {
                    "code": f"{code}{seed}",
                    "name": f"Vay {code}",
                    "kind": "income",
                    "rate_bp": rate,
                    "rate_period": "month",
                    "term_installments": term,
                    "frequency": "monthly",
                    "method": method,
                },
            )
            products.append(product["id"])
        members: dict[int, list[int]] = {}
        for g in range(2):
            group = await cdf_books.create_group(
                engine,
                maker,
                CITY,
                {
                    "name": f"Nhóm {seed}-{g}",
                    "founded_on": _day(0),
                    "meeting_frequency": "monthly",
                    "share_value": 20_000,
                },
            )
            members[group["id"]] = []
            for m in range(4):
                member = await cdf_books.add_member(
                    engine,
                    maker,
                    group["id"],
                    {"code": f"M{m}", "name": f"Thành viên {m}", "joined_on": _day(0)},
                )
                members[group["id"]].append(member["id"])
        entries: list[int] = []
        for month in range(8):
            for group, people in members.items():
                for member in people:
                    for kind in ("savings", "mutual_aid", "fine", "withdrawal"):
                        if kind != "savings" and rng.random() < 0.7:
                            continue
                        posted = await _try(
                            cdf_postings.group_transaction(
                                engine,
                                maker,
                                group,
                                {
                                    "client_id": uid(),
                                    "kind": kind,
                                    "amount": 20_000 * rng.randint(1, 5),
                                    "member_id": member,
                                    "date": _day(month, rng.randint(0, 20)),
                                },
                            )
                        )
                        if posted:
                            entries.append(posted["entry_id"])
        loans: list[tuple[int, int]] = []
        for group, people in members.items():
            for member in people[:3]:
                applied = await cdf_loans.apply(
                    engine,
                    maker,
                    CITY,
                    {
                        "client_id": uid(),
                        "group_id": group,
                        "member_id": member,
                        "product_id": rng.choice(products),
                        "principal": 100_000 * rng.randint(5, 40) + rng.randint(0, 999),
                        "date": _day(1),
                    },
                )
                loan = applied["loan"]["id"]
                await cdf_loans.decide(
                    engine, checker, loan, {"decision": "approved", "date": _day(1)}
                )
                await cdf_loans.disburse(
                    engine, maker, loan, {"client_id": uid(), "date": _day(1, rng.randint(0, 9))}
                )
                loans.append((group, loan))
        for _group, loan in loans:
            behaviour = rng.choice(("on_time", "late", "partial", "stops"))
            for month in range(2, 9):
                if behaviour == "stops" and month > 3:
                    break
                late = rng.randint(5, 70) if behaviour == "late" else 0
                amount = rng.randint(50_000, 400_000)
                if behaviour == "partial":
                    amount //= 3
                posted = await _try(
                    cdf_loans.repay(
                        engine,
                        maker,
                        loan,
                        {"client_id": uid(), "amount": amount, "date": _day(month, late)},
                    )
                )
                if posted:
                    entries.append(posted["entry_id"])
        for entry in rng.sample(entries, len(entries) // 6):
            when = rng.choice((None, _day(9), _day(2, 3)))
            body = {"client_id": uid(), "memo": "sửa sai / correction"}
            if when:
                body["date"] = when
            await _try(cdf_postings.reverse(engine, maker, entry, body))
        fund = await _fund(engine)
        cases = _cases(sync_engine, fund)
        assert all(cases.values()), cases
        assert await _compare(engine, fund, base) > 0
        _kept_equals_rebuilt(sync_engine, fund)

        # A closed period: entries dated inside are refused and change no sum; a reversal
        # (dated today) of an entry inside it is posted.
        await cdf_postings.close_period(
            engine, maker, CITY, {"starts_on": _day(0), "ends_on": _day(1, -1)}
        )
        group, people = next(iter(members.items()))
        with pytest.raises(DomainError):
            await cdf_postings.group_transaction(
                engine,
                maker,
                group,
                {
                    "client_id": uid(),
                    "kind": "savings",
                    "amount": 40_000,
                    "member_id": people[0],
                    "date": _day(0, 5),
                },
            )
        fix = {"client_id": uid(), "memo": "x"}
        await _try(cdf_postings.reverse(engine, maker, entries[0], fix))

        # Two groups of the fund posting at the same moment on separate connections.
        calls = []
        for _group, loan in loans:
            calls.append(
                cdf_loans.repay(
                    engine,
                    maker,
                    loan,
                    {"client_id": uid(), "amount": rng.randint(10_000, 90_000), "date": _day(9)},
                )
            )
        for group, people in members.items():
            for member in people:
                calls.append(
                    cdf_postings.group_transaction(
                        engine,
                        maker,
                        group,
                        {
                            "client_id": uid(),
                            "kind": "savings",
                            "amount": 20_000,
                            "member_id": member,
                            "date": _day(9, 1),
                        },
                    )
                )
        for entry in entries[-4:]:
            fix = {"client_id": uid(), "memo": "y"}
            calls.append(cdf_postings.reverse(engine, maker, entry, fix))
        results = await asyncio.gather(*calls, return_exceptions=True)
        unexpected = [
            r for r in results
            if isinstance(r, BaseException) and not isinstance(r, InvalidInput | Conflict)
        ]  # fmt: skip
        assert not unexpected, unexpected
        assert sum(isinstance(r, dict) for r in results) >= len(members) * 4
        assert await _compare(engine, fund, base) > 0
        _kept_equals_rebuilt(sync_engine, fund)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("seed", [12, 2026])
def test_kept_sums_equal_the_journal(books: dict[str, Any], sync_engine: Engine, seed: int) -> None:
    run(_scenario(books, seed, sync_engine))


def test_a_plain_insert_keeps_the_sums(books: dict[str, Any], sync_engine: Engine) -> None:
    """Lines written with plain SQL (no service) move the sums in the same transaction; a
    rolled-back posting leaves no trace; schedules refuse changes."""
    engine = make_engine(books["settings"].async_database_url)
    capital = {"client_id": uid(), "source": "seed_grant", "amount": 1_000, "date": _day_of(0)}
    run(cdf_postings.receive_capital(engine, books["maker"], CITY, capital))
    run(engine.dispose())
    with sync_engine.begin() as connection:
        fund, cash, capital = connection.execute(
            text(
                "SELECT f.id, (SELECT id FROM cdf_accounts WHERE fund_id = f.id "
                "AND kind = 'fund_cash'), (SELECT id FROM cdf_accounts WHERE fund_id = f.id "
                "AND kind = 'capital' AND source = 'seed_grant') FROM cdf_funds f "
                "JOIN cities c ON c.id = f.city_id WHERE c.slug = :slug"
            ),
            {"slug": CITY},
        ).one()

    def balance(connection: Any) -> int:
        return int(
            connection.execute(
                text(
                    "SELECT coalesce(sum(amount), 0) FROM cdf_sum_balances "
                    "WHERE fund_id = :f AND kind = 'fund_cash'"
                ),
                {"f": fund},
            ).scalar_one()
        )

    def post(connection: Any, amount: int) -> None:
        entry = connection.execute(
            text(
                "INSERT INTO cdf_entries (fund_id, client_id, entry_date, kind) "
                "VALUES (:f, gen_random_uuid(), '2024-06-30', 'capital') RETURNING id"
            ),
            {"f": fund},
        ).scalar_one()
        connection.execute(
            text(
                "INSERT INTO cdf_lines (entry_id, account_id, amount) VALUES "
                "(:e, :cash, :a), (:e, :capital, -(:a))"
            ),
            {"e": entry, "cash": cash, "capital": capital, "a": amount},
        )

    with sync_engine.connect() as connection:
        before = balance(connection)
    with sync_engine.begin() as connection:
        post(connection, 7_777)
        assert balance(connection) == before + 7_777
    with sync_engine.connect() as connection, connection.begin() as transaction:
        post(connection, 1_000_000)
        transaction.rollback()
    with sync_engine.connect() as connection:
        assert balance(connection) == before + 7_777
        journal = connection.execute(
            text(
                "SELECT sum(l.amount) FROM cdf_lines l JOIN cdf_accounts a ON a.id = l.account_id "
                "WHERE a.fund_id = :f AND a.kind = 'fund_cash'"
            ),
            {"f": fund},
        ).scalar_one()
        assert balance(connection) == journal
    for statement in (
        "UPDATE cdf_installments SET principal_due = principal_due + 1",
        "DELETE FROM cdf_installments",
    ):
        with (
            pytest.raises(Exception, match="cdf_posted_immutable"),
            sync_engine.begin() as connection,
        ):
            connection.execute(text(statement))
