"""Only the household form's surveys are households (issue 10, defect 7).

Settlement profiles and any added form are stored beside the households; they are never
counted, scored, mapped or exported as households. Each form's surveys export as their own
layer (named by the form id), without personal fields, read back by GDAL as planners do.
Two cities, so that no count or layer leaks from one into the other.
"""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from csv import reader as csv_reader
from dataclasses import dataclass
from datetime import timedelta
from itertools import islice
from pathlib import Path
from typing import Any

import pyogrio
import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import Engine, text

from app.db.exports import properties_sql
from app.forms.registry import FormRegistry
from app.main import create_app
from app.settings import REPO_ROOT, Settings
from tests.aio import run
from tests.auth import bearer, make_token, make_user
from tests.factories import household_answers, household_survey

EXPORT = "/api/v1/export"
OTHER_CITY = "song-town"
LEADER_NAME = "Trưởng Khu Bí Mật"
LEADER_PHONE = "0911222333"
CARETAKER_PHONE = "0933444555"
HEAD_NAME = "Chủ Hộ Bí Mật"
HOSTILE = "{{7*7}} </title><script>alert(1)</script>"
# Tam Kỳ: 3 approved households and 1 waiting for review, in one settlement; 2 approved
# settlement profiles and 1 waiting; 2 approved water points. The other city: 1 of each.
HOUSEHOLDS_APPROVED = 3
HOUSEHOLDS_ALL = 4


def water_point_form(path: Path) -> None:
    """A third form, as a CDF might add one: water points, a caretaker's phone marked personal."""
    workbook = Workbook()
    survey = workbook.active
    assert survey is not None
    survey.title = "survey"
    survey.append(
        ["type", "name", "label::Tiếng Việt (vi)", "label::English (en)", "required", "personal"]
    )
    survey.append(["text", "point_name", "Tên điểm nước", "Water point name", "yes", None])
    survey.append(["integer", "taps", "Số vòi", "Taps", None, None])
    survey.append(["select_one yes_no", "working", "Còn dùng được?", "Working?", "yes", None])
    survey.append(
        ["text", "caretaker_phone", "Điện thoại người trông", "Caretaker's phone", None, "yes"]
    )
    choices = workbook.create_sheet("choices")
    choices.append(["list_name", "name", "label::Tiếng Việt (vi)", "label::English (en)"])
    choices.append(["yes_no", "yes", "Có", "Yes"])
    choices.append(["yes_no", "no", "Không", "No"])
    settings = workbook.create_sheet("settings")
    settings.append(["form_title", "form_id", "version", "default_language"])
    settings.append(["Điểm nước / Water points", "water_point", "2026120101", "Tiếng Việt (vi)"])
    workbook.save(path)


def boundary(lat: float, lon: float) -> str:
    """A small walked boundary around a point, as a geoshape answer ("lat lon alt acc;...")."""
    corners = [(lat, lon), (lat + 0.0005, lon), (lat + 0.0005, lon + 0.0005), (lat, lon)]
    return ";".join(f"{a:.6f} {o:.6f} 0 5" for a, o in corners)


@dataclass
class Town:
    """Two cities with surveys of three forms, and who may read them."""

    client: TestClient
    engine: Engine
    ward_id: int
    ward_name: str
    settlement_id: int
    other_ward_id: int
    planner: dict[str, str]
    settlement_ids: list[str]
    water_ids: list[str]

    def get(self, url: str, **kwargs: Any) -> Any:
        response = self.client.get(url, **kwargs)
        assert response.status_code == 200, f"{url}: {response.status_code} {response.text[:300]}"
        return response


def _post(client: TestClient, body: dict[str, Any]) -> str:
    response = client.post("/api/v1/submissions", json=body)
    assert response.status_code == 201, response.text
    return str(body["id"])


def _survey(
    form_id: str, version: str, lat: float, lon: float, answers: dict[str, Any]
) -> dict[str, Any]:
    return household_survey(
        id=str(uuid.uuid4()),
        form_id=form_id,
        form_version=version,
        location={"lat": lat, "lon": lon, "accuracy_m": 5.0},
        answers=answers,
    )


def _settlement_profile(lat: float, lon: float, name: str) -> dict[str, Any]:
    return _survey(
        "settlement",
        "2026112801",
        lat,
        lon,
        {
            "settlement_name": name,
            "leader_name": LEADER_NAME,
            "leader_phone": LEADER_PHONE,
            "households_count": 120,
            "land_type": "public",
            "boundary": boundary(lat, lon),
        },
    )


def _water_point(lat: float, lon: float, name: str) -> dict[str, Any]:
    answers = {"point_name": name, "taps": 2, "working": "yes", "caretaker_phone": CARETAKER_PHONE}
    return _survey("water_point", "2026120101", lat, lon, answers)


@pytest.fixture(scope="module")
def town(
    database_url: str, sync_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Town]:
    forms_dir = tmp_path_factory.mktemp("forms")
    for name in ("household.xlsx", "settlement.xlsx"):
        shutil.copy(REPO_ROOT / "forms" / name, forms_dir / name)
    water_point_form(forms_dir / "water_point.xlsx")
    with sync_engine.begin() as connection:
        connection.execute(text("TRUNCATE household_surveys CASCADE"))
        city = connection.execute(
            text(
                "INSERT INTO cities (slug, name) VALUES (:slug, 'Thị trấn Sông') "
                "ON CONFLICT (slug) DO UPDATE SET name = excluded.name RETURNING id"
            ),
            {"slug": OTHER_CITY},
        ).scalar_one()
        other_ward = connection.execute(
            text(
                "INSERT INTO wards (city_id, code, name, geom) VALUES (:city, 'S1', 'Phường Sông', "
                "ST_Multi(ST_MakeEnvelope(106.0, 20.0, 106.01, 20.01, 4326))) RETURNING id"
            ),
            {"city": city},
        ).scalar_one()
        connection.execute(
            text(
                "INSERT INTO settlements (city_id, ward_id, code, name, geom) VALUES "
                "(:city, :ward, 'S1-1', 'Xóm Sông', "
                "ST_MakeEnvelope(106.0, 20.0, 106.005, 20.005, 4326))"
            ),
            {"city": city, "ward": other_ward},
        )
        # A settlement of Tam Kỳ with room for a few points inside it.
        place = connection.execute(
            text(
                "SELECT s.id, s.ward_id, w.name AS ward_name, ST_Y(p) AS lat, ST_X(p) AS lon "
                "FROM settlements s JOIN wards w ON w.id = s.ward_id "
                "CROSS JOIN LATERAL ST_PointOnSurface(s.geom) AS p "
                "WHERE s.city_id = (SELECT id FROM cities WHERE slug = 'tam-ky') "
                "ORDER BY ST_Area(s.geom) DESC LIMIT 1"
            )
        ).one()
    admin = make_user(sync_engine, "hhform-admin", [("national_admin", None)])
    planner = make_user(sync_engine, "hhform-planner", [("planner", ("city", "tam-ky"))])
    settings = Settings(
        database_url=database_url,
        forms_dir=forms_dir,
        media_dir=tmp_path_factory.mktemp("media"),
    )
    token = make_token(sync_engine, admin, lifetime=timedelta(hours=1))
    with TestClient(create_app(settings), headers=bearer(token)) as client:
        lat, lon = place.lat, place.lon
        households = [
            _survey(
                "household",
                "2026112801",
                lat + 0.00002 * i,
                lon,
                household_answers(head_name=f"{HEAD_NAME} {i}", head_phone=f"090000000{i}"),
            )
            for i in range(HOUSEHOLDS_ALL)
        ]
        household_ids = [_post(client, body) for body in households]
        settlement_ids = [
            _post(client, _settlement_profile(lat - 0.00002 * i, lon, f"{HOSTILE} {i}"))
            for i in range(3)
        ]
        water_ids = [
            _post(client, _water_point(lat, lon + 0.00002 * i, f"Giếng {i}")) for i in range(2)
        ]
        other = [
            _post(client, _survey("household", "2026112801", 20.002, 106.002, household_answers())),
            _post(client, _settlement_profile(20.002, 106.003, "Xóm Sông")),
            _post(client, _water_point(20.003, 106.002, "Giếng Sông")),
        ]
        approved = [*household_ids[:HOUSEHOLDS_APPROVED], *settlement_ids[:2], *water_ids, *other]
        with sync_engine.begin() as connection:
            connection.execute(
                text("UPDATE household_surveys SET status = 'approved' WHERE id = ANY(:ids)"),
                {"ids": [uuid.UUID(i) for i in approved]},
            )
            placed = connection.execute(
                text("SELECT count(*) FROM household_surveys WHERE settlement_id = :s"),
                {"s": place.id},
            ).scalar_one()
        assert placed == HOUSEHOLDS_ALL + 3 + 2  # every Tam Kỳ survey lies in the settlement
        yield Town(
            client,
            sync_engine,
            place.ward_id,
            place.ward_name,
            place.id,
            other_ward,
            bearer(make_token(sync_engine, planner, lifetime=timedelta(hours=1))),
            settlement_ids,
            water_ids,
        )
    with sync_engine.begin() as connection:
        connection.execute(text("TRUNCATE household_surveys CASCADE"))
        connection.execute(text("DELETE FROM cities WHERE slug = :slug"), {"slug": OTHER_CITY})


def _features(town: Town, url: str, target: Path, **kwargs: Any) -> dict[str, Any]:
    response = town.get(url, **kwargs)
    assert response.headers["content-type"].startswith("application/geo+json")
    target.write_bytes(response.content)
    return dict(json.loads(response.content))


def ogrinfo(path: Path) -> str:
    return subprocess.run(
        ["ogrinfo", "-ro", "-so", "-al", str(path)], capture_output=True, text=True, check=True
    ).stdout


# Places, indicators, maps and prints count households only ----------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", HOUSEHOLDS_APPROVED),
        ("?surveys=approved", HOUSEHOLDS_APPROVED),
        ("?surveys=all", HOUSEHOLDS_ALL),
    ],
)
def test_place_lists_count_households_as_indicators_do(
    town: Town, query: str, expected: int
) -> None:
    # They counted every survey of the household form, rejected and unreviewed ones too,
    # while indicators, maps and exports count approved ones (surveys=all: not rejected).
    cities = {c["slug"]: c for c in town.get(f"/api/v1/cities{query}").json()}
    assert cities["tam-ky"]["households"] == expected
    wards = {w["id"]: w for w in town.get(f"/api/v1/cities/tam-ky/wards{query}").json()}
    assert wards[town.ward_id]["households"] == expected
    settlements = town.get(f"/api/v1/wards/{town.ward_id}/settlements{query}").json()
    (mine,) = [s for s in settlements if s["id"] == town.settlement_id]
    assert mine["households"] == expected
    city = town.get(f"/api/v1/cities/tam-ky/indicators{query}").json()
    assert city["totals"]["households"] == expected


def test_place_lists_refuse_an_unknown_survey_filter(town: Town) -> None:
    for url in ("/api/v1/cities", "/api/v1/cities/tam-ky/wards"):
        response = town.client.get(f"{url}?surveys=rejected'--")
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "surveys"


@pytest.mark.parametrize(("surveys", "expected"), [("approved", 3), ("all", 4)])
def test_indicators_count_and_score_households_only(
    town: Town, surveys: str, expected: int
) -> None:
    city = town.get(f"/api/v1/cities/tam-ky/indicators?surveys={surveys}").json()
    assert city["totals"]["households"] == expected
    (settlement,) = [s for s in city["settlements"] if s["id"] == town.settlement_id]
    assert settlement["households"] == expected
    # Every household answered tenure "papers_only" (insecure): a profile would dilute it.
    assert settlement["shares"]["insecure_tenure"] == 1.0
    assert settlement["counts"]["insecure_tenure"] == expected
    ward = town.get(f"/api/v1/wards/{town.ward_id}/indicators?surveys={surveys}").json()
    assert ward["totals"]["households"] == expected
    other = town.get(f"/api/v1/cities/{OTHER_CITY}/indicators?surveys={surveys}").json()
    assert other["totals"]["households"] == 1
    csv = town.get(f"/api/v1/cities/tam-ky/indicators.csv?surveys={surveys}&lang=en")
    city_row = next(islice(csv_reader(io.StringIO(csv.content.decode("utf-8-sig"))), 1, None))
    assert city_row[0] == "City" and int(city_row[4]) == expected


def test_map_pages_and_points_show_households_only(town: Town) -> None:
    city = town.get("/maps/cities/tam-ky?lang=en").text
    assert f"{HOUSEHOLDS_APPROVED} households surveyed" in city
    ward = town.get(f"/maps/wards/{town.ward_id}?lang=en").text
    assert f"{HOUSEHOLDS_APPROVED} households surveyed" in ward
    reviewed = town.get("/maps/cities/tam-ky?lang=vi&surveys=all").text
    assert f"{HOUSEHOLDS_ALL} hộ đã khảo sát" in reviewed
    points = town.get("/maps/data/cities/tam-ky/households.json").json()
    assert points["count"] == HOUSEHOLDS_APPROVED
    ward_points = town.get(
        f"/maps/data/cities/tam-ky/households.json?ward={town.ward_id}&surveys=all"
    ).json()
    assert ward_points["count"] == HOUSEHOLDS_ALL
    other = town.get(f"/maps/data/cities/{OTHER_CITY}/households.json").json()
    assert other["count"] == 1
    # Hostile settlement-profile answers never reach a map page.
    assert "{{7*7}}" not in city and "alert(1)" not in city


def test_printed_map_counts_households_only(town: Town, tmp_path: Path) -> None:
    response = town.get(f"/maps/wards/{town.ward_id}.pdf?lang=en")
    path = tmp_path / "ward.pdf"
    path.write_bytes(response.content)
    words = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert f"(CDF map), {HOUSEHOLDS_APPROVED} households" in " ".join(words.split())


def test_the_household_form_is_a_setting(
    database_url: str, town: Town, tmp_path: Path, sync_engine: Engine
) -> None:
    """HOUSEHOLD_FORM names the form whose surveys are households (here the water points)."""
    forms_dir = tmp_path / "forms"
    forms_dir.mkdir()
    for name in ("household.xlsx", "settlement.xlsx"):
        shutil.copy(REPO_ROOT / "forms" / name, forms_dir / name)
    water_point_form(forms_dir / "water_point.xlsx")
    settings = Settings(
        database_url=database_url, forms_dir=forms_dir, household_form="water_point"
    )
    with TestClient(create_app(settings), headers=town.client.headers) as client:
        report = client.get("/api/v1/cities/tam-ky/indicators").json()
        assert report["totals"]["households"] == 2
        exported = client.get(f"{EXPORT}/households.geojson?city=tam-ky").json()
        assert len(exported["features"]) == 2
        assert {f["properties"]["form_id"] for f in exported["features"]} == {"water_point"}
        assert "caretaker_phone" not in exported["features"][0]["properties"]


# Exports: households layers hold households; each other form is its own layer --------------


def test_household_layers_hold_households_only(town: Town, tmp_path: Path) -> None:
    path = tmp_path / "households.geojson"
    data = _features(town, f"{EXPORT}/households.geojson?city=tam-ky", path)
    assert {f["properties"]["form_id"] for f in data["features"]} == {"household"}
    assert f"Feature Count: {HOUSEHOLDS_APPROVED}" in ogrinfo(path)
    everything = _features(town, f"{EXPORT}/households.geojson?city=tam-ky&surveys=all", path)
    assert len(everything["features"]) == HOUSEHOLDS_ALL
    wards = _features(town, f"{EXPORT}/wards.geojson?city=tam-ky", tmp_path / "w.geojson")
    counts = {f["properties"]["id"]: f["properties"]["households"] for f in wards["features"]}
    assert counts[town.ward_id] == HOUSEHOLDS_APPROVED
    settlements = _features(
        town, f"{EXPORT}/settlements.geojson?city=tam-ky&surveys=all", tmp_path / "s.geojson"
    )
    counts = {f["properties"]["id"]: f["properties"]["households"] for f in settlements["features"]}
    assert counts[town.settlement_id] == HOUSEHOLDS_ALL


def test_settlement_profiles_are_their_own_layer(town: Town, tmp_path: Path) -> None:
    path = tmp_path / "settlement.geojson"
    data = _features(town, f"{EXPORT}/forms/settlement.geojson?city=tam-ky", path)
    assert data["name"] == "settlement"
    ids = {f["properties"]["id"] for f in data["features"]}
    assert ids == set(town.settlement_ids[:2])
    properties = data["features"][0]["properties"]
    assert properties["form_id"] == "settlement" and properties["households_count"] == 120
    assert properties["land_type"] == "public" and properties["ward"] == town.ward_name
    assert properties["settlement_name"].startswith(HOSTILE)  # text, as it was sent
    assert properties["boundary"].count(";") == 3
    assert not {"leader_name", "leader_phone"} & set(properties)
    raw = path.read_text(encoding="utf-8")
    assert LEADER_NAME not in raw and LEADER_PHONE not in raw
    info = ogrinfo(path)
    assert "Layer name: settlement" in info and "Feature Count: 2" in info
    frame = pyogrio.read_dataframe(path)
    assert {"settlement_name", "households_count", "land_type"} <= set(frame.columns)
    everything = _features(town, f"{EXPORT}/forms/settlement.geojson?city=tam-ky&surveys=all", path)
    assert {f["properties"]["id"] for f in everything["features"]} == set(town.settlement_ids)
    ward = _features(
        town,
        f"{EXPORT}/forms/settlement.geojson?city=tam-ky&ward={town.ward_id}",
        tmp_path / "ward.geojson",
    )
    assert len(ward["features"]) == 2
    other = _features(
        town, f"{EXPORT}/forms/settlement.geojson?city={OTHER_CITY}", tmp_path / "o.geojson"
    )
    assert [f["properties"]["settlement_name"] for f in other["features"]] == ["Xóm Sông"]


def test_an_added_form_is_its_own_layer(town: Town, tmp_path: Path) -> None:
    path = tmp_path / "water_point.geojson"
    data = _features(town, f"{EXPORT}/forms/water_point.geojson?city=tam-ky", path)
    assert {f["properties"]["id"] for f in data["features"]} == set(town.water_ids)
    properties = data["features"][0]["properties"]
    assert properties["taps"] == 2 and properties["working"] == "yes"
    assert "caretaker_phone" not in properties
    assert CARETAKER_PHONE not in path.read_text(encoding="utf-8")
    assert "Feature Count: 2" in ogrinfo(path)
    gpkg = tmp_path / "water.gpkg"
    subprocess.run(["ogr2ogr", "-f", "GPKG", str(gpkg), str(path)], check=True)
    assert "Layer name: water_point" in ogrinfo(gpkg)


def test_geopackage_holds_one_layer_per_form(town: Town, tmp_path: Path) -> None:
    response = town.client.get(f"{EXPORT}/layers.gpkg?city=tam-ky", headers=town.planner)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/geopackage+sqlite3"
    assert "cdfmap-tam-ky.gpkg" in response.headers["content-disposition"]
    path = tmp_path / "tam-ky.gpkg"
    path.write_bytes(response.content)
    layers = {name: kind for name, kind in pyogrio.list_layers(path)}
    # (The CDF's layers join them when the city has groups or projects: another test's.)
    cdf_layers = {"savings_groups", "upgrading_projects"}
    assert set(layers) - cdf_layers == {
        "wards",
        "settlements",
        "households",
        "settlement",
        "water_point",
    }
    counts = {name: len(pyogrio.read_dataframe(path, layer=name)) for name in layers}
    assert counts["households"] == HOUSEHOLDS_APPROVED
    assert counts["settlement"] == 2 and counts["water_point"] == 2
    assert counts["wards"] == 10 and counts["settlements"] == 40
    profiles = pyogrio.read_dataframe(path, layer="settlement")
    assert {"settlement_name", "households_count", "boundary"} <= set(profiles.columns)
    assert not {"leader_name", "leader_phone"} & set(profiles.columns)
    assert set(profiles["form_id"]) == {"settlement"}
    households = pyogrio.read_dataframe(path, layer="households")
    assert set(households["form_id"]) == {"household"}
    assert not {"head_name", "head_phone", "photo"} & set(households.columns)
    water = pyogrio.read_dataframe(path, layer="water_point")
    assert "caretaker_phone" not in water.columns
    raw = response.content
    for secret in (LEADER_NAME, LEADER_PHONE, CARETAKER_PHONE, HEAD_NAME):
        assert secret.encode() not in raw
    info = subprocess.run(
        ["ogrinfo", "-ro", "-so", str(path)], capture_output=True, text=True, check=True
    ).stdout
    # The settlement profile's location is its walked boundary (a geoshape): polygons.
    assert "water_point (Point)" in info and "settlement (Polygon)" in info
    assert set(profiles.geometry.geom_type) == {"Polygon"}
    # A ward: its settlements, households and forms' surveys (no city-wide ward layer).
    ward = town.get(f"{EXPORT}/layers.gpkg?city=tam-ky&ward={town.ward_id}&surveys=all")
    path.write_bytes(ward.content)
    layers = {name: kind for name, kind in pyogrio.list_layers(path)}
    assert set(layers) - cdf_layers == {"settlements", "households", "settlement", "water_point"}
    assert len(pyogrio.read_dataframe(path, layer="households")) == HOUSEHOLDS_ALL
    assert len(pyogrio.read_dataframe(path, layer="settlement")) == 3
    other = town.client.get(f"{EXPORT}/layers.gpkg?city={OTHER_CITY}", headers=town.planner)
    assert other.status_code == 404


def test_a_planner_reads_form_layers_of_their_city_only(town: Town) -> None:
    planner = town.planner
    mine = town.client.get(f"{EXPORT}/forms/settlement.geojson?city=tam-ky", headers=planner)
    assert mine.status_code == 200
    assert LEADER_NAME not in mine.text and LEADER_PHONE not in mine.text
    for url in (
        f"{EXPORT}/forms/settlement.geojson?city={OTHER_CITY}",
        f"{EXPORT}/forms/water_point.geojson?city=tam-ky&ward={town.other_ward_id}",
    ):
        assert town.client.get(url, headers=planner).status_code == 404, url


@pytest.mark.parametrize(
    ("url", "status"),
    [
        (f"{EXPORT}/forms/nothing.geojson?city=tam-ky", 404),
        (f"{EXPORT}/forms/settlement.geojson?city=atlantis", 404),
        (f"{EXPORT}/forms/settlement.geojson", 422),
        (f"{EXPORT}/forms/settlement.geojson?city=tam-ky&surveys=some", 422),
        (f"{EXPORT}/forms/settlement.geojson?city=tam-ky&ward=0", 422),
        (f"{EXPORT}/forms/%7B%7B7*7%7D%7D.geojson?city=tam-ky", 422),
        (f"{EXPORT}/forms/{'x' * 80}.geojson?city=tam-ky", 422),
    ],
)
def test_bad_form_layer_requests_are_4xx(town: Town, url: str, status: int) -> None:
    assert town.client.get(url).status_code == status


def test_a_survey_without_location_has_a_null_geometry(town: Town, tmp_path: Path) -> None:
    """A form without location (issue 10, defect 1) gives surveys without a point: the layer
    keeps them, with a null geometry that GDAL reads."""
    with town.engine.begin() as connection:
        nullable = connection.execute(
            text(
                "SELECT is_nullable = 'YES' FROM information_schema.columns "
                "WHERE table_name = 'household_surveys' AND column_name = 'geom'"
            )
        ).scalar_one()
        if not nullable:
            connection.execute(
                text("ALTER TABLE household_surveys ALTER COLUMN geom DROP NOT NULL")
            )
        connection.execute(
            text(
                "INSERT INTO household_surveys (id, city_id, form_id, form_version, collected_at, "
                "status, answers, content_hash, geom) SELECT :id, id, 'water_point', '2026120101', "
                "now(), 'approved', CAST(:answers AS jsonb), 'x', NULL FROM cities WHERE slug = :c"
            ),
            {
                "id": uuid.uuid4(),
                "answers": json.dumps({"point_name": "Không vị trí", "taps": 1, "working": "no"}),
                "c": OTHER_CITY,
            },
        )
    try:
        path = tmp_path / "water.geojson"
        data = _features(town, f"{EXPORT}/forms/water_point.geojson?city={OTHER_CITY}", path)
        geometries = sorted(
            (f["properties"]["point_name"], f["geometry"] is None) for f in data["features"]
        )
        assert geometries == [("Giếng Sông", False), ("Không vị trí", True)]
        assert "Feature Count: 2" in ogrinfo(path)
        gpkg = tmp_path / "water.gpkg"
        subprocess.run(["ogr2ogr", "-f", "GPKG", str(gpkg), str(path)], check=True)
        frame = pyogrio.read_dataframe(gpkg)
        assert sorted(frame["point_name"]) == ["Giếng Sông", "Không vị trí"]
        assert int(frame.geometry.isna().sum() + frame.geometry.is_empty.sum()) == 1
    finally:
        with town.engine.begin() as connection:
            connection.execute(text("DELETE FROM household_surveys WHERE geom IS NULL"))
            if not nullable:
                connection.execute(
                    text("ALTER TABLE household_surveys ALTER COLUMN geom SET NOT NULL")
                )


def test_repeats_export_as_json_text_without_personal_answers(
    forms: FormRegistry, sync_engine: Engine
) -> None:
    """A repeat (the household roster) is one column: its instances as JSON text, keeping
    only public answers, nested repeats included."""
    from app.services.exports import form_properties  # new with the per-form layers

    settlement = forms.current("settlement")
    roster = {
        "type": "repeat",
        "name": "members",
        "children": [
            {"type": "text", "name": "member_name", "personal": "yes"},
            {"type": "integer", "name": "age"},
            {
                "type": "group",
                "name": "details",
                "children": [{"type": "select one", "name": "sex"}],
            },
            {"type": "photo", "name": "member_photo"},
            {
                "type": "repeat",
                "name": "visits",
                "children": [
                    {"type": "date", "name": "visit_date"},
                    {"type": "text", "name": "visitor_phone", "personal": "yes"},
                ],
            },
        ],
    }
    source = {**settlement.source, "children": [*settlement.source["children"], roster]}
    registry = FormRegistry()
    registry.add(dataclasses.replace(settlement, source=source))
    properties = {p.name: p for p in form_properties(registry, "settlement", "tam-ky")}
    assert "members" in properties and "leader_name" not in properties
    answers = {
        "settlement_name": "Khu A",
        "members": [
            {
                "member_name": "Bí Mật",
                "age": 34,
                "sex": "f",
                "member_photo": "a.jpg",
                "visits": [{"visit_date": "2026-11-20", "visitor_phone": "0900"}],
            },
            {"member_name": "Bí Mật 2", "age": 3},
        ],
    }
    members = properties_sql([properties["members"]])
    sql = f"SELECT {members} FROM (SELECT CAST(:a AS jsonb) AS answers) h"
    with sync_engine.connect() as connection:
        written = json.loads(connection.execute(text(sql), {"a": json.dumps(answers)}).scalar_one())
    assert isinstance(written["members"], str)
    assert json.loads(written["members"]) == [
        {"age": 34, "sex": "f", "visits": [{"visit_date": "2026-11-20"}]},
        {"age": 3},
    ]
    for secret in ("Bí Mật", "a.jpg", "0900"):
        assert secret not in written["members"]
    # Not a list (a survey from an odd client): null, never an error or a leak.
    odd = {"members": {"member_name": "Bí Mật"}}
    with sync_engine.connect() as connection:
        written = json.loads(connection.execute(text(sql), {"a": json.dumps(odd)}).scalar_one())
    assert written == {"members": None}


def test_a_layer_name_is_written_as_json() -> None:
    """A form id is the form author's text: the layer's name never breaks the GeoJSON."""
    from app.services.exports import feature_collection

    async def rows() -> Any:
        yield b'{"type":"Feature","geometry":null,"properties":{}}\n'

    async def collect(name: str) -> bytes:
        return b"".join([chunk async for chunk in feature_collection(rows(), name)])

    name = '{{7*7}}"</title>\\'
    assert json.loads(run(collect(name)))["name"] == name


def roster_form(path: Path) -> None:
    """A form with a household roster (a repeat) whose members' names are personal."""
    workbook = Workbook()
    survey = workbook.active
    assert survey is not None
    survey.title = "survey"
    survey.append(["type", "name", "label::Tiếng Việt (vi)", "label::English (en)", "personal"])
    survey.append(["text", "hh_name", "Tên chủ hộ", "Head's name", "yes"])
    survey.append(["integer", "size", "Số người", "Household size", None])
    survey.append(["begin_repeat", "members", "Thành viên", "Members", None])
    survey.append(["text", "member_name", "Họ tên", "Name", "yes"])
    survey.append(["integer", "age", "Tuổi", "Age", None])
    survey.append(["image", "member_photo", "Ảnh", "Photo", None])
    survey.append(["end_repeat", None, None, None, None])
    workbook.create_sheet("choices").append(["list_name", "name", "label::English (en)"])
    settings = workbook.create_sheet("settings")
    settings.append(["form_title", "form_id", "version", "default_language"])
    settings.append(["Hộ và thành viên / Roster", "roster", "2026120201", "Tiếng Việt (vi)"])
    workbook.save(path)


def test_a_roster_exports_as_json_text_without_names(
    database_url: str, town: Town, tmp_path: Path
) -> None:
    """A repeat loaded from a real XLSForm: one column of JSON text, members' names and
    photos left out; GDAL reads it as a string."""
    forms_dir = tmp_path / "forms"
    forms_dir.mkdir()
    roster_form(forms_dir / "roster.xlsx")
    answers = {
        "hh_name": "Chủ Hộ Bí Mật",
        "size": 2,
        "members": [
            {"member_name": "Con Bí Mật", "age": 3, "member_photo": "con.jpg"},
            {"member_name": "Mẹ Bí Mật", "age": 30},
        ],
    }
    survey_id = uuid.uuid4()
    with town.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO household_surveys (id, city_id, form_id, form_version, collected_at, "
                "status, answers, content_hash, geom) SELECT :id, id, 'roster', '2026120201', "
                "now(), 'approved', CAST(:answers AS jsonb), 'x', "
                "ST_SetSRID(ST_MakePoint(108.474, 15.571), 4326) FROM cities WHERE slug = 'tam-ky'"
            ),
            {"id": survey_id, "answers": json.dumps(answers)},
        )
    settings = Settings(database_url=database_url, forms_dir=forms_dir)
    try:
        with TestClient(create_app(settings), headers=town.client.headers) as client:
            response = client.get(f"{EXPORT}/forms/roster.geojson?city=tam-ky")
            # The API's reads too: a planner got the members' names and photos inside the
            # repeat (only the survey's own answers were redacted); the admin gets them all.
            reads = {
                who: [
                    client.get(url, headers=headers)
                    for url in (
                        f"/api/v1/submissions/{survey_id}",
                        "/api/v1/submissions?city=tam-ky&form_id=roster",
                        f"/api/v1/submissions/{survey_id}/history",
                    )
                ]
                for who, headers in (("planner", town.planner), ("admin", {}))
            }
    finally:
        with town.engine.begin() as connection:
            connection.execute(
                text("DELETE FROM household_surveys WHERE id = :id"), {"id": survey_id}
            )
    assert response.status_code == 200, response.text
    (feature,) = response.json()["features"]
    properties = feature["properties"]
    assert properties["size"] == 2 and "hh_name" not in properties
    assert json.loads(properties["members"]) == [{"age": 3}, {"age": 30}]
    for secret in ("Bí Mật", "con.jpg"):
        assert secret not in response.text
    for read in reads["planner"] + reads["admin"]:
        assert read.status_code == 200, read.text
    planner_single = reads["planner"][0].json()["answers"]
    assert planner_single == {"size": 2, "members": [{"age": 3}, {"age": 30}]}
    for read in reads["planner"]:
        for secret in ("Bí Mật", "con.jpg"):
            assert secret not in read.text, read.request.url
    assert reads["admin"][0].json()["answers"] == answers
    path = tmp_path / "roster.geojson"
    path.write_bytes(response.content)
    assert (
        "members: String"
        in subprocess.run(
            ["ogrinfo", "-ro", "-al", "-so", str(path)], capture_output=True, text=True, check=True
        ).stdout
    )


def test_a_survey_sent_without_location_is_placed_by_its_collector(town: Town) -> None:
    """A form without a geopoint (issue 10, defect 1): its survey has no point to place, so it
    goes to the city it names, else to its collector's one city (and ward, for a volunteer of
    one ward); it is flagged outside nothing, and its form's layer holds it without geometry."""
    with town.engine.connect() as connection:
        ward_code = connection.execute(
            text("SELECT code FROM wards WHERE id = :id"), {"id": town.ward_id}
        ).scalar_one()
    ward_volunteer = make_user(town.engine, "hhform-ward-vol", [("volunteer", ("ward", ward_code))])
    city_volunteer = make_user(
        town.engine, "hhform-city-vol", [("volunteer", ("city", OTHER_CITY))]
    )
    sent: dict[str, str] = {}
    for who, user, city in (
        ("ward", ward_volunteer, None),
        ("city", city_volunteer, None),
        ("named", None, OTHER_CITY),
        ("nowhere", None, None),
    ):
        body = _water_point(0, 0, f"Không vị trí {who}")
        del body["location"]
        if city:
            body["city"] = city
        headers = bearer(make_token(town.engine, user)) if user else {}
        response = town.client.post("/api/v1/submissions", json=body, headers=headers)
        assert response.status_code == 201, response.text
        assert response.json()["location"] is None
        sent[who] = body["id"]
    try:
        with town.engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT h.id::text, c.slug, h.ward_id, h.flags FROM household_surveys h "
                    "LEFT JOIN cities c ON c.id = h.city_id WHERE h.id = ANY(:ids)"
                ),
                {"ids": [uuid.UUID(i) for i in sent.values()]},
            )
            placed = {row[0]: tuple(row[1:]) for row in rows}
        assert placed[sent["ward"]] == ("tam-ky", town.ward_id, [])
        assert placed[sent["city"]] == (OTHER_CITY, None, [])
        assert placed[sent["named"]] == (OTHER_CITY, None, [])
        assert placed[sent["nowhere"]] == (None, None, [])
        layer = town.get(
            f"{EXPORT}/forms/water_point.geojson?city=tam-ky&ward={town.ward_id}&surveys=all"
        ).json()
        (unplaced,) = [f for f in layer["features"] if f["properties"]["id"] == sent["ward"]]
        assert unplaced["geometry"] is None and unplaced["properties"]["ward_id"] == town.ward_id
        other = town.get(f"{EXPORT}/forms/water_point.geojson?city={OTHER_CITY}&surveys=all")
        ids = {f["properties"]["id"] for f in other.json()["features"]}
        assert {sent["city"], sent["named"]} <= ids and sent["ward"] not in ids
        report = town.get("/api/v1/cities/tam-ky/indicators?surveys=all").json()
        assert report["totals"]["households"] == HOUSEHOLDS_ALL
    finally:
        with town.engine.begin() as connection:
            connection.execute(
                text("DELETE FROM household_surveys WHERE id = ANY(:ids)"),
                {"ids": [uuid.UUID(i) for i in sent.values()]},
            )
