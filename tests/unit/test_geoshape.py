"""A geoshape answer read as a polygon (app/geo/geoshape.py)."""

from __future__ import annotations

import pytest

from app.geo.geoshape import GeoshapeError, read_geoshape

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
