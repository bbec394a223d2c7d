"""The CDF's books over HTTP: savings groups, members, loan products, capital, loans,
group money, meetings, reversals, closed periods and reports (docs/cdf.md).

Bodies are read by the services (app/services/cdf_*.py) so that every client mistake, an
amount with decimals included, is a 4xx naming the field in Vietnamese or English; the
models below only describe them in the OpenAPI schema.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from app.api.deps import AuthDep, CityPath, CurrentUser, EngineDep, IdPath, LanguageDep
from app.api.requests import json_object
from app.api.responses import JSON
from app.api.schemas import WRITE_ERRORS, ErrorOut, model_body
from app.api.validation import DAY_PATTERN
from app.errors import InvalidInput, Problem
from app.services import cdf_books, cdf_loans, cdf_postings, cdf_reports, cdf_treasurers
from app.services.cdf_report_texts import text as report_text

router = APIRouter(tags=["cdf"])
ERRORS = WRITE_ERRORS
# Posting exactly once: 201 when posted, 200 when this client id was posted before (nothing
# posted again; the first record's answer).
ONCE: dict[int | str, dict[str, Any]] = {
    200: {"description": "posted before with this client id: nothing posted again"},
    **WRITE_ERRORS,
}
# A meeting's opening: 201 when opened, 200 when this id was opened before (`duplicate`) or
# when another phone opened the group's meeting of that day, still open (`joined`).
OPENED_ONCE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "opened before with this id (duplicate), or the group's meeting of "
        "that day another client opened, still open (joined): that meeting, nothing opened"
    },
    **WRITE_ERRORS,
}
# Registered once under its code: 201 when added, 200 when the same record was sent again
# (the one stored; another record under a code in use is a 409).
SAME_CODE: dict[int | str, dict[str, Any]] = {
    200: {"description": "stored before under this code, the same: nothing added again"},
    **WRITE_ERRORS,
}
READ_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut},
    404: {"model": ErrorOut},
    422: {"model": ErrorOut},
}
CSV = "text/csv; charset=utf-8"
Money = Annotated[int, Field(ge=1, le=10**12, description="whole đồng")]
Day = Annotated[date, Field(description="YYYY-MM-DD")]
DayQuery = Annotated[str | None, Query(pattern=DAY_PATTERN, examples=["2026-12-01"])]


class GroupIn(BaseModel):
    client_id: uuid.UUID | None = Field(
        default=None,
        description="a UUID the client makes: the same request again is the group stored",
    )
    name: str = Field(min_length=1, max_length=200)
    settlement_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    founded_on: Day
    meeting_frequency: Literal["weekly", "fortnightly", "monthly"]
    share_value: Money
    rules: str = Field(default="", max_length=5000)


class MemberIn(BaseModel):
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=200)
    joined_on: Day
    household_survey_id: uuid.UUID | None = None


class ProductIn(BaseModel):
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["housing", "income", "emergency", "environment", "revolving"]
    rate_bp: int = Field(ge=0, le=100_000, description="basis points: 150 = 1.5 %")
    rate_period: Literal["month", "year"]
    term_installments: int = Field(ge=1, le=520)
    frequency: Literal["weekly", "fortnightly", "monthly"]
    method: Literal["flat", "declining"]
    min_savings_bp: int = Field(default=0, ge=0, le=100_000)
    max_principal: Money | None = None


class CapitalIn(BaseModel):
    client_id: uuid.UUID
    source: Literal["seed_grant", "city_budget", "donor", "interest_earned", "other"]
    amount: Money
    date: Day
    memo: str = Field(default="", max_length=500)


class LoanIn(BaseModel):
    client_id: uuid.UUID
    group_id: int = Field(ge=1, le=2**31 - 1)
    member_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    product_id: int = Field(ge=1, le=2**31 - 1)
    principal: Money
    date: Day | None = None
    purpose: str = Field(default="", max_length=500)


class DecisionIn(BaseModel):
    decision: Literal["approved", "rejected"]
    date: Day | None = Field(default=None, description="the day the board decided (today)")


class DisbursementIn(BaseModel):
    client_id: uuid.UUID
    date: Day


class RepaymentIn(BaseModel):
    client_id: uuid.UUID
    amount: Money
    date: Day


class TransactionIn(BaseModel):
    client_id: uuid.UUID
    kind: Literal["savings", "withdrawal", "mutual_aid", "fine", "remittance"]
    amount: Money
    member_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    date: Day
    memo: str = Field(default="", max_length=500)


class MeetingIn(BaseModel):
    id: uuid.UUID
    date: Day


class MeetingRecordIn(BaseModel):
    client_id: uuid.UUID
    kind: Literal["savings", "withdrawal", "mutual_aid", "fine", "remittance", "repayment"]
    amount: Money
    member_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    loan_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class MeetingRecordsIn(BaseModel):
    # Each record is checked on its own (one bad record never holds up the sheet): the
    # answer lists every record's outcome, so the items are any objects here.
    records: list[dict[str, Any]] = Field(
        min_length=1, max_length=500, description="records shaped as MeetingRecordIn"
    )


class MeetingCloseIn(BaseModel):
    cash_counted: int = Field(ge=0, le=10**12)
    attendance: int | None = Field(default=None, ge=0, le=10_000)
    note: str = Field(default="", max_length=1000)


class ReversalIn(BaseModel):
    client_id: uuid.UUID
    memo: str = Field(min_length=1, max_length=500)
    date: Day | None = None


class TreasurerIn(BaseModel):
    user_id: int = Field(ge=1, le=2**31 - 1)


class PeriodIn(BaseModel):
    starts_on: Day
    ends_on: Day


def book_day(raw: str | None, field: str = "as_of") -> date | None:
    """A day of the books from a query (YYYY-MM-DD, 1990-2100), or InvalidInput naming it;
    every CDF route and page reads its days with this one."""
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError as exc:
        raise InvalidInput([Problem(field, "cdf_invalid_date")]) from exc
    if not 1990 <= day.year <= 2100:  # the books' years (a year before them has none)
        raise InvalidInput([Problem(field, "cdf_invalid_date")])
    return day


def _created(result: dict[str, Any]) -> JSON:
    return JSON(result, status_code=201 if result.get("outcome", "created") == "created" else 200)


# --- groups, members, products --------------------------------------------------------------


@router.get("/api/v1/cdf/{city}/groups", responses=READ_ERRORS)
async def list_groups(city: CityPath, user: CurrentUser, engine: EngineDep) -> JSON:
    """The city's savings groups this person may see, with members and savings."""
    return JSON(await cdf_books.list_groups(engine, user, city))


@router.post(
    "/api/v1/cdf/{city}/groups",
    status_code=201,
    responses=ONCE,
    openapi_extra=model_body(GroupIn),
)
async def create_group(
    city: CityPath, request: Request, user: CurrentUser, engine: EngineDep
) -> JSON:
    """Register a savings group (CDF staff). With a `client_id`, the same request again is
    the group registered (200, `outcome: duplicate`), another request under that id a 409."""
    body = await json_object(request)
    return _created(await cdf_books.create_group(engine, user, city, body))


@router.get("/api/v1/cdf/groups/{group_id}", responses=READ_ERRORS)
async def get_group(
    group_id: IdPath, user: CurrentUser, engine: EngineDep, as_of: DayQuery = None
) -> JSON:
    """A group with its statement: balances, members' savings and loans, each loan's
    schedule with paid and overdue amounts, meetings, latest entries (from the journal)."""
    return JSON(await cdf_books.statement(engine, user, group_id, book_day(as_of, "as_of")))


@router.post(
    "/api/v1/cdf/groups/{group_id}/members",
    status_code=201,
    responses=SAME_CODE,
    openapi_extra=model_body(MemberIn),
)
async def add_member(
    group_id: IdPath, request: Request, user: CurrentUser, engine: EngineDep
) -> JSON:
    """Add a member (CDF staff or the group's treasurer). The same member sent again is the
    one stored (200, `outcome: duplicate`); another member under its code is a 409."""
    body = await json_object(request)
    return _created(await cdf_books.add_member(engine, user, group_id, body))


@router.post(
    "/api/v1/cdf/groups/{group_id}/treasurers",
    status_code=201,
    responses=ONCE,
    openapi_extra=model_body(TreasurerIn),
)
async def appoint_treasurer(
    group_id: IdPath, request: Request, user: CurrentUser, engine: EngineDep, auth: AuthDep
) -> JSON:
    """Make a person the group's treasurer (thủ quỹ): CDF staff of the city."""
    body = await json_object(request)
    return _created(await cdf_treasurers.appoint(engine, auth, user, group_id, body))


@router.delete(
    "/api/v1/cdf/groups/{group_id}/treasurers/{user_id}", status_code=204, responses=ERRORS
)
async def remove_treasurer(
    group_id: IdPath, user_id: IdPath, user: CurrentUser, engine: EngineDep, auth: AuthDep
) -> Response:
    """Take a group's treasurer role away (CDF staff of the city)."""
    await cdf_treasurers.remove(engine, auth, user, group_id, user_id)
    return Response(status_code=204)


@router.get("/api/v1/cdf/{city}/products", responses=READ_ERRORS)
async def list_products(city: CityPath, user: CurrentUser, engine: EngineDep) -> JSON:
    """The fund's loan products."""
    return JSON(await cdf_books.list_products(engine, user, city))


@router.post(
    "/api/v1/cdf/{city}/products",
    status_code=201,
    responses=SAME_CODE,
    openapi_extra=model_body(ProductIn),
)
async def create_product(
    city: CityPath, request: Request, user: CurrentUser, engine: EngineDep
) -> JSON:
    """A loan product (CDF staff). The same product sent again is the one stored (200,
    `outcome: duplicate`); another product under its code is a 409."""
    body = await json_object(request)
    return _created(await cdf_books.create_product(engine, user, city, body))


@router.post(
    "/api/v1/cdf/{city}/capital",
    status_code=201,
    responses=ONCE,
    openapi_extra=model_body(CapitalIn),
)
async def receive_capital(
    city: CityPath, request: Request, user: CurrentUser, engine: EngineDep
) -> JSON:
    """Capital received by the fund, by source (CDF staff; idempotent on client_id)."""
    body = await json_object(request)
    return _created(await cdf_postings.receive_capital(engine, user, city, body))


@router.post(
    "/api/v1/cdf/{city}/periods",
    status_code=201,
    responses={200: {"description": "closed already: nothing closed again"}, **ERRORS},
    openapi_extra=model_body(PeriodIn),
)
async def close_period(
    city: CityPath, request: Request, user: CurrentUser, engine: EngineDep
) -> JSON:
    """Close a past period of the books: entries dated inside it are refused after. The
    same period again is the one closed already (200, `outcome: duplicate`); a period that
    shares a day with another closed one is a 409."""
    body = await json_object(request)
    return _created(await cdf_postings.close_period(engine, user, city, body))


@router.get("/api/v1/cdf/{city}/periods", responses=READ_ERRORS)
async def closed_periods(city: CityPath, user: CurrentUser, engine: EngineDep) -> JSON:
    """The closed periods of the city's books, earliest first, with who closed each."""
    return JSON(await cdf_postings.closed_periods(engine, user, city))


# --- loans ----------------------------------------------------------------------------------


@router.get("/api/v1/cdf/{city}/loans", responses=READ_ERRORS)
async def list_loans(
    city: CityPath,
    user: CurrentUser,
    engine: EngineDep,
    status: Literal["applied", "approved", "rejected", "disbursed", "closed"] | None = None,
) -> JSON:
    """The city's loans this person may see."""
    return JSON(await cdf_loans.list_loans(engine, user, city, status))


@router.post(
    "/api/v1/cdf/{city}/loans", status_code=201, responses=ONCE, openapi_extra=model_body(LoanIn)
)
async def apply_for_loan(
    city: CityPath, request: Request, user: CurrentUser, engine: EngineDep
) -> JSON:
    """Record a loan application (the maker; idempotent on client_id)."""
    body = await json_object(request)
    return _created(await cdf_loans.apply(engine, user, city, body))


@router.get("/api/v1/cdf/loans/{loan_id}", responses=READ_ERRORS)
async def get_loan(loan_id: IdPath, user: CurrentUser, engine: EngineDep) -> JSON:
    """A loan with its schedule (paid and overdue per installment)."""
    return JSON(await cdf_loans.get_loan(engine, user, loan_id))


@router.post(
    "/api/v1/cdf/loans/{loan_id}/decision",
    responses=ERRORS,
    openapi_extra=model_body(DecisionIn),
)
async def decide_loan(
    loan_id: IdPath, request: Request, user: CurrentUser, engine: EngineDep
) -> JSON:
    """Approve or reject (CDF staff other than who recorded the application). The decision
    taken already, sent again (an approval also once paid out), is the loan as stored
    (`outcome: duplicate`)."""
    body = await json_object(request)
    return JSON(await cdf_loans.decide(engine, user, loan_id, body))


@router.post(
    "/api/v1/cdf/loans/{loan_id}/disbursement",
    status_code=201,
    responses=ONCE,
    openapi_extra=model_body(DisbursementIn),
)
async def disburse_loan(
    loan_id: IdPath, request: Request, user: CurrentUser, engine: EngineDep
) -> JSON:
    """Pay out an approved loan: its schedule is made (CDF staff)."""
    body = await json_object(request)
    return _created(await cdf_loans.disburse(engine, user, loan_id, body))


@router.post(
    "/api/v1/cdf/loans/{loan_id}/repayments",
    status_code=201,
    responses=ONCE,
    openapi_extra=model_body(RepaymentIn),
)
async def repay_loan(
    loan_id: IdPath, request: Request, user: CurrentUser, engine: EngineDep
) -> JSON:
    """A repayment, allocated to overdue interest, overdue principal, then the current
    installment (idempotent on client_id)."""
    body = await json_object(request)
    return _created(await cdf_loans.repay(engine, user, loan_id, body))


# --- group money, meetings, reversals -------------------------------------------------------


@router.post(
    "/api/v1/cdf/groups/{group_id}/transactions",
    status_code=201,
    responses=ONCE,
    openapi_extra=model_body(TransactionIn),
)
async def group_transaction(
    group_id: IdPath, request: Request, user: CurrentUser, engine: EngineDep
) -> JSON:
    """Savings, a withdrawal, mutual aid, a fine, or a remittance of collected repayments to
    the fund (idempotent on client_id)."""
    body = await json_object(request)
    return _created(await cdf_postings.group_transaction(engine, user, group_id, body))


@router.post(
    "/api/v1/cdf/groups/{group_id}/meetings",
    status_code=201,
    responses=OPENED_ONCE,
    openapi_extra=model_body(MeetingIn),
)
async def open_meeting(
    group_id: IdPath, request: Request, user: CurrentUser, engine: EngineDep
) -> JSON:
    """Open a meeting (its id made by the client). The group's meeting of that day that
    another phone opened and is still open is the answer (200, `outcome: joined`, with that
    meeting: the client records into it)."""
    body = await json_object(request)
    return _created(await cdf_postings.open_meeting(engine, user, group_id, body))


@router.get("/api/v1/cdf/meetings/{meeting_id}", responses=READ_ERRORS)
async def get_meeting(meeting_id: uuid.UUID, user: CurrentUser, engine: EngineDep) -> JSON:
    """A meeting."""
    return JSON(await cdf_postings.get_meeting(engine, user, meeting_id))


@router.post(
    "/api/v1/cdf/meetings/{meeting_id}/records",
    responses=ERRORS,
    openapi_extra=model_body(MeetingRecordsIn),
)
async def meeting_records(
    meeting_id: uuid.UUID,
    request: Request,
    user: CurrentUser,
    engine: EngineDep,
    language: LanguageDep,
) -> JSON:
    """A meeting's collection sheet: each record posted once, with its own outcome."""
    body = await json_object(request)
    result = await cdf_postings.record(engine, user, meeting_id, body)
    for item in result["results"]:
        if "problems" in item:
            item["problems"] = [p.as_dict(language) for p in item["problems"]]
        if "error" in item:
            error = item.pop("error")
            item["error"] = {"code": error.code, "detail": error.message(language)}
    return JSON(result)


@router.post(
    "/api/v1/cdf/meetings/{meeting_id}/close",
    responses=ERRORS,
    openapi_extra=model_body(MeetingCloseIn),
)
async def close_meeting(
    meeting_id: uuid.UUID, request: Request, user: CurrentUser, engine: EngineDep
) -> JSON:
    """Count the cash and close: a difference with the books is posted with the note."""
    body = await json_object(request)
    return JSON(await cdf_postings.close_meeting(engine, user, meeting_id, body))


@router.post(
    "/api/v1/cdf/entries/{entry_id}/reversal",
    status_code=201,
    responses=ONCE,
    openapi_extra=model_body(ReversalIn),
)
async def reverse_entry(
    entry_id: IdPath, request: Request, user: CurrentUser, engine: EngineDep
) -> JSON:
    """Correct a posted entry by a reversing entry that points to it (CDF staff)."""
    body = await json_object(request)
    return _created(await cdf_postings.reverse(engine, user, entry_id, body))


# --- reports --------------------------------------------------------------------------------

REPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {}, CSV: {}}, "description": "JSON, or CSV"},
    **READ_ERRORS,
}


def _csv(rows: list[dict[str, Any]], language: str, filename: str) -> Response:
    return Response(
        cdf_reports.report_csv(rows, language),
        media_type=CSV,
        headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
    )


@router.get("/api/v1/cdf/national/report.csv", responses=REPORT_RESPONSES)
async def national_report_csv(
    user: CurrentUser,
    engine: EngineDep,
    language: LanguageDep,
    as_of: DayQuery = None,
    start: Annotated[str | None, Query(alias="from", pattern=DAY_PATTERN)] = None,
) -> Response:
    """Every city's CDF figures as CSV, one line per city and one for the total."""
    report = await cdf_reports.national_report(
        engine, user, book_day(as_of, "as_of"), book_day(start, "from")
    )
    total = {"city": "total", "city_name": report_text("total", language), **report["total"]}
    return _csv([*report["cities"], total], language, "cdf-national")


@router.get("/api/v1/cdf/national/report", responses=REPORT_RESPONSES)
async def national_report(
    user: CurrentUser,
    engine: EngineDep,
    as_of: DayQuery = None,
    start: Annotated[str | None, Query(alias="from", pattern=DAY_PATTERN)] = None,
) -> JSON:
    """Every city's CDF figures and the national totals (docs/cdf.md: the formulas)."""
    return JSON(
        await cdf_reports.national_report(
            engine, user, book_day(as_of, "as_of"), book_day(start, "from")
        )
    )


@router.get("/api/v1/cdf/{city}/report.csv", responses=REPORT_RESPONSES)
async def city_report_csv(
    city: CityPath,
    user: CurrentUser,
    engine: EngineDep,
    language: LanguageDep,
    as_of: DayQuery = None,
    start: Annotated[str | None, Query(alias="from", pattern=DAY_PATTERN)] = None,
) -> Response:
    """A city's CDF figures as CSV."""
    report = await cdf_reports.city_report(
        engine, user, city, book_day(as_of, "as_of"), book_day(start, "from")
    )
    return _csv([report], language, f"cdf-{city}")


@router.get("/api/v1/cdf/{city}/report", responses=REPORT_RESPONSES)
async def city_report(
    city: CityPath,
    user: CurrentUser,
    engine: EngineDep,
    as_of: DayQuery = None,
    start: Annotated[str | None, Query(alias="from", pattern=DAY_PATTERN)] = None,
) -> JSON:
    """A city's CDF figures: savings, members, groups, loans outstanding, PAR 1/30/60/90,
    on-time repayment and collection rates, aging, capital by source, times revolved."""
    return JSON(
        await cdf_reports.city_report(
            engine, user, city, book_day(as_of, "as_of"), book_day(start, "from")
        )
    )
