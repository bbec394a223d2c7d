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

from typing import Any

from app.geo import print_layout
from app.geo.print_layout import LEADING
from app.i18n import translate

TEXT_LIMIT = 24  # kinds and statuses are the app's own labels, short


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


def draw_on_map(ax: Any, projects: list[dict[str, Any]], crs: str, size: float = 7.0) -> None:
    """The projects' shapes and numbers on the map's axes (projected to `crs`, metres)."""
    import geopandas as gpd
    import matplotlib.patheffects as effects
    from shapely.geometry import shape
    from shapely.plotting import patch_from_polygon

    shapes = gpd.GeoSeries([shape(p["geometry"]) for p in projects], crs="EPSG:4326").to_crs(crs)
    labels = gpd.points_from_xy(
        [p["label_lon"] for p in projects], [p["label_lat"] for p in projects], crs="EPSG:4326"
    ).to_crs(crs)
    halo = [effects.withStroke(linewidth=3.2, foreground="white")]
    for project, geometry, point in zip(projects, shapes, labels, strict=True):
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
            (point.x, point.y),
            xytext=(5, 5),
            textcoords="offset points",
            fontsize=size,
            fontweight="bold",
            path_effects=halo,
            zorder=13,
        )


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
