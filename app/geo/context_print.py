"""Streets, water and landmarks under a printed map (matplotlib), with street names.

Drawn under the settlements (a settlement's class colour stays what the legend says) and
in greys and a light blue that read in black and white; names are plain text (matplotlib's
mathtext is off for them: a `$` in a street name stays a dollar sign), each placed once,
along its street, and never over another label.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import shapely
from shapely.geometry import LineString, box
from shapely.geometry.base import BaseGeometry

from app.geo.osm_context import ContextFeature
from app.geo.print_map import _transformer  # the prints' cached lon/lat -> metres

ROAD_STYLE = {  # class: (line width in points, colour, zorder)
    "major": (2.4, "#8a8a8a", 2.3),
    "minor": (1.3, "#a8a8a8", 2.2),
    "lane": (0.6, "#c4c4c4", 2.1),
}
WATERWAY_WIDTH = {"river": 2.0, "canal": 1.4, "stream": 0.9, "drain": 0.6}
WATER_FILL = "#dbe8f3"
WATER_LINE = "#8fb3d1"
LANDMARK_MARKERS = {
    "market": "s",
    "school": "^",
    "health": "P",
    "office": "D",
    "pagoda": "*",
    "temple": "*",
    "church": "X",
}
LABELLED_ROADS = ("major", "minor")


def _projected(geometry: BaseGeometry, crs: str) -> BaseGeometry:
    transformer = _transformer(crs)
    return shapely.transform(
        geometry, lambda xy: _stack(*transformer.transform(xy[:, 0], xy[:, 1]))
    )


def _stack(xs: Any, ys: Any) -> Any:
    import numpy as np

    return np.column_stack([xs, ys])


def _longest_piece(geometry: BaseGeometry) -> LineString | None:
    lines = [g for g in getattr(geometry, "geoms", [geometry]) if isinstance(g, LineString)]
    return max(lines, key=lambda line: line.length, default=None)


def draw_context(
    ax: Any,
    features: Sequence[ContextFeature],
    crs: str,
    extent: tuple[float, float, float, float],
    size: float,
    points_per_metre: float,
    avoid: Sequence[BaseGeometry] = (),
) -> list[Any]:
    """Draw the features (lon/lat) on a map in projected metres (`crs`) within `extent`
    (xmin, ymin, xmax, ymax); `size` is the label font size in points; no name is put over
    the areas in `avoid` (the map's own labels, in metres). Returns the name labels drawn
    (text artists), for layout checks."""
    import numpy as np
    from matplotlib.collections import LineCollection, PolyCollection

    frame = box(*extent)
    halo: list[Any] = []
    labels: list[Any] = []
    taken: list[BaseGeometry] = list(avoid)  # label footprints (metres): none over another
    named: set[str] = set()
    metres_per_point = 1 / points_per_metre
    candidates: list[tuple[int, ContextFeature, BaseGeometry]] = []  # labels, placed by rank
    if not features:
        return labels
    # Every feature projected in one call and clipped to the frame in one more: a print
    # draws a few hundred to thousands of them.
    transformer = _transformer(crs)
    projected = shapely.transform(
        np.array([f.geometry for f in features], dtype=object),
        lambda xy: _stack(*transformer.transform(xy[:, 0], xy[:, 1])),
    )
    inside = shapely.intersects(projected, frame)
    clipped = shapely.intersection(projected, frame)
    lines: dict[tuple[float, str, float], list[Any]] = {}  # (width, colour, zorder) -> lines
    polygons: dict[str, list[Any]] = {"water": [], "building": []}
    marks: dict[str, list[tuple[float, float]]] = {}
    for feature, whole, geometry, shown in zip(features, projected, clipped, inside, strict=True):
        if not shown:
            continue
        if feature.kind in polygons:
            polygons[feature.kind] += [
                np.asarray(p.exterior.coords)
                for p in getattr(geometry, "geoms", [geometry])
                if p.geom_type == "Polygon" and not p.is_empty
            ]
        elif feature.kind in ("road", "waterway"):
            if feature.kind == "road":
                width, colour, zorder = ROAD_STYLE.get(feature.klass, ROAD_STYLE["lane"])
            else:
                width, colour, zorder = WATERWAY_WIDTH.get(feature.klass, 0.8), WATER_LINE, 2.0
            lines.setdefault((width, colour, zorder), []).extend(
                np.asarray(line.coords)
                for line in getattr(geometry, "geoms", [geometry])
                if line.geom_type == "LineString"
            )
            if feature.name and (feature.kind == "waterway" or feature.klass in LABELLED_ROADS):
                rank = 0 if feature.kind == "waterway" else (1 if feature.klass == "major" else 3)
                candidates.append((rank, feature, geometry))
        elif feature.kind == "landmark" and whole.geom_type == "Point":
            marks.setdefault(feature.klass, []).append((whole.x, whole.y))
            if feature.name:
                candidates.append((2, feature, whole))
    for kind, rings in polygons.items():
        if rings:
            water = kind == "water"
            ax.add_collection(
                PolyCollection(
                    rings,
                    facecolors=WATER_FILL if water else "#e4e4e4",
                    edgecolors=WATER_LINE if water else "#b0b0b0",
                    linewidths=0.4,
                    zorder=1.5,
                )
            )
    for (width, colour, zorder), segments in lines.items():
        ax.add_collection(
            LineCollection(
                segments, colors=colour, linewidths=width, zorder=zorder, capstyle="round"
            )
        )
    for klass, points in marks.items():
        xs, ys = zip(*points, strict=True)
        ax.scatter(xs, ys, s=(size * 0.9) ** 2, marker=LANDMARK_MARKERS.get(klass, "o"),
                   c="#303030", edgecolors="white", linewidths=0.6, zorder=8)  # fmt: skip
    # Names by importance: rivers, main streets, landmarks, then the smaller streets.
    for _, feature, geometry in sorted(candidates, key=lambda c: c[0]):
        if feature.kind == "landmark":
            # Right of its mark, or left of it where the frame would cut it.
            label = _place_label(
                ax, feature.name or "", geometry.x + size * metres_per_point, geometry.y, 0.0,
                size, metres_per_point, taken, halo, frame, ha="left",
            ) or _place_label(
                ax, feature.name or "", geometry.x - size * metres_per_point, geometry.y, 0.0,
                size, metres_per_point, taken, halo, frame, ha="right",
            )  # fmt: skip
        else:
            label = _street_label(
                ax, feature.name or "", geometry, size, metres_per_point, taken, named, halo, frame
            )
        if label is not None:
            labels.append(label)
    return labels


def _street_label(
    ax: Any,
    name: str,
    geometry: BaseGeometry,
    size: float,
    metres_per_point: float,
    taken: list[BaseGeometry],
    named: set[str],
    halo: list[Any],
    frame: BaseGeometry,
) -> Any:
    """A street's name once, along the middle of its longest piece in the frame."""
    if name in named:
        return None
    line = _longest_piece(geometry)
    if line is None:
        return None
    width = len(name) * size * 0.55 * metres_per_point
    if line.length < width * 1.2:
        return None
    middle = line.interpolate(0.5, normalized=True)
    before = line.interpolate(max(0.0, line.project(middle) - width / 2))
    after = line.interpolate(min(line.length, line.project(middle) + width / 2))
    angle = math.degrees(math.atan2(after.y - before.y, after.x - before.x))
    if angle > 90:
        angle -= 180
    elif angle < -90:
        angle += 180
    label = _place_label(
        ax, name, middle.x, middle.y, angle, size, metres_per_point, taken, halo, frame
    )
    if label is not None:
        named.add(name)
    return label


def draw_attribution(ax: Any, attribution: str, size: float) -> None:
    """The context layers' credit line (OSM data: ODbL) in the map's lower right corner; the
    text is data, never parsed as mathtext."""
    ax.text(
        0.995,
        0.005,
        attribution,
        transform=ax.transAxes,
        fontsize=size,
        ha="right",
        va="bottom",
        color="#404040",
        parse_math=False,
        zorder=21,
        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1},
    )


def label_footprint(x: float, y: float, text: str, size: float, points_per_metre: float) -> Any:
    """About the area (metres) a centred label of `size` points covers (several lines too)."""
    lines = text.split("\n") or [""]
    width = max(len(line) for line in lines) * size * 0.55 / points_per_metre
    height = len(lines) * size * 1.2 / points_per_metre
    return box(x - width / 2, y - height / 2, x + width / 2, y + height / 2)


def _place_label(
    ax: Any,
    text: str,
    x: float,
    y: float,
    angle: float,
    size: float,
    metres_per_point: float,
    taken: list[BaseGeometry],
    halo: list[Any],
    frame: BaseGeometry,
    ha: str = "center",
) -> Any:
    """A label unless it would cover another one or cross the map's frame (its footprint
    estimated in metres: "UBND An Xuân" printed "UB" at the frame)."""
    from shapely import affinity

    width = (len(text) * 0.62 + 0.6) * size * metres_per_point  # DejaVu Sans, with a margin
    height = size * 1.45 * metres_per_point
    left = {"center": x - width / 2, "right": x - width}.get(ha, x)
    footprint = affinity.rotate(
        box(left, y - height / 2, left + width, y + height / 2), angle, origin=(x, y)
    )
    if not frame.contains(footprint) or any(footprint.intersects(other) for other in taken):
        return None
    taken.append(footprint)
    return ax.text(
        x, y, text, fontsize=size, rotation=angle, rotation_mode="anchor", ha=ha, va="center",
        color="#303030", zorder=9, parse_math=False, clip_on=True,
        # A light box, not a stroked halo: a halo makes the PDF draw every glyph's outline
        # (a third of a ward print's time with a city's street names).
        bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none",
              "alpha": 0.75},
    )  # fmt: skip
