"""GeoJSON export read back with GDAL (ogrinfo and pyogrio), the planners' own tools."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime
from pathlib import Path

import pyogrio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.db.exports import Property, properties_sql
from app.forms.registry import FormRegistry
from app.geo import sample_city
from app.services.samples import insert_submissions
from tests.factories import household_answers, household_survey

EXPORT = "/api/v1/export"


SAMPLE = list(sample_city.generate_households(sample_city.generate_city(), 600))


@pytest.fixture
def sample_households(sync_engine: Engine, forms: FormRegistry, clean_surveys: None) -> int:
    with sync_engine.begin() as connection:
        return insert_submissions(connection, forms, SAMPLE)


def download(client: TestClient, path: str, target: Path) -> Path:
    """An export of every survey not rejected (these tests' surveys wait for review)."""
    response = client.get(path + ("&" if "?" in path else "?") + "surveys=all")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/geo+json")
    target.write_bytes(response.content)
    return target


def test_households_export_reads_back_in_gdal(
    client: TestClient, sample_households: int, tmp_path: Path
) -> None:
    path = download(client, f"{EXPORT}/households.geojson?city=tam-ky", tmp_path / "h.geojson")
    info = subprocess.run(
        ["ogrinfo", "-ro", "-so", "-al", str(path)], capture_output=True, text=True, check=True
    ).stdout
    assert f"Feature Count: {sample_households}" in info
    assert "Geometry: Point" in info
    frame = pyogrio.read_dataframe(path)
    assert len(frame) == sample_households == 600
    assert {"tenure", "water_source", "sanitation", "ward", "settlement"} <= set(frame.columns)
    # Privacy: no personal field leaves the system in a planner export.
    assert not {"head_name", "head_phone", "photo"} & set(frame.columns)
    text = path.read_text(encoding="utf-8")
    for survey in SAMPLE[:100]:
        assert survey["answers"]["head_name"] not in text
        if "head_phone" in survey["answers"]:
            assert survey["answers"]["head_phone"] not in text


def test_export_coordinates_are_lon_lat(client: TestClient, tmp_path: Path) -> None:
    notes = 'Nhà "số 5" \\ hẻm\tcụt\nngập'  # quotes, a backslash, a tab, a newline
    body = household_survey(
        location={"lat": 15.5712344, "lon": 108.4741234, "accuracy_m": 5.0},
        answers=household_answers(needs_notes=notes),
    )
    assert client.post("/api/v1/submissions", json=body).status_code == 201
    path = download(client, f"{EXPORT}/households.geojson?city=tam-ky", tmp_path / "one.geojson")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection"
    (feature,) = data["features"]
    assert feature["geometry"] == {"type": "Point", "coordinates": [108.474123, 15.571234]}
    properties = feature["properties"]
    assert properties["id"] == body["id"]
    assert properties["household_size"] == 4 and properties["tenure"] == "papers_only"
    assert properties["ward"] == "An Xuân"
    assert properties["needs_notes"] == notes
    assert properties["city"] == "tam-ky" and properties["status"] == "received"
    assert properties["gps_accuracy_m"] == 5.0 and properties["altitude_m"] is None
    assert datetime.fromisoformat(properties["collected_at"]) == datetime.fromisoformat(
        body["collected_at"]
    )
    assert isinstance(properties["lane_width_m"], float)
    assert properties["flags"] == ""
    frame = pyogrio.read_dataframe(path)
    assert frame.geometry.iloc[0].x == pytest.approx(108.474123)
    assert frame.geometry.iloc[0].y == pytest.approx(15.571234)


def test_ward_filter_and_boundary_layers(
    client: TestClient, sample_households: int, tmp_path: Path
) -> None:
    wards = client.get("/api/v1/cities/tam-ky/wards?surveys=all").json()
    ward = max(wards, key=lambda w: w["households"])
    path = download(
        client, f"{EXPORT}/households.geojson?city=tam-ky&ward={ward['id']}", tmp_path / "w.geojson"
    )
    frame = pyogrio.read_dataframe(path)
    assert len(frame) == ward["households"] > 0
    assert set(frame["ward"]) == {ward["name"]}

    ward_layer = pyogrio.read_dataframe(
        download(client, f"{EXPORT}/wards.geojson?city=tam-ky", tmp_path / "wards.geojson")
    )
    assert len(ward_layer) == 10
    assert int(ward_layer["households"].sum()) <= sample_households
    assert set(ward_layer.geometry.geom_type) == {"MultiPolygon"}
    settlement_layer = pyogrio.read_dataframe(
        download(client, f"{EXPORT}/settlements.geojson?city=tam-ky", tmp_path / "s.geojson")
    )
    assert len(settlement_layer) == 40
    assert (
        "Tổ dân phố" in " ".join(settlement_layer["name"])
        or len(set(settlement_layer["name"])) == 40
    )


def test_a_file_is_named_by_what_it_holds(client: TestClient, sample_households: int) -> None:
    # A settlement's export came as households-tam-ky.csv, the city's name: the second
    # download replaced the first in a Downloads folder.
    ward = client.get("/api/v1/cities/tam-ky/wards").json()[0]["id"]
    settlement = client.get(f"/api/v1/wards/{ward}/settlements").json()[0]["id"]

    def named(path: str) -> str:
        response = client.get(path)
        assert response.status_code == 200, response.text
        return response.headers["content-disposition"].split("filename=")[1].strip('"')

    assert named(f"{EXPORT}/households.csv?city=tam-ky") == "households-tam-ky.csv"
    assert (
        named(
            f"{EXPORT}/households.csv?city=tam-ky&ward={ward}&settlement={settlement}"
            "&status=received&from=2026-11-01&to=2026-11-30T18:30:00%2B07:00&labels=vi"
        )
        == f"households-tam-ky-ward-{ward}-settlement-{settlement}-received"
        "-from-2026-11-01-to-2026-11-30T183000-labels-vi.csv"
    )
    # The range is read in Vietnam's time, as the query gives it in UTC.
    assert named(
        f"{EXPORT}/settlements.geojson?city=tam-ky&surveys=all&from=2026-10-31T17:00Z"
    ) == ("settlements-tam-ky-surveys-all-from-2026-11-01.geojson")
    assert (
        named(f"{EXPORT}/layers.gpkg?city=tam-ky&ward={ward}") == f"cdfmap-tam-ky-ward-{ward}.gpkg"
    )
    # The last hours of year 9999 have no Vietnamese time (a 500 before): named in UTC.
    assert named(f"{EXPORT}/households.csv?city=tam-ky&to=9999-12-31T23:59:59Z") == (
        "households-tam-ky-to-9999-12-31T235959Z.csv"
    )


@pytest.mark.parametrize(
    ("prop", "expected"),
    [
        (Property('we"ird\\key', "NULL::int", "number"), None),
        (Property("n", "12.5::float8", "number"), 12.5),
        (Property("c", "'own_toilet'", "code"), "own_toilet"),
        (Property("j", '\'{"a": [1, "x"]}\'::jsonb', "json"), {"a": [1, "x"]}),
        (Property("t", "E'say \"hi\"\\\\ \\n\\t ok'::text", "text"), 'say "hi"\\ \n\t ok'),
        (Property("d", "'2026-11-26 09:30+07'::timestamptz", "text"), "2026-11-26T02:30:00+00:00"),
    ],
)
def test_properties_are_written_as_json_by_postgresql(
    sync_engine: Engine, prop: Property, expected: object
) -> None:
    sql = f"SELECT {properties_sql([Property('id', '1', 'number'), prop])}"
    with sync_engine.connect() as connection:
        connection.exec_driver_sql("SET timezone = 'UTC'")
        written = connection.exec_driver_sql(sql).scalar_one()
    assert json.loads(written) == {"id": 1, prop.name: expected}


def test_loading_the_same_surveys_again_adds_nothing(
    sync_engine: Engine, forms: FormRegistry, sample_households: int
) -> None:
    with sync_engine.begin() as connection:
        assert insert_submissions(connection, forms, SAMPLE[:50]) == 0


def test_export_errors(client: TestClient) -> None:
    assert client.get(f"{EXPORT}/households.geojson?city=atlantis").status_code == 404
    assert client.get(f"{EXPORT}/households.geojson?city=tam-ky&ward=999999").status_code == 404
    assert client.get(f"{EXPORT}/households.geojson?city=tam-ky&ward=x").status_code == 422
    assert client.get(f"{EXPORT}/households.geojson").status_code == 422
    empty = client.get(f"{EXPORT}/households.geojson?city=tam-ky").json()
    assert empty == {"type": "FeatureCollection", "name": "households", "features": []}
