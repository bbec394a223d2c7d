"""The national view of the CDF network: every member city side by side, as JSON, CSV, a web
page with a map and a sortable table, and a printable A4 summary."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.api.deps import EngineDep, LanguageDep, OptionalUser, ReadEngineDep, SettingsDep
from app.api.errors import error_body
from app.api.maps import _print_slots
from app.api.pages import render_page
from app.api.responses import JSON
from app.api.schemas import ErrorOut
from app.db.indicators import Counted
from app.i18n import translate
from app.services import maps, national
from app.services.access import Principal
from app.settings import Settings

router = APIRouter(tags=["national"])
CSV = "text/csv; charset=utf-8"
RESPONSES: dict[int | str, dict[str, Any]] = {422: {"model": ErrorOut}}
# Open to anyone: a visitor who is not signed in sees the cities that publish their
# aggregates (none: an empty list), never a 401.
OPEN: dict[str, Any] = {"security": []}
SERVICE_BUSY: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorOut, "description": "Too many prints at once: retry after a while."}
}


async def _report(
    engine: Any, books: Any, settings: Settings, user: Principal | None, surveys: Counted
) -> dict[str, Any]:
    return await national.national_indicators(
        engine, books, user, settings.priorities_path, surveys, settings.household_form
    )


@router.get("/api/v1/national/indicators", responses=RESPONSES, openapi_extra=OPEN)
async def national_indicators(
    user: OptionalUser,
    engine: ReadEngineDep,
    books: EngineDep,
    settings: SettingsDep,
    surveys: Counted = "approved",
) -> Response:
    """Every member city the caller may see (their cities; cities that publish their
    aggregates for anyone): households surveyed, settlements, the share of the settlements'
    estimated households surveyed, priority scores, upgrading projects done, and the CDF's
    savings, loans outstanding, PAR30, members and groups where the caller may read its books;
    with the network's totals."""
    return JSON(await _report(engine, books, settings, user, surveys))


@router.get(
    "/api/v1/national/indicators.csv",
    response_class=Response,
    responses={200: {"content": {CSV: {}}}, **RESPONSES},
    openapi_extra=OPEN,
)
async def national_indicators_csv(
    user: OptionalUser,
    engine: ReadEngineDep,
    books: EngineDep,
    settings: SettingsDep,
    language: LanguageDep,
    surveys: Counted = "approved",
) -> Response:
    """The same as CSV (UTF-8 with BOM; headings in the caller's language)."""
    report = await _report(engine, books, settings, user, surveys)
    return Response(
        national.national_csv(report, language),
        media_type=CSV,
        headers={"Content-Disposition": 'attachment; filename="cdf-network.csv"'},
    )


@router.get("/maps/national", include_in_schema=False)
async def national_page(
    request: Request,
    user: OptionalUser,
    engine: ReadEngineDep,
    books: EngineDep,
    settings: SettingsDep,
    language: LanguageDep,
) -> Response:
    """The member cities on a map beside a sortable table."""
    report = await _report(engine, books, settings, user, "approved")
    view = national.page_view(report, language, settings.basemap_tiles_url)
    return render_page(request, "national.html", language, user, title=None, report=report, **view)


@router.get(
    "/maps/national.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **RESPONSES, **SERVICE_BUSY},
    openapi_extra=OPEN,
)
async def national_pdf(
    request: Request,
    user: OptionalUser,
    engine: ReadEngineDep,
    books: EngineDep,
    settings: SettingsDep,
    language: LanguageDep,
) -> Response:
    """The national view as a printable A4 page: the cities on a map and the table."""
    from app.geo import national_print

    report = await _report(engine, books, settings, user, "approved")
    try:
        async with _print_slots(request, settings).slot(user.user_id if user else None):
            content = await maps._in_thread(national_print.render, report, language)
    except maps.PrintsBusy:
        return JSON(
            error_body("prints_busy", translate("prints_busy", language)),
            status_code=503,
            headers={"Retry-After": str(maps.PrintsBusy.retry_after)},
        )
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": 'inline; filename="cdf-network.pdf"'},
    )
