"""Map pages and their household points against the test PostGIS (sample city boundaries)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.forms.registry import FormRegistry
from app.geo import sample_city
from app.main import create_app
from app.services.samples import insert_submissions
from app.settings import Settings
from tests.auth import bearer
from tests.integration.test_maps_hostile import map_data

HOUSEHOLDS = 600
ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


APPROVE = text(
    "UPDATE household_surveys SET status = 'approved', reviewed_at = now() "
    "WHERE id = ANY(CAST(:ids AS uuid[]))"
)


def load_households(engine: Engine, forms: FormRegistry, count: int) -> list[dict[str, Any]]:
    """Insert `count` sample households, approved (public maps count only approved surveys);
    return their submissions (for the personal fields)."""
    items = list(sample_city.generate_households(sample_city.generate_city(), count))
    with engine.begin() as connection:
        insert_submissions(connection, forms, items)
        connection.execute(APPROVE, {"ids": [item["id"] for item in items]})
    return items


@pytest.fixture
def households(
    client: TestClient, sync_engine: Engine, forms: FormRegistry
) -> Iterator[list[dict[str, Any]]]:
    """The sample city with 600 households (truncated afterwards by clean_surveys)."""
    yield load_households(sync_engine, forms, HOUSEHOLDS)


def personal_values(items: list[dict[str, Any]]) -> list[str]:
    return [
        value
        for item in items
        for key in ("head_name", "head_phone")
        if (value := item["answers"].get(key))
    ]


def test_city_map_uses_only_local_assets(client: TestClient, households: list[Any]) -> None:
    response = client.get("/maps/cities/tam-ky")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "<title>Bản đồ nâng cấp khu dân cư: Tam Kỳ</title>" in html
    assert re.search(r"""["'(]https?://""", html) is None, "no asset from outside the app"
    assets = ASSET.findall(html)
    assert "/static/vendor/leaflet-1.9.4/leaflet.js" in assets
    for asset in assets:
        if asset.startswith("/static/"):
            assert client.get(asset).status_code == 200, asset
    for value in personal_values(households):
        assert value not in html


def test_map_html_does_not_grow_with_households(
    client: TestClient, sync_engine: Engine, forms: FormRegistry
) -> None:
    empty = len(client.get("/maps/cities/tam-ky").content)
    load_households(sync_engine, forms, 400)
    full = len(client.get("/maps/cities/tam-ky").content)
    # Only figures in the popups change (counts, shares): nothing per household.
    assert abs(full - empty) < 0.05 * empty


def test_english_ward_map(client: TestClient, households: list[Any], sync_engine: Engine) -> None:
    with sync_engine.connect() as connection:
        ward_id = connection.execute(text("SELECT id FROM wards WHERE name = 'An Xuân'")).scalar()
    response = client.get(f"/maps/wards/{ward_id}?lang=en")
    assert response.status_code == 200
    assert "Settlement upgrading map: An Xuân, Tam Kỳ" in response.text
    assert f"households.json?ward={ward_id}" in response.text


def test_household_points_are_compact_and_anonymous(
    client: TestClient, households: list[dict[str, Any]]
) -> None:
    response = client.get("/maps/data/cities/tam-ky/households.json")
    assert response.status_code == 200
    data = response.json()
    assert data["count"] == HOUSEHOLDS == len(data["lon"]) == len(data["lat"])
    assert set(data["categories"]) == {
        "tenure",
        "water",
        "sanitation",
        "electricity",
        "flooding",
        "house",
    }
    assert all(len(codes) == HOUSEHOLDS for codes in data["categories"].values())
    lons = sorted(data["origin"][0] + v * data["scale"] for v in data["lon"])
    expected = sorted(item["location"]["lon"] for item in households)
    assert lons == pytest.approx(expected, abs=2e-5)
    # Categories line up with the answers: the share of piped water matches.
    piped = sum(1 for item in households if item["answers"].get("water_source") == "piped")
    assert data["categories"]["water"].count("0") == piped
    # Every category string lines up with the coordinates, household by household.
    water_order = ["piped", "shared_tap", "well", "rain", "vendor"]
    tenure_order = ["red_book", "pink_book", "papers_only", "relatives", "renting", "public_land"]
    drawn = {
        (data["lon"][i], data["lat"][i]): (
            data["categories"]["water"][i],
            data["categories"]["tenure"][i],
        )
        for i in range(data["count"])
    }
    origin_lon, origin_lat = data["origin"]
    for item in households:
        x = round((item["location"]["lon"] - origin_lon) / data["scale"])
        y = round((item["location"]["lat"] - origin_lat) / data["scale"])
        # Half-way offsets may round either way: look one unit around.
        key = next(
            (x + dx, y + dy) for dx in (0, -1, 1) for dy in (0, -1, 1) if (x + dx, y + dy) in drawn
        )
        answers = item["answers"]
        assert drawn[key] == (
            str(water_order.index(answers["water_source"])),
            str(tenure_order.index(answers["tenure"])),
        )
    body = response.text
    for value in personal_values(households)[:50]:
        assert value not in body
    assert not any(item["id"] in body for item in households[:50])
    coordinates_bytes = sum(
        len(f"[{item['location']['lon']},{item['location']['lat']}],") for item in households
    )
    assert len(response.content) < 1.5 * coordinates_bytes


def test_ward_points_and_empty_city(client: TestClient, sync_engine: Engine) -> None:
    empty = client.get("/maps/data/cities/tam-ky/households.json").json()
    assert empty["count"] == 0 and empty["lon"] == []
    with sync_engine.connect() as connection:
        ward_id = connection.execute(text("SELECT min(id) FROM wards")).scalar()
    assert client.get(f"/maps/data/cities/tam-ky/households.json?ward={ward_id}").status_code == 200


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/maps/cities/nowhere", 404),
        ("/maps/wards/999999", 404),
        ("/maps/wards/abc", 422),
        ("/maps/cities/tam-ky?lang=fr", 422),
        ("/maps/data/cities/nowhere/households.json", 404),
        ("/maps/data/cities/tam-ky/households.json?ward=999999", 404),
        ("/maps/data/cities/tam-ky/households.json?ward=x", 422),
        ("/maps/data/cities/tam-ky/households.json?ward=99999999999", 422),
        ("/maps/wards/99999999999", 422),
        ("/maps/wards/99999999999.pdf", 422),
        ("/maps/wards/0.png", 422),
        ("/maps/cities/Not%20a%20slug", 422),
    ],
)
def test_bad_requests_are_4xx(client: TestClient, url: str, status: int) -> None:
    assert client.get(url).status_code == status


def test_optional_basemap_and_escaped_names(
    database_url: str, sync_engine: Engine, clean_surveys: None, admin_token: str
) -> None:
    settings = Settings(
        database_url=database_url,
        basemap_tiles_url="https://tiles.example.org/{z}/{x}/{y}.png",
        basemap_attribution="© OpenStreetMap",
    )
    with sync_engine.begin() as connection:
        connection.execute(
            text("UPDATE settlements SET name = name || ' <b>x</b>' WHERE code = 'S001'")
        )
    try:
        with TestClient(create_app(settings), headers=bearer(admin_token)) as client:
            html = client.get("/maps/cities/tam-ky").text
    finally:
        with sync_engine.begin() as connection:
            connection.execute(text("UPDATE settlements SET name = replace(name, ' <b>x</b>', '')"))
    assert "https://tiles.example.org/{z}/{x}/{y}.png" in html
    assert "<b>x</b>" not in html
    # Names are data: as they are in the JSON block (< and > escaped there), shown as text.
    data = map_data(html)
    assert data["basemap"]["attribution"] == "© OpenStreetMap"
    names = [f["properties"]["name"] for f in data["settlements"]["features"]]
    assert sum(name.endswith(" <b>x</b>") for name in names) == 1
