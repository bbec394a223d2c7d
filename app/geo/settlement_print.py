"""The map of one settlement for its community meeting (PDF or PNG): pure, plain data in.

Page 1: the settlement at house scale, each surveyed household a numbered circle coloured by
its answer to the chosen indicator's question, the neighbouring settlements' outlines, any
context layers (streets, water, landmarks: app/geo/context_print.py), scale bar and north
arrow; beside it the legend,
the settlement's figures (households, score, rank, the share of every indicator) and the
sources. Each number sits beside its circle where it neither overlaps nor touches another;
where one finds no such place (or a quarter of them would overlap), the map shows a
lettered grid instead and the table gives each household's square. The following pages:
the numbered table of those households in the same order (survey time), in blocks side by
side when long, with the head of household's name only when the caller passes names (the
service does so only for roles that may see personal fields). A PNG is the first page.
Every text is literal (mathtext off), as on the ward map.

Cost: 5,000 households render in under a second of CPU (49 pages, 73 with names), each
household's circle, number and table row written without an artist of its own
(app/geo/text_lines.py).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.geo import print_layout
from app.geo.print_layout import LEADING, check_print_fonts, document_title, isolated
from app.geo.print_map import (
    BODY_SIZE,
    FONT,
    MARGIN,
    PDF_RASTER_DPI,
    PNG_DPI,
    TITLE_SIZE,
    _axes,
    _axes_points_per_metre,
    _draw_scale_bar,
    _literal_text,
    _page_texts,
    _release_renderer,
    _transformer,
    fill_frame,
    page_frames,
    paper_inches,
    title_lines,
    utm_epsg,
)
from app.geo.styles import NO_DATA_COLOUR, PRINT_OUTLINE
from app.i18n import date_text, translate, whole_percent, whole_score
from app.vietnam import today_in_vietnam

PAD_SHARE = 0.12  # of the settlement's larger side, around it
MIN_PAD_M = 25.0
# Past this share of numbers overlapping another (by more than their edges), they cannot
# be read: the map shows a lettered grid instead and the table gives each household's square.
CROWDED_NUMBERS = 0.25
# Below that, each number is placed around its circle where it neither overlaps nor touches
# another (digits' height and the clear space between two numbers, per point of size); where
# one finds no place, the grid too ("89" beside "4" read "894").
NUMBER_HEIGHT = 0.73
NUMBER_GAP = 0.3
GRID_SQUARES = 10  # about as many squares across the map's width, of a round size
SQUARE_METRES = (10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000)
MIN_SYMBOL = 3.0  # points: a household's circle where they crowd
TABLE_GAP = 2.0  # em between tables side by side


@dataclass(frozen=True)
class Grid:
    """Squares over the map: columns lettered from the west, rows numbered from the north."""

    west: float
    north: float
    side: float  # metres
    columns: int
    rows: int

    def squares(self, xs: Any, ys: Any) -> list[str]:
        """The square ("C4") of each projected point."""
        import numpy as np

        columns = np.clip(
            ((np.asarray(xs) - self.west) // self.side).astype(int), 0, self.columns - 1
        )
        rows = np.clip(((self.north - np.asarray(ys)) // self.side).astype(int), 0, self.rows - 1)
        return [
            f"{_letters(c)}{r + 1}" for c, r in zip(columns.tolist(), rows.tolist(), strict=True)
        ]


def _letters(index: int) -> str:
    """A, B, ... Z, AA, AB ..."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(ord("A") + rest) + name
    return name


@dataclass(frozen=True)
class SettlementPrintInput:
    """One settlement's meeting map: aggregates, household points and (if allowed) names."""

    settlement_name: str
    ward_name: str | None  # None: a settlement in no ward (ranked in its city)
    city_name: str
    geometry: dict[str, Any]  # GeoJSON, lon/lat
    figures: dict[str, Any]  # households, score, rank_in_ward/_city, shares {key: 0..1|None}
    households: list[dict[str, Any]]  # lon, lat, answer, surveyed_on, name (only with names)
    indicator: str
    indicator_labels: dict[str, dict[str, str]]  # key -> {vi, en}
    answers: list[tuple[str, str, str]]  # (value, colour, label) in legend order
    question_label: str  # the question whose answers colour the households
    names: bool = False
    neighbours: list[dict[str, Any]] = field(default_factory=list)  # geometry, name
    # Streets, water and landmarks around it (app/geo/context_print.py), and their source.
    context: Sequence[Any] = ()
    context_attribution: str = ""
    data_date: str | None = None
    language: str = "vi"
    printed_on: str = field(default_factory=lambda: today_in_vietnam().isoformat())


def _t(data: SettlementPrintInput, key: str, **params: Any) -> str:
    """A text of the pages with its names (a right-to-left one isolated) put in."""
    names = {k: isolated(v) if isinstance(v, str) else v for k, v in params.items()}
    return translate(f"settlement_print.{key}", data.language, **names)


def _numbered(data: SettlementPrintInput) -> list[tuple[int, dict[str, Any]]]:
    return list(enumerate(data.households, 1))


def _draw_map(ax: Any, data: SettlementPrintInput, size: float) -> tuple[Grid, list[str]] | None:
    """The settlement, its neighbours, context, numbered households, scale bar, north; the
    grid and each household's square where their numbers would crowd."""
    import geopandas as gpd
    import matplotlib.patheffects as effects
    import numpy as np
    from shapely.geometry import box, shape
    from shapely.plotting import patch_from_polygon

    settlement = shape(data.geometry)
    centre = settlement.centroid
    crs = f"EPSG:{utm_epsg(centre.x, centre.y)}"
    area = gpd.GeoSeries([settlement], crs="EPSG:4326").to_crs(crs).iloc[0]
    xmin, ymin, xmax, ymax = area.bounds
    pad = max(MIN_PAD_M, PAD_SHARE * max(xmax - xmin, ymax - ymin))
    bounds = fill_frame(ax, (xmin - pad, ymin - pad, xmax + pad, ymax + pad))
    halo = [effects.withStroke(linewidth=2.5, foreground="white")]
    scale = _axes_points_per_metre(ax, bounds[2] - bounds[0], bounds[3] - bounds[1])

    ax.set_facecolor("white")
    if data.context:
        from app.geo import context_print

        context_print.draw_context(ax, data.context, crs, bounds, size, scale)
    if data.neighbours:
        shapes = gpd.GeoSeries(
            [shape(n["geometry"]) for n in data.neighbours], crs="EPSG:4326"
        ).to_crs(crs)
        for neighbour, geometry in zip(data.neighbours, shapes, strict=True):
            for polygon in getattr(geometry, "geoms", [geometry]):
                ax.add_patch(
                    patch_from_polygon(
                        polygon, facecolor="none", edgecolor="#8a8a8a", linewidth=0.8, zorder=2
                    )
                )
            inside = geometry.intersection(box(*bounds))
            if inside.is_empty:
                continue
            anchor = inside.representative_point()
            lines = print_layout.wrap(neighbour["name"], size, 12 * size)
            # Kept inside the frame: half the label's size (metres) from each edge.
            half_width = max(print_layout.text_width(line, size) for line in lines) / 2 / scale
            half_height = len(lines) * size * LEADING / 2 / scale
            x = min(max(anchor.x, bounds[0] + half_width), bounds[2] - half_width)
            y = min(max(anchor.y, bounds[1] + half_height), bounds[3] - half_height)
            ax.text(
                x,
                y,
                "\n".join(lines),
                fontsize=size,
                color="#555555",
                ha="center",
                va="center",
                path_effects=halo,
                zorder=2.5,
            )
    for polygon in getattr(area, "geoms", [area]):
        ax.add_patch(
            patch_from_polygon(
                polygon, facecolor="#f7f5f0", edgecolor=PRINT_OUTLINE, linewidth=2.2, zorder=3
            )
        )

    numbered = _numbered(data)
    squares = None
    if numbered:
        lons = np.array([h["lon"] for _, h in numbered], float)
        lats = np.array([h["lat"] for _, h in numbered], float)
        xs, ys = _transformer(crs).transform(lons, lats)
        squares = _draw_households(ax, data, xs, ys, bounds, size, scale)
    ax.set_xlim(bounds[0], bounds[2])
    ax.set_ylim(bounds[1], bounds[3])
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    _draw_scale_bar(ax, bounds[0], bounds[2], bounds[1], bounds[3], size)
    if data.context_attribution:
        from app.geo import context_print

        context_print.draw_attribution(ax, data.context_attribution, size)
    ax.annotate(
        translate("print_map.north", data.language),
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
    return squares


def _draw_households(
    ax: Any,
    data: SettlementPrintInput,
    xs: Any,
    ys: Any,
    bounds: tuple[float, float, float, float],
    size: float,
    scale: float,
) -> tuple[Grid, list[str]] | None:
    """Every household a circle in its answer's colour, all in one collection, and its number
    beside it (one text artist for all), or, where the numbers would crowd, a lettered grid;
    returns that grid and each household's square."""
    import numpy as np
    import shapely

    from app.geo.text_lines import TextLines

    points = shapely.points((xs - bounds[0]) * scale, (ys - bounds[1]) * scale)  # page points
    nearest = np.full(len(xs), np.inf)
    if len(xs) > 1:
        tree = shapely.STRtree(points)
        (index, _), distances = tree.query_nearest(points, exclusive=True, return_distance=True)
        nearest[index] = distances
    # Circles no wider than most households are apart, where they crowd (a 5,000-household
    # settlement at house scale was one blot).
    diameter = float(np.clip(0.9 * np.median(nearest), MIN_SYMBOL, size * 0.9))
    # One marker line per answer (a PDF writes the circle once and places it per household;
    # a scatter of 5,000 colours wrote each with its own colour state: 1 s).
    colours = {value: colour for value, colour, _ in data.answers}
    drawn = np.array([colours.get(h.get("answer") or "", NO_DATA_COLOUR) for h in data.households])
    for colour in dict.fromkeys(drawn.tolist()):
        chosen = drawn == colour
        ax.plot(
            xs[chosen],
            ys[chosen],
            linestyle="none",
            marker="o",
            markersize=diameter,
            markerfacecolor=colour,
            markeredgecolor="black",
            markeredgewidth=0.6 if diameter > MIN_SYMBOL * 1.5 else 0.3,
            zorder=5,
        )
    number_size = max(6.0, size - 2)
    offset = size * 0.45
    numbers = [str(number) for number in range(1, len(xs) + 1)]
    frame = ((bounds[2] - bounds[0]) * scale, (bounds[3] - bounds[1]) * scale)
    anchors = None
    if not _numbers_crowd(points, numbers, number_size, offset):
        anchors = _place_numbers(points, numbers, number_size, offset, diameter / 2, nearest, frame)
    if anchors is None:
        grid = _grid(bounds)
        _draw_grid(ax, grid, bounds, size)
        return grid, grid.squares(xs, ys)
    # One artist for every number (a Text each took 1-2 ms to draw); vector text in the PDF,
    # written once per distinct number. No white halo: a stroked text is written as outlines;
    # the settlement's pale fill keeps black numbers readable.
    lines = [
        (bounds[0] + x / scale, bounds[1] + y / scale, number)
        for (x, y), number in zip(anchors, numbers, strict=True)
    ]
    labels = TextLines(lines, number_size, bold=True, zorder=6)
    labels.set_transform(ax.transData)
    ax.add_artist(labels)
    return None


def _numbers_crowd(points: Any, numbers: list[str], size: float, offset: float) -> bool:
    """Whether more than CROWDED_NUMBERS of the numbers (beside their points, in page
    points) would overlap another."""
    import numpy as np
    import shapely

    from app.geo.print_layout import WIDTH_SAFETY, text_width

    digit = text_width("0", size, True) / WIDTH_SAFETY
    lengths = np.array([len(number) for number in numbers], float)
    x0 = shapely.get_x(points) + offset
    y0 = shapely.get_y(points) + offset
    width, height = lengths * digit, 0.73 * size  # figures' height
    # Boxes at 80 %: numbers that only touch stay readable.
    boxes = shapely.box(x0 + 0.1 * width, y0 + 0.1 * height, x0 + 0.9 * width, y0 + 0.9 * height)
    first, second = shapely.STRtree(boxes).query(boxes, predicate="intersects")
    touching = np.unique(first[first != second])
    return len(touching) > CROWDED_NUMBERS * len(numbers)


def _place_numbers(
    points: Any,
    numbers: list[str],
    size: float,
    offset: float,
    radius: float,
    nearest: Any,
    frame: tuple[float, float],
) -> list[tuple[float, float]] | None:
    """Each number's baseline start (page points) beside its household, where it neither
    overlaps nor touches another number, preferring places off every circle and inside the
    frame; None when some number finds no such place (the map shows the grid instead).

    Tried around the circle: upper right (the usual place), right, upper left, left, lower
    right, lower left, above, below. Crowded households are placed first."""
    import math

    import numpy as np
    import shapely

    from app.geo.print_layout import WIDTH_SAFETY, text_width

    digit = text_width("0", size, True) / WIDTH_SAFETY
    height = NUMBER_HEIGHT * size
    pad = NUMBER_GAP * size / 2  # half the clear space kept between two numbers
    xs, ys = shapely.get_x(points), shapely.get_y(points)
    cell = (max(len(number) for number in numbers) * digit + height + 2 * pad + 2 * radius) or 1.0
    circles: dict[tuple[int, int], list[int]] = {}
    for index, (x, y) in enumerate(zip(xs.tolist(), ys.tolist(), strict=True)):
        circles.setdefault((math.floor(x / cell), math.floor(y / cell)), []).append(index)
    taken: dict[tuple[int, int], list[tuple[float, float, float, float]]] = {}

    def cells(x0: float, y0: float, x1: float, y1: float) -> list[tuple[int, int]]:
        return [
            (i, j)
            for i in range(math.floor(x0 / cell), math.floor(x1 / cell) + 1)
            for j in range(math.floor(y0 / cell), math.floor(y1 / cell) + 1)
        ]

    def free(box: tuple[float, float, float, float]) -> bool:
        x0, y0, x1, y1 = box
        return not any(
            x0 < u1 and u0 < x1 and y0 < v1 and v0 < y1
            for key in cells(*box)
            for u0, v0, u1, v1 in taken.get(key, ())
        )

    def clear(box: tuple[float, float, float, float]) -> bool:
        x0, y0, x1, y1 = box
        if x0 < 0 or y0 < 0 or x1 > frame[0] or y1 > frame[1]:
            return False
        for key in cells(x0 - radius, y0 - radius, x1 + radius, y1 + radius):
            for index in circles.get(key, ()):
                dx = max(x0 - xs[index], 0.0, xs[index] - x1)
                dy = max(y0 - ys[index], 0.0, ys[index] - y1)
                if dx * dx + dy * dy < radius * radius:
                    return False
        return True

    anchors: list[tuple[float, float]] = [(0.0, 0.0)] * len(numbers)
    side = radius + pad
    for index in np.argsort(nearest, kind="stable").tolist():
        x, y = float(xs[index]), float(ys[index])
        width = len(numbers[index]) * digit
        candidates = [
            (x + offset, y + offset),
            (x + side, y - height / 2),
            (x - offset - width, y + offset),
            (x - side - width, y - height / 2),
            (x + offset, y - offset - height),
            (x - offset - width, y - offset - height),
            (x - width / 2, y + side),
            (x - width / 2, y - side - height),
        ]
        boxes = [(u - pad, v - pad, u + width + pad, v + height + pad) for u, v in candidates]
        usable = [i for i, box in enumerate(boxes) if free(box)]
        if not usable:
            return None
        chosen = next((i for i in usable if clear(boxes[i])), usable[0])
        anchors[index] = candidates[chosen]
        for key in cells(*boxes[chosen]):
            taken.setdefault(key, []).append(boxes[chosen])
    return anchors


def _grid(bounds: tuple[float, float, float, float]) -> Grid:
    """Round squares over the map frame, about GRID_SQUARES across."""
    import math

    west, south, east, north = bounds
    side = next(
        (float(m) for m in SQUARE_METRES if m >= (east - west) / GRID_SQUARES),
        float(SQUARE_METRES[-1]),
    )
    return Grid(
        west, north, side, math.ceil((east - west) / side), math.ceil((north - south) / side)
    )


def _draw_grid(ax: Any, grid: Grid, bounds: tuple[float, float, float, float], size: float) -> None:
    """The grid's lines over the map and its letters and numbers along the top and left."""
    from matplotlib.collections import LineCollection

    west, south, east, north = bounds
    lines = [
        [(grid.west + c * grid.side, south), (grid.west + c * grid.side, north)]
        for c in range(1, grid.columns)
    ]
    lines += [
        [(west, grid.north - r * grid.side), (east, grid.north - r * grid.side)]
        for r in range(1, grid.rows)
    ]
    ax.add_collection(LineCollection(lines, colors="#5a5a5a", linewidths=0.6, zorder=4.5))
    box = {"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1}
    for column in range(grid.columns):
        centre = grid.west + (column + 0.5) * grid.side
        if centre < east:
            label = ax.text(
                centre, north, _letters(column), fontsize=size, fontweight="bold",
                ha="center", va="top", bbox=box, zorder=21, clip_on=True,
            )  # fmt: skip
            label.set_parse_math(False)
    for row in range(grid.rows):
        middle = grid.north - (row + 0.5) * grid.side
        if middle > south:
            label = ax.text(
                west, middle, f" {row + 1}", fontsize=size, fontweight="bold",
                ha="left", va="center", bbox=box, zorder=21, clip_on=True,
            )  # fmt: skip
            label.set_parse_math(False)


def _answer_swatch(colour: str) -> print_layout.Swatch:
    from matplotlib.lines import Line2D

    def draw(flow: print_layout.Flow, x: float, y: float, width: float, height: float) -> None:
        flow.add(
            Line2D(
                [x + width / 2],
                [y + height / 2],
                marker="o",
                linestyle="none",
                markersize=height * 0.8,
                markerfacecolor=colour,
                markeredgecolor="black",
                markeredgewidth=0.6,
            )
        )

    return draw


def _figures_columns(data: SettlementPrintInput) -> list[print_layout.Column]:
    # The values' heading names no unit: the shares carry their "%", the households, score
    # and rank none (a "%" over the column read 60 households as 60 %).
    return [
        print_layout.Column(_t(data, "indicator"), align="left", wraps=True),
        print_layout.Column(_t(data, "value"), align="right"),
    ]


def _figures_rows(data: SettlementPrintInput) -> list[list[str]]:
    figures = data.figures
    score = figures.get("score")
    # In words where there is no figure (nobody surveyed, or nobody answered the question):
    # a dash in a column of percentages can be read as "nobody lacks it" at a meeting.
    no_data = _t(data, "no_data")
    if data.ward_name is None:  # in no ward: its rank among the city's settlements
        rank_row = [_t(data, "rank_in_city"), str(figures.get("rank_in_city") or no_data)]
    else:
        rank_row = [_t(data, "rank"), str(figures.get("rank_in_ward") or no_data)]
    rows = [
        [_t(data, "households"), str(figures.get("households") or 0)],
        [_t(data, "score"), no_data if score is None else str(whole_score(score))],
        rank_row,
    ]
    shares = figures.get("shares") or {}
    for key, label in data.indicator_labels.items():
        share = shares.get(key)
        rows.append(
            [label[data.language], no_data if share is None else f"{whole_percent(share)} %"]
        )
    return rows


def _numbers_note(data: SettlementPrintInput, squares: tuple[Grid, list[str]] | None) -> str:
    """How the map's households lead to the table's rows (no table without households)."""
    if not data.households:
        return _t(data, "no_households")
    if squares is None:
        return _t(data, "numbers", count=len(data.households))
    return _t(data, "numbers_grid", count=len(data.households), side=f"{squares[0].side:g}")


def _draw_side(flow: print_layout.Flow, data: SettlementPrintInput, size: float, note: str) -> None:
    """Legend of the households' answers and the settlement's figures."""
    entries = [(_answer_swatch(colour), label) for _, colour, label in data.answers]
    entries.append((_answer_swatch(NO_DATA_COLOUR), _t(data, "no_answer")))
    title = _t(data, "legend", question=data.question_label)
    print_layout.legend(flow, title, entries, size, columns=2, gap=size * 0.3)
    flow.paragraph(note, size, gap=size * 0.8)
    flow.paragraph(_t(data, "figures"), size, bold=True, gap=size * 0.3)
    print_layout.table(flow, _figures_columns(data), _figures_rows(data), size, flow.room)
    flow.y -= size * 0.8


def _sources(data: SettlementPrintInput) -> str:
    return _t(
        data,
        "source",
        households=len(data.households),
        date=_data_day(data),
        today=date_text(data.printed_on, data.language),
    )


def _data_day(data: SettlementPrintInput) -> str:
    """The day of the data as the print's language writes it (07/12/2026, 7 Dec 2026)."""
    if data.data_date:
        return date_text(data.data_date, data.language)
    return translate("print_map.no_date", data.language)


def _map_page(
    figure: Any, data: SettlementPrintInput, size: str, orientation: str
) -> tuple[Grid, list[str]] | None:
    """The map page; the grid and the households' squares where numbers would crowd."""
    body = BODY_SIZE[size]
    width = paper_inches(size, orientation)[0] * 72
    header_width = (
        width * (1 - 2 * MARGIN) if orientation == "portrait" else width * 0.41 - 2 * MARGIN * width
    )
    lines, title_size = title_lines(
        _t(data, "title", settlement=data.settlement_name), TITLE_SIZE[size], header_width, body
    )
    indicator = data.indicator_labels[data.indicator][data.language]
    subtitle = _t(
        data,
        "subtitle" if data.ward_name is not None else "subtitle_no_ward",
        ward=data.ward_name,
        city=data.city_name,
        indicator=indicator,
        date=_data_day(data),
    )
    header_height = len(lines) * title_size * LEADING + print_layout.paragraph_height(
        subtitle, body, header_width
    )
    page = page_frames(size, orientation, header_height, False)
    left, right, top = page.header
    header = print_layout.Flow(figure, left, right, top, 0)
    centred = orientation == "portrait"
    x = (left + right) / 2 if centred else left
    align = {"ha": "center"} if centred else {}
    for line in lines:
        header.text(x, header.y, line, title_size, fontweight="bold", **align)
        header.y -= title_size * LEADING
    for line in print_layout.wrap(subtitle, body, header.width):
        header.text(x, header.y, line, body, **align)
        header.y -= body * LEADING
    squares = _draw_map(_axes(figure, page.map, page), data, body)
    note = _numbers_note(data, squares)

    source = _sources(data)
    left, right, top, bottom = page.footer
    source_height = print_layout.paragraph_height(source, body, right - left)
    if orientation == "landscape":
        side = print_layout.Flow(
            figure, left, right, header.y - body, bottom + source_height + body
        )
        _draw_side(side, data, body, note)
        print_layout.notes_box(side, translate("print_map.notes", data.language), body)
    else:
        column = print_layout.Flow(figure, left, right, top, bottom + source_height + body)
        entries = [(_answer_swatch(c), label) for _, c, label in data.answers]
        entries.append((_answer_swatch(NO_DATA_COLOUR), _t(data, "no_answer")))
        print_layout.legend(
            column, _t(data, "legend", question=data.question_label), entries, body, 1, body * 0.3
        )
        column.paragraph(note, body, gap=body)
        print_layout.notes_box(column, translate("print_map.notes", data.language), body)
        left_side, right_side, top_side, bottom_side = page.side
        side = print_layout.Flow(figure, left_side, right_side, top_side, bottom_side)
        side.paragraph(_t(data, "figures"), body, bold=True, gap=body * 0.3)
        print_layout.table(side, _figures_columns(data), _figures_rows(data), body, side.room)
    print_layout.Flow(figure, left, right, bottom + source_height, bottom).paragraph(source, body)
    return squares


def _household_columns(data: SettlementPrintInput, squares: bool) -> list[print_layout.Column]:
    columns = [print_layout.Column(_t(data, "number"), align="right")]
    if squares:
        columns.append(print_layout.Column(_t(data, "square")))
    if data.names:
        columns.append(print_layout.Column(_t(data, "name"), align="left", wraps=True))
    columns += [
        print_layout.Column(data.question_label, align="left", wraps=not data.names),
        print_layout.Column(_t(data, "surveyed_on")),
    ]
    return columns


def _household_rows(data: SettlementPrintInput, squares: list[str] | None) -> list[list[str]]:
    labels = {value: label for value, _, label in data.answers}
    no_answer = _t(data, "no_answer")
    rows = []
    for number, household in _numbered(data):
        answer = household.get("answer")
        row = [str(number)]
        if squares is not None:
            row.append(squares[number - 1])
        if data.names:
            row.append(str(household.get("name") or "–"))
        surveyed = household["surveyed_on"]
        surveyed = date_text(surveyed, data.language) if surveyed else "–"
        row += [labels.get(answer or "", answer or no_answer), surveyed]
        rows.append(row)
    return rows


def _blocks(
    columns: list[print_layout.Column], rows: list[list[str]], size: float, width: float
) -> int:
    """How many tables stand side by side on a page: a long table in as many narrower
    blocks as fit its columns (a 5,000-household settlement: 143 pages in one, 48 in 3)."""
    blocks = 1
    for count in (2, 3, 4):
        block = (width - (count - 1) * size * TABLE_GAP) / count
        if print_layout.natural_width(columns, rows, size) > block:
            break
        blocks = count
    return blocks


def _table_pages(
    data: SettlementPrintInput,
    size: str,
    orientation: str,
    new_page: Callable[[], Any],
    squares: list[str] | None,
) -> None:
    """The numbered households, as many pages as they need, the header on each; a long
    table in blocks side by side."""
    body = BODY_SIZE[size]
    width, height = (inches * 72 for inches in paper_inches(size, orientation))
    margin = MARGIN * min(width, height)
    rows = _household_rows(data, squares)
    columns = _household_columns(data, squares is not None)
    heading = _t(data, "table_title", settlement=data.settlement_name)
    note = _t(data, "table_note" if data.names else "table_note_no_names")
    if squares is not None:
        note = f"{note} {_t(data, 'square_note')}"
    page_number = 1
    blocks = 0
    while rows:
        page_number += 1
        figure = new_page()
        flow = print_layout.Flow(figure, margin, width - margin, height - margin, margin)
        flow.paragraph(heading, body + 1, bold=True)
        flow.paragraph(note, body)
        flow.y -= body * 0.5
        room = flow.room - body * LEADING * 2
        if not blocks:
            fitting = int(room / (body * LEADING + body * 0.3))
            blocks = 1 if len(rows) <= fitting else _blocks(columns, rows, body, flow.width)
        block_width = (flow.width - (blocks - 1) * body * TABLE_GAP) / blocks
        for block in range(blocks):
            if not rows:
                break
            left = margin + block * (block_width + body * TABLE_GAP)
            column = print_layout.Flow(figure, left, left + block_width, flow.y, margin)
            shown = print_layout.table(column, columns, rows, body, room)
            if shown == 0:
                raise ValueError("a household's row does not fit on a page")
            rows = rows[shown:]
        flow.text(
            margin, margin + body * LEADING, _t(data, "page", page=page_number), body, va="top"
        )


def render_settlement_print(
    data: SettlementPrintInput,
    size: str = "A4",
    orientation: str = "landscape",
    output: str = "pdf",
    on_page: Callable[[Any], None] | None = None,
) -> bytes:
    """The settlement's pages as one PDF, or its map page as a 200 dpi PNG. `on_page`
    (tests) sees each drawn Figure before it is released."""
    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    if output not in ("pdf", "png"):
        raise ValueError(f"unknown output {output!r}")
    figsize = paper_inches(size, orientation)
    buffer = io.BytesIO()
    figures: list[Any] = []

    def new_page() -> Any:
        figure = Figure(figsize=figsize)
        figures.append(figure)
        return figure

    check_print_fonts()
    with matplotlib.rc_context({"font.family": FONT, "pdf.fonttype": 3, "text.parse_math": False}):
        try:
            squares = _map_page(new_page(), data, size, orientation)
            if output == "png":
                _literal_text(_page_texts(figures[0]))
                figures[0].savefig(buffer, format="png", dpi=PNG_DPI)
            else:
                _table_pages(
                    data, size, orientation, new_page, None if squares is None else squares[1]
                )
                title = _t(data, "title", settlement=data.settlement_name)
                metadata = {"Title": document_title(title), "Creator": "cdfmap"}
                with PdfPages(buffer, metadata=metadata) as pdf:
                    for figure in figures:
                        _literal_text(_page_texts(figure))
                        pdf.savefig(figure, dpi=PDF_RASTER_DPI)
            if on_page is not None:
                for figure in figures:
                    on_page(figure)
        finally:
            for figure in figures:
                _release_renderer(figure, _page_texts(figure, tick_labels=True))
    return buffer.getvalue()
