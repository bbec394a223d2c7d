"""The printed ward map's households (app/geo/household_raster.py): one image, a symbol where
each household is and nothing where none is, the same page from rows or from columns."""

from __future__ import annotations

import dataclasses
import io
from typing import Any

import numpy as np
import pytest
from matplotlib.colors import to_rgba
from PIL import Image
from pyproj import Transformer

from app.geo.household_raster import HouseholdPoints, household_image
from app.geo.print_map import PNG_DPI, PrintInput, render_print_map, utm_epsg
from tests.unit.test_print_map import ward_page

PALETTE = ["#1a9850", "#fee08b", "#d73027", "#bdbdbd"]


def _reach(diameter_pt: float, dpi: float) -> float:
    """How far (pixels) a symbol's ink can reach from its household: its radius, its outline,
    a pixel of antialiasing and half a pixel where the stamp lands on whole pixels."""
    return (diameter_pt / 2 + 0.35) * dpi / 72 + 1.5


def _distance_to_nearest(shape: tuple[int, int], points: np.ndarray) -> np.ndarray:
    """Per pixel (rows from the top), the distance from its centre to the nearest point
    (x, y in pixels from the bottom-left corner)."""
    height, width = shape
    rows, columns = np.mgrid[0:height, 0:width]
    x, y = columns + 0.5, height - rows - 0.5
    nearest = np.full(shape, np.inf)
    for px, py in points:
        nearest = np.minimum(nearest, np.hypot(x - px, y - py))
    return nearest


def test_each_household_gets_a_ring_and_nothing_else_is_drawn() -> None:
    rng = np.random.default_rng(14)
    # A crowd in the lower left, a few alone, the upper right empty (frame of 1 km, 300 px).
    crowd = rng.uniform(100, 300, (400, 2))
    alone = np.array([[700.0, 150.0], [150.0, 800.0], [500.0, 500.0]])
    xy = np.vstack([crowd, alone])
    dpi, diameter = 150.0, 2.0
    image = household_image(
        xy[:, 0], xy[:, 1], None, None, (0.0, 0.0, 1000.0, 1000.0), (300, 300), dpi, diameter
    )
    assert image.shape == (300, 300, 4) and image.dtype == np.uint8
    ink = image[..., 3] > 0
    nearest = _distance_to_nearest(ink.shape, xy * 0.3)
    reach = _reach(diameter, dpi)
    assert not ink[nearest > reach].any(), "ink where no household is"
    # Every lone household has its ring, in the rings' colour (#202020).
    for px, py in alone * 0.3:
        around = _distance_to_nearest(ink.shape, np.array([[px, py]])) <= reach
        assert ink[around].sum() >= 4, (px, py)
        colours = image[around & (image[..., 3] > 128)][:, :3]
        assert (colours == 0x20).all(), colours
    # A hollow ring: its middle stays clear at a large symbol.
    big = household_image(
        np.array([500.0]), np.array([500.0]), None, None, (0, 0, 1000, 1000), (300, 300), 150, 3.2
    )
    assert big[150, 150, 3] == 0 and big[..., 3].max() > 100  # a thin (0.35 pt) ring
    # Nothing in the upper right quarter, where no household is.
    assert not ink[:140, 160:].any()


def test_coloured_households_show_their_answers_colour() -> None:
    xs = np.array([200.0, 400.0, 600.0, 800.0])
    ys = np.array([500.0, 500.0, 500.0, 500.0])
    codes = np.array([0, 1, 2, 3], np.int16)  # the last: no answer
    image = household_image(xs, ys, codes, PALETTE, (0, 0, 1000, 1000), (200, 200), 200, 3.2)
    for x, colour in zip(xs, PALETTE, strict=True):
        column, row = int(x * 0.2), 100
        middle = image[row - 1 : row + 1, column - 1 : column + 1].reshape(-1, 4)
        expected = np.round(np.array(to_rgba(colour)) * 255)
        assert np.abs(middle.astype(int) - expected).max() <= 2, (colour, middle)
    # The outline is black, and nothing lies between the households.
    assert (image[100, 20:35, 3] == 0).all()
    edge = image[95:106, 35:46].reshape(-1, 4)
    assert ((edge[:, 3] > 200) & (edge[:, :3].max(axis=1) < 60)).any()


def _answer_shares(image: np.ndarray, palette: list[str]) -> np.ndarray:
    """Each answer's share of the opaque pixels, each pixel counted for the nearest of the
    palette's colours and black (the outlines)."""
    colours = np.array([np.round(np.array(to_rgba(c)[:3]) * 255) for c in palette] + [[0, 0, 0]])
    distance = np.abs(image[..., None, :3].astype(int) - colours[None, None]).sum(axis=3)
    nearest = distance.argmin(axis=2)[image[..., 3] >= 128]
    counts = np.bincount(nearest, minlength=len(colours))[: len(palette)]
    return counts / counts.sum()


def test_answers_show_in_a_crowd_as_the_scatter_showed_them() -> None:
    """Where symbols overlap, each answer shows about as much as when every household is
    drawn in turn (matplotlib's scatter, in the households' order), not the last answer
    drawn over all the others."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rng = np.random.default_rng(3)
    count, width, dpi, diameter = 4_000, 300, 150.0, 3.2
    xy = rng.uniform(0, 1000, (count, 2))
    codes = rng.choice(3, count, p=[0.7, 0.2, 0.1]).astype(np.int16)
    frame = (0.0, 0.0, 1000.0, 1000.0)
    palette = PALETTE[:3]
    image = household_image(
        xy[:, 0], xy[:, 1], codes, palette, frame, (width, width), dpi, diameter
    )
    figure = Figure(figsize=(width / dpi, width / dpi), dpi=dpi)
    figure.patch.set_alpha(0)
    ax = figure.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.set_xlim(0, 1000)
    ax.set_ylim(0, 1000)
    ax.scatter(
        xy[:, 0],
        xy[:, 1],
        s=diameter**2,
        c=np.array([to_rgba(c) for c in palette])[codes],
        edgecolors="black",
        linewidths=min(0.3, diameter / 6),
    )
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    scattered = _answer_shares(np.asarray(canvas.buffer_rgba()), palette)
    shares = _answer_shares(image, palette)
    assert np.abs(shares - scattered).max() < 0.05, (shares, scattered)


def _page_pixels(data: PrintInput) -> tuple[np.ndarray, Any]:
    """The page as a PNG's RGB pixels, and a function from lon/lat to its pixels (x, y from
    the bottom-left corner)."""
    where: dict[str, Any] = {}

    def locate(figure: Any) -> None:
        ax = figure.axes[0]  # the map
        where["to_pixels"] = ax.transData.frozen()
        where["size"] = figure.get_size_inches() * PNG_DPI
        where["dpi"] = figure.dpi

    content = render_print_map(data, "A4", "landscape", "png", on_page=locate)
    pixels = np.asarray(Image.open(io.BytesIO(content)).convert("RGB")).astype(int)
    centre = data.ward_geometry["coordinates"][0][0]
    to_metres = Transformer.from_crs(
        "EPSG:4326", f"EPSG:{utm_epsg(centre[0], centre[1])}", always_xy=True
    )
    # transData holds the figure's dpi at the time it was read: scale to the PNG's.
    scale = PNG_DPI / where["dpi"]

    def to_pixels(points: np.ndarray) -> np.ndarray:
        xs, ys = to_metres.transform(points[:, 0], points[:, 1])
        return where["to_pixels"].transform(np.column_stack([xs, ys])) * scale

    return pixels, to_pixels


@pytest.mark.parametrize("indicator", ["priority", "no_piped_water"])
def test_the_printed_page_has_households_where_they_are_and_only_there(indicator: str) -> None:
    rng = np.random.default_rng(7)
    # 300 households in the first settlement's south-west part, 3 alone in the north-east
    # of the ward; the rest of the ward has none.
    crowd = np.column_stack(
        [rng.uniform(108.4621, 108.4629, 300), rng.uniform(15.5621, 15.5629, 300)]
    )
    alone = np.array([[108.4685, 15.5685], [108.4690, 15.5660], [108.4660, 15.5690]])
    points = np.vstack([crowd, alone])
    answers = ["piped", "well", None, "vendor"]
    rows = [(lon, lat, answers[i % 4]) for i, (lon, lat) in enumerate(points)]
    page = ward_page(indicator)
    bare, _ = _page_pixels(dataclasses.replace(page, households=[]))
    drawn, to_pixels = _page_pixels(dataclasses.replace(page, households=rows))
    changed = np.abs(drawn - bare).max(axis=2) > 24
    at = to_pixels(points)
    nearest = _distance_to_nearest(changed.shape, at)
    reach = _reach(3.2, PNG_DPI)  # the largest symbol
    assert changed.sum() > 0
    assert not changed[nearest > reach].any(), "household ink where no household is"
    for x, y in to_pixels(alone):
        around = _distance_to_nearest(changed.shape, np.array([[x, y]])) <= reach
        assert changed[around].sum() >= 4, (x, y)
    # The crowd covers its part of the settlement with symbols, the fill still showing.
    left, bottom = to_pixels(np.array([[108.4621, 15.5621]]))[0]
    right, top = to_pixels(np.array([[108.4629, 15.5629]]))[0]
    height = changed.shape[0]
    inside = changed[
        int(height - top) + 3 : int(height - bottom) - 3, int(left) + 3 : int(right) - 3
    ]
    assert 0.1 < inside.mean() < 0.95, inside.mean()


@pytest.mark.parametrize("indicator", ["priority", "no_piped_water"])
def test_rows_and_columns_print_the_same_page(indicator: str) -> None:
    page = ward_page(indicator)
    rows = list(page.households)
    values = ["piped", "shared_tap", "well", "rain", "vendor"]
    columns = HouseholdPoints.from_rows(rows, values if indicator != "priority" else None)
    assert len(columns) == 3
    if indicator != "priority":
        assert columns.codes is not None and columns.codes.tolist() == [2, 0, 5]
    for output in ("png", "pdf"):
        from_rows = render_print_map(page, "A4", "landscape", output)
        from_columns = render_print_map(
            dataclasses.replace(page, households=columns), "A4", "landscape", output
        )
        if output == "png":
            assert from_rows == from_columns
        else:
            assert len(from_rows) == len(from_columns)
