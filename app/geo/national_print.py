"""The national view on paper: an A4 summary of the CDF network (matplotlib, PDF).

Page one: title, the member cities on a map (circles sized by households surveyed, coloured
by average settlement priority, each named) and the table; further pages continue the table
when there are more cities than fit. Text at 9 pt or more; names are plain text (no
mathtext), shortened with an ellipsis only when a column has no more room.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

from app.geo import print_layout
from app.geo.styles import CLASS_COLOURS, NO_DATA_COLOUR
from app.i18n import date_text, number_text, percent_text, translate

A4 = (8.27, 11.69)  # inches, portrait
FONT = 9.0
ROW_PT = FONT * 1.6
COLUMNS = (  # key, share of the table's width, numeric
    ("name", 0.2, False),
    ("households", 0.1, True),
    ("settlements", 0.1, True),
    ("share_surveyed", 0.09, True),
    ("average_settlement_priority", 0.1, True),
    ("savings_balance", 0.12, True),
    ("loans_outstanding", 0.12, True),
    ("par30", 0.08, True),
    ("projects_done", 0.09, True),
)
WHOLE_NETWORK = {"vi": "Cả mạng lưới", "en": "Whole network"}
HEADINGS: dict[str, dict[str, str]] = {
    "name": {"vi": "Thành phố", "en": "City"},
    "households": {"vi": "Hộ đã khảo sát", "en": "Households surveyed"},
    "settlements": {"vi": "Khu dân cư", "en": "Settlements"},
    "share_surveyed": {"vi": "% đã khảo sát", "en": "% surveyed"},
    "average_settlement_priority": {"vi": "Ưu tiên trung bình", "en": "Average priority"},
    "savings_balance": {"vi": "Tiết kiệm (triệu đ)", "en": "Savings (million VND)"},
    "loans_outstanding": {"vi": "Dư nợ (triệu đ)", "en": "Loans out (million VND)"},
    "par30": {"vi": "PAR30", "en": "PAR30"},
    "projects_done": {"vi": "Công trình xong", "en": "Projects done"},
}


def _number(value: int | None, language: str) -> str:
    return "—" if value is None else number_text(value, language)


def _millions(amount: int, language: str) -> str:
    """Whole đồng as millions with one decimal (1.118,5 in Vietnamese, 1,118.5 in English)."""
    return number_text(amount / 1_000_000, language, 1)


def _cell(row: Mapping[str, Any], key: str, language: str) -> str:
    books = row.get("cdf")
    if key in ("savings_balance", "loans_outstanding"):
        return _millions(books[key], language) if books else "—"
    if key == "par30":
        value = books["par30"] if books else None
        return "—" if value is None else f"{percent_text(value, 1, language)} %"
    if key == "share_surveyed":
        # One decimal, as the national page and its CSV show the same figure (a whole
        # percent here read 13 % beside the page's 12,5 %).
        value = row.get(key)
        return "—" if value is None else f"{percent_text(value, 1, language)} %"
    if key == "average_settlement_priority":
        value = row.get(key)
        return "—" if value is None else number_text(value, language, 1)
    if key == "name":
        return str(row.get("name") or "")
    value = row.get(key)
    return _number(int(value), language) if value is not None else "—"


def _colour(score: float | None) -> str:
    if score is None:
        return NO_DATA_COLOUR
    index = min(len(CLASS_COLOURS) - 1, max(0, int(score // (100 / len(CLASS_COLOURS)))))
    return CLASS_COLOURS[index]


def _fit(text: str, width_pt: float, size: float) -> str:
    """The text shortened with an ellipsis to about `width_pt` (average glyph ~0.55 em)."""
    room = max(3, int(width_pt / (size * 0.55)))
    return text if len(text) <= room else text[: room - 1] + "…"


def _draw_map(ax: Any, cities: Sequence[Mapping[str, Any]], size: float) -> None:
    import matplotlib.patheffects as effects

    placed = [c for c in cities if c.get("lon") is not None and c.get("lat") is not None]
    ax.set_facecolor("#eef3f6")
    ax.set_xticks([])
    ax.set_yticks([])
    if not placed:
        return
    lats = [c["lat"] for c in placed]
    lons = [c["lon"] for c in placed]
    middle = (min(lats) + max(lats)) / 2
    ax.set_aspect(1 / math.cos(math.radians(middle)), adjustable="datalim")
    largest = max([c["households"] for c in placed] + [1])
    ax.scatter(
        lons,
        lats,
        s=[(8 + 30 * math.sqrt(c["households"] / largest)) ** 2 for c in placed],
        c=[_colour(c.get("average_settlement_priority")) for c in placed],
        edgecolors="#333333",
        linewidths=0.8,
        zorder=3,
    )
    # Room around the circles and names; the equal-area aspect widens whichever side it needs.
    pad = max(max(lons) - min(lons), max(lats) - min(lats), 1.0) * 0.25
    ax.update_datalim([(min(lons) - pad, min(lats) - pad), (max(lons) + pad, max(lats) + pad)])
    ax.autoscale_view()
    ax.apply_aspect()  # the final limits: names are placed in points on the page
    halo = [effects.withStroke(linewidth=3, foreground="white")]
    for city, offset, leader in _name_places(ax, placed, largest, size):
        ax.annotate(
            str(city["name"]),
            (city["lon"], city["lat"]),
            xytext=offset,
            textcoords="offset points",
            ha="center",
            va="center",
            fontsize=size,
            path_effects=halo,
            parse_math=False,
            zorder=4,
            arrowprops={"arrowstyle": "-", "linewidth": 0.6, "color": "#333333",
                        "shrinkA": 0, "shrinkB": 0} if leader else None,
        )  # fmt: skip


def _name_places(
    ax: Any, cities: Sequence[Mapping[str, Any]], largest: int, size: float
) -> list[tuple[Mapping[str, Any], tuple[float, float], bool]]:
    """Each city's name centre (points from its circle's centre) where it covers no other
    name and stays in the map, preferring places off every circle: under its circle, above,
    right, left, then further under or above with a leader line crossing no name (cities
    close together, or at one place, printed their names over each other). The largest
    first."""
    from shapely.geometry import LineString, Point, box

    scale = 72 / ax.figure.dpi
    frame = ax.get_window_extent()
    inside = box(frame.x0 * scale, frame.y0 * scale, frame.x1 * scale, frame.y1 * scale)
    centres = [
        tuple(v * scale for v in ax.transData.transform((c["lon"], c["lat"]))) for c in cities
    ]
    radii = [(8 + 30 * math.sqrt(c["households"] / largest)) / 2 for c in cities]
    circles = [Point(c).buffer(r) for c, r in zip(centres, radii, strict=True)]
    height = size * 1.3
    taken: list[Any] = []
    places: list[tuple[Mapping[str, Any], tuple[float, float], bool]] = []
    order = sorted(range(len(cities)), key=lambda i: -cities[i]["households"])
    for index in order:
        (x, y), radius = centres[index], radii[index]
        width = print_layout.text_width(str(cities[index]["name"]), size) + 4
        under, over = -(radius + 2 + height / 2), radius + 2 + height / 2
        candidates = [
            (0.0, under, False),
            (0.0, over, False),
            (radius + 4 + width / 2, 0.0, False),
            (-(radius + 4 + width / 2), 0.0, False),
        ]
        side = radius + 4 + width / 2
        for step in range(1, 12):
            for dy in (under - step * height, over + step * height):
                candidates += [(side, dy, True), (-side, dy, True), (0.0, dy, True)]
        boxes = [
            box(x + dx - width / 2, y + dy - height / 2, x + dx + width / 2, y + dy + height / 2)
            for dx, dy, _ in candidates
        ]
        free = [
            i for i, b in enumerate(boxes)
            if inside.contains(b) and not any(b.intersects(t) for t in taken)
        ]  # fmt: skip
        # Better with a leader line that crosses no name, better still off every circle.
        uncrossed = [
            i for i in free
            if not candidates[i][2] or not any(
                LineString([(x, y), (x + candidates[i][0], y + candidates[i][1])]).intersects(t)
                for t in taken)
        ]  # fmt: skip
        clear = [i for i in uncrossed if not any(boxes[i].intersects(c) for c in circles)]
        chosen = (clear or uncrossed or free or [0])[0]
        taken.append(boxes[chosen])
        dx, dy, leader = candidates[chosen]
        places.append((cities[index], (dx, dy), leader))
    return places


def _draw_table(
    figure: Any,
    rows: Sequence[Mapping[str, Any]],
    totals: Mapping[str, Any] | None,
    top: float,
    language: str,
) -> None:
    """Rows of the table from `top` (figure fraction) down, with headings first."""
    width_in, height_in = figure.get_size_inches()
    left, table_width = 0.06, 0.88
    row_height = ROW_PT / 72 / height_in
    y = top
    x = left
    headings = [
        "\n".join(
            print_layout.wrap(
                HEADINGS[key][language], FONT, share * table_width * width_in * 72 - 4, bold=True
            )
        )
        for key, share, _ in COLUMNS
    ]
    for (_key, share, numeric), heading in zip(COLUMNS, headings, strict=True):
        figure.text(
            x + (share * table_width if numeric else 0) - (0.004 if numeric else 0),
            y,
            heading,
            fontsize=FONT,
            fontweight="bold",
            ha="right" if numeric else "left",
            va="top",
            parse_math=False,
        )
        x += share * table_width
    y -= row_height * (max(h.count("\n") for h in headings) + 1.2)
    figure.add_artist(_rule(figure, left, left + table_width, y + row_height * 0.15))
    body = list(rows) + ([totals] if totals is not None else [])
    for number, row in enumerate(body):
        x = left
        bold = totals is not None and number == len(body) - 1
        for key, share, numeric in COLUMNS:
            text = _fit(_cell(row, key, language), share * table_width * width_in * 72, FONT)
            figure.text(
                x + (share * table_width if numeric else 0) - (0.004 if numeric else 0),
                y,
                text,
                fontsize=FONT,
                fontweight="bold" if bold else "normal",
                ha="right" if numeric else "left",
                va="top",
                parse_math=False,
            )
            x += share * table_width
        y -= row_height


def _rule(figure: Any, x0: float, x1: float, y: float) -> Any:
    from matplotlib.lines import Line2D

    return Line2D([x0, x1], [y, y], transform=figure.transFigure, color="#888888", linewidth=0.6)


def render(report: Mapping[str, Any], language: str) -> bytes:
    """The A4 summary as PDF bytes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    cities = list(report["cities"])
    totals = dict(report["totals"])
    totals["name"] = WHOLE_NETWORK[language]
    row_height = ROW_PT / 72 / A4[1]
    first_rows = max(0, int((0.40 - 0.06) / row_height) - 2)
    other_rows = int((0.90 - 0.06) / row_height) - 2
    pages: list[list[Mapping[str, Any]]] = [cities[:first_rows]]
    rest = cities[first_rows:]
    while rest:
        pages.append(rest[:other_rows])
        rest = rest[other_rows:]
    buffer = io.BytesIO()
    print_layout.check_print_fonts()
    with (
        matplotlib.rc_context({"font.family": print_layout.FONT}),
        PdfPages(buffer, metadata={"Title": translate("page.national_title", language)}) as pdf,
    ):
        for number, rows in enumerate(pages):
            figure = Figure(figsize=A4)
            last = number == len(pages) - 1
            if number == 0:
                figure.text(
                    0.06,
                    0.965,
                    translate("page.national_title", language),
                    fontsize=16,
                    fontweight="bold",
                    va="top",
                    parse_math=False,
                )
                dates = [c["data_date"] for c in cities if c.get("data_date")]
                subtitle = translate(
                    "page.national_subtitle",
                    language,
                    cities=report["totals"]["cities"],
                    households=_number(report["totals"]["households"], language),
                    date=date_text(max(dates), language) if dates else "—",
                )
                figure.text(0.06, 0.935, subtitle, fontsize=10, va="top", parse_math=False)
                ax = figure.add_axes((0.06, 0.45, 0.88, 0.46))
                _draw_map(ax, cities, FONT)
                figure.text(
                    0.06,
                    0.435,
                    translate("page.national_legend", language),
                    fontsize=FONT,
                    va="top",
                    parse_math=False,
                )
                top = 0.40
            else:
                top = 0.95
            _draw_table(figure, rows, totals if last else None, top, language)
            pdf.savefig(figure)
    return buffer.getvalue()
