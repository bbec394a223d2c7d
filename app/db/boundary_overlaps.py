"""Which wards and settlements of an import reach into another city's wards, and how deep.

A survey from a phone or ODK names no city: intake places its point in the ward with the
lowest id that holds it, in any city (app/db/submissions.py `_PLACED`, app/geo/placement.py).
Wards of one city drawn over another's therefore take the other city's new surveys, with the
households' names, so an import is checked here before it writes anything.

What is measured is depth: the part of a polygon lying more than `reach_m` metres inside the
other city's wards taken together (their union near the polygon, eroded by `reach_m`). Two
files of one border never agree, so each city's line wanders a few metres into the other
along the whole border: that sliver is never deeper than the lines' disagreement, however
long the border or small the ward. A polygon that goes further in, even as a strip a few
metres wide along a lane, has a part deeper than that. The union matters: each ward eroded
alone would let a strip along a line between two of the other city's wards through.

Cost: the wards' GiST index finds, for each polygon, the other cities' wards it meets
(none for a ward inside its own city: one index probe); only a polygon on a city border is
then compared with its neighbours, clipped to a box around it (a few wards, whatever the size
of either city), in the UTM zone of the polygon (metres).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, text

# The box around a polygon in which the other city's wards are gathered must reach `reach_m`
# beyond it on every side: a degree of longitude is 111 km at the equator and still 38 km at
# 70° north, so three times the metres over 111,320 is enough anywhere a city is.
_DEGREES_PER_REACH_METRE = 3 / 111_320

_REACHING = text(
    """
WITH upload AS MATERIALIZED (
    SELECT u.position, ST_GeomFromWKB(u.wkb, 4326) AS geom
    FROM unnest(CAST(:positions AS int[]), CAST(:wkbs AS bytea[])) AS u(position, wkb)
), met AS (
    -- Each polygon with each other city one of whose wards it meets (the GiST index).
    SELECT DISTINCT u.position, o.city_id
    FROM upload u
    JOIN wards o ON ST_Intersects(o.geom, u.geom)
    WHERE o.city_id IS DISTINCT FROM CAST(:city_id AS int)
), deep AS (
    SELECT m.position, m.city_id, z.srid, d.part, ST_Transform(d.part, 4326) AS part_degrees
    FROM met m
    JOIN upload u USING (position)
    CROSS JOIN LATERAL (
        SELECT ST_Expand(u.geom, :margin) AS box,
               CASE WHEN ST_Y(ST_Centroid(u.geom)) < 0 THEN 32700 ELSE 32600 END
               + least(60, greatest(1, floor((ST_X(ST_Centroid(u.geom)) + 180) / 6)::int + 1))
               AS srid) z
    -- The other city's wards near the polygon, as one area (clipped to the box: its cut
    -- edges are further than `reach_m` from the polygon, so eroding them changes nothing
    -- that the polygon could meet).
    CROSS JOIN LATERAL (
        SELECT ST_Union(ST_CollectionExtract(ST_Intersection(o.geom, z.box), 3)) AS area
        FROM wards o
        WHERE o.city_id = m.city_id AND o.geom && z.box) near
    CROSS JOIN LATERAL (
        SELECT ST_Intersection(
                   ST_Transform(u.geom, z.srid),
                   ST_Buffer(ST_Transform(near.area, z.srid), -CAST(:reach_m AS float8))
               ) AS part) d
    WHERE ST_Area(d.part) > CAST(:min_area_m2 AS float8)
)
-- The wards the deep part lies in (not those it only touches: inside the other city, the
-- deep part reaches the lines between its wards).
SELECT d.position, o.code AS other_code, o.name AS other_name, c.slug AS city_slug,
       c.name AS city_name, ST_Area(ST_Intersection(o.geom, u.geom)::geography) AS area_m2,
       count(*) OVER () AS total
FROM deep d
JOIN upload u USING (position)
JOIN wards o ON o.city_id = d.city_id
    AND o.geom && d.part_degrees
    AND ST_Area(ST_Intersection(ST_Transform(o.geom, d.srid), d.part))
        > CAST(:min_area_m2 AS float8)
JOIN cities c ON c.id = o.city_id
ORDER BY d.position, c.slug, o.code
LIMIT :limit
"""
)


@dataclass(frozen=True)
class Reach:
    """A polygon of the import (by its position in the list checked) that reaches into a
    ward of another city; `area_m2` is how much of that ward it covers."""

    position: int
    other_code: str
    other_name: str
    city_slug: str
    city_name: str
    area_m2: float


def reaching_other_cities(
    connection: Connection,
    city_id: int | None,
    polygons: Sequence[bytes],
    *,
    reach_m: float,
    min_area_m2: float,
    limit: int,
) -> tuple[list[Reach], int]:
    """The first `limit` (polygon, other city's ward) pairs where a polygon (WKB, EPSG:4326)
    lies more than `reach_m` metres inside the wards of a city other than `city_id` (None: a
    new city) over more than `min_area_m2`, in polygon order; and how many pairs in all."""
    if not polygons:
        return [], 0
    rows = connection.execute(
        _REACHING,
        {
            "positions": list(range(len(polygons))),
            "wkbs": list(polygons),
            "city_id": city_id,
            "margin": reach_m * _DEGREES_PER_REACH_METRE,
            "reach_m": reach_m,
            "min_area_m2": min_area_m2,
            "limit": limit,
        },
    ).all()
    reaches = [
        Reach(
            position=row.position,
            other_code=row.other_code,
            other_name=row.other_name,
            city_slug=row.city_slug,
            city_name=row.city_name,
            area_m2=float(row.area_m2),
        )
        for row in rows
    ]
    return reaches, int(rows[0].total) if rows else 0
