"""Streets, water and landmarks under a printed map: every name once, none over another,
names as plain text (a `$` stays a dollar sign)."""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from shapely.geometry import LineString, Point

from app.geo import context_print, osm_context
from app.geo.osm_context import ContextFeature
from app.services.context import sample_features

CRS = "EPSG:32649"  # UTM 49N: the sample city


def _draw(features: list[ContextFeature]) -> tuple[object, list[object]]:
    figure, ax = plt.subplots(figsize=(11.69, 8.27))
    west, south, east, north = osm_context.bounds_of(features)
    corners = context_print._projected(LineString([(west, south), (east, north)]), CRS).bounds
    ax.set_xlim(corners[0], corners[2])
    ax.set_ylim(corners[1], corners[3])
    ax.set_aspect("equal", adjustable="box")
    box = ax.get_position()
    points_per_metre = box.width * 11.69 * 72 / (corners[2] - corners[0])
    labels = context_print.draw_context(ax, features, CRS, corners, 9, points_per_metre)
    return figure, labels


def test_the_sample_streets_are_named_once_and_no_label_covers_another() -> None:
    features = sample_features()
    figure, labels = _draw(features)
    texts = [label.get_text() for label in labels]  # type: ignore[attr-defined]
    assert len(texts) == len(set(texts))  # each name once
    assert "Sông Tam Kỳ" in texts and any(t.startswith("Chợ") for t in texts)
    assert sum(1 for t in texts if t in osm_context_street_names()) >= 5
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    shapes = [_footprint(label, renderer) for label in labels]
    for i, first in enumerate(shapes):
        for second in shapes[i + 1 :]:
            assert first.intersection(second).area < 0.05 * min(first.area, second.area), (
                "labels cover each other"
            )
    plt.close(figure)


def _footprint(label: Any, renderer: Any) -> Any:
    """The label's box on the page (display units), rotated as drawn (about its anchor)."""
    from shapely import affinity
    from shapely.geometry import box

    angle = label.get_rotation()
    label.set_rotation(0)
    flat = label.get_window_extent(renderer)
    label.set_rotation(angle)
    anchor = label.get_transform().transform(label.get_position())
    return affinity.rotate(
        box(flat.x0, flat.y0, flat.x1, flat.y1), angle, origin=(anchor[0], anchor[1])
    )


def osm_context_street_names() -> set[str]:
    from app.geo.sample_city import _STREETS

    return set(_STREETS)


def test_names_are_plain_text() -> None:
    hostile = "$\\frac{1}{0}$ {{ 7*7 }} </text><script>"
    features = [
        ContextFeature("road", "major", hostile, LineString([(108.40, 15.57), (108.55, 15.57)])),
        ContextFeature("landmark", "market", "Chợ $x$", Point(108.47, 15.58)),
        ContextFeature("road", "major", "Lê Lợi", LineString([(108.47, 15.50), (108.47, 15.65)])),
    ]
    figure, labels = _draw(features)
    texts = {label.get_text() for label in labels}  # type: ignore[attr-defined]
    assert hostile in texts and "Chợ $x$" in texts
    figure.canvas.draw()  # mathtext would raise on \frac{1}{0} if it parsed the name
    plt.close(figure)


def test_names_near_the_frame_move_inside_or_are_left_out() -> None:
    """A landmark by the map's east edge printed "UB" of "UBND An Xuân", the rest cut by the
    frame: its name goes left of its mark; a street along the edge whose name would cross the
    frame is left unnamed; nothing drawn sticks out of the map."""
    west, south, east, north = 108.45, 15.55, 108.50, 15.60
    features = [
        ContextFeature("road", "major", "Frame", LineString([(west, south), (east, south)])),
        ContextFeature("landmark", "office", "UBND An Xuân", Point(east - 0.0004, 15.575)),
        ContextFeature("landmark", "market", "Chợ Tam Kỳ", Point(west + 0.0004, 15.58)),
        ContextFeature(
            "road", "major", "Đường Phan Châu Trinh", LineString([(west, 15.5999), (east, 15.5999)])
        ),
        ContextFeature("road", "major", "Lê Lợi", LineString([(108.47, south), (108.47, north)])),
    ]
    figure, ax = plt.subplots(figsize=(11.69, 8.27))
    corners = context_print._projected(LineString([(west, south), (east, north)]), CRS).bounds
    ax.set_xlim(corners[0], corners[2])
    ax.set_ylim(corners[1], corners[3])
    ax.set_aspect("equal", adjustable="box")
    position = ax.get_position()
    points_per_metre = position.width * 11.69 * 72 / (corners[2] - corners[0])
    labels = context_print.draw_context(ax, features, CRS, corners, 9, points_per_metre)
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    frame = ax.get_window_extent(renderer)
    texts = {label.get_text() for label in labels}  # type: ignore[attr-defined]
    assert {"UBND An Xuân", "Chợ Tam Kỳ", "Lê Lợi"} <= texts
    for label in labels:
        extent = label.get_window_extent(renderer)  # type: ignore[attr-defined]
        assert extent.x0 >= frame.x0 and extent.x1 <= frame.x1, label.get_text()  # type: ignore[attr-defined]
        assert extent.y0 >= frame.y0 and extent.y1 <= frame.y1, label.get_text()  # type: ignore[attr-defined]
    plt.close(figure)
