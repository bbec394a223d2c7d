"""Loan schedules and the allocation of a repayment, in whole đồng. Pure: no database.

Rates are integers: basis points per month or per year (150 bp a month = 1.5 %/tháng). The
rate of one installment is worked out exactly (fractions), never in floating point:
monthly rate = bp / 10,000 (a yearly rate / 12); a fortnightly installment carries 12/26 of a
month, a weekly one 12/52. Amounts are rounded half up to the đồng, and rounding never changes
a total: installments always sum to the principal, and their interest to the exact interest
of the loan rounded once.

- flat: interest on the original principal every installment (total = P x r x n, rounded,
  split evenly, remainder last); principal split evenly, remainder last.
- declining: equal principal installments (remainder last), interest on the balance still owed
  before each installment, the rounding carried from one installment to the next (each
  carries the exact interest so far, rounded, less what the earlier ones carry).
A schedule is made once, when the loan is paid out, and stored (cdf_installments, never
updated): a change here applies to loans paid out after it, never to a stored schedule.
What a schedule asks for in all (`owed_in_all`) is at most the books' largest amount: a loan
past it is refused when applied for and when paid out, a product whose max_principal is past
it when it is made (refuse_past_the_cap, app/services/cdf_books.py).

A repayment pays, in this order (the CDF's rule; the same for every product):
1. interest of installments already overdue (due before the payment date), oldest first;
2. principal of those overdue installments, oldest first;
3. the current installment (the first due on or after the payment date): interest, then
   principal;
4. later installments in order (paying ahead), interest then principal.
More than the whole remaining schedule is refused (`repayment_exceeds_owed`).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

FREQUENCIES = ("weekly", "fortnightly", "monthly")
METHODS = ("flat", "declining")
RATE_PERIODS = ("month", "year")
# Months per installment, by frequency.
MONTHS_PER_INSTALLMENT = {
    "monthly": Fraction(1),
    "fortnightly": Fraction(12, 26),
    "weekly": Fraction(12, 52),
}


@dataclass(frozen=True)
class Installment:
    """One installment due: its number (from 1), date and amounts in đồng."""

    seq: int
    due_on: date
    principal: int
    interest: int


@dataclass(frozen=True)
class Allocation:
    """Part of a repayment put on one installment's interest or principal."""

    seq: int
    component: str  # "interest" | "principal"
    amount: int


def round_half_up(value: Fraction) -> int:
    """The nearest whole đồng, halves up (values here are never negative)."""
    return int((value * 2 + 1) // 2)


def installment_rate(rate_bp: int, rate_period: str, frequency: str) -> Fraction:
    """The exact interest rate of one installment."""
    monthly = Fraction(rate_bp, 10_000)
    if rate_period == "year":
        monthly /= 12
    return monthly * MONTHS_PER_INSTALLMENT[frequency]


def add_months(start: date, months: int) -> date:
    """The same day `months` later (the month's last day when it has fewer days)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def due_date(start: date, frequency: str, seq: int) -> date:
    """When installment `seq` falls due for a loan disbursed on `start`."""
    if frequency == "monthly":
        return add_months(start, seq)
    return start + timedelta(days=(7 if frequency == "weekly" else 14) * seq)


def _split(total: int, parts: int) -> list[int]:
    """`total` in `parts` equal whole amounts, the remainder on the last."""
    each = total // parts
    return [each] * (parts - 1) + [total - each * (parts - 1)]


def amounts(
    principal: int, rate_bp: int, rate_period: str, term: int, frequency: str, method: str
) -> tuple[list[int], list[int]]:
    """The principal and the interest of each installment, in order (any start day: the
    amounts do not depend on it)."""
    if principal <= 0 or term < 1:
        raise ValueError("principal and term must be positive")
    rate = installment_rate(rate_bp, rate_period, frequency)
    principals = _split(principal, term)
    if method == "flat":
        interests = _split(round_half_up(principal * rate * term), term)
    elif method == "declining":
        # Each installment carries the exact interest so far, rounded, less what the earlier
        # ones carry: the total is the exact total rounded (rounded one by one, 999,999 đ at
        # 6.6 %/year over 60 months charged 167,754 đ instead of 167,756 đ), and no
        # installment is more than a đồng from its own exact interest.
        interests, balance, exact, carried = [], principal, Fraction(0), 0
        for part in principals:
            exact += balance * rate
            interests.append(round_half_up(exact) - carried)
            carried += interests[-1]
            balance -= part
    else:
        raise ValueError(f"unknown method {method!r}")
    return principals, interests


def owed_in_all(
    principal: int, rate_bp: int, rate_period: str, term: int, frequency: str, method: str
) -> int:
    """Everything a loan's schedule will ask for: its principal and all its interest."""
    principals, interests = amounts(principal, rate_bp, rate_period, term, frequency, method)
    return sum(principals) + sum(interests)


def schedule(
    principal: int,
    rate_bp: int,
    rate_period: str,
    term: int,
    frequency: str,
    method: str,
    start: date,
) -> list[Installment]:
    """The installments of a loan disbursed on `start`."""
    principals, interests = amounts(principal, rate_bp, rate_period, term, frequency, method)
    return [
        Installment(seq, due_date(start, frequency, seq), principals[seq - 1], interests[seq - 1])
        for seq in range(1, term + 1)
    ]


@dataclass(frozen=True)
class Outstanding:
    """What is still owed on one installment."""

    seq: int
    due_on: date
    principal: int
    interest: int


def allocate(amount: int, owed: list[Outstanding], paid_on: date) -> list[Allocation]:
    """Split a repayment over the installments in the CDF's order (module docstring).

    Raises ValueError when the amount is not positive or exceeds everything still owed.
    """
    if amount <= 0:
        raise ValueError("amount must be positive")
    if amount > sum(o.principal + o.interest for o in owed):
        raise ValueError("repayment exceeds what is owed")
    ordered = sorted(owed, key=lambda o: o.seq)
    overdue = [o for o in ordered if o.due_on < paid_on]
    later = [o for o in ordered if o.due_on >= paid_on]
    steps: list[tuple[int, str, int]] = [(o.seq, "interest", o.interest) for o in overdue]
    steps += [(o.seq, "principal", o.principal) for o in overdue]
    for o in later:
        steps += [(o.seq, "interest", o.interest), (o.seq, "principal", o.principal)]
    result: list[Allocation] = []
    left = amount
    for seq, component, due in steps:
        if left == 0:
            break
        part = min(left, due)
        if part > 0:
            result.append(Allocation(seq, component, part))
            left -= part
    return result


def days_overdue(owed: list[Outstanding], as_of: date) -> int:
    """Days since the oldest installment still unpaid fell due (0 when none is late)."""
    late = [o.due_on for o in owed if o.due_on < as_of and o.principal + o.interest > 0]
    return (as_of - min(late)).days if late else 0
