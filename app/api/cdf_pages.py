"""The CDF report as web pages: `/cdf/{city}` (the city's CDF staff, admins and planners) and
`/cdf/national` (national admins). Signed in with the pages' session cookie (the sign-in page
brings a visitor back here); anyone else signed in gets a 403 page. The figures are the JSON
report's (app/services/cdf_report_page.py); the charts are inline SVG drawn by the template,
which escapes every text.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.api.cdf import book_day
from app.api.deps import CityPath, EngineDep, LanguageDep, OptionalUser
from app.api.pages import render_page, sign_in_first
from app.errors import Forbidden
from app.services import cdf_report_page as pages
from app.services.access import Principal

router = APIRouter(tags=["cdf"], include_in_schema=False)
DayQuery = Annotated[str | None, Query(max_length=10)]


def _forbidden(request: Request, language: str, user: Principal) -> Response:
    return render_page(
        request,
        "cdf_report.html",
        language,
        user,
        status_code=403,
        title=pages.text("forbidden_title", language),
        problem={
            "title": pages.text("forbidden_title", language),
            "text": pages.text("forbidden", language),
        },
    )


@router.get("/cdf/national")
async def national_page(
    request: Request,
    user: OptionalUser,
    engine: EngineDep,
    language: LanguageDep,
    as_of: DayQuery = None,
) -> Response:
    """Every member city's CDF side by side, with the national totals."""
    if user is None:
        return sign_in_first(request)
    try:
        view = await pages.national_page(engine, user, language, book_day(as_of))
    except Forbidden:
        return _forbidden(request, language, user)
    return render_page(request, "cdf_report.html", language, user, title=view["title"], view=view)


@router.get("/cdf/{city}")
async def city_page(
    request: Request,
    city: CityPath,
    user: OptionalUser,
    engine: EngineDep,
    language: LanguageDep,
    as_of: DayQuery = None,
) -> Response:
    """A city's CDF: savings, members, loans, PAR, repayment and collection rates, aging,
    capital by source, times revolved."""
    if user is None:
        return sign_in_first(request)
    try:
        view = await pages.city_page(engine, user, city, language, book_day(as_of))
    except Forbidden:
        return _forbidden(request, language, user)
    return render_page(request, "cdf_report.html", language, user, title=view["title"], view=view)
