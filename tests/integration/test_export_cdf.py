"""The CDF's layers as exports: savings groups (the figures those of the CDF report, no
member's name) and upgrading projects (points, lines and areas), every format read back by
GDAL, the CDF API's access rules, and the layers in the city's GeoPackage."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyogrio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.db.engine import make_engine
from app.main import create_app
from app.services import cdf_reports
from app.services.access import SYSTEM
from app.services.cdf_projects_sample import load_sample_projects
from app.services.sample_cdf import load_sample_cdf
from app.settings import Settings
from app.vietnam import today_in_vietnam
from tests.aio import run
from tests.auth import bearer, make_token, make_user
from tests.cdf_support import drop_books

EXPORT = "/api/v1/export"


@pytest.fixture(scope="module")
def books(sync_engine: Engine, database_url: str) -> Iterator[dict[str, Any]]:
    """The sample city's CDF books, as of today."""
    drop_books(sync_engine, "tam-ky")
    with sync_engine.connect() as connection:
        city_id = connection.execute(
            text("SELECT id FROM cities WHERE slug = 'tam-ky'")
        ).scalar_one()
    with sync_engine.begin() as connection:
        load_sample_cdf(connection, city_id, seed=2026, today=today_in_vietnam())
    with sync_engine.connect() as connection:
        ward_id, groups_in_ward = connection.execute(
            text(
                "SELECT s.ward_id, count(*) FROM cdf_groups g JOIN settlements s "
                "ON s.id = g.settlement_id GROUP BY s.ward_id ORDER BY count(*) DESC LIMIT 1"
            )
        ).one()
        ward_code = connection.execute(
            text("SELECT code FROM wards WHERE id = :id"), {"id": ward_id}
        ).scalar_one()
        names = connection.execute(text("SELECT name FROM cdf_members LIMIT 20")).scalars().all()
    yield {
        "ward_id": ward_id,
        "ward_code": ward_code,
        "groups_in_ward": groups_in_ward,
        "member_names": [n for n in names if n],
        "url": database_url,
    }
    drop_books(sync_engine, "tam-ky")


@pytest.fixture
def client(settings: Settings, books: dict[str, Any]) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def _get(client: TestClient, path: str, token: str, target: Path) -> Path:
    response = client.get(f"{EXPORT}/{path}", headers=bearer(token))
    assert response.status_code == 200, response.text
    target.write_bytes(response.content)
    return target


def test_figures_are_those_of_the_cdf_report(
    client: TestClient, books: dict[str, Any], sync_engine: Engine, tmp_path: Path
) -> None:
    planner = make_token(
        sync_engine, make_user(sync_engine, "cdf-exp-planner", [("planner", ("city", "tam-ky"))])
    )
    path = _get(client, "savings_groups.geojson?city=tam-ky", planner, tmp_path / "g.geojson")
    features = json.loads(path.read_bytes())["features"]

    async def report() -> dict[str, Any]:
        engine = make_engine(Settings(database_url=books["url"]).async_database_url)
        try:
            return await cdf_reports.city_report(engine, SYSTEM, "tam-ky", as_of=today_in_vietnam())
        finally:
            await engine.dispose()

    figures = run(report())
    groups = [f["properties"] for f in features]
    assert len(groups) == figures["groups"] == 29
    assert sum(g["members"] for g in groups) == figures["members"]
    assert sum(g["savings_balance"] for g in groups) == figures["savings_balance"]
    assert sum(g["loans_outstanding"] for g in groups) == figures["loans_outstanding"]
    assert sum(g["active_loans"] for g in groups) == figures["active_loans"]
    at_risk = sum((g["par30"] or 0) * g["loans_outstanding"] for g in groups)
    assert (
        abs(at_risk - figures["portfolio_at_risk"]["over_30"])
        <= 0.0001 * figures["loans_outstanding"]
    )
    assert any(g["par30"] for g in groups)  # some groups have loans over 30 days late
    assert all(f["geometry"]["type"] == "Point" for f in features)
    text_of_file = path.read_text(encoding="utf-8")
    assert books["member_names"]
    assert not any(name in text_of_file for name in books["member_names"])


@pytest.mark.parametrize("fmt", ["gpkg", "csv", "xlsx", "kml", "shp.zip"])
def test_every_format_reads_back_in_gdal(
    client: TestClient, books: dict[str, Any], sync_engine: Engine, tmp_path: Path, fmt: str
) -> None:
    planner = make_token(
        sync_engine, make_user(sync_engine, "cdf-exp-planner", [("planner", ("city", "tam-ky"))])
    )
    path = _get(client, f"savings_groups.{fmt}?city=tam-ky", planner, tmp_path / f"g.{fmt}")
    source = f"/vsizip/{path}/savings_groups.shp" if fmt == "shp.zip" else str(path)
    options = {"X_POSSIBLE_NAMES": "lon", "Y_POSSIBLE_NAMES": "lat"} if fmt == "csv" else {}
    frame = pyogrio.read_dataframe(source, **options)
    assert len(frame) == 29
    assert frame["members"].astype(int).sum() > 0
    if fmt in ("gpkg", "kml", "shp.zip"):
        assert frame.crs.to_epsg() == 4326  # type: ignore[attr-defined]
    if fmt != "xlsx":  # a workbook has lon/lat columns
        assert frame.geometry.notna().all()
    raw = path.read_bytes()
    assert not any(name.encode() in raw for name in books["member_names"])


def test_access_as_the_cdf_api(
    client: TestClient, books: dict[str, Any], sync_engine: Engine, tmp_path: Path
) -> None:
    leader = make_token(
        sync_engine,
        make_user(sync_engine, "cdf-exp-leader", [("ward_leader", ("ward", books["ward_code"]))]),
    )
    ward = books["ward_id"]
    path = _get(
        client, f"savings_groups.geojson?city=tam-ky&ward={ward}", leader, tmp_path / "w.geojson"
    )
    features = json.loads(path.read_bytes())["features"]
    assert len(features) == books["groups_in_ward"] > 0
    assert {f["properties"]["ward_id"] for f in features} == {ward}
    volunteer = make_token(
        sync_engine,
        make_user(sync_engine, "cdf-exp-volunteer", [("volunteer", ("city", "tam-ky"))]),
    )
    response = client.get(f"{EXPORT}/savings_groups.geojson?city=tam-ky", headers=bearer(volunteer))
    assert response.status_code == 404


def test_the_city_geopackage_holds_the_savings_groups(
    client: TestClient, books: dict[str, Any], sync_engine: Engine, tmp_path: Path
) -> None:
    planner = make_token(
        sync_engine, make_user(sync_engine, "cdf-exp-planner", [("planner", ("city", "tam-ky"))])
    )
    path = _get(client, "cities/tam-ky.gpkg", planner, tmp_path / "city.gpkg")
    layers = {name for name, _ in pyogrio.list_layers(path)}
    assert {"wards", "settlements", "households", "savings_groups"} <= layers
    assert len(pyogrio.read_dataframe(path, layer="savings_groups")) == 29


@pytest.fixture
def projects(sync_engine: Engine) -> Iterator[int]:
    """The sample upgrading projects (points, lines and an area) in the sample city."""
    with sync_engine.begin() as connection:
        connection.execute(text("DELETE FROM cdf_projects"))
        city_id = connection.execute(
            text("SELECT id FROM cities WHERE slug = 'tam-ky'")
        ).scalar_one()
        count = load_sample_projects(connection, city_id)
    yield count
    with sync_engine.begin() as connection:
        connection.execute(text("DELETE FROM cdf_projects"))


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "csv", "xlsx", "kml", "shp.zip"])
def test_upgrading_projects_in_every_format(
    client: TestClient, projects: int, sync_engine: Engine, tmp_path: Path, fmt: str
) -> None:
    planner = make_token(
        sync_engine, make_user(sync_engine, "cdf-exp-planner", [("planner", ("city", "tam-ky"))])
    )
    path = _get(client, f"upgrading_projects.{fmt}?city=tam-ky", planner, tmp_path / f"p.{fmt}")
    if fmt == "shp.zip":  # one shapefile per kind of shape
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
        frames = [
            pyogrio.read_dataframe(f"/vsizip/{path}/upgrading_projects_{shape}.shp")
            for shape in ("points", "lines", "areas")
        ]
        assert {f"upgrading_projects_{s}.shp" for s in ("points", "lines", "areas")} <= names
        assert [len(f) for f in frames] == [2, 2, 1]
        assert [f.geometry.iloc[0].geom_type for f in frames] == ["Point", "LineString", "Polygon"]
        return
    frame = pyogrio.read_dataframe(path)
    assert len(frame) == projects == 5
    rows = frame.set_index("code")
    name = "Name" if fmt == "kml" else "name"  # GDAL's KML reader: the Placemark's name
    assert rows.loc["DA-2025-01", name].startswith("Bê tông hóa hẻm chính")
    assert int(rows.loc["DA-2025-01", "budget_total"]) == 92_000_000
    assert float(rows.loc["DA-2025-01", "leverage"]) == 1.04  # (20 + 12 + 15) / 45
    shapes = ["LineString", "LineString", "Point", "Point", "Polygon"]
    if fmt == "xlsx":  # WKT text
        assert sorted(w.split("(")[0] for w in frame["wkt"]) == [s.upper() for s in shapes]
    else:  # GDAL reads a CSV's wkt column as the geometry
        assert sorted(g.geom_type for g in frame.geometry) == shapes


def test_upgrading_projects_labels_and_access(
    client: TestClient, projects: int, books: dict[str, Any], sync_engine: Engine, tmp_path: Path
) -> None:
    planner = make_token(
        sync_engine, make_user(sync_engine, "cdf-exp-planner", [("planner", ("city", "tam-ky"))])
    )
    path = _get(
        client, "upgrading_projects.geojson?city=tam-ky&labels=vi", planner, tmp_path / "p.json"
    )
    kinds = {f["properties"]["kind"] for f in json.loads(path.read_bytes())["features"]}
    assert "Lát ngõ, hẻm" in kinds
    with sync_engine.connect() as connection:
        ward_id, ward_code = connection.execute(
            text(
                "SELECT w.id, w.code FROM cdf_projects p JOIN settlements s "
                "ON s.id = p.settlement_id JOIN wards w ON w.id = s.ward_id LIMIT 1"
            )
        ).one()
        in_ward = connection.execute(
            text(
                "SELECT count(*) FROM cdf_projects p JOIN settlements s "
                "ON s.id = p.settlement_id WHERE s.ward_id = :ward"
            ),
            {"ward": ward_id},
        ).scalar_one()
    leader = make_token(
        sync_engine,
        make_user(sync_engine, "cdf-exp-leader-2", [("ward_leader", ("ward", ward_code))]),
    )
    path = _get(client, "upgrading_projects.geojson?city=tam-ky", leader, tmp_path / "w.json")
    features = json.loads(path.read_bytes())["features"]
    assert len(features) == in_ward < projects
    assert {f["properties"]["ward_id"] for f in features} == {ward_id}
    outsider = make_token(sync_engine, make_user(sync_engine, "cdf-exp-nobody", []))
    response = client.get(
        f"{EXPORT}/upgrading_projects.geojson?city=tam-ky", headers=bearer(outsider)
    )
    assert response.status_code == 404
    package = _get(client, "cities/tam-ky.gpkg", planner, tmp_path / "city.gpkg")
    layers = dict(pyogrio.list_layers(package))
    assert layers.get("upgrading_projects") is not None
    assert len(pyogrio.read_dataframe(package, layer="upgrading_projects")) == projects
