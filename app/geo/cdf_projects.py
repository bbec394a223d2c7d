"""The shape of an upgrading project: a point, a line or an area, checked before it is stored.

Pure: no database. The database checks the last rule (within or touching the settlement's
ward) and keeps CHECK constraints on type, validity and SRID as a second line of defence.
"""

from __future__ import annotations

import math
from typing import Any

import orjson

from app.errors import Problem
from app.geo.boundary_crs import VIETNAM  # west, south, east, north, islands included

GEOMETRY_TYPES = ("Point", "LineString", "Polygon")
MAX_VERTICES = 5000  # a walked lane or a block drawn by hand has tens; this is a fault


def _positions(value: Any, depth: int) -> list[list[float]] | None:
    """The positions of a coordinates array `depth` levels deep (1: a line's), or None."""
    if depth == 0:
        if (
            isinstance(value, list)
            and len(value) in (2, 3)
            and all(type(n) in (int, float) and math.isfinite(n) for n in value)
        ):
            return [[float(value[0]), float(value[1])]]
        return None
    if not isinstance(value, list) or not value:
        return None
    found: list[list[float]] = []
    for item in value:
        inner = _positions(item, depth - 1)
        if inner is None:
            return None
        found.extend(inner)
    return found


def _drop_heights(value: Any, depth: int) -> Any:
    if depth == 0:
        return [float(value[0]), float(value[1])]
    return [_drop_heights(item, depth - 1) for item in value]


def check_geometry(
    value: Any, field: str = "geometry"
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """A GeoJSON Point, LineString or Polygon in lon/lat (EPSG:4326), valid and inside
    Vietnam's box; returned in 2D, or the problems with it."""
    from shapely.errors import GEOSException
    from shapely.geometry import mapping, shape
    from shapely.validation import explain_validity

    if not isinstance(value, dict):
        return None, [Problem(field, "project_geometry_type")]
    kind = value.get("type")
    if kind not in GEOMETRY_TYPES:
        return None, [Problem(field, "project_geometry_type")]
    depth = GEOMETRY_TYPES.index(kind)  # Point 0, LineString 1, Polygon 2
    positions = _positions(value.get("coordinates"), depth)
    if positions is None:
        return None, [Problem(field, "project_geometry_invalid", {"reason": "coordinates"})]
    if len(positions) > MAX_VERTICES:
        return None, [Problem(field, "project_geometry_too_large", {"max": MAX_VERTICES})]
    west, south, east, north = VIETNAM
    if not all(west <= lon <= east and south <= lat <= north for lon, lat in positions):
        return None, [Problem(field, "project_outside_vietnam")]
    geometry = {"type": kind, "coordinates": _drop_heights(value["coordinates"], depth)}
    try:
        shaped = shape(geometry)
    except (ValueError, TypeError, AttributeError, GEOSException) as exc:
        return None, [Problem(field, "project_geometry_invalid", {"reason": str(exc)[:80]})]
    if shaped.is_empty or not shaped.is_valid:
        reason = "empty" if shaped.is_empty else explain_validity(shaped)[:80]
        return None, [Problem(field, "project_geometry_invalid", {"reason": reason})]
    if kind == "LineString" and shaped.length == 0:
        return None, [Problem(field, "project_geometry_invalid", {"reason": "zero length"})]
    # shapely closes an open ring as GeoJSON requires; PostGIS would refuse it.
    return orjson.loads(orjson.dumps(mapping(shaped))), []


def geometry_json(geometry: dict[str, Any]) -> str:
    """The geometry as GeoJSON text for PostGIS (ST_GeomFromGeoJSON)."""
    return orjson.dumps(geometry).decode()
