"""File writers for layer exports (GeoPackage, Shapefile, KML, XLSX), fed chunk by chunk.

Each writer takes rows in chunks (tuples: the geometry first where the format has one, then
one value per column) and never holds more than a chunk: GDAL formats are appended to with
pyogrio's raw writer (numpy columns, no Python object per feature beyond the chunk's own),
KML is written as text as it comes, XLSX by openpyxl's write-only mode (rows go to a
temporary file, not to memory). Pure: no database, no HTTP; run them in a worker thread.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from app.services.spreadsheet import safe_cell

CRS = "EPSG:4326"
GEOPACKAGE_VERSION = "1.2"  # readable by every GDAL/QGIS still in use (3.6 warns about 1.4)
SHAPEFILE_NAME_LENGTH = 10  # dBase field names
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


def _arrays(
    columns: Sequence[Column], values: Sequence[Sequence[Any]]
) -> tuple[list[Any], list[Any]]:
    """numpy arrays (and null masks for integers) of a chunk's columns."""
    arrays: list[Any] = []
    masks: list[Any] = []
    for column, cells in zip(columns, values, strict=True):
        if column.type == "float":
            arrays.append(np.array(cells, dtype=np.float64))  # None becomes NaN, a null
            masks.append(None)
        elif column.type == "int":
            raw = np.array(cells, dtype=object)
            missing = np.fromiter((cell is None for cell in cells), dtype=bool, count=len(cells))
            raw[missing] = 0
            arrays.append(raw.astype(np.int64))
            masks.append(missing if missing.any() else None)
        else:
            arrays.append(np.array(cells, dtype=object))
            masks.append(None)
    return arrays, masks


class GdalWriter:
    """A layer written by GDAL (GeoPackage, Shapefile), appended to chunk by chunk.

    Rows: (WKB geometry or None, value, ...) with `geometry_type`, or values only for a
    table without geometry (a repeat's rows)."""

    def __init__(
        self,
        path: Path,
        driver: str,
        layer: str,
        columns: Sequence[Column],
        geometry_type: str | None,
        names: Sequence[str] | None = None,
        layer_options: dict[str, str] | None = None,
        dataset_options: dict[str, str] | None = None,
    ) -> None:
        self.path = path
        self.driver = driver
        self.layer = layer
        self.columns = list(columns)
        self.names = list(names or (c.name for c in columns))
        self.geometry_type = geometry_type
        self.layer_options = layer_options or {}
        self.dataset_options = dataset_options or {}
        self.started = False
        self.count = 0

    def write(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Append a chunk of rows."""
        from pyogrio.raw import write

        if not rows and self.started:
            return
        width = len(self.columns) + (1 if self.geometry_type else 0)
        transposed = list(zip(*rows, strict=True)) if rows else [()] * width
        geometry = None
        if self.geometry_type:
            geometry = np.array(transposed[0], dtype=object)
            transposed = transposed[1:]
        arrays, masks = _arrays(self.columns, [list(cells) for cells in transposed])
        write(
            str(self.path),
            geometry,
            arrays,
            self.names,
            field_mask=masks,
            layer=self.layer,
            driver=self.driver,
            geometry_type=self.geometry_type,
            crs=CRS if self.geometry_type else None,
            append=self.started,
            layer_options=None if self.started else self.layer_options,
            dataset_options=None if self.started else self.dataset_options,
        )
        self.started = True
        self.count += len(rows)

    def close(self) -> None:
        """Create the layer even when no row came (a layer without features is still one)."""
        if not self.started:
            self.write([])


def geopackage_writer(
    path: Path,
    layer: str,
    columns: Sequence[Column],
    geometry_type: str | None,
    description: str = "",
) -> GdalWriter:
    """A GeoPackage layer (or table without geometry) with a spatial index and the
    description that QGIS shows (gpkg_contents.description)."""
    options = {"DESCRIPTION": description} if description else {}
    return GdalWriter(
        path,
        "GPKG",
        layer,
        columns,
        geometry_type,
        layer_options=options,
        dataset_options={"VERSION": GEOPACKAGE_VERSION},
    )


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


def shapefile_writer(
    path: Path, columns: Sequence[Column], geometry_type: str | None
) -> GdalWriter:
    """A shapefile (.shp .shx .dbf .prj, .cpg saying UTF-8), or a lone .dbf without
    geometry; column names shortened by shapefile_names."""
    return GdalWriter(
        path,
        "ESRI Shapefile",
        path.stem,
        columns,
        geometry_type,
        names=shapefile_names([c.name for c in columns]),
        layer_options={"ENCODING": "UTF-8"},
    )


def xml_text(value: Any) -> str:
    """A value as XML character data: escaped, without the characters XML cannot hold."""
    return escape(NOT_XML.sub("", str(value)))


class KmlWriter:
    """A KML document: one Placemark per row, named by the `name_column` value, its
    attributes as ExtendedData of a Schema (read by Google Earth, QGIS and GDAL's LIBKML).
    Rows: (KML geometry text from PostGIS ST_AsKML or None, value, ...)."""

    def __init__(self, path: Path, layer: str, columns: Sequence[Column], name_column: str) -> None:
        self.columns = list(columns)
        self.name_index = [c.name for c in columns].index(name_column)
        self.out: IO[str] = path.open("w", encoding="utf-8", newline="\n")
        schema = "".join(
            f"<SimpleField name={quoteattr(c.name)} type="
            f"{quoteattr({'int': 'int', 'float': 'double'}.get(c.type, 'string'))}/>"
            for c in columns
        )
        self.out.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<kml xmlns="http://www.opengis.net/kml/2.2"><Document id="root_doc">'
            f'<Schema name={quoteattr(xml_text(layer))} id="layer">{schema}</Schema>'
            f"<Folder><name>{xml_text(layer)}</name>\n"
        )
        self.names = [quoteattr(xml_text(c.name)) for c in columns]

    def write(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Append a chunk of rows."""
        parts: list[str] = []
        for row in rows:
            geometry, values = row[0], row[1:]
            name = values[self.name_index]
            data = "".join(
                f"<SimpleData name={field}>{xml_text(value)}</SimpleData>"
                for field, value in zip(self.names, values, strict=True)
                if value is not None
            )
            parts.append(
                f"<Placemark><name>{'' if name is None else xml_text(name)}</name>"
                f'<ExtendedData><SchemaData schemaUrl="#layer">{data}</SchemaData>'
                f"</ExtendedData>{geometry or ''}</Placemark>\n"
            )
        self.out.write("".join(parts))

    def close(self) -> None:
        """End the document."""
        self.out.write("</Folder></Document></kml>\n")
        self.out.close()


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


class XlsxWriter:
    """An XLSX workbook written row by row (openpyxl write-only: rows stream to a temporary
    file); one sheet per table, the first the layer."""

    def __init__(self, path: Path) -> None:
        from openpyxl import Workbook

        self.path = path
        self.book = Workbook(write_only=True)
        self.titles: set[str] = set()
        self.sheet: Any = None

    def start_sheet(self, name: str, columns: Sequence[str]) -> None:
        """Begin a sheet with its header row."""
        self.sheet = self.book.create_sheet(sheet_title(name, self.titles))
        self.sheet.append([xlsx_cell(name) for name in columns])

    def write(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Append a chunk of rows to the current sheet."""
        append = self.sheet.append
        for row in rows:
            append([xlsx_cell(value) for value in row])

    def close(self) -> None:
        """Write the workbook to its file."""
        self.book.save(str(self.path))
