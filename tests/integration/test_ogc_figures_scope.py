"""OGC API Features areas: a page computes the figures of the cities its features are in, not
of every city its reader may read (a national admin's page of 10 wards computed the whole
country's), and the figures, the count and the `next` links stay those of every city."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, text

from tests.integration import test_ogc
from tests.integration.test_indicators import CLEAN

OGC = "/ogc/collections"
POOR = {**CLEAN, "tenure": "renting", "water_source": "well", "flooding": "often"}

# The sample city's households (most approved), as the other OGC tests have them.
surveys = test_ogc.surveys


def _square(west: float, south: float, size: float) -> str:
    east, north = west + size, south + size
    return f"POLYGON(({west} {south},{east} {south},{east} {north},{west} {north},{west} {south}))"


@pytest.fixture
def other_cities(sync_engine: Engine, surveys: int) -> Iterator[dict[str, int]]:
    """Two more cities, each with two wards of a settlement and surveyed households; the
    second scores by its own weights."""
    ids: dict[str, int] = {}
    with sync_engine.begin() as connection:

        def scalar(sql: str, **params: Any) -> int:
            return int(connection.execute(text(sql), params).scalar_one())

        for number, (slug, west) in enumerate((("zz-ogc-mot", 105.80), ("zz-ogc-hai", 106.80))):
            city = scalar(
                "INSERT INTO cities (slug, name, province) VALUES (:slug, :name, 'Hà Nội') "
                "RETURNING id",
                slug=slug,
                name=f"Thành phố {slug}",
            )
            ids[slug] = city
            for part in range(2):
                ward = scalar(
                    "INSERT INTO wards (city_id, code, name, geom) VALUES (:city, :code, :name, "
                    "ST_Multi(ST_GeomFromText(:wkt, 4326))) RETURNING id",
                    city=city,
                    code=f"Z{part}",
                    name=f"Phường Z{part}",
                    wkt=_square(west + part * 0.01, 21.0, 0.01),
                )
                settlement = scalar(
                    "INSERT INTO settlements (city_id, ward_id, code, name, geom) VALUES "
                    "(:city, :ward, :code, :name, ST_GeomFromText(:wkt, 4326)) RETURNING id",
                    city=city,
                    ward=ward,
                    code=f"X{part}",
                    name=f"Xóm X{part}",
                    wkt=_square(west + part * 0.01 + 0.001, 21.001, 0.002),
                )
                poor = 1 + part + number  # a different score in each place
                for index in range(6):
                    connection.execute(
                        text(
                            "INSERT INTO household_surveys (id, city_id, ward_id, settlement_id, "
                            "form_id, form_version, collected_at, status, answers, content_hash, "
                            "geom) VALUES (:id, :city, :ward, :settlement, 'household', "
                            "'2026112801', '2026-11-20T08:00:00+07', 'approved', "
                            "CAST(:answers AS jsonb), 'x', "
                            "ST_SetSRID(ST_MakePoint(:lon, 21.002), 4326))"
                        ),
                        {
                            "id": uuid.uuid4(),
                            "city": city,
                            "ward": ward,
                            "settlement": settlement,
                            "lon": west + part * 0.01 + 0.002,
                            "answers": orjson.dumps(POOR if index < poor else CLEAN).decode(),
                        },
                    )
        connection.execute(
            text(
                "UPDATE cities SET priority_weights = CAST(:weights AS jsonb) "
                "WHERE slug = 'zz-ogc-hai'"
            ),
            {"weights": orjson.dumps({"insecure_tenure": 3, "no_piped_water": 1}).decode()},
        )
    yield ids
    with sync_engine.begin() as connection:
        connection.execute(
            text("DELETE FROM household_surveys WHERE city_id = ANY(:ids)"),
            {"ids": list(ids.values())},
        )
        connection.execute(
            text("DELETE FROM cities WHERE id = ANY(:ids)"), {"ids": list(ids.values())}
        )


@pytest.fixture
def computed() -> Iterator[list[set[int]]]:
    """The cities whose figures each statement computes (its `ind` parts' city ids), of every
    statement sent from this process while the test runs."""
    found: list[set[int]] = []

    def seen(_connection: Any, _clause: Any, multiparams: Any, params: Any, _options: Any) -> None:
        given = [*(multiparams or ()), params or {}]
        flat = [p for item in given for p in (item if isinstance(item, list) else [item])]
        cities = {
            int(value)
            for item in flat
            if isinstance(item, dict)
            for key, value in item.items()
            if key.startswith("ind_city_")
        }
        if cities:
            found.append(cities)

    event.listen(Engine, "before_execute", seen)
    yield found
    event.remove(Engine, "before_execute", seen)


def _city_ids(sync_engine: Engine) -> dict[str, int]:
    with sync_engine.connect() as connection:
        return {row[0]: row[1] for row in connection.execute(text("SELECT slug, id FROM cities"))}


def test_a_page_computes_only_its_cities_figures(
    client: TestClient,
    sync_engine: Engine,
    other_cities: dict[str, int],
    computed: list[set[int]],
) -> None:
    city_of = _city_ids(sync_engine)
    assert len(city_of) >= 3
    # A national admin's first ward: its city's figures only, not the other two cities'.
    computed.clear()
    body = client.get(f"{OGC}/wards/items?limit=1").json()
    (ward,) = body["features"]
    assert set().union(*computed) == {city_of[ward["properties"]["city"]]}
    # A bbox over one city: that city's.
    computed.clear()
    box = client.get(f"{OGC}/wards/items?bbox=106.79,20.99,106.83,21.02").json()
    assert {f["properties"]["city"] for f in box["features"]} == {"zz-ogc-hai"}
    assert box["numberMatched"] == 2
    assert set().union(*computed) == {other_cities["zz-ogc-hai"]}
    # One feature: its city's.
    settlements = client.get(f"{OGC}/settlements/items?city=zz-ogc-mot").json()["features"]
    computed.clear()
    one = client.get(f"{OGC}/settlements/items/{settlements[0]['id']}").json()
    assert one["properties"] == settlements[0]["properties"]
    assert set().union(*computed) == {other_cities["zz-ogc-mot"]}


@pytest.mark.parametrize("collection", ["wards", "settlements"])
def test_pages_across_cities_keep_figures_count_and_cursor(
    client: TestClient,
    sync_engine: Engine,
    other_cities: dict[str, int],
    computed: list[set[int]],
    collection: str,
) -> None:
    city_of = _city_ids(sync_engine)
    table = "wards" if collection == "wards" else "settlements"
    with sync_engine.connect() as connection:
        every = [row[0] for row in connection.execute(text(f"SELECT id FROM {table} ORDER BY id"))]
    # Walk by the next links, 3 at a time: every area once, in id order, the count the same
    # on every page, each page computing its own cities' figures only.
    features: list[dict[str, Any]] = []
    url: str | None = f"{OGC}/{collection}/items?limit=3"
    while url:
        computed.clear()
        body = client.get(url).json()
        assert body["numberMatched"] == len(every)
        assert body["numberReturned"] == len(body["features"])
        page_cities = {city_of[f["properties"]["city"]] for f in body["features"]}
        assert set().union(set(), *computed) == page_cities
        features += body["features"]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
    assert [f["id"] for f in features] == every
    # The figures are each city's, by its own weights: as its indicators report them.
    kind = "wards" if collection == "wards" else "settlements"
    for slug in ("tam-ky", "zz-ogc-mot", "zz-ogc-hai"):
        report = client.get(f"/api/v1/cities/{slug}/indicators").json()
        expected = {area["id"]: area for area in report[kind]}
        shown = [f["properties"] for f in features if f["properties"]["city"] == slug]
        assert {p["id"] for p in shown} == set(expected)
        for props in shown:
            want = expected[props["id"]]
            assert props["households"] == want["households"]
            assert props["score"] == want["score"], (slug, props["id"])
            assert props["rank_in_city"] == want["rank_in_city"]
            assert props["share_insecure_tenure"] == want["shares"]["insecure_tenure"]
    scored = {f["properties"]["city"] for f in features if f["properties"]["score"] is not None}
    assert scored >= {"tam-ky", "zz-ogc-mot", "zz-ogc-hai"}


def test_a_filter_on_a_figure_reads_every_matching_city(
    client: TestClient, other_cities: dict[str, int]
) -> None:
    # Which settlements hold 6 households is known only from every city's figures.
    body = client.get(f"{OGC}/settlements/items?households=6&limit=1").json()
    assert body["numberMatched"] >= 4
    assert body["features"][0]["properties"]["households"] == 6
    walked = client.get(f"{OGC}/settlements/items?households=6&limit=100").json()
    assert {f["properties"]["city"] for f in walked["features"]} >= {"zz-ogc-mot", "zz-ogc-hai"}
    assert all(f["properties"]["households"] == 6 for f in walked["features"])
    # ...and a filter on a place's own field as well keeps to the cities that match it.
    one = client.get(f"{OGC}/settlements/items?households=6&city=zz-ogc-hai").json()
    assert one["numberMatched"] == 2
    assert {f["properties"]["city"] for f in one["features"]} == {"zz-ogc-hai"}
