"""A geoshape answer read as a polygon (app/geo/geoshape.py)."""

from __future__ import annotations

import math

import pytest

from app.geo import geoshape
from app.geo.geoshape import MAX_POINTS, GeoshapeError, read_geoshape

SQUARE = "15.57 108.474 0 5;15.571 108.474 0 5;15.571 108.475 0 5;15.57 108.475 0 5"


def test_an_open_ring_is_closed_and_read_longitude_first() -> None:
    shape = read_geoshape(SQUARE)
    assert shape.ring[0] == shape.ring[-1] == (108.474, 15.57)
    assert len(shape.ring) == 5 and not shape.self_intersects
    assert shape.wkt.startswith("POLYGON((108.474 15.57,108.474 15.571,")


def test_a_closed_ring_trailing_semicolons_and_spaces_are_as_collect_writes_them() -> None:
    closed = read_geoshape(f"  {SQUARE};15.57 108.474 0 5; ;\n")
    assert closed == read_geoshape(SQUARE)
    assert read_geoshape("15.57 108.474;15.571 108.474;15.571 108.475").ring[-1] == (108.474, 15.57)


def test_a_figure_eight_is_kept_and_said_to_cross_itself() -> None:
    shape = read_geoshape("15.57 108.474;15.571 108.475;15.571 108.474;15.57 108.475")
    assert shape.self_intersects
    assert len(shape.ring) == 5


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "invalid_geoshape"),
        ("15.57 108.474;15.571 108.474", "invalid_geoshape"),
        ("15.57 108.474;15.571 108.474;15.57 108.474", "invalid_geoshape"),
        ("15.57 108.474;nan 108.474;15.571 108.475", "geoshape_point_invalid"),
        ("15.57 108.474;15.571 Infinity;15.571 108.475", "geoshape_point_invalid"),
        ("15.57 108.474;15.571 1_08.4;15.571 108.475", "geoshape_point_invalid"),
        ("15.57 108.474;1e999 108.4;15.571 108.475", "geoshape_point_invalid"),
        ("15.57 108.474;15.571 108.4 0 1e400;15.571 108.475", "geoshape_point_invalid"),
        ("15.57;15.571 108.4;15.571 108.475", "geoshape_point_invalid"),
        ("15.57 108.474 1 2 3;15.571 108.4;15.571 108.475", "geoshape_point_invalid"),
        ("90.5 108.474;15.571 108.4;15.571 108.475", "geoshape_point_out_of_range"),
        ("15.5 -180.01;15.571 108.4;15.571 108.475", "geoshape_point_out_of_range"),
        ("15.57 108.474;15.571 108.475;15.572 108.476", "geoshape_no_area"),
        ("0 0;0 1e-9;0 2e-9;0 0", "geoshape_no_area"),
    ],
)
def test_what_is_no_polygon_is_refused(text: str, code: str) -> None:
    with pytest.raises(GeoshapeError) as raised:
        read_geoshape(text)
    assert raised.value.code == code


def _walk(points: int) -> str:
    """A ring of `points` points around a settlement (a circle of ~200 m), as Collect writes it."""
    corners = (
        f"{15.57 + 0.002 * math.sin(2 * math.pi * i / points):.7f} "
        f"{108.47 + 0.002 * math.cos(2 * math.pi * i / points):.7f} 0 5"
        for i in range(points)
    )
    return ";".join(corners)


def test_a_boundary_of_more_points_than_any_walk_is_refused_and_long_ones_are_not_kept() -> None:
    """330,000 points (8.9 MB) held the event loop ~3 s and kept ~60 MB in the cache for each
    answer sent; MAX_POINTS is 40 km walked at the phone's step of 2 m."""
    cache = geoshape._cached_geoshape
    held = cache.cache_info().currsize
    assert len(read_geoshape(_walk(MAX_POINTS)).ring) == MAX_POINTS + 1
    for text in (_walk(MAX_POINTS + 1), ";".join(["15.57 108.47"] * 400_000)):
        with pytest.raises(GeoshapeError) as raised:
            read_geoshape(text)
        assert (raised.value.code, raised.value.params) == (
            "geoshape_too_many_points",
            {"max": MAX_POINTS},
        )
    assert cache.cache_info().currsize == held  # long answers are read, not kept
    read_geoshape(_walk(4))
    assert cache.cache_info().currsize == min(held + 1, 64)


def test_a_line_walked_has_the_same_most_points() -> None:
    """A geotrace is read by the same rule (its points counted before any is read)."""
    from app.forms.answer_types import COERCIONS
    from app.forms.definition import Question

    trace = Question(name="duong_di", type="geotrace", label={"vi": "Đường đi"})
    coerce = COERCIONS["geotrace"]
    assert coerce(trace, _walk(MAX_POINTS), "duong_di")[1] is None
    value, problem = coerce(trace, _walk(MAX_POINTS + 1), "duong_di")
    assert value is None and problem is not None
    assert (problem.code, problem.params) == ("geoshape_too_many_points", {"max": MAX_POINTS})
    assert "20000" in problem.message("vi") and "20000" in problem.message("en")
