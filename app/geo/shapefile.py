"""Point shapefiles (.shp .shx .dbf .prj .cpg) and lone .dbf tables written directly into a zip.

Why not GDAL's shapefile writer, as for the area layers: for 100,000 households it took
1.3 s and the zip of its 70 MB of files another 0.3 s, more than ogr2ogr's whole export
(the target is half of it). A point record is fixed (28 bytes in the .shp, 8 in the .shx)
and a .dbf record is fixed-width text, so numpy writes the geometry records and places each
field's bytes, a batch at a time: the first pass (while the COPY still sends rows, when
they are read from a growing file) pads each batch's fields to that batch's widths, the
second only widens them to the layer's, straight into the zip entry; Python makes no object
per value. What GDAL writes is matched byte for byte where readers
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

import contextlib
import datetime
import io
import queue
import struct
import threading
import zipfile
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

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
# .dbf records made ahead of the zip's deflate, in a second thread (about 0.8 MB each).
RECORDS_AHEAD = 4
_Item = TypeVar("_Item")


@dataclass(frozen=True)
class PointRows:
    """Rows as PostgreSQL's COPY wrote them in CSV (no header): with `located`, the point's
    lon and lat first (empty when it has none), then one field per column (an unquoted empty
    field is NULL). `source`, when given, is read instead of `path`: the same rows read
    while they are being written (app/services/growing_file.py)."""

    path: Path
    columns: tuple[Column, ...]
    located: bool
    source: io.BufferedReader | None = None


def _batches(rows: PointRows) -> Iterator[Any]:
    """Arrow record batches of the CSV, a block at a time (nothing when it is empty)."""
    import pyarrow as pa
    from pyarrow import csv as arrow_csv

    if rows.source is not None:
        if not rows.source.peek(1):  # waits for the first bytes, or the end
            return
    elif rows.path.stat().st_size == 0:
        return
    names = (["lon", "lat"] if rows.located else []) + [f"c{i}" for i in range(len(rows.columns))]
    types = {f"c{i}": getattr(pa, _ARROW_TYPES[c.type])() for i, c in enumerate(rows.columns)}
    if rows.located:
        types["lon"] = types["lat"] = pa.float64()
    reader = arrow_csv.open_csv(
        rows.path if rows.source is None else rows.source,
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


def _first_pass(rows: PointRows, shp: Any, shx: Any, fields: Path) -> _Layout:
    """Write the geometry records (.shp, .shx after their 100-byte headers), each batch's
    fields as fixed-width text as wide as that batch needs (`_narrow_fields`, into
    `fields`), and measure the .dbf fields: text as wide as its longest value in bytes (1
    to 254), integers as their longest, reals 24 (GDAL's width, which every real's
    shortest text fits). The second pass only widens each batch's fields to the layer's
    widths: the per-value work runs here, while the COPY is still sending rows."""
    widths = [REAL_WIDTH if c.type == "float" else 1 for c in rows.columns]
    offset = 2 if rows.located else 0
    count = 0
    next_word = _HEADER_WORDS  # where the next .shp record starts, in 16-bit words
    low = np.array([np.inf, np.inf])
    high = np.array([-np.inf, -np.inf])
    with fields.open("wb") as spill:
        for batch in _batches(rows):
            size = batch.num_rows
            if not size:
                continue
            values = [batch.column(index + offset) for index in range(len(rows.columns))]
            batch_widths, block = _narrow_fields(size, values, rows.columns)
            spill.write(np.array([size, *batch_widths], np.int32).tobytes())
            spill.write(block.reshape(-1).data)
            widths = [max(w, b) for w, b in zip(widths, batch_widths, strict=True)]
            if rows.located:
                next_word = _point_records(batch, count, next_word, shp, shx, low, high)
            count += size
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


def _text(values: Any, column: Column) -> tuple[Any, int]:
    """A column's values as text, and its longest value in bytes (0 when there is none):
    text cut at 254 bytes on a character boundary (its longest then 254), NULL text empty;
    numbers as their shortest text, NULL still NULL."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if column.type != "text":
        text = pc.cast(values, pa.string())
        return text, pc.max(pc.binary_length(text)).as_py() or 0
    text = pc.fill_null(values, "") if values.null_count else values
    longest = pc.max(pc.binary_length(text)).as_py() or 0
    if longest > DBF_TEXT_BYTES:
        cut = [v.encode()[:DBF_TEXT_BYTES].decode("utf-8", "ignore") for v in text.to_pylist()]
        return pa.array(cut, pa.string()), DBF_TEXT_BYTES
    return text, longest


def _narrow_fields(
    size: int, values: Sequence[Any], columns: Sequence[Column]
) -> tuple[list[int], Any]:
    """One batch's fields (`size` rows) as fixed-width text as wide as the batch's longest
    value in each column (at least 1): a (rows, sum of widths) array of bytes, text padded
    with spaces on the right, numbers on the left, NULL numbers as asterisks and NULL text
    as spaces (as GDAL writes them); and those widths.

    numpy copies each field's bytes into a block of spaces: where every value fills its
    field, as one strided copy; otherwise each byte to its place (its row's start, plus the
    field's, plus its place in the value). Arrow padding each value and joining each record
    took 0.31-0.38 s for 100,000 households, this 0.17-0.21 s, the same bytes."""
    import pyarrow.compute as pc

    texts = [_text(v, column) for v, column in zip(values, columns, strict=True)]
    widths = [max(longest, 1) for _, longest in texts]
    record_bytes = sum(widths)
    block = np.full((size, record_bytes), ord(" "), np.uint8)
    flat = block.reshape(-1)
    row_starts = np.arange(size, dtype=np.int64) * record_bytes
    start = 0
    for column_values, column, (text, _), width in zip(values, columns, texts, widths, strict=True):
        ends = np.frombuffer(text.buffers()[1], np.int32, size + 1, text.offset * 4)
        ends = ends.astype(np.int64)
        first, last = int(ends[0]), int(ends[-1])
        if last > first:
            data = np.frombuffer(text.buffers()[2], np.uint8, last - first, first)
            if last - first == size * width:  # every value fills its field
                block[:, start : start + width] = data.reshape(size, width)
            else:
                lengths = np.diff(ends)
                value_starts = row_starts + start - (ends[:-1] - first)
                if column.type != "text":  # numbers on the right
                    value_starts += width - lengths
                places = np.arange(last - first, dtype=np.int64)
                flat[places + np.repeat(value_starts, lengths)] = data
        if column.type != "text" and column_values.null_count:
            nulls = pc.is_null(column_values).to_numpy(zero_copy_only=False)
            block[nulls, start : start + width] = ord("*")
        start += width
    return widths, block


def _dbf_records(
    block: Any, columns: Sequence[Column], narrow: Sequence[int], widths: Sequence[int]
) -> Any:
    """One batch's .dbf records (a space, the deletion flag, then each field) as one
    buffer, from its fields as `_narrow_fields` made them (`narrow` wide): each widened to
    the layer's width, with spaces (text on the right, numbers on the left) or, for a NULL
    number, asterisks."""
    size = block.shape[0]
    records = np.full((size, 1 + sum(widths)), ord(" "), np.uint8)
    start, source = 1, 0  # after the deletion flag
    for column, have, width in zip(columns, narrow, widths, strict=True):
        field = block[:, source : source + have]
        if column.type == "text":
            records[:, start : start + have] = field
        else:
            records[:, start + width - have : start + width] = field
            if have < width:
                nulls = field[:, 0] == ord("*")  # no number's text starts with one
                records[nulls, start : start + width - have] = ord("*")
        start, source = start + width, source + have
    return records.reshape(-1).data


def _spilled_records(
    fields: Path, columns: Sequence[Column], widths: Sequence[int]
) -> Iterator[Any]:
    """The .dbf records of each batch the first pass spilled into `fields`."""
    with fields.open("rb") as spill:
        while head := spill.read(4 * (1 + len(columns))):
            size, *narrow = np.frombuffer(head, np.int32).tolist()
            data = spill.read(size * sum(narrow))
            block = np.frombuffer(data, np.uint8).reshape(size, sum(narrow))
            yield _dbf_records(block, columns, narrow, widths)


class _End:
    """What a thread of `_made_ahead` puts last: its items' end, or the error that ended
    them."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


def _made_ahead(items: Iterator[_Item], depth: int) -> Generator[_Item]:
    """`items`, made in a second thread up to `depth` ahead of the caller: the .dbf records
    (numpy) are made while the zip deflates the ones before (zlib), both mostly without
    Python's lock, so they can share two cores once the COPY is over (~0.05 s and ~0.2 s
    for 100,000 households' 49 MB; on the shared machine, whose cores were busy, no
    measurable gain)."""
    made: queue.Queue[_Item | _End] = queue.Queue(depth)
    stop = threading.Event()

    def make() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                made.put(item)
        except BaseException as error:  # given to the caller, who raises it
            made.put(_End(error))
        else:
            made.put(_End())

    thread = threading.Thread(target=make, name="dbf-records", daemon=True)
    thread.start()
    try:
        while not isinstance(item := made.get(), _End):
            yield item
        if item.error is not None:
            raise item.error
    finally:
        stop.set()
        while thread.is_alive():  # unblock its put() if the caller stopped early
            with contextlib.suppress(queue.Empty):
                made.get_nowait()
            thread.join(0.01)


def add_shapefile(
    archive: zipfile.ZipFile, rows: PointRows, name: str, names: Sequence[str], scratch: Path
) -> None:
    """`name`.dbf and .cpg, and .shp/.shx/.prj when `rows` are located, into the zip,
    the fields named `names` (dBase names, ASCII); `scratch` is a folder for the geometry
    files while the .dbf is measured."""
    shp_path, shx_path = scratch / f"{name}.shp", scratch / f"{name}.shx"
    fields = scratch / f"{name}.fields"
    with shp_path.open("wb") as shp, shx_path.open("wb") as shx:
        shp.write(bytes(100))
        shx.write(bytes(100))
        layout = _first_pass(rows, shp, shx, fields)
        if rows.located:
            shp_words, shx_words = shp.tell() // 2, shx.tell() // 2
            shp.seek(0)
            shp.write(_main_header(shp_words, layout.bounds))
            shx.seek(0)
            shx.write(_main_header(shx_words, layout.bounds))
    with archive.open(f"{name}.dbf", "w", force_zip64=True) as dbf:
        dbf.write(_dbf_header(rows.columns, names, layout.widths, layout.rows))
        made = _spilled_records(fields, rows.columns, layout.widths)
        with contextlib.closing(_made_ahead(made, RECORDS_AHEAD)) as records:
            for buffer in records:
                dbf.write(buffer)
        dbf.write(b"\x1a")
    archive.writestr(f"{name}.cpg", CPG_UTF8)
    if rows.located:
        archive.writestr(f"{name}.prj", PRJ_WGS84)
        archive.write(shp_path, shp_path.name)
        archive.write(shx_path, shx_path.name)
    for path in (shp_path, shx_path, fields):
        path.unlink(missing_ok=True)
