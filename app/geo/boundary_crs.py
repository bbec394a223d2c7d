"""Coordinate systems of boundary files: the CRS a file names (or the one given for a file
that names none), the move to EPSG:4326, and where the result lies against Vietnam and
against the area its CRS is meant for (a wrong VN-2000 zone lands hundreds of kilometres off).
Used by app.geo.boundary_files."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.errors import Problem
from app.geo.boundary_problems import layer_problem, refusal, row_problem

if TYPE_CHECKING:
    from geopandas import GeoDataFrame

# Vietnam's mainland and islands (lon/lat) with a margin: data outside it is warned about;
# outside FAR it is refused, since it is then surely a CRS mistake.
VIETNAM = (101.5, 7.0, 118.5, 24.0)
FAR = (95.0, 0.0, 125.0, 30.0)
CRS_AREA_MARGIN = 1.0  # degrees beyond the area a CRS is meant for, before a warning


def crs_name(crs: Any) -> str:
    """`EPSG:3405 (VN-2000 / UTM zone 48N)`, or the CRS's name when it has no EPSG code."""
    epsg = crs.to_epsg()
    return f"EPSG:{epsg} ({crs.name})" if epsg else str(crs.name)


def parse_crs(text: str, kind: str = "crs", label: str = "") -> Any:
    """A pyproj CRS from `EPSG:9210` or the like, or InvalidInput naming it."""
    import pyproj
    import pyproj.exceptions

    try:
        return pyproj.CRS.from_user_input(text.strip())
    except (pyproj.exceptions.CRSError, TypeError, ValueError) as exc:
        raise refusal([layer_problem(kind, label, "boundary_unknown_crs", crs=text[:80])]) from exc


# A GeoJSON file's own "crs" member (old GeoJSON; QGIS still writes it), read from the start
# of the file where writers put it: any (app/geo/boundary_sources.py lets only "name" and
# "EPSG" ones through), and its name.
_GEOJSON_ANY_CRS = re.compile(rb'"crs"\s*:\s*\{')
_GEOJSON_CRS = re.compile(
    rb'"crs"\s*:\s*\{[^{}]*"properties"\s*:\s*\{[^{}]*"name"\s*:\s*"([^"]{1,200})"'
)
GEOJSON_HEAD_BYTES = 1024 * 1024


def declares_crs(path: Path, kind: str, label: str) -> bool:
    """Whether a GeoJSON file names its own CRS (GDAL reads one that names none as WGS 84,
    as the format says). One naming a CRS that cannot be read is refused: GDAL reads such a
    file as WGS 84 without a word (a file in EPSG::999999 was imported as longitudes and
    latitudes)."""
    with path.open("rb") as file:
        head = file.read(GEOJSON_HEAD_BYTES)
    match = _GEOJSON_CRS.search(head)
    if match is not None:
        declared = match.group(1).decode("utf-8", "replace")
        # urn:ogc:def:crs:EPSG::9210 and the like: pyproj reads these URNs itself.
        parse_crs(declared, kind, label)
    return _GEOJSON_ANY_CRS.search(head) is not None


def own_crs(path: Path, frame: GeoDataFrame, kind: str, label: str) -> Any:
    """The CRS a file names itself (a .prj, a GeoPackage layer's, a GeoJSON `crs`), or None."""
    if path.suffix.lower() in (".geojson", ".json") and path.is_file():
        return frame.crs if declares_crs(path, kind, label) else None
    return frame.crs


def same_crs(one: Any, other: Any) -> bool:
    if one.equals(other, ignore_axis_order=True):
        return True
    epsg = one.to_epsg()
    return epsg is not None and epsg == other.to_epsg()


def to_wgs84(
    frame: GeoDataFrame, kind: str, label: str, own: Any, crs: str | None
) -> tuple[Any, Any, list[Problem]]:
    """The frame in EPSG:4326, the CRS it was read in, and a warning when `crs` was named
    for a file that names another: a file's own CRS is kept, `crs` is only for files that
    name none (one CRS put over two files moved a GeoPackage's wards 80 km)."""
    named = parse_crs(crs, kind, label) if crs else None
    notes: list[Problem] = []
    if own is not None:
        if named is not None and not same_crs(own, named):
            notes.append(
                layer_problem(
                    kind,
                    label,
                    "boundary_crs_not_applied",
                    own=crs_name(own)[:80],
                    crs=crs_name(named)[:80],
                )
            )
        frame = frame.set_crs(own, allow_override=True)
    elif named is not None:
        frame = frame.set_crs(named, allow_override=True)
    elif frame.crs is None:
        raise refusal([layer_problem(kind, label, "boundary_no_crs")])
    source = frame.crs
    if source.to_epsg() == 4326:
        return frame, source, notes
    import pyproj.exceptions

    try:
        return frame.to_crs(epsg=4326), source, notes
    except (pyproj.exceptions.ProjError, pyproj.exceptions.CRSError, ValueError) as exc:
        # Known to PROJ but not on the Earth (a Mars or Moon CRS) or with no datum at all (a
        # CAD export's LOCAL_CS): nothing turns it into longitudes and latitudes.
        problem = layer_problem(
            kind, label, "boundary_crs_not_convertible", crs=crs_name(source)[:80]
        )
        raise refusal([problem]) from exc


def outside(bounds: tuple[float, float, float, float], box: tuple[float, ...]) -> bool:
    west, south, east, north = bounds
    return west < box[0] or south < box[1] or east > box[2] or north > box[3]


def extent_of(placed: list[tuple[int, str, tuple[float, float, float, float]]]) -> dict[str, float]:
    return {
        "west": round(min(b[0] for _, _, b in placed), 4),
        "south": round(min(b[1] for _, _, b in placed), 4),
        "east": round(max(b[2] for _, _, b in placed), 4),
        "north": round(max(b[3] for _, _, b in placed), 4),
    }


def extent_problems(
    kind: str,
    label: str,
    source_name: str,
    placed: list[tuple[int, str, tuple[float, float, float, float]]],
    warnings: list[Problem],
) -> list[Problem]:
    """Far from Vietnam: refused (a CRS mistake); a little outside it: a warning."""
    if not placed:
        return []
    far = [(row, code) for row, code, bounds in placed if outside(bounds, FAR)]
    if far and len(far) == len(placed):
        extent = extent_of(placed)
        return [layer_problem(kind, label, "boundary_far_from_vietnam", crs=source_name, **extent)]
    if far:
        return [
            row_problem(kind, label, row, code, "boundary_feature_far", crs=source_name)
            for row, code in far
        ]
    if any(outside(bounds, VIETNAM) for _, _, bounds in placed):
        extent = extent_of(placed)
        warnings.append(
            layer_problem(kind, label, "boundary_outside_vietnam", crs=source_name, **extent)
        )
    return []


def crs_area_warnings(
    kind: str,
    label: str,
    source: Any,
    source_name: str,
    placed: list[tuple[int, str, tuple[float, float, float, float]]],
) -> list[Problem]:
    """A warning when the data lies away from where its CRS is used (a VN-2000 zone for
    another province, UTM 48N for 49N): the right coordinates read in a wrong zone land
    hundreds of kilometres off, often still in Vietnam."""
    area = source.area_of_use
    if area is None:
        return []
    box = (
        area.west - CRS_AREA_MARGIN,
        area.south - CRS_AREA_MARGIN,
        area.east + CRS_AREA_MARGIN,
        area.north + CRS_AREA_MARGIN,
    )
    extent = extent_of(placed)
    if not outside((extent["west"], extent["south"], extent["east"], extent["north"]), box):
        return []
    where = area.name.rstrip(". ")[:200]
    return [layer_problem(kind, label, "boundary_crs_area", crs=source_name, area=where)]
