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


# Outskirts: ward 5 of city 1 and ward 6 of city 2, 0.09 degrees (~10 km) apart; settlement
# 40 of city 1 lies outside both; reach 20 km on the spheroid (0.179 degrees at most).
OUTSKIRTS = Boundaries(
    generation=1,
    city_ids={"mot": 1, "hai": 2},
    wards=[Area(5, 1, box(0, 0, 0.01)), Area(6, 2, box(0.1, 0, 0.01))],
    settlements=[Area(40, 1, box(0.02, 0, 0.01))],
    outskirts_m=20_000,
)


def test_outside_every_ward_a_point_is_in_the_nearest_wards_city_when_surely_within_reach() -> None:
    found = OUTSKIRTS.place([0.025, 0.025, 0.09], [0.005, 0.005, 0.005], [None, "hai", None])
    # Nearest is ward 5 (city 1), and the settlement of city 1 around the point; naming city
    # 2 reads only its wards (ward 6, within reach) and so no settlement of city 1.
    assert found == [Place(1, None, 40), Place(2, None, None), Place(2, None, None)]


def test_outskirts_the_index_cannot_be_sure_of_are_left_to_the_database() -> None:
    found = OUTSKIRTS.place(
        # Halfway between the two cities' wards; 0.185 degrees west (19.9 km by the
        # spheroid at the equator: within, but not surely by the bound); far away; Paris.
        [0.055, -0.185, -0.5, 2.35],
        [0.005, 0.005, 0.005, 48.85],
        [None, None, None, None],
    )
    assert found == [None, None, None, None]
    # Without a reach given, the index decides no outskirts at all.
    unreached = Boundaries(1, {"mot": 1}, [Area(5, 1, box(0, 0, 0.01))], [])
    assert unreached.place([0.011], [0.005], [None]) == [None]


def test_a_ward_whose_vertices_are_all_beyond_reach_is_left_to_the_database() -> None:
    # 2-degree squares: the nearest point of the edge is 0.05 degrees away, its corners 1.
    assert BOUNDARIES.place([3.05], [0.5], [None]) == [None]
    wide = Boundaries(1, {"mot": 1}, [Area(11, 1, box(2, 0, 1))], [], outskirts_m=20_000)
    assert wide.place([3.05], [0.5], [None]) == [None]
    assert wide.place([3.05], [0.02], [None]) == [Place(1, None, None)]
