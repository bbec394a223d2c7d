"""File writers for layer exports (GeoPackage, Shapefile, KML, XLSX).

GDAL formats read the CSV that PostgreSQL's COPY wrote to a temporary file: Arrow's C++ CSV
reader parses it a block at a time and pyogrio's write_arrow hands the batches to GDAL in one
session, so no Python object is made per value and memory holds one block. (Appending chunk
by chunk with pyogrio's raw writer reopened the dataset each time and updated the spatial
index row by row: 6.2 s for 100,000 households against 0.7 s for write_arrow.)
KML and the rows of XLSX sheets are written by PostgreSQL (app/services/export_files.py):
here are the KML header and footer and the workbook around the sheets. Pure: no database,
no HTTP; run the writers in a worker thread.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from xml.sax.saxutils import escape, quoteattr

from app.services.spreadsheet import safe_cell

CRS = "EPSG:4326"
GEOPACKAGE_VERSION = "1.2"  # readable by every GDAL/QGIS still in use (3.6 warns about 1.4)
SHAPEFILE_NAME_LENGTH = 10  # dBase field names
DBF_TEXT_BYTES = 254  # dBase text fields
XLSX_CELL_CHARACTERS = 32_767  # Excel's limit; longer text is cut there
XLSX_SHEET_TITLE = 31
# Characters XML 1.0 (KML, XLSX) cannot hold at all, even escaped.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

FieldType = Literal["int", "float", "text"]


@dataclass(frozen=True)
class Column:
    """One attribute column of a file: its name and type."""

    name: str
    type: FieldType


ARROW_TYPES = {"int": "int64", "float": "float64", "text": "string"}
# Rows parsed (and held) at once: about 700 households. GDAL holds a few blocks more: with 1 MB
# blocks a 100k-household GeoPackage grew the process by 85 MB, with 256 kB by 57 MB.
CSV_BLOCK_BYTES = 1 << 18


def shapefile_names(names: Sequence[str]) -> list[str]:
    """dBase field names for `names`: at most 10 characters, none twice (case does not
    count in dBase), decided by the names and their order only, so the same layer always
    maps the same way: a name cut to 10 characters, and when that is taken, cut shorter and
    followed by _2, _3... (the first free)."""
    taken: set[str] = set()
    found: list[str] = []
    for name in names:
        short = name[:SHAPEFILE_NAME_LENGTH]
        number = 1
        while short.lower() in taken:
            number += 1
            suffix = f"_{number}"
            short = name[: SHAPEFILE_NAME_LENGTH - len(suffix)] + suffix
        taken.add(short.lower())
        found.append(short)
    return found


@dataclass(frozen=True)
class CsvLayer:
    """A layer's rows as PostgreSQL's COPY wrote them in CSV (no header): the geometry as
    hexadecimal WKB first when `geometry_type` is set, then one field per column (an
    unquoted empty field is NULL, a quoted one an empty text)."""

    path: Path
    columns: tuple[Column, ...]
    geometry_type: str | None


def _csv_reader(layer: CsvLayer) -> tuple[Any, list[str], dict[str, Any]]:
    """Arrow's streaming reader of the CSV (None when it holds no row), its positional
    column names (c0, c1...) and their Arrow types (the geometry's hexadecimal as text)."""
    import pyarrow as pa
    from pyarrow import csv as arrow_csv

    spatial = layer.geometry_type is not None
    positional = [f"c{i}" for i in range(len(layer.columns) + (1 if spatial else 0))]
    values = positional[1:] if spatial else positional
    types = {
        name: getattr(pa, ARROW_TYPES[column.type])()
        for name, column in zip(values, layer.columns, strict=True)
    }
    if spatial:
        types[positional[0]] = pa.string()
    if layer.path.stat().st_size == 0:
        return None, positional, types
    reader = arrow_csv.open_csv(
        layer.path,
        read_options=arrow_csv.ReadOptions(
            column_names=positional, block_size=CSV_BLOCK_BYTES, use_threads=False
        ),
        parse_options=arrow_csv.ParseOptions(newlines_in_values=True),
        convert_options=arrow_csv.ConvertOptions(
            column_types=types,
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            null_values=[""],
        ),
    )
    return reader, positional, types


def text_widths(layer: CsvLayer) -> list[int | None]:
    """Each text column's longest value in bytes (at least 1, at most 254, a dBase field's
    limit); None for other columns. A first pass over the CSV, in Arrow's C++ code."""
    import pyarrow.compute as pc

    reader, _, _ = _csv_reader(layer)
    offset = 1 if layer.geometry_type is not None else 0
    widths: list[int | None] = [1 if c.type == "text" else None for c in layer.columns]
    for batch in reader or ():
        for index, column in enumerate(layer.columns):
            if column.type == "text":
                longest = pc.max(pc.binary_length(batch.column(index + offset))).as_py()
                widths[index] = max(widths[index] or 1, min(longest or 1, DBF_TEXT_BYTES))
    return widths


def _arrow_batches(
    layer: CsvLayer, names: Sequence[str], widths: Sequence[int | None] | None = None
) -> Any:
    """The CSV as a stream of Arrow record batches (parsed by Arrow's C++ reader, a block at
    a time), the geometry turned from hexadecimal into WKB, the columns named `names`
    (with `widths`, each text field's width for GDAL)."""
    import pyarrow as pa

    spatial = layer.geometry_type is not None
    reader, positional, types = _csv_reader(layer)
    values = positional[1:] if spatial else positional
    fields = []
    for index, (name, position) in enumerate(zip(names, values, strict=True)):
        width = widths[index] if widths else None
        metadata = {"GDAL:OGR:width": str(width)} if width else None
        fields.append(pa.field(name, types[position], metadata=metadata))
    if spatial:
        fields.insert(
            0, pa.field("geom", pa.binary(), metadata={"ARROW:extension:name": "geoarrow.wkb"})
        )
    schema = pa.schema(fields)
    if reader is None:  # no row: the layer is still made, empty
        return pa.RecordBatchReader.from_batches(schema, iter(()))

    def batches() -> Any:
        for batch in reader:
            arrays = list(batch.columns)
            if spatial:
                arrays[0] = pa.array(
                    [None if h is None else bytes.fromhex(h) for h in arrays[0].to_pylist()],
                    type=pa.binary(),
                )
            yield pa.record_batch(arrays, schema=schema)

    return pa.RecordBatchReader.from_batches(schema, batches())


def write_gdal_layer(
    layer: CsvLayer,
    target: Path,
    driver: str,
    name: str,
    names: Sequence[str] | None = None,
    layer_options: dict[str, str] | None = None,
    dataset_options: dict[str, str] | None = None,
    widths: Sequence[int | None] | None = None,
) -> None:
    """Write a layer (a table without geometry when it has none) into a GDAL dataset,
    created if missing, in one GDAL session: GDAL reads Arrow batches as they are parsed
    and builds the spatial index once at the end."""
    from pyogrio.raw import write_arrow

    stream = _arrow_batches(layer, names or [c.name for c in layer.columns], widths)
    spatial = layer.geometry_type is not None
    write_arrow(
        stream,
        str(target),
        layer=name,
        driver=driver,
        geometry_name="geom" if spatial else None,
        geometry_type=layer.geometry_type,
        crs=CRS if spatial else None,
        layer_options=layer_options or None,
        dataset_options=dataset_options or None,
    )


def write_geopackage_layer(layer: CsvLayer, target: Path, name: str, description: str) -> None:
    """A GeoPackage layer (or table without geometry) with a spatial index and the
    description that QGIS shows (gpkg_contents.description)."""
    write_gdal_layer(
        layer,
        target,
        "GPKG",
        name,
        layer_options={"DESCRIPTION": description} if description else None,
        dataset_options={"VERSION": GEOPACKAGE_VERSION},
    )


def write_shapefile(layer: CsvLayer, target: Path) -> None:
    """A shapefile (.shp .shx .dbf .prj, .cpg saying UTF-8), or a lone .dbf without
    geometry; column names shortened by shapefile_names; each text field as wide as its
    longest value (GDAL's default, 254 bytes each, made a 100k-household .dbf 232 MB)."""
    write_gdal_layer(
        layer,
        target,
        "ESRI Shapefile",
        target.stem,
        names=shapefile_names([c.name for c in layer.columns]),
        layer_options={"ENCODING": "UTF-8"},
        widths=text_widths(layer),
    )


def xml_text(value: Any) -> str:
    """A value as XML character data: escaped, without the characters XML cannot hold."""
    return escape(NOT_XML.sub("", str(value)))


KML_FOOTER = "</Folder></Document></kml>\n"


def kml_header(layer: str, columns: Sequence[Column]) -> str:
    """The start of a KML document whose Placemarks carry `columns` as ExtendedData of one
    Schema (read by Google Earth, QGIS and GDAL's LIBKML); the Placemarks follow, then
    KML_FOOTER."""
    schema = "".join(
        f"<SimpleField name={quoteattr(xml_text(c.name))} type="
        f"{quoteattr({'int': 'int', 'float': 'double'}.get(c.type, 'string'))}/>"
        for c in columns
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Document id="root_doc">'
        f'<Schema name={quoteattr(xml_text(layer))} id="layer">{schema}</Schema>'
        f"<Folder><name>{xml_text(layer)}</name>\n"
    )


def column_letters(index: int) -> str:
    """A spreadsheet column's letters: 0 is A, 25 Z, 26 AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def xlsx_cell(value: Any) -> Any:
    """A cell's value: text that Excel would run as a formula made text, characters XML
    cannot hold left out, cut at Excel's length limit."""
    if type(value) is str:
        return safe_cell(NOT_XML.sub("", value)[:XLSX_CELL_CHARACTERS])
    return value


def sheet_title(name: str, taken: set[str]) -> str:
    """A worksheet title Excel accepts (31 characters, none of []:*?/\\), unique."""
    title = re.sub(r"[\[\]:*?/\\']", "_", name)[:XLSX_SHEET_TITLE] or "sheet"
    number = 1
    while title.lower() in taken:
        number += 1
        title = f"{title[: XLSX_SHEET_TITLE - 4]}_{number}"
    taken.add(title.lower())
    return title


@dataclass(frozen=True)
class Sheet:
    """A worksheet: its title, its header and the file of its rows' `<row>` elements (as
    PostgreSQL wrote them, one per line, from row 2)."""

    title: str
    header: tuple[str, ...]
    rows: Path


_XLSX_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"


def write_xlsx(target: Path, sheets: Sequence[Sheet]) -> None:
    """An Office Open XML workbook (ECMA-376) of the sheets, each streamed from its file
    into the zip: memory holds a copy buffer whatever the rows' number.

    Why not openpyxl (write-only mode): it makes a cell object per value, and 100,000
    households (4.5 million cells) took 82 s, 3.2 times ogr2ogr, on this machine; here
    PostgreSQL writes each row's XML (values escaped, formulas neutralised) and Python only
    copies bytes. The workbook holds what every reader needs and nothing else: inline
    strings, numbers, no styles; openpyxl, GDAL, LibreOffice and Excel read it.
    """
    titles: set[str] = set()
    names = [sheet_title(sheet.title, titles) for sheet in sheets]
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{_SHEET_TYPE}"/>'
        for i in range(1, len(sheets) + 1)
    )
    sheet_list = "".join(
        f'<sheet name={quoteattr(name)} sheetId="{i}" r:id="rId{i}"/>'
        for i, name in enumerate(names, 1)
    )
    relations = "".join(
        f'<Relationship Id="rId{i}" Type="{_REL_NS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, len(sheets) + 1)
    )
    head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        book.writestr(
            "[Content_Types].xml",
            f'{head}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            f"{overrides}</Types>",
        )
        book.writestr(
            "_rels/.rels",
            f'{head}<Relationships xmlns="{_PKG_REL_NS}"><Relationship Id="rId1" '
            f'Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        book.writestr(
            "xl/workbook.xml",
            f'{head}<workbook xmlns="{_XLSX_NS}" xmlns:r="{_REL_NS}"><sheets>{sheet_list}'
            "</sheets></workbook>",
        )
        book.writestr(
            "xl/_rels/workbook.xml.rels",
            f'{head}<Relationships xmlns="{_PKG_REL_NS}">{relations}</Relationships>',
        )
        for index, sheet in enumerate(sheets, 1):
            header = "".join(
                f'<c r="{column_letters(i)}1" t="inlineStr"><is><t xml:space="preserve">'
                f"{xml_text(xlsx_cell(name))}</t></is></c>"
                for i, name in enumerate(sheet.header)
            )
            with book.open(f"xl/worksheets/sheet{index}.xml", "w", force_zip64=True) as out:
                start = f'{head}<worksheet xmlns="{_XLSX_NS}"><sheetData><row r="1">'
                out.write(f"{start}{header}</row>\n".encode())
                with sheet.rows.open("rb") as rows:
                    shutil.copyfileobj(rows, out, 1 << 20)
                out.write(b"</sheetData></worksheet>")
