"""Use cases of the context layers: import a city's streets and places from an OpenStreetMap
extract (CLI), generate the sample city's, and serve them under the web and printed maps."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import context as queries
from app.db import places as place_queries
from app.errors import InvalidInput, NotFound, Problem, Unauthorized
from app.geo import osm_context, sample_city
from app.geo.osm_context import ContextFeature, Progress
from app.services.access import Principal

# An extract is read this far around the city's wards (degrees, ~2 km): the streets that
# lead out of the city are still there at its edge.
MARGIN_DEGREES = 0.02
MAX_FEATURES = 20_000  # per web map view: the most important first
MAX_BBOX_DEGREES = 2.0  # a web map view wider than this is no city view


@dataclass(frozen=True)
class ContextSummary:
    city: str
    source: str
    counts: dict[str, int]


def import_extract(
    connection: Connection,
    slug: str,
    path: Path,
    progress: Progress | None = None,
    attribution: str = osm_context.OSM_ATTRIBUTION,
    license_: str | None = osm_context.OSM_LICENSE,
) -> ContextSummary:
    """Replace a city's context layers with those of an OSM extract (`.osm.pbf`, `.osm` or a
    GeoPackage made from one) around its wards, in the caller's transaction.

    Raises NotFound for an unknown city, InvalidInput for a city without wards or a file GDAL
    cannot read (nothing stored is changed then)."""
    city = connection.execute(
        text("SELECT id FROM cities WHERE slug = :slug"), {"slug": slug}
    ).scalar_one_or_none()
    if city is None:
        raise NotFound("unknown_city", city=slug)
    extent = queries.city_extent(connection, city)
    if extent is None:
        raise InvalidInput([Problem("city", "context_city_without_wards", {"city": slug})])
    west, south, east, north = extent
    bbox = (
        west - MARGIN_DEGREES,
        south - MARGIN_DEGREES,
        east + MARGIN_DEGREES,
        north + MARGIN_DEGREES,
    )
    try:
        features = list(osm_context.read_osm(path, bbox, progress))
    except (ValueError, OSError) as error:
        raise InvalidInput(
            [Problem("file", "context_file_unreadable", {"file": path.name, "error": str(error)})]
        ) from error
    if not features:
        # Not an extract of this city (its wards, say, or another town): replacing the last
        # import with nothing would wipe the streets under every map.
        raise InvalidInput([Problem("file", "context_nothing_found", {"file": path.name})])
    counts = queries.replace_city_context(
        connection, city, path.name, attribution, license_, features
    )
    return ContextSummary(slug, path.name, counts)


def sample_features(seed: int = 2026) -> list[ContextFeature]:
    """The sample city's generated streets, river and landmarks."""
    city = sample_city.generate_city(seed)
    centres = [(ward.name, ward.geometry.representative_point()) for ward in city.wards]
    return osm_context.sample_context(
        city.outline,
        centres,
        sample_city._to_lonlat,
        sample_city._to_metres,
        sample_city._STREETS,
        seed,
    )


def load_sample_context(connection: Connection, city_id: int, seed: int = 2026) -> dict[str, int]:
    """Store the sample city's generated context layers (replacing any)."""
    return queries.replace_city_context(
        connection, city_id, "sample", osm_context.SAMPLE_ATTRIBUTION, None, sample_features(seed)
    )


def parse_bbox(value: str) -> tuple[float, float, float, float]:
    """`west,south,east,north` in degrees, or InvalidInput (a 422 naming `bbox`)."""
    try:
        parts = [float(part) for part in value.split(",")]
    except ValueError:
        parts = []
    ok = (
        len(parts) == 4
        and all(-180 <= parts[i] <= 180 for i in (0, 2))
        and all(-90 <= parts[i] <= 90 for i in (1, 3))
        and parts[0] < parts[2]
        and parts[1] < parts[3]
        and parts[2] - parts[0] <= MAX_BBOX_DEGREES
        and parts[3] - parts[1] <= MAX_BBOX_DEGREES
    )
    if not ok:
        raise InvalidInput([Problem("bbox", "context_bad_bbox", {"max": MAX_BBOX_DEGREES})])
    return parts[0], parts[1], parts[2], parts[3]


async def _city_for(engine: AsyncEngine, slug: str, reader: Principal | None) -> dict[str, Any]:
    """The city when its map may be seen by the reader (any role in it, or a public map);
    Unauthorized for nobody signed in, NotFound for a signed-in person who may not see it."""
    async with engine.connect() as connection:
        city = await place_queries.city_by_slug(connection, slug)
    visible = city is not None and (
        bool(city.get("public_aggregates"))
        or (reader is not None and reader.can_see_city(city["id"]))
    )
    if not visible:
        if reader is None:  # like every other API read: sign in first (nothing revealed)
            raise Unauthorized()
        raise NotFound("unknown_city", city=slug[:64])
    assert city is not None
    return city


async def context_geojson(
    engine: AsyncEngine,
    slug: str,
    bbox: tuple[float, float, float, float],
    zoom: int,
    reader: Principal | None,
) -> bytes:
    """The context features of a map view as a GeoJSON FeatureCollection (bytes), with the
    data's attribution as a foreign member. Not personal: anyone who may see the map."""
    city = await _city_for(engine, slug, reader)
    async with engine.connect() as connection:
        features = await queries.features_geojson(connection, city["id"], bbox, zoom, MAX_FEATURES)
        source = await queries.import_of(connection, city["id"])
    attribution = source["attribution"] if source else ""
    head = orjson.dumps({"type": "FeatureCollection", "attribution": attribution})
    return head[:-1] + b',"features":' + features.encode() + b"}"


async def print_features(
    engine: AsyncEngine, city_id: int, bbox: tuple[float, float, float, float]
) -> tuple[list[ContextFeature], str]:
    """The features a printed map draws under its settlements, and the attribution to print."""
    async with engine.connect() as connection:
        features = await queries.features_in(connection, city_id, bbox)
        source = await queries.import_of(connection, city_id)
    return features, (source["attribution"] if source else "")
