"""Vector tiles: GET /tiles/{layer}/{z}/{x}/{y}.pbf and a TileJSON document per layer.

An empty tile is `204 No Content` (nothing to draw, nothing to download). A tile carries an
ETag (a hash of its bytes); `If-None-Match` with it answers `304` while the data in the
tile is unchanged. Tiles depend on who asks (their scope), so they are `private` and
revalidated on each use (`no-cache`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from app.api.deps import FormsDep, LanguageDep, ReadEngineDep, SettingsDep
from app.api.errors import error_body
from app.api.map_auth import MapReader
from app.api.responses import JSON
from app.api.schemas import ErrorOut
from app.i18n import translate
from app.services import tiles

router = APIRouter(prefix="/tiles", tags=["tiles"])

MVT = "application/vnd.mapbox-vector-tile"
CACHING = {"Cache-Control": "private, no-cache", "Vary": "Authorization, Cookie"}
# One URL a tile: no leading zero (`01/0/0` is not another address of `1/0/0`).
_NUMBER = re.compile(r"0|[1-9][0-9]{0,8}")
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "z, x or y is not a whole number"},
    401: {"model": ErrorOut, "description": "Sign in (HTTP Basic, a bearer token or a session)"},
    404: {"model": ErrorOut, "description": "No such layer, or a tile outside the grid"},
}
# Checked by the route (a 400 naming the tile URL's shape), documented as digits.
Coordinate = Annotated[str, Path(json_schema_extra={"pattern": "^[0-9]{1,9}$"}, examples=["14"])]
Layer = Annotated[str, Path(max_length=64, examples=["households"])]
TITLES = {"households": "ogc.households", "settlements": "ogc.settlements", "wards": "ogc.wards"}


def _matches(header: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names this entity tag (weak comparison)."""
    if not header:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    return "*" in tags or etag in tags


@router.get(
    "/{layer}/{z}/{x}/{y}.pbf",
    summary="A vector tile (Mapbox Vector Tile) of households, settlements or wards",
    responses={
        200: {"content": {MVT: {}}, "description": "The tile"},
        204: {"description": "An empty tile"},
        304: {"description": "The tile has not changed (If-None-Match)"},
        **ERRORS,
    },
)
async def tile(
    layer: Layer,
    z: Coordinate,
    x: Coordinate,
    y: Coordinate,
    request: Request,
    user: MapReader,
    engine: ReadEngineDep,
    forms: FormsDep,
    settings: SettingsDep,
    language: LanguageDep,
) -> Response:
    """One tile in Web Mercator (z from 0 to 22): 204 when empty, 304 for an unchanged tile."""
    if not all(_NUMBER.fullmatch(part) for part in (z, x, y)):
        return JSON(
            error_body("bad_query", translate("tile_bad_coordinates", language)),
            status_code=400,
        )
    found = tiles.tile_layer(forms, user, layer, settings.household_form)
    cut = await tiles.tile(engine, found, int(z), int(x), int(y))
    headers = {**CACHING, "ETag": cut.etag}
    if not cut.content:
        return Response(status_code=204, headers=headers)
    if _matches(request.headers.get("if-none-match"), cut.etag):
        return Response(status_code=304, headers=headers)
    return Response(cut.content, media_type=MVT, headers=headers)


@router.get("/{layer}.json", summary="TileJSON 3.0 of a tile layer", responses=ERRORS)
async def tilejson(
    layer: Layer,
    request: Request,
    user: MapReader,
    engine: ReadEngineDep,
    forms: FormsDep,
    settings: SettingsDep,
    language: LanguageDep,
) -> Response:
    """The layer's TileJSON: its tiles' absolute URL, zooms, the bounds of the reader's data
    and its attributes."""
    found = tiles.tile_layer(forms, user, layer, settings.household_form)
    west, south, east, north = await tiles.bounds(engine, found)
    root = str(request.base_url).rstrip("/")
    body = {
        "tilejson": "3.0.0",
        "name": layer,
        "description": translate(TITLES[layer], language),
        "scheme": "xyz",
        "tiles": [f"{root}/tiles/{layer}/{{z}}/{{x}}/{{y}}.pbf"],
        "minzoom": 0,
        "maxzoom": tiles.MAX_ZOOM,
        "bounds": [west, south, east, north],
        "center": [(west + east) / 2, (south + north) / 2, 14],
        "vector_layers": [
            {
                "id": layer,
                "minzoom": 0,
                "maxzoom": tiles.MAX_ZOOM,
                "fields": {column.name: column.type for column in found.columns},
            }
        ],
    }
    return JSON(
        body, headers={"Cache-Control": "private, no-store", "Vary": "Authorization, Cookie"}
    )
