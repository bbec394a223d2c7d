"""The server's boundary index: the lowest id wins, a named city limits the wards, and what
it cannot decide is left to the database."""

from __future__ import annotations

import shapely

from app.geo.placement import Area, Boundaries, Place


def box(west: float, south: float, size: float) -> bytes:
    return shapely.to_wkb(shapely.box(west, south, west + size, south + size))


# Two cities' wards overlap at (1.5, 1.5): ward 7 of city 2 and ward 9 of city 1.
BOUNDARIES = Boundaries(
    generation=4,
    city_ids={"mot": 1, "hai": 2},
    wards=[Area(9, 1, box(0, 0, 2)), Area(7, 2, box(1, 1, 2)), Area(11, 1, box(2, 0, 1))],
    settlements=[Area(30, 1, box(0.5, 0.5, 2)), Area(20, 2, box(1.2, 1.2, 1))],
)


def test_the_lowest_id_wins_unless_a_city_is_named() -> None:
    found = BOUNDARIES.place([1.5, 1.5, 1.5], [1.5, 1.5, 1.5], [None, "mot", "hai"])
    assert found == [Place(2, 7, 20), Place(1, 9, 30), Place(2, 7, 20)]


def test_edges_count_and_settlements_follow_the_wards_city() -> None:
    # On the edge shared by wards 9 and 11 (x = 2): ward 9; settlement 30 reaches x = 2.5.
    assert BOUNDARIES.place([2.0], [0.75], [None]) == [Place(1, 9, 30)]
    # In ward 11 and in no settlement (30 ends at y = 0.5).
    assert BOUNDARIES.place([2.5], [0.25], [None]) == [Place(1, 11, None)]


def test_what_the_index_cannot_decide_is_none() -> None:
    found = BOUNDARIES.place(
        [None, 5.0, 1.5, 1.5], [None, 5.0, 1.5, 1.5], [None, None, "ba", "mot"]
    )
    # No point; in no ward (the outskirts rule needs the database); a city it does not know.
    assert found == [None, None, None, Place(1, 9, 30)]


def test_no_boundaries_place_nothing() -> None:
    empty = Boundaries(1, {}, [], [])
    assert empty.place([1.0], [1.0], [None]) == [None]
    assert empty.vertices == 0
    assert BOUNDARIES.vertices == 25
