"""Every export checks its place filters before it builds a file: a ward or settlement that does
not exist, is another city's, that the person may not read, or a settlement outside the asked
ward, answers 404 on every layer and format, never an empty file (a planner read the empty
`households.csv?settlement=<another city's>` as "no surveys there"); garbage ids answer 422."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import httpx
import pyogrio
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine, text

from app.main import create_app
from app.services.cdf_projects_sample import load_sample_projects
from app.services.sample_cdf import load_sample_cdf
from app.settings import Settings
from app.vietnam import today_in_vietnam
from tests.auth import bearer, make_token, make_user
from tests.cdf_support import drop_books, drop_cities, make_city, treasurer
from tests.conftest import truncate_surveys
from tests.factories import household_survey

EXPORT = "/api/v1/export"
OTHER_CITY = "export-places-other"
MISSING = 2**31 - 1  # a valid id that names nothing
FORMATS = ["geojson", "csv", "gpkg", "xlsx", "kml", "shp.zip"]
# layer -> its path (the settlement form's surveys through /forms/)
LAYERS = {
    "households": "households",
    "wards": "wards",
    "settlements": "settlements",
    "savings_groups": "savings_groups",
    "upgrading_projects": "upgrading_projects",
    "settlement_form": "forms/settlement",
}
SURVEYS_IN_HOME = 3


@dataclass
class Places:
    client: TestClient
    planner: dict[str, str]
    leader: dict[str, str]  # the ward leader of `ward`
    treasurer: dict[str, str]  # the treasurer of the group in `home`
    ward: int  # `home`'s ward
    home: int  # a settlement of `ward` with a savings group, a project and surveys
    away: int  # a settlement of another ward with a savings group and a project
    away_ward: int
    other_ward: int  # another city's
    other_settlement: int  # another city's
    groups: int  # savings groups in `home`
    projects: int  # upgrading projects in `home`


@pytest.fixture(scope="module")
def places(
    sync_engine: Engine,
    database_url: str,
    admin_token: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Places]:
    """The sample city with its CDF books and projects, households in one settlement, and
    another city with a ward and a settlement."""
    truncate_surveys(sync_engine)
    drop_books(sync_engine, "tam-ky")
    other = make_city(sync_engine, OTHER_CITY)
    with sync_engine.begin() as connection:
        city_id = connection.execute(
            text("SELECT id FROM cities WHERE slug = 'tam-ky'")
        ).scalar_one()
        connection.execute(text("DELETE FROM cdf_projects"))
        load_sample_cdf(connection, city_id, seed=2026, today=today_in_vietnam())
        load_sample_projects(connection, city_id)
    with sync_engine.connect() as connection:
        both = connection.execute(
            text(
                "SELECT s.id, s.ward_id, w.code, ST_Y(ST_PointOnSurface(s.geom)) AS lat, "
                "ST_X(ST_PointOnSurface(s.geom)) AS lon, min(g.id) AS group_id "
                "FROM settlements s JOIN wards w ON w.id = s.ward_id "
                "JOIN cdf_groups g ON g.settlement_id = s.id WHERE s.city_id = :city AND "
                "EXISTS (SELECT FROM cdf_projects p WHERE p.settlement_id = s.id) "
                "GROUP BY s.id, w.code ORDER BY s.id"
            ),
            {"city": city_id},
        ).all()
    home = both[0]
    away = next(row for row in both if row.ward_id != home.ward_id)
    with sync_engine.connect() as connection:
        groups, projects = connection.execute(
            text(
                "SELECT (SELECT count(*) FROM cdf_groups WHERE settlement_id = :s), "
                "(SELECT count(*) FROM cdf_projects WHERE settlement_id = :s)"
            ),
            {"s": home.id},
        ).one()
    settings = Settings(
        database_url=database_url, media_dir=tmp_path_factory.mktemp("places") / "media"
    )
    with TestClient(create_app(settings)) as client:
        for _ in range(SURVEYS_IN_HOME):
            location = {"lat": home.lat, "lon": home.lon, "accuracy_m": 5.0}
            response = client.post(
                "/api/v1/submissions",
                json=household_survey(location=location),
                headers=bearer(admin_token),
            )
            assert response.status_code == 201, response.text
        with sync_engine.connect() as connection:
            placed = connection.execute(
                text("SELECT DISTINCT settlement_id, ward_id FROM household_surveys")
            ).all()
        assert placed == [(home.id, home.ward_id)]
        planner = make_user(sync_engine, "places-planner", [("planner", ("city", "tam-ky"))])
        leader = make_user(sync_engine, "places-leader", [("ward_leader", ("ward", home.code))])
        yield Places(
            client,
            bearer(make_token(sync_engine, planner)),
            bearer(make_token(sync_engine, leader)),
            bearer(treasurer(sync_engine, "places-treasurer", city_id, home.group_id)),
            home.ward_id,
            home.id,
            away.id,
            away.ward_id,
            other["ward"],
            other["settlement"],
            groups,
            projects,
        )
    truncate_surveys(sync_engine)
    drop_books(sync_engine, "tam-ky")
    with sync_engine.begin() as connection:
        connection.execute(text("DELETE FROM cdf_projects"))
    drop_cities(sync_engine, OTHER_CITY)


# case -> (who asks, the filters); each must answer 404 on every layer and format
CASES: dict[str, tuple[str, Callable[[Places], dict[str, int]]]] = {
    "missing_settlement": ("planner", lambda p: {"settlement": MISSING}),
    "missing_ward": ("planner", lambda p: {"ward": MISSING}),
    "other_city_settlement": ("planner", lambda p: {"settlement": p.other_settlement}),
    "other_city_ward": ("planner", lambda p: {"ward": p.other_ward}),
    "settlement_outside_the_ward": ("planner", lambda p: {"ward": p.ward, "settlement": p.away}),
    "leader_other_wards_settlement": (
        "leader",
        lambda p: {"ward": p.ward, "settlement": p.away},
    ),
    "leader_other_wards_settlement_alone": ("leader", lambda p: {"settlement": p.away}),
    "leader_other_ward": ("leader", lambda p: {"ward": p.away_ward}),
    "leader_missing_settlement": ("leader", lambda p: {"ward": p.ward, "settlement": MISSING}),
    "leader_other_city_settlement": (
        "leader",
        lambda p: {"ward": p.ward, "settlement": p.other_settlement},
    ),
}


def _get(places: Places, who: str, path: str, query: dict[str, object]) -> httpx.Response:
    params = {"city": "tam-ky", "surveys": "all", **query}
    return places.client.get(f"{EXPORT}/{path}", params=params, headers=getattr(places, who))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("layer", list(LAYERS))
@pytest.mark.parametrize("case", list(CASES))
def test_a_place_not_there_answers_404_not_an_empty_file(
    places: Places, case: str, layer: str, fmt: str
) -> None:
    who, filters = CASES[case]
    response = _get(places, who, f"{LAYERS[layer]}.{fmt}", filters(places))
    assert response.status_code == 404, (response.status_code, response.content[:300])
    body = response.json()
    if who == "leader":  # nothing said of a place they may not read
        assert body["code"] in ("not_found", "city_read_by_ward"), body
    elif case == "settlement_outside_the_ward":
        assert body["code"] == "settlement_not_in_ward", body
        assert str(places.away) in body["detail"] and str(places.ward) in body["detail"]
    else:
        assert body["code"] == "not_found", body


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("settlement", ["settlement", "away"])
def test_a_treasurer_asks_only_their_groups_settlement(
    places: Places, fmt: str, settlement: str
) -> None:
    place = places.home if settlement == "settlement" else places.away
    response = _get(places, "treasurer", f"savings_groups.{fmt}", {"settlement": place})
    if settlement == "away":
        assert response.status_code == 404, response.content[:300]
    else:
        assert response.status_code == 200, response.content[:300]


def _rows(content: bytes, fmt: str, layer: str, directory: Path) -> int:
    """How many features (rows) the file holds, read as its users' tools read it."""
    path = directory / f"{layer}.{fmt}"
    path.write_bytes(content)
    if fmt == "geojson":
        return len(json.loads(content)["features"])
    if fmt == "csv":
        return len(list(csv.DictReader(io.StringIO(content.decode("utf-8-sig")))))
    if fmt == "xlsx":
        return load_workbook(path).worksheets[0].max_row - 1
    if fmt == "kml":
        return sum(1 for e in ElementTree.parse(path).iter() if e.tag.endswith("Placemark"))
    if fmt == "gpkg":
        with sqlite3.connect(path) as connection:
            tables = [
                name
                for (name,) in connection.execute(
                    "SELECT table_name FROM gpkg_contents WHERE data_type = 'features'"
                )
            ]
        return sum(len(pyogrio.read_dataframe(path, layer=name)) for name in tables)
    with zipfile.ZipFile(path) as archive:
        shapes = [name for name in archive.namelist() if name.endswith(".shp")]
    return sum(len(pyogrio.read_dataframe(f"/vsizip/{path}/{name}")) for name in shapes)


# layer -> rows in `home`: the households posted there, its ward, itself, its groups, projects
EXPECTED: dict[str, Callable[[Places], int]] = {
    "households": lambda p: SURVEYS_IN_HOME,
    "wards": lambda p: 1,
    "settlements": lambda p: 1,
    "savings_groups": lambda p: p.groups,
    "upgrading_projects": lambda p: p.projects,
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("layer", list(EXPECTED))
@pytest.mark.parametrize("who", ["planner", "planner_with_ward", "leader"])
def test_a_readable_settlement_still_exports_its_rows(
    places: Places, who: str, layer: str, fmt: str, tmp_path: Path
) -> None:
    query: dict[str, object] = {"settlement": places.home}
    if who != "planner":  # a ward leader names their ward
        query["ward"] = places.ward
    response = _get(places, who.removesuffix("_with_ward"), f"{layer}.{fmt}", query)
    assert response.status_code == 200, response.content[:300]
    assert _rows(response.content, fmt, layer, tmp_path) == EXPECTED[layer](places)


@pytest.mark.parametrize("layer", list(LAYERS))
@pytest.mark.parametrize("name", ["ward", "settlement"])
@pytest.mark.parametrize("value", ["abc", "-1", "0", "1.5", "", str(2**31), str(2**63)])
def test_a_garbage_place_id_answers_422(places: Places, layer: str, name: str, value: str) -> None:
    response = _get(places, "planner", f"{LAYERS[layer]}.csv", {name: value})
    assert response.status_code == 422, response.content[:300]


@pytest.mark.parametrize("path", ["layers.gpkg", "households.csv"])
@pytest.mark.parametrize("ward", ["missing", "other_city"])
def test_the_ward_geopackage_checks_its_ward(places: Places, path: str, ward: str) -> None:
    ward_id = MISSING if ward == "missing" else places.other_ward
    response = _get(places, "planner", path, {"ward": ward_id})
    assert response.status_code == 404, response.content[:300]


def test_a_settlement_straddling_wards_exports_its_surveys_in_the_leaders_ward(
    places: Places, sync_engine: Engine
) -> None:
    """One of `away`'s surveys lies in the leader's ward: their households file of `away`
    holds it (the review page counts it so); its settlements file is of the ward's own."""
    with sync_engine.begin() as connection:
        moved = connection.execute(
            text(
                "UPDATE household_surveys SET settlement_id = :away WHERE id = "
                "(SELECT id FROM household_surveys ORDER BY id LIMIT 1) RETURNING id"
            ),
            {"away": places.away},
        ).scalar_one()
    try:
        query = {"ward": places.ward, "settlement": places.away}
        households = _get(places, "leader", "households.geojson", query)
        assert households.status_code == 200, households.content[:300]
        features = households.json()["features"]
        assert [f["properties"]["id"] for f in features] == [str(moved)]
        settlements = _get(places, "leader", "settlements.geojson", query)
        assert settlements.status_code == 404
    finally:
        with sync_engine.begin() as connection:
            connection.execute(
                text("UPDATE household_surveys SET settlement_id = :home WHERE id = :id"),
                {"home": places.home, "id": moved},
            )
