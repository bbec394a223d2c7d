"""Queries on the context layers (streets, waterways, water, buildings, landmarks)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
import shapely
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.geo.osm_context import ContextFeature

# What is drawn at a zoom level (web maps): the city's main streets, water and landmarks from
# afar; minor streets from the neighbourhood; lanes and buildings at house scale.
MIN_ZOOM = {
    ("road", "major"): 0,
    ("road", "minor"): 14,
    ("road", "lane"): 15,
    ("waterway", "river"): 0,
    ("waterway", "canal"): 12,
    ("waterway", "stream"): 14,
    ("waterway", "drain"): 15,
    ("water", None): 0,
    ("landmark", None): 13,
    ("building", None): 16,
}
# Drawn bottom to top: water areas, buildings, waterways, roads (smallest first), landmarks.
DRAW_ORDER_SQL = """CASE kind WHEN 'water' THEN 0 WHEN 'building' THEN 1 WHEN 'waterway' THEN 2
    WHEN 'road' THEN CASE class WHEN 'lane' THEN 3 WHEN 'minor' THEN 4 ELSE 5 END ELSE 6 END"""


def _visible_sql() -> str:
    """A WHERE clause: the features drawn at zoom :zoom."""
    parts = []
    for (kind, klass), zoom in MIN_ZOOM.items():
        match = f"kind = '{kind}'" + (f" AND class = '{klass}'" if klass else "")
        parts.append(f"({match} AND :zoom >= {zoom})")
    return "(" + " OR ".join(parts) + ")"


def replace_city_context(
    connection: Connection,
    city_id: int,
    source: str,
    attribution: str,
    license_: str | None,
    features: Iterable[ContextFeature],
) -> dict[str, int]:
    """Replace the city's context layers with `features` in the caller's transaction; the
    count of features stored per kind."""
    connection.execute(text("DELETE FROM context_imports WHERE city_id = :city"), {"city": city_id})
    import_id = connection.execute(
        text(
            "INSERT INTO context_imports (city_id, source, attribution, license) "
            "VALUES (:city, :source, :attribution, :license) RETURNING id"
        ),
        {"city": city_id, "source": source, "attribution": attribution, "license": license_},
    ).scalar_one()
    counts: dict[str, int] = {}
    raw = connection.connection.driver_connection
    assert raw is not None
    with (
        raw.cursor() as cursor,
        cursor.copy(
            "COPY context_features (import_id, city_id, kind, class, name, osm_id, geom) FROM STDIN"
        ) as copy,
    ):
        for feature in features:
            geometry = shapely.set_srid(feature.geometry, 4326)
            copy.write_row(
                (
                    import_id,
                    city_id,
                    feature.kind,
                    feature.klass[:32],
                    feature.name,
                    feature.osm_id,
                    shapely.to_wkb(geometry, hex=True, include_srid=True),
                )
            )
            counts[feature.kind] = counts.get(feature.kind, 0) + 1
    connection.execute(
        text("UPDATE context_imports SET counts = CAST(:counts AS jsonb) WHERE id = :id"),
        {"counts": orjson.dumps(counts).decode(), "id": import_id},
    )
    return counts


def city_extent(connection: Connection, city_id: int) -> tuple[float, float, float, float] | None:
    """(west, south, east, north) of the city's wards, or None when it has none."""
    row = connection.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
            "FROM (SELECT ST_Extent(geom) AS e FROM wards WHERE city_id = :city) x"
        ),
        {"city": city_id},
    ).first()
    if row is None or row[0] is None:
        return None
    return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


_GEOJSON = text(
    f"""
SELECT coalesce(json_agg(json_build_object(
    'type', 'Feature',
    'geometry', ST_AsGeoJSON(f.geom, 6)::json,
    'properties', json_build_object('kind', f.kind, 'class', f.class, 'name', f.name)
) ORDER BY f.draw, f.id), '[]'::json)::text
FROM (
    SELECT id, kind, class, name, {DRAW_ORDER_SQL} AS draw,
           CASE WHEN kind = 'landmark' THEN geom
                ELSE ST_SimplifyPreserveTopology(geom, :tolerance) END AS geom
    FROM context_features
    WHERE city_id = :city AND geom && ST_MakeEnvelope(:west, :south, :east, :north, 4326)
      AND {_visible_sql()}
    ORDER BY {DRAW_ORDER_SQL} DESC, id
    LIMIT :limit
) f
"""
)


async def features_geojson(
    connection: AsyncConnection,
    city_id: int,
    bbox: tuple[float, float, float, float],
    zoom: int,
    limit: int,
) -> str:
    """The features drawn at `zoom` within `bbox`, as a GeoJSON features array (text),
    simplified to about a pixel; the most important first when there are more than `limit`."""
    west, south, east, north = bbox
    tolerance = 360 / (256 * 2**zoom)  # degrees per pixel at that zoom
    return str(
        (
            await connection.execute(
                _GEOJSON,
                {
                    "city": city_id,
                    "west": west,
                    "south": south,
                    "east": east,
                    "north": north,
                    "zoom": zoom,
                    "tolerance": tolerance,
                    "limit": limit,
                },
            )
        ).scalar_one()
    )


async def import_of(connection: AsyncConnection, city_id: int) -> dict[str, Any] | None:
    """The city's context import: source, attribution, licence, counts, time."""
    row = (
        await connection.execute(
            text(
                "SELECT source, attribution, license, counts, imported_at "
                "FROM context_imports WHERE city_id = :city"
            ),
            {"city": city_id},
        )
    ).first()
    return dict(row._mapping) if row else None


async def features_in(
    connection: AsyncConnection,
    city_id: int,
    bbox: tuple[float, float, float, float],
    kinds: tuple[str, ...] = ("road", "waterway", "water", "landmark"),
) -> list[ContextFeature]:
    """The city's features of `kinds` within `bbox`, as shapely geometries (for prints)."""
    west, south, east, north = bbox
    rows = (
        await connection.execute(
            text(
                f"SELECT kind, class, name, osm_id, ST_AsBinary(geom) AS wkb FROM context_features "
                "WHERE city_id = :city AND kind = ANY(:kinds) "
                "AND geom && ST_MakeEnvelope(:west, :south, :east, :north, 4326) "
                f"ORDER BY {DRAW_ORDER_SQL}, id"
            ),
            {
                "city": city_id,
                "kinds": list(kinds),
                "west": west,
                "south": south,
                "east": east,
                "north": north,
            },
        )
    ).all()
    return [
        ContextFeature(r.kind, r[1], r.name, shapely.from_wkb(bytes(r.wkb)), r.osm_id) for r in rows
    ]


async def context_slug(connection: AsyncConnection, city_id: int) -> str | None:
    """The city's slug when it has context layers, else None."""
    row = (
        await connection.execute(
            text(
                "SELECT c.slug FROM cities c JOIN context_imports i ON i.city_id = c.id "
                "WHERE c.id = :city"
            ),
            {"city": city_id},
        )
    ).first()
    return str(row[0]) if row else None
