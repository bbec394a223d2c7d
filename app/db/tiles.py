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
    returns one bytea, empty when nothing of the layer is in the tile.

    The tile's envelopes are computed once, in a materialized CTE: the app's connections
    plan statements generically (app.db.engine), and there an expression of parameters in
    the select list is evaluated for every row (ST_TileEnvelope 10,000 times in a dense
    tile, a third of its time). A point that ST_AsMVTGeom drops (outside the buffer) is
    NULL, which ST_AsMVT skips: filtering it in SQL would compute ST_AsMVTGeom twice.
    """
    attributes = "".join(f", {c.sql} AS {_identifier(c.name)}" for c in columns)
    margin = BUFFER / EXTENT
    tile = (
        "tile AS MATERIALIZED (SELECT ST_TileEnvelope(:z, :x, :y) AS envelope, "
        f"ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => {margin}), 4326) AS area)"
    )
    with_sql = f"{source.with_sql}, {tile}" if source.with_sql else f"WITH {tile}"
    return f"""{with_sql}
SELECT ST_AsMVT(t, :layer, {EXTENT}, 'geom') FROM (
  SELECT ST_AsMVTGeom(ST_Transform({source.geometry}, 3857), tile.envelope::box2d,
                      {EXTENT}, {BUFFER}, true) AS geom{attributes}
  FROM tile CROSS JOIN {source.from_sql}
  WHERE ({source.scope}) AND {source.geometry} && tile.area
) t"""


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
