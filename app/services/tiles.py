"""Use case: vector tiles (Mapbox Vector Tiles) of households, settlements and wards.

The tiles hold what their reader may read, like the OGC API collections of the same names
(app.services.ogc), and never a personal field, whatever the reader's role: a tile is a map
layer, cached by browsers. Households carry their ward and settlement and the answers maps
draw (TILE_QUESTIONS); settlements and wards their own fields (scores and ranks come from
the OGC API or the indicators API: computing them for every tile would cost more than the
tile).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import ogc as ogc_queries
from app.db import tiles as queries
from app.db.exports import Property
from app.db.indicators import HOUSEHOLD_FORM, households_where
from app.db.ogc import Source
from app.db.tiles import TileColumn
from app.errors import NotFound
from app.forms.registry import FormRegistry
from app.geo.styles import POINT_STYLES
from app.services import ogc
from app.services.access import Principal
from app.services.exports import flat_properties
from app.services.indicators import INDICATORS

TILE_LAYERS = ("households", "settlements", "wards")
MAX_ZOOM = 22
WORLD = [-180.0, -85.0511, 180.0, 85.0511]


@dataclass(frozen=True)
class TileLayer:
    """A tile layer for one reader: its rows (the reader's scope) and its attributes."""

    name: str
    source: Source
    columns: list[TileColumn]


@dataclass(frozen=True)
class Tile:
    """A tile's bytes (empty: nothing there) and its entity tag."""

    content: bytes
    etag: str


# What a map of households draws and filters by: the place, the household's size and
# poverty status, and every answer an indicator or a point style reads. Nothing else: the
# densest z15 tile of a 100,000-household city holds ~10,000 points, and each attribute costs
# ~2 bytes a point (a survey id, unique to each point, cost 40: ids come from the OGC API).
TILE_QUESTIONS = frozenset(
    {
        "ward_id",
        "settlement_id",
        "household_size",
        "poverty_status",
        *(indicator.rule.question for indicator in INDICATORS),
        *(style.question for style in POINT_STYLES),
    }
)


def household_tile_properties(forms: FormRegistry, household_form: str) -> list[Property]:
    """The households' tile attributes (never a personal one), in the form's order."""
    public = flat_properties(forms, household_form, "", None, False, household_form)
    return [p for p in public if p.name in TILE_QUESTIONS]


def tile_layer(
    forms: FormRegistry, reader: Principal, layer: str, household_form: str = HOUSEHOLD_FORM
) -> TileLayer:
    """The layer of that name for this reader, or NotFound. No database round trip: a tile
    costs its one statement."""
    if layer == "households":
        source = ogc.surveys_source(
            reader,
            households_where("approved", household_form),
            household_tile_properties(forms, household_form),
        )
    elif layer == "settlements":
        source = ogc.settlements_source(reader)
    elif layer == "wards":
        source = ogc.wards_source(reader)
    else:
        raise NotFound("tile_layer_not_found", layer=layer[:64])
    return TileLayer(layer, source, queries.tile_columns(source.properties))


def check_tile(z: int, x: int, y: int) -> None:
    """NotFound unless z/x/y names a tile of the Web Mercator grid up to MAX_ZOOM."""
    if not (0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z):
        raise NotFound("tile_not_found", z=z, x=x, y=y, max_zoom=MAX_ZOOM)


async def tile(engine: AsyncEngine, layer: TileLayer, z: int, x: int, y: int) -> Tile:
    """One tile of a layer, cut and encoded by PostGIS; its ETag is a hash of its bytes, so
    a client's copy stays valid exactly as long as the data in the tile does not change.

    Not a cheaper data version (count and max(updated_at) of the tile's surveys): a boundary
    import moves surveys to other wards and settlements without touching updated_at, wards
    and settlements have no such column, and a new form version changes the attributes; a
    stale tile would be worse than the work a 304 does not save."""
    check_tile(z, x, y)
    async with engine.connect() as connection:
        # One statement that writes nothing: no BEGIN and ROLLBACK around it (two round
        # trips, most of a small tile's time).
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        content = await queries.tile(connection, layer.source, layer.columns, layer.name, z, x, y)
    digest = hashlib.blake2b(content, digest_size=16).hexdigest()
    return Tile(content, f'"{digest}"')


async def bounds(engine: AsyncEngine, layer: TileLayer) -> list[float]:
    """[west, south, east, north] of the reader's data in the layer (the world when none)."""
    async with engine.connect() as connection:
        extent = await ogc_queries.extent(connection, layer.source)
    return extent.bbox or list(WORLD)
