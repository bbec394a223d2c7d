"""Survey progress: JSON and CSV for a city (or a ward) and per volunteer and day, and the
`/progress/{city}` page (a fixed template: tables and bar charts drawn as inline SVG on the
server, every name escaped by the template engine; its one script, static/maps/offline.js,
only keeps the page for offline use)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncEngine

from app.api.deps import (
    CityPath,
    CurrentUser,
    IdQuery,
    LanguageDep,
    OptionalUser,
    ReadEngineDep,
    SettingsDep,
    get_engine,
    get_read_engine,
)
from app.api.pages import render_page, sign_in_first
from app.api.responses import JSON
from app.api.schemas import ErrorOut
from app.errors import Forbidden, InvalidInput, NotFound
from app.i18n import translate
from app.services import progress
from app.services.access import Principal
from app.vietnam import today_in_vietnam

router = APIRouter(tags=["progress"])
CSV = "text/csv; charset=utf-8"
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {}, CSV: {}}, "description": "JSON, or CSV"},
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
    404: {"model": ErrorOut},
    422: {"model": ErrorOut},
}
Format = Literal["json", "csv"]
# Checked by progress.day_range (a clear message naming the parameter); the schema says what
# is expected.
DAY: dict[str, Any] = {
    "max_length": 10,
    "examples": ["2026-12-01"],
    "json_schema_extra": {"format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
}


async def _days_engine(request: Request, user: Principal | None) -> AsyncEngine:
    """Where per-volunteer days are read: the primary for a person who sends surveys (their
    own survey just sent is counted at once), the read replica for the others."""
    if user is not None and user.can_submit():
        return await get_engine(request)
    return await get_read_engine(request)


def _csv(body: bytes, filename: str) -> Response:
    return Response(
        body,
        media_type=CSV,
        headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
    )


@router.get("/api/v1/progress/{city}", responses=RESPONSES)
async def city_progress(
    city: CityPath,
    user: CurrentUser,
    engine: ReadEngineDep,
    settings: SettingsDep,
    language: LanguageDep,
    ward: IdQuery = None,
    format: Format = "json",
) -> Response:
    """Per ward and settlement: households surveyed against the estimate (unknown: null),
    and surveys received, waiting, approved, needing correction and rejected."""
    report = await progress.place_progress(engine, city, user, settings.household_form, ward)
    if format == "csv":
        suffix = f"-ward-{ward}" if ward else ""
        return _csv(progress.places_csv(report, language), f"progress-{city}{suffix}")
    return JSON(report)


@router.get("/api/v1/progress/{city}/volunteers", responses=RESPONSES)
async def volunteer_progress(
    request: Request,
    city: CityPath,
    user: CurrentUser,
    settings: SettingsDep,
    language: LanguageDep,
    ward: IdQuery = None,
    first_day: Annotated[str | None, Query(alias="from", **DAY)] = None,
    last_day: Annotated[str | None, Query(alias="to", **DAY)] = None,
    format: Format = "json",
) -> Response:
    """Per day (Vietnam time; `from`/`to` YYYY-MM-DD, both included, at most 366 days; the
    last two weeks by default) and volunteer: surveys sent and their review status."""
    start, end = progress.day_range(first_day, last_day, today_in_vietnam())
    engine = await _days_engine(request, user)
    report = await progress.volunteer_progress(
        engine, city, user, settings.household_form, start, end, ward
    )
    if format == "csv":
        return _csv(progress.volunteers_csv(report, language), f"progress-{city}-volunteers")
    return JSON(report)


def _problem(request: Request, language: str, user: Any, status_code: int, text: str) -> Response:
    title = translate("page.progress_title", language)
    return render_page(
        request,
        "progress.html",
        language,
        user,
        status_code=status_code,
        title=title,
        problem={"title": title, "text": text},
    )


@router.get("/progress/{city}", include_in_schema=False)
async def progress_page(
    request: Request,
    city: CityPath,
    user: OptionalUser,
    settings: SettingsDep,
    language: LanguageDep,
    ward: IdQuery = None,
    first_day: Annotated[str | None, Query(alias="from", **DAY)] = None,
    last_day: Annotated[str | None, Query(alias="to", **DAY)] = None,
) -> Response:
    """The progress dashboard of a city (or of a ward leader's wards)."""
    if user is None:
        return sign_in_first(request)
    try:
        start, end = progress.day_range(first_day, last_day, today_in_vietnam())
        engine = await _days_engine(request, user)
        places = await progress.place_progress(engine, city, user, settings.household_form, ward)
        volunteers = await progress.volunteer_progress(
            engine, city, user, settings.household_form, start, end, ward
        )
    except Forbidden as error:
        return _problem(request, language, user, 403, error.message(language))
    except NotFound as error:
        return _problem(request, language, user, 404, error.message(language))
    except InvalidInput as error:
        text = " ".join(problem.message(language) for problem in error.problems)
        return _problem(request, language, user, 422, text)
    return render_page(
        request,
        "progress.html",
        language,
        user,
        title=f"{translate('page.progress_title', language)}: {places['city']['name']}",
        places=places,
        volunteers=volunteers,
        ward=ward,
        settlement_chart=progress.settlement_chart(places["settlements"]),
        day_chart=progress.day_chart(volunteers["days"]),
    )
