"""The direct point shapefile writer (app/geo/shapefile.py) against GDAL's own shapefile
writer on the same rows: GDAL reads both back the same (attributes, NULLs, points, CRS), and
the main headers, .shx, .prj and .cpg are the same bytes. Integer fields are as narrow as
their values (GDAL's RESIZE=YES), so GDAL may read them as 32-bit integers."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import pyogrio
import pytest
from pandas.testing import assert_frame_equal

from app.geo.export_writers import Column, CsvLayer, shapefile_names, write_shapefile
from app.geo.shapefile import PointRows, add_shapefile

COLUMNS = (
    Column("id", "text"),
    Column("household_size", "int"),
    Column("gps_accuracy_m", "float"),
    Column("needs_notes", "text"),
    Column("priority_needs_water", "int"),
    Column("priority_needs_lane", "int"),
)
LONG = "Nhà ngập " + "ộ" * 120  # 250 characters, 369 bytes: cut at 254 bytes
ROWS: list[tuple[object, ...]] = [
    (108.474123, 15.571234, "a1", 5, 3.5, "Phường Hòa Thuận Đông: nhà ngập", 1, 0),
    (108.5, 15.25, "a2", None, None, None, None, None),
    (-1.0, 2.0, "a3", -3, 1e20, "", 0, 1),
    (None, None, "a4", 2**62, 0.1, "=cmd|' /C calc'!A0\nline two, \"quoted\"", 1, 1),
    (105.123456789012, 21.0000001, "a5", 0, -1e-7, LONG, 0, 0),
    (106.0, 10.5, None, 123456, 123456789.123456789, "</script>{{7*7}} 🏠 e\u0301", 1, 0),
]


def _csv_field(value: object, kind: str) -> str:
    """A field as PostgreSQL's COPY (FORMAT csv) writes it: NULL empty, text quoted."""
    if value is None:
        return ""
    if kind == "text":
        return '"' + str(value).replace('"', '""') + '"'
    return repr(value) if isinstance(value, float) else str(value)


def _point_wkb(lon: object, lat: object) -> str:
    if lon is None:
        return ""
    return struct.pack("<BIdd", 1, 1, lon, lat).hex()


def _write_csvs(folder: Path, rows: list[tuple[object, ...]]) -> tuple[Path, Path, Path]:
    """The same rows as the direct writer reads them (lon, lat first), as GDAL's path
    does (hexadecimal WKB first), and without a place."""
    kinds = [c.type for c in COLUMNS]
    direct, gdal, plain = folder / "direct.csv", folder / "gdal.csv", folder / "plain.csv"
    with (
        direct.open("w", encoding="utf-8", newline="") as a,
        gdal.open("w", encoding="utf-8", newline="") as b,
        plain.open("w", encoding="utf-8", newline="") as c,
    ):
        for lon, lat, *values in rows:
            fields = [_csv_field(v, k) for v, k in zip(values, kinds, strict=True)]
            a.write(",".join([_csv_field(lon, "float"), _csv_field(lat, "float"), *fields]))
            a.write("\n")
            b.write(",".join([_point_wkb(lon, lat), *fields]) + "\n")
            c.write(",".join(fields) + "\n")
    return direct, gdal, plain


def _both(
    tmp_path: Path, rows: list[tuple[object, ...]], located: bool = True
) -> tuple[Path, Path]:
    direct_csv, gdal_csv, plain_csv = _write_csvs(tmp_path, rows)
    ours = tmp_path / "ours.zip"
    names = shapefile_names([c.name for c in COLUMNS])
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with zipfile.ZipFile(ours, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        add_shapefile(
            archive,
            PointRows(direct_csv if located else plain_csv, COLUMNS, located),
            "households",
            names,
            scratch,
        )
    theirs = tmp_path / "gdal"
    theirs.mkdir()
    if located:
        write_shapefile(CsvLayer(gdal_csv, COLUMNS, "Point"), theirs / "households.shp")
    else:
        write_shapefile(CsvLayer(plain_csv, COLUMNS, None), theirs / "households.shp")
    return ours, theirs


def test_gdal_reads_the_direct_writer_as_its_own(tmp_path: Path) -> None:
    ours, theirs = _both(tmp_path, ROWS)
    mine = pyogrio.read_dataframe(f"/vsizip/{ours}/households.shp")
    gdal = pyogrio.read_dataframe(theirs / "households.shp")
    assert list(mine.columns) == list(gdal.columns)
    assert_frame_equal(
        mine.drop(columns="geometry"), gdal.drop(columns="geometry"), check_dtype=False
    )
    assert [g is None for g in mine.geometry] == [False, False, False, True, False, False]
    assert [None if g is None else (g.x, g.y) for g in mine.geometry] == [
        None if g is None else (g.x, g.y) for g in gdal.geometry
    ]
    assert mine["needs_note"][0] == "Phường Hòa Thuận Đông: nhà ngập"
    assert len(mine["needs_note"][4].encode()) <= 254 < len(LONG.encode())
    info, gdal_info = (
        pyogrio.read_info(f"/vsizip/{ours}/households.shp"),
        pyogrio.read_info(theirs / "households.shp"),
    )
    assert info["crs"] == gdal_info["crs"] == "EPSG:4326"
    kinds = {"int32": "int", "int64": "int", "float64": "float", "object": "text"}
    assert [kinds[t] for t in info["dtypes"]] == [kinds[t] for t in gdal_info["dtypes"]]
    assert info["total_bounds"] == gdal_info["total_bounds"]
    with zipfile.ZipFile(ours) as archive:
        for part in ("prj", "cpg", "shx"):
            assert (
                archive.read(f"households.{part}") == (theirs / f"households.{part}").read_bytes()
            )
        shp = archive.read("households.shp")
        dbf = archive.read("households.dbf")
    assert shp == (theirs / "households.shp").read_bytes()
    gdal_dbf = (theirs / "households.dbf").read_bytes()
    assert dbf[4:8] == gdal_dbf[4:8]  # the record count
    fields = [dbf[32 + 32 * i : 64 + 32 * i] for i in range(len(COLUMNS))]
    gdal_fields = [gdal_dbf[32 + 32 * i : 64 + 32 * i] for i in range(len(COLUMNS))]
    for column, field, gdal_field in zip(COLUMNS, fields, gdal_fields, strict=True):
        assert field[:12] == gdal_field[:12]  # name and type
        if column.type == "text" or column.type == "float":
            assert field[16:18] == gdal_field[16:18]  # width and decimals
    # integers as wide as their widest value: 2**62 is 19 digits, the 0/1 columns 1
    assert [f[16] for f, c in zip(fields, COLUMNS, strict=True) if c.type == "int"] == [19, 1, 1]


@pytest.mark.parametrize("rows", [[], ROWS[1:2]])
def test_empty_and_all_null_layers(tmp_path: Path, rows: list[tuple[object, ...]]) -> None:
    ours, theirs = _both(tmp_path, rows)
    mine = pyogrio.read_dataframe(f"/vsizip/{ours}/households.shp")
    gdal = pyogrio.read_dataframe(theirs / "households.shp")
    assert len(mine) == len(gdal) == len(rows)
    assert_frame_equal(
        mine.drop(columns="geometry"), gdal.drop(columns="geometry"), check_dtype=False
    )


def test_a_table_without_geometry_is_a_lone_dbf(tmp_path: Path) -> None:
    ours, theirs = _both(tmp_path, ROWS, located=False)
    with zipfile.ZipFile(ours) as archive:
        assert sorted(archive.namelist()) == ["households.cpg", "households.dbf"]
    mine = pyogrio.read_dataframe(f"/vsizip/{ours}/households.dbf")
    gdal = pyogrio.read_dataframe(theirs / "households.dbf")
    assert_frame_equal(mine, gdal, check_dtype=False)
    assert len(mine) == len(ROWS)
