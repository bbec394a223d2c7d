"""Unit tests for the synthetic Tam Kỳ sample city (no database)."""

from __future__ import annotations

import itertools
import json
import re
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, shape

from app.geo import sample_city as sc

REPO = Path(__file__).resolve().parents[2]
WARD_NAMES = {
    "An Mỹ", "An Sơn", "An Xuân", "An Phú", "Hòa Hương",
    "Hòa Thuận", "Phước Hòa", "Tân Thạnh", "Trường Xuân", "Tam Thăng",
}  # fmt: skip
REQUIRED_CHOICES: dict[str, set[str]] = {
    "poverty_status": {"poor", "near_poor", "none"},
    "tenure": {"red_book", "pink_book", "papers_only", "renting", "public_land", "relatives"},
    "house_condition": {"permanent", "semi_permanent", "temporary", "dilapidated"},
    "eviction_threat": {"yes", "no"},
    "water_source": {"piped", "shared_tap", "well", "rain", "vendor"},
    "sanitation": {"own_toilet", "shared_toilet", "none"},
    "electricity": {"own_meter", "neighbour_meter", "none"},
    "flooding": {"never", "rarely", "yearly", "often"},
    "waste": {"collected", "dumped", "burned"},
    "lane_access": {"car", "motorbike", "footpath"},
    "savings_group": {"yes", "no"},
}
OPTIONAL = {"head_phone", "lane_width_m", "lane_paved", "cdf_loan", "priority_needs", "needs_notes"}
NEEDS = {
    "house_repair",
    "water",
    "toilet",
    "drainage",
    "lane",
    "electricity",
    "tenure",
    "livelihood",
}
METRES_PER_DEG = 110_574.0


@pytest.fixture(scope="module")
def city() -> sc.SampleCity:
    return sc.generate_city()


@pytest.fixture(scope="module")
def households(city: sc.SampleCity) -> list[dict[str, Any]]:
    return list(sc.generate_households(city, 2000))


def _lonlat(rows: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    lon = np.array([h["location"]["lon"] for h in rows])
    lat = np.array([h["location"]["lat"] for h in rows])
    return lon, lat


def _inside_settlements(city: sc.SampleCity, rows: list[dict[str, Any]]) -> np.ndarray:
    lon, lat = _lonlat(rows)
    inside = np.zeros(len(rows), dtype=bool)
    for s in city.settlements:
        inside |= shapely.contains_xy(s.geometry, lon, lat)
    return inside


def test_constants() -> None:
    assert (sc.CITY_SLUG, sc.CITY_NAME, sc.PROVINCE) == ("tam-ky", "Tam Kỳ", "Quảng Nam")
    assert (sc.FORM_ID, sc.FORM_VERSION) == ("household", "2026112801")


def test_city_is_deterministic(city: sc.SampleCity) -> None:
    again = sc.generate_city(2026)
    assert [(w.code, w.name, w.geometry.wkb) for w in again.wards] == [
        (w.code, w.name, w.geometry.wkb) for w in city.wards
    ]
    assert [
        (s.code, s.name, s.ward_code, s.geometry.wkb, s.profile) for s in again.settlements
    ] == [(s.code, s.name, s.ward_code, s.geometry.wkb, s.profile) for s in city.settlements]
    other = sc.generate_city(7)
    assert [s.geometry.wkb for s in other.settlements] != [s.geometry.wkb for s in city.settlements]


def test_counts_codes_and_names(city: sc.SampleCity) -> None:
    assert (city.slug, city.name, city.province) == ("tam-ky", "Tam Kỳ", "Quảng Nam")
    assert [w.code for w in city.wards] == [f"W{i:02d}" for i in range(1, 11)]
    assert {w.name for w in city.wards} == WARD_NAMES
    assert 35 <= len(city.settlements) <= 45
    assert [s.code for s in city.settlements] == [
        f"S{i:03d}" for i in range(1, len(city.settlements) + 1)
    ]
    names = [s.name for s in city.settlements]
    assert len(set(names)) == len(names)
    assert sum(any(ord(ch) > 127 for ch in n) for n in names) > len(names) // 2
    per_ward = {w.code: 0 for w in city.wards}
    for s in city.settlements:
        per_ward[s.ward_code] += 1
    assert all(3 <= n <= 5 for n in per_ward.values())


def test_geometries_are_valid(city: sc.SampleCity) -> None:
    for w in city.wards:
        assert isinstance(w.geometry, MultiPolygon) and w.geometry.is_valid, w.code
    for s in city.settlements:
        assert isinstance(s.geometry, Polygon) and s.geometry.is_valid, s.code
        lon, lat = s.geometry.centroid.x, s.geometry.centroid.y
        assert 108.40 < lon < 108.55 and 15.50 < lat < 15.65  # lon/lat order, near Tam Kỳ


def test_wards_tile_the_outline(city: sc.SampleCity) -> None:
    geoms = [w.geometry for w in city.wards]
    assert shapely.coverage_is_valid(shapely.GeometryCollection(geoms), gap_width=1e-4)
    for a, b in itertools.combinations(geoms, 2):
        assert a.intersection(b).area < 1e-12
    outline = city.outline
    assert isinstance(outline, Polygon) and not outline.interiors
    assert abs(sum(g.area for g in geoms) - outline.area) < 1e-10
    minx, miny, maxx, maxy = outline.bounds
    width_km = (maxx - minx) * METRES_PER_DEG * 0.963 / 1000
    height_km = (maxy - miny) * METRES_PER_DEG / 1000
    assert 6.5 < width_km < 9.5 and 5.5 < height_km < 8.5


def test_settlements_inside_wards_and_disjoint(city: sc.SampleCity) -> None:
    wards = {w.code: w.geometry for w in city.wards}
    for s in city.settlements:
        assert wards[s.ward_code].contains(s.geometry), s.code
        across_m = np.sqrt(s.geometry.area) * METRES_PER_DEG
        assert 60 < across_m < 400, s.code
    for a, b in itertools.combinations(city.settlements, 2):
        assert a.geometry.disjoint(b.geometry), (a.code, b.code)


def test_settlement_profiles(city: sc.SampleCity) -> None:
    for s in city.settlements:
        p = s.profile
        assert isinstance(p["households_estimate"], int) and p["households_estimate"] > 0
        assert isinstance(p["year_settled"], int) and 1900 < p["year_settled"] < 2026
        assert p["land_type"] in {"residential", "public", "riverbank", "agricultural", "mixed"}
        assert set(p["threats"]) <= {"eviction", "flooding", "landslide", "fire"}
        assert 0.0 <= p["deprivation"] <= 1.0
    assert max(s.profile["deprivation"] for s in city.settlements) > 0.6


def test_households_are_deterministic_and_prefix_stable(
    city: sc.SampleCity, households: list[dict[str, Any]]
) -> None:
    assert list(sc.generate_households(city, 2000)) == households
    assert list(sc.generate_households(city, 500)) == households[:500]
    assert list(sc.generate_households(city, 50, seed=1)) != households[:50]
    assert list(sc.generate_households(city, 0)) == []
    with pytest.raises(ValueError):
        list(sc.generate_households(city, -1))


def test_household_shape(households: list[dict[str, Any]]) -> None:
    assert len(households) == 2000
    assert len({h["id"] for h in households}) == 2000
    start = datetime.fromisoformat("2026-09-01T00:00:00+07:00")
    end = datetime.fromisoformat("2026-11-26T00:00:00+07:00")
    keys = {"id", "form_id", "form_version", "collected_at", "collector", "location", "answers"}
    for h in households:
        assert set(h) == keys
        assert uuid.UUID(h["id"]).version == 4 and str(uuid.UUID(h["id"])) == h["id"]
        assert (h["form_id"], h["form_version"]) == ("household", "2026112801")
        assert re.fullmatch(r"2026-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00", h["collected_at"])
        when = datetime.fromisoformat(h["collected_at"])
        assert start <= when < end and 7 <= when.hour < 18
        assert re.fullmatch(r"tnv-(0[1-9]|[1-3][0-9]|40)", h["collector"])
        loc = h["location"]
        assert set(loc) == {"lat", "lon", "accuracy_m", "altitude_m"}
        assert 3 <= loc["accuracy_m"] <= 25 and 2 <= loc["altitude_m"] <= 30
        assert round(loc["lat"], 6) == loc["lat"] and round(loc["lon"], 6) == loc["lon"]


def test_household_answers(households: list[dict[str, Any]]) -> None:
    for h in households:
        a = h["answers"]
        assert set(a) <= {"head_name", "household_size"} | set(REQUIRED_CHOICES) | OPTIONAL
        assert isinstance(a["head_name"], str) and len(a["head_name"].split()) >= 2
        assert isinstance(a["household_size"], int) and 1 <= a["household_size"] <= 12
        for key, values in REQUIRED_CHOICES.items():
            assert a[key] in values, (key, a[key])
        if "head_phone" in a:
            assert re.fullmatch(r"0[0-9]{9}", a["head_phone"])
        if "lane_width_m" in a:
            assert (
                0.8 <= a["lane_width_m"] <= 8 and round(a["lane_width_m"], 1) == a["lane_width_m"]
            )
        if "lane_paved" in a:
            assert a["lane_paved"] in {"yes", "no"}
        if "cdf_loan" in a:
            assert a["savings_group"] == "yes" and a["cdf_loan"] in {"yes", "no"}
        if "priority_needs" in a:
            needs = a["priority_needs"].split(" ")
            assert 1 <= len(needs) <= 3 and len(set(needs)) == len(needs) and set(needs) <= NEEDS
        if "needs_notes" in a:
            assert isinstance(a["needs_notes"], str) and a["needs_notes"].strip()
    share = {k: sum(k in h["answers"] for h in households) / len(households) for k in OPTIONAL}
    assert 0.75 < share["head_phone"] < 0.95 and 0.2 < share["needs_notes"] < 0.4
    assert any("ễ" in h["answers"]["head_name"] for h in households)  # Nguyễn, with diacritics


def test_household_locations(city: sc.SampleCity, households: list[dict[str, Any]]) -> None:
    inside = _inside_settlements(city, households)
    assert 0.80 < inside.mean() < 0.90
    lon, lat = _lonlat(households)
    outside_city = ~shapely.intersects_xy(city.outline, lon, lat)
    assert 1 <= outside_city.sum() <= 0.03 * len(households)
    distance = shapely.distance(city.outline, shapely.points(lon[outside_city], lat[outside_city]))
    assert (distance * METRES_PER_DEG < 250).all()  # only slightly outside
    first_100 = list(sc.generate_households(city, 100, seed=99))
    lon, lat = _lonlat(first_100)
    assert (~shapely.intersects_xy(city.outline, lon, lat)).sum() >= 1


def test_answers_follow_deprivation(city: sc.SampleCity, households: list[dict[str, Any]]) -> None:
    inside = _inside_settlements(city, households)
    lon, lat = _lonlat(households)
    worst = np.zeros(len(households), dtype=bool)
    for s in city.settlements:
        if s.profile["deprivation"] > 0.6:
            worst |= shapely.contains_xy(s.geometry, lon, lat)

    def bad_share(mask: np.ndarray) -> float:
        rows = [h["answers"] for h, m in zip(households, mask, strict=True) if m]
        bad = [
            a["tenure"] not in {"red_book", "pink_book"} or a["water_source"] != "piped"
            for a in rows
        ]
        return sum(bad) / len(rows)

    assert bad_share(worst) > bad_share(~inside) + 0.3


def test_write_boundaries(city: sc.SampleCity, tmp_path: Path) -> None:
    sc.write_boundaries(city, tmp_path)
    raw = (tmp_path / "wards.geojson").read_text(encoding="utf-8")
    assert "Hòa Hương" in raw and "\\u" not in raw
    wards = json.loads(raw)
    settlements = json.loads((tmp_path / "settlements.geojson").read_text(encoding="utf-8"))
    assert wards["type"] == settlements["type"] == "FeatureCollection"
    assert len(wards["features"]) == 10 and len(settlements["features"]) == len(city.settlements)
    for f in wards["features"]:
        assert f["properties"]["synthetic"] is True and f["geometry"]["type"] == "MultiPolygon"
        assert {"code", "name"} <= set(f["properties"])
    for f, s in zip(settlements["features"], city.settlements, strict=True):
        props = f["properties"]
        assert props["synthetic"] is True and f["geometry"]["type"] == "Polygon"
        assert (props["code"], props["name"], props["ward_code"]) == (s.code, s.name, s.ward_code)
        assert {k: props[k] for k in s.profile} == s.profile
        ring = f["geometry"]["coordinates"][0]
        assert shapely.is_ccw(shapely.linearrings(ring))  # RFC 7946 right-hand rule
        assert all(round(c, 6) == c for pt in ring for c in pt)
        assert 108 < ring[0][0] < 109 and 15 < ring[0][1] < 16
        assert shape(f["geometry"]).equals(s.geometry)


def test_committed_sample_files_are_current(city: sc.SampleCity, tmp_path: Path) -> None:
    sc.write_boundaries(city, tmp_path)
    for name in ("wards.geojson", "settlements.geojson"):
        committed = REPO / "data" / "samples" / "tam-ky" / name
        assert committed.read_bytes() == (tmp_path / name).read_bytes(), f"regenerate {name}"


def test_answers_match_household_form(households: list[dict[str, Any]]) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    form = REPO / "forms" / "household.xlsx"
    if not form.exists():
        pytest.skip("forms/household.xlsx not present")
    book = openpyxl.load_workbook(form, read_only=True)
    survey = list(book["survey"].iter_rows(values_only=True))
    head = list(survey[0])
    rows = [dict(zip(head, r, strict=False)) for r in survey[1:] if r[0]]
    choices: dict[str, set[str]] = {}
    for list_name, value, *_ in list(book["choices"].iter_rows(values_only=True))[1:]:
        if list_name:
            choices.setdefault(str(list_name), set()).add(str(value))
    assert book["settings"]["C2"].value == sc.FORM_VERSION
    for row in rows:
        kind, name = str(row["type"]), row["name"]
        if kind in {"geopoint", "image", "start", "end", "begin_group", "end_group"}:
            continue
        values = [h["answers"][name] for h in households if name in h["answers"]]
        if row.get("required") == "yes":
            assert len(values) == len(households), name
        assert values, name
        if kind.startswith(("select_one ", "select_multiple ")):
            allowed = choices[kind.split()[1]]
            used = {v for value in values for v in str(value).split()}
            assert used <= allowed, (name, used - allowed)
