"""The CDF's upgrading projects on the printed ward map (app/geo/print_map.py): black symbols
that survive a black-and-white copy, numbered, and a table under the map with each
project's settlement and that settlement's priority rank, so a ward meeting sees whether the
money went where the need is.

Pure: plain data in (the dicts of app.services.cdf_projects.map_projects), artists out.
Symbols: a point is a triangle, a line a thick line, an area a thick outline; filled black
or solid when the project is done, hollow or dashed until then. Every text is literal (the
page turns mathtext off on all its texts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shapely.geometry.base import BaseGeometry

from app.geo import map_labels, print_layout
from app.geo.print_layout import LEADING
from app.i18n import translate

TEXT_LIMIT = 24  # kinds and statuses are the app's own labels, short
SYMBOL_HALF = 4.5  # points: half a point project's triangle, with its edge
LINE_HALF = 2.2  # points: half a line's or an outline's drawn width, with its white edge
LABEL_HEIGHT = 1.0  # a number's box, per point of size (capitals, no descender, a margin)
# A number's corner from its anchor (points): beside the symbol, then farther with a leader.
LABEL_DISTANCES = (5.0, 14.0, 24.0)


def _t(key: str, language: str, **params: Any) -> str:
    return translate(key, language, **params)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def legend_handles(language: str) -> list[Any]:
    """The legend's entry for the projects' symbol."""
    from matplotlib.lines import Line2D

    return [
        Line2D(
            [0],
            [0],
            marker="^",
            color="black",
            linewidth=2.0,
            markerfacecolor="white",
            markeredgecolor="black",
            markersize=6,
            label=_t("print_map.projects_symbol", language),
        )
    ]


@dataclass(frozen=True)
class ProjectMarks:
    """The projects' shapes and label anchors (map metres), and where each label goes."""

    shapes: list[BaseGeometry]
    anchors: list[tuple[float, float]]
    offsets: list[tuple[float, float]]  # each label's lower-left corner from its anchor, points
    labels: list[BaseGeometry]  # the labels' footprints, metres
    leaders: list[bool]  # moved away from its symbol: a thin line leads back to it

    def symbols(self, metres_per_point: float) -> list[BaseGeometry]:
        """The footprints of the drawn symbols (a triangle's box, a line's or outline's
        width), which names must not cover."""
        marks = []
        for geometry in self.shapes:
            if geometry.geom_type == "Point":
                marks.append(geometry.buffer(SYMBOL_HALF * metres_per_point, cap_style="square"))
            else:
                outline = geometry.boundary if geometry.geom_type.endswith("Polygon") else geometry
                marks.append(outline.buffer(LINE_HALF * metres_per_point))
        return marks


def project(projects: list[dict[str, Any]], crs: str) -> ProjectMarks:
    """The projects' shapes and label anchors in `crs` (metres), labels not placed yet."""
    import geopandas as gpd
    from shapely.geometry import shape

    shapes = list(
        gpd.GeoSeries([shape(p["geometry"]) for p in projects], crs="EPSG:4326").to_crs(crs)
    )
    points = gpd.points_from_xy(
        [p["label_lon"] for p in projects], [p["label_lat"] for p in projects], crs="EPSG:4326"
    ).to_crs(crs)
    return ProjectMarks(shapes, [(point.x, point.y) for point in points], [], [], [])


def place_labels(
    marks: ProjectMarks,
    projects: list[dict[str, Any]],
    size: float,
    metres_per_point: float,
    taken: list[BaseGeometry],
    frame: BaseGeometry,
) -> None:
    """Each number ("P3") beside its anchor where it covers no name in `taken`, no other
    project's symbol nor another number, inside the frame: beside the symbol first, then
    farther with a leader line; where nothing is free, the usual place (upper right)."""
    from shapely.geometry import box

    symbols = marks.symbols(metres_per_point)
    height = size * LABEL_HEIGHT
    for index, (project, (x, y)) in enumerate(zip(projects, marks.anchors, strict=True)):
        width = print_layout.text_width(f"P{project['number']}", size, True)
        candidates = [
            (dx if dx >= 0 else dx - width, dy if dy >= 0 else dy - height)
            for near in LABEL_DISTANCES
            for dx, dy in ((near, near), (-near, near), (near, -near), (-near, -near))
        ]
        others = [symbol for other, symbol in enumerate(symbols) if other != index]
        chosen = candidates[0]
        for dx, dy in candidates:
            left, bottom = x + dx * metres_per_point, y + dy * metres_per_point
            footprint = box(left, bottom, left + width * metres_per_point,
                            bottom + height * metres_per_point)  # fmt: skip
            if map_labels.is_free(footprint, [*taken, *others, *marks.labels], frame):
                chosen = (dx, dy)
                break
        left, bottom = x + chosen[0] * metres_per_point, y + chosen[1] * metres_per_point
        marks.offsets.append(chosen)
        marks.leaders.append(candidates.index(chosen) >= 4)
        marks.labels.append(
            box(left, bottom, left + width * metres_per_point, bottom + height * metres_per_point)
        )


def draw_on_map(ax: Any, projects: list[dict[str, Any]], marks: ProjectMarks, size: float) -> None:
    """The projects' shapes and numbers on the map's axes, where `place` put them."""
    import matplotlib.patheffects as effects
    from shapely.plotting import patch_from_polygon

    halo = [effects.withStroke(linewidth=3.2, foreground="white")]
    for project, geometry, anchor, offset, leader in zip(
        projects, marks.shapes, marks.anchors, marks.offsets, marks.leaders, strict=True
    ):
        done = project["status_code"] == "done"
        style = "-" if done else (0, (3, 1.5))
        if geometry.geom_type == "Point":
            ax.plot(
                geometry.x,
                geometry.y,
                marker="^",
                markersize=8,
                markerfacecolor="black" if done else "white",
                markeredgecolor="black",
                markeredgewidth=1.3,
                zorder=12,
            )
        elif geometry.geom_type == "LineString":
            xs, ys = geometry.xy
            ax.plot(xs, ys, color="white", linewidth=4.4, zorder=11, solid_capstyle="round")
            ax.plot(xs, ys, color="black", linewidth=2.4, linestyle=style, zorder=12)
        else:
            ax.add_patch(
                patch_from_polygon(
                    geometry,
                    facecolor="none",
                    edgecolor="black",
                    linewidth=2.0,
                    linestyle=style,
                    zorder=12,
                )
            )
        ax.annotate(
            f"P{project['number']}",
            anchor,
            xytext=offset,
            textcoords="offset points",
            ha="left",
            va="bottom",
            fontsize=size,
            fontweight="bold",
            path_effects=halo,
            zorder=13,
            arrowprops={"arrowstyle": "-", "linewidth": 0.6, "color": "black", "shrinkA": 0,
                        "shrinkB": 2} if leader else None,
        )  # fmt: skip


def draw_table(
    flow: print_layout.Flow, projects: list[dict[str, Any]], language: str, size: float
) -> None:
    """The projects' table in the frame under the map: number, name, kind, status,
    settlement and its priority rank, budget in đồng, leverage (other money per CDF đồng);
    as many projects as fit, then how many more."""
    flow.paragraph(_t("print_map.projects_title", language), size, bold=True, gap=size * 0.3)
    columns = [
        print_layout.Column(_t("print_map.project_no", language)),
        print_layout.Column(_t("cdf_project.name", language), align="left", wraps=True),
        print_layout.Column(_t("cdf_project.kind", language), align="left"),
        print_layout.Column(_t("cdf_project.status", language), align="left"),
        print_layout.Column(_t("cdf_project.settlement", language), align="left", wraps=True),
        print_layout.Column(_t("print_map.project_rank", language)),
        print_layout.Column(_t("cdf_project.budget", language), align="right"),
        print_layout.Column(_t("print_map.project_leverage", language), align="right"),
    ]
    rows = [
        [
            f"P{p['number']}",
            str(p["name"]),
            _short(str(p["kind"]), TEXT_LIMIT),
            _short(str(p["status"]), TEXT_LIMIT),
            str(p["settlement"]),
            str(p["rank"]),
            str(p["budget"]),
            str(p["leverage"]),
        ]
        for p in projects
    ]
    shown = print_layout.table(flow, columns, rows, size, flow.room - size * LEADING)
    if len(projects) > shown:
        flow.y -= size * 0.3
        more = _t("print_map.projects_more", language, count=len(projects) - shown)
        flow.paragraph(more, size)
