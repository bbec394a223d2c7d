"""Use cases: money in and out of a group and the fund, meetings, reversals, closed periods.

Entries posted (debit +, credit -):
- capital received: Dr fund cash, Cr capital (by source);
- savings (mua cổ phần): Dr group cash, Cr the member's savings;
- withdrawal: Dr the member's savings, Cr group cash (never more than the member saved,
  nor, dated on or before a loan's payout day, leaving the group short of what the loan
  needed saved on that day: cdf_loans.refuse_unsaving_a_payout; a saving reversed likewise);
- mutual aid (quỹ tương trợ): Dr group cash, Cr the group's mutual-aid fund;
- fine: Dr group cash, Cr the group's fines;
- remittance: Dr fund cash, Cr group cash: the repayments collected go back to the fund, which
  lends them again (never more than the box holds);
- meeting close: the cash counted against the ledger's group cash; a difference is posted
  (Dr/Cr group cash, Cr/Dr cash over/short) with the treasurer's note, never hidden;
- reversal: the original's lines negated, pointing to it (`reverses_id`); never when it
  would leave a group's box or the fund's cash below nothing on any day from its own.
Every record is idempotent on its client id (app/services/cdf_posting.py).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.db import cdf_books as books
from app.db import cdf_ledger as ledger
from app.db.cdf_ledger import Line
from app.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, Problem
from app.services import cdf_access as cdf
from app.services.access import Principal, require
from app.services.cdf_books import city_for, group_for, refuse_before_start
from app.services.cdf_input import Reader, request_hash
from app.services.cdf_loans import refuse_unsaving_a_payout, repay_in
from app.services.cdf_posting import post_once, refuse_closed, refuse_empty_fund, transaction
from app.vietnam import today_in_vietnam

GROUP_KINDS = ("savings", "withdrawal", "mutual_aid", "fine", "remittance")
SOURCES = ("seed_grant", "city_budget", "donor", "interest_earned", "other")
MEETING_KINDS = (*GROUP_KINDS, "repayment")
MAX_RECORDS = 500


async def receive_capital(
    engine: AsyncEngine, user: Principal, city_slug: str, body: dict[str, Any]
) -> dict[str, Any]:
    """Capital received by the fund from a source (CDF staff)."""
    reader = Reader(body)
    client_id = reader.client_id()
    source = reader.choice("source", SOURCES)
    amount = reader.money("amount")
    day = reader.posting_day("date", today_in_vietnam())
    memo = reader.text("memo", required=False, max_length=500)
    reader.check()
    assert client_id and source and amount and day
    async with transaction(engine) as connection:
        city = await city_for(connection, user, city_slug)
        if not cdf.is_staff(user, city["id"]):
            raise Forbidden("not_allowed")
        fund_id = await books.ensure_fund(connection, city["id"], f"CDF {city['name']}")
        cash = await books.account(connection, fund_id, "fund_cash")
        capital = await books.account(connection, fund_id, "capital", source=source)
        return await post_once(
            connection,
            fund_id=fund_id,
            client_id=client_id,
            request_hash=request_hash("capital", {**body, "city": city["id"]}),
            entry_date=day,
            kind="capital",
            lines=[Line(cash, amount), Line(capital, -amount)],
            user_id=user.user_id,
            memo=memo or "",
        )


async def _refuse_empty_box(
    connection: AsyncConnection, cash: int, day: date, amount: int, code: str, field: str = "amount"
) -> None:
    """Refuse to take `amount` out of a group's cash box on `day` when the box would hold
    less than nothing on that day or any day after."""
    in_box = await ledger.lowest_balance_from(connection, cash, day, debit_normal=True)
    if amount > in_box:
        raise InvalidInput(
            [Problem(field, code, {"cash": max(in_box, 0), "date": day.isoformat()})]
        )


async def _group_record(
    connection: AsyncConnection,
    user: Principal,
    group: dict[str, Any],
    record: dict[str, Any],
    meeting: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One savings, withdrawal, mutual-aid or fine record of a locked group."""
    reader = Reader(record)
    client_id = reader.client_id()
    # At a meeting a repayment is a record too (posted before this): name it among the kinds.
    kind = reader.choice("kind", MEETING_KINDS if meeting else GROUP_KINDS)
    amount = reader.money("amount")
    member_id = reader.integer("member_id", required=kind in ("savings", "withdrawal"))
    day = meeting["held_on"] if meeting else reader.posting_day("date", today_in_vietnam())
    memo = reader.text("memo", required=False, max_length=500)
    reader.check()
    assert client_id and kind and amount and day
    fund_id, group_id = group["fund_id"], group["id"]
    digest = request_hash(kind, {**record, "group": group_id, "date": str(day)})
    earlier = await ledger.entry_by_client_id(connection, client_id)
    if earlier is not None:
        if earlier["request_hash"] != digest:
            raise Conflict("cdf_client_id_reused", client_id=str(client_id))
        return {"outcome": "duplicate", "entry_id": earlier["id"], "client_id": str(client_id)}
    member = None
    if member_id is not None:
        member = await books.member_by_id(connection, member_id)
        if member is None or member["group_id"] != group_id:
            raise NotFound("cdf_member_not_found")
    # At a meeting the day is the meeting's: the member is what does not fit it.
    refuse_before_start(group, member, day, "date" if meeting is None else "member_id")
    cash = await books.account(connection, fund_id, "group_cash", group_id=group_id)
    if kind in ("savings", "withdrawal"):
        other = await books.account(
            connection, fund_id, "savings", group_id=group_id, member_id=member_id
        )
        if kind == "withdrawal":
            # On its day and every day after (a withdrawal dated back must not leave a later
            # day's savings below zero).
            saved = -await ledger.lowest_balance_from(connection, other, day)
            if amount > saved:
                raise InvalidInput(
                    [Problem("amount", "cdf_withdrawal_exceeds_savings", {"saved": saved})]
                )
            # Nor, dated back, from the savings a loan paid out since had to find on its day
            # (at a meeting, whose day is the record's, the refusal says what it can take).
            await refuse_unsaving_a_payout(
                connection,
                group_id,
                day,
                amount,
                "amount",
                meeting_day=meeting["held_on"] if meeting else None,
            )
            # And paid from the box: savings remitted to the fund are no longer in it.
            await _refuse_empty_box(connection, cash, day, amount, "cdf_withdrawal_exceeds_cash")
    elif kind == "remittance":
        other = await books.account(connection, fund_id, "fund_cash")
        # On its day and every day after (a remittance dated back, before the cash came in,
        # left that day's box at -500,000 while today's balance allowed it).
        await _refuse_empty_box(connection, cash, day, amount, "cdf_remittance_exceeds_cash")
    else:
        other = await books.account(
            connection,
            fund_id,
            "mutual_aid" if kind == "mutual_aid" else "fine_income",
            group_id=group_id,
        )
    sign = -1 if kind in ("withdrawal", "remittance") else 1
    return await post_once(
        connection,
        fund_id=fund_id,
        client_id=client_id,
        request_hash=digest,
        entry_date=day,
        kind=kind,
        lines=[Line(cash, sign * amount), Line(other, -sign * amount)],
        user_id=user.user_id,
        memo=memo or "",
        group_id=group_id,
        member_id=member_id,
        meeting_id=meeting["id"] if meeting else None,
    )


async def group_transaction(
    engine: AsyncEngine, user: Principal, group_id: int, body: dict[str, Any]
) -> dict[str, Any]:
    """Savings, a withdrawal, mutual aid or a fine for a group (staff or its treasurer)."""
    async with transaction(engine) as connection:
        group = await group_for(connection, user, group_id, post=True, lock=True)
        return await _group_record(connection, user, group, body)


# --- meetings -------------------------------------------------------------------------------


async def open_meeting(
    engine: AsyncEngine, user: Principal, group_id: int, body: dict[str, Any]
) -> dict[str, Any]:
    """Open a meeting, its id made by the phone. The contract a phone relies on:
    - created: the id is new and the group has no meeting open that day;
    - duplicate: the id was opened already for this group and day (a resend, even after its
      month was closed: the phone sends its records and close after it);
    - joined: another phone (the secretary's, the treasurer's tablet) opened the group's
      meeting of that day and it is still open: that meeting is the answer, nothing is
      opened under this id, and the phone records into it. One meeting, one count of the
      box: two meetings of one day each closed with a count of the same box, and the second
      close posted the money counted by the first as a cash difference. A meeting of that
      day already closed is not joined: its count is posted, so a new meeting starts from
      the box as counted (and records sent to a closed meeting would be refused);
    - a 409 when the id was opened for another group or day.
    The group's row is locked first: two phones opening at the same instant wait for each
    other, and the second sees the meeting the first opened."""
    reader = Reader(body)
    meeting_id = reader.client_id("id")
    day = reader.posting_day("date", today_in_vietnam())
    reader.check()
    assert meeting_id and day
    outcome = "duplicate"
    async with engine.begin() as connection:
        group = await group_for(connection, user, group_id, post=True, lock=True)
        meeting = await ledger.meeting_by_id(connection, meeting_id)
        if meeting is None:
            refuse_before_start(group, None, day)
            await refuse_closed(connection, group["fund_id"], day)
            meeting = await ledger.open_meeting_of_day(connection, group_id, day)
            outcome = "joined"
        if meeting is None:
            created = await ledger.open_meeting(connection, meeting_id, group_id, day, user.user_id)
            # Not created: the same id opened meanwhile for another group (its lock, not ours).
            outcome = "created" if created else "duplicate"
            meeting = await ledger.meeting_by_id(connection, meeting_id)
    assert meeting is not None
    if outcome == "duplicate" and (meeting["group_id"], meeting["held_on"]) != (group_id, day):
        raise Conflict("cdf_client_id_reused", client_id=str(meeting_id))
    return {"outcome": outcome, "meeting": meeting}


async def _meeting_for(
    connection: AsyncConnection, user: Principal, meeting_id: uuid.UUID
) -> tuple[dict[str, Any], dict[str, Any]]:
    meeting = await ledger.meeting_by_id(connection, meeting_id)
    require(meeting is not None, "cdf_meeting_not_found")
    assert meeting is not None
    group = await group_for(connection, user, meeting["group_id"], post=True, lock=True)
    meeting = await ledger.meeting_by_id(connection, meeting_id, lock=True)
    assert meeting is not None
    return meeting, group


async def record(
    engine: AsyncEngine, user: Principal, meeting_id: uuid.UUID, body: dict[str, Any]
) -> dict[str, Any]:
    """A meeting's records (savings, withdrawals, mutual aid, fines, repayments), each
    posted on its own with its outcome: one bad record never holds up the others."""
    records = body.get("records")
    if not isinstance(records, list) or not records:
        raise InvalidInput([Problem("records", "wrong_type", {"expected": "list"})])
    if len(records) > MAX_RECORDS:
        raise InvalidInput([Problem("records", "cdf_too_many_records", {"max": MAX_RECORDS})])
    shapeless = [i for i, item in enumerate(records) if not isinstance(item, dict)]
    if shapeless:  # not a sheet at all: refused whole (records are checked one by one)
        raise InvalidInput(
            [Problem(f"records.{i}", "wrong_type", {"expected": "object"}) for i in shapeless]
        )
    async with engine.connect() as connection:  # who may post here, asked once for all
        meeting = await ledger.meeting_by_id(connection, meeting_id)
        require(meeting is not None, "cdf_meeting_not_found")
        assert meeting is not None
        await group_for(connection, user, meeting["group_id"], post=True)
    outcomes = []
    for index, item in enumerate(records):
        try:
            if not isinstance(item, dict):
                raise InvalidInput([Problem("", "wrong_type", {"expected": "object"})])
            outcome = await _meeting_record(engine, user, meeting_id, item)
        except (InvalidInput, Conflict, NotFound) as exc:
            if isinstance(exc, NotFound) and exc.message_code == "cdf_meeting_not_found":
                raise
            outcome = _failure(exc)
        outcomes.append({"index": index, **outcome})
    return {"meeting_id": str(meeting_id), "results": outcomes}


def _failure(exc: DomainError) -> dict[str, Any]:
    if isinstance(exc, InvalidInput):
        return {"outcome": "invalid", "problems": exc.problems}
    return {"outcome": "conflict" if isinstance(exc, Conflict) else "not_found", "error": exc}


async def _meeting_record(
    engine: AsyncEngine, user: Principal, meeting_id: uuid.UUID, item: dict[str, Any]
) -> dict[str, Any]:
    async with transaction(engine) as connection:
        meeting, group = await _meeting_for(connection, user, meeting_id)
        if item.get("kind") == "repayment":
            reader = Reader(item)
            client_id = reader.client_id()
            loan_id = reader.integer("loan_id")
            amount = reader.money("amount")
            reader.check()
            assert loan_id and amount
            loan = await books.loan_by_id(connection, loan_id)
            if loan is None or loan["group_id"] != group["id"]:
                raise NotFound("cdf_loan_not_found")
            earlier = await ledger.entry_by_client_id(connection, client_id) if client_id else None
            if meeting["status"] != "open" and earlier is None:
                raise Conflict("cdf_meeting_closed")
            return await repay_in(
                connection, user, loan_id, client_id, amount, meeting["held_on"], meeting["id"]
            )
        if meeting["status"] != "open":
            client = Reader(item).client_id()
            if client is None or await ledger.entry_by_client_id(connection, client) is None:
                raise Conflict("cdf_meeting_closed")
        return await _group_record(connection, user, group, item, meeting)


async def close_meeting(
    engine: AsyncEngine, user: Principal, meeting_id: uuid.UUID, body: dict[str, Any]
) -> dict[str, Any]:
    """Count the cash: the difference with the ledger's cash is posted with a note."""
    reader = Reader(body)
    counted = reader.money("cash_counted", allow_zero=True)
    attendance = reader.integer("attendance", required=False, low=0, high=10_000)
    note = reader.text("note", required=False, max_length=1000)
    reader.check()
    assert counted is not None
    async with transaction(engine) as connection:
        meeting, group = await _meeting_for(connection, user, meeting_id)
        if meeting["status"] == "closed":
            if meeting["cash_counted"] == counted:
                # The same count sent again (a second tab, a lost answer): the figures of the
                # close kept, so the phone shows the difference that was posted.
                kept = meeting["cash_in_ledger"]
                difference = None if kept is None else counted - kept
                return {"outcome": "duplicate", "meeting": meeting, "difference": difference}
            raise Conflict("cdf_meeting_closed")
        fund_id, group_id = group["fund_id"], group["id"]
        cash = await books.account(connection, fund_id, "group_cash", group_id=group_id)
        # The box was counted at the end of the meeting's day: against the cash of that day
        # (a phone back online may send a later meeting's records before this close).
        in_ledger = await ledger.balance(connection, cash, as_of=meeting["held_on"])
        difference = counted - in_ledger
        if difference and not note:
            raise InvalidInput(
                [Problem("note", "cdf_difference_needs_note", {"difference": difference})]
            )
        if difference < 0:
            # Cash missing on the meeting's day is missing on every day after: a later day
            # whose cash was all spent (sent to the fund first) would go below nothing.
            await _refuse_empty_box(
                connection,
                cash,
                meeting["held_on"],
                -difference,
                "cdf_shortfall_exceeds_cash",
                "cash_counted",
            )
        entry = None
        if difference:
            over_short = await books.account(
                connection, fund_id, "cash_over_short", group_id=group_id
            )
            entry = await post_once(
                connection,
                fund_id=fund_id,
                client_id=uuid.uuid5(meeting_id, "cash-difference"),
                request_hash=request_hash("cash_difference", {"counted": counted}),
                entry_date=meeting["held_on"],
                kind="cash_difference",
                lines=[Line(cash, difference), Line(over_short, -difference)],
                user_id=user.user_id,
                memo=note or "",
                group_id=group_id,
                meeting_id=meeting_id,
            )
        await ledger.close_meeting(
            connection,
            meeting_id,
            attendance=attendance,
            cash_counted=counted,
            cash_in_ledger=in_ledger,
            note=note or "",
            user=user.user_id,
        )
        closed = await ledger.meeting_by_id(connection, meeting_id)
    return {"outcome": "created", "meeting": closed, "difference": difference, "entry": entry}


async def get_meeting(
    engine: AsyncEngine, user: Principal, meeting_id: uuid.UUID
) -> dict[str, Any]:
    """A meeting, with what the books hold of it now, whichever phone posted it: the group's
    cash on the meeting's day (`cash_in_books`: what its close compares the count with), the
    part of it the meeting's records moved (`cash_of_meeting`: the rest is the cash at its
    start, whatever day it is held on) and the client ids of its records (`record_ids`). A
    phone recording with another at one meeting takes the cash it expects in the box from
    these, never from its own records alone (it asked a note for a difference that was the
    other phone's records)."""
    async with engine.connect() as connection:
        meeting = await ledger.meeting_by_id(connection, meeting_id)
        require(meeting is not None, "cdf_meeting_not_found")
        assert meeting is not None
        await group_for(connection, user, meeting["group_id"])
        balances = await ledger.group_balances(
            connection, meeting["group_id"], as_of=meeting["held_on"]
        )
        records = await ledger.meeting_record_ids(connection, meeting_id)
        moved = await ledger.meeting_cash(connection, meeting_id, meeting["group_id"])
    return {
        **meeting,
        "cash_in_books": balances.get("group_cash", 0),
        "cash_of_meeting": moved,
        "record_ids": records,
    }


# --- reversals and periods ------------------------------------------------------------------


async def reverse(
    engine: AsyncEngine, user: Principal, entry_id: int, body: dict[str, Any]
) -> dict[str, Any]:
    """Correct a posted entry by a reversing entry pointing to it (CDF staff). A loan's
    disbursement is not reversed here (its schedule stands): reverse its repayments."""
    reader = Reader(body)
    client_id = reader.client_id()
    day = reader.posting_day("date", today_in_vietnam(), required=False)
    memo = reader.text("memo", required=True, max_length=500)
    reader.check()
    assert client_id
    async with transaction(engine) as connection:
        # Locked first: a second reversal of the same entry at the same moment waits, then
        # reads that it was reversed (it read "not reversed" and broke the one-reversal rule:
        # a 500); a capital entry has no group to lock.
        entry = await ledger.entry_by_id(connection, entry_id, lock=True)
        require(entry is not None, "cdf_entry_not_found")
        assert entry is not None
        if entry["group_id"] is not None:
            group = await group_for(connection, user, entry["group_id"], post=True, lock=True)
            city_id = group["city_id"]
        else:
            city_id = await _fund_city(connection, entry["fund_id"])
            require(user.can_see_city(city_id), "cdf_entry_not_found")
        if not cdf.is_staff(user, city_id):
            raise Forbidden("not_allowed")
        # Its date when given (a resend on another day is another reversal): a resend
        # without one hashes as before.
        asked = {"entry": entry_id, "memo": memo} | ({"date": str(day)} if day else {})
        digest = request_hash("reversal", asked)
        earlier = await ledger.entry_by_client_id(connection, client_id)
        if earlier is not None:
            if earlier["request_hash"] != digest:
                raise Conflict("cdf_client_id_reused", client_id=str(client_id))
            return {"outcome": "duplicate", "entry_id": earlier["id"]}
        if entry["kind"] in ("reversal", "disbursement") or entry["reversed_by"] is not None:
            raise Conflict("cdf_cannot_reverse", kind=entry["kind"])
        if day is not None and day < entry["entry_date"]:
            raise InvalidInput(
                [Problem("date", "cdf_reversal_before_entry", {"date": str(entry["entry_date"])})]
            )
        if entry["loan_id"] is not None:
            await books.loan_by_id(connection, entry["loan_id"], lock=True)
        lines = [
            Line(
                line["account_id"],
                -line["amount"],
                line["loan_id"],
                line["installment_seq"],
                line["component"],
            )
            for line in entry["lines"]
        ]
        reversed_on = day or max(today_in_vietnam(), entry["entry_date"])
        if entry["group_id"] is not None:
            # Taking back a saving cannot leave a member owing savings: the group locked above,
            # as a withdrawal is checked (a saving withdrawn, then reversed, was -300,000).
            # Every member's savings on the entry: a meeting's collection sheet is one entry,
            # and checking only an entry of one member left the sheet's members at -amount.
            saving = await books.savings_accounts_among(connection, [x.account_id for x in lines])
            for account_id in sorted(saving):
                taken = sum(line.amount for line in lines if line.account_id == account_id)
                saved = -await ledger.lowest_balance_from(connection, account_id, reversed_on)
                if taken > saved:
                    raise InvalidInput(
                        [Problem("entry", "cdf_reversal_exceeds_savings", {"saved": saved})]
                    )
            # Nor, on or before a loan's payout day, leave the group short of what the loan
            # needed saved on that day.
            await refuse_unsaving_a_payout(
                connection,
                entry["group_id"],
                reversed_on,
                sum(line.amount for line in lines if line.account_id in saving),
                "entry",
            )
            # Taking cash back out of the box (a saving reversed after it was remitted) cannot
            # leave it below nothing on any day from the reversal's.
            box = await books.account(
                connection, entry["fund_id"], "group_cash", group_id=entry["group_id"]
            )
            out = -sum(line.amount for line in lines if line.account_id == box)
            if out > 0:
                await _refuse_empty_box(
                    connection, box, reversed_on, out, "cdf_reversal_exceeds_cash", "entry"
                )
        # Taking cash back out of the fund (capital or a remittance reversed after the money
        # was lent) cannot leave it below nothing either: the fund's lock is the last taken.
        fund_cash = await books.account(connection, entry["fund_id"], "fund_cash")
        out_of_fund = -sum(line.amount for line in lines if line.account_id == fund_cash)
        if out_of_fund > 0:
            await refuse_empty_fund(
                connection,
                entry["fund_id"],
                reversed_on,
                out_of_fund,
                "cdf_reversal_exceeds_fund_cash",
                "entry",
            )
        result = await post_once(
            connection,
            fund_id=entry["fund_id"],
            client_id=client_id,
            request_hash=digest,
            entry_date=reversed_on,
            kind="reversal",
            lines=lines,
            user_id=user.user_id,
            memo=memo or "",
            group_id=entry["group_id"],
            member_id=entry["member_id"],
            loan_id=entry["loan_id"],
            reverses_id=entry_id,
        )
        if entry["kind"] == "repayment" and entry["loan_id"] is not None:
            loan = await books.loan_by_id(connection, entry["loan_id"])
            if loan is not None and loan["status"] == "closed":
                await books.set_loan(connection, entry["loan_id"], status="disbursed")
    return result


async def _fund_city(connection: AsyncConnection, fund_id: int) -> int:
    return int(
        (
            await connection.execute(
                text("SELECT city_id FROM cdf_funds WHERE id = :id"), {"id": fund_id}
            )
        ).scalar_one()
    )


async def close_period(
    engine: AsyncEngine, user: Principal, city_slug: str, body: dict[str, Any]
) -> dict[str, Any]:
    """Close a period of the fund's books: no entry dated inside it is accepted after.

    Closing the same period again (a resend, a double tap) is the period closed already;
    one that shares a day with another closed period is refused, so that the closed periods
    the fund lists never overlap. The fund's posting lock makes two closes at once wait for
    each other."""
    reader = Reader(body)
    starts_on = reader.day("starts_on")
    ends_on = reader.day("ends_on")
    reader.check()
    assert starts_on and ends_on
    if ends_on < starts_on:
        raise InvalidInput([Problem("ends_on", "cdf_period_ends_before_it_starts")])
    if ends_on >= today_in_vietnam():
        raise InvalidInput([Problem("ends_on", "cdf_period_not_past")])
    async with engine.begin() as connection:
        city = await city_for(connection, user, city_slug)
        if not cdf.is_staff(user, city["id"]) or city["fund_id"] is None:
            raise Forbidden("not_allowed")
        await ledger.lock_fund(connection, city["fund_id"])
        other = await ledger.period_overlapping(connection, city["fund_id"], starts_on, ends_on)
        if other is not None and (other["starts_on"], other["ends_on"]) == (starts_on, ends_on):
            return {"outcome": "duplicate", **other}
        if other is not None:
            raise Conflict("cdf_period_overlaps", start=other["starts_on"], end=other["ends_on"])
        period_id = await ledger.close_period(
            connection, city["fund_id"], starts_on, ends_on, user.user_id
        )
    return {"outcome": "created", "id": period_id, "starts_on": starts_on, "ends_on": ends_on}


async def closed_periods(engine: AsyncEngine, user: Principal, city_slug: str) -> dict[str, Any]:
    """The closed periods of the city's fund, for those who read its books."""
    async with engine.connect() as connection:
        city = await city_for(connection, user, city_slug)
        require(cdf.can_read_city_books(user, city["id"]), "unknown_city", city=city_slug)
        periods = (
            []
            if city["fund_id"] is None
            else await ledger.closed_periods(connection, city["fund_id"])
        )
    return {"city": city["slug"], "periods": periods}
