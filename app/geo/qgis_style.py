"""QGIS styles stored inside a GeoPackage (the `layer_styles` table), so that its layers
open styled: settlements and wards by priority class in the maps' colours, households by
tenure, other layers plainly.

Why written by hand: QGIS itself writes this table (Layer Properties > Style > Save to
database) and reads it whenever the layer is opened; no library outside QGIS writes it. The
table's columns are those QGIS creates; each style is a QML document (QGIS's own) and an SLD
(OGC Symbology Encoding, for other tools), both built here from app/geo/styles.py.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from app.geo.styles import CLASS_COLOURS, NO_DATA_COLOUR, POINT_STYLES, class_labels

OUTLINE = "#232323"
PLAIN_POINT = "#3182bd"


@dataclass(frozen=True)
class Category:
    """One class of a categorised style: the attribute's value, its label and colour."""

    value: str
    label: str
    colour: str


@dataclass(frozen=True)
class LayerStyle:
    """A layer's style: categories of one attribute (or one plain colour), for points,
    lines or polygons."""

    table: str
    geometry_column: str
    kind: str  # "point" or "polygon"
    attribute: str | None
    categories: tuple[Category, ...]
    plain: str = PLAIN_POINT
    title: str = ""


def _rgba(colour: str) -> str:
    value = colour.lstrip("#")
    return ",".join(str(int(value[i : i + 2], 16)) for i in (0, 2, 4)) + ",255"


def _symbol(name: str, kind: str, colour: str) -> str:
    if kind == "polygon":
        layer_class, symbol_type = "SimpleFill", "fill"
        options = {
            "color": _rgba(colour),
            "outline_color": _rgba(OUTLINE),
            "outline_width": "0.26",
            "style": "solid",
        }
    else:
        layer_class, symbol_type = "SimpleMarker", "marker"
        options = {
            "color": _rgba(colour),
            "outline_color": _rgba(OUTLINE),
            "size": "2",
            "name": "circle",
        }
    props = "".join(
        f'<Option name={quoteattr(k)} type="QString" value={quoteattr(v)}/>'
        for k, v in options.items()
    )
    return (
        f'<symbol type="{symbol_type}" name={quoteattr(name)} alpha="1" clip_to_extent="1" '
        f'force_rhr="0"><layer class="{layer_class}" enabled="1" locked="0" pass="0">'
        f'<Option type="Map">{props}</Option></layer></symbol>'
    )


def qml(style: LayerStyle) -> str:
    """The style as a QGIS QML document (symbology only)."""
    if style.attribute is None:
        renderer = (
            '<renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" '
            f'forceraster="0"><symbols>{_symbol("0", style.kind, style.plain)}</symbols>'
            "</renderer-v2>"
        )
    else:
        categories = "".join(
            f'<category value={quoteattr(c.value)} symbol="{i}" label={quoteattr(c.label)} '
            'render="true"/>'
            for i, c in enumerate(style.categories)
        )
        symbols = "".join(
            _symbol(str(i), style.kind, c.colour) for i, c in enumerate(style.categories)
        )
        renderer = (
            f'<renderer-v2 type="categorizedSymbol" attr={quoteattr(style.attribute)} '
            'symbollevels="0" enableorderby="0" forceraster="0">'
            f"<categories>{categories}</categories><symbols>{symbols}</symbols></renderer-v2>"
        )
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        f'<qgis version="3.28.0" styleCategories="Symbology">{renderer}</qgis>\n'
    )


def _sld_symbolizer(kind: str, colour: str) -> str:
    if kind == "polygon":
        return (
            "<se:PolygonSymbolizer><se:Fill>"
            f'<se:SvgParameter name="fill">{colour}</se:SvgParameter></se:Fill><se:Stroke>'
            f'<se:SvgParameter name="stroke">{OUTLINE}</se:SvgParameter>'
            "</se:Stroke></se:PolygonSymbolizer>"
        )
    return (
        "<se:PointSymbolizer><se:Graphic><se:Mark><se:WellKnownName>circle</se:WellKnownName>"
        f'<se:Fill><se:SvgParameter name="fill">{colour}</se:SvgParameter></se:Fill>'
        "</se:Mark><se:Size>7</se:Size></se:Graphic></se:PointSymbolizer>"
    )


def sld(style: LayerStyle) -> str:
    """The style as an OGC SLD 1.1 document."""
    rules: list[str] = []
    if style.attribute is None:
        rules.append(f"<se:Rule>{_sld_symbolizer(style.kind, style.plain)}</se:Rule>")
    for category in style.categories:
        test = (
            "<ogc:PropertyIsNull><ogc:PropertyName>"
            f"{escape(style.attribute or '')}</ogc:PropertyName></ogc:PropertyIsNull>"
            if category.value == ""
            else "<ogc:PropertyIsEqualTo><ogc:PropertyName>"
            f"{escape(style.attribute or '')}</ogc:PropertyName><ogc:Literal>"
            f"{escape(category.value)}</ogc:Literal></ogc:PropertyIsEqualTo>"
        )
        rules.append(
            f"<se:Rule><se:Name>{escape(category.label)}</se:Name>"
            f"<ogc:Filter>{test}</ogc:Filter>{_sld_symbolizer(style.kind, category.colour)}"
            "</se:Rule>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<StyledLayerDescriptor version="1.1.0" '
        'xmlns="http://www.opengis.net/sld" xmlns:ogc="http://www.opengis.net/ogc" '
        'xmlns:se="http://www.opengis.net/se">'
        f"<NamedLayer><se:Name>{escape(style.table)}</se:Name><UserStyle>"
        f"<se:FeatureTypeStyle>{''.join(rules)}</se:FeatureTypeStyle>"
        "</UserStyle></NamedLayer></StyledLayerDescriptor>\n"
    )


def priority_style(table: str, geometry_column: str = "geom") -> LayerStyle:
    """Areas by priority class (1-5, the score's classes of the maps), no data in grey."""
    categories = tuple(
        Category(str(index), f"{label}", colour)
        for index, (label, colour) in enumerate(zip(class_labels(), CLASS_COLOURS, strict=True), 1)
    )
    return LayerStyle(
        table,
        geometry_column,
        "polygon",
        "priority_class",
        (*categories, Category("", "—", NO_DATA_COLOUR)),
        title="Ưu tiên / Priority",
    )


def tenure_style(
    table: str, geometry_column: str = "geom", labels: Mapping[str, str] | None = None
) -> LayerStyle:
    """Household points by tenure, as the web map colours them; with `labels` (code to the
    label the layer holds instead, `?labels=vi|en`) the categories are those labels."""
    tenure = POINT_STYLES[0]
    shown = labels or {}
    categories = tuple(
        Category(shown.get(value, value), shown.get(value, value), colour)
        for value, colour in tenure.colours
    )
    return LayerStyle(
        table,
        geometry_column,
        "point",
        tenure.question,
        (*categories, Category("", "—", NO_DATA_COLOUR)),
        title=f"{tenure.title['vi']} / {tenure.title['en']}",
    )


def plain_style(table: str, kind: str, geometry_column: str = "geom") -> LayerStyle:
    """One colour for every feature."""
    return LayerStyle(table, geometry_column, kind, None, (), PLAIN_POINT)


LAYER_STYLES_TABLE = """
CREATE TABLE IF NOT EXISTS layer_styles (
  id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256), f_table_schema TEXT(256),
  f_table_name TEXT(256), f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT,
  styleSLD TEXT, useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30),
  update_time DATETIME DEFAULT CURRENT_TIMESTAMP)
"""


def add_layer_styles(geopackage: Path, styles: list[LayerStyle]) -> None:
    """Store each style as its layer's default in the GeoPackage's layer_styles table
    (registered in gpkg_contents as an attributes table, as QGIS does)."""
    with sqlite3.connect(geopackage) as db:
        db.execute(LAYER_STYLES_TABLE)
        db.execute(
            "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, "
            "description, last_change) VALUES ('layer_styles', 'attributes', 'layer_styles', "
            "'QGIS styles', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"
        )
        db.executemany(
            "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
            "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, "
            "owner, ui) VALUES ('', '', ?, ?, ?, ?, ?, 1, ?, '', NULL)",
            [
                (s.table, s.geometry_column, s.table, qml(s), sld(s), s.title or s.table)
                for s in styles
            ],
        )
    db.close()
