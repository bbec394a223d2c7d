"""The text of a Shapefile's table (.dbf) as cities send it: UTF-8 or Windows-1258 (the
Vietnamese Windows code page of cadastral files), with or without a .cpg naming it.

GDAL reads a .dbf without .cpg as ISO-8859-1: 'Phường' was stored as 'PhÆ°á»\\x9dng' without a
word. And the iconv bundled with pyogrio drops the last letter of every Windows-1258 value
and column name ('Phường Tân A' became 'Phường Tân ', the column ma_phuong ma_phuon). Each
table here is written byte by byte, so that what is read is exactly what a city sends.
Also: pyogrio's own warnings (M geometries, a column that is not JSON) became text on the
command line's stderr rather than a note of the import (found by review).
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import unicodedata
import warnings
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box

from app.errors import InvalidInput
from app.geo.boundary_files import LayerOptions, read_layer

# Every Vietnamese vowel with every tone mark (none, huyền, sắc, hỏi, ngã, nặng), then đ.
VOWELS = "aăâeêioôơuưy"
TONES = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")
EVERY_LETTER = unicodedata.normalize("NFC", "".join(v + t for v in VOWELS for t in TONES)) + "đ"
NAMES = [
    "Phường Xuân Khánh",
    "Tổ dân phố Đồng Nguyễn Ỷ",
    "Phường Tân A",  # ends on a letter without a mark: the one iconv lost
    "Khu vực Hòa Mỹ Lợi Ấp Ổ",
    EVERY_LETTER,
    EVERY_LETTER.upper(),
]
# Column names: ASCII (ma_phuong lost its g), and Vietnamese ones (mã, tên).
COLUMNS = ("mã", "tên", "ma_phuong")


def cp1258(text: str) -> bytes:
    """Text as Windows writes it in code page 1258: a letter the code page has, else its
    base letter (with its circumflex, breve or horn, which the code page has) and then the
    tone mark as a combining character."""
    out = b""
    for letter in unicodedata.normalize("NFC", text):
        try:
            out += letter.encode("cp1258")
        except UnicodeEncodeError:
            marks = unicodedata.normalize("NFD", letter)
            tones = "".join(m for m in marks if m in TONES[1:])
            base = unicodedata.normalize("NFC", "".join(m for m in marks if m not in tones))
            out += base.encode("cp1258") + tones.encode("cp1258")
    return out


def write_dbf(
    path: Path, columns: list[tuple[bytes, int]], rows: list[list[bytes]], ldid: int
) -> None:
    """A dBASE III table of text columns, byte for byte; `ldid` is the language driver byte."""
    header_size = 32 + 32 * len(columns) + 1
    record_size = 1 + sum(width for _, width in columns)
    header = bytearray(
        struct.pack("<BBBBIHH20x", 3, 126, 1, 1, len(rows), header_size, record_size)
    )
    header[29] = ldid
    for name, width in columns:
        header += struct.pack("<11sc4xBB14x", name, b"C", width, 0)
    header += b"\r"
    for row in rows:
        assert all(len(value) <= width for value, (_, width) in zip(row, columns, strict=True))
        header += b" " + b"".join(v.ljust(w) for v, (_, w) in zip(row, columns, strict=True))
    path.write_bytes(bytes(header + b"\x1a"))


def shapefile(
    directory: Path,
    encode: Callable[[str], bytes],
    *,
    cpg: str | None = None,
    ldid: int = 0,
    names: list[str] = NAMES,
    columns: tuple[str, ...] = COLUMNS,
) -> Path:
    """A Shapefile of one square a name (near Tam Kỳ, in EPSG:4326), its table (`columns`:
    code, name, another) written with `encode`, with a .cpg holding `cpg` when given."""
    directory.mkdir(parents=True, exist_ok=True)
    squares = [box(108.40 + i / 100, 15.20, 108.405 + i / 100, 15.205) for i in range(len(names))]
    gpd.GeoDataFrame({"i": range(len(names))}, geometry=squares, crs=4326).to_file(
        directory / "wards.shp", engine="pyogrio"
    )
    (directory / "wards.cpg").unlink(missing_ok=True)
    fields = [(encode(c), 254 if c == columns[1] else 20) for c in columns]
    rows = [[encode(f"P{i}"), encode(name), encode(f"p{i}")] for i, name in enumerate(names)]
    write_dbf(directory / "wards.dbf", fields, rows, ldid)
    if cpg is not None:
        (directory / "wards.cpg").write_text(cpg)
    return directory / "wards.shp"


def utf8(text: str) -> bytes:
    return text.encode("utf-8")


OPTIONS = LayerOptions(code_field="mã", name_field="tên")


def read(path: Path) -> tuple[list[str], list[str], list[str]]:
    """(names, columns, warning codes) of a ward layer read with OPTIONS."""
    layer = read_layer(path, "wards", OPTIONS)
    columns = sorted(layer.features[0].properties)
    return [f.name for f in layer.features], columns, [w.code for w in layer.warnings]


def test_the_cp1258_writer_of_these_tests_is_what_windows_writes() -> None:
    assert cp1258("Phường") == b"Ph\xfd\xf5\xccng"  # ư, ơ and the grave as a combining mark
    for name in NAMES:
        assert unicodedata.normalize("NFC", cp1258(name).decode("cp1258")) == name


@pytest.mark.parametrize("cpg", ["1258", "CP1258", "ANSI 1258\n"])
def test_a_cp1258_shapefile_with_its_cpg_keeps_every_letter(tmp_path: Path, cpg: str) -> None:
    names, columns, codes = read(shapefile(tmp_path, cp1258, cpg=cpg))
    assert names == NAMES
    assert all(unicodedata.is_normalized("NFC", name) for name in names)
    assert columns == sorted(COLUMNS)
    assert codes == []  # the .cpg said it


def test_a_utf8_shapefile_without_cpg_is_read_as_utf8_and_said(tmp_path: Path) -> None:
    layer = read_layer(shapefile(tmp_path, utf8), "wards", OPTIONS)
    assert [f.name for f in layer.features] == NAMES
    assert sorted(layer.features[0].properties) == sorted(COLUMNS)
    (warning,) = layer.warnings
    assert warning.code == "boundary_text_read_as_utf8"
    assert "'wards.shp'" in warning.message("en") and "UTF-8" in warning.message("en")
    assert "'wards.shp'" in warning.message("vi")


def test_a_cp1258_shapefile_without_cpg_is_read_as_cp1258_and_said(tmp_path: Path) -> None:
    layer = read_layer(shapefile(tmp_path, cp1258), "wards", OPTIONS)
    assert [f.name for f in layer.features] == NAMES
    assert sorted(layer.features[0].properties) == sorted(COLUMNS)
    (warning,) = layer.warnings
    assert warning.code == "boundary_text_read_as_cp1258"
    english = warning.message("en")
    assert "'wards.shp'" in english and "Windows-1258" in english and ".cpg" in english
    assert "TCVN3" in warning.message("vi")


def test_a_dbf_whose_language_byte_is_the_default_ansi_is_detected_too(tmp_path: Path) -> None:
    """0x57 ("ANSI") is what GDAL writes by default: it names no code page."""
    names, _, codes = read(shapefile(tmp_path, cp1258, ldid=0x57))
    assert names == NAMES and codes == ["boundary_text_read_as_cp1258"]


def test_a_dbf_whose_language_byte_names_its_code_page_is_read_in_it(tmp_path: Path) -> None:
    def cp1252(text: str) -> bytes:
        return text.encode("cp1252")

    path = shapefile(tmp_path, cp1252, ldid=0x03, names=["Café", "Crème"])
    layer = read_layer(path, "wards", LayerOptions(code_field="mã", name_field="tên"))
    assert [f.name for f in layer.features] == ["Café", "Crème"]
    assert layer.warnings == ()


def test_an_ascii_shapefile_without_cpg_needs_no_word(tmp_path: Path) -> None:
    columns = ("code", "name", "ma_phuong")
    path = shapefile(tmp_path, utf8, names=["Phuong Mot", "Phuong Hai"], columns=columns)
    layer = read_layer(path, "wards")
    assert [(f.code, f.name) for f in layer.features] == [
        ("P0", "Phuong Mot"),
        ("P1", "Phuong Hai"),
    ]
    assert layer.warnings == ()


def test_text_in_neither_encoding_without_cpg_is_refused(tmp_path: Path) -> None:
    def undefined(text: str) -> bytes:  # 0x81 and 0x8d: not UTF-8, not Windows-1258
        return text.encode("ascii", "ignore") + (b"\x81\x8d" if text.startswith("P") else b"")

    with pytest.raises(InvalidInput) as refused:
        read_layer(shapefile(tmp_path, undefined), "wards", LayerOptions())
    (problem,) = refused.value.problems
    assert problem.code == "boundary_text_encoding_unknown"
    assert "'wards.shp'" in problem.message("en") and ".cpg" in problem.message("en")


def test_a_zipped_cp1258_shapefile_with_its_cpg_keeps_every_letter(tmp_path: Path) -> None:
    shp = shapefile(tmp_path / "parts", cp1258, cpg="1258")
    archive = shutil.make_archive(str(tmp_path / "phuong"), "zip", shp.parent)
    names, columns, codes = read(Path(archive))
    assert (names, columns, codes) == (NAMES, sorted(COLUMNS), [])


# --- pyogrio's warnings -----------------------------------------------------------------


def test_measured_geometries_are_read_without_a_warning_on_stderr(tmp_path: Path) -> None:
    plain = shapefile(tmp_path / "plain", cp1258, cpg="1258")
    measured = tmp_path / "measured.shp"
    subprocess.run(
        ["ogr2ogr", "-f", "ESRI Shapefile", str(measured), str(plain), "-dim", "XYM"],
        check=True,
        capture_output=True,
    )
    for part in (".dbf", ".cpg"):  # the table as written (ogr2ogr lost letters of it too)
        shutil.copyfile(plain.with_suffix(part), measured.with_suffix(part))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # printed raw by the command line
        layer = read_layer(measured, "wards", OPTIONS)
    assert [f.name for f in layer.features] == NAMES
    assert layer.warnings == ()  # the measures are dropped, as the import always did


def test_a_column_that_is_not_json_in_every_row_is_a_warning_of_the_import(
    tmp_path: Path,
) -> None:
    path = tmp_path / "wards.geojson"
    ring = "[[108.0,15.0],[108.01,15.0],[108.01,15.01],[108.0,15.01],[108.0,15.0]]"
    features = [
        f'{{"type":"Feature","properties":{{"code":"W{i}","name":"Phường","ghi_chu":{note}}},'
        f'"geometry":{{"type":"Polygon","coordinates":[{ring}]}}}}'
        for i, note in enumerate(['{"a": 1}', '"chữ"'])
    ]
    path.write_text('{"type":"FeatureCollection","features":[' + ",".join(features) + "]}")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layer = read_layer(path, "wards")
    (warning,) = layer.warnings
    assert warning.code == "boundary_column_kept_as_text"
    assert "ghi_chu" in warning.message("en") and "ghi_chu" in warning.message("vi")
    assert layer.features[1].properties["ghi_chu"] == "chữ"
