"""Use cases: a CDF's register (savings groups, members, loan products) and a group's
statement. Money movements are in app/services/cdf_postings.py, loans in cdf_loans.py."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.db import cdf_books as books
from app.db import cdf_ledger as ledger
from app.db.engine import snapshot
from app.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem
from app.services import cdf_access as cdf
from app.services.access import Principal, require
from app.services.cdf_input import MAX_MONEY, Reader, request_hash
from app.services.cdf_schedule import (
    FREQUENCIES,
    METHODS,
    RATE_PERIODS,
    Outstanding,
    days_overdue,
    owed_in_all,
)
from app.vietnam import today_in_vietnam, vietnam_day

LOAN_KINDS = ("housing", "income", "emergency", "environment", "revolving")


async def city_for(connection: AsyncConnection, user: Principal, slug: str) -> dict[str, Any]:
    """A city this person may see at all (else NotFound, as if it did not exist)."""
    city = await books.city_by_slug(connection, slug)
    require(city is not None and user.can_see_city(city["id"]), "unknown_city", city=slug)
    assert city is not None
    return city


async def group_for(
    connection: AsyncConnection,
    user: Principal,
    group_id: int,
    post: bool = False,
    lock: bool = False,
) -> dict[str, Any]:
    """A group this person may read (and post for, with `post`); NotFound otherwise."""
    group = await books.group_by_id(connection, group_id, lock=lock)
    require(group is not None and cdf.can_read_group(user, group), "cdf_group_not_found")
    assert group is not None
    if post and not cdf.can_post_group(user, group):
        raise Forbidden("not_allowed")
    return group


def refuse_before_start(
    group: dict[str, Any], member: dict[str, Any] | None, day: date, field: str = "date"
) -> None:
    """Nothing is recorded for a group before it was founded, nor for a member before they
    joined: the statement lists neither on such a day, the city report counted their money."""
    if day < group["founded_on"]:
        raise InvalidInput(
            [Problem(field, "cdf_before_group_founded", {"date": group["founded_on"].isoformat()})]
        )
    joined = member["joined_on"] if member is not None else None
    if joined is not None and day < joined:
        raise InvalidInput(
            [Problem(field, "cdf_before_member_joined", {"date": joined.isoformat()})]
        )


def refuse_past_the_cap(
    principal: int,
    terms: dict[str, Any],
    field: str = "principal",
    code: str = "cdf_loan_total_too_large",
) -> None:
    """InvalidInput naming `field` when a loan of `principal` on `terms` (a product's or a
    loan's rate, term, frequency and method) would ask for more than MAX_MONEY in all: then
    every installment, its interest, and the repayment that settles the loan fit the books.
    Checked for a product's max_principal, an application and a payout."""
    total = owed_in_all(
        principal,
        terms["rate_bp"],
        terms["rate_period"],
        terms["term_installments"],
        terms["frequency"],
        terms["method"],
    )
    if total > MAX_MONEY:
        raise InvalidInput(
            [Problem(field, code, {"principal": principal, "total": total, "max": MAX_MONEY})]
        )


def _staff(user: Principal, city_id: int) -> None:
    if not cdf.is_staff(user, city_id):
        raise Forbidden("not_allowed")


# --- groups ---------------------------------------------------------------------------------


async def create_group(
    engine: AsyncEngine, user: Principal, city_slug: str, body: dict[str, Any]
) -> dict[str, Any]:
    """Register a savings group in one of the city's settlements (CDF staff). With a
    `client_id` (a UUID the client made), the same request again is the group stored
    (`duplicate`), another request under that id a Conflict."""
    reader = Reader(body)
    client_id = reader.client_id(required=False)
    values: dict[str, Any] = {
        "name": reader.text("name"),
        "settlement_id": reader.integer("settlement_id", required=False),
        "founded_on": reader.past_day("founded_on", today_in_vietnam()),
        "meeting_frequency": reader.choice("meeting_frequency", FREQUENCIES),
        "share_value": reader.money("share_value"),
        "rules": reader.text("rules", required=False, max_length=5000),
    }
    reader.check()
    digest = request_hash(
        "group", {"city": city_slug, **{k: v for k, v in body.items() if k != "client_id"}}
    )
    async with engine.begin() as connection:
        city = await city_for(connection, user, city_slug)
        _staff(user, city["id"])
        earlier = await _group_sent_before(connection, client_id, digest)
        if earlier is not None:
            return {"outcome": "duplicate", **earlier}
        settlement = values["settlement_id"]
        if isinstance(settlement, int) and not await books.settlement_in_city(
            connection, city["id"], settlement
        ):
            raise NotFound("cdf_settlement_not_found", id=settlement)
        fund_id = await books.ensure_fund(connection, city["id"], f"CDF {city['name']}")
        group_id = await books.insert_group(
            connection,
            fund_id,
            {
                **values,
                "created_by": user.user_id,
                "client_id": client_id,
                "request_hash": digest,
            },
        )
        if group_id is None:  # its client id stored by a request that committed meanwhile
            earlier = await _group_sent_before(connection, client_id, digest)
            assert earlier is not None
            return {"outcome": "duplicate", **earlier}
        for kind in ("group_cash", "mutual_aid", "fine_income", "cash_over_short"):
            await books.account(connection, fund_id, kind, group_id=group_id)
        group = await books.group_by_id(connection, group_id)
    assert group is not None
    return {"outcome": "created", **group}


async def _group_sent_before(
    connection: AsyncConnection, client_id: uuid.UUID | None, digest: str
) -> dict[str, Any] | None:
    """The group stored under this client id by the same request, None when none is;
    Conflict when another request used the id."""
    if client_id is None:
        return None
    earlier = await books.group_by_client_id(connection, client_id)
    if earlier is None:
        return None
    if earlier["request_hash"] != digest:
        raise Conflict("cdf_client_id_reused", client_id=str(client_id))
    return await books.group_by_id(connection, earlier["id"])


async def list_groups(engine: AsyncEngine, user: Principal, city_slug: str) -> dict[str, Any]:
    """The city's groups this person may see (treasurers: their own; ward leaders: their
    ward's), with members and savings."""
    async with engine.connect() as connection:
        return await list_groups_on(connection, user, city_slug)


async def list_groups_on(
    connection: AsyncConnection, user: Principal, city_slug: str
) -> dict[str, Any]:
    """list_groups as `connection` reads it (a report's snapshot: app.services.cdf_report_page)."""
    city = await city_for(connection, user, city_slug)
    if city["fund_id"] is None:
        return {"city": city["slug"], "groups": []}
    whole, ids, wards = cdf.readable_groups_filter(user, city["id"])
    groups = await books.list_groups(connection, city["fund_id"], whole, ids, wards)
    return {"city": city["slug"], "groups": groups}


# --- members --------------------------------------------------------------------------------


def member_out(member: dict[str, Any], names: bool) -> dict[str, Any]:
    """A member as a reader may see them: names and the linked survey only when allowed."""
    shown = {k: v for k, v in member.items() if k not in ("name", "household_survey_id")}
    shown["household_linked"] = member.get("household_survey_id") is not None
    if names:
        shown["name"] = member["name"]
        shown["household_survey_id"] = member.get("household_survey_id")
    return shown


async def add_member(
    engine: AsyncEngine, user: Principal, group_id: int, body: dict[str, Any]
) -> dict[str, Any]:
    """Add a member to a group (staff or the group's treasurer), optionally linked to the
    household survey of the same city (its id only: its answers stay where they are).

    The member code is the key: the same member sent again (a resend, a double tap) is the
    member stored (`duplicate`); another member under a code the group has is a Conflict."""
    reader = Reader(body)
    values: dict[str, Any] = {
        "code": reader.text("code", max_length=32),
        "name": reader.text("name"),
        "joined_on": reader.past_day("joined_on", today_in_vietnam()),
        "household_survey_id": None,
    }
    if body.get("household_survey_id") is not None:
        values["household_survey_id"] = reader.client_id("household_survey_id")
    reader.check()
    async with engine.begin() as connection:
        group = await group_for(connection, user, group_id, post=True)
        survey = values["household_survey_id"]
        if survey is not None and not await books.survey_in_city(
            connection, survey, group["city_id"]
        ):
            raise NotFound("cdf_survey_not_found")
        member_id = await books.insert_member(connection, {**values, "group_id": group_id})
        if member_id is None:
            # The code is taken (a new statement sees the member stored, even one a racing
            # first sending committed meanwhile).
            stored = await books.member_by_code(connection, group_id, values["code"])
            if stored is None or any(stored[name] != value for name, value in values.items()):
                raise Conflict("cdf_member_code_taken", value=values["code"])
            return {"outcome": "duplicate", **member_out(stored, names=True)}
        await books.account(
            connection, group["fund_id"], "savings", group_id=group_id, member_id=member_id
        )
        member = await books.member_by_id(connection, member_id)
    assert member is not None
    return {"outcome": "created", **member_out(member, names=True)}


# --- products -------------------------------------------------------------------------------


async def create_product(
    engine: AsyncEngine, user: Principal, city_slug: str, body: dict[str, Any]
) -> dict[str, Any]:
    """A loan product of the city's fund (CDF staff). The same product sent again is the
    product stored (`duplicate`); another product under a code the fund has is a Conflict.
    A max_principal whose loan would owe more than the books take in all is refused: every
    application at the product's maximum would be (refuse_past_the_cap)."""
    reader = Reader(body)
    values: dict[str, Any] = {
        "code": reader.text("code", max_length=32),
        "name": reader.text("name"),
        "kind": reader.choice("kind", LOAN_KINDS),
        "rate_bp": reader.integer("rate_bp", low=0, high=100_000),
        "rate_period": reader.choice("rate_period", RATE_PERIODS),
        "term_installments": reader.integer("term_installments", high=520),
        "frequency": reader.choice("frequency", FREQUENCIES),
        "method": reader.choice("method", METHODS),
        "min_savings_bp": reader.integer("min_savings_bp", required=False, low=0, high=100_000)
        or 0,
        "max_principal": reader.money("max_principal", required=False),
    }
    reader.check()
    if values["max_principal"] is not None:
        refuse_past_the_cap(
            values["max_principal"], values, "max_principal", "cdf_product_total_too_large"
        )
    async with engine.begin() as connection:
        city = await city_for(connection, user, city_slug)
        _staff(user, city["id"])
        fund_id = await books.ensure_fund(connection, city["id"], f"CDF {city['name']}")
        product_id = await books.insert_product(connection, fund_id, values)
        if product_id is None:
            stored = await books.product_by_code(connection, fund_id, values["code"])
            if stored is None or any(stored[name] != value for name, value in values.items()):
                raise Conflict("cdf_product_code_taken", value=values["code"])
            return {"outcome": "duplicate", **stored}
    return {"outcome": "created", "id": product_id, **values}


async def list_products(engine: AsyncEngine, user: Principal, city_slug: str) -> dict[str, Any]:
    """The fund's loan products (anyone who may see the city)."""
    async with engine.connect() as connection:
        city = await city_for(connection, user, city_slug)
        products = await books.products_of(connection, city["fund_id"]) if city["fund_id"] else []
    return {"city": city["slug"], "products": products}


# --- statement ------------------------------------------------------------------------------


def schedule_out(rows: list[dict[str, Any]], as_of: date) -> dict[str, Any]:
    """A loan's schedule with what is paid and overdue on each installment."""
    out, owed = [], []
    for row in rows:
        principal_left = row["principal_due"] - row["principal_paid"]
        interest_left = row["interest_due"] - row["interest_paid"]
        late = row["due_on"] < as_of and principal_left + interest_left > 0
        out.append({**row, "overdue": late, "remaining": principal_left + interest_left})
        owed.append(Outstanding(row["seq"], row["due_on"], principal_left, interest_left))
    return {
        "installments": out,
        "principal_outstanding": sum(o.principal for o in owed),
        "interest_outstanding": sum(o.interest for o in owed),
        "overdue_amount": sum(o.principal + o.interest for o in owed if o.due_on < as_of),
        "days_overdue": days_overdue(owed, as_of),
    }


async def statement(
    engine: AsyncEngine, user: Principal, group_id: int, as_of: date | None = None
) -> dict[str, Any]:
    """A group, its balances, each member's savings and loans, each loan's schedule with
    paid and overdue amounts, its meetings and latest entries (reversals included); all
    computed from the journal as it stood at the end of `as_of` (today by default)."""
    as_of = as_of or today_in_vietnam()
    # One snapshot: an entry posted between the reads would show in some figures and not in
    # others (cash, savings and loans that do not add up on a printed statement).
    async with snapshot(engine) as connection:
        group = await group_for(connection, user, group_id)
        names = cdf.can_see_member_names(user, group)
        members = [
            m
            for m in await books.members_of(connection, group_id, as_of)
            if m["joined_on"] is None or m["joined_on"] <= as_of  # not a member yet
        ]
        balances = await ledger.group_balances(connection, group_id, as_of)
        loans = []
        for loan in await books.loans_of_group(connection, group_id):
            if loan["applied_on"] is not None and loan["applied_on"] > as_of:
                continue  # not asked for yet on that day
            loan_out = {k: v for k, v in loan.items() if k not in ("client_id",)}
            paid_out = loan["disbursed_on"] is not None and loan["disbursed_on"] <= as_of
            if loan["status"] in ("disbursed", "closed") and paid_out:
                schedule = schedule_out(
                    await books.installments(connection, loan["id"], as_of), as_of
                )
                loan_out["schedule"] = schedule
                owed = schedule["principal_outstanding"] + schedule["interest_outstanding"]
                loan_out["status"] = "disbursed" if owed > 0 else "closed"
            elif loan["status"] in ("disbursed", "closed"):
                loan_out["status"] = "approved"  # paid out after that day
            decided = loan["approved_at"]  # the approval's time, or the rejection's
            if (
                loan_out["status"] in ("approved", "rejected", "disbursed", "closed")
                and decided is not None
                and vietnam_day(decided) > as_of
            ):
                loan_out["status"] = "applied"  # approved or rejected after that day
            loans.append(loan_out)
        meetings = await ledger.meetings_of(connection, group_id, as_of)
        entries = await ledger.group_entries(connection, group_id, as_of=as_of)
    by_member: dict[int, list[dict[str, Any]]] = {}
    for loan in loans:
        if loan["member_id"] is not None:
            by_member.setdefault(loan["member_id"], []).append(loan)
    member_rows = []
    for member in members:
        own = by_member.get(member["id"], [])
        member_rows.append(
            {
                **member_out(member, names),
                "loans": [loan["id"] for loan in own],
                "loan_outstanding": sum(
                    loan.get("schedule", {}).get("principal_outstanding", 0) for loan in own
                ),
            }
        )
    outstanding = sum(loan.get("schedule", {}).get("principal_outstanding", 0) for loan in loans)
    return {
        "group": group,
        "as_of": as_of,
        "balances": {
            "cash": balances.get("group_cash", 0),
            "savings": sum(m["savings"] for m in members),
            "mutual_aid": -balances.get("mutual_aid", 0),
            "fines": -balances.get("fine_income", 0),
            "cash_over_short": -balances.get("cash_over_short", 0),
            "loans_outstanding": outstanding,
        },
        "members": member_rows,
        "loans": loans,
        "meetings": meetings,
        "entries": entries,
    }


def new_client_id() -> uuid.UUID:
    """An id for a record the server makes itself."""
    return uuid.uuid4()
