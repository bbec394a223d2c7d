"""Point shapefiles (.shp .shx .dbf .prj .cpg) and lone .dbf tables written directly into a zip.

Why not GDAL's shapefile writer, as for the area layers: for 100,000 households it took
1.3 s and the zip of its 70 MB of files another 0.3 s, more than ogr2ogr's whole export
(the target is half of it). A point record is fixed (28 bytes in the .shp, 8 in the .shx)
and a .dbf record is fixed-width text, so numpy writes the geometry records and Arrow's
C++ kernels pad and join each .dbf record, a batch at a time, straight into the zip entry;
Python makes no object per value. What GDAL writes is matched byte for byte where readers
look: the headers, `N` fields 24 wide with 15 decimals for reals (a real is written as its
shortest text, which reads back as the same number; GDAL writes `%24.15f`), NULL numbers as
asterisks, NULL text as spaces, text cut at 254 bytes on a character boundary, the same .prj
and a .cpg saying UTF-8. Integer and text fields are as wide as their widest value, as GDAL's
RESIZE=YES makes them (its default of 18 bytes per integer, most of them 0/1 columns, made
a third of a household's .dbf record padding). Tests compare GDAL's reading of
both writers' files (tests/unit/test_shapefile.py). The one rule: the CSV's columns are
those PostgreSQL wrote for `PointRows` (lon and lat first when located, no header).
"""

from __future__ import annotations

import datetime
import struct
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.geo.export_writers import DBF_TEXT_BYTES, Column

# What GDAL writes for EPSG:4326 (ESRI WKT) and for the UTF-8 encoding of the .dbf.
PRJ_WGS84 = (
    'GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],'
    'PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]'
)
CPG_UTF8 = "UTF-8"
REAL_WIDTH, REAL_DECIMALS = 24, 15  # GDAL's width of a Real field
SHAPE_POINT, SHAPE_NULL = 1, 0
_POINT_RECORD = np.dtype(
    [("number", ">i4"), ("length", ">i4"), ("type", "<i4"), ("lon", "<f8"), ("lat", "<f8")]
)
_INDEX_RECORD = np.dtype([("offset", ">i4"), ("length", ">i4")])
_POINT_WORDS, _NULL_WORDS = 10, 2  # content lengths in 16-bit words
_HEADER_WORDS = 50
_ARROW_TYPES = {"int": "int64", "float": "float64", "text": "string"}
# Rows parsed at once (about 1,500 households): Arrow's per-call cost stays small beside the
# work, and memory holds a few blocks whatever the layer's size.
BLOCK_BYTES = 1 << 19


@dataclass(frozen=True)
class PointRows:
    """Rows as PostgreSQL's COPY wrote them in CSV (no header): with `located`, the point's
    lon and lat first (empty when it has none), then one field per column (an unquoted empty
    field is NULL)."""

    path: Path
    columns: tuple[Column, ...]
    located: bool


def _batches(rows: PointRows) -> Iterator[Any]:
    """Arrow record batches of the CSV, a block at a time (nothing when it is empty)."""
    import pyarrow as pa
    from pyarrow import csv as arrow_csv

    if rows.path.stat().st_size == 0:
        return
    names = (["lon", "lat"] if rows.located else []) + [f"c{i}" for i in range(len(rows.columns))]
    types = {f"c{i}": getattr(pa, _ARROW_TYPES[c.type])() for i, c in enumerate(rows.columns)}
    if rows.located:
        types["lon"] = types["lat"] = pa.float64()
    reader = arrow_csv.open_csv(
        rows.path,
        read_options=arrow_csv.ReadOptions(
            column_names=names, block_size=BLOCK_BYTES, use_threads=False
        ),
        parse_options=arrow_csv.ParseOptions(newlines_in_values=True),
        convert_options=arrow_csv.ConvertOptions(
            column_types=types,
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            null_values=[""],
        ),
    )
    yield from reader


@dataclass
class _Layout:
    """What the first pass learns: rows, each field's width, the points' extent."""

    rows: int
    widths: list[int]
    bounds: tuple[float, float, float, float] | None


def _first_pass(rows: PointRows, shp: Any, shx: Any, parsed: Path) -> _Layout:
    """Write the geometry records (.shp, .shx after their 100-byte headers) and measure the
    .dbf fields: text as wide as its longest value in bytes (1 to 254), integers as their
    longest, reals 24 (GDAL's width, which every real's shortest text fits). The parsed
    batches go to `parsed` (Arrow's IPC stream: read back by copying, where parsing the CSV
    again took a fifth of the writer's time)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    widths = [REAL_WIDTH if c.type == "float" else 1 for c in rows.columns]
    offset = 2 if rows.located else 0
    count = 0
    next_word = _HEADER_WORDS  # where the next .shp record starts, in 16-bit words
    low = np.array([np.inf, np.inf])
    high = np.array([-np.inf, -np.inf])
    spill = None
    for batch in _batches(rows):
        if spill is None:
            spill = pa.ipc.new_stream(str(parsed), batch.schema)
        spill.write_batch(batch)
        size = batch.num_rows
        for index, column in enumerate(rows.columns):
            values = batch.column(index + offset)
            if column.type == "text":
                longest = pc.max(pc.binary_length(values)).as_py() or 1
                widths[index] = max(widths[index], min(longest, DBF_TEXT_BYTES))
            elif column.type == "int":
                extremes = pc.min_max(values)
                for end in ("min", "max"):
                    value = extremes[end].as_py()
                    if value is not None:
                        widths[index] = max(widths[index], len(str(value)))
        if rows.located:
            next_word = _point_records(batch, count, next_word, shp, shx, low, high)
        count += size
    if spill is not None:
        spill.close()
    bounds = None
    if rows.located and np.isfinite(low).all():
        bounds = (float(low[0]), float(low[1]), float(high[0]), float(high[1]))
    return _Layout(count, widths, bounds)


def _point_records(
    batch: Any, first: int, next_word: int, shp: Any, shx: Any, low: Any, high: Any
) -> int:
    """One batch's .shp and .shx records (a point, or a null shape where there is none);
    the word where the next record starts. Widens the extent (`low`, `high`) in place."""
    size = batch.num_rows
    lon = batch.column(0).to_numpy(zero_copy_only=False)
    lat = batch.column(1).to_numpy(zero_copy_only=False)
    located = ~(np.isnan(lon) | np.isnan(lat))
    records = np.zeros(size, _POINT_RECORD)
    records["number"] = np.arange(first + 1, first + size + 1)
    records["length"] = np.where(located, _POINT_WORDS, _NULL_WORDS)
    records["type"] = np.where(located, SHAPE_POINT, SHAPE_NULL)
    records["lon"] = np.where(located, lon, 0.0)
    records["lat"] = np.where(located, lat, 0.0)
    words = 4 + records["length"].astype(np.int64)  # each record: 8 header bytes + content
    index = np.zeros(size, _INDEX_RECORD)
    index["offset"] = next_word + np.concatenate(([0], np.cumsum(words)[:-1]))
    index["length"] = records["length"]
    if located.all():
        shp.write(records.tobytes())
    else:  # a null shape is its record's first 12 bytes
        keep = np.ones((size, _POINT_RECORD.itemsize), dtype=bool)
        keep[~located, 12:] = False
        shp.write(records.view(np.uint8).reshape(size, -1)[keep].tobytes())
    shx.write(index.tobytes())
    if located.any():
        np.minimum(low, [lon[located].min(), lat[located].min()], out=low)
        np.maximum(high, [lon[located].max(), lat[located].max()], out=high)
    return next_word + int(words.sum())


def _main_header(words: int, bounds: tuple[float, float, float, float] | None) -> bytes:
    """The 100-byte header of a .shp or .shx of `words` 16-bit words in all."""
    extent = bounds or (0.0, 0.0, 0.0, 0.0)
    return struct.pack(">7i", 9994, 0, 0, 0, 0, 0, words) + struct.pack(
        "<2i8d", 1000, SHAPE_POINT, *extent, 0.0, 0.0, 0.0, 0.0
    )


def _dbf_header(
    columns: Sequence[Column], names: Sequence[str], widths: Sequence[int], rows: int
) -> bytes:
    """A dBase III header as GDAL writes it (no language driver id: the .cpg names UTF-8)."""
    today = datetime.datetime.now(datetime.UTC).date()
    length = 32 + 32 * len(columns) + 1
    head = struct.pack(
        "<BBBBIHH20x",
        3,
        today.year - 1900,
        today.month,
        today.day,
        rows,
        length,
        1 + sum(widths),
    )
    fields = b"".join(
        struct.pack(
            "<11sc4xBB14x",
            name.encode("ascii"),
            b"C" if column.type == "text" else b"N",
            width,
            REAL_DECIMALS if column.type == "float" else 0,
        )
        for column, name, width in zip(columns, names, widths, strict=True)
    )
    return head + fields + b"\r"


def _fixed(values: Any, column: Column, width: int) -> Any:
    """A column's values as text exactly `width` bytes each: text cut on a character
    boundary and padded with spaces on the right, numbers on the left, NULL numbers as
    asterisks and NULL text as spaces (as GDAL writes them)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if column.type == "text":
        text = pc.fill_null(values, "") if values.null_count else values
        lengths = pc.binary_length(text)
        if (pc.max(lengths).as_py() or 0) > width:
            cut = [
                None if v is None else v.encode()[:width].decode("utf-8", "ignore")
                for v in text.to_pylist()
            ]
            text = pa.array(cut, pa.string())
            lengths = pc.binary_length(text)
        return pc.binary_join_element_wise(
            text, pc.binary_repeat(" ", pc.subtract(width, lengths)), ""
        )
    number = pc.utf8_lpad(pc.cast(values, pa.string()), width=width, padding=" ")
    return pc.fill_null(number, "*" * width) if values.null_count else number


def _dbf_records(batch: Any, rows: PointRows, widths: Sequence[int]) -> Any:
    """One batch's .dbf records (a space, the deletion flag, then each field) as one
    buffer."""
    import pyarrow.compute as pc

    offset = 2 if rows.located else 0
    fields = [
        _fixed(batch.column(index + offset), column, width)
        for index, (column, width) in enumerate(zip(rows.columns, widths, strict=True))
    ]
    records = pc.binary_join_element_wise(" ", *fields, "")
    offsets = np.frombuffer(records.buffers()[1], np.int32)
    first, last = offsets[records.offset], offsets[records.offset + len(records)]
    return memoryview(records.buffers()[2])[first:last]


def add_shapefile(
    archive: zipfile.ZipFile, rows: PointRows, name: str, names: Sequence[str], scratch: Path
) -> None:
    """`name`.dbf and .cpg, and .shp/.shx/.prj when `rows` are located, into the zip,
    the fields named `names` (dBase names, ASCII); `scratch` is a folder for the geometry
    files while the .dbf is measured."""
    import pyarrow as pa

    shp_path, shx_path = scratch / f"{name}.shp", scratch / f"{name}.shx"
    parsed = scratch / f"{name}.arrows"
    with shp_path.open("wb") as shp, shx_path.open("wb") as shx:
        shp.write(bytes(100))
        shx.write(bytes(100))
        layout = _first_pass(rows, shp, shx, parsed)
        if rows.located:
            shp_words, shx_words = shp.tell() // 2, shx.tell() // 2
            shp.seek(0)
            shp.write(_main_header(shp_words, layout.bounds))
            shx.seek(0)
            shx.write(_main_header(shx_words, layout.bounds))
    with archive.open(f"{name}.dbf", "w", force_zip64=True) as dbf:
        dbf.write(_dbf_header(rows.columns, names, layout.widths, layout.rows))
        if parsed.exists():
            with pa.OSFile(str(parsed)) as source:
                for batch in pa.ipc.open_stream(source):
                    dbf.write(_dbf_records(batch, rows, layout.widths))
        dbf.write(b"\x1a")
    archive.writestr(f"{name}.cpg", CPG_UTF8)
    if rows.located:
        archive.writestr(f"{name}.prj", PRJ_WGS84)
        archive.write(shp_path, shp_path.name)
        archive.write(shx_path, shx_path.name)
    for path in (shp_path, shx_path, parsed):
        path.unlink(missing_ok=True)
