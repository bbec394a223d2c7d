"""Reading a city's ward or settlement boundaries from GeoJSON, GeoPackage or Shapefile.

Pure: no database, no HTTP. A layer is read whole with pyogrio, moved to EPSG:4326 (lon, lat)
from whatever CRS the file has (VN-2000 zones and UTM 48N/49N are common in Vietnam), and
every feature is checked: a code and a name, a polygon (a ward may have several parts), in
range and near Vietnam. Invalid geometries are repaired with shapely's `make_valid`
(`buffer(0)` as a fallback) and reported as warnings; whatever cannot be used is listed
feature by feature in one `InvalidInput`, so that an import is all or nothing.

Only the three formats are opened, each copied to a directory of ours and checked by its
content before GDAL sees it (app/geo/boundary_sources.py): GDAL would otherwise open any
format it knows by content, and some act when opened (a GDALG file runs commands, a VRT
reads the files and URLs it names).
"""

from __future__ import annotations

import math
import re
import tempfile
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from app.errors import Problem
from app.geo import boundary_sources, dbf_text
from app.geo.boundary_crs import (
    crs_area_warnings,
    crs_name,
    extent_problems,
    own_crs,
    to_wgs84,
)
from app.geo.boundary_problems import layer_problem, refusal, row_problem

if TYPE_CHECKING:
    from geopandas import GeoDataFrame
    from shapely.geometry.base import BaseGeometry

Kind = Literal["wards", "settlements"]
# (what is being done, features done, features in all): called every PROGRESS_EVERY features.
Progress = Callable[[str, int, int], None]

SUFFIXES = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG", ".shp": "ESRI Shapefile"}
ZIP_SUFFIX = ".zip"
MAX_FEATURES = 50_000
# Vertices of one file, all features together. A province's cadastral wards hold a few
# hundred thousand; 30 million stored took 5 GB to read, made the city's map a 500 for good
# and switched the server's placement index off for every city (app.services.placement).
MAX_VERTICES = 2_000_000
PROGRESS_EVERY = 100
CODE_MAX = 32  # wards.code and settlements.code are VARCHAR(32)
NAME_MAX = 200
INT_MAX = 2**31 - 1
# Smaller polygons (square degrees: about one square metre) are slivers or flat rings.
MIN_AREA = 1e-10
SETTLEMENT_NUMBERS = ("households_estimate", "year_settled")


@dataclass(frozen=True)
class LayerOptions:
    """Which layer of a file and which of its columns hold the code and the name."""

    layer: str | None = None  # a GeoPackage's (or a zip's) layer; the only one by default
    code_field: str = "code"
    name_field: str = "name"
    ward_code_field: str = "ward_code"  # settlements only, optional: the code of their ward


@dataclass(frozen=True)
class Feature:
    """One usable feature: its row in the file (1-based), code, name, geometry in EPSG:4326
    (a MultiPolygon for a ward, a Polygon for a settlement) and properties (JSON-safe)."""

    row: int
    code: str
    name: str
    geometry: BaseGeometry
    properties: dict[str, Any]
    settlement: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Layer:
    """A checked layer: its features, the CRS it was read in, and warnings."""

    kind: Kind
    label: str
    source_crs: str
    features: tuple[Feature, ...]
    warnings: tuple[Problem, ...] = ()


# --- opening a file -------------------------------------------------------------------------


# `\u0000` written by JSON: a backslash not itself escaped, then u0000.
_JSON_NUL = re.compile(rb"(?:^|[^\\])(?:\\\\)*\\u0000")


def _holds_nul(path: Path) -> bool:
    """Whether a JSON file writes a NUL character anywhere (boundary files are a few MB)."""
    return _JSON_NUL.search(path.read_bytes()) is not None


def _source(
    path: Path, kind: str, label: str, layer: str | None, directory: Path
) -> tuple[str, str]:
    """(what GDAL opens, the driver it must turn out to be), the file copied to `directory`
    and its content checked first (app/geo/boundary_sources.py); or InvalidInput."""
    if not path.is_file():
        raise refusal([layer_problem(kind, label, "boundary_no_file")])
    suffix = path.suffix.lower()
    driver = "zip" if suffix == ZIP_SUFFIX else SUFFIXES.get(suffix)
    if driver is None:
        raise refusal([layer_problem(kind, label, "boundary_format")])
    try:
        source, driver = boundary_sources.stage(path, driver, directory, layer)
    except boundary_sources.Refused as refused:
        raise refusal([layer_problem(kind, label, refused.code, **refused.params)]) from refused
    if driver == "GeoJSON" and _holds_nul(directory / "layer.geojson"):
        # GDAL reads text up to a NUL: "Ph\u0000ường" would be stored as "Ph" without a word.
        raise refusal([layer_problem(kind, label, "boundary_nul")])
    return source, driver


def _layer_name(source: str, driver: str, kind: str, label: str, layer: str | None) -> str | None:
    """The layer to read: `layer`, or a GeoPackage's only layer with geometries."""
    if driver != "GPKG":
        return None
    import pyogrio

    layers = [(str(n), g) for n, g in pyogrio.list_layers(source)]
    spatial = [n for n, geometry_type in layers if geometry_type]
    if layer:
        if layer not in spatial:
            names = ", ".join(spatial) or "—"
            raise refusal(
                [layer_problem(kind, label, "boundary_no_layer", layer=layer, layers=names)]
            )
        return layer
    if len(spatial) == 1:
        return spatial[0]
    if not spatial:
        raise refusal([layer_problem(kind, label, "boundary_empty")])
    raise refusal([layer_problem(kind, label, "boundary_choose_layer", layers=", ".join(spatial))])


def _open(
    path: Path, kind: str, label: str, layer: str | None
) -> tuple[GeoDataFrame, list[Problem]]:
    """The layer's features, and notes on reading it: the encoding its table was taken to be
    in (app/geo/dbf_text.py), and what pyogrio said of it."""
    import pyogrio
    import pyogrio.errors
    import shapely.errors

    try:
        with tempfile.TemporaryDirectory(prefix="cdfmap-layer-") as directory:
            source, driver = _source(path, kind, label, layer, Path(directory))
            # pyogrio's and GDAL's warnings become the import's (_reader_notes), not stderr's.
            with warnings.catch_warnings(record=True) as said:
                warnings.simplefilter("always", UserWarning)
                warnings.simplefilter("always", RuntimeWarning)
                name = _layer_name(source, driver, kind, label, layer)
                info = pyogrio.read_info(source, layer=name)
                if info.get("driver") != driver:
                    problem = layer_problem(kind, label, "boundary_not_format", format=driver)
                    raise refusal([problem])
                if int(info.get("features") or 0) > MAX_FEATURES:
                    problem = layer_problem(kind, label, "boundary_too_many", max=MAX_FEATURES)
                    raise refusal([problem])
                how = None
                if driver == "ESRI Shapefile":
                    how = dbf_text.reading(Path(directory) / "layer.shp", info.get("encoding"))
                frame = pyogrio.read_dataframe(
                    source, layer=name, encoding=dbf_text.BYTES_AS_TEXT if how else None
                )
            notes = _reader_notes(kind, label, said)
            if how is not None:
                try:
                    frame, encoding = dbf_text.decode(frame, how)
                except dbf_text.Undecodable as exc:
                    problem = layer_problem(kind, label, "boundary_text_encoding_unknown")
                    raise refusal([problem]) from exc
                if how == "detect" and encoding != "ascii":
                    code = "boundary_text_read_as_" + encoding.replace("-", "")
                    notes.insert(0, layer_problem(kind, label, code))
            return frame, notes
    except (
        pyogrio.errors.DataSourceError,
        pyogrio.errors.DataLayerError,
        pyogrio.errors.FieldError,
        pyogrio.errors.GeometryError,
        pyogrio.errors.FeatureError,
        pyogrio.errors.CRSError,
        # A polygon GEOS cannot build (a ring that does not close on its first point).
        shapely.errors.GEOSException,
        UnicodeError,
        OSError,
        ValueError,
    ) as exc:
        reason = " ".join(str(exc).split())[:300]
        raise refusal([layer_problem(kind, label, "boundary_unreadable", reason=reason)]) from exc


# pyogrio's warnings that say nothing an admin can act on: measures (M) are dropped, and a
# boundary has no use for them.
_HARMLESS_NOTES = re.compile(r"^Measured \(M\) geometry types are not supported")
_NOT_JSON = re.compile(r"^Could not parse column '(.{0,100})' as JSON")


def _reader_notes(kind: str, label: str, said: list[warnings.WarningMessage]) -> list[Problem]:
    """pyogrio's warnings on reading a layer as the import's, each once (the command line
    printed them raw); GDAL's notes on odd files are left out (errors raise anyway) but for
    text it could not convert. Other libraries' warnings go on as they came."""
    notes: list[Problem] = []
    seen: set[str] = set()
    for warning in said:
        if not issubclass(warning.category, UserWarning | RuntimeWarning):
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
            continue
        text = " ".join(str(warning.message).split())
        if text in seen or _HARMLESS_NOTES.match(text):
            continue
        seen.add(text)
        if issubclass(warning.category, RuntimeWarning) and "converted" not in text:
            continue
        not_json = _NOT_JSON.match(text)
        if not_json:
            column = not_json.group(1)
            notes.append(layer_problem(kind, label, "boundary_column_kept_as_text", column=column))
        else:
            notes.append(layer_problem(kind, label, "boundary_reader_note", note=text[:300]))
    return notes


def _vertices(frame: GeoDataFrame) -> int:
    """Vertices of every feature together."""
    import shapely

    return int(shapely.get_num_coordinates(frame.geometry.values).sum())


def _finite(geometry: Any) -> bool:
    """Whether every vertex is a number (not NaN nor infinite)."""
    import numpy as np
    import shapely

    return bool(np.isfinite(shapely.get_coordinates(geometry)).all())


def _in_range(bounds: tuple[float, float, float, float]) -> bool:
    west, south, east, north = bounds
    return all(math.isfinite(v) for v in bounds) and (
        -180 <= west <= east <= 180 and -90 <= south <= north <= 90
    )


# --- values ------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A file's value as plain JSON: numpy scalars and arrays, NaN, NaT, dates, bytes."""
    if hasattr(value, "tolist") and not isinstance(value, str):
        value = value.tolist()  # numpy scalars and arrays
    if value is None:
        return None
    if not isinstance(value, list | tuple | str | bytes):
        try:
            if value != value:  # NaN, NaT
                return None
        except (TypeError, ValueError):  # pandas.NA cannot say
            return None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, str | int | bool):
        return value
    return str(value)


def _text(value: Any) -> str:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a numeric code column: 20314.0 is 20314
    return str(value)


def _storable(text: str) -> bool:
    """PostgreSQL text cannot hold NUL, nor UTF-8 a lone surrogate."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _column(columns: Iterable[str], wanted: str) -> str | None:
    """The column named `wanted`, or the only one that matches it ignoring case (a
    Shapefile's DBF often has CODE for code)."""
    columns = list(columns)
    if wanted in columns:
        return wanted
    matches = [c for c in columns if c.casefold() == wanted.casefold()]
    return matches[0] if len(matches) == 1 else None


# --- geometries ---------------------------------------------------------------------------


def _polygons(geometry: BaseGeometry) -> list[Any]:
    """The polygons with an area in a geometry (lines and points that make_valid may leave
    beside them are dropped)."""
    from shapely.geometry import GeometryCollection, MultiPolygon, Polygon

    if isinstance(geometry, Polygon):
        return [geometry] if not geometry.is_empty and geometry.area > MIN_AREA else []
    if isinstance(geometry, MultiPolygon | GeometryCollection):
        return [p for part in geometry.geoms for p in _polygons(part)]
    return []


def polygonal(geometry: Any, kind: Kind) -> tuple[Any, str | None, dict[str, Any], str | None]:
    """(the geometry as the table stores it or None, a problem code, its params, the repair
    made) for one feature's geometry, already in EPSG:4326."""
    import shapely
    from shapely.geometry import MultiPolygon, Polygon
    from shapely.ops import unary_union

    if geometry is None or geometry.is_empty:
        return None, "boundary_no_geometry", {}, None
    geometry = shapely.force_2d(geometry)
    if not isinstance(geometry, Polygon | MultiPolygon):
        return None, "boundary_not_polygon", {"type": geometry.geom_type}, None
    repaired = None
    parts = _polygons(geometry)
    if not geometry.is_valid:
        repaired = shapely.is_valid_reason(geometry)
        parts = _polygons(shapely.make_valid(geometry))
        if not parts:
            parts = _polygons(geometry.buffer(0))
        if not parts:
            return None, "boundary_invalid", {"reason": repaired}, None
    if not parts:
        return None, "boundary_no_area", {}, None
    shape: Any = MultiPolygon(parts) if len(parts) > 1 else parts[0]
    if not shape.is_valid:  # parts of a repair may share an edge
        shape = unary_union(parts)
        parts = _polygons(shape)
        if not shape.is_valid or not parts:
            return None, "boundary_invalid", {"reason": shapely.is_valid_reason(shape)}, None
    if kind == "settlements":
        if len(parts) != 1:
            return None, "boundary_settlement_parts", {"parts": len(parts)}, None
        return parts[0], None, {}, repaired
    return MultiPolygon(parts), None, {}, repaired


# --- settlements' profile -----------------------------------------------------------------


def _whole_number(value: Any) -> int | str | None:
    """An integer, None when missing, or the text of a value that is not one."""
    value = _plain(value)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return value if abs(value) <= INT_MAX else str(value)
    if isinstance(value, float) and value.is_integer() and abs(value) <= INT_MAX:
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value.strip())
        return number if abs(number) <= INT_MAX else value
    return str(value)


def _threats(value: Any) -> list[str]:
    value = _plain(value)
    if isinstance(value, list):
        return [str(v).strip() for v in value if v is not None and str(v).strip()]
    if isinstance(value, str):
        return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
    return []


def _settlement_fields(
    properties: dict[str, Any], columns: dict[str, str | None]
) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    fields: dict[str, Any] = {}
    problems: list[tuple[str, dict[str, Any]]] = []
    ward = columns.get("ward_code")
    fields["ward_code"] = (_text(properties.get(ward)) or None) if ward else None
    for name in SETTLEMENT_NUMBERS:
        column = columns.get(name)
        number = _whole_number(properties.get(column)) if column else None
        if isinstance(number, str):
            problems.append(("boundary_not_whole_number", {"field": column, "value": number[:40]}))
            number = None
        fields[name] = number
    land = columns.get("land_type")
    fields["land_type"] = (_text(properties.get(land)) or None) if land else None
    threats = columns.get("threats")
    fields["threats"] = _threats(properties.get(threats)) if threats else []
    return fields, problems


# --- a layer ------------------------------------------------------------------------------


def read_layer(
    path: Path,
    kind: Kind,
    options: LayerOptions | None = None,
    crs: str | None = None,
    label: str | None = None,
    progress: Progress | None = None,
) -> Layer:
    """Read and check a ward or settlement layer; InvalidInput lists everything wrong."""
    options = options or LayerOptions()
    label = label or path.name
    frame, notes = _open(path, kind, label, options.layer)
    if len(frame) == 0:
        raise refusal([layer_problem(kind, label, "boundary_empty")])
    vertices = _vertices(frame)
    if vertices > MAX_VERTICES:
        raise refusal(
            [
                layer_problem(
                    kind, label, "boundary_too_many_vertices", count=vertices, max=MAX_VERTICES
                )
            ]
        )
    own = own_crs(path, frame, kind, label)
    frame, source, crs_notes = to_wgs84(frame, kind, label, own, crs)
    notes += crs_notes
    source_name = crs_name(source)
    columns = [str(c) for c in frame.columns if c != frame.geometry.name]
    code_column = _column(columns, options.code_field)
    name_column = _column(columns, options.name_field)
    problems: list[Problem] = []
    shown = ", ".join(columns[:40]) or "—"
    if code_column is None:
        problems.append(
            layer_problem(
                kind, label, "boundary_no_code_field", field=options.code_field, fields=shown
            )
        )
    if name_column is None:
        problems.append(
            layer_problem(
                kind, label, "boundary_no_name_field", field=options.name_field, fields=shown
            )
        )
    if problems:
        raise refusal(problems)
    assert code_column is not None and name_column is not None
    profile_columns = {
        "ward_code": _column(columns, options.ward_code_field),
        **{name: _column(columns, name) for name in (*SETTLEMENT_NUMBERS, "land_type", "threats")},
    }

    features: list[Feature] = []
    warnings: list[Problem] = notes
    first_row: dict[str, int] = {}
    placed: list[tuple[int, str, tuple[float, float, float, float]]] = []
    out_of_range: list[tuple[int, str]] = []
    records = frame.drop(columns=frame.geometry.name).to_dict("records")
    total = len(records)
    for index, (properties, geometry) in enumerate(zip(records, frame.geometry, strict=True)):
        row = index + 1
        code = _text(properties.get(code_column)).strip()
        name = _text(properties.get(name_column))
        before = len(problems)

        def refuse(message: str, _row: int = row, _code: str = code, **params: Any) -> None:
            problems.append(row_problem(kind, label, _row, _code, message, **params))

        if not code:
            refuse("boundary_empty_code", field=code_column)
        elif len(code) > CODE_MAX or not _storable(code):
            refuse("boundary_bad_code", field=code_column, max=CODE_MAX)
        elif code in first_row:
            refuse("boundary_duplicate_code", first=first_row[code])
        else:
            first_row[code] = row
        if not name.strip():
            refuse("boundary_empty_name", field=name_column)
        elif len(name) > NAME_MAX or not _storable(name):
            refuse("boundary_bad_name", field=name_column, max=NAME_MAX)
        plain = {str(k): _plain(v) for k, v in properties.items()}
        plain = {k: v for k, v in plain.items() if v is not None}
        unstorable = [k for k, v in plain.items() if isinstance(v, str) and not _storable(v)]
        if unstorable:
            refuse("boundary_bad_text", field=unstorable[0])
        settlement: dict[str, Any] = {}
        if kind == "settlements":
            settlement, number_problems = _settlement_fields(properties, profile_columns)
            for message, params in number_problems:
                refuse(message, **params)

        shape = None
        if geometry is not None and not geometry.is_empty:
            west, south, east, north = (float(v) for v in geometry.bounds)
            bounds = (west, south, east, north)
            if not _finite(geometry):  # bounds leave a NaN vertex out: it reached make_valid
                refuse("boundary_not_a_number")
            elif not _in_range(bounds):
                out_of_range.append((row, code))
            else:
                placed.append((row, code, bounds))
                shape, trouble, params, repair = polygonal(geometry, kind)
                if trouble:
                    refuse(trouble, **params)
                elif repair:
                    warnings.append(
                        row_problem(kind, label, row, code, "boundary_repaired", reason=repair)
                    )
        else:
            refuse("boundary_no_geometry")
        if len(problems) == before and shape is not None:
            features.append(Feature(row, code, name, shape, plain, settlement))
        if progress and (row % PROGRESS_EVERY == 0 or row == total):
            progress(f"checking {kind}", row, total)

    if out_of_range and not placed:  # every feature: the CRS is surely wrong
        problems.append(layer_problem(kind, label, "boundary_all_out_of_range", crs=source_name))
    else:
        problems += [
            row_problem(kind, label, row, code, "boundary_out_of_range", crs=source_name)
            for row, code in out_of_range
        ]
    problems += extent_problems(kind, label, source_name, placed, warnings)
    if source.to_epsg() != 4326 and placed:
        warnings += crs_area_warnings(kind, label, source, source_name, placed)
    if problems:
        raise refusal(problems)
    return Layer(kind, label, source_name, tuple(features), tuple(warnings))
