"""Interactive maps (folium + Leaflet) built from plain data; every asset is served locally.

folium draws only the page's skeleton (the Leaflet map, the linked scripts and stylesheets),
from constant strings. folium and branca render their templates and then parse the output
again as a Jinja template, so a name containing `{{ }}` would run as code there: no text from
the data ever goes through them. The data (title, wards, settlements, popups, legend) is one
JSON block inserted into the rendered page, escaped so it cannot close its <script> element,
and static/maps/cdfmap.js builds the layers from it with DOM text nodes only.

Household points are not embedded: the page fetches them as compact JSON and draws them on
canvas tiles, so the HTML does not grow with the number of households.
Pure: no FastAPI, no database.
"""

from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from app.geo import cdf_groups
from app.geo.styles import (
    CLASS_COLOURS,
    NO_DATA_COLOUR,
    POINT_STYLES,
    PROJECT_STATUS_COLOURS,
    class_colour,
    class_labels,
)
from app.i18n import LANGUAGES, translate

LEAFLET = "vendor/leaflet-1.9.4"
VECTOR_TILE = "vendor/vector-tile-3.0.0"  # @mapbox/vector-tile + pbf: reads household tiles
DATA_ID = "cdfmap-data"
# A CSP nonce is base64 (or base64url); anything else would not be one, and must not reach
# the attribute.
NONCE = re.compile(r"[A-Za-z0-9+/_=-]*")
VIEWPORT = re.compile(r'<meta name="viewport"[^>]*>')
# Characters that could end a <script> element, open an HTML comment in it, or end a
# JavaScript line: outside JSON strings they never occur, inside they become \u escapes.
SCRIPT_UNSAFE = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


@dataclass(frozen=True)
class WebMapInput:
    """Everything a map page shows, already translated."""

    title: str
    subtitle: str
    language: str
    bounds: tuple[float, float, float, float]  # west, south, east, north (lon/lat)
    wards: dict[str, Any]  # GeoJSON FeatureCollection, properties: name
    settlements: dict[str, Any]  # FeatureCollection, properties: name, score + popup fields
    popup_fields: list[tuple[str, str]]  # (property, label) shown in a settlement's popup
    points_url: str  # every household point in one download ("" for none)
    point_labels: dict[str, dict[str, str]]  # style key -> answer value -> label
    static_url: str = "/static"
    basemap_url: str | None = None
    basemap_attribution: str = ""
    shown_indicator: str = "tenure"
    point_titles: dict[str, str] = field(default_factory=dict)
    note: str | None = None  # shown under the title, e.g. when no settlement is mapped yet
    # The CDF's upgrading projects (FeatureCollection; properties: name, colour, popup
    # fields), None when there are none: then no layer and no legend entry.
    projects: dict[str, Any] | None = None
    project_popup_fields: list[tuple[str, str]] = field(default_factory=list)
    # A large area's households come from vector tiles instead (URL template with {z}/{x}/{y});
    # a ward's page draws only the points of that ward (the tiles' ward_id).
    points_tiles: str | None = None
    points_ward: int | None = None
    # The savings groups, one point per settlement (properties: name, colour, radius, popup
    # fields), None when the reader may see none: then no layer and no legend entry.
    groups: dict[str, Any] | None = None
    group_popup_fields: list[tuple[str, str]] = field(default_factory=list)
    # Streets, water and landmarks under the map (app/api/context.py), fetched per view;
    # "" when the city has none.
    context_url: str = ""


def _t(key: str, language: str) -> str:
    return translate(f"web_map.{key}", language)


def leaflet_texts(language: str) -> dict[str, str]:
    """Leaflet's own words (zoom and layers buttons, its attribution link) in the language,
    for static/maps/leaflet-texts.js: every page carries them as JSON in its `leaflet-texts`
    meta element."""
    return {
        "zoomIn": translate("page.map_zoom_in", language),
        "zoomOut": translate("page.map_zoom_out", language),
        "layers": translate("page.map_layers", language),
        "leaflet": translate("page.map_leaflet", language),
    }


def legend_spec(data: WebMapInput) -> dict[str, Any]:
    """The legend's content: priority classes and, per household indicator, its answers."""
    language = data.language
    priority_items = [
        [colour, label] for colour, label in zip(CLASS_COLOURS, class_labels(), strict=True)
    ]
    priority_items.append([NO_DATA_COLOUR, _t("no_data", language)])
    if any(f["properties"].get("withheld") for f in data.settlements["features"]):
        priority_items[-1][1] = _t("no_data_or_withheld", language)
    indicators = {}
    for style in POINT_STYLES:
        labels = data.point_labels.get(style.key, {})
        items = [[colour, labels.get(value, value)] for value, colour in style.colours]
        items.append([NO_DATA_COLOUR, _t("no_answer", language)])
        indicators[style.key] = {
            "title": f"{_t('households', language)}: {style.title[language]}",
            "items": items,
        }
    projects = {
        "title": translate("cdf_project.legend", language),
        "items": [
            [colour, translate(f"cdf_project.status.{status}", language)]
            for status, colour in PROJECT_STATUS_COLOURS
        ],
    }
    return {
        "priority": {"title": _t("priority", language), "items": priority_items},
        "indicators": indicators,
        "projects": projects if data.projects else None,
        "groups": cdf_groups.legend(language, data.groups.get("unplaced")) if data.groups else None,
        "note": _t("note", language),
        # The button that folds the legend (folded at first on a phone).
        "show": _t("legend_show", language),
        "hide": _t("legend_hide", language),
        "zoomIn": _t("zoom_in_for_households", language),
    }


def _coloured(settlements: dict[str, Any]) -> dict[str, Any]:
    """The settlements with their fill colour (the priority class of their score)."""
    features = [
        {
            **feature,
            "properties": {
                **feature["properties"],
                "colour": class_colour(feature["properties"].get("score")),
            },
        }
        for feature in settlements["features"]
    ]
    return {**settlements, "features": features}


def page_data(data: WebMapInput) -> dict[str, Any]:
    """What static/maps/cdfmap.js draws: every text and shape of the page."""
    language = data.language
    households = _t("households", language)
    return {
        "title": data.title,
        "subtitle": data.subtitle,
        "note": data.note,
        "bounds": list(data.bounds),
        "basemap": {"url": data.basemap_url, "attribution": data.basemap_attribution}
        if data.basemap_url
        else None,
        "layers": {
            "settlements": _t("settlements", language),
            "wards": _t("wards", language),
            "labels": _t("labels", language),
            "projects": translate("cdf_project.layer", language),
            "groups": translate("cdf_groups.layer", language),
            "context": translate("context.streets", language),
        },
        "context": {"url": data.context_url} if data.context_url else None,
        "wards": data.wards,
        "settlements": _coloured(data.settlements),
        "popupFields": [list(pair) for pair in data.popup_fields],
        "projects": data.projects,
        "projectPopupFields": [list(pair) for pair in data.project_popup_fields],
        "groups": data.groups,
        "groupPopupFields": [list(pair) for pair in data.group_popup_fields],
        "households": {
            "url": data.points_url,
            "tiles": data.points_tiles,
            "ward": data.points_ward,
            "shown": data.shown_indicator,
            "noDataColour": NO_DATA_COLOUR,
            # No household layers at all without a URL (a published city's public map).
            "indicators": [
                {
                    "key": style.key,
                    "name": f"{households}: {style.title[language]}",
                    "colours": [colour for _, colour in style.colours],
                    # What a tile's point carries: its answer to the question, by value.
                    "question": style.question,
                    "values": [value for value, _ in style.colours],
                }
                for style in POINT_STYLES
            ]
            if data.points_url or data.points_tiles
            else [],
        },
        "legend": legend_spec(data),
    }


def script_json(value: Any) -> str:
    """JSON safe to put inside a <script> element: it can neither close it nor run."""
    return orjson.dumps(value).decode().translate(SCRIPT_UNSAFE)


@functools.lru_cache(maxsize=4)
def _skeleton(static_url: str) -> str:
    """folium's page around the map, from constant strings only (the same for every map)."""
    import folium
    from branca.element import Element, Figure, MacroElement
    from folium.template import Template

    static = static_url.rstrip("/")

    class Build(MacroElement):
        """Hands the map to cdfmap.js, which draws everything from the JSON data block."""

        _template = Template(
            """
            {% macro script(this, kwargs) %}
            CdfMap.build({{ this._parent.get_name() }}, {{ this.data_id|tojson }});
            {% endmacro %}
            """
        )

        def __init__(self) -> None:
            super().__init__()
            self._name = "Build"
            self.data_id = DATA_ID

    figure = Figure()
    fmap = folium.Map(
        location=[0, 0],  # cdfmap.js fits the map to the area before drawing anything
        zoom_start=14,
        tiles=None,
        control_scale=False,
        max_zoom=20,
        zoom_snap=0.25,  # fit a city or ward closely to the screen
        zoom_delta=0.5,
    )
    # Every script and stylesheet from this app: phones and ward offices are often offline.
    fmap.default_js = [
        ("leaflet", f"{static}/{LEAFLET}/leaflet.js"),
        # Leaflet's own words in the page's language, before folium makes the map.
        ("leaflet_texts", f"{static}/maps/leaflet-texts.js"),
        ("cdfgroups", f"{static}/maps/cdfgroups.js"),
        ("cdfcontext", f"{static}/maps/cdfcontext.js"),
        ("vector_tile", f"{static}/{VECTOR_TILE}/vector-tile.js"),
        ("cdfmap", f"{static}/maps/cdfmap.js"),
        # The page and its data kept for offline use, and the note when they are shown (its
        # time written as the page's language writes it).
        ("cdfdates", f"{static}/pages/dates.js"),
        ("cdfoffline", f"{static}/maps/offline.js"),
    ]
    fmap.default_css = [
        ("leaflet_css", f"{static}/{LEAFLET}/leaflet.css"),
        ("cdfmap_css", f"{static}/maps/cdfmap.css"),
    ]
    figure.add_child(fmap)
    # No favicon request (it would 404 and count as a console error).
    figure.header.add_child(Element('<link rel="icon" href="data:,">'), name="favicon")
    Build().add_to(fmap)
    page: str = figure.render()
    # folium's viewport forbids zooming the page (user-scalable=no, maximum-scale=1): people
    # who need larger text on a phone must be able to pinch it.
    page, viewports = VIEWPORT.subn(
        '<meta name="viewport" content="width=device-width, initial-scale=1.0" />', page
    )
    assert viewports == 1, "folium's viewport meta element changed"
    # The insertion point of the title and data must be unambiguous.
    assert page.count("<head>") == 1 and page.count("<html>") == 1 and "<title>" not in page
    return page


def render_web_map(data: WebMapInput, nonce: str = "") -> str:
    """The map page as one HTML string (assets linked under data.static_url).

    `nonce` is the request's Content-Security-Policy nonce: every <script> carries it.
    """
    if not NONCE.fullmatch(nonce):
        raise ValueError("a CSP nonce is base64 text")
    if data.language not in LANGUAGES:
        raise ValueError(f"unknown language {data.language!r}")
    page = _skeleton(data.static_url)
    if nonce:
        # Only folium's constant templates are in the page so far: each <script is theirs.
        page = page.replace("<script", f'<script nonce="{nonce}"')
    nonce_attribute = f' nonce="{nonce}"' if nonce else ""
    offline_note = translate("page.offline_note", data.language)
    control_texts = html.escape(script_json(leaflet_texts(data.language)))
    head = (
        f"<head>\n<title>{html.escape(data.title)}</title>\n"
        f'<meta name="cdfmap-offline" content="{html.escape(offline_note)}">\n'
        f'<meta name="leaflet-texts" content="{control_texts}">\n'
        f'<script type="application/json" id="{DATA_ID}"{nonce_attribute}>'
        f"{script_json(page_data(data))}</script>"
    )
    page = page.replace("<html>", f'<html lang="{data.language}">', 1)
    return page.replace("<head>", head, 1)


def not_found_page(heading: str, message: str, language: str, home: str | None = None) -> str:
    """A small HTML page for a map that does not exist, or another refusal (texts escaped,
    no script); `home`: the words of a link to the start page in the same language."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}")
    link = f'<p><a href="/?lang={language}">{html.escape(home)}</a></p>\n' if home else ""
    return (
        f'<!DOCTYPE html>\n<html lang="{language}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(heading)}</title>\n"
        '<link rel="icon" href="data:,">\n</head>\n'
        f"<body>\n<h1>{html.escape(heading)}</h1>\n<p>{html.escape(message)}</p>\n{link}"
        "</body>\n</html>\n"
    )
