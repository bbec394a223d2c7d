"""GeoJSON layers for planners (QGIS, GDAL): no personal fields."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from app.api.deps import CityQuery, EngineDep, FormsDep, IdQuery
from app.api.schemas import ErrorOut
from app.services import exports

router = APIRouter(prefix="/api/v1/export", tags=["export"])
GEOJSON = "application/geo+json"
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {GEOJSON: {}}, "description": "RFC 7946 FeatureCollection"},
    404: {"model": ErrorOut},
}


def _geojson(chunks: AsyncIterator[bytes], filename: str) -> StreamingResponse:
    return StreamingResponse(
        chunks,
        media_type=GEOJSON,
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@router.get("/households.geojson", responses=RESPONSES)
async def households(
    city: CityQuery, engine: EngineDep, forms: FormsDep, ward: IdQuery = None
) -> StreamingResponse:
    """Household points with their answers flattened into properties, streamed."""
    chunks = await exports.households_geojson(engine, forms, city, ward)
    return _geojson(chunks, f"households-{city}{f'-ward-{ward}' if ward else ''}.geojson")


@router.get("/settlements.geojson", responses=RESPONSES)
async def settlements(
    city: CityQuery, engine: EngineDep, ward: IdQuery = None
) -> StreamingResponse:
    """Settlement boundaries with their profiles."""
    chunks = await exports.settlements_geojson(engine, city, ward)
    return _geojson(chunks, f"settlements-{city}.geojson")


@router.get("/wards.geojson", responses=RESPONSES)
async def wards(city: CityQuery, engine: EngineDep) -> StreamingResponse:
    """Ward boundaries."""
    return _geojson(await exports.wards_geojson(engine, city), f"wards-{city}.geojson")
