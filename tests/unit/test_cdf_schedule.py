"""Loan schedules and repayment allocation in whole đồng: hand-worked examples and properties
(hypothesis) that must hold for every loan."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.services.cdf_schedule import (
    Outstanding,
    add_months,
    allocate,
    days_overdue,
    installment_rate,
    round_half_up,
    schedule,
)

START = date(2026, 1, 31)


def test_flat_schedule_by_hand() -> None:
    # 10,000,000 đồng over 12 months at 1 %/month, flat: 100,000 interest a month (1.2M in
    # all); principal 833,333 x 11 and 833,337 last.
    rows = schedule(10_000_000, 100, "month", 12, "monthly", "flat", START)
    assert [r.principal for r in rows] == [833_333] * 11 + [833_337]
    assert {r.interest for r in rows} == {100_000}
    assert rows[0].due_on == date(2026, 2, 28)  # the 31st falls on February's last day
    assert rows[1].due_on == date(2026, 3, 31)


def test_declining_schedule_by_hand() -> None:
    # 1,000,000 over 3 months at 1.5 %/month, equal principal: interest on 1,000,000, then
    # 666,667, then 333,334 (15,000; 10,000.005 -> 10,000; 5,000.01 -> 5,000).
    rows = schedule(1_000_000, 150, "month", 3, "monthly", "declining", START)
    assert [r.principal for r in rows] == [333_333, 333_333, 333_334]
    assert [r.interest for r in rows] == [15_000, 10_000, 5_000]


def test_a_yearly_rate_is_a_twelfth_a_month_exactly() -> None:
    assert installment_rate(1200, "year", "monthly") == installment_rate(100, "month", "monthly")
    assert (
        installment_rate(100, "month", "weekly") * 52
        == installment_rate(1200, "year", "monthly") * 12
    )


def test_rounding_leaves_the_remainder_on_the_last_installment() -> None:
    # 7,000,000 over 6 months at 1.5 %/month flat: 630,000 interest, 105,000 each;
    # 1,000,001 over 3: principal 333,333 x 2 + 333,335.
    assert {r.interest for r in schedule(7_000_000, 150, "month", 6, "monthly", "flat", START)} == {
        105_000
    }
    rows = schedule(1_000_001, 0, "month", 3, "monthly", "flat", START)
    assert [r.principal for r in rows] == [333_333, 333_333, 333_335]


def test_allocation_order_by_hand() -> None:
    # Two installments overdue, one current: overdue interest first (both), then overdue
    # principal (oldest first), then the current installment's interest and principal.
    owed = [
        Outstanding(1, date(2026, 1, 10), 100, 10),
        Outstanding(2, date(2026, 2, 10), 100, 10),
        Outstanding(3, date(2026, 3, 10), 100, 10),
    ]
    parts = allocate(135, owed, date(2026, 3, 1))
    assert [(p.seq, p.component, p.amount) for p in parts] == [
        (1, "interest", 10),
        (2, "interest", 10),
        (1, "principal", 100),
        (2, "principal", 15),
    ]
    parts = allocate(330, owed, date(2026, 3, 1))
    assert parts[-2:][0].seq == 3 and parts[-2].component == "interest"
    assert sum(p.amount for p in parts) == 330
    with pytest.raises(ValueError, match="exceeds"):
        allocate(331, owed, date(2026, 3, 1))
    with pytest.raises(ValueError):
        allocate(0, owed, date(2026, 3, 1))


def test_days_overdue_counts_from_the_oldest_unpaid_installment() -> None:
    owed = [
        Outstanding(1, date(2026, 1, 10), 0, 0),  # paid
        Outstanding(2, date(2026, 2, 10), 50, 0),
        Outstanding(3, date(2026, 3, 10), 100, 10),
    ]
    assert days_overdue(owed, date(2026, 3, 15)) == 33
    assert days_overdue(owed, date(2026, 2, 10)) == 0  # due today is not late


def test_add_months_keeps_the_day_or_the_months_last() -> None:
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)
    assert add_months(date(2026, 3, 31), -1) == date(2026, 2, 28)


loans = st.tuples(
    st.integers(min_value=1, max_value=10**11),  # principal
    st.integers(min_value=0, max_value=100_000),  # rate_bp
    st.sampled_from(["month", "year"]),
    st.integers(min_value=1, max_value=120),  # term
    st.sampled_from(["weekly", "fortnightly", "monthly"]),
    st.sampled_from(["flat", "declining"]),
    st.dates(min_value=date(2000, 1, 1), max_value=date(2080, 1, 1)),
)


@settings(max_examples=300, deadline=None)
@given(loans)
def test_installments_sum_to_the_principal_and_never_go_negative(loan: tuple) -> None:  # type: ignore[type-arg]
    principal, rate, period, term, frequency, method, start = loan
    rows = schedule(principal, rate, period, term, frequency, method, start)
    assert len(rows) == term
    assert sum(r.principal for r in rows) == principal
    assert all(r.principal >= 0 and r.interest >= 0 for r in rows)
    assert all(type(r.principal) is int and type(r.interest) is int for r in rows)
    balance = principal
    for row in rows:
        balance -= row.principal
        assert balance >= 0
    assert balance == 0
    assert [r.due_on for r in rows] == sorted({r.due_on for r in rows})
    assert rows[0].due_on > start


@settings(max_examples=300, deadline=None)
@given(loans)
def test_interest_totals_the_exact_interest_rounded_once(loan: tuple) -> None:  # type: ignore[type-arg]
    # Declining interest rounded installment by installment drifted from the exact total
    # (999,999 đ at 6.6 %/year over 60 months: 167,754 đ for 167,756.16): the rounding is
    # carried, so the total is exact to the đồng and each installment within a đồng of its own.
    principal, rate_bp, period, term, frequency, method, start = loan
    rows = schedule(principal, rate_bp, period, term, frequency, method, start)
    rate, balance, exact = installment_rate(rate_bp, period, frequency), principal, Fraction(0)
    for row in rows:
        own = balance * rate if method == "declining" else principal * rate
        exact += own
        if method == "declining":
            assert abs(row.interest - own) < 1
        balance -= row.principal
    assert sum(r.interest for r in rows) == round_half_up(exact)


def test_declining_interest_of_a_vbsp_housing_loan_by_hand() -> None:
    rows = schedule(999_999, 660, "year", 60, "monthly", "declining", START)
    assert sum(r.interest for r in rows) == 167_756  # exactly 167,756.16


@settings(max_examples=300, deadline=None)
@given(
    loans,
    st.lists(st.integers(min_value=1, max_value=10**10), min_size=1, max_size=30),
    st.integers(0, 4000),
)
def test_repayments_never_overpay_an_installment_and_the_journal_balances(
    loan: tuple,  # type: ignore[type-arg]
    payments: list[int],
    offset_days: int,
) -> None:
    principal, rate, period, term, frequency, method, start = loan
    rows = schedule(principal, rate, period, term, frequency, method, start)
    owed = {r.seq: Outstanding(r.seq, r.due_on, r.principal, r.interest) for r in rows}
    day = start + timedelta(days=offset_days)
    journal: list[int] = []
    for amount in payments:
        total = sum(o.principal + o.interest for o in owed.values())
        if total == 0:
            break
        amount = min(amount, total)
        parts = allocate(amount, list(owed.values()), day)
        # The entry: Dr cash, Cr each part; it sums to zero.
        lines = [amount, *(-p.amount for p in parts)]
        assert sum(lines) == 0
        journal += lines
        for part in parts:
            o = owed[part.seq]
            left = (o.interest if part.component == "interest" else o.principal) - part.amount
            assert left >= 0
            owed[part.seq] = Outstanding(
                o.seq,
                o.due_on,
                left if part.component == "principal" else o.principal,
                left if part.component == "interest" else o.interest,
            )
        day += timedelta(days=17)
    assert sum(journal) == 0
    assert all(o.principal >= 0 and o.interest >= 0 for o in owed.values())


@settings(max_examples=200, deadline=None)
@given(loans, st.integers(0, 4000))
def test_paying_everything_owed_clears_the_loan_and_one_more_dong_is_refused(
    loan: tuple,  # type: ignore[type-arg]
    offset_days: int,
) -> None:
    principal, rate, period, term, frequency, method, start = loan
    rows = schedule(principal, rate, period, term, frequency, method, start)
    owed = [Outstanding(r.seq, r.due_on, r.principal, r.interest) for r in rows]
    total = sum(o.principal + o.interest for o in owed)
    day = start + timedelta(days=offset_days)
    with pytest.raises(ValueError):
        allocate(total + 1, owed, day)
    parts = allocate(total, owed, day)
    assert sum(p.amount for p in parts) == total
    assert sum(p.amount for p in parts if p.component == "principal") == principal
