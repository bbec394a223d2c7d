"""The two synthetic member cities: deterministic, where the cities are, their wards' names."""

from __future__ import annotations

import shapely

from app.geo import sample_city, sample_network


def test_member_cities_are_deterministic_and_where_they_should_be() -> None:
    for member in sample_network.MEMBER_CITIES:
        city = sample_network.generate_member_city(member)
        again = sample_network.generate_member_city(member)
        assert [w.geometry.wkb for w in city.wards] == [w.geometry.wkb for w in again.wards]
        assert [w.name for w in city.wards] == list(member.wards)
        centre = city.outline.centroid
        assert abs(centre.x - member.lon) < 0.05 and abs(centre.y - member.lat) < 0.05
        assert all(city.outline.contains(s.geometry.centroid) for s in city.settlements)
        names = [s.name for s in city.settlements]
        assert len(set(names)) == len(names)
        households = list(sample_city.generate_households(city, 50, 7))
        points = shapely.points([(h["location"]["lon"], h["location"]["lat"]) for h in households])
        assert sum(city.outline.buffer(0.01).contains(p) for p in points) >= 45
    tam_ky = sample_city.generate_city()
    long_xuyen = sample_network.generate_member_city(sample_network.MEMBER_CITIES[0])
    assert not tam_ky.outline.intersects(long_xuyen.outline)
