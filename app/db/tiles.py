"""SQL for Mapbox Vector Tiles: PostGIS cuts, clips and encodes each tile (ST_AsMVT).

A tile layer reads the same rows as its OGC API collection (`app.db.ogc.Source`: its tables
and the reader's scope), with its own, smaller set of attributes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.exports import Property
from app.db.ogc import Source

EXTENT = 4096  # tile coordinates per side, the MVT default
BUFFER = 64  # pixels beyond the edge kept, so that symbols and lines do not break at tiles


@dataclass(frozen=True)
class TileColumn:
    """One attribute of a tile layer: its name, its plain SQL value and MVT type."""

    name: str
    sql: str
    type: str  # "Number" or "String" (TileJSON's names)


def tile_columns(properties: Sequence[Property]) -> list[TileColumn]:
    """Tile attributes from layer properties (their plain values, numbers as numbers)."""
    found = []
    for prop in properties:
        number = prop.type in ("int", "float")
        value = prop.value_sql if number else f"({prop.value_sql})::text"
        found.append(TileColumn(prop.name, value, "Number" if number else "String"))
    return found


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def tile_sql(source: Source, columns: Sequence[TileColumn]) -> str:
    """The statement for one tile (parameters :z, :x, :y, :layer and the source's own); it
    returns one bytea, empty when nothing of the layer is in the tile."""
    attributes = "".join(f", {c.sql} AS {_identifier(c.name)}" for c in columns)
    margin = BUFFER / EXTENT
    return f"""{source.with_sql}
SELECT ST_AsMVT(t, :layer, {EXTENT}, 'geom') FROM (
  SELECT ST_AsMVTGeom(ST_Transform({source.geometry}, 3857), ST_TileEnvelope(:z, :x, :y),
                      {EXTENT}, {BUFFER}, true) AS geom{attributes}
  FROM {source.from_sql}
  WHERE ({source.scope}) AND {source.geometry} && ST_Transform(
    ST_TileEnvelope(:z, :x, :y, margin => {margin}), 4326)
) t WHERE t.geom IS NOT NULL"""


async def tile(
    connection: AsyncConnection,
    source: Source,
    columns: Sequence[TileColumn],
    layer: str,
    z: int,
    x: int,
    y: int,
) -> bytes:
    """One tile's bytes (empty when the layer has nothing there)."""
    params = {**source.params, "layer": layer, "z": z, "x": x, "y": y}
    found = (await connection.execute(text(tile_sql(source, columns)), params)).scalar_one()
    return bytes(found or b"")
