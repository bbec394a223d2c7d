"""Use cases: loans, from application to the last repayment.

- apply: CDF staff or the group's treasurer records an application (the maker); the group
  must hold the product's savings precondition (savings >= min_savings_bp of the loan), and
  everything the loan will owe (principal and all its interest) is at most the books'
  largest amount (MAX_MONEY): 10^12 đồng at 1,000 %/month over 520 months asked for
  5.2 x 10^15, in installments of 10^13 that no repayment (at most 10^12) could pay.
  (A product whose max_principal is past that cap is refused when it is made.) The savings
  are those held on the application's day (today without one).
- approve / reject: CDF staff other than the maker (the checker); both kept on the loan.
- disburse: CDF staff; the schedule is made (app/services/cdf_schedule.py) and the money
  leaves the fund: Dr loans receivable (the borrower), Cr fund cash (never more than the
  fund's cash on that day and every day after). The savings precondition is checked again
  on the payout's day, under the group's lock: the savings are held before borrowing
  (cdf-finance.md), and savings withdrawn after the application left a group borrowing
  without them. A withdrawal or a saving reversed, dated on or before a payout's day, may
  not leave the group below that loan's precondition on that day (refuse_unsaving_a_payout).
  The precondition is the loan's own (min_savings_bp, copied from its product with its other
  terms when applied for, migration 0029): a product edited later leaves its loans alone.
- repay: staff or the group's treasurer; the amount is allocated in the CDF's order
  (cdf_schedule.allocate): Dr group cash, Cr loans receivable (principal, per installment),
  Cr interest income (interest, per installment). The loan closes when nothing is owed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.db import cdf_books as books
from app.db import cdf_ledger as ledger
from app.db.cdf_ledger import Line
from app.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem
from app.services import cdf_access as cdf
from app.services.access import Principal, require
from app.services.cdf_books import (
    city_for,
    group_for,
    refuse_before_start,
    refuse_past_the_cap,
    schedule_out,
)
from app.services.cdf_input import Reader, request_hash
from app.services.cdf_posting import post_once, refuse_closed, refuse_empty_fund, transaction
from app.services.cdf_schedule import Outstanding, allocate, schedule
from app.vietnam import VIETNAM_TIME, today_in_vietnam, vietnam_day


async def _loan_for(
    connection: AsyncConnection, user: Principal, loan_id: int, post: bool = False
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A loan and its group, both locked when posting (group first, then loan: one order
    for every use case, so two postings never deadlock)."""
    loan = await books.loan_by_id(connection, loan_id)
    require(loan is not None, "cdf_loan_not_found")
    assert loan is not None
    group = await group_for(connection, user, loan["group_id"], post=post, lock=post)
    if post:
        loan = await books.loan_by_id(connection, loan_id, lock=True)
        assert loan is not None
    return loan, group


def _ceil_share(amount: int, basis_points: int) -> int:
    return -(-amount * basis_points // 10_000)


async def _refuse_short_of_savings(
    connection: AsyncConnection,
    group_id: int,
    principal: int,
    min_savings_bp: int,
    code: str,
    as_of: date | None = None,
) -> None:
    """InvalidInput naming the principal when the group's savings (up to `as_of`) are below
    the product's share of the loan. The caller holds the group's lock, which every
    withdrawal and reversal takes too: none can land between this check and the commit."""
    saved = sum(m["savings"] for m in await books.members_of(connection, group_id, as_of))
    needed = _ceil_share(principal, min_savings_bp)
    if saved < needed:
        params: dict[str, Any] = {"needed": needed, "saved": saved}
        if as_of is not None:
            params["date"] = as_of.isoformat()
        raise InvalidInput([Problem("principal", code, params)])


async def refuse_unsaving_a_payout(
    connection: AsyncConnection,
    group_id: int,
    day: date,
    taken: int,
    field: str,
    meeting_day: date | None = None,
) -> None:
    """InvalidInput when taking `taken` đồng of the group's savings on `day` (a withdrawal,
    a saving reversed) would leave the group, at the end of the payout day of a loan paid
    out on `day` or after, below that loan's savings precondition: dated back before the
    payout, it would make the books show a loan paid out to a group without the savings it
    had to hold that day. Savings taken after the payout day are not checked (the
    precondition is savings before borrowing, cdf-finance.md). The caller holds the group's
    lock, which a payout takes too.

    The refusal names the first loan left short, and the last payout day left short: dated
    after it, the whole amount may be taken. A withdrawal at a meeting (`meeting_day`)
    cannot be dated otherwise: its refusal says instead the most the meeting may pay out
    (what every loan leaves) and that the rest waits for a meeting after that day."""
    if taken <= 0:
        return
    payouts = await books.payouts_from(connection, group_id, day)
    short = [
        (payout, needed)
        for payout in payouts
        for needed in [_ceil_share(payout["principal"], payout["min_savings_bp"])]
        if payout["saved"] - taken < needed
    ]
    if not short:
        return
    first, needed = short[0]
    params: dict[str, Any] = {
        "loan": first["id"],
        "date": first["disbursed_on"].isoformat(),
        "needed": needed,
        "saved": first["saved"] - taken,
        "after": short[-1][0]["disbursed_on"].isoformat(),
    }
    if meeting_day is None:
        raise InvalidInput([Problem(field, "cdf_savings_needed_at_payout", params)])
    most = max(
        0,
        min(p["saved"] - _ceil_share(p["principal"], p["min_savings_bp"]) for p in payouts),
    )
    params |= {
        "meeting": meeting_day.isoformat(),
        "amount": taken,
        "most": most,
        "advice": "take_some" if most else "take_none",
    }
    raise InvalidInput([Problem(field, "cdf_savings_needed_at_payout_meeting", params)])


async def apply(
    engine: AsyncEngine, user: Principal, city_slug: str, body: dict[str, Any]
) -> dict[str, Any]:
    """Record a loan application (idempotent on its client id)."""
    reader = Reader(body)
    client_id = reader.client_id()
    group_id = reader.integer("group_id")
    member_id = reader.integer("member_id", required=False)
    product_id = reader.integer("product_id")
    principal = reader.money("principal")
    applied_on = reader.posting_day("date", today_in_vietnam(), required=False)
    purpose = reader.text("purpose", required=False, max_length=500)
    reader.check()
    assert client_id and group_id and product_id and principal

    def sent_before(earlier: dict[str, Any]) -> dict[str, Any]:
        """A resend of `earlier` (the same application): `duplicate`; another under its
        client id: Conflict. A resend without a date is on any day."""
        same = (
            earlier["city_id"] == city["id"]
            and (earlier["group_id"], earlier["member_id"]) == (group_id, member_id)
            and (earlier["product_id"], earlier["principal"]) == (product_id, principal)
            and (applied_on is None or earlier["applied_on"] == applied_on)
            and earlier["purpose"] == (purpose or "")
        )
        if not same:
            raise Conflict("cdf_client_id_reused", client_id=str(client_id))
        return {"outcome": "duplicate", "loan": earlier}

    async with engine.begin() as connection:
        city = await city_for(connection, user, city_slug)
        earlier = await books.loan_by_client_id(connection, client_id)
        if earlier is not None:
            return sent_before(earlier)
        group = await group_for(connection, user, group_id, post=True, lock=True)
        if group["city_id"] != city["id"]:
            raise NotFound("cdf_group_not_found")
        product = await books.product_by_id(connection, product_id)
        if product is None or product["fund_id"] != group["fund_id"]:
            raise NotFound("cdf_product_not_found")
        member = None
        if member_id is not None:
            member = await books.member_by_id(connection, member_id)
            if member is None or member["group_id"] != group_id:
                raise NotFound("cdf_member_not_found")
        refuse_before_start(group, member, applied_on or today_in_vietnam())
        if product["max_principal"] and principal > product["max_principal"]:
            raise InvalidInput(
                [Problem("principal", "cdf_above_product_max", {"max": product["max_principal"]})]
            )
        refuse_past_the_cap(principal, product)
        # The savings held on the application's day (today without one), as the payout reads
        # its own day's: a saving dated after the application did not count towards it.
        await _refuse_short_of_savings(
            connection,
            group_id,
            principal,
            product["min_savings_bp"],
            "cdf_savings_precondition",
            as_of=applied_on or today_in_vietnam(),
        )
        loan_id = await books.insert_loan(
            connection,
            {
                "client_id": client_id,
                "fund_id": group["fund_id"],
                "group_id": group_id,
                "member_id": member_id,
                "product_id": product_id,
                "principal": principal,
                "rate_bp": product["rate_bp"],
                "rate_period": product["rate_period"],
                "term_installments": product["term_installments"],
                "frequency": product["frequency"],
                "method": product["method"],
                "min_savings_bp": product["min_savings_bp"],
                "purpose": purpose or "",
                "applied_on": applied_on or today_in_vietnam(),
                "applied_by": user.user_id,
            },
        )
        if loan_id is None:
            # Stored meanwhile under its client id (the same phone's resend, racing the first
            # sending): a new statement sees it committed.
            earlier = await books.loan_by_client_id(connection, client_id)
            if earlier is None:
                raise Conflict("cdf_client_id_reused", client_id=str(client_id))
            return sent_before(earlier)
        loan = await books.loan_by_id(connection, loan_id)
    return {"outcome": "created", "loan": loan}


async def decide(
    engine: AsyncEngine, user: Principal, loan_id: int, body: dict[str, Any]
) -> dict[str, Any]:
    """Approve or reject an application: CDF staff who did not record it. `date` is the day
    the board decided (today by default): a loan approved on paper earlier is entered with
    its day, since it cannot be paid out before it.

    The decision taken already, sent again (an approval also once the loan is paid out or
    repaid), is the loan stored (`duplicate`); the other decision then is a Conflict."""
    reader = Reader(body)
    decision = reader.choice("decision", ("approved", "rejected"))
    day = reader.posting_day("date", today_in_vietnam(), required=False)
    reader.check()
    async with engine.begin() as connection:
        loan, group = await _loan_for(connection, user, loan_id, post=True)
        if not cdf.is_staff(user, group["city_id"]):
            raise Forbidden("not_allowed")
        if loan["status"] == decision:
            return {"outcome": "duplicate", "loan": loan}
        if (
            decision == "approved"
            and loan["status"] in ("disbursed", "closed")
            and loan["approved_by"] is not None
        ):
            # The approval sent again after the loan was paid out (or repaid): the approval
            # stored, not a failure the phone would retry forever.
            return {"outcome": "duplicate", "loan": loan}
        if loan["status"] != "applied":
            raise Conflict("cdf_loan_wrong_status", status=loan["status"])
        if loan["applied_by"] == user.user_id:
            raise Forbidden("cdf_maker_checker")
        if day is not None and day < loan["applied_on"]:
            raise InvalidInput(
                [
                    Problem(
                        "date",
                        "cdf_decision_before_application",
                        {"date": loan["applied_on"].isoformat()},
                    )
                ]
            )
        decided = datetime.now(UTC)
        if day is not None and day < vietnam_day(decided):
            decided = datetime.combine(day, time(), VIETNAM_TIME)  # the day's start in Vietnam
        await books.set_loan(
            connection, loan_id, status=decision, approved_by=user.user_id, approved_at=decided
        )
        updated = await books.loan_by_id(connection, loan_id)
    return {"outcome": "created", "loan": updated}


async def disburse(
    engine: AsyncEngine, user: Principal, loan_id: int, body: dict[str, Any]
) -> dict[str, Any]:
    """Pay an approved loan out: its schedule is made and the entry posted."""
    reader = Reader(body)
    client_id = reader.client_id()
    day = reader.posting_day("date", today_in_vietnam())
    reader.check()
    assert client_id and day
    digest = request_hash("disbursement", {"loan": loan_id, "date": str(day)})
    async with transaction(engine) as connection:
        loan, group = await _loan_for(connection, user, loan_id, post=True)
        if not cdf.is_staff(user, group["city_id"]):
            raise Forbidden("not_allowed")
        if loan["status"] != "approved":
            earlier = await ledger.entry_by_client_id(connection, client_id)
            if earlier is not None and earlier["request_hash"] == digest:
                return {"outcome": "duplicate", "entry_id": earlier["id"], "loan": loan}
            raise Conflict("cdf_loan_wrong_status", status=loan["status"])
        if day < loan["applied_on"]:
            raise InvalidInput([Problem("date", "cdf_date_before_application")])
        # The approval's day in Vietnam, as the statement reads it: paid out before it, the
        # loan showed on the days between as applied for with a schedule outstanding.
        approved_on = vietnam_day(loan["approved_at"])
        if day < approved_on:
            raise InvalidInput(
                [Problem("date", "cdf_date_before_approval", {"date": approved_on.isoformat()})]
            )
        # An application taken before the cap was checked (its schedule is made now).
        refuse_past_the_cap(loan["principal"], loan)
        # Savings withdrawn since the application: the group borrows on this day, and must
        # hold the loan's share of it then (the group's lock is held: no withdrawal lands
        # before the commit). The loan's own share, as it was applied for: a product edited
        # since does not change what its loans need.
        await _refuse_short_of_savings(
            connection,
            group["id"],
            loan["principal"],
            loan["min_savings_bp"],
            "cdf_savings_precondition_at_disbursement",
            as_of=day,
        )
        await refuse_closed(connection, group["fund_id"], day)
        # After the group's and the loan's locks, as every posting (one lock order).
        await refuse_empty_fund(
            connection,
            group["fund_id"],
            day,
            loan["principal"],
            "cdf_disbursement_exceeds_fund_cash",
            "principal",
        )
        rows = schedule(
            loan["principal"],
            loan["rate_bp"],
            loan["rate_period"],
            loan["term_installments"],
            loan["frequency"],
            loan["method"],
            day,
        )
        await books.insert_installments(
            connection, loan_id, [(i.seq, i.due_on, i.principal, i.interest) for i in rows]
        )
        receivable = await books.account(
            connection,
            group["fund_id"],
            "loans_receivable",
            group_id=group["id"],
            member_id=loan["member_id"],
        )
        fund_cash = await books.account(connection, group["fund_id"], "fund_cash")
        result = await post_once(
            connection,
            fund_id=group["fund_id"],
            client_id=client_id,
            request_hash=digest,
            entry_date=day,
            kind="disbursement",
            lines=[
                Line(receivable, loan["principal"], loan_id),
                Line(fund_cash, -loan["principal"], loan_id),
            ],
            user_id=user.user_id,
            group_id=group["id"],
            member_id=loan["member_id"],
            loan_id=loan_id,
        )
        await books.set_loan(
            connection, loan_id, status="disbursed", disbursed_on=day, disbursed_by=user.user_id
        )
        updated = await books.loan_by_id(connection, loan_id)
    return {**result, "loan": updated}


def owed_of(rows: list[dict[str, Any]]) -> list[Outstanding]:
    """What is still owed on each installment, from the journal's payments."""
    return [
        Outstanding(
            r["seq"],
            r["due_on"],
            r["principal_due"] - r["principal_paid"],
            r["interest_due"] - r["interest_paid"],
        )
        for r in rows
    ]


async def repay_in(
    connection: AsyncConnection,
    user: Principal,
    loan_id: int,
    client_id: Any,
    amount: int,
    day: Any,
    meeting_id: Any = None,
) -> dict[str, Any]:
    """Post a repayment inside the caller's transaction (a meeting's records use it too)."""
    loan, group = await _loan_for(connection, user, loan_id, post=True)
    digest = request_hash("repayment", {"loan": loan_id, "amount": amount, "date": str(day)})
    earlier = await ledger.entry_by_client_id(connection, client_id)
    if earlier is not None:
        if earlier["request_hash"] != digest:
            raise Conflict("cdf_client_id_reused", client_id=str(client_id))
        return {"outcome": "duplicate", "entry_id": earlier["id"], "client_id": str(client_id)}
    if loan["status"] != "disbursed":
        raise Conflict("cdf_loan_wrong_status", status=loan["status"])
    if day < loan["disbursed_on"]:
        raise InvalidInput([Problem("date", "cdf_date_before_disbursement")])
    owed = owed_of(await books.installments(connection, loan_id))
    total = sum(o.principal + o.interest for o in owed)
    if amount > total:
        raise InvalidInput([Problem("amount", "cdf_repayment_exceeds_owed", {"owed": total})])
    parts = allocate(amount, owed, day)
    fund_id = group["fund_id"]
    receivable = await books.account(
        connection, fund_id, "loans_receivable", group_id=group["id"], member_id=loan["member_id"]
    )
    interest = await books.account(connection, fund_id, "interest_income")
    cash = await books.account(connection, fund_id, "group_cash", group_id=group["id"])
    lines = [Line(cash, amount, loan_id)]
    for part in parts:
        target = receivable if part.component == "principal" else interest
        lines.append(Line(target, -part.amount, loan_id, part.seq, part.component))
    result = await post_once(
        connection,
        fund_id=fund_id,
        client_id=client_id,
        request_hash=digest,
        entry_date=day,
        kind="repayment",
        lines=lines,
        user_id=user.user_id,
        group_id=group["id"],
        member_id=loan["member_id"],
        loan_id=loan_id,
        meeting_id=meeting_id,
    )
    if amount == total:
        await books.set_loan(connection, loan_id, status="closed")
    result["allocation"] = [
        {"seq": p.seq, "component": p.component, "amount": p.amount} for p in parts
    ]
    return result


async def repay(
    engine: AsyncEngine, user: Principal, loan_id: int, body: dict[str, Any]
) -> dict[str, Any]:
    """A repayment of a loan (idempotent on its client id)."""
    reader = Reader(body)
    client_id = reader.client_id()
    amount = reader.money("amount")
    day = reader.posting_day("date", today_in_vietnam())
    reader.check()
    async with transaction(engine) as connection:
        return await repay_in(connection, user, loan_id, client_id, amount or 0, day)


async def get_loan(engine: AsyncEngine, user: Principal, loan_id: int) -> dict[str, Any]:
    """A loan with its schedule (paid and overdue per installment)."""
    async with engine.connect() as connection:
        loan, _group = await _loan_for(connection, user, loan_id)
        rows = await books.installments(connection, loan_id)
    return {**loan, "schedule": schedule_out(rows, today_in_vietnam()) if rows else None}


async def list_loans(
    engine: AsyncEngine, user: Principal, city_slug: str, status: str | None
) -> dict[str, Any]:
    """The city's loans this person may see."""
    async with engine.connect() as connection:
        city = await city_for(connection, user, city_slug)
        if city["fund_id"] is None:
            return {"city": city["slug"], "loans": []}
        whole, ids, wards = cdf.readable_groups_filter(user, city["id"])
        group_ids = None
        if not whole:
            visible = await books.list_groups(connection, city["fund_id"], False, ids, wards)
            group_ids = [g["id"] for g in visible]
        loans = await books.loans_of_fund(connection, city["fund_id"], group_ids, status)
    return {"city": city["slug"], "loans": loans}
