"""Streets and places under the maps (context layers), per map view, as GeoJSON."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from app.api.deps import CityPath, OptionalUser, ReadEngineDep
from app.api.schemas import ErrorOut
from app.services import context

router = APIRouter(prefix="/api/v1/context", tags=["maps"])
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/geo+json": {}}},
    404: {"model": ErrorOut},
    422: {"model": ErrorOut},
}


@router.get("/{slug}.geojson", response_class=Response, responses=RESPONSES)
async def context_features(
    slug: CityPath,
    user: OptionalUser,
    engine: ReadEngineDep,
    bbox: Annotated[str, Query(max_length=200, examples=["108.44,15.54,108.50,15.60"])],
    zoom: Annotated[int, Query(ge=0, le=22)] = 15,
) -> Response:
    """Roads with names, waterways, water areas, buildings and landmarks of a map view
    (`bbox` = west,south,east,north in degrees), as drawn at `zoom`: main streets and water
    from afar, lanes and buildings at house scale, simplified to about a pixel. Not personal
    data: anyone who may see the city's map. The data's attribution (the ODbL's for
    OpenStreetMap) is the collection's `attribution` member."""
    content = await context.context_geojson(engine, slug, context.parse_bbox(bbox), zoom, user)
    return Response(
        content,
        media_type="application/geo+json",
        headers={"Cache-Control": "private, max-age=300"},
    )
