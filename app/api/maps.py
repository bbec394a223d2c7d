"""Map pages (Leaflet, all assets local), household points for them, and printable ward maps."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from app.api.deps import CityPath, EngineDep, FormsDep, IdPath, IdQuery, SettingsDep
from app.api.schemas import ErrorOut
from app.services import maps
from app.settings import Settings

router = APIRouter(prefix="/maps", tags=["maps"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut}}
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
    )


@router.get("/cities/{slug}", response_class=HTMLResponse, responses=NOT_FOUND)
async def city_map(
    slug: CityPath, engine: EngineDep, forms: FormsDep, settings: SettingsDep, lang: Language = "vi"
) -> HTMLResponse:
    """Interactive map of a city: wards, settlements by priority, household indicators."""
    html = await maps.city_map_html(engine, forms, slug, lang, _options(settings))
    return HTMLResponse(html)


PRINT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}, "image/png": {}}},
    **NOT_FOUND,
}
MEDIA_TYPES = {"pdf": "application/pdf", "png": "image/png"}


@router.get("/wards/{ward_id}.{output}", response_class=Response, responses=PRINT_RESPONSES)
async def ward_print(
    ward_id: IdPath,
    output: Literal["pdf", "png"],
    engine: EngineDep,
    forms: FormsDep,
    settings: SettingsDep,
    size: PaperSize = "A4",
    orientation: Orientation = "landscape",
    indicator: Indicator = "priority",
    lang: Language = "vi",
) -> Response:
    """Printable ward map, PDF or 200 dpi PNG: map, legend, scale bar, north arrow, ranked table."""
    content = await maps.ward_print(
        engine,
        forms,
        ward_id,
        priorities=settings.priorities_path,
        indicator=indicator,
        size=size,
        orientation=orientation,
        output=output,
        language=lang,
    )
    filename = f"ward-{ward_id}-{indicator}-{size}.{output}"
    return Response(
        content,
        media_type=MEDIA_TYPES[output],
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@router.get("/wards/{ward_id}", response_class=HTMLResponse, responses=NOT_FOUND)
async def ward_map(
    ward_id: IdPath,
    engine: EngineDep,
    forms: FormsDep,
    settings: SettingsDep,
    lang: Language = "vi",
) -> HTMLResponse:
    """Interactive map of one ward."""
    html = await maps.ward_map_html(engine, forms, ward_id, lang, _options(settings))
    return HTMLResponse(html)


@router.get("/data/cities/{slug}/households.json", responses=NOT_FOUND)
async def household_points(slug: CityPath, engine: EngineDep, ward: IdQuery = None) -> Response:
    """Household points for the map: integer lon/lat offsets and one answer code per indicator.

    No identifiers and no personal answers: only where a household is and which category of
    tenure, water, sanitation, electricity, flooding and house condition it falls in.
    """
    content = await maps.household_points_json(engine, slug, ward)
    return Response(content, media_type="application/json")
