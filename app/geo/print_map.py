"""Printable ward maps (PDF or PNG) with matplotlib: pure, takes plain data, returns bytes.

One page: title, the map (ward boundary, settlements coloured and hatched so a black-and-white
copy still reads, households rasterized, settlement names), legend, scale bar in metres, north
arrow, the settlements ranked by priority with their shares, source and date, a notes box.
Text uses DejaVu Sans, which has every Vietnamese diacritic, and for other scripts the
fallback fonts of print_layout.FONT (a right-to-left name is isolated in the title). Every
text is drawn literally: matplotlib would otherwise read `$...$` in a name as mathtext
("Hẻm $5 và $10" printed as "Hẻm 5và10", an unknown command such as `$\\foo$` failed the page).
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.geo import cdf_groups, cdf_projects_print, household_raster, map_labels, print_layout
from app.geo.household_raster import HouseholdPoints
from app.geo.print_layout import LEADING, check_print_fonts, document_title, isolated, printable
from app.geo.styles import (
    NO_DATA_COLOUR,
    POINT_STYLE_BY_KEY,
    PRINT_OUTLINE,
    class_labels,
    print_fill,
    value_class,
)
from app.i18n import date_text, number_text, translate, whole_percent, whole_score
from app.vietnam import today_in_vietnam

PAPER_MM = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}
PNG_DPI = 200
PDF_RASTER_DPI = 150  # the households' image inside a PDF; text and shapes stay vector
FONT = print_layout.FONT
TITLE_SIZE = {"A4": 16.0, "A3": 20.0}
MAX_TITLE_LINES = 3  # a longer ward and city name is set smaller, then shortened with "…"
# Every other text (legend, table, labels, sources): readable at arm's length on each paper.
BODY_SIZE = {"A4": 9.0, "A3": 11.0}
MARGIN = 0.02  # of the page's short side
# Landscape: the map takes this share of the width and the full height (55% of the page);
# portrait: the map takes the width from this share of the height up to the title (51%),
# the legend this share of the band below it, the table the rest.
MAP_SHARE_LANDSCAPE = 0.59
MAP_BOTTOM_PORTRAIT = 0.38
LEGEND_SHARE_PORTRAIT = 0.42
PROJECTS_SHARE = {"landscape": 0.3, "portrait": 0.3}  # of the map's height, for their table
NOTES_MIN_LINES = 4
LABEL_WIDTH = 14  # a settlement's name on the map wraps at this many times the font size
NAME_PAD = 0.4  # around a settlement's name (its white halo), per point of size


@dataclass(frozen=True)
class PrintInput:
    """Everything one printed ward map shows (no personal data: aggregates and points)."""

    ward_name: str
    city_name: str
    ward_geometry: dict[str, Any]  # GeoJSON geometry, lon/lat
    settlements: list[dict[str, Any]]  # geometry, name, label_lon/lat, score, shares, ...
    # (lon, lat, answer or None) rows, or the same as columns (HouseholdPoints, as the
    # database gives them: a ward has up to ~140,000 households).
    households: Sequence[tuple[float, float, str | None]] | HouseholdPoints
    indicator: str  # "priority" or an indicator key
    indicator_labels: dict[str, dict[str, str]]  # key -> {vi, en}
    indicator_short: dict[str, dict[str, str]]
    point_style: str | None  # which household answer colours the points, if any
    point_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    households_total: int = 0
    data_date: str | None = None
    language: str = "vi"
    printed_on: str = field(default_factory=lambda: today_in_vietnam().isoformat())
    projects: list[dict[str, Any]] = field(default_factory=list)  # cdf_projects_print
    groups: list[dict[str, Any]] = field(default_factory=list)  # app/geo/cdf_groups.py
    # Streets, water and landmarks under the map (app/geo/context_print.py), lon/lat, and
    # the line their source asks to be printed (OpenStreetMap's ODbL attribution).
    context: Sequence[Any] = ()
    context_attribution: str = ""


def _t(data: PrintInput, key: str, **params: Any) -> str:
    """A text of the page with its names (a right-to-left one isolated) put in."""
    names = {k: isolated(v) if isinstance(v, str) else v for k, v in params.items()}
    return translate(f"print_map.{key}", data.language, **names)


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


def _draw_scale_bar(
    ax: Any, xmin: float, xmax: float, ymin: float, ymax: float, size: float
) -> None:
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
            ax.text(x, y0 + height * 1.6, text, ha="center", va="bottom", fontsize=size, zorder=20)


def _draw_north_arrow(ax: Any, data: PrintInput, size: float) -> None:
    ax.annotate(
        _t(data, "north"),
        xy=(0.95, 0.95),
        xytext=(0.95, 0.85),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=size + 2,
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


def fill_frame(
    ax: Any, bounds: tuple[float, float, float, float]
) -> tuple[float, float, float, float]:
    """`bounds` (metres) widened on one side so that, at equal scale, the map fills its whole
    frame: the paper around a narrow ward shows its surroundings instead of staying blank."""
    xmin, ymin, xmax, ymax = bounds
    box = ax.get_position()
    width_in, height_in = ax.figure.get_size_inches()
    frame = (box.width * width_in) / (box.height * height_in)
    if (xmax - xmin) / (ymax - ymin) < frame:
        grow = ((ymax - ymin) * frame - (xmax - xmin)) / 2
        return xmin - grow, ymin, xmax + grow, ymax
    grow = ((xmax - xmin) / frame - (ymax - ymin)) / 2
    return xmin, ymin - grow, xmax, ymax + grow


@functools.lru_cache(maxsize=8)
def _transformer(crs: str) -> Any:
    """A cached lon/lat -> projected metres transformer."""
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:4326", crs, always_xy=True)


def _draw_context(
    ax: Any,
    data: PrintInput,
    crs: str,
    frame: tuple[float, float, float, float],
    size: float,
    avoid: list[Any],
) -> None:
    """Streets, water and landmarks under the settlements, names clear of the labels in
    `avoid` (settlements' names, projects' numbers), and the data's attribution in the
    map's lower right corner."""
    from app.geo import context_print

    xmin, ymin, xmax, ymax = frame
    points_per_m = _axes_points_per_metre(ax, xmax - xmin, ymax - ymin)
    context_print.draw_context(ax, data.context, crs, frame, size, points_per_m, avoid)
    if data.context_attribution:
        context_print.draw_attribution(ax, data.context_attribution, size)


def _place_names(
    data: PrintInput,
    crs: str,
    frame: Any,
    size: float,
    points_per_m: float,
    avoid: list[Any],
) -> list[tuple[float, float, str, Any]]:
    """Each settlement's name (with its rank) as (x, y, wrapped text, footprint in metres):
    at its label point, or the nearest place beside it clear of `avoid` and of the names
    placed before (ranked first), inside the frame; where none is free, at its point."""
    import geopandas as gpd

    if not data.settlements:
        return []
    points = gpd.points_from_xy(
        [s["label_lon"] for s in data.settlements],
        [s["label_lat"] for s in data.settlements],
        crs="EPSG:4326",
    ).to_crs(crs)
    order = sorted(
        range(len(data.settlements)),
        key=lambda i: (data.settlements[i].get("rank_in_ward") is None,
                       data.settlements[i].get("rank_in_ward") or 0),
    )  # fmt: skip
    taken = list(avoid)
    names = []
    for index in order:
        settlement, point = data.settlements[index], points[index]
        rank, name = settlement.get("rank_in_ward"), settlement["name"]
        lines = print_layout.wrap(f"{rank}. {name}" if rank else name, size, LABEL_WIDTH * size)
        # The halo's width around the letters, and a line's height each.
        width = max(print_layout.text_width(line, size) for line in lines) + NAME_PAD * size
        height = len(lines) * size * LEADING + NAME_PAD * size
        width, height = width / points_per_m, height / points_per_m
        place = map_labels.place_centred(point.x, point.y, width, height, taken, frame)
        x, y = place if place is not None else (point.x, point.y)
        footprint = map_labels.centred_box(x, y, width, height)
        taken.append(footprint)
        names.append((x, y, "\n".join(lines), footprint))
    return names


def household_points(data: PrintInput, values: Sequence[str] | None) -> HouseholdPoints:
    """The page's households as columns (answers as indexes in `values`, if coloured)."""
    if isinstance(data.households, HouseholdPoints):
        return data.households
    return HouseholdPoints.from_rows(data.households, values)


def _draw_map(ax: Any, data: PrintInput, size: float) -> None:
    """The ward, its settlements by class, households, layers, names, scale bar, north."""
    import geopandas as gpd
    import matplotlib.patheffects as effects
    import numpy as np
    import shapely
    from shapely.geometry import shape
    from shapely.plotting import patch_from_polygon

    ward = shape(data.ward_geometry)
    centre = ward.centroid
    crs = f"EPSG:{utm_epsg(centre.x, centre.y)}"
    ward_m = gpd.GeoSeries([ward], crs="EPSG:4326").to_crs(crs).iloc[0]
    xmin, ymin, xmax, ymax = ward_m.bounds
    pad = max(xmax - xmin, ymax - ymin) * 0.05
    xmin, ymin, xmax, ymax = fill_frame(ax, (xmin - pad, ymin - pad, xmax + pad, ymax + pad))

    ax.set_facecolor("white")
    for polygon in getattr(ward_m, "geoms", [ward_m]):
        ax.add_patch(patch_from_polygon(polygon, facecolor="#f7f5f0", edgecolor="none", zorder=1))
        ax.plot(*polygon.exterior.xy, color="black", linewidth=1.6, linestyle="--", zorder=6)

    # Labels first, in order of importance, each clear of those before: settlement names
    # (off the projects' symbols), projects' numbers, then streets and landmarks.
    points_per_m = _axes_points_per_metre(ax, xmax - xmin, ymax - ymin)
    frame = shapely.box(xmin, ymin, xmax, ymax)
    marks = cdf_projects_print.project(data.projects, crs) if data.projects else None
    symbols = marks.symbols(1 / points_per_m) if marks else []
    names = _place_names(data, crs, frame, size, points_per_m, symbols)
    taken = [footprint for *_, footprint in names]
    if marks:
        cdf_projects_print.place_labels(marks, data.projects, size, 1 / points_per_m, taken, frame)
        taken += marks.labels
    if data.context:
        _draw_context(ax, data, crs, (xmin, ymin, xmax, ymax), size, taken)

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

    if len(data.households):
        style = POINT_STYLE_BY_KEY.get(data.point_style or "")
        points = household_points(data, style.values if style else None)
        xs, ys = _transformer(crs).transform(points.lon, points.lat)
        diameter = household_marker_diameter(
            len(points), max(settled_m2, 0.02 * (xmax - xmin) * (ymax - ymin)) * points_per_m**2
        )
        # Hollow rings without a style: the settlement's fill (its class) shows inside and
        # between them. With one: one colour per answer (last: no answer), outlined.
        palette = [colour for _, colour in style.colours] + [NO_DATA_COLOUR] if style else None
        household_raster.draw_households(
            ax, np.asarray(xs), np.asarray(ys), points.codes, palette, diameter, zorder=5
        )

    if marks:
        cdf_projects_print.draw_on_map(ax, data.projects, marks, size)
    cdf_groups.draw_on_map(ax, data.groups, crs)
    halo = [effects.withStroke(linewidth=3, foreground="white")]
    for x, y, text, _ in names:
        ax.text(x, y, text, fontsize=size, ha="center", va="center", path_effects=halo, zorder=10)

    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_linewidth(0.8)
    _draw_scale_bar(ax, xmin, xmax, ymin, ymax, size)
    _draw_north_arrow(ax, data, size)


def _draw_legend(flow: print_layout.Flow, data: PrintInput, size: float) -> None:
    """The classes' fills (with "not surveyed" and the ward boundary), any layers' symbols,
    then the households' symbols."""
    from matplotlib.lines import Line2D

    if data.indicator == "priority":
        title = _t(data, "priority_legend")
    else:
        title = _t(data, "share_legend", label=_indicator_title(data))
    class_texts = [*class_labels(), _t(data, "no_data")]
    entries: list[tuple[print_layout.Swatch, str]] = [
        (fill_swatch(index), label)
        for index, label in zip([0, 1, 2, 3, 4, None], class_texts, strict=True)
    ]
    handles: list[Any] = [
        Line2D(
            [0], [0], color="black", linestyle="--", linewidth=1.6, label=_t(data, "ward_boundary")
        )
    ]
    if data.projects:
        handles += cdf_projects_print.legend_handles(data.language)
    if data.groups:
        handles += cdf_groups.legend_handles(data.language)
    entries += [(handle_swatch(handle), handle.get_label()) for handle in handles]
    print_layout.legend(flow, title, entries, size, columns=2, gap=size * 0.6)
    style = POINT_STYLE_BY_KEY.get(data.point_style or "")
    labels = data.point_labels.get(style.key, {}) if style else {}
    if style:
        point_entries = [
            (marker_swatch(colour, filled=True), labels.get(value, value))
            for value, colour in style.colours
        ]
        point_title: str | None = _t(data, "households_by", label=style.title[data.language])
    else:
        point_entries = [(marker_swatch("#202020", filled=False), _t(data, "households"))]
        point_title = None
    print_layout.legend(flow, point_title, point_entries, size, columns=2, gap=size * 0.8)


def fill_swatch(index: int | None) -> print_layout.Swatch:
    """A legend box filled like a settlement of class `index` (None: not surveyed)."""
    from matplotlib.patches import Rectangle

    fill = print_fill(index)

    def draw(flow: print_layout.Flow, x: float, y: float, width: float, height: float) -> None:
        patch = Rectangle(
            (x, y),
            width,
            height,
            facecolor=fill.facecolor,
            edgecolor=PRINT_OUTLINE,
            hatch=fill.hatch,
            hatchcolor=fill.hatch_colour,
            linestyle=fill.linestyle,
            linewidth=fill.linewidth,
        )
        patch.set_gid(f"class-swatch-{'none' if index is None else index}")
        flow.add(patch)

    return draw


def marker_swatch(colour: str, filled: bool) -> print_layout.Swatch:
    """A household's symbol in the legend (drawn larger than on the map, to be seen)."""
    from matplotlib.lines import Line2D

    def draw(flow: print_layout.Flow, x: float, y: float, width: float, height: float) -> None:
        flow.add(
            Line2D(
                [x + width / 2],
                [y + height / 2],
                marker="o",
                linestyle="none",
                markersize=height * 0.6,
                markerfacecolor=colour if filled else "none",
                markeredgecolor="black" if filled else colour,
                markeredgewidth=0.6,
            )
        )

    return draw


def handle_swatch(handle: Any) -> print_layout.Swatch:
    """A legend box drawn like a matplotlib legend handle (a Line2D of another layer)."""
    from matplotlib.lines import Line2D

    def draw(flow: print_layout.Flow, x: float, y: float, width: float, height: float) -> None:
        line = Line2D([x, x + width / 2, x + width], [y + height / 2] * 3)
        line.update_from(handle)
        if handle.get_linestyle() not in ("None", "none", "", " "):
            line.set_markevery([1])
        else:
            line.set_data([x + width / 2], [y + height / 2])
        flow.add(line)

    return draw


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def title_lines(text: str, size: float, width: float, smallest: float) -> tuple[list[str], float]:
    """The title in at most MAX_TITLE_LINES lines of `width` points: smaller down to
    `smallest`, then shortened with "…"."""
    lines = print_layout.wrap(text, size, width, bold=True)
    while len(lines) > MAX_TITLE_LINES and size > smallest:
        size = max(smallest, size - 1)
        lines = print_layout.wrap(text, size, width, bold=True)
    if len(lines) > MAX_TITLE_LINES:
        lines = lines[:MAX_TITLE_LINES]
        last = lines[-1]
        while last and print_layout.text_width(last + "…", size, True) > width:
            last = last[:-1]
        lines[-1] = last + "…"
    return lines, size


def _ranking_rows(data: PrintInput) -> tuple[list[print_layout.Column], list[list[str]], int]:
    """The ranked settlements' table: columns, rows, the bold (mapped) column."""
    keys = list(data.indicator_short)
    ranked = sorted(
        data.settlements,
        key=lambda s: (s.get("rank_in_ward") is None, s.get("rank_in_ward") or 0, s["name"]),
    )
    columns = [
        print_layout.Column(_t(data, "rank"), rotate=True),
        print_layout.Column(_t(data, "settlement"), align="left", wraps=True),
        print_layout.Column(_t(data, "hh"), align="right", rotate=True),
        print_layout.Column(_t(data, "score"), align="right", rotate=True),
        *[
            print_layout.Column(data.indicator_short[key][data.language], "right", rotate=True)
            for key in keys
        ],
    ]
    rows = []
    for settlement in ranked:
        score = settlement.get("score")
        shares = settlement.get("shares") or {}
        rows.append(
            [
                str(settlement.get("rank_in_ward") or "–"),
                str(settlement["name"]),
                str(settlement.get("households") or 0),
                "–" if score is None else str(whole_score(score)),
                *["–" if shares.get(k) is None else str(whole_percent(shares[k])) for k in keys],
            ]
        )
    bold = keys.index(data.indicator) + 4 if data.indicator in keys else 3
    return columns, rows, bold


def _draw_table(flow: print_layout.Flow, data: PrintInput, size: float, reserve: float) -> None:
    """The settlements ranked by score with their shares, as many as fit above `reserve`;
    a ward without any settlement says so (as its web map does) with its households."""
    flow.paragraph(_t(data, "table_title"), size, bold=True, gap=size * 0.3)
    if not data.settlements:
        households = number_text(data.households_total, data.language)
        flow.paragraph(_t(data, "no_settlements", households=households), size)
        flow.y -= size * 0.8
        return
    columns, rows, bold = _ranking_rows(data)
    room = flow.room - reserve - size * LEADING  # keep a line for "… and N more"
    shown = print_layout.table(flow, columns, rows, size, room, bold_column=bold)
    if len(rows) > shown:
        flow.y -= size * 0.3
        flow.paragraph(_t(data, "more", count=len(rows) - shown), size)
    flow.y -= size * 0.8


@dataclass(frozen=True)
class PageFrames:
    """Where things go on the page, in points from its bottom-left corner."""

    width: float
    height: float
    map: tuple[float, float, float, float]  # left, bottom, width, height
    header: tuple[float, float, float]  # left, right, top: title and subtitle
    side: tuple[float, float, float, float]  # left, right, top, bottom: legend, table...
    footer: tuple[float, float, float, float]  # legend, notes and footer in portrait
    projects: tuple[float, float, float, float] | None = None


def page_frames(size: str, orientation: str, header_height: float, projects: bool) -> PageFrames:
    """The page's frames: in landscape the map takes the full height on the left and the
    title, legend, table, notes and sources stand beside it; in portrait the map takes the
    width under the title, the table and the legend share the band below."""
    width, height = (inches * 72 for inches in paper_inches(size, orientation))
    margin = MARGIN * min(width, height)
    gap = margin
    if orientation == "landscape":
        map_width = MAP_SHARE_LANDSCAPE * width - margin
        map_frame = (margin, margin, map_width, height - 2 * margin)
        side = (margin + map_width + gap, width - margin, height - margin, margin)
        header = (side[0], side[1], height - margin)
        footer = side
    else:
        top = height - margin - header_height - gap
        bottom = MAP_BOTTOM_PORTRAIT * height
        map_frame = (margin, bottom, width - 2 * margin, top - bottom)
        split = margin + LEGEND_SHARE_PORTRAIT * (width - 2 * margin)
        footer = (margin, split - gap / 2, bottom - gap, margin)
        side = (split + gap / 2, width - margin, bottom - gap, margin)
        header = (margin, width - margin, height - margin)
    projects_frame = None
    if projects:
        left, bottom, map_width, map_height = map_frame
        share = PROJECTS_SHARE[orientation]
        projects_frame = (left, bottom, map_width, map_height * share - gap)
        map_frame = (left, bottom + map_height * share, map_width, map_height * (1 - share))
    return PageFrames(width, height, map_frame, header, side, footer, projects_frame)


def _axes(figure: Any, frame: tuple[float, float, float, float], page: PageFrames) -> Any:
    left, bottom, width, height = frame
    return figure.add_axes(
        (left / page.width, bottom / page.height, width / page.width, height / page.height)
    )


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
    """Turn mathtext off on every text of the page, and print its control characters (a
    tab in a name) as spaces."""
    from app.geo.text_lines import TextLines

    # render_print_map's rc_context sets the same default, but rcParams are shared by every
    # thread and prints render two at a time: another print leaving its rc_context restores
    # the global values while this one still creates texts. Each text's flag is its own.
    for text in texts:
        text.set_parse_math(False)
        value = text.get_text()
        if not value.isprintable() and not isinstance(text, TextLines):
            text.set_text(printable(value))


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
    """Everything on the page: title, map, legend, table, notes box, sources."""
    body = BODY_SIZE[size]
    width, _ = (inches * 72 for inches in paper_inches(size, orientation))
    header_width = (
        width * (1 - 2 * MARGIN)
        if orientation == "portrait"
        else width * (1 - MAP_SHARE_LANDSCAPE) - 2 * MARGIN * width
    )
    lines, title_size = title_lines(title, TITLE_SIZE[size], header_width, body)
    subtitle = _t(data, "subtitle", indicator=_indicator_title(data), date=when)
    header_height = len(lines) * title_size * LEADING + print_layout.paragraph_height(
        subtitle, body, header_width
    )
    page = page_frames(size, orientation, header_height, bool(data.projects))
    left, right, top = page.header
    header = print_layout.Flow(figure, left, right, top, 0)
    align = {"ha": "center"} if orientation == "portrait" else {}
    x = (left + right) / 2 if orientation == "portrait" else left
    for line in lines:
        header.text(x, header.y, line, title_size, fontweight="bold", **align)
        header.y -= title_size * LEADING
    for line in print_layout.wrap(subtitle, body, header.width):
        header.text(x, header.y, line, body, **align)
        header.y -= body * LEADING

    _draw_map(_axes(figure, page.map, page), data, body)
    if page.projects is not None:
        left, bottom, frame_width, frame_height = page.projects
        projects = print_layout.Flow(
            figure, left, left + frame_width, bottom + frame_height, bottom
        )
        cdf_projects_print.draw_table(projects, data.projects, data.language, body)

    households = number_text(data.households_total, data.language)
    today = date_text(data.printed_on, data.language)
    source = _t(data, "source", households=households, date=when, today=today)
    formula = _t(data, "formula")
    left, right, top, bottom = page.footer
    sources_height = sum(
        print_layout.paragraph_height(text, body, right - left) for text in (source, formula)
    )
    if orientation == "landscape":
        side = print_layout.Flow(
            figure, left, right, header.y - body, bottom + sources_height + body
        )
        _draw_legend(side, data, body)
        _draw_table(side, data, body, reserve=NOTES_MIN_LINES * body * LEADING)
        print_layout.notes_box(side, _t(data, "notes"), body)
    else:
        column = print_layout.Flow(figure, left, right, top, bottom + sources_height + body)
        _draw_legend(column, data, body)
        print_layout.notes_box(column, _t(data, "notes"), body)
        left_side, right_side, top_side, bottom_side = page.side
        side = print_layout.Flow(figure, left_side, right_side, top_side, bottom_side)
        _draw_table(side, data, body, reserve=0)
    sources = print_layout.Flow(figure, left, right, bottom + sources_height, bottom)
    sources.paragraph(source, body)
    sources.paragraph(formula, body, color="#333333")


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
    when = date_text(data.data_date, data.language) if data.data_date else _t(data, "no_date")
    full_title = _t(data, "title", ward=data.ward_name, city=data.city_name)
    buffer = io.BytesIO()
    check_print_fonts()
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
                        "Title": document_title(full_title),
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
