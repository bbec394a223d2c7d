"""A savings group's statement as a PDF: GET /api/v1/cdf/groups/{id}/statement.pdf (docs/cdf.md,
"Treasurer"). Same access rules as the statement's JSON; Vietnamese, or English with
?lang=en."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.api.cdf import READ_ERRORS, DayQuery, book_day
from app.api.deps import CurrentUser, EngineDep, IdPath, LanguageDep, SettingsDep
from app.api.errors import error_body
from app.api.responses import JSON
from app.api.schemas import ErrorOut
from app.i18n import translate
from app.services import cdf_sheet, maps

router = APIRouter(tags=["cdf"])
PDF_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "The statement, A4 pages"},
    **READ_ERRORS,
    503: {"model": ErrorOut, "description": "Too many prints at once: retry after a while."},
}


def _slots(request: Request, concurrency: int, queue: int) -> maps.PrintSlots:
    """The app's print slots (the printed maps' too), made on the first print."""
    slots: maps.PrintSlots | None = getattr(request.app.state, "print_slots", None)
    if slots is None:
        slots = maps.PrintSlots(concurrency, queue)
        request.app.state.print_slots = slots
    return slots


@router.get("/api/v1/cdf/groups/{group_id}/statement.pdf", responses=PDF_RESPONSES)
async def statement_pdf(
    group_id: IdPath,
    request: Request,
    user: CurrentUser,
    engine: EngineDep,
    settings: SettingsDep,
    language: LanguageDep,
    as_of: DayQuery = None,
) -> Response:
    """The group's statement to print: balances, each member's savings and loans, each
    loan's schedule with what is paid and overdue."""
    slots = _slots(request, settings.print_concurrency, settings.print_queue)
    try:
        content = await cdf_sheet.statement_pdf(
            engine, user, group_id, language, book_day(as_of), slots
        )
    except maps.PrintsBusy:
        return JSON(
            error_body("prints_busy", translate("prints_busy", language)),
            status_code=503,
            headers={"Retry-After": str(maps.PrintsBusy.retry_after)},
        )
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="cdf-group-{group_id}-statement.pdf"'},
    )
