"""Streets and places under the maps: read from an OpenStreetMap extract, or made up for the
sample city.

A ward leader finds a settlement by its streets, the river and the market. This module turns
an OpenStreetMap extract (`.osm.pbf`, `.osm` XML, or a GeoPackage written from one by
`ogr2ogr`, all read by GDAL's OSM driver through pyogrio) into plain context features: roads
with names, waterways, water areas, buildings and landmarks (markets, schools, health
stations, pagodas, churches, ward offices). It also generates the sample city's streets,
river and landmarks, and can write them as OSM XML (the tests' "real" extract).

Pure: no database, no settings. Every text from a file is data: names are kept as they are
(trimmed, at most NAME_MAX characters) and only ever reach a page as JSON or a print as plain
text (never a template).
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import shapely
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

KINDS = ("road", "waterway", "water", "building", "landmark")
NAME_MAX = 200
OSM_ATTRIBUTION = "© OpenStreetMap contributors (ODbL)"
OSM_LICENSE = "ODbL-1.0"
SAMPLE_ATTRIBUTION = "Dữ liệu mẫu tổng hợp / synthetic sample data"

# OSM highway=* values by the class drawn: major roads carry the city's street names at every
# zoom; minor streets from the neighbourhood up; lanes (kiệt, hẻm) at house scale.
ROAD_CLASSES: dict[str, str] = {
    **dict.fromkeys(
        (
            *("motorway", "trunk", "primary", "secondary"),
            *("motorway_link", "trunk_link", "primary_link", "secondary_link"),
        ),
        "major",
    ),
    **dict.fromkeys(
        ("tertiary", "tertiary_link", "unclassified", "residential", "living_street", "road"),
        "minor",
    ),
    **dict.fromkeys(
        ("service", "pedestrian", "track", "footway", "path", "steps", "cycleway", "alley"),
        "lane",
    ),
}
WATERWAY_CLASSES: dict[str, str] = {
    "river": "river",
    "canal": "canal",
    "stream": "stream",
    "drain": "drain",
    "ditch": "drain",
}
# A landmark's class from its tags, first match wins: (tag, values or None for any, class).
LANDMARK_RULES: tuple[tuple[str, frozenset[str] | None, str], ...] = (
    ("amenity", frozenset({"marketplace"}), "market"),
    ("shop", frozenset({"mall", "supermarket"}), "market"),
    ("amenity", frozenset({"school", "kindergarten", "college", "university"}), "school"),
    ("amenity", frozenset({"hospital", "clinic", "doctors", "health_post"}), "health"),
    ("healthcare", None, "health"),
    ("amenity", frozenset({"townhall", "community_centre"}), "office"),
    ("office", frozenset({"government"}), "office"),
    ("religion", frozenset({"buddhist"}), "pagoda"),
    ("religion", frozenset({"christian"}), "church"),
    ("amenity", frozenset({"place_of_worship"}), "temple"),
)
LANDMARK_CLASSES = ("market", "school", "health", "office", "pagoda", "church", "temple")

# GDAL's OSM driver keeps the tags it has no column for in `other_tags`, an hstore-like text:
# "amenity"=>"marketplace","name:en"=>"Market" (quotes and backslashes escaped by a backslash).
_OTHER_TAG = re.compile(r'"((?:[^"\\]|\\.)*)"=>"((?:[^"\\]|\\.)*)"')
_UNESCAPE = re.compile(r"\\(.)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class ContextFeature:
    """One feature under the map, in lon/lat (EPSG:4326)."""

    kind: str  # one of KINDS
    klass: str  # road: major|minor|lane; waterway: river|canal|stream|drain; landmark: ...
    name: str | None
    geometry: BaseGeometry
    osm_id: str | None = None


def parse_other_tags(text: Any) -> dict[str, str]:
    """The tags of GDAL's `other_tags` column as a dict (malformed parts are skipped; a
    missing value, which pandas reads as NaN, is no tags)."""
    if not isinstance(text, str):
        return {}
    return {
        _UNESCAPE.sub(r"\1", key): _UNESCAPE.sub(r"\1", value)
        for key, value in _OTHER_TAG.findall(text)
    }


def clean_name(value: Any) -> str | None:
    """A name as stored: text without control characters, trimmed, at most NAME_MAX long."""
    if not isinstance(value, str):
        return None
    name = _CONTROL.sub(" ", value).strip()
    # A lone surrogate cannot be stored as UTF-8 (PostgreSQL refuses it): replace it.
    name = name.encode("utf-8", "replace").decode("utf-8")
    return name[:NAME_MAX] or None


def landmark_class(tags: dict[str, str]) -> str | None:
    """The landmark class of a feature's tags, or None when it is no landmark."""
    for tag, values, klass in LANDMARK_RULES:
        value = tags.get(tag)
        if value and (values is None or value in values):
            return klass
    return None


def classify(layer: str, tags: dict[str, str], geometry: BaseGeometry) -> tuple[str, str] | None:
    """(kind, class) of one OSM feature of a GDAL OSM layer, or None when it is not drawn."""
    if layer in ("lines", "multilinestrings"):
        highway = tags.get("highway")
        if highway in ROAD_CLASSES:
            return "road", ROAD_CLASSES[highway]
        waterway = tags.get("waterway")
        if waterway in WATERWAY_CLASSES:
            return "waterway", WATERWAY_CLASSES[waterway]
        return None
    if layer == "multipolygons":
        if (
            tags.get("natural") == "water"
            or tags.get("waterway") == "riverbank"
            or tags.get("landuse") in ("reservoir", "basin")
            or "water" in tags
        ):
            return "water", tags.get("water", "")[:32]
        klass = landmark_class(tags)
        if klass:
            return "landmark", klass
        if tags.get("building") and tags.get("building") != "no":
            return "building", ""
        return None
    if layer == "points":
        klass = landmark_class(tags)
        return ("landmark", klass) if klass else None
    return None


LAYER_COLUMNS = {
    "points": ("osm_id", "name", "other_tags"),
    "lines": ("osm_id", "name", "highway", "waterway", "other_tags"),
    "multipolygons": (
        *("osm_id", "osm_way_id", "name", "building", "natural", "landuse"),
        *("amenity", "other_tags"),
    ),
}
Progress = Callable[[str, int], None]


def _tags(record: dict[str, Any]) -> dict[str, str]:
    tags = parse_other_tags(record.get("other_tags"))
    for key, value in record.items():
        if key not in ("other_tags", "osm_id", "osm_way_id", "geometry") and isinstance(value, str):
            tags.setdefault(key, value)
    return tags


def read_osm(
    path: Path,
    bbox: tuple[float, float, float, float] | None = None,
    progress: Progress | None = None,
) -> Iterator[ContextFeature]:
    """The context features of an OSM extract or a GeoPackage made from one, within `bbox`
    (west, south, east, north; lon/lat). Polygon landmarks become their representative point.

    Raises ValueError (with the file's own words) when GDAL cannot read the file.
    """
    import pyogrio

    try:
        layers = {name for name, _ in pyogrio.list_layers(path)}
    except Exception as error:  # GDAL's own message: a file that is no OSM extract
        raise ValueError(str(error).splitlines()[0][:300]) from error
    for layer, wanted in LAYER_COLUMNS.items():
        if layer not in layers:
            continue
        try:
            info = pyogrio.read_info(path, layer=layer)
            columns = [c for c in wanted if c in set(info["fields"])]
            frame = pyogrio.read_dataframe(path, layer=layer, columns=columns, bbox=bbox)
        except Exception as error:
            raise ValueError(f"{layer}: {str(error).splitlines()[0][:300]}") from error
        count = 0
        records = frame.drop(columns="geometry").to_dict("records")
        for record, geometry in zip(records, frame.geometry, strict=True):
            if geometry is None or geometry.is_empty:
                continue
            tags = _tags(record)
            found = classify(layer, tags, geometry)
            if found is None:
                continue
            kind, klass = found
            if kind == "landmark" and geometry.geom_type != "Point":
                geometry = geometry.representative_point()
            ids = (record.get("osm_id"), record.get("osm_way_id"))
            osm_id = next((i for i in ids if isinstance(i, str) and i), None)
            count += 1
            yield ContextFeature(kind, klass, clean_name(tags.get("name")), geometry, osm_id)
            if progress and count % 1000 == 0:
                progress(layer, count)
        if progress:
            progress(layer, count)


# --- The sample city's streets, river and landmarks -----------------------------------------


def sample_context(
    outline: BaseGeometry,
    ward_centres: Sequence[tuple[str, Point]],
    to_lonlat: Callable[[BaseGeometry], BaseGeometry],
    to_metres: Callable[[BaseGeometry], BaseGeometry],
    street_names: Sequence[str],
    seed: int = 2026,
) -> list[ContextFeature]:
    """A street grid with names, lanes, a river with its water area, a canal and landmarks
    (a market, schools, health stations, a pagoda, a church, a ward office per ward), made
    deterministically for a city outline given in lon/lat."""
    rng = random.Random(f"context:{seed}")
    area = to_metres(outline)
    x0, y0, x1, y1 = area.bounds
    features: list[ContextFeature] = []

    def keep(kind: str, klass: str, name: str | None, geometry_m: BaseGeometry) -> None:
        clipped = geometry_m.intersection(area.buffer(300))
        if clipped.is_empty:
            return
        parts = getattr(clipped, "geoms", [clipped])
        for part in parts:
            if part.geom_type in ("LineString", "Polygon", "Point") and not part.is_empty:
                features.append(ContextFeature(kind, klass, name, to_lonlat(part)))

    names = iter(list(street_names) * 4)
    # Main streets: a slightly rotated grid every ~700 m, each with a name.
    angle = math.radians(rng.uniform(8, 18))
    cos_a, sin_a = math.cos(angle), math.sin(angle)

    def rotated(points: list[tuple[float, float]]) -> LineString:
        return LineString([(x * cos_a - y * sin_a, x * sin_a + y * cos_a) for x, y in points])

    span = max(x1 - x0, y1 - y0) * 0.8
    for offset in range(-3500, 3501, 700):
        wiggle = rng.uniform(-60, 60)
        keep("road", "major", next(names), rotated([(offset + wiggle, -span), (offset, span)]))
        keep("road", "major", next(names), rotated([(-span, offset), (span, offset - wiggle)]))
    # Minor streets every ~175 m between them, lanes (kiệt) every ~90 m in the inner city.
    for offset in range(-3500, 3501, 175):
        if offset % 700 == 0:
            continue
        name = f"Kiệt {rng.randint(10, 199)}" if rng.random() < 0.3 else None
        keep("road", "minor", name, rotated([(offset, -span), (offset, span)]))
        if abs(offset) < 2000:
            keep("road", "lane", None, rotated([(-2000, offset + 45), (2000, offset + 45)]))
    # The river: a meander across the city, with its water area and a canal joining it.
    river = LineString(
        [
            (x, 900 * math.sin(x / 1500 + rng.uniform(0, 0.3)) - 600)
            for x in range(int(x0) - 500, int(x1) + 501, 100)
        ]
    )
    keep("water", "river", "Sông Tam Kỳ", river.buffer(45, cap_style="flat"))
    keep("waterway", "river", "Sông Tam Kỳ", river)
    keep("waterway", "canal", "Kênh Bàu Sen", LineString([(-1200, -400), (-900, 1800)]))
    # Landmarks: a ward office per ward, markets, schools, health stations, a pagoda, a church.
    for ward_name, centre in ward_centres:
        features.append(ContextFeature("landmark", "office", f"UBND {ward_name}", centre))
    centre_m = area.centroid
    for klass, name, count in (
        ("market", "Chợ", 3),
        ("school", "Trường Tiểu học", 5),
        ("health", "Trạm Y tế", 3),
        ("pagoda", "Chùa", 2),
        ("church", "Nhà thờ", 1),
    ):
        for number in range(count):
            for _ in range(100):
                x = centre_m.x + rng.uniform(-2500, 2500)
                y = centre_m.y + rng.uniform(-2200, 2200)
                if area.contains(Point(x, y)):
                    break
            label = f"{name} {street_names[rng.randrange(len(street_names))]}"
            if count > 1 and klass in ("school", "health"):
                label = f"{name} số {number + 1}"
            features.append(ContextFeature("landmark", klass, label, to_lonlat(Point(x, y))))
    # A few blocks of buildings near the centre (house scale).
    for _ in range(120):
        x, y = centre_m.x + rng.uniform(-600, 600), centre_m.y + rng.uniform(-600, 600)
        w, h = rng.uniform(6, 14), rng.uniform(8, 18)
        keep("building", "", None, Polygon([(x, y), (x + w, y), (x + w, y + h), (x, y + h)]))
    return features


# --- OSM XML (what an extract looks like; GDAL's OSM driver reads it, osmium converts it) ----


def write_osm_xml(features: Sequence[ContextFeature], path: Path) -> None:
    """Write features as an OSM XML file: points as tagged nodes, lines and polygons as ways
    (a polygon's way is closed and tagged as an area), numbered from 1."""
    node_ids: dict[tuple[float, float], int] = {}
    nodes: list[str] = []
    ways: list[str] = []

    def node(x: float, y: float, tags: str = "") -> int:
        key = (round(x, 7), round(y, 7))
        if key in node_ids and not tags:
            return node_ids[key]
        number = len(nodes) + 1
        node_ids.setdefault(key, number)
        body = f">{tags}</node>" if tags else "/>"
        nodes.append(f'  <node id="{number}" version="1" lat="{key[1]}" lon="{key[0]}"{body}')
        return number

    def tag_xml(feature: ContextFeature) -> str:
        tags = dict(_osm_tags(feature))
        if feature.name:
            tags["name"] = feature.name
        return "".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items())

    for feature in features:
        geometry = feature.geometry
        if geometry.geom_type == "Point":
            node(geometry.x, geometry.y, tag_xml(feature))
            continue
        ring = geometry.exterior.coords if geometry.geom_type == "Polygon" else geometry.coords
        refs = [node(x, y) for x, y in ring]
        if geometry.geom_type == "Polygon" and refs[0] != refs[-1]:
            refs.append(refs[0])
        members = "".join(f'<nd ref="{ref}"/>' for ref in refs)
        number = len(ways) + 1
        ways.append(f'  <way id="{number}" version="1">{members}{tag_xml(feature)}</way>')
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="cdfmap">\n'
        + "\n".join(nodes + ways)
        + "\n</osm>\n",
        encoding="utf-8",
    )


def _osm_tags(feature: ContextFeature) -> list[tuple[str, str]]:
    """OSM tags that classify() reads back as the feature's kind and class."""
    if feature.kind == "road":
        return [
            ("highway", {"major": "primary", "minor": "residential"}.get(feature.klass, "service"))
        ]
    if feature.kind == "waterway":
        return [("waterway", feature.klass if feature.klass != "drain" else "drain")]
    if feature.kind == "water":
        return [("natural", "water"), ("area", "yes")] + (
            [("water", feature.klass)] if feature.klass else []
        )
    if feature.kind == "building":
        return [("building", "yes"), ("area", "yes")]
    return {
        "market": [("amenity", "marketplace")],
        "school": [("amenity", "school")],
        "health": [("amenity", "clinic")],
        "office": [("amenity", "townhall")],
        "pagoda": [("amenity", "place_of_worship"), ("religion", "buddhist")],
        "church": [("amenity", "place_of_worship"), ("religion", "christian")],
    }.get(feature.klass, [("amenity", "place_of_worship")])


def bounds_of(features: Sequence[ContextFeature]) -> tuple[float, float, float, float]:
    """(west, south, east, north) of the features."""
    west, south, east, north = shapely.total_bounds([f.geometry for f in features])
    return float(west), float(south), float(east), float(north)
