"""Use case: vector tiles (Mapbox Vector Tiles) of households, settlements and wards.

The tiles hold what their reader may read, like the OGC API collections of the same names
(app.services.ogc), and never a personal field, whatever the reader's role: a tile is a map
layer, cached by browsers. Households carry their ids, places, numbers and choice codes
(free text stays out, to keep the densest tiles small); settlements and wards their own
fields (scores and ranks come from the OGC API or the indicators API: computing them for
every tile would cost more than the tile).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import tiles as queries
from app.db.indicators import HOUSEHOLD_FORM
from app.db.tiles import TileColumn
from app.errors import NotFound
from app.forms.registry import FormRegistry
from app.services import ogc
from app.services.access import Principal
from app.services.exports import flat_properties

TILE_LAYERS = ("households", "settlements", "wards")
MAX_ZOOM = 22
WORLD = [-180.0, -85.0511, 180.0, 85.0511]


@dataclass(frozen=True)
class TileLayer:
    """A tile layer for one reader: its collection (rows, scope) and its attributes."""

    name: str
    collection: ogc.Collection
    columns: list[TileColumn]


@dataclass(frozen=True)
class Tile:
    """A tile's bytes (empty: nothing there) and its entity tag."""

    content: bytes
    etag: str


async def tile_layer(
    engine: AsyncEngine,
    forms: FormRegistry,
    reader: Principal,
    priorities: Path,
    layer: str,
    household_form: str = HOUSEHOLD_FORM,
) -> TileLayer:
    """The layer of that name for this reader, or NotFound."""
    if layer not in TILE_LAYERS:
        raise NotFound("tile_layer_not_found", layer=layer[:64])
    found = ogc.find(
        await ogc.collections(engine, forms, reader, priorities, household_form), layer
    )
    if layer == "households":
        public = flat_properties(forms, household_form, "", None, False, household_form)
        properties = [p for p in ogc.city_column(public) if p.kind != "text"]
    else:
        properties = list(found.extent_source.properties)
    source = found.extent_source  # the rows without the figures
    return TileLayer(
        layer,
        ogc.Collection(found.id, found.title, found.description, source, source),
        queries.tile_columns(properties),
    )


def check_tile(z: int, x: int, y: int) -> None:
    """NotFound unless z/x/y names a tile of the Web Mercator grid up to MAX_ZOOM."""
    if not (0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z):
        raise NotFound("tile_not_found", z=z, x=x, y=y, max_zoom=MAX_ZOOM)


async def tile(engine: AsyncEngine, layer: TileLayer, z: int, x: int, y: int) -> Tile:
    """One tile of a layer, cut and encoded by PostGIS; its ETag is a hash of its bytes, so
    a client's copy stays valid exactly as long as the data in the tile does not change."""
    check_tile(z, x, y)
    async with engine.connect() as connection:
        content = await queries.tile(
            connection, layer.collection.source, layer.columns, layer.name, z, x, y
        )
    digest = hashlib.blake2b(content, digest_size=16).hexdigest()
    return Tile(content, f'"{digest}"')


async def bounds(engine: AsyncEngine, layer: TileLayer) -> list[float]:
    """[west, south, east, north] of the reader's data in the layer (the world when none)."""
    extent = await ogc.collection_extent(engine, layer.collection)
    return extent.bbox or list(WORLD)
