"""Staging a boundary upload for GDAL: copied under names of ours, its content checked first.

GDAL opens a file by what its bytes look like, not by its name, and several of its formats
act when opened: a GDALG file (JSON, GDAL 3.11+) runs a command pipeline that read
/etc/passwd into an error message, a VRT (XML) reads the files and URLs it names, a
GeoJSON `crs` of type "link" fetches its URL, and a GeoPackage whose layer is a recursive
view never finishes counting its features (eight such uploads stopped the server). So only
three formats are let through, each proven by its content here before GDAL sees a byte:

- GeoJSON: parsed as JSON; the root's `type` is FeatureCollection, Feature or a geometry;
  a `crs` may only name its system ("name" or "EPSG"), never link to one.
- ESRI Shapefile: the .shp and .shx begin with the file code 9994; a zipped Shapefile is
  extracted (size-capped) rather than read through /vsizip/.
- GeoPackage: the SQLite header and the application_id GPKG (GP10/GP11 from GDAL before 2.2),
  then Python's sqlite3, read-only, refuses views, virtual tables other than R-trees,
  triggers other than the standard ones, and more than MAX_GPKG_LAYERS layers.

Every file is copied to a private directory as `layer.<ext>`, so the path GDAL gets is ours:
absolute, with no /vsi prefix and no `DRIVER:` prefix taken from a name. GeoJSON and
GeoPackage are then opened through GDAL's own `GeoJSON:` / `GPKG:` prefix, which lets that
one driver, and no other, open them. The Shapefile driver has no such prefix; a .shp
starting with the NUL bytes of its file code is what no text-sniffing driver takes.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import zipfile
from pathlib import Path
from typing import Any

GPKG_MAGIC = b"SQLite format 3\x00"
SHAPE_FILE_CODE = b"\x00\x00\x27\x0a"  # 9994, big-endian: the .shp's and the .shx's
GPKG_APPLICATION_IDS = {
    0x47504B47,  # 'GPKG': GeoPackage 1.2 and later
    0x47503130,  # 'GP10': GeoPackage 1.0 (GDAL before 2.2)
    0x47503131,  # 'GP11': GeoPackage 1.1
}
GEOJSON_TYPES = {
    "FeatureCollection",
    "Feature",
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
}
GEOJSON_CRS_TYPES = {"name", "EPSG"}  # "link" and "url" make GDAL fetch the URL
SHAPEFILE_NEEDS = (".shx", ".dbf")
SHAPEFILE_OPTIONAL = (".prj", ".cpg")
# Uncompressed, every member together: a zip expands 500 times and more (one polygon's
# corner repeated), and GDAL holds what it reads (~160 bytes a vertex).
MAX_ZIP_BYTES = 100 * 1024 * 1024
MAX_GPKG_LAYERS = 100  # rows of gpkg_contents
MAX_GPKG_SCHEMA = 5000  # rows of sqlite_master
# SQLite virtual-machine steps Python's own check may take (the check needs a few thousand).
SQLITE_STEPS = 10_000_000
SQLITE_STEPS_EVERY = 10_000
# Triggers a GeoPackage writer adds (the spec's, GDAL's R-tree and feature count ones). They
# fire on writes only; others are refused all the same, since a boundary file needs none.
STANDARD_TRIGGER = re.compile(
    r"^(gpkg_.+|rtree_.+_(insert|update\d*|delete)|trigger_(insert|delete)_feature_count_.+)$",
    re.IGNORECASE,
)


class Refused(Exception):
    """An upload refused before GDAL opens it: a message code of app/i18n.py and its params."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def _head(path: Path, size: int = 100) -> bytes:
    with path.open("rb") as handle:
        return handle.read(size)


def gdal_path(path: Path) -> str:
    """The path as GDAL must get it: absolute, never a /vsi or `DRIVER:` one."""
    text = str(path.resolve())
    if not text.startswith("/") or text.startswith("/vsi"):
        raise Refused("boundary_unreadable", reason="unsafe temporary path")
    return text


# --- GeoJSON -----------------------------------------------------------------------------------


def _crs_problem(member: Any) -> bool:
    if member is None:
        return False
    if not isinstance(member, dict):
        return True
    return member.get("type") not in GEOJSON_CRS_TYPES


def _geojson_objects(root: dict[str, Any]) -> list[Any]:
    """The objects GDAL reads a `crs` from: the root, each feature and its geometry."""
    objects: list[Any] = [root]
    features = root.get("features")
    for feature in features if isinstance(features, list) else [root]:
        if isinstance(feature, dict):
            objects.append(feature)
            objects.append(feature.get("geometry"))
    return [o for o in objects if isinstance(o, dict)]


def check_geojson(path: Path) -> None:
    """A GeoJSON file, by its content (JSON whose root `type` is GeoJSON's), or Refused."""
    try:
        root = json.loads(path.read_bytes())
    except (ValueError, RecursionError) as exc:  # not JSON (XML, a VRT), or nested too deep
        raise Refused("boundary_not_format", format="GeoJSON") from exc
    if not isinstance(root, dict) or root.get("type") not in GEOJSON_TYPES:
        raise Refused("boundary_geojson_type")
    if any(_crs_problem(o.get("crs")) for o in _geojson_objects(root)):
        raise Refused("boundary_geojson_crs")


# --- Shapefile ---------------------------------------------------------------------------------


def check_shapefile(shp: Path, shx: Path, names: tuple[str, str]) -> None:
    """The .shp and .shx both begin with the Shapefile file code, or Refused naming the part."""
    for part, name in zip((shp, shx), names, strict=True):
        if _head(part, 4) != SHAPE_FILE_CODE:
            raise Refused("boundary_part_not_format", part=name, format="ESRI Shapefile")


def sibling(path: Path, suffix: str) -> Path | None:
    """A Shapefile's companion file (.dbf, .shx, .prj) in either case."""
    for candidate in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
        if candidate.is_file():
            return candidate
    return None


def stage_shapefile(shp: Path, directory: Path) -> Path:
    """Copy a Shapefile's parts to `directory` as layer.*; the copied .shp, checked."""
    missing = [s for s in SHAPEFILE_NEEDS if sibling(shp, s) is None]
    if missing:
        raise Refused("boundary_shapefile_parts", missing=", ".join(missing))
    target = directory / "layer.shp"
    shutil.copyfile(shp, target)
    for suffix in (*SHAPEFILE_NEEDS, *SHAPEFILE_OPTIONAL):
        part = sibling(shp, suffix)
        if part is not None:
            shutil.copyfile(part, directory / f"layer{suffix}")
    shx = sibling(shp, ".shx")
    assert shx is not None
    check_shapefile(target, directory / "layer.shx", (shp.name, shx.name))
    return target


def stage_zip_shapefile(path: Path, directory: Path, layer: str | None) -> Path:
    """Extract the Shapefile in a zip (the one named `layer` when it holds several) to
    `directory` as layer.*; the extracted .shp, checked."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            if sum(m.file_size for m in members) > MAX_ZIP_BYTES:
                raise Refused("boundary_zip_too_large")
            names = [m.filename for m in members]
            shapefiles = [n for n in names if n.lower().endswith(".shp") and "__MACOSX" not in n]
            if layer:
                shapefiles = [n for n in shapefiles if Path(n).stem == layer] or shapefiles
            if not shapefiles:
                raise Refused("boundary_zip_no_shapefile")
            if len(shapefiles) > 1:
                layers = ", ".join(Path(n).stem for n in shapefiles[:20])
                raise Refused("boundary_choose_layer", layers=layers)
            inner = shapefiles[0]
            by_name: dict[str, zipfile.ZipInfo] = {}
            for member in members:  # the first of names differing only in case
                by_name.setdefault(member.filename.lower(), member)
            missing = [s for s in SHAPEFILE_NEEDS if inner[:-4].lower() + s not in by_name]
            if missing:
                raise Refused("boundary_shapefile_parts", missing=", ".join(missing))
            parts = {".shp": by_name[inner.lower()]}
            for suffix in (*SHAPEFILE_NEEDS, *SHAPEFILE_OPTIONAL):
                companion = by_name.get(inner[:-4].lower() + suffix)
                if companion is not None:
                    parts[suffix] = companion
            for suffix, member in parts.items():
                # The name is ours; the size was counted above and zipfile stops at it.
                with (
                    archive.open(member) as source,
                    (directory / f"layer{suffix}").open("wb") as target,
                ):
                    shutil.copyfileobj(source, target, 1024 * 1024)
    except zipfile.BadZipFile as exc:
        raise Refused("boundary_bad_zip") from exc
    except NotImplementedError as exc:  # a compression method or encryption zipfile lacks
        raise Refused("boundary_zip_unsupported") from exc
    except (zipfile.LargeZipFile, OSError) as exc:
        raise Refused("boundary_unreadable", reason=str(exc)[:200]) from exc
    shp = directory / "layer.shp"
    check_shapefile(shp, directory / "layer.shx", (inner, parts[".shx"].filename))
    return shp


# --- GeoPackage --------------------------------------------------------------------------------


def _plain_table(sql: str | None) -> bool:
    return bool(sql) and " ".join(str(sql).split()).upper().startswith("CREATE TABLE")


def _rtree(sql: str | None) -> bool:
    text = " ".join(str(sql or "").split()).upper()
    return text.startswith("CREATE VIRTUAL TABLE") and " USING RTREE(" in text.replace(
        "USING RTREE (", "USING RTREE("
    )


def check_geopackage(path: Path) -> None:
    """A GeoPackage whose layers are plain tables, checked with Python's sqlite3 read-only
    (GDAL would run a view's query, which need not end), or Refused."""
    if not _head(path, len(GPKG_MAGIC)) == GPKG_MAGIC:
        raise Refused("boundary_not_format", format="GPKG")
    steps = 0

    def budget() -> int:
        nonlocal steps
        steps += SQLITE_STEPS_EVERY
        return 1 if steps > SQLITE_STEPS else 0  # non-zero interrupts the statement

    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=0)
    except sqlite3.Error as exc:
        raise Refused("boundary_gpkg_damaged", reason=str(exc)[:200]) from exc
    try:
        connection.set_progress_handler(budget, SQLITE_STEPS_EVERY)
        connection.execute("PRAGMA query_only = ON")
        connection.execute("PRAGMA trusted_schema = OFF")
        schema = connection.execute(
            "SELECT type, name, sql FROM sqlite_master LIMIT ?", (MAX_GPKG_SCHEMA + 1,)
        ).fetchall()
        application_id = connection.execute("PRAGMA application_id").fetchone()[0]
        if application_id not in GPKG_APPLICATION_IDS:
            raise Refused("boundary_not_format", format="GPKG")
        if len(schema) > MAX_GPKG_SCHEMA:
            raise Refused("boundary_gpkg_too_many_layers", max=MAX_GPKG_LAYERS)
        for kind, name, sql in schema:
            if kind == "view" or (kind == "table" and not (_plain_table(sql) or _rtree(sql))):
                raise Refused("boundary_gpkg_not_table", layer=str(name)[:80])
            if kind == "trigger" and not STANDARD_TRIGGER.match(str(name)):
                raise Refused("boundary_gpkg_trigger", trigger=str(name)[:80])
        if not any(kind == "table" and name == "gpkg_contents" for kind, name, _ in schema):
            raise Refused("boundary_not_format", format="GPKG")
        layers = connection.execute(
            "SELECT count(*) FROM (SELECT 1 FROM gpkg_contents LIMIT ?)", (MAX_GPKG_LAYERS + 1,)
        ).fetchone()[0]
        if layers > MAX_GPKG_LAYERS:
            raise Refused("boundary_gpkg_too_many_layers", max=MAX_GPKG_LAYERS)
    except sqlite3.Error as exc:
        raise Refused("boundary_gpkg_damaged", reason=str(exc)[:200]) from exc
    finally:
        connection.close()


def stage(path: Path, driver: str, directory: Path, layer: str | None) -> tuple[str, str]:
    """Copy (or extract) an upload to `directory`, check its content, and return what GDAL
    opens (limited to `driver` where GDAL allows it) and that driver; or Refused."""
    if driver == "zip":
        return gdal_path(stage_zip_shapefile(path, directory, layer)), "ESRI Shapefile"
    if driver == "ESRI Shapefile":
        return gdal_path(stage_shapefile(path, directory)), driver
    if driver == "GeoJSON":
        target = directory / "layer.geojson"
        shutil.copyfile(path, target)
        check_geojson(target)
        return f"GeoJSON:{gdal_path(target)}", driver
    target = directory / "layer.gpkg"
    shutil.copyfile(path, target)
    check_geopackage(target)
    return f"GPKG:{gdal_path(target)}", driver
