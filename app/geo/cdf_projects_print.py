"""The CDF's upgrading projects on the printed ward map (app/geo/print_map.py): black symbols
that survive a black-and-white copy, numbered, and a table beside the map with each
project's settlement and that settlement's priority rank, so a ward meeting sees whether the
money went where the need is.

Pure: plain data in (the dicts of app.services.cdf_projects.map_projects), artists out.
Symbols: a point is a triangle, a line a thick line, an area a thick outline; filled black
or solid when the project is done, hollow or dashed until then. Every text is literal (the
page turns mathtext off on all its texts).
"""

from __future__ import annotations

from typing import Any

from app.i18n import translate

MAX_ROWS = {"landscape": 6, "portrait": 5}
NAME_LIMIT = {"landscape": 30, "portrait": 36}
TEXT_LIMIT = 18


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


def draw_on_map(ax: Any, projects: list[dict[str, Any]], crs: str) -> None:
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
            fontsize=7,
            fontweight="bold",
            path_effects=halo,
            zorder=13,
        )


def draw_table(ax: Any, projects: list[dict[str, Any]], language: str, orientation: str) -> None:
    """The projects' table: number, name, kind, status, settlement and its priority rank,
    budget in đồng, leverage (other money per CDF đồng)."""
    ax.axis("off")
    ax.set_title(
        _t("print_map.projects_title", language), fontsize=8, loc="left", fontweight="bold"
    )
    shown = projects[: MAX_ROWS[orientation]]
    header = [
        _t("print_map.project_no", language),
        _t("cdf_project.name", language),
        _t("cdf_project.kind", language),
        _t("cdf_project.status", language),
        _t("cdf_project.settlement", language),
        _t("print_map.project_rank", language),
        _t("cdf_project.budget", language),
        _t("print_map.project_leverage", language),
    ]
    rows = [
        [
            f"P{p['number']}",
            _short(p["name"], NAME_LIMIT[orientation]),
            _short(p["kind"], TEXT_LIMIT),
            _short(p["status"], TEXT_LIMIT),
            _short(p["settlement"], TEXT_LIMIT + 4),
            p["rank"],
            p["budget"],
            p["leverage"],
        ]
        for p in shown
    ]
    widths = [0.05, 0.25, 0.13, 0.11, 0.17, 0.08, 0.12, 0.09]
    table = ax.table(
        cellText=rows, colLabels=header, colWidths=widths, loc="upper center", cellLoc="center"
    )
    table.auto_set_font_size(False)
    table.set_fontsize(6)
    table.scale(1.0, 1.1)
    for (row, column), cell in table.get_celld().items():
        cell.set_linewidth(0.4)
        if row == 0:
            cell.set_facecolor("#e8e8e8")
            cell.get_text().set_fontweight("bold")
        elif column in (1, 4):
            cell.get_text().set_horizontalalignment("left")
    if len(projects) > len(shown):
        ax.text(
            0.0,
            -0.04,
            _t("print_map.projects_more", language, count=len(projects) - len(shown)),
            fontsize=6,
            transform=ax.transAxes,
            va="top",
        )
