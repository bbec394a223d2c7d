"""Use case: a layer as a file (GeoJSON, GeoPackage, CSV, XLSX, KML, zipped Shapefile), and
every layer of a city in one styled GeoPackage.

GeoJSON, CSV and KML stream: PostgreSQL writes each row (COPY), Python only passes chunks on.
GeoPackage, Shapefile and XLSX are built in a temporary directory, then sent: PostgreSQL
copies the rows out into a file (CSV for GDAL, the sheet's XML for XLSX; one export slot held
while it does), then a worker thread writes the file from it (app/geo/export_writers.py), so
the event loop never waits on a writer and memory holds one block whatever the layer's size.
A point Shapefile's writer reads the rows while PostgreSQL still writes them
(app/services/growing_file.py).
At most `FileBuilds` files are built at once; the next request waits, then gets 503, like the
GeoJSON exports.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import shutil
import tempfile
import zipfile
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.exports import (
    CSV_FILE,
    CSV_ROWS,
    JSON_ROWS,
    Consecutive,
    CopyStream,
    ExportSlots,
    FieldType,
    Property,
    copy_ordered,
    feature_sql,
    rows_sql,
)
from app.db.indicators import HOUSEHOLD_FORM
from app.db.sql import concat_sql, sql_literal
from app.errors import NotFound
from app.forms.registry import FormRegistry
from app.services import places
from app.services.access import Principal
from app.services.export_cdf_layers import by_shape, readable_cdf_layers
from app.services.export_layers import (
    ExportFilters,
    LayerQuery,
    RelatedTable,
    area_layer,
    survey_layer,
)
from app.services.exports import CHUNK_BYTES, FIXED_LAYERS, Layer, _in_thread
from app.services.growing_file import copy_while_reading
from app.services.spreadsheet import FORMULA_STARTS

# Longest first: "shp.zip" before "zip" would ever match.
FORMATS = ("shp.zip", "geojson", "gpkg", "csv", "xlsx", "kml")
MEDIA_TYPES = {
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "kml": "application/vnd.google-earth.kml+xml",
    "shp.zip": "application/zip",
}
BOM = "\ufeff".encode()  # Excel reads a CSV as UTF-8 only after this mark
# A text cell starting like a formula gets a leading apostrophe (app/services/spreadsheet.py),
# written by PostgreSQL for the CSV it copies out.
_FORMULA_CLASS = "".join({"\t": "\\t", "\r": "\\r", "-": "\\-"}.get(c, c) for c in FORMULA_STARTS)
FORMULA_SAFE_SQL = f"regexp_replace(({{}}), '^([{_FORMULA_CLASS}])', '''\\1')"


def split_format(filename: str) -> tuple[str, str]:
    """(layer, format) of a file name such as `households.shp.zip`; NotFound for a format
    that is not offered."""
    for fmt in FORMATS:
        if filename.endswith("." + fmt) and len(filename) > len(fmt) + 1:
            return filename[: -len(fmt) - 1], fmt
    raise NotFound("unknown_export_format", formats=", ".join(FORMATS))


class FileBuilds(ExportSlots):
    """At most `size` export files built at once (each also holds an export slot while it
    reads the database)."""


@dataclass(frozen=True)
class TempFile:
    """A file built in a temporary directory: iterate for its bytes, then aclose() (which
    deletes the directory), read or not."""

    path: Path
    directory: Path

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        with self.path.open("rb") as package:
            while chunk := package.read(CHUNK_BYTES):
                yield chunk

    async def aclose(self) -> None:
        """Delete the file."""
        shutil.rmtree(self.directory, ignore_errors=True)


@dataclass(frozen=True)
class CsvStream:
    """A CSV copied out of PostgreSQL, after the UTF-8 byte order mark."""

    rows: CopyStream

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        yield BOM
        async for chunk in self.rows:
            yield chunk

    async def aclose(self) -> None:
        """Stop the COPY if it still runs."""
        await self.rows.aclose()


def _alias(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _values(properties: Sequence[Property], spreadsheet: bool = False) -> list[str]:
    """SELECT list of plain values named as the columns (text made formula-safe for CSV)."""
    return [
        (FORMULA_SAFE_SQL.format(p.value_sql) if spreadsheet and p.type == "text" else p.value_sql)
        + f" AS {_alias(p.name)}"
        for p in properties
    ]


def _place_columns(query: LayerQuery) -> list[str]:
    """lon/lat of a point layer, WKT of the others (CSV and XLSX)."""
    geometry = query.geometry
    if query.is_point:
        return [
            f"round(ST_X({geometry})::numeric, 6)::float8 AS lon",
            f"round(ST_Y({geometry})::numeric, 6)::float8 AS lat",
        ]
    return [f"ST_AsText({geometry}, 6) AS wkt"]


def _place_names(query: LayerQuery) -> list[str]:
    return ["lon", "lat"] if query.is_point else ["wkt"]


# XML text of a SQL text value: escaped, without the control characters XML cannot hold, line
# ends as character references (COPY then writes each Placemark on one line, unquoted).
# translate() and the replacements run only on a value in which a regular expression finds
# one of those characters (rare in names and notes): translate() with this set of characters
# was 35 % of PostgreSQL's time writing 100,000 households' KML (0.6 s of CPU for 5 text
# columns), the test alone costs about 3 % of that.
_NOT_XML_SQL = "".join(chr(c) for c in (*range(1, 9), 11, 12, *range(14, 32), 0xFFFE, 0xFFFF))
_XML_SPECIAL_PATTERN = "[&<>\n\r\x01-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]"  # raw characters
# A spreadsheet cell's formula check, before XML_TEXT_SQL drops what XML cannot hold: a
# formula behind such characters ("\x01=HYPERLINK(...)") would start the cell once they are
# gone, so the apostrophe goes after them (found by review).
_NOT_XML_CLASS = "\x01-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff"  # raw characters
_XLSX_FORMULA_PATTERN = sql_literal(f"^([{_NOT_XML_CLASS}]*)([{_FORMULA_CLASS}])")
XLSX_FORMULA_SAFE_SQL = (
    "regexp_replace(({}), "
    + _XLSX_FORMULA_PATTERN.replace("{", "{{").replace("}", "}}")
    + ", "
    + sql_literal("\\1'\\2")
    + ")"
)
XML_TEXT_SQL = (
    "CASE WHEN ({0}) ~ "
    + sql_literal(_XML_SPECIAL_PATTERN)
    + " THEN replace(replace(replace(replace(replace(translate(({0}), "
    + sql_literal(_NOT_XML_SQL)
    + ", ''), '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), E'\\n', '&#10;'), E'\\r', '&#13;') "
    "ELSE ({0}) END"
)


@dataclass(frozen=True)
class TextStream:
    """A document copied out of PostgreSQL row by row, between its head and its tail."""

    head: bytes
    rows: CopyStream | Consecutive
    tail: bytes

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        yield self.head
        async for chunk in self.rows:
            yield chunk
        yield self.tail

    async def aclose(self) -> None:
        """Stop the COPY if it still runs."""
        await self.rows.aclose()


# Rows of one text column whose text holds neither the delimiter nor the quote (XML_TEXT_SQL
# removes them): COPY writes them as they are, one per line.
XML = JSON_ROWS


def _escaped(prop: Property) -> bool:
    """Whether a column's text may hold what XML or a spreadsheet must not take as it is:
    numbers, codes (ids, statuses, choice names) and timestamps never do."""
    return prop.kind == "text" and prop.value is None


def _place_cells(query: LayerQuery) -> list[tuple[str, FieldType, bool]]:
    """lon/lat of a point layer, WKT of the others, as spreadsheet cells."""
    geometry = query.geometry
    if query.is_point:
        return [
            (f"round(ST_X({geometry})::numeric, 6)::float8", "float", False),
            (f"round(ST_Y({geometry})::numeric, 6)::float8", "float", False),
        ]
    return [(f"ST_AsText({geometry}, 6)", "text", False)]


def sheet_rows_sql(cells: Sequence[tuple[str, FieldType, bool]], source: str) -> str:
    """SQL: one XLSX `<row>` per row (from row 2), a cell per value in column order (an
    empty one as `<c/>`): numbers as numbers, text as inline strings, cut at Excel's limit
    and, where it may need it (the third item), escaped and made formula-safe as in CSV.

    Rows and cells carry no reference (`r="B2"`, optional in SpreadsheetML: a reader
    places each after the one before): the references were a third of the sheet's text,
    and numbering the rows took a window over the sorted rows."""
    from app.geo.export_writers import XLSX_CELL_CHARACTERS

    parts = []
    for value, kind, escaped in cells:
        if kind == "text":
            text = f"left(({value})::text, {XLSX_CELL_CHARACTERS})"
            if escaped:
                text = XML_TEXT_SQL.format(XLSX_FORMULA_SAFE_SQL.format(text))
                start = '<c t="inlineStr"><is><t xml:space="preserve">'
            else:  # codes, ids and timestamps: no space to keep, nothing to escape
                start = '<c t="inlineStr"><is><t>'
            parts.append(f"coalesce({sql_literal(start)} || {text} || '</t></is></c>', '<c/>')")
        else:
            parts.append(f"coalesce('<c><v>' || ({value})::text || '</v></c>', '<c/>')")
    return rows_sql([concat_sql(["'<row>'", *parts, "'</row>'"])], source)


def placemark_sql(query: LayerQuery) -> str:
    """SQL: one KML Placemark per row, named by the `name` column (areas) or the survey id,
    each value escaped as XML text, the geometry written by PostGIS (ST_AsKML)."""
    from xml.sax.saxutils import quoteattr

    names = [p.name for p in query.properties]
    label = next(p for p in query.properties if p.name == ("name" if "name" in names else "id"))

    def text(prop: Property) -> str:
        value = f"({prop.value_sql})::text"
        return XML_TEXT_SQL.format(value) if _escaped(prop) else value

    data = [
        f"{sql_literal(f'<SimpleData name={quoteattr(p.name)}>')} || {text(p)} || '</SimpleData>'"
        for p in query.properties
    ]  # NULL when the value is: concat() leaves it out
    return concat_sql(
        [
            "'<Placemark><name>'",
            text(label),
            "'</name><ExtendedData><SchemaData schemaUrl=\"#layer\">'",
            *data,
            "'</SchemaData></ExtendedData>'",
            f"ST_AsKML({query.geometry}, 6)",
            "'</Placemark>'",
        ]
    )


async def kml_layer(engine: AsyncEngine, slots: ExportSlots, query: LayerQuery) -> TextStream:
    """The layer as a streamed KML document (PostgreSQL writes each Placemark)."""
    from app.geo.export_writers import KML_FOOTER, kml_header

    placemarks = placemark_sql(query)
    rows = await copy_ordered(engine, slots, placemarks, query.source, query.args, query.halves)
    head = kml_header(query.name, _columns(query.properties)).encode()
    return TextStream(head, rows, KML_FOOTER.encode())


async def geojson_layer(engine: AsyncEngine, slots: ExportSlots, query: LayerQuery) -> Layer:
    """The layer as a streamed GeoJSON FeatureCollection."""
    sql = feature_sql(query.geometry, query.properties, query.source)
    return Layer(await CopyStream.open(engine, sql, query.args, slots), query.name)


def related_table(query: LayerQuery, repeat: str) -> RelatedTable:
    """The repeat `repeat` of a layer's form; NotFound when the form has none of that name."""
    for table in query.related:
        if table.name == f"{query.name}_{repeat}":
            return table
    raise NotFound(
        "unknown_repeat",
        repeat=repeat,
        repeats=", ".join(t.name.removeprefix(query.name + "_") for t in query.related) or "—",
    )


async def csv_layer(
    engine: AsyncEngine, slots: ExportSlots, query: LayerQuery, repeat: str | None = None
) -> CsvStream:
    """The layer (or, with `repeat`, that repeat's rows: survey id, position, answers) as a
    streamed CSV: UTF-8 with a BOM, a header row, lon/lat or WKT, no formula."""
    if repeat is not None:
        table = related_table(query, repeat)
        sql = rows_sql(_values(table.properties, spreadsheet=True), table.source)
        args = table.args
    else:
        columns = [*_place_columns(query), *_values(query.properties, spreadsheet=True)]
        sql, args = rows_sql(columns, query.source), query.args
    return CsvStream(await CopyStream.open(engine, sql, args, slots, copy_options=CSV_FILE))


@contextlib.asynccontextmanager
async def _build(builds: FileBuilds) -> AsyncIterator[Path]:
    """A temporary directory for one file build, holding a build slot; deleted on failure."""
    await builds.acquire()
    directory = Path(tempfile.mkdtemp(prefix="cdfmap-export-"))
    try:
        yield directory
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    finally:
        builds.release()


def _columns(properties: Sequence[Property]) -> list[Any]:
    from app.geo.export_writers import Column

    return [Column(p.name, p.type) for p in properties]


async def _copy_csv(
    engine: AsyncEngine,
    slots: ExportSlots,
    sql: str,
    args: Sequence[Any],
    target: Path,
    options: dict[str, Any] = CSV_ROWS,
) -> None:
    """`sql`'s rows as CSV (or as `options` of COPY say) in a file, copied out by
    PostgreSQL (one export slot held)."""
    stream = await CopyStream.open(engine, sql, args, slots, copy_options=options)
    try:
        with target.open("wb") as out:
            async for chunk in stream:
                out.write(chunk)
    finally:
        await stream.aclose()


async def _write_gdal(
    engine: AsyncEngine,
    slots: ExportSlots,
    query: LayerQuery,
    directory: Path,
    write: Callable[[Any, str, str], None],
) -> None:
    """The layer and its repeats' tables, each copied out as CSV, then written by `write`
    (a CsvLayer, the table's name, its description) in a worker thread."""
    from app.geo.export_writers import CsvLayer

    tables: list[tuple[str, list[Property], str | None, str, list[Any], str]] = [
        (
            query.name,
            query.properties,
            query.geometry_type,
            query.source,
            query.args,
            query.description,
        )
    ]
    for table in query.related:
        tables.append((table.name, table.properties, None, table.source, table.args, ""))
    scratch = directory / "rows.csv"
    for name, properties, geometry_type, source, args, description in tables:
        columns = _values(properties)
        if geometry_type is not None:
            columns.insert(0, f"encode(ST_AsBinary({query.geometry}), 'hex')")
        await _copy_csv(engine, slots, rows_sql(columns, source), args, scratch)
        layer = CsvLayer(scratch, tuple(_columns(properties)), geometry_type)
        await _in_thread(write, layer, name, description)
        scratch.unlink()


async def _write_geopackage_layer(
    engine: AsyncEngine, slots: ExportSlots, query: LayerQuery, path: Path
) -> None:
    from app.geo.export_writers import write_geopackage_layer

    await _write_gdal(
        engine,
        slots,
        query,
        path.parent,
        lambda layer, name, description: write_geopackage_layer(layer, path, name, description),
    )


def _layer_style(query: LayerQuery) -> Any:
    from app.geo import qgis_style

    if query.name in ("settlements", "wards"):
        return qgis_style.priority_style(query.name)
    if query.name == "households":
        return qgis_style.tenure_style(query.name, labels=query.choice_labels.get("tenure"))
    return qgis_style.plain_style(query.name, "point" if query.is_point else "polygon")


async def file_layer(
    engine: AsyncEngine,
    slots: ExportSlots,
    builds: FileBuilds,
    query: LayerQuery,
    fmt: str,
) -> TempFile:
    """The layer as a GeoPackage (with its repeats as related tables and a QGIS style),
    an XLSX (a sheet per repeat), or a zipped Shapefile (a .dbf per repeat and
    fields.csv mapping the shortened column names)."""
    from app.geo import export_writers as writers
    from app.geo.qgis_style import add_layer_styles

    async with _build(builds) as directory:
        if fmt == "gpkg":
            path = directory / f"{query.name}.gpkg"
            await _write_geopackage_layer(engine, slots, query, path)
            await _in_thread(add_layer_styles, path, [_layer_style(query)])
        elif fmt == "xlsx":
            path = directory / f"{query.name}.xlsx"
            tables = [(query.name, query.properties, query.source, query.args, True)] + [
                (t.name, t.properties, t.source, t.args, False) for t in query.related
            ]
            sheets = []
            for index, (name, properties, source, args, spatial) in enumerate(tables):
                cells = _place_cells(query) if spatial else []
                cells += [(p.value_sql, p.type, _escaped(p)) for p in properties]
                names = (_place_names(query) if spatial else []) + [p.name for p in properties]
                rows = directory / f"sheet{index}.xml"
                await _copy_csv(engine, slots, sheet_rows_sql(cells, source), args, rows, XML)
                sheets.append(writers.Sheet(name, tuple(names), rows))
            await _in_thread(writers.write_xlsx, path, sheets)
        else:
            path = directory / f"{query.name}.shp.zip"
            await _write_shapefile_zip(engine, slots, query, directory, path)
        return TempFile(path, directory)


def _direct_shapefile(query: LayerQuery) -> bool:
    """Whether the layer's shapefiles are written directly (app/geo/shapefile.py): points
    and tables whose dBase names are ASCII; areas are GDAL's."""
    from app.geo.export_writers import shapefile_names

    tables = [query.properties] + [t.properties for t in query.related]
    return query.is_point and all(
        properties and all(n.isascii() for n in shapefile_names([p.name for p in properties]))
        for properties in tables
    )


async def _write_shapefile_zip(
    engine: AsyncEngine, slots: ExportSlots, query: LayerQuery, directory: Path, path: Path
) -> None:
    """The layer's shapefile and a .dbf per repeat in one zip, with fields.csv mapping the
    shortened names. Points: lon and lat copied out with the values, the files written
    straight into the zip; areas: GDAL's writer, then zipped."""
    from app.geo import export_writers as writers

    if not _direct_shapefile(query):
        folder = directory / "shp"
        folder.mkdir()
        # A shapefile holds one kind of shape: a layer of mixed shapes is one per kind.
        parts = by_shape(query) if query.geometry_type == "Unknown" else [query]
        for part in parts:
            await _write_gdal(
                engine,
                slots,
                part,
                directory,
                lambda layer, name, _: writers.write_shapefile(layer, folder / f"{name}.shp"),
            )
        await _in_thread(_zip_shapefiles, folder, path, parts)
        return
    tables = [(query.name, query.properties, True, query.source, query.args)] + [
        (t.name, t.properties, False, t.source, t.args) for t in query.related
    ]
    scratch = directory / "rows.csv"
    # The fastest deflate level: a .dbf is mostly the padding of its fixed-width text fields.
    archive = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
    try:
        for name, properties, located, source, args in tables:
            columns = _values(properties)
            if located:
                geometry = query.geometry
                columns[:0] = [f"ST_X({geometry})", f"ST_Y({geometry})"]
            names = writers.shapefile_names([p.name for p in properties])
            await copy_while_reading(
                engine,
                slots,
                rows_sql(columns, source),
                args,
                scratch,
                functools.partial(
                    _add_point_shapefile, archive, scratch, properties, located, name, names
                ),
            )
            scratch.unlink()
        archive.writestr("fields.csv", _field_map([query]))
    finally:
        await _in_thread(archive.close)


def _add_point_shapefile(
    archive: zipfile.ZipFile,
    path: Path,
    properties: Sequence[Property],
    located: bool,
    name: str,
    names: Sequence[str],
    reader: io.BufferedReader,
) -> None:
    """One table's shapefile (or lone .dbf) into the zip, its rows read from `reader` as
    they are copied into `path`."""
    from app.geo.shapefile import PointRows, add_shapefile

    rows = PointRows(path, tuple(_columns(properties)), located, reader)
    add_shapefile(archive, rows, name, names, path.parent)


def _field_map(queries: Sequence[LayerQuery]) -> str:
    """fields.csv: for each table, each shortened field name and the column it stands for."""
    import io

    from app.geo.export_writers import shapefile_names

    out = io.StringIO()
    table = csv.writer(out, lineterminator="\r\n")
    table.writerow(["file", "field", "column"])
    tables = []
    for query in queries:
        tables.append((query.name, query.properties))
        tables.extend((t.name, t.properties) for t in query.related)
    for name, properties in tables:
        columns = [p.name for p in properties]
        for short, column in zip(shapefile_names(columns), columns, strict=True):
            table.writerow([f"{name}.dbf", short, column])
    return out.getvalue()


def _zip_shapefiles(folder: Path, target: Path, queries: Sequence[LayerQuery]) -> None:
    """The shapefiles GDAL wrote in a folder in one zip, with fields.csv."""
    (folder / "fields.csv").write_text(_field_map(queries), encoding="utf-8", newline="")
    # The fastest deflate level: a .dbf is mostly the padding of its fixed-width text fields.
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, path.name)


async def city_geopackage(
    engine: AsyncEngine,
    slots: ExportSlots,
    builds: FileBuilds,
    forms: FormRegistry,
    city_slug: str,
    reader: Principal,
    filters: ExportFilters,
    priorities: Path,
    labels: str | None = None,
    household_form: str = HOUSEHOLD_FORM,
    with_personal: bool = False,
    styled: bool = True,
) -> TempFile:
    """Every layer of a city (or of one ward) in one GeoPackage for QGIS: wards (a whole
    city only), settlements with their figures, households, the CDF's savings groups (when
    the city has any and the reader may read them), and one layer per other form
    named by its form id ("<id>_surveys" for a form called like a fixed layer), each
    repeat a related table, spatial indexes, layer descriptions and (`styled`) a QGIS style
    per layer (the priority colours) in layer_styles."""
    from app.geo.qgis_style import add_layer_styles

    await places.readable_area(engine, reader, city_slug, filters.ward_id)  # 404 first
    queries: list[LayerQuery] = []
    if filters.ward_id is None:
        queries.append(
            await area_layer(
                engine, "wards", city_slug, reader, filters, priorities, household_form
            )
        )
    queries.append(
        await area_layer(
            engine, "settlements", city_slug, reader, filters, priorities, household_form
        )
    )
    queries.append(
        await survey_layer(
            engine,
            forms,
            household_form,
            city_slug,
            reader,
            filters,
            labels,
            household_form,
            with_personal=with_personal,
        )
    )
    queries.extend(await readable_cdf_layers(engine, city_slug, reader, filters))
    for form in forms.all_current():
        if form.form_id == household_form:
            continue
        name = f"{form.form_id}_surveys" if form.form_id in FIXED_LAYERS else form.form_id
        queries.append(
            await survey_layer(
                engine,
                forms,
                form.form_id,
                city_slug,
                reader,
                filters,
                labels,
                household_form,
                name,
                with_personal,
            )
        )
    async with _build(builds) as directory:
        path = directory / f"{city_slug}.gpkg"
        for query in queries:
            await _write_geopackage_layer(engine, slots, query, path)
        if styled:
            await _in_thread(add_layer_styles, path, [_layer_style(q) for q in queries])
        return TempFile(path, directory)
