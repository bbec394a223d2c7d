"""Map pages (Leaflet, all assets local), household points for them, and printable ward maps."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.api.deps import (
    CityPath,
    CurrentUser,
    FormsDep,
    IdPath,
    IdQuery,
    OptionalUser,
    ReadEngineDep,
    SettingsDep,
)
from app.api.errors import error_body, request_language
from app.api.pages import sign_in_first
from app.api.responses import JSON
from app.api.schemas import ErrorOut
from app.db.indicators import Counted
from app.errors import NotFound, Unauthorized
from app.geo.web_map import not_found_page
from app.i18n import translate
from app.services import maps
from app.services import settlement_print as settlement_prints
from app.settings import Settings

router = APIRouter(prefix="/maps", tags=["maps"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut}}
HTML_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"content": {"text/html": {}}, "description": "No such city or ward: a small page."}
}
Language = Literal["vi", "en"]
PaperSize = Literal["A4", "A3"]
Orientation = Literal["landscape", "portrait"]
Indicator = Literal[
    "priority",
    "insecure_tenure",
    "no_piped_water",
    "no_own_toilet",
    "floods_often",
    "temporary_house",
    "no_own_electricity",
    "no_car_access",
    "no_waste_collection",
]


def _options(settings: Settings) -> maps.MapOptions:
    return maps.MapOptions(
        priorities=settings.priorities_path,
        basemap_url=settings.basemap_tiles_url,
        basemap_attribution=settings.basemap_attribution,
        household_form=settings.household_form,
        tiles_from=settings.map_tiles_from_households,
    )


def _nonce(request: Request) -> str:
    # Set by the Content-Security-Policy middleware; without it the page needs none.
    return str(getattr(request.state, "csp_nonce", "") or "")


def _not_found(error: NotFound, language: str) -> HTMLResponse:
    """A map page that does not exist, as a page (a browser asked for one), not JSON."""
    heading = translate("map_page.not_found", language)
    home = translate("page.error_home", language)  # a way back, as every other error page
    return HTMLResponse(
        not_found_page(heading, error.message(language), language, home=home), status_code=404
    )


def _print_slots(request: Request, settings: Settings) -> maps.PrintSlots:
    """The app's print slots, made on the first print (inside the server's event loop)."""
    slots: maps.PrintSlots | None = getattr(request.app.state, "print_slots", None)
    if slots is None:
        slots = maps.PrintSlots(settings.print_concurrency, settings.print_queue)
        request.app.state.print_slots = slots
    return slots


@router.get("/cities/{slug}", response_class=HTMLResponse, responses=HTML_NOT_FOUND)
async def city_map(
    request: Request,
    slug: CityPath,
    user: OptionalUser,
    engine: ReadEngineDep,
    forms: FormsDep,
    settings: SettingsDep,
    lang: Language | None = None,
    surveys: Counted = "approved",
) -> Response:
    """Interactive map of a city: wards, settlements by priority, household indicators (its
    planners and admins; settlements only, for anyone, where the city publishes its map)."""
    language = lang or request_language(request)
    try:
        html = await maps.city_map_html(
            engine, forms, slug, language, _options(settings), _nonce(request), user, surveys
        )
    except NotFound as error:
        # Signed out: asked to sign in whether the place exists or not (a 404 for a missing
        # one told anyone which cities and wards there are).
        return sign_in_first(request) if user is None else _not_found(error, language)
    except Unauthorized:
        return sign_in_first(request)
    return HTMLResponse(html)


PRINT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}, "image/png": {}}},
    **NOT_FOUND,
    503: {"model": ErrorOut, "description": "Too many prints at once: retry after a while."},
}
MEDIA_TYPES = {"pdf": "application/pdf", "png": "image/png"}


@router.get("/wards/{ward_id}.{output}", response_class=Response, responses=PRINT_RESPONSES)
async def ward_print(
    request: Request,
    ward_id: IdPath,
    output: Literal["pdf", "png"],
    user: CurrentUser,
    engine: ReadEngineDep,
    forms: FormsDep,
    settings: SettingsDep,
    size: PaperSize = "A4",
    orientation: Orientation = "landscape",
    indicator: Indicator = "priority",
    lang: Language | None = None,
    surveys: Counted = "approved",
) -> Response:
    """Printable ward map, PDF or 200 dpi PNG: map, legend, scale bar, north arrow, ranked
    table (the ward's leader, the city's planners and admins)."""
    language = lang or request_language(request)
    try:
        content = await maps.ward_print(
            engine,
            forms,
            ward_id,
            priorities=settings.priorities_path,
            indicator=indicator,
            size=size,
            orientation=orientation,
            output=output,
            language=language,
            slots=_print_slots(request, settings),
            reader=user,
            surveys=surveys,
            household_form=settings.household_form,
        )
    except maps.PrintsBusy:
        return JSON(
            error_body("prints_busy", translate("prints_busy", language)),
            status_code=503,
            headers={"Retry-After": str(maps.PrintsBusy.retry_after)},
        )
    filename = f"ward-{ward_id}-{indicator}-{size}.{output}"
    return Response(
        content,
        media_type=MEDIA_TYPES[output],
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


SettlementIndicator = Literal[
    "insecure_tenure",
    "no_piped_water",
    "no_own_toilet",
    "floods_often",
    "temporary_house",
    "no_own_electricity",
    "no_car_access",
    "no_waste_collection",
]
SETTLEMENT_PRINT_RESPONSES: dict[int | str, dict[str, Any]] = {
    **PRINT_RESPONSES,
    403: {"model": ErrorOut, "description": "names=true for a role that may not see names."},
}


@router.get(
    "/settlements/{settlement_id}.{output}",
    response_class=Response,
    responses=SETTLEMENT_PRINT_RESPONSES,
)
async def settlement_print(
    request: Request,
    settlement_id: IdPath,
    output: Literal["pdf", "png"],
    user: CurrentUser,
    engine: ReadEngineDep,
    forms: FormsDep,
    settings: SettingsDep,
    size: PaperSize = "A4",
    orientation: Orientation = "landscape",
    indicator: SettlementIndicator = "insecure_tenure",
    names: bool = False,
    lang: Language | None = None,
    surveys: Counted = "approved",
) -> Response:
    """The map of one settlement for its meeting, PDF (map, then the numbered households'
    table) or 200 dpi PNG (the map page): households numbered and coloured by their answer
    to `indicator`; `names=true` adds the heads of household's names, for the ward's leader
    and the city's admins only (403 for anyone else)."""
    language = lang or request_language(request)
    try:
        content = await settlement_prints.settlement_print(
            engine,
            forms,
            settlement_id,
            priorities=settings.priorities_path,
            indicator=indicator,
            size=size,
            orientation=orientation,
            output=output,
            language=language,
            names=names,
            slots=_print_slots(request, settings),
            reader=user,
            surveys=surveys,
            household_form=settings.household_form,
        )
    except maps.PrintsBusy:
        return JSON(
            error_body("prints_busy", translate("prints_busy", language)),
            status_code=503,
            headers={"Retry-After": str(maps.PrintsBusy.retry_after)},
        )
    suffix = "-names" if names else ""
    filename = f"settlement-{settlement_id}-{indicator}-{size}{suffix}.{output}"
    return Response(
        content,
        media_type=MEDIA_TYPES[output],
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@router.get("/wards/{ward_id}", response_class=HTMLResponse, responses=HTML_NOT_FOUND)
async def ward_map(
    request: Request,
    ward_id: IdPath,
    user: OptionalUser,
    engine: ReadEngineDep,
    forms: FormsDep,
    settings: SettingsDep,
    lang: Language | None = None,
    surveys: Counted = "approved",
) -> Response:
    """Interactive map of one ward (its leader, the city's readers; settlements only where
    the city publishes its map)."""
    language = lang or request_language(request)
    try:
        html = await maps.ward_map_html(
            engine, forms, ward_id, language, _options(settings), _nonce(request), user, surveys
        )
    except NotFound as error:
        # Signed out: asked to sign in whether the place exists or not (a 404 for a missing
        # one told anyone which cities and wards there are).
        return sign_in_first(request) if user is None else _not_found(error, language)
    except Unauthorized:
        return sign_in_first(request)
    return HTMLResponse(html)


@router.get("/data/cities/{slug}/households.json", responses=NOT_FOUND)
async def household_points(
    slug: CityPath,
    user: CurrentUser,
    engine: ReadEngineDep,
    settings: SettingsDep,
    ward: IdQuery = None,
    surveys: Counted = "approved",
) -> Response:
    """Household points for the map: integer lon/lat offsets and one answer code per indicator.

    No identifiers and no personal answers: only where a household is and which category of
    tenure, water, sanitation, electricity, flooding and house condition it falls in.
    """
    content = await maps.household_points_json(
        engine, slug, ward, user, surveys, settings.household_form
    )
    return Response(content, media_type="application/json")
