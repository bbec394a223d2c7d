"""The database keeps the CDF's books honest on its own: plain SQL, as anyone with a psql
session could send it, cannot post an unbalanced entry, change or delete a posted one, add
lines to it later, post into a closed period, or approve one's own loan."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from tests.auth import make_user
from tests.cdf_support import drop_cities, make_city


@pytest.fixture(scope="module")
def books(sync_engine: Engine) -> Iterator[dict[str, int]]:
    ids = make_city(sync_engine, "cdf-ledger-town")
    with sync_engine.begin() as connection:
        fund = connection.execute(
            text("INSERT INTO cdf_funds (city_id, name) VALUES (:c, 'CDF') RETURNING id"),
            {"c": ids["city"]},
        ).scalar_one()
        cash, capital = (
            connection.execute(
                text(
                    "INSERT INTO cdf_accounts (fund_id, kind, source) VALUES (:f, :k, :s) "
                    "RETURNING id"
                ),
                {"f": fund, "k": kind, "s": source},
            ).scalar_one()
            for kind, source in (("fund_cash", None), ("capital", "seed_grant"))
        )
    yield {"fund": fund, "cash": cash, "capital": capital, **ids}
    drop_cities(sync_engine, "cdf-ledger-town", "cdf-ledger-other")


def _entry(connection: Connection, books: dict[str, int], day: date = date(2026, 1, 5)) -> int:
    return int(
        connection.execute(
            text(
                "INSERT INTO cdf_entries (fund_id, client_id, entry_date, kind) "
                "VALUES (:f, :c, :d, 'capital') RETURNING id"
            ),
            {"f": books["fund"], "c": uuid.uuid4(), "d": day},
        ).scalar_one()
    )


def _line(connection: Connection, entry: int, account: int, amount: int) -> None:
    connection.execute(
        text("INSERT INTO cdf_lines (entry_id, account_id, amount) VALUES (:e, :a, :m)"),
        {"e": entry, "a": account, "m": amount},
    )


def _post_balanced(engine: Engine, books: dict[str, int], amount: int = 1_000_000) -> int:
    with engine.begin() as connection:
        entry = _entry(connection, books)
        _line(connection, entry, books["cash"], amount)
        _line(connection, entry, books["capital"], -amount)
    return entry


def _count(engine: Engine, sql: str, **params: object) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(sql), params).scalar_one())


def test_a_balanced_entry_posts(sync_engine: Engine, books: dict[str, int]) -> None:
    entry = _post_balanced(sync_engine, books, 2_500_000)
    total = _count(sync_engine, "SELECT sum(amount) FROM cdf_lines WHERE entry_id = :e", e=entry)
    assert total == 0
    lines = _count(sync_engine, "SELECT count(*) FROM cdf_lines WHERE entry_id = :e", e=entry)
    assert lines == 2


@pytest.mark.parametrize("amounts", [[1000, -999], [5000], []])
def test_an_unbalanced_entry_is_refused_at_commit(
    sync_engine: Engine, books: dict[str, int], amounts: list[int]
) -> None:
    before = _count(sync_engine, "SELECT count(*) FROM cdf_entries")
    with pytest.raises(DBAPIError, match="cdf_unbalanced"), sync_engine.begin() as connection:
        entry = _entry(connection, books)
        for index, amount in enumerate(amounts):
            _line(connection, entry, books["cash"] if index == 0 else books["capital"], amount)
    assert _count(sync_engine, "SELECT count(*) FROM cdf_entries") == before


def test_a_deferred_check_cannot_be_switched_off_by_the_session(
    sync_engine: Engine, books: dict[str, int]
) -> None:
    # SET CONSTRAINTS ALL IMMEDIATE only checks earlier; the check still runs.
    with pytest.raises(DBAPIError, match="cdf_unbalanced"), sync_engine.begin() as connection:
        connection.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
        entry = _entry(connection, books)
        _line(connection, entry, books["cash"], 700)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE cdf_lines SET amount = amount * 2 WHERE entry_id = :e",
        "DELETE FROM cdf_lines WHERE entry_id = :e",
        "UPDATE cdf_entries SET entry_date = entry_date + 1 WHERE id = :e",
        "DELETE FROM cdf_entries WHERE id = :e",
        "TRUNCATE cdf_lines",
        "TRUNCATE cdf_entries CASCADE",
    ],
)
def test_posted_rows_are_never_changed_or_deleted(
    sync_engine: Engine, books: dict[str, int], statement: str
) -> None:
    entry = _post_balanced(sync_engine, books)
    with pytest.raises(DBAPIError, match="cdf_posted_immutable"), sync_engine.begin() as c:
        c.execute(text(statement), {"e": entry} if ":e" in statement else {})
    kept = "SELECT sum(abs(amount)) FROM cdf_lines WHERE entry_id = :e"
    assert _count(sync_engine, kept, e=entry) == 2_000_000


def test_lines_cannot_be_added_to_a_posted_entry_even_balanced(
    sync_engine: Engine, books: dict[str, int]
) -> None:
    entry = _post_balanced(sync_engine, books)
    with pytest.raises(DBAPIError, match="cdf_entry_posted"), sync_engine.begin() as c:
        _line(c, entry, books["cash"], 10)
        _line(c, entry, books["capital"], -10)


def test_an_entry_cannot_claim_another_transaction(
    sync_engine: Engine, books: dict[str, int]
) -> None:
    # The database sets it: lines can join an entry only in the transaction that posted it.
    with sync_engine.begin() as connection:
        entry = connection.execute(
            text(
                "INSERT INTO cdf_entries (fund_id, client_id, entry_date, kind, txid) "
                "VALUES (:f, :c, '2026-01-05', 'capital', 1) RETURNING id"
            ),
            {"f": books["fund"], "c": uuid.uuid4()},
        ).scalar_one()
        _line(connection, entry, books["cash"], 10)
        _line(connection, entry, books["capital"], -10)
        same = connection.execute(
            text("SELECT txid = txid_current() FROM cdf_entries WHERE id = :e"), {"e": entry}
        ).scalar_one()
    assert same is True


def test_a_closed_period_refuses_entries_dated_inside(
    sync_engine: Engine, books: dict[str, int]
) -> None:
    with sync_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO cdf_periods (fund_id, starts_on, ends_on) "
                "VALUES (:f, '2025-01-01', '2025-12-31')"
            ),
            {"f": books["fund"]},
        )
    with pytest.raises(DBAPIError, match="cdf_period_closed"), sync_engine.begin() as c:
        entry = _entry(c, books, date(2025, 6, 30))
        _line(c, entry, books["cash"], 10)
        _line(c, entry, books["capital"], -10)
    with sync_engine.begin() as connection:  # the day after the period is open
        entry = _entry(connection, books, date(2026, 1, 1))
        _line(connection, entry, books["cash"], 10)
        _line(connection, entry, books["capital"], -10)


def test_a_line_on_another_funds_account_is_refused(
    sync_engine: Engine, books: dict[str, int]
) -> None:
    other = make_city(sync_engine, "cdf-ledger-other")
    with sync_engine.begin() as connection:
        fund = connection.execute(
            text("INSERT INTO cdf_funds (city_id, name) VALUES (:c, 'Other') RETURNING id"),
            {"c": other["city"]},
        ).scalar_one()
        foreign = connection.execute(
            text("INSERT INTO cdf_accounts (fund_id, kind) VALUES (:f, 'fund_cash') RETURNING id"),
            {"f": fund},
        ).scalar_one()
    with pytest.raises(DBAPIError, match="cdf_line_account"), sync_engine.begin() as c:
        entry = _entry(c, books)
        _line(c, entry, foreign, 10)
        _line(c, entry, books["capital"], -10)


def test_a_reversal_points_to_its_original_once(sync_engine: Engine, books: dict[str, int]) -> None:
    original = _post_balanced(sync_engine, books, 40_000)

    def reverse() -> None:
        with sync_engine.begin() as connection:
            entry = connection.execute(
                text(
                    "INSERT INTO cdf_entries (fund_id, client_id, entry_date, kind, reverses_id) "
                    "VALUES (:f, :c, '2026-02-01', 'reversal', :o) RETURNING id"
                ),
                {"f": books["fund"], "c": uuid.uuid4(), "o": original},
            ).scalar_one()
            _line(connection, entry, books["cash"], -40_000)
            _line(connection, entry, books["capital"], 40_000)

    reverse()
    with pytest.raises(IntegrityError):
        reverse()
    with pytest.raises(IntegrityError), sync_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO cdf_entries (fund_id, client_id, entry_date, kind) "
                "VALUES (:f, :c, '2026-02-01', 'reversal')"
            ),
            {"f": books["fund"], "c": uuid.uuid4()},
        )


def test_the_maker_cannot_be_the_checker(sync_engine: Engine, books: dict[str, int]) -> None:
    maker = make_user(sync_engine, "cdf-ledger-maker", [])
    with sync_engine.begin() as connection:
        group = connection.execute(
            text(
                "INSERT INTO cdf_groups (fund_id, name, founded_on, meeting_frequency, "
                "share_value) VALUES (:f, 'Nhóm A', '2024-01-01', 'monthly', 20000) RETURNING id"
            ),
            {"f": books["fund"]},
        ).scalar_one()
        product = connection.execute(
            text(
                "INSERT INTO cdf_loan_products (fund_id, code, name, kind, rate_bp, rate_period, "
                "term_installments, frequency, method) VALUES (:f, 'P', 'P', 'income', 100, "
                "'month', 12, 'monthly', 'flat') RETURNING id"
            ),
            {"f": books["fund"]},
        ).scalar_one()
    with pytest.raises(IntegrityError, match="maker_checker"), sync_engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO cdf_loans (client_id, fund_id, group_id, product_id, principal, "
                "rate_bp, rate_period, term_installments, frequency, method, applied_on, "
                "applied_by, approved_by, approved_at, status) VALUES (:c, :f, :g, :p, 1000000, "
                "100, 'month', 12, 'monthly', 'flat', '2026-01-01', :u, :u, now(), 'approved')"
            ),
            {"c": uuid.uuid4(), "f": books["fund"], "g": group, "p": product, "u": maker},
        )


def test_money_columns_are_bigint(sync_engine: Engine) -> None:
    with sync_engine.connect() as connection:
        types = dict(
            connection.execute(
                text(
                    "SELECT table_name || '.' || column_name, data_type "
                    "FROM information_schema.columns WHERE table_name LIKE 'cdf_%' AND column_name "
                    "IN ('amount', 'principal', 'principal_due', 'interest_due', 'share_value', "
                    "'cash_counted', 'max_principal')"
                )
            ).all()
        )
    assert len(types) == 9  # and the kept sums: cdf_sum_balances, cdf_sum_installments
    assert set(types.values()) == {"bigint"}, types
