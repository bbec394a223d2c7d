"""Savings groups on the maps: one circle per settlement, its area growing with the members of
the settlement's groups, coloured on the web map by PAR30 (the share of their loans'
outstanding principal more than 30 days late); on the printed ward map a hollow black circle
of the same size rule, which survives a black-and-white copy.

Pure: plain data in (the dicts of app.services.cdf_groups_map.map_groups), symbols out.
Every printed text is literal (the print turns mathtext off on all its texts).
"""

from __future__ import annotations

import math
from typing import Any

from app.i18n import translate

# Circle radius in screen pixels: 5 px plus the square root of the members, so that the area
# follows the count (20 members ~ 12 px, 200 ~ 28 px), never larger than MAX_RADIUS.
BASE_RADIUS = 5.0
RADIUS_PER_ROOT_MEMBER = 1.6
MAX_RADIUS = 30.0
# PAR30 classes: no loans, none at risk, up to 10 % (a common alarm line), above.
PAR_LIMIT = 0.10
PAR_CLASSES: tuple[tuple[str, str], ...] = (
    ("no_loans", "#bdbdbd"),
    ("none", "#1a9850"),
    ("low", "#fdae61"),
    ("high", "#d73027"),
)
PAR_COLOUR = dict(PAR_CLASSES)
# The printed symbol: points per pixel of the web rule (the marker size is a diameter).
PRINT_POINTS_PER_PIXEL = 0.9
PRINT_LEGEND_SIZE = 10.0


def radius(members: int) -> float:
    """The circle's radius in pixels for a settlement's members."""
    return round(
        min(MAX_RADIUS, BASE_RADIUS + RADIUS_PER_ROOT_MEMBER * math.sqrt(max(members, 0))), 1
    )


def par_class(at_risk_30: int, outstanding: int) -> str:
    """The PAR30 class of a settlement's loans."""
    if outstanding <= 0:
        return "no_loans"
    if at_risk_30 <= 0:
        return "none"
    return "low" if at_risk_30 / outstanding <= PAR_LIMIT else "high"


def legend(language: str, unplaced: dict[str, Any] | None = None) -> dict[str, Any]:
    """The web map's legend entry: the colours by PAR30 and a note on the circles' size (and
    on the groups without a settlement, which no circle shows)."""
    note = translate("cdf_groups.size_note", language)
    if unplaced is not None:
        note = f"{note} {unplaced['text']}"
    return {
        "title": translate("cdf_groups.legend", language),
        "items": [
            [colour, translate(f"cdf_groups.par.{code}", language)] for code, colour in PAR_CLASSES
        ],
        "note": note,
        # Said even where no circle is drawn (every group of the city without a settlement).
        "unplaced": unplaced["text"] if unplaced is not None else None,
    }


# --- the printed ward map -------------------------------------------------------------------


def draw_on_map(ax: Any, groups: list[dict[str, Any]], crs: str) -> None:
    """Hollow black circles at the settlements with savings groups (sized by members)."""
    from pyproj import Transformer

    if not groups:
        return
    to_map = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    for group in groups:
        x, y = to_map.transform(group["lon"], group["lat"])
        size = 2 * group["radius"] * PRINT_POINTS_PER_PIXEL
        # A white ring under the black one: it stays apart from the households' thin rings.
        for colour, width, zorder in (("white", 3.4, 6), ("black", 1.4, 7)):
            ax.plot(
                [x],
                [y],
                marker="o",
                markersize=size,
                markerfacecolor="none",
                markeredgecolor=colour,
                markeredgewidth=width,
                linestyle="none",
                zorder=zorder,
            )


def legend_handles(language: str) -> list[Any]:
    """The printed legend's entry for the groups' circle."""
    from matplotlib.lines import Line2D

    return [
        Line2D(
            [0],
            [0],
            marker="o",
            linestyle="none",
            markerfacecolor="none",
            markeredgecolor="black",
            markeredgewidth=1.4,
            markersize=PRINT_LEGEND_SIZE,
            label=translate("print_map.groups_symbol", language),
        )
    ]
