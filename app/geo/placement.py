"""Which ward and settlement a survey's point is in, answered in the server.

The same rules as the ingest SQL (app.db.submissions `_PLACED`): the ward is the one with the
lowest id whose polygon intersects the point (its edge counts), among the wards of the city a
survey names, or of every city when it names none; the settlement is the lowest id that
intersects the point among the settlements of that ward's city. A point that no ward holds
is in the outskirts of the city of the nearest ward (of the city it names, else of any city)
when that ward is within reach on the spheroid: it is placed here only when a vertex of that
ward is surely within reach (see `_MOST_METRES_PER_DEGREE`) and no ward of another city is as
near; the database decides the rest (far away, near the limit, a tie) and a survey without a
point, as before.

Why here: in PostgreSQL every point reads its candidate polygons again and tests them
unprepared. With the sample's ten-vertex wards that is ~5 ms of a 500-survey batch's ~24 ms
statement; with the same wards drawn as a cadastral file draws them (2,584 vertices each,
settlements 284) the statement took 52-58 ms, against 20-21 ms for the same surveys placed
here (docs/benchmarks.md). Here each polygon is prepared once per process (GEOS builds its
edge index) and a batch is placed by one query of an STRtree and one vectorised
point-in-polygon test (~0.1 ms for 500 points in those wards).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely

# Metres that one degree spans at most, in any direction and anywhere on WGS 84: a degree of
# a meridian at the poles (111,694 m; a degree of the equator is 111,319 m). A straight line
# of d degrees in longitude and latitude is never longer than d times this on the spheroid,
# so the geodesic from a point to a vertex that near is shorter still. A vertex of a polygon
# is on it whether its edges are read as straight lines (geometry) or as geodesics
# (geography), so a point that near a vertex is within reach of the polygon either way.
_MOST_METRES_PER_DEGREE = 111_700.0
# Distances closer than this (degrees, ~0.1 mm) are a tie: the database's and GEOS's
# arithmetic may order them either way, and the database orders ties as it likes.
_TIE_DEGREES = 1e-9


@dataclass(frozen=True)
class Area:
    """A ward or a settlement as the index knows it."""

    id: int
    city_id: int
    wkb: bytes


@dataclass(frozen=True)
class Place:
    """Where a point is: its city, ward, and settlement (None: in no settlement)."""

    city_id: int
    ward_id: int | None  # None: outside every ward, in the city's outskirts
    settlement_id: int | None


class _Index:
    """Polygons in an STRtree, each prepared; ids and cities beside them."""

    def __init__(self, areas: Sequence[Area]) -> None:
        ordered = sorted(areas, key=lambda area: area.id)
        self.ids = [area.id for area in ordered]
        self.cities = [area.city_id for area in ordered]
        self.geometries = shapely.from_wkb([area.wkb for area in ordered])
        shapely.prepare(self.geometries)
        self.vertices = int(shapely.get_num_coordinates(self.geometries).sum()) if ordered else 0
        self.tree = shapely.STRtree(self.geometries)

    def nearest_city(self, x: float, y: float, city_id: int | None, reach_m: float) -> int | None:
        """The city of the polygon nearest to the point (x, y) in degrees, among those of
        city `city_id` (None: of any city), when that polygon is surely within `reach_m`
        metres of it on the spheroid; None when that is not sure (too far, near the limit,
        polygons of two cities as near)."""
        reach = reach_m / _MOST_METRES_PER_DEGREE
        point = shapely.Point(x, y)
        # Any polygon farther than `reach` from the point has no vertex within it: those
        # within (and a tie's margin) hold the nearest whenever it can be decided here.
        near = self.tree.query(point, predicate="dwithin", distance=reach + 2 * _TIE_DEGREES)
        if city_id is not None:
            near = near[[self.cities[position] == city_id for position in near.tolist()]]
        if not len(near):
            return None
        distances = shapely.distance(self.geometries[near], point)
        nearest = near[distances <= distances.min() + _TIE_DEGREES].tolist()
        cities = {self.cities[position] for position in nearest}
        if len(cities) != 1:
            return None
        for position in nearest:  # any of the tied may be the database's nearest
            corners = shapely.get_coordinates(self.geometries[position])
            if float(np.hypot(corners[:, 0] - x, corners[:, 1] - y).min()) > reach:
                return None
        return cities.pop()

    def lowest(
        self,
        xs: np.ndarray,
        ys: np.ndarray,
        city_of_point: Sequence[int | None],
        prefer: bool = False,
    ) -> list[int | None]:
        """For each point: the position (in id order) of the lowest-id polygon that
        intersects it (its edge counts), among those of the point's city (None: any city);
        with `prefer`, those of the point's city first, else those of any city."""
        found: list[int | None] = [None] * len(xs)
        elsewhere: list[int | None] = [None] * len(xs)
        if not self.ids or not len(xs):
            return found
        # The tree gives the polygons whose box holds a point; each is then tested in its
        # prepared form (`intersects_xy`: ~0.1 ms for 500 points in wards of 2,500 vertices,
        # where the tree's own predicate, which prepares the point instead, took ~12 ms).
        points, positions = self.tree.query(shapely.points(xs, ys))
        inside = shapely.intersects_xy(self.geometries[positions], xs[points], ys[points])
        cities = self.cities
        # Positions are in id order, so the smallest position is the lowest id.
        for point, position in zip(
            points[inside].tolist(), positions[inside].tolist(), strict=True
        ):
            wanted = city_of_point[point]
            if wanted is not None and cities[position] != wanted:
                other = elsewhere[point]
                if other is None or position < other:
                    elsewhere[point] = position
                continue
            current = found[point]
            if current is None or position < current:
                found[point] = position
        if prefer:
            return [
                own if own is not None else other
                for own, other in zip(found, elsewhere, strict=True)
            ]
        return found


class Boundaries:
    """Every ward and settlement of every city at one boundary generation (a counter the
    database moves whenever wards, settlements or cities change)."""

    def __init__(
        self,
        generation: int,
        city_ids: dict[str, int],
        wards: Sequence[Area],
        settlements: Sequence[Area],
        outskirts_m: float = 0.0,
    ) -> None:
        self.generation = generation
        self.city_ids = dict(city_ids)
        self.outskirts_m = outskirts_m  # how far outside its wards a city reaches (metres)
        self._wards = _Index(wards)
        self._settlements = _Index(settlements)

    @property
    def vertices(self) -> int:
        """Vertices held (what the index costs in memory, ~100 bytes each when prepared)."""
        return self._wards.vertices + self._settlements.vertices

    def place(
        self,
        lons: Sequence[float | None],
        lats: Sequence[float | None],
        cities: Sequence[str | None],
    ) -> list[Place | None]:
        """Where each point is, or None where the database must decide (no point, a city
        this index does not know, or in no ward where the outskirts are not surely decided
        here: `nearest_city`)."""
        count = len(lons)
        places: list[Place | None] = [None] * count
        wanted: list[int | None] = []
        usable: list[int] = []
        for index in range(count):
            lon, lat, city = lons[index], lats[index], cities[index]
            if lon is None or lat is None:
                continue
            city_id = None
            if city is not None:
                city_id = self.city_ids.get(city)
                if city_id is None:
                    continue
            usable.append(index)
            wanted.append(city_id)
        if not usable:
            return places
        xs = np.fromiter((lons[i] for i in usable), float, len(usable))
        ys = np.fromiter((lats[i] for i in usable), float, len(usable))
        # The point decides: a survey naming a city is in that city's ward where wards of two
        # cities meet, and in the ward around its point wherever else (README: the city a
        # survey names places it only without a point, or outside every ward).
        ward_positions = self._wards.lowest(xs, ys, wanted, prefer=True)
        # Outside every ward (of any city): the outskirts of the nearest ward's city.
        ward_cities = [
            self._wards.nearest_city(
                float(xs[slot]), float(ys[slot]), wanted[slot], self.outskirts_m
            )
            if position is None
            else self._wards.cities[position]
            for slot, position in enumerate(ward_positions)
        ]
        settlement_positions = self._settlements.lowest(xs, ys, ward_cities)
        for slot, index in enumerate(usable):
            city_id = ward_cities[slot]
            if city_id is None:
                continue
            ward = ward_positions[slot]
            settlement = settlement_positions[slot]
            places[index] = Place(
                city_id=city_id,
                ward_id=None if ward is None else self._wards.ids[ward],
                settlement_id=None if settlement is None else self._settlements.ids[settlement],
            )
        return places
