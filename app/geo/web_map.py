"""Interactive maps (folium + Leaflet) built from plain data; every asset is served locally.

Household points are not embedded: the page fetches them as compact JSON and draws them on
canvas tiles (static/maps/cdfmap.js), so the HTML does not grow with the number of households.
Pure: no FastAPI, no database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.geo.styles import (
    CLASS_COLOURS,
    NO_DATA_COLOUR,
    POINT_STYLES,
    class_colour,
    class_labels,
)
from app.i18n import translate

LEAFLET = "vendor/leaflet-1.9.4"


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
    points_url: str
    point_labels: dict[str, dict[str, str]]  # style key -> answer value -> label
    static_url: str = "/static"
    basemap_url: str | None = None
    basemap_attribution: str = ""
    shown_indicator: str = "tenure"
    point_titles: dict[str, str] = field(default_factory=dict)


def _t(key: str, language: str) -> str:
    return translate(f"web_map.{key}", language)


def legend_spec(data: WebMapInput) -> dict[str, Any]:
    """The legend's content: priority classes and, per household indicator, its answers."""
    language = data.language
    priority_items = [
        [colour, label] for colour, label in zip(CLASS_COLOURS, class_labels(), strict=True)
    ]
    priority_items.append([NO_DATA_COLOUR, _t("no_data", language)])
    indicators = {}
    for style in POINT_STYLES:
        labels = data.point_labels.get(style.key, {})
        items = [[colour, labels.get(value, value)] for value, colour in style.colours]
        items.append([NO_DATA_COLOUR, _t("no_answer", language)])
        indicators[style.key] = {
            "title": f"{_t('households', language)}: {style.title[language]}",
            "items": items,
        }
    return {
        "priority": {"title": _t("priority", language), "items": priority_items},
        "indicators": indicators,
        "note": _t("note", language),
    }


def render_web_map(data: WebMapInput) -> str:
    """The map page as one HTML string (assets linked under data.static_url)."""
    import folium
    from branca.element import Element, Figure, MacroElement
    from folium.template import Template

    static = data.static_url.rstrip("/")
    language = data.language

    class HouseholdLayer(folium.map.Layer):
        """Household points of one indicator on canvas tiles (CdfMap.householdLayer)."""

        _template = Template(
            """
            {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = CdfMap.householdLayer({{ this.options|tojson }});
            {% endmacro %}
            """
        )

        def __init__(self, name: str, show: bool, options: dict[str, Any]) -> None:
            super().__init__(name=name, overlay=True, control=True, show=show)
            self._name = "HouseholdLayer"
            self.options = options

    class Decorations(MacroElement):
        """Title box and legend."""

        _template = Template(
            """
            {% macro script(this, kwargs) %}
            L.control.scale({imperial: false, maxWidth: 160}).addTo({{ this._parent.get_name() }});
            CdfMap.title({{ this._parent.get_name() }}, {{ this.title|tojson }});
            CdfMap.legend({{ this._parent.get_name() }}, {{ this.legend|tojson }});
            {% endmacro %}
            """
        )

        def __init__(self, title: dict[str, str], legend: dict[str, Any]) -> None:
            super().__init__()
            self._name = "Decorations"
            self.title = title
            self.legend = legend

    class LayerControl(folium.LayerControl):
        """Leaflet's layer control, open on a desktop, folded into a button on a phone."""

        _template = Template(
            """
            {% macro script(this, kwargs) %}
            var {{ this.get_name() }}_layers = {
                base_layers: {
                    {%- for key, val in this.base_layers.items() %}
                    {{ key|tojson }}: {{ val }},
                    {%- endfor %}
                },
                overlays: {
                    {%- for key, val in this.overlays.items() %}
                    {{ key|tojson }}: {{ val }},
                    {%- endfor %}
                },
            };
            let {{ this.get_name() }} = L.control.layers(
                {{ this.get_name() }}_layers.base_layers,
                {{ this.get_name() }}_layers.overlays,
                Object.assign({{ this.options|tojson }}, {collapsed: window.innerWidth < 700})
            ).addTo({{ this._parent.get_name() }});
            {% endmacro %}
            """
        )

    west, south, east, north = data.bounds
    figure = Figure(title=data.title)
    fmap = folium.Map(
        location=[(south + north) / 2, (west + east) / 2],
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
        ("cdfmap", f"{static}/maps/cdfmap.js"),
    ]
    fmap.default_css = [
        ("leaflet_css", f"{static}/{LEAFLET}/leaflet.css"),
        ("cdfmap_css", f"{static}/maps/cdfmap.css"),
    ]
    figure.add_child(fmap)
    # No favicon request (it would 404 and count as a console error).
    figure.header.add_child(Element('<link rel="icon" href="data:,">'), name="favicon")
    fmap.fit_bounds([[south, west], [north, east]])

    if data.basemap_url:
        folium.TileLayer(
            tiles=data.basemap_url,
            attr=data.basemap_attribution,
            name=_t("basemap", language),
            overlay=False,
            control=False,
            max_zoom=20,
        ).add_to(fmap)

    folium.GeoJson(
        data.settlements,
        name=_t("settlements", language),
        style_function=lambda feature: {
            "fillColor": class_colour(feature["properties"].get("score")),
            "fillOpacity": 0.55,
            "color": "#5b2c06",
            "weight": 1.5,
        },
        highlight_function=lambda feature: {"weight": 3, "fillOpacity": 0.7},
        tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
        popup=folium.GeoJsonPopup(
            fields=[name for name, _ in data.popup_fields],
            aliases=[label for _, label in data.popup_fields],
            class_name="cdf-popup",
        ),
    ).add_to(fmap)

    folium.GeoJson(
        data.wards,
        name=_t("wards", language),
        style_function=lambda feature: {
            "fill": False,
            "color": "#222222",
            "weight": 2.5,
            "dashArray": "6 4",
        },
        tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
        interactive=True,
    ).add_to(fmap)

    for style in POINT_STYLES:
        HouseholdLayer(
            name=f"{_t('households', language)}: {style.title[language]}",
            show=style.key == data.shown_indicator,
            options={
                "url": data.points_url,
                "indicatorKey": style.key,
                "colours": [colour for _, colour in style.colours],
                "noDataColour": NO_DATA_COLOUR,
                # Above the settlement polygons; canvas tiles let clicks through to them.
                "pane": "markerPane",
            },
        ).add_to(fmap)

    LayerControl(position="topright").add_to(fmap)
    Decorations({"title": data.title, "subtitle": data.subtitle}, legend_spec(data)).add_to(fmap)
    html: str = figure.render()
    return html
