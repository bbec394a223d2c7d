"""A form whose location is a geoshape (the settlement profile's walked boundary): its surveys
are stored with their polygon, through the JSON API and ODK Collect alike, and every export
format and the OGC API serve them as polygons, read back here by GDAL as planners do.

What a boundary may be (app/geo/geoshape.py): an open ring is closed; fewer than 3 corners,
NaN, a coordinate out of range or corners on one line are refused with a message; a ring
that crosses itself is kept as walked and flagged for the reviewer.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine, text

from app.services.auth import hash_password
from tests.auth import make_token, make_user
from tests.integration.test_odk import message, post_submission
from tests.odk import NAMESPACES, multipart

SETTLEMENT_VERSION = "2026112801"
EXPORT = "/api/v1/export/forms/settlement"
# A walked boundary in ward W03 (An Xuân) of the sample city, as (lat, lon): a lane block.
CORNERS = [(15.5700, 108.4740), (15.5706, 108.4741), (15.5707, 108.4748), (15.5701, 108.4747)]
RING = [(lon, lat) for lat, lon in [*CORNERS, CORNERS[0]]]  # GeoJSON order, closed


def geoshape(corners: list[tuple[float, float]], closed: bool = True, tail: str = "") -> str:
    """A geoshape answer as Collect writes it: "lat lon altitude accuracy;..."."""
    points = [*corners, corners[0]] if closed else corners
    return ";".join(f"{lat} {lon} 12.5 4.0" for lat, lon in points) + tail


def profile(boundary: str, **answers: Any) -> dict[str, Any]:
    """A settlement profile for the JSON API, without a location (its form asks none)."""
    return {
        "id": str(uuid.uuid4()),
        "form_id": "settlement",
        "form_version": SETTLEMENT_VERSION,
        "collected_at": "2026-11-26T09:30:00+07:00",
        "city": "tam-ky",
        "answers": {
            "settlement_name": "Xóm Bàu {{7*7}} </title>",
            "households_count": 42,
            "land_type": "riverbank",
            "threats": "flooding",
            "boundary": boundary,
            **answers,
        },
    }


def profile_xml(boundary: str, instance_id: str | None = None) -> bytes:
    """A settlement profile as Collect submits it."""
    instance_id = instance_id or f"uuid:{uuid.uuid4()}"
    return (
        f'<?xml version=\'1.0\' ?><data id="settlement" version="{SETTLEMENT_VERSION}" '
        f"{NAMESPACES}><start>2026-11-26T09:10:00.000+07:00</start>"
        "<end>2026-11-26T09:40:00.000+07:00</end>"
        "<settlement_name>Khu phố Sông Đà</settlement_name><leader_name/><leader_phone/>"
        "<households_count>64</households_count><year_settled/>"
        "<land_type>public</land_type><threats>eviction</threats><problems/>"
        f"<savings_groups/><notes/><boundary>{boundary}</boundary>"
        f"<meta><instanceID>{instance_id}</instanceID><instanceName/></meta></data>"
    ).encode()


@pytest.fixture
def phone(client: TestClient, sync_engine: Engine) -> str:
    """A volunteer of ward W03 with Collect set up: the server URL's path."""
    user_id = make_user(sync_engine, "shape-volunteer", [("volunteer", ("ward", "W03"))])
    setup = client.post("/api/v1/odk/setup", json={"user_id": user_id})
    assert setup.status_code == 201, setup.text
    return str(setup.json()["server_url"]).removeprefix("http://testserver")


def stored_shape(engine: Engine, survey_id: str) -> tuple[str | None, list[str]]:
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT ST_AsText(shape), flags FROM household_surveys WHERE id = :id"),
            {"id": survey_id},
        ).one()
    return row[0], list(row[1])


def same_ring(coordinates: Any, expected: list[tuple[float, float]] = RING) -> bool:
    """Whether a polygon's exterior is the expected ring (GDAL may start or turn it
    otherwise: compared as the same closed polygon, to 6 decimals)."""
    polygon = shapely.Polygon(coordinates)
    return bool(
        polygon.equals_exact(shapely.Polygon(expected), tolerance=1e-6)
        or shapely.normalize(polygon).equals_exact(
            shapely.normalize(shapely.Polygon(expected)), tolerance=1e-6
        )
    )


def ogrinfo(path: Path | str, *options: str) -> str:
    return subprocess.run(
        ["ogrinfo", "-ro", "-al", *options, str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


# Intake: JSON API and Collect ------------------------------------------------------------


def test_an_open_ring_sent_by_the_json_api_is_stored_closed_with_its_text(
    client: TestClient, sync_engine: Engine
) -> None:
    boundary = geoshape(CORNERS, closed=False, tail=" ; ")
    body = profile(boundary)
    response = client.post("/api/v1/submissions", json=body)
    assert response.status_code == 201, response.text
    shape, flags = stored_shape(sync_engine, body["id"])
    assert shape is not None
    assert same_ring(shapely.from_wkt(shape).exterior.coords)
    assert list(shapely.from_wkt(shape).exterior.coords) == RING  # as walked, first point last
    assert "shape_self_intersects" not in flags
    record = client.get(f"/api/v1/submissions/{body['id']}").json()
    assert record["answers"]["boundary"] == " ".join(boundary.split())  # the text as sent
    # A household survey (a point) stores no shape.
    from tests.factories import household_survey

    household = household_survey()
    assert client.post("/api/v1/submissions", json=household).status_code == 201
    assert stored_shape(sync_engine, household["id"])[0] is None


def test_a_phones_batch_stores_the_polygon_beside_its_households(
    client: TestClient, sync_engine: Engine
) -> None:
    from tests.factories import TAM_KY_POINT, household_survey

    # One with a point (the server's own placement would place it) and one without.
    located = {**profile(geoshape(CORNERS)), "location": dict(TAM_KY_POINT)}
    unlocated = profile(geoshape(CORNERS, closed=False))
    households = [household_survey() for _ in range(3)]
    items = [households[0], located, households[1], unlocated, households[2]]
    response = client.post("/api/v1/submissions/batch", json={"submissions": items})
    assert response.status_code == 200, response.text
    assert response.json()["summary"]["created"] == 5, response.text
    for body in (located, unlocated):
        shape, _ = stored_shape(sync_engine, body["id"])
        assert shape is not None and list(shapely.from_wkt(shape).exterior.coords) == RING
    for body in households:
        assert stored_shape(sync_engine, body["id"])[0] is None
    record = client.get(f"/api/v1/submissions/{located['id']}").json()
    assert record["ward"]["name"] == "An Xuân"  # placed by its point
    # Without a point, by a point inside its area: the same ward and settlement.
    unlocated_record = client.get(f"/api/v1/submissions/{unlocated['id']}").json()
    assert unlocated_record["location"] is None
    assert unlocated_record["ward"] == record["ward"]
    assert unlocated_record["settlement"] == record["settlement"]


def test_a_profile_without_a_point_is_placed_by_its_area(
    client: TestClient, sync_engine: Engine
) -> None:
    """A settlement profile walked around a lane block of a settlement is in that
    settlement and its ward, whoever sent it (not only in the collector's ward)."""
    with sync_engine.connect() as connection:
        settlement = connection.execute(
            text(
                "SELECT s.id, s.name, w.name AS ward, ST_X(p) AS lon, ST_Y(p) AS lat "
                "FROM settlements s JOIN wards w ON w.id = s.ward_id, "
                "ST_PointOnSurface(ST_Buffer(s.geom, -0.0003)) p "
                "WHERE NOT ST_IsEmpty(p) ORDER BY s.id LIMIT 1"
            )
        ).one()
    d = 0.0001  # a ~20 m square around a point well inside the settlement
    square = [
        (settlement.lat - d, settlement.lon - d),
        (settlement.lat - d, settlement.lon + d),
        (settlement.lat + d, settlement.lon + d),
        (settlement.lat + d, settlement.lon - d),
    ]
    single, batched = profile(geoshape(square)), profile(geoshape(square, closed=False))
    assert client.post("/api/v1/submissions", json=single).status_code == 201
    response = client.post("/api/v1/submissions/batch", json={"submissions": [batched]})
    assert response.json()["summary"]["created"] == 1, response.text
    for body in (single, batched):
        record = client.get(f"/api/v1/submissions/{body['id']}").json()
        assert record["location"] is None
        assert record["settlement"]["name"] == settlement.name, record
        assert record["ward"]["name"] == settlement.ward


def test_a_boundary_sent_by_collect_is_the_same_polygon(
    client: TestClient, phone: str, sync_engine: Engine
) -> None:
    instance = uuid.uuid4()
    xml = profile_xml(geoshape(CORNERS, tail=";"), f"uuid:{instance}")
    response = post_submission(client, phone, xml)
    assert response.status_code == 201, response.text
    shape, _ = stored_shape(sync_engine, str(instance))
    assert shape is not None and list(shapely.from_wkt(shape).exterior.coords) == RING
    assert post_submission(client, phone, xml).status_code == 202  # a resend changes nothing
    record = client.get(f"/api/v1/submissions/{instance}").json()
    assert record["ward"]["name"] == "An Xuân"  # the volunteer's ward (no point was sent)
    assert record["answers"]["boundary"].startswith("15.57 108.474 12.5 4.0;")


def test_a_boundary_that_crosses_itself_is_kept_and_flagged(
    client: TestClient, phone: str, sync_engine: Engine
) -> None:
    # A figure eight: the walk crossed its own track.
    bow_tie = [CORNERS[0], CORNERS[2], CORNERS[1], CORNERS[3]]
    body = profile(geoshape(bow_tie))
    response = client.post("/api/v1/submissions", json=body)
    assert response.status_code == 201, response.text
    shape, flags = stored_shape(sync_engine, body["id"])
    assert "shape_self_intersects" in flags
    assert shape is not None
    walked = [(lon, lat) for lat, lon in [*bow_tie, bow_tie[0]]]
    assert list(shapely.from_wkt(shape).exterior.coords) == walked  # as walked, not repaired
    record = client.get(f"/api/v1/submissions/{body['id']}").json()
    assert "shape_self_intersects" in record["flags"]
    instance = uuid.uuid4()
    odk = post_submission(client, phone, profile_xml(geoshape(bow_tie), f"uuid:{instance}"))
    assert odk.status_code == 201, odk.text
    assert "shape_self_intersects" in stored_shape(sync_engine, str(instance))[1]
    # The review page names the flag in words.
    for language, words in (("en", "Boundary crosses itself"), ("vi", "Ranh giới tự cắt nhau")):
        page = client.get("/review", headers={"Accept-Language": language})
        assert page.status_code == 200
        config = page.text.split('id="review-config">', 1)[1].split("</script>", 1)[0]
        assert json.loads(config)["flags"]["shape_self_intersects"] == words


BAD_BOUNDARIES = [
    # (answer, words of the Vietnamese message, of the English one)
    (geoshape(CORNERS[:2]), "ít nhất 3 điểm khác nhau", "at least 3 different points"),
    ("15.57 108.474 0 0;15.57 108.474 0 0;15.57 108.474 0 0", "ít nhất 3", "at least 3"),
    (
        "15.57 108.474 0 0;NaN 108.475 0 0;15.571 108.475 0 0",
        "điểm thứ 2 ('NaN 108.475 0 0')",
        "point 2 ('NaN 108.475 0 0')",
    ),
    ("15.57 108.474;15.571 inf;15.571 108.475", "điểm thứ 2", "point 2"),
    ("15.57 108.474;15.571 một;15.571 108.475", "điểm thứ 2", "point 2"),
    (
        "15.57 108.474;95.571 108.475;15.571 108.476",
        "điểm thứ 2 có vĩ độ 95.571",
        "point 2 has latitude 95.571",
    ),
    # Longitude first (GeoJSON's order) in Vietnam: a latitude of 108 is none.
    ("108.474 15.57;108.475 15.571;108.476 15.57", "vĩ độ 108.474", "latitude 108.474"),
    ("15.57 181 0 0;15.571 108.475;15.571 108.476", "kinh độ 181", "longitude 181"),
    ("15.57 108.474;15.571 108.475;15.572 108.476", "một đường thẳng", "on one line"),
]


def test_a_boundary_that_is_no_area_is_refused_with_a_clear_message(
    client: TestClient, phone: str, sync_engine: Engine
) -> None:
    for boundary, vietnamese, english in BAD_BOUNDARIES:
        for language, said in (("vi", vietnamese), ("en", english)):
            response = client.post(
                "/api/v1/submissions",
                json=profile(boundary),
                headers={"Accept-Language": language},
            )
            assert response.status_code == 422, (boundary, response.text)
            assert said in response.text, (boundary, language, response.text)
            assert "answers.boundary" in response.text
            body, content_type = multipart(profile_xml(boundary))
            odk = client.post(
                f"{phone}/submission",
                content=body,
                headers={"Content-Type": content_type, "Accept-Language": language},
            )
            assert odk.status_code == 400, odk.text
            nature, message_text = message(odk)
            assert nature == "error" and said in message_text and "boundary" in message_text
    with sync_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM household_surveys")).scalar() == 0


def test_a_correction_replaces_the_polygon(
    client: TestClient, sync_engine: Engine, admin_token: str
) -> None:
    body = profile(geoshape(CORNERS))
    assert client.post("/api/v1/submissions", json=body).status_code == 201
    smaller = [CORNERS[0], CORNERS[1], CORNERS[3]]
    corrected = {**body, "answers": {**body["answers"], "boundary": geoshape(smaller)}}
    response = client.put(f"/api/v1/submissions/{body['id']}", json=corrected)
    assert response.status_code in (200, 201), response.text
    shape, _ = stored_shape(sync_engine, body["id"])
    assert shape is not None
    assert same_ring(
        shapely.from_wkt(shape).exterior.coords,
        [(lon, lat) for lat, lon in [*smaller, smaller[0]]],
    )


# Exports and the OGC API: polygons in every format ----------------------------------------


@pytest.fixture
def profiles(client: TestClient, phone: str, sync_engine: Engine) -> dict[str, str]:
    """Two settlement profiles, approved: one sent by the JSON API (an open ring), one by
    Collect; by id, how each came."""
    body = profile(geoshape(CORNERS, closed=False))
    assert client.post("/api/v1/submissions", json=body).status_code == 201
    instance = str(uuid.uuid4())
    xml = profile_xml(geoshape(CORNERS), f"uuid:{instance}")
    assert post_submission(client, phone, xml).status_code == 201
    with sync_engine.begin() as connection:
        connection.execute(text("UPDATE household_surveys SET status = 'approved'"))
    return {body["id"]: "json", instance: "odk"}


def export(client: TestClient, fmt: str, target: Path) -> Path:
    response = client.get(f"{EXPORT}.{fmt}?city=tam-ky")
    assert response.status_code == 200, response.text
    target.write_bytes(response.content)
    return target


def test_every_export_format_holds_polygons(
    client: TestClient, profiles: dict[str, str], tmp_path: Path
) -> None:
    # GeoJSON: RFC 7946 Polygons, lon then lat, the ring closed; the answer's text too.
    path = export(client, "geojson", tmp_path / "settlement.geojson")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert {f["properties"]["id"] for f in data["features"]} == set(profiles)
    for feature in data["features"]:
        assert feature["geometry"]["type"] == "Polygon"
        assert [tuple(p) for p in feature["geometry"]["coordinates"][0]] == RING
        assert feature["properties"]["boundary"].count(";") >= 3
    info = ogrinfo(path, "-so")
    assert "Geometry: Polygon" in info and "Feature Count: 2" in info, info

    # GeoPackage: a Polygon layer, a polygon style.
    path = export(client, "gpkg", tmp_path / "settlement.gpkg")
    assert (
        "settlement (Polygon)"
        in subprocess.run(
            ["ogrinfo", "-ro", "-so", str(path)], capture_output=True, text=True, check=True
        ).stdout
    )
    frame = pyogrio.read_dataframe(path, layer="settlement")
    assert set(frame["id"]) == set(profiles)
    assert all(same_ring(geometry.exterior.coords) for geometry in frame.geometry)
    assert "boundary" in frame.columns

    # Shapefile (zipped): polygons through GDAL's writer.
    path = export(client, "shp.zip", tmp_path / "settlement.shp.zip")
    with zipfile.ZipFile(path) as archive:
        assert {"settlement.shp", "settlement.dbf", "settlement.prj"} <= set(archive.namelist())
    info = ogrinfo(f"/vsizip/{path}/settlement.shp", "-so")
    assert "Geometry: Polygon" in info and "Feature Count: 2" in info, info
    frame = pyogrio.read_dataframe(f"/vsizip/{path}/settlement.shp")
    assert all(same_ring(geometry.exterior.coords) for geometry in frame.geometry)

    # KML: a Polygon per Placemark.
    path = export(client, "kml", tmp_path / "settlement.kml")
    assert path.read_text(encoding="utf-8").count("<Polygon>") == 2
    info = ogrinfo(path)
    assert info.count("POLYGON ((") == 2, info
    frame = pyogrio.read_dataframe(path)
    assert all(geometry.geom_type == "Polygon" for geometry in frame.geometry)
    assert all(same_ring([c[:2] for c in g.exterior.coords]) for g in frame.geometry)

    # CSV: the polygon as WKT (GDAL's CSV driver reads the `wkt` column as the geometry).
    path = export(client, "csv", tmp_path / "settlement.csv")
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert len(rows) == 2 and "lon" not in rows[0]
    for row in rows:
        assert row["wkt"].startswith("POLYGON((")
        assert same_ring(shapely.from_wkt(row["wkt"]).exterior.coords)
    info = ogrinfo(path, "-oo", "GEOM_POSSIBLE_NAMES=wkt", "-oo", "KEEP_GEOM_COLUMNS=NO")
    assert info.count("POLYGON ((") == 2, info

    # XLSX: a wkt column.
    path = export(client, "xlsx", tmp_path / "settlement.xlsx")
    sheet = load_workbook(path, read_only=True)["settlement"]
    header, *cells = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert header[0] == "wkt" and len(cells) == 2
    assert all(same_ring(shapely.from_wkt(row[0]).exterior.coords) for row in cells)


def test_the_city_geopackage_and_the_ogc_api_serve_polygons(
    client: TestClient, profiles: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "city.gpkg"
    response = client.get("/api/v1/export/cities/tam-ky.gpkg")
    assert response.status_code == 200, response.text
    path.write_bytes(response.content)
    layers = dict(pyogrio.list_layers(path))
    assert layers["settlement"] == "Polygon" and layers["households"] == "Point"
    items = client.get("/ogc/collections/settlement/items?f=json")
    assert items.status_code == 200, items.text
    features = items.json()["features"]
    assert {f["id"] for f in features} == set(profiles)
    for feature in features:
        assert feature["geometry"]["type"] == "Polygon"
        assert [tuple(p) for p in feature["geometry"]["coordinates"][0]] == RING
    # bbox finds a polygon by its area: this box holds one corner of it only.
    corner = "108.47475,15.57065,108.4749,15.5708"
    assert (
        len(client.get(f"/ogc/collections/settlement/items?bbox={corner}").json()["features"]) == 2
    )
    queryables = client.get("/ogc/collections/settlement/queryables").json()
    assert queryables["properties"]["geometry"]["format"] == "geometry-polygon"
    households = client.get("/ogc/collections/households/queryables").json()
    assert households["properties"]["geometry"]["format"] == "geometry-point"


def test_gdal_reads_the_ogc_collection_as_polygons(
    live_server: str, profiles: dict[str, str], sync_engine: Engine
) -> None:
    user_id = make_user(
        sync_engine, "shape-planner", [("planner", ("city", "tam-ky"))], hash_password("x" * 12)
    )
    token = make_token(sync_engine, user_id)
    result = subprocess.run(
        [
            "ogrinfo",
            "-ro",
            "-al",
            f"OAPIF:{live_server}/ogc",
            "settlement",
            "--config",
            "GDAL_HTTP_HEADERS",
            f"Authorization: Bearer {token}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Geometry: Polygon" in result.stdout, result.stdout
    assert result.stdout.count("POLYGON ((108.474 15.57") == 2, result.stdout


# Surveys stored before the polygon was kept ---------------------------------------------------


def test_fill_shapes_gives_surveys_stored_before_their_polygon(
    client: TestClient, sync_engine: Engine, database_url: str
) -> None:
    from tests.factories import household_survey
    from tests.integration.test_cli import cli

    bow_tie = [CORNERS[0], CORNERS[2], CORNERS[1], CORNERS[3]]
    good, crossing, refused = (
        profile(geoshape(CORNERS, closed=False)),
        profile(geoshape(bow_tie)),
        profile(geoshape(CORNERS)),
    )
    for body in (good, crossing, refused, household_survey()):
        assert client.post("/api/v1/submissions", json=body).status_code == 201
    # As migration 0020 found them: no shape, no flag, placed by their collector (a national
    # admin: in no ward); and an answer refused today.
    with sync_engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE household_surveys SET shape = NULL, "
                "flags = array_remove(flags, 'shape_self_intersects')"
            )
        )
        connection.execute(
            text(
                "UPDATE household_surveys SET ward_id = NULL, settlement_id = NULL "
                "WHERE geom IS NULL"
            )
        )
        connection.execute(
            text(
                "UPDATE household_surveys SET answers = jsonb_set(answers, '{boundary}', "
                "to_jsonb(CAST(:line AS text))) WHERE id = :id"
            ),
            {"line": "15.57 108.474;15.571 108.475;15.572 108.476", "id": refused["id"]},
        )
    said = cli(database_url, "fill-shapes")
    assert "2 shapes stored, 1 of them crossing themselves" in said, said
    assert f"1 answers are no polygon (left without one): {refused['id']}" in said
    shape, flags = stored_shape(sync_engine, good["id"])
    assert shape is not None and list(shapely.from_wkt(shape).exterior.coords) == RING
    assert "shape_self_intersects" not in flags
    assert "shape_self_intersects" in stored_shape(sync_engine, crossing["id"])[1]
    assert stored_shape(sync_engine, refused["id"])[0] is None
    assert "0 shapes stored" in cli(database_url, "fill-shapes")  # again: nothing to do
    # Placed by their area now, as intake places them: the ward they were walked in.
    for body in (good, crossing):
        assert client.get(f"/api/v1/submissions/{body['id']}").json()["ward"]["name"] == "An Xuân"
    assert client.get(f"/api/v1/submissions/{refused['id']}").json()["ward"] is None


def test_boundaries_changed_place_an_area_again_by_its_area(
    client: TestClient, sync_engine: Engine
) -> None:
    """After an import of boundaries (REPLACE_HOUSEHOLDS), a survey with an area and no point
    is where its area is; one whose area is outside every ward keeps its place, unflagged."""
    from app.db.submissions import REPLACE_HOUSEHOLDS

    inside = profile(geoshape(CORNERS))
    far = [(lat + 1.0, lon + 1.0) for lat, lon in CORNERS]  # ~150 km away: no ward
    outside = profile(geoshape(far))
    for body in (inside, outside):
        assert client.post("/api/v1/submissions", json=body).status_code == 201
    with sync_engine.begin() as connection:
        ward = connection.execute(
            text("SELECT id, city_id FROM wards WHERE name <> 'An Xuân' ORDER BY id LIMIT 1")
        ).one()
        # As if the boundaries had moved under them: both in another ward.
        connection.execute(
            text("UPDATE household_surveys SET ward_id = :ward, settlement_id = NULL"),
            {"ward": ward.id},
        )
        moved = connection.execute(
            REPLACE_HOUSEHOLDS, {"city_id": ward.city_id, "actor_id": None, "actor": "test"}
        ).rowcount
    assert moved == 1
    record = client.get(f"/api/v1/submissions/{inside['id']}").json()
    assert record["ward"]["name"] == "An Xuân"
    record = client.get(f"/api/v1/submissions/{outside['id']}").json()
    assert record["ward"]["id"] == ward.id
    assert "outside_wards" not in record["flags"]
