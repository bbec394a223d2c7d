"""Printable ward maps (PDF or PNG) with matplotlib: pure, takes plain data, returns bytes.

One page: title, the map (ward boundary, settlements coloured and hatched so a black-and-white
copy still reads, households rasterized, settlement names), legend, scale bar in metres, north
arrow, the settlements ranked by priority with their shares, source and date, a notes box.
Text uses DejaVu Sans, which has every Vietnamese diacritic. Every text is drawn literally:
matplotlib would otherwise read `$...$` in a name as mathtext ("Hẻm $5 và $10" printed as
"Hẻm 5và10", an unknown command such as `$\\foo$` failed the page).
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from app.geo import cdf_groups, cdf_projects_print
from app.geo.styles import (
    NO_DATA_COLOUR,
    POINT_STYLE_BY_KEY,
    PRINT_OUTLINE,
    class_labels,
    print_fill,
    value_class,
)
from app.i18n import translate

PAPER_MM = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}
PNG_DPI = 200
PDF_RASTER_DPI = 150  # the households' image inside a PDF; text and shapes stay vector
MAX_TABLE_ROWS = {"A4": 16, "A3": 28}
FONT = "DejaVu Sans"
TITLE_SIZE = {"A4": 16.0, "A3": 20.0}
MIN_TITLE_SIZE = 8.0  # a longer ward and city name than fits at this size is shortened
TITLE_WIDTH = 0.96  # of the page


@dataclass(frozen=True)
class PrintInput:
    """Everything one printed ward map shows (no personal data: aggregates and points)."""

    ward_name: str
    city_name: str
    ward_geometry: dict[str, Any]  # GeoJSON geometry, lon/lat
    settlements: list[dict[str, Any]]  # geometry, name, label_lon/lat, score, shares, ...
    households: Sequence[tuple[float, float, str | None]]  # lon, lat, answer (or None)
    indicator: str  # "priority" or an indicator key
    indicator_labels: dict[str, dict[str, str]]  # key -> {vi, en}
    indicator_short: dict[str, dict[str, str]]
    point_style: str | None  # which household answer colours the points, if any
    point_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    households_total: int = 0
    data_date: str | None = None
    language: str = "vi"
    printed_on: str = field(default_factory=lambda: date.today().isoformat())
    projects: list[dict[str, Any]] = field(default_factory=list)  # cdf_projects_print
    groups: list[dict[str, Any]] = field(default_factory=list)  # app/geo/cdf_groups.py


def _t(data: PrintInput, key: str, **params: Any) -> str:
    return translate(f"print_map.{key}", data.language, **params)


def paper_inches(size: str, orientation: str) -> tuple[float, float]:
    """Width and height of the page in inches."""
    if size not in PAPER_MM or orientation not in ("landscape", "portrait"):
        raise ValueError(f"unknown paper {size} {orientation}")
    short, long = (mm / 25.4 for mm in PAPER_MM[size])
    return (long, short) if orientation == "landscape" else (short, long)


def utm_epsg(lon: float, lat: float) -> int:
    """The EPSG code of the WGS 84 / UTM zone holding a point (metres for the scale bar)."""
    zone = min(int((lon + 180) // 6) + 1, 60)
    return (32600 if lat >= 0 else 32700) + zone


def nice_length(span_m: float) -> float:
    """A round scale-bar length of about a quarter of the map's width."""
    target = span_m / 4
    for length in (10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000):
        if length >= target:
            return float(length)
    return float(10 ** math.floor(math.log10(target)))


def _value(data: PrintInput, settlement: dict[str, Any]) -> float | None:
    if data.indicator == "priority":
        score = settlement.get("score")
        return None if score is None else float(score)
    share = (settlement.get("shares") or {}).get(data.indicator)
    return None if share is None else 100.0 * float(share)


def _indicator_title(data: PrintInput) -> str:
    if data.indicator == "priority":
        return _t(data, "priority")
    return data.indicator_labels[data.indicator][data.language]


def _layout(orientation: str) -> dict[str, tuple[float, ...]]:
    if orientation == "landscape":
        return {
            "map": (0.015, 0.075, 0.59, 0.80),
            "legend": (0.625, 0.575, 0.36, 0.31),
            "table": (0.625, 0.21, 0.36, 0.32),
            "notes": (0.625, 0.04, 0.36, 0.15),
            "footer": (0.015, 0.012),
        }
    return {
        "map": (0.03, 0.43, 0.94, 0.48),
        "legend": (0.03, 0.265, 0.44, 0.16),
        "notes": (0.52, 0.275, 0.45, 0.14),
        "table": (0.03, 0.055, 0.94, 0.20),
        "footer": (0.03, 0.012),
    }


def _rect(values: tuple[float, ...]) -> tuple[float, float, float, float]:
    left, bottom, width, height = values
    return (left, bottom, width, height)


def _draw_scale_bar(ax: Any, xmin: float, xmax: float, ymin: float, ymax: float) -> None:
    from matplotlib.patches import Rectangle

    length = nice_length(xmax - xmin)
    height = (ymax - ymin) * 0.012
    x0 = xmin + (xmax - xmin) * 0.04
    y0 = ymin + (ymax - ymin) * 0.04
    half = length / 2
    for index, colour in enumerate(("black", "white")):
        ax.add_patch(
            Rectangle(
                (x0 + index * half, y0),
                half,
                height,
                facecolor=colour,
                edgecolor="black",
                linewidth=0.8,
                zorder=20,
            )
        )
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    for x, text in ((x0, "0"), (x0 + half, ""), (x0 + length, label)):
        if text:
            ax.text(x, y0 + height * 1.6, text, ha="center", va="bottom", fontsize=7, zorder=20)


def _draw_north_arrow(ax: Any, data: PrintInput) -> None:
    ax.annotate(
        _t(data, "north"),
        xy=(0.95, 0.95),
        xytext=(0.95, 0.85),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=11,
        fontweight="bold",
        arrowprops={"facecolor": "black", "width": 4, "headwidth": 11, "headlength": 10},
        zorder=20,
    )


# Household symbols cover about this share of the settlements' area (if spread evenly), so
# the settlement's class still reads on a grey copy (tests/unit/test_print_grey.py: 400
# households in a 240 m square cover 13% of it); their diameter stays within these (pt).
HOUSEHOLD_COVER = 0.06
HOUSEHOLD_DIAMETER = (0.9, 3.2)


def household_marker_diameter(count: int, area_points2: float) -> float:
    """The diameter (points) of a household's symbol: `count` of them spread over
    `area_points2` cover about HOUSEHOLD_COVER of it, within HOUSEHOLD_DIAMETER."""
    low, high = HOUSEHOLD_DIAMETER
    if count <= 0:
        return high
    diameter = math.sqrt(4 * HOUSEHOLD_COVER * area_points2 / (math.pi * count))
    return min(high, max(low, diameter))


def _axes_points_per_metre(ax: Any, width_m: float, height_m: float) -> float:
    """Points of paper per metre of ground in the map's axes (equal aspect)."""
    box = ax.get_position()
    width_in, height_in = ax.figure.get_size_inches()
    return min(box.width * width_in * 72 / width_m, box.height * height_in * 72 / height_m)


@functools.lru_cache(maxsize=8)
def _transformer(crs: str) -> Any:
    """A cached lon/lat -> projected metres transformer."""
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:4326", crs, always_xy=True)


def _draw_map(ax: Any, data: PrintInput) -> None:
    import geopandas as gpd
    import matplotlib.patheffects as effects
    import numpy as np
    from matplotlib.colors import to_rgba_array
    from shapely.geometry import shape
    from shapely.plotting import patch_from_polygon

    ward = shape(data.ward_geometry)
    centre = ward.centroid
    crs = f"EPSG:{utm_epsg(centre.x, centre.y)}"
    ward_m = gpd.GeoSeries([ward], crs="EPSG:4326").to_crs(crs).iloc[0]
    xmin, ymin, xmax, ymax = ward_m.bounds
    pad = max(xmax - xmin, ymax - ymin) * 0.05
    xmin, ymin, xmax, ymax = xmin - pad, ymin - pad, xmax + pad, ymax + pad

    ax.set_facecolor("white")
    for polygon in getattr(ward_m, "geoms", [ward_m]):
        ax.add_patch(patch_from_polygon(polygon, facecolor="#f7f5f0", edgecolor="none", zorder=1))
        ax.plot(*polygon.exterior.xy, color="black", linewidth=1.6, linestyle="--", zorder=6)

    if data.settlements:
        shapes = gpd.GeoSeries(
            [shape(s["geometry"]) for s in data.settlements], crs="EPSG:4326"
        ).to_crs(crs)
        for settlement, geometry in zip(data.settlements, shapes, strict=True):
            fill = print_fill(value_class(_value(data, settlement)))
            for polygon in getattr(geometry, "geoms", [geometry]):
                ax.add_patch(
                    patch_from_polygon(
                        polygon,
                        facecolor=fill.facecolor,
                        edgecolor=PRINT_OUTLINE,
                        hatch=fill.hatch,
                        hatchcolor=fill.hatch_colour,
                        linewidth=fill.linewidth,
                        linestyle=fill.linestyle,
                        zorder=3,
                    )
                )
        settled_m2 = float(shapes.area.sum())
    else:
        settled_m2 = 0.0

    if data.households:
        count = len(data.households)
        lons = np.fromiter((h[0] for h in data.households), float, count)
        lats = np.fromiter((h[1] for h in data.households), float, count)
        xs, ys = _transformer(crs).transform(lons, lats)
        style = POINT_STYLE_BY_KEY.get(data.point_style or "")
        points_per_m = _axes_points_per_metre(ax, xmax - xmin, ymax - ymin)
        diameter = household_marker_diameter(
            count, max(settled_m2, 0.02 * (xmax - xmin) * (ymax - ymin)) * points_per_m**2
        )
        if style:
            # One RGBA row per answer (last row: no answer), indexed per household: no
            # per-point colour parsing.
            palette = to_rgba_array([colour for _, colour in style.colours] + [NO_DATA_COLOUR])
            answer_index = {value: i for i, value in enumerate(style.values)}
            missing = len(style.values)
            codes = np.fromiter(
                (answer_index.get(h[2] or "", missing) for h in data.households), np.intp, count
            )
            ax.scatter(
                xs,
                ys,
                s=diameter**2,
                c=palette[codes],
                edgecolors="black",
                linewidths=min(0.3, diameter / 6),
                rasterized=True,  # one image, whatever the number of households
                zorder=5,
            )
        else:
            # Hollow rings: the settlement's fill (its class) shows inside and between them.
            ax.scatter(
                xs,
                ys,
                s=diameter**2,
                facecolors="none",
                edgecolors="#202020",
                linewidths=min(0.35, diameter / 5),
                rasterized=True,
                zorder=5,
            )

    if data.projects:
        cdf_projects_print.draw_on_map(ax, data.projects, crs)
    cdf_groups.draw_on_map(ax, data.groups, crs)
    halo = [effects.withStroke(linewidth=2.5, foreground="white")]
    if data.settlements:
        label_points = gpd.points_from_xy(
            [s["label_lon"] for s in data.settlements],
            [s["label_lat"] for s in data.settlements],
            crs="EPSG:4326",
        ).to_crs(crs)
        for settlement, point in zip(data.settlements, label_points, strict=True):
            rank = settlement.get("rank_in_ward")
            name = settlement["name"]
            ax.text(
                point.x,
                point.y,
                f"{rank}. {name}" if rank else name,
                fontsize=7,
                ha="center",
                va="center",
                path_effects=halo,
                zorder=10,
            )

    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_linewidth(0.8)
    _draw_scale_bar(ax, xmin, xmax, ymin, ymax)
    _draw_north_arrow(ax, data)


def _draw_legend(ax: Any, data: PrintInput) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    ax.axis("off")
    if data.indicator == "priority":
        title = _t(data, "priority_legend")
    else:
        title = _t(data, "share_legend", label=_indicator_title(data))
    class_texts = [*class_labels(), _t(data, "no_data")]
    handles: list[Any] = []
    for index, label in zip([0, 1, 2, 3, 4, None], class_texts, strict=True):
        fill = print_fill(index)
        handles.append(
            Patch(
                facecolor=fill.facecolor,
                edgecolor=PRINT_OUTLINE,
                hatch=fill.hatch,
                hatchcolor=fill.hatch_colour,
                linestyle=fill.linestyle,
                linewidth=fill.linewidth,
                label=label,
            )
        )
    handles.append(
        Line2D(
            [0], [0], color="black", linestyle="--", linewidth=1.4, label=_t(data, "ward_boundary")
        )
    )
    if data.projects:
        handles += cdf_projects_print.legend_handles(data.language)
    if data.groups:
        handles += cdf_groups.legend_handles(data.language)
    first = ax.legend(
        handles=handles,
        title=title,
        loc="upper left",
        ncols=2,
        fontsize=7,
        title_fontsize=8,
        frameon=False,
        alignment="left",
    )
    style = POINT_STYLE_BY_KEY.get(data.point_style or "")
    labels = data.point_labels.get(style.key, {}) if style else {}
    if style:
        point_handles = [
            Line2D(
                [0],
                [0],
                marker="o",
                linestyle="",
                markerfacecolor=colour,
                markeredgecolor="black",
                markersize=5,
                label=_short(labels.get(value, value), 34),
            )
            for value, colour in style.colours
        ]
        point_title = _t(data, "households_by", label=style.title[data.language])
    else:
        point_handles = [
            Line2D([0], [0], marker="o", linestyle="", color="#303030", markersize=3,
                   label=_t(data, "households"))
        ]  # fmt: skip
        point_title = ""
    ax.add_artist(first)
    ax.legend(
        handles=point_handles,
        title=point_title or None,
        loc="upper left",
        bbox_to_anchor=(0.0, 0.44),
        ncols=1 if len(point_handles) <= 4 else 2,
        fontsize=7,
        title_fontsize=8,
        frameon=False,
        alignment="left",
    )


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fit_title(text: str, size: float, width_inches: float) -> tuple[str, float]:
    """The title and bold font size that fit in `width_inches`: smaller, then shortened."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    available = width_inches * 72  # points

    def width(candidate: str, points: float) -> float:
        prop = FontProperties(family=FONT, size=points, weight="bold")
        measured, _, _ = text_to_path.get_text_width_height_descent(candidate, prop, ismath=False)
        return float(measured)

    measured = width(text, size)
    if measured <= available:
        return text, size
    size = max(MIN_TITLE_SIZE, size * available / measured)
    measured = width(text, size)
    while measured > available and len(text) > 1:
        text = _short(text, max(1, min(len(text) - 1, int(len(text) * available / measured))))
        measured = width(text, size)
    return text, size


def _draw_table(ax: Any, data: PrintInput, size: str, orientation: str) -> None:
    ax.axis("off")
    ax.set_title(_t(data, "table_title"), fontsize=8, loc="left", fontweight="bold")
    keys = list(data.indicator_short)
    ranked = sorted(
        data.settlements,
        key=lambda s: (s.get("rank_in_ward") is None, s.get("rank_in_ward") or 0, s["name"]),
    )
    limit = MAX_TABLE_ROWS[size] // (2 if orientation == "portrait" else 1)
    shown = ranked[:limit]
    header = [_t(data, "rank"), _t(data, "settlement"), _t(data, "hh"), _t(data, "score")]
    header += [data.indicator_short[key][data.language] for key in keys]
    header = [label if i == 1 else label.replace(" ", "\n") for i, label in enumerate(header)]
    rows = []
    for settlement in shown:
        score = settlement.get("score")
        shares = settlement.get("shares") or {}
        rows.append(
            [
                str(settlement.get("rank_in_ward") or "–"),
                _short(settlement["name"], 26 if orientation == "landscape" else 40),
                str(settlement.get("households") or 0),
                "–" if score is None else f"{score:.0f}",
                *["–" if shares.get(k) is None else f"{100 * shares[k]:.0f}" for k in keys],
            ]
        )
    if not rows:
        rows.append(["–", _t(data, "no_data"), "0", "–", *["–" for _ in keys]])
    name_width = 0.28 if orientation == "landscape" else 0.34
    other = (1.0 - name_width - 0.07) / (len(header) - 2)
    widths = [0.07, name_width, *[other] * (len(header) - 2)]
    table = ax.table(
        cellText=rows,
        colLabels=header,
        colWidths=widths,
        loc="upper center",
        cellLoc="center",
    )
    table.auto_set_font_size(False)
    table.set_fontsize(6 if orientation == "landscape" else 6.5)
    table.scale(1.0, 1.15)
    highlight = keys.index(data.indicator) + 4 if data.indicator in keys else 3
    for (row, column), cell in table.get_celld().items():
        cell.set_linewidth(0.4)
        if row == 0:
            cell.set_height(cell.get_height() * 1.8)
            cell.set_facecolor("#e8e8e8")
            cell.get_text().set_fontweight("bold")
        if column == 1 and row > 0:
            cell.get_text().set_horizontalalignment("left")
        if column == highlight:
            cell.get_text().set_fontweight("bold")
    if len(ranked) > len(shown):
        ax.text(
            0.0,
            -0.02,
            _t(data, "more", count=len(ranked) - len(shown)),
            fontsize=6,
            transform=ax.transAxes,
            va="top",
        )


def _draw_notes(ax: Any, data: PrintInput) -> None:
    from matplotlib.patches import Rectangle

    ax.axis("off")
    ax.add_patch(
        Rectangle((0, 0), 1, 1, transform=ax.transAxes, fill=False, linewidth=0.8, clip_on=False)
    )
    ax.text(0.02, 0.93, _t(data, "notes"), fontsize=8, fontweight="bold", va="top")
    for index in range(1, 5):
        y = 0.93 - index * 0.19
        ax.plot([0.02, 0.98], [y, y], color="#bbbbbb", linewidth=0.5, linestyle=":")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)


def _page_texts(figure: Any, tick_labels: bool = False) -> list[Any]:
    """The text objects of the page: titles, labels, legends, table cells (and, once drawn,
    the tick labels of its hidden axes)."""
    from matplotlib.axis import Axis
    from matplotlib.legend import Legend
    from matplotlib.table import Table
    from matplotlib.text import Text

    # (figure.findobj(Text) finds them too, but walks every tick and patch: 60 ms a page.)
    texts: list[Any] = list(figure.texts)
    for axes in figure.axes:
        for child in axes.get_children():
            if isinstance(child, Text):
                texts.append(child)
            elif isinstance(child, Legend):
                texts += [*child.get_texts(), child.get_title()]
            elif isinstance(child, Table):
                texts += [cell.get_text() for cell in child.get_celld().values()]
            elif isinstance(child, Axis):
                texts += [child.label, child.offsetText]
                # The ticks that drawing created (get_ticklabels would update them: 80 ms).
                if tick_labels:
                    ticks = [*child.majorTicks, *child.minorTicks]
                    texts += [label for tick in ticks for label in (tick.label1, tick.label2)]
    return texts


def _literal_text(texts: list[Any]) -> None:
    """Turn mathtext off on every text of the page."""
    # render_print_map's rc_context sets the same default, but rcParams are shared by every
    # thread and prints render two at a time: another print leaving its rc_context restores
    # the global values while this one still creates texts. Each text's flag is its own.
    for text in texts:
        text.set_parse_math(False)


def _release_renderer(figure: Any, texts: list[Any]) -> None:
    """Drop the references to the page's image (the Agg renderer) that a saved figure keeps.

    A Figure is a reference cycle (its axes and texts point back at it), so only a full
    garbage collection frees it, and the server (after gc.freeze) seldom runs one; meanwhile
    every drawn text keeps the renderer, whose buffer is the whole page (31 MB for an A3
    PNG). Measured with 20 simultaneous A3 PNG requests: the server peaked at 480 MB and
    kept it; with this, 270 MB. gc.collect() frees as much but walks every object imported
    since start-up (matplotlib, geopandas...): 60-200 ms a page against microseconds here.
    """
    for text in texts:
        text._renderer = None  # set by Text.draw; matplotlib has no public way to drop it
    figure.canvas.__dict__.pop("renderer", None)  # FigureCanvasAgg caches its last one


def _draw_page(
    figure: Any, data: PrintInput, size: str, orientation: str, title: str, when: str
) -> None:
    """Everything on the page: title, map, legend, table, notes box, footer."""
    width, _ = paper_inches(size, orientation)
    layout = _layout(orientation)
    if data.projects:
        layout = cdf_projects_print.with_projects(layout, orientation)
    # Names of any length stay on the page.
    shown, title_size = fit_title(title, TITLE_SIZE[size], width * TITLE_WIDTH)
    figure.text(0.5, 0.975, shown, ha="center", va="top", fontsize=title_size, fontweight="bold")
    figure.text(
        0.5,
        0.935,
        _t(data, "subtitle", indicator=_indicator_title(data), date=when),
        ha="center",
        va="top",
        fontsize=9 if size == "A4" else 11,
    )
    _draw_map(figure.add_axes(_rect(layout["map"])), data)
    _draw_legend(figure.add_axes(_rect(layout["legend"])), data)
    _draw_table(figure.add_axes(_rect(layout["table"])), data, size, orientation)
    _draw_notes(figure.add_axes(_rect(layout["notes"])), data)
    if data.projects:
        table = figure.add_axes(_rect(layout["projects"]))
        cdf_projects_print.draw_table(table, data.projects, data.language, orientation)
    footer_x, footer_y = layout["footer"]
    households = f"{data.households_total:,}".replace(",", ".")
    figure.text(
        footer_x,
        footer_y + 0.018,
        _t(data, "source", households=households, date=when, today=data.printed_on),
        fontsize=6.5,
    )
    figure.text(footer_x, footer_y, _t(data, "formula"), fontsize=6.5, color="#333333")


def render_print_map(
    data: PrintInput,
    size: str = "A4",
    orientation: str = "landscape",
    output: str = "pdf",
    on_page: Callable[[Any], None] | None = None,
) -> bytes:
    """Render one printable page; output is 'pdf' or 'png' (200 dpi). `on_page` (tests) sees
    the drawn Figure before it is released."""
    import matplotlib
    from matplotlib.figure import Figure

    if output not in ("pdf", "png"):
        raise ValueError(f"unknown output {output!r}")
    width, height = paper_inches(size, orientation)
    when = data.data_date or _t(data, "no_date")
    full_title = _t(data, "title", ward=data.ward_name, city=data.city_name)
    buffer = io.BytesIO()
    # Type 3 font subsets: pdftotext still reads every diacritic, and embedding is ~1 s faster
    # than Type 42 (TrueType) subsetting.
    with matplotlib.rc_context(
        {
            "font.family": FONT,
            "pdf.fonttype": 3,
            "hatch.linewidth": 0.5,
            "hatch.color": "#3b1d05",
            "text.parse_math": False,
        }
    ):
        figure = Figure(figsize=(width, height))
        try:
            _draw_page(figure, data, size, orientation, full_title, when)
            _literal_text(_page_texts(figure))
            if output == "pdf":
                figure.savefig(
                    buffer,
                    format="pdf",
                    dpi=PDF_RASTER_DPI,
                    metadata={
                        "Title": full_title,
                        "Creator": "cdfmap",
                        "Subject": _indicator_title(data),
                    },
                )
            else:
                figure.savefig(buffer, format="png", dpi=PNG_DPI)
            if on_page is not None:
                on_page(figure)
        finally:
            # Hidden axes too: placing a title measured the tick labels below it.
            _release_renderer(figure, _page_texts(figure, tick_labels=True))
    return buffer.getvalue()
