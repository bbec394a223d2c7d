"""The CDF's upgrading projects through the API, against the test PostGIS (sample boundaries):
roles, validation (4xx in vi and en), leverage, GeoJSON read by GDAL, sample projects."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyogrio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.main import create_app
from app.services.cdf_projects import leverage
from app.services.cdf_projects_sample import SAMPLE_PROJECTS, load_sample_projects
from app.settings import Settings
from tests.auth import bearer, make_token, make_user
from tests.hostile import NAMES

CITY = "tam-ky"
BASE = f"/api/v1/cdf/{CITY}/projects"
VIETNAMESE = "Bê tông hóa hẻm 12, Phường Hòa Thuận Đông"


def places(engine: Engine) -> dict[str, Any]:
    """Two wards of the sample city with a settlement each: ids, names, and shapes inside."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                """
SELECT DISTINCT ON (w.code) w.code, w.id AS ward_id, s.id AS settlement_id, s.name,
       ST_AsGeoJSON(ST_PointOnSurface(s.geom)) AS point,
       ST_X(ST_PointOnSurface(s.geom)) AS lon, ST_Y(ST_PointOnSurface(s.geom)) AS lat
FROM settlements s JOIN wards w ON w.id = s.ward_id JOIN cities c ON c.id = s.city_id
WHERE c.slug = :city ORDER BY w.code, s.code LIMIT 2
"""
            ),
            {"city": CITY},
        ).all()
    return {row.code: dict(row._mapping) for row in rows}


def body(place: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A valid project in a settlement (a point on it), with changes."""
    lon, lat = place["lon"], place["lat"]
    return {
        "name": VIETNAMESE,
        "kind": "lane_paving",
        "status": "proposed",
        "settlement_id": place["settlement_id"],
        "budget": {"cdf_loan": 30_000_000, "grant": 10_000_000, "community": 5_000_000},
        "households": 40,
        "start_date": "2026-03-01",
        "end_date": "2026-05-30",
        "geometry": {"type": "LineString", "coordinates": [[lon, lat], [lon + 0.0002, lat]]},
        **changes,
    }


@pytest.fixture(scope="module")
def world(sync_engine: Engine) -> dict[str, Any]:
    """People with each role, and the two wards."""
    found = places(sync_engine)
    first, second = sorted(found)
    people = {
        "city_admin": [("city_admin", ("city", CITY))],
        "planner": [("planner", ("city", CITY))],
        "leader_a": [("ward_leader", ("ward", first))],
        "leader_b": [("ward_leader", ("ward", second))],
        "volunteer_a": [("volunteer", ("ward", first))],
        "volunteer_city": [("volunteer", ("city", CITY))],
        "nobody": [],
    }
    tokens = {
        name: make_token(sync_engine, make_user(sync_engine, f"projects-{name}", grants))
        for name, grants in people.items()
    }
    return {"a": found[first], "b": found[second], "tokens": tokens}


@pytest.fixture
def no_projects(sync_engine: Engine) -> Iterator[None]:
    """Each test starts and ends with no project stored."""
    with sync_engine.begin() as connection:
        connection.execute(text("DELETE FROM cdf_projects"))
    yield
    with sync_engine.begin() as connection:
        connection.execute(text("DELETE FROM cdf_projects"))


@pytest.fixture
def app_client(settings: Settings, no_projects: None) -> Iterator[TestClient]:
    """The app with nobody signed in (each request brings its own token)."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def as_(world: dict[str, Any], who: str) -> dict[str, str]:
    return bearer(world["tokens"][who])


def test_roles(app_client: TestClient, client: TestClient, world: dict[str, Any]) -> None:
    a, b = world["a"], world["b"]
    created = app_client.post(BASE, json=body(a), headers=as_(world, "city_admin"))
    assert created.status_code == 201, created.text
    project = created.json()
    assert project["name"] == VIETNAMESE
    assert project["ward"]["id"] == a["ward_id"] and project["city"] == CITY
    assert project["budget"] == {
        "cdf_loan": 30_000_000,
        "grant": 10_000_000,
        "community": 5_000_000,
        "city": 0,
        "total": 45_000_000,
    }
    assert project["status_history"][0]["to_status"] == "proposed"
    assert project["status_history"][0]["changed_by_name"] == "projects-city_admin"
    # A national admin too; the second project lies in the other ward.
    other = client.post(BASE, json=body(b, name="Giếng nước", kind="water"))
    assert other.status_code == 201, other.text

    # Only a city's admins and national admins write; everyone else who sees it: 403.
    for who in ("planner", "leader_a", "volunteer_a", "volunteer_city"):
        refused = app_client.post(BASE, json=body(a), headers=as_(world, who))
        assert refused.status_code == 403, (who, refused.text)
        patch = app_client.patch(
            f"/api/v1/cdf/projects/{project['id']}",
            json={"status": "done"},
            headers=as_(world, who),
        )
        assert patch.status_code == 403, (who, patch.text)
    assert app_client.post(BASE, json=body(a), headers=as_(world, "nobody")).status_code == 404
    assert app_client.get(BASE).status_code == 401

    def names(who: str) -> list[str]:
        response = app_client.get(BASE, headers=as_(world, who))
        assert response.status_code == 200, response.text
        return sorted(p["name"] for p in response.json()["projects"])

    everything = sorted([VIETNAMESE, "Giếng nước"])
    assert names("planner") == everything
    assert names("city_admin") == everything
    assert names("volunteer_city") == everything
    assert names("leader_a") == [VIETNAMESE]
    assert names("volunteer_a") == [VIETNAMESE]
    assert names("leader_b") == ["Giếng nước"]
    assert app_client.get(BASE, headers=as_(world, "nobody")).status_code == 404
    one = f"/api/v1/cdf/projects/{project['id']}"
    assert app_client.get(one, headers=as_(world, "leader_a")).status_code == 200
    assert app_client.get(one, headers=as_(world, "leader_b")).status_code == 404
    assert app_client.get(one, headers=as_(world, "nobody")).status_code == 404
    response = app_client.patch(one, json={"status": "done"}, headers=as_(world, "leader_b"))
    assert response.status_code == 404

    # A status change is on record: who, when, from what.
    changed = app_client.patch(
        one, json={"status": "approved", "households": 41}, headers=as_(world, "city_admin")
    )
    assert changed.status_code == 200, changed.text
    changed = client.patch(one, json={"status": "building"})
    history = changed.json()["status_history"]
    assert [(h["from_status"], h["to_status"]) for h in history] == [
        (None, "proposed"),
        ("proposed", "approved"),
        ("approved", "building"),
    ]
    assert history[1]["changed_by_name"] == "projects-city_admin"
    assert history[2]["changed_by_name"] == "test-admin"
    assert all(h["changed_at"] for h in history)
    assert changed.json()["households"] == 41

    # Filters.
    listed = app_client.get(
        BASE, params={"ward": b["ward_id"], "kind": "water"}, headers=as_(world, "planner")
    )
    assert [p["name"] for p in listed.json()["projects"]] == ["Giếng nước"]
    listed = app_client.get(BASE, params={"status": "done"}, headers=as_(world, "planner"))
    assert listed.json()["count"] == 0
    listed = app_client.get(
        BASE, params={"settlement": a["settlement_id"]}, headers=as_(world, "planner")
    )
    assert listed.json()["count"] == 1
    assert (
        app_client.get(BASE, params={"status": "lost"}, headers=as_(world, "planner")).status_code
        == 422
    )


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        (1.5, "project_amount_not_integer"),
        (15_000_000.0, "project_amount_not_integer"),
        ("15000000", "project_amount_not_integer"),
        (True, "project_amount_not_integer"),
        (None, "project_amount_not_integer"),
        (-1, "project_amount_negative"),
        (10**13, "project_amount_too_large"),
        (1e20, "project_amount_too_large"),  # 10**20 sent as JSON arrives as a float
    ],
)
def test_amounts_are_whole_dong(
    client: TestClient, world: dict[str, Any], no_projects: None, amount: Any, code: str
) -> None:
    payload = body(world["a"], budget={"grant": 1, "cdf_loan": amount})
    for language, word in (("vi", "đồng"), ("en", "đồng")):
        response = client.post(f"{BASE}?lang={language}", json=payload)
        assert response.status_code == 422, response.text
        errors = response.json()["errors"]
        assert [(e["field"], e["code"]) for e in errors] == [("budget.cdf_loan", code)]
        assert errors[0]["message"] and errors[0]["message"] != code
        if code != "project_amount_negative":
            assert word in errors[0]["message"]
    vi = client.post(BASE, json=payload).json()["errors"][0]["message"]
    en = client.post(f"{BASE}?lang=en", json=payload).json()["errors"][0]["message"]
    assert vi != en
    # Too large for any integer type: refused as JSON, still a 422.
    huge = f'{{"name": "x", "budget": {{"cdf_loan": {10**30}}}}}'
    response = client.post(BASE, content=huge, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    too_large = [e for e in response.json()["errors"] if e["field"] == "budget.cdf_loan"]
    assert [e["code"] for e in too_large] in ([], ["project_amount_too_large"])


def test_a_project_sent_again_with_its_client_id_is_registered_once(
    client: TestClient, world: dict[str, Any], no_projects: None, sync_engine: Engine
) -> None:
    """A project without a code, sent again after a lost answer, was a second project (no
    key told them apart, review). With the client's id, the same request again is the
    project stored (200), four at once make one, another request under the id is a 409."""
    client_id = str(uuid.uuid4())
    payload = body(world["a"], client_id=client_id)
    first = client.post(BASE, json=payload)
    assert first.status_code == 201, first.text
    assert first.json()["outcome"] == "created"
    again = client.post(BASE, json=payload)
    assert again.status_code == 200, again.text
    assert again.json()["outcome"] == "duplicate" and again.json()["id"] == first.json()["id"]
    assert len(again.json()["status_history"]) == 1
    together = {**payload, "client_id": str(uuid.uuid4()), "name": "Cống thoát nước"}
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: client.post(BASE, json=together), range(4)))
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201], answers
    assert len({a.json()["id"] for a in answers}) == 1
    for language, word in (("vi", "đã được dùng"), ("en", "already used")):
        reused = client.post(f"{BASE}?lang={language}", json={**payload, "households": 41})
        assert reused.status_code == 409, reused.text
        assert reused.json()["code"] == "cdf_client_id_reused" and word in reused.json()["detail"]
    bad = client.post(BASE, json={**payload, "client_id": "<script>1</script>"})
    assert bad.status_code == 422
    assert [e["code"] for e in bad.json()["errors"]] == ["cdf_invalid_client_id"]
    without = body(world["a"])
    assert client.post(BASE, json=without).status_code == 201  # no id: each is a project
    with sync_engine.connect() as connection:
        stored = connection.execute(text("SELECT count(*) FROM cdf_projects")).scalar_one()
    assert stored == 3


def square(lon: float, lat: float, size: float) -> dict[str, Any]:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"geometry": {"type": "MultiPoint", "coordinates": [[108.4, 15.5]]}}, "geometry",
         "project_geometry_type"),
        ({"geometry": {"type": "Point", "coordinates": [15.57, 108.47]}}, "geometry",
         "project_outside_vietnam"),
        ({"geometry": {"type": "Point", "coordinates": [2.35, 48.85]}}, "geometry",
         "project_outside_vietnam"),
        ({"geometry": {"type": "Point", "coordinates": ["108.4", 15.5]}}, "geometry",
         "project_geometry_invalid"),
        ({"geometry": {"type": "Polygon", "coordinates": [[[108.47, 15.57], [108.48, 15.58],
          [108.48, 15.57], [108.47, 15.58], [108.47, 15.57]]]}}, "geometry",
         "project_geometry_invalid"),
        ({"geometry": {"type": "LineString", "coordinates": [[108.47, 15.57]]}}, "geometry",
         "project_geometry_invalid"),
        ({"geometry": "POINT(108.4 15.5)"}, "geometry", "project_geometry_type"),
        ({"geometry": {"type": "Point", "coordinates": [105.85, 21.03]}}, "geometry",
         "project_outside_ward"),
        ({"settlement_id": 2**31 - 1}, "settlement_id", "project_settlement_unknown"),
        ({"settlement_id": "12"}, "settlement_id", "not_integer"),
        ({"kind": "bridge"}, "kind", "invalid_choice"),
        ({"status": "lost"}, "status", "invalid_choice"),
        ({"name": "   "}, "name", "project_name_required"),
        ({"name": "x" * 201}, "name", "text_too_long"),
        ({"households": -3}, "households", "project_households_invalid"),
        ({"households": 2.5}, "households", "project_households_invalid"),
        ({"start_date": "2026-02-30"}, "start_date", "invalid_date"),
        ({"end_date": "2026-01-01"}, "end_date", "project_dates_order"),
        ({"budget": [1, 2]}, "budget", "wrong_type"),
        ({"budget": {"donor": 5}}, "budget.donor", "project_unknown_source"),
        ({"colour": "red"}, "colour", "unknown_field"),
    ],
)  # fmt: skip
def test_bad_input_is_a_4xx_naming_the_field(
    client: TestClient,
    world: dict[str, Any],
    no_projects: None,
    change: dict[str, Any],
    field: str,
    code: str,
) -> None:
    payload = body(world["a"], **change)
    for language in ("vi", "en"):
        response = client.post(f"{BASE}?lang={language}", json=payload)
        assert response.status_code == 422, response.text
        errors = response.json()["errors"]
        assert (field, code) in [(e["field"], e["code"]) for e in errors], errors
        assert all(e["message"] for e in errors)


def test_bad_input_on_change(client: TestClient, world: dict[str, Any], no_projects: None) -> None:
    created = client.post(BASE, json=body(world["a"], code="DA-1")).json()
    one = f"/api/v1/cdf/projects/{created['id']}"
    assert client.patch(one, json={"budget": {"grant": -5}}).status_code == 422
    assert client.patch(one, json={"name": None}).status_code == 422
    assert client.patch(one, json={"start_date": "2026-06-01"}).json()["errors"][0]["code"] == (
        "project_dates_order"
    )
    # Another ward's settlement for this shape: outside its ward.
    moved = client.patch(one, json={"settlement_id": world["b"]["settlement_id"]})
    assert moved.status_code == 422 and moved.json()["errors"][0]["code"] == "project_outside_ward"
    assert client.patch("/api/v1/cdf/projects/999999", json={}).status_code == 404
    second = client.post(BASE, json=body(world["a"], code="DA-2"))
    assert second.status_code == 201
    taken = client.patch(f"/api/v1/cdf/projects/{second.json()['id']}", json={"code": "DA-1"})
    assert taken.status_code == 409 and taken.json()["code"] == "project_code_taken"
    assert client.post(BASE, json=body(world["a"], code="DA-1")).status_code == 409
    nul = client.post(BASE, json=body(world["a"], name="a\x00b"))
    assert nul.status_code == 422
    nan = b'{"name": "x", "geometry": {"type": "Point", "coordinates": [108.4, NaN]}}'
    response = client.post(BASE, content=nan, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    text_body = client.post(BASE, content=b"name=x", headers={"Content-Type": "text/plain"})
    assert text_body.status_code == 415
    # Nothing changed by the refusals.
    assert client.get(one).json()["budget"]["grant"] == 10_000_000


def test_leverage(client: TestClient, world: dict[str, Any], no_projects: None) -> None:
    assert leverage(20, 30, "en") == {
        "other_money": 20,
        "cdf_money": 30,
        "ratio": "2/3",
        "display": "0.67",
    }
    assert leverage(20, 30, "vi")["display"] == "0,67"
    assert leverage(5, 0) is None
    assert leverage(1, 8, "en")["display"] == "0.13"  # half up: 0.125
    a, b = world["a"], world["b"]
    first = client.post(
        BASE,
        json=body(a, budget={"cdf_loan": 30_000_000, "grant": 10_000_000, "city": 10_000_000}),
    ).json()
    assert first["leverage"]["ratio"] == "2/3" and first["leverage"]["display"] == "0,67"
    client.post(
        BASE, json=body(a, budget={"cdf_loan": 10_000_000, "community": 30_000_000})
    ).raise_for_status()
    none = client.post(BASE, json=body(b, budget={"grant": 7_000_000})).json()
    assert none["leverage"] is None
    listed = client.get(f"{BASE}?lang=en").json()
    summary = listed["leverage"]
    assert summary["total"]["budget"]["total"] == 97_000_000
    assert summary["total"]["leverage"]["ratio"] == "57/40"  # 57M other / 40M CDF
    assert summary["total"]["leverage"]["display"] == "1.43"
    wards = {w["id"]: w for w in summary["wards"]}
    assert wards[a["ward_id"]]["projects"] == 2
    assert wards[a["ward_id"]]["leverage"]["ratio"] == "5/4"
    assert wards[b["ward_id"]]["leverage"] is None
    settlements = {s["id"]: s for s in summary["settlements"]}
    assert settlements[a["settlement_id"]]["budget"]["cdf_loan"] == 40_000_000


def test_geojson_read_by_gdal(
    client: TestClient, world: dict[str, Any], no_projects: None, tmp_path: Path
) -> None:
    a, b = world["a"], world["b"]
    client.post(BASE, json=body(a)).raise_for_status()
    point = {"type": "Point", "coordinates": [b["lon"], b["lat"]]}
    client.post(BASE, json=body(b, name="Nhà vệ sinh chung", geometry=point)).raise_for_status()
    area = square(a["lon"] - 0.0001, a["lat"] - 0.0001, 0.0002)
    client.post(
        BASE, json=body(a, name="Nhà sinh hoạt cộng đồng", kind="community_centre", geometry=area)
    ).raise_for_status()
    response = client.get(f"{BASE}.geojson")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    path = tmp_path / "projects.geojson"
    path.write_bytes(response.content)
    frame = pyogrio.read_dataframe(path)
    assert sorted(frame.geometry.geom_type) == ["LineString", "Point", "Polygon"]
    assert frame.crs.to_epsg() == 4326
    assert sorted(frame["name"]) == sorted(
        [VIETNAMESE, "Nhà vệ sinh chung", "Nhà sinh hoạt cộng đồng"]
    )
    row = frame[frame["name"] == VIETNAMESE].iloc[0]
    assert row["budget_cdf_loan"] == 30_000_000 and row["budget_total"] == 45_000_000
    assert row["kind_label"] == "Lát ngõ, hẻm" and row["leverage"] == "0,50"
    assert row["settlement"] == a["name"]
    english = client.get(f"{BASE}.geojson?lang=en&kind=community_centre").json()
    assert [f["properties"]["kind_label"] for f in english["features"]] == ["Community centre"]
    assert english["features"][0]["geometry"]["type"] == "Polygon"


def test_hostile_names_stay_text(
    client: TestClient, world: dict[str, Any], no_projects: None
) -> None:
    for index, name in enumerate(NAMES):
        response = client.post(BASE, json=body(world["a"], name=name, code=f"H-{index}"))
        assert response.status_code == 201, (name, response.text)
        assert response.json()["name"] == name.strip()
    listed = client.get(f"{BASE}.geojson").json()
    assert sorted(f["properties"]["name"] for f in listed["features"]) == sorted(
        n.strip() for n in NAMES
    )


def test_sample_projects(sync_engine: Engine, no_projects: None) -> None:
    with sync_engine.begin() as connection:
        city_id = connection.execute(
            text("SELECT id FROM cities WHERE slug = :s"), {"s": CITY}
        ).scalar_one()
        assert load_sample_projects(connection, city_id) == len(SAMPLE_PROJECTS) == 5
        assert load_sample_projects(connection, city_id) == 0  # loading again adds nothing
        rows = connection.execute(
            text(
                """
SELECT p.code, p.status, GeometryType(p.geom) AS kind, ST_IsValid(p.geom) AS valid,
       ST_Covers(ST_Buffer(s.geom, 1e-6), p.geom) AS inside, s.ward_id,
       (SELECT count(*) FROM cdf_project_status_changes c WHERE c.project_id = p.id) AS changes
FROM cdf_projects p JOIN settlements s ON s.id = p.settlement_id ORDER BY p.code
"""
            )
        ).all()
    assert [r.code for r in rows] == sorted(p[0] for p in SAMPLE_PROJECTS)
    assert all(r.valid and r.inside and r.changes == 1 for r in rows)
    assert {r.kind for r in rows} == {"POINT", "LINESTRING", "POLYGON"}
    assert {r.status for r in rows} == {"done", "building"}
    assert len({r.ward_id for r in rows}) == 4


JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + bytes(range(256)) * 4
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)


def test_photos(app_client: TestClient, client: TestClient, world: dict[str, Any]) -> None:
    project = client.post(BASE, json=body(world["a"])).json()
    assert project["photos"] == []  # a national admin sees the (empty) list
    url = f"/api/v1/cdf/projects/{project['id']}/photos"
    jpeg = {"Content-Type": "image/jpeg"}

    def upload(who: str, path: str, data: bytes, headers: dict[str, str] = jpeg) -> Any:
        return app_client.post(
            f"{url}/{path}", content=data, headers={**headers, **as_(world, who)}
        )

    created = upload("city_admin", "before/lane-1.jpg", JPEG)
    assert created.status_code == 201, created.text
    assert created.json()["url"] == f"{url}/before/lane-1.jpg"
    assert upload("city_admin", "before/lane-1.jpg", JPEG).status_code == 200  # a resend
    assert upload("city_admin", "before/lane-1.jpg", JPEG + b"x").status_code == 409
    assert (
        upload("city_admin", "after/lane-1.png", PNG, {"Content-Type": "image/png"}).status_code
        == 201
    )
    assert upload("city_admin", "after/x.jpg", PNG).json()["errors"][0]["code"] == "image_mismatch"
    assert (
        upload("city_admin", "after/x.txt", b"hi", {"Content-Type": "text/plain"}).status_code
        == 415
    )
    assert (
        upload("city_admin", "after/a b.jpg", JPEG).json()["errors"][0]["code"]
        == "invalid_filename"
    )
    assert upload("city_admin", "during/x.jpg", JPEG).status_code == 422
    assert upload("city_admin", "after/empty.jpg", b"").status_code == 422
    for who in ("planner", "leader_a", "volunteer_a"):
        assert upload(who, "after/y.jpg", JPEG).status_code == 403, who
    assert upload("leader_b", "after/y.jpg", JPEG).status_code == 404
    assert (
        app_client.post(
            "/api/v1/cdf/projects/999999/photos/after/y.jpg",
            content=JPEG,
            headers={**jpeg, **as_(world, "city_admin")},
        ).status_code
        == 404
    )

    # Photos are personal data: the ward's leader and the city's admins see them.
    one = f"/api/v1/cdf/projects/{project['id']}"
    listed = app_client.get(one, headers=as_(world, "leader_a")).json()["photos"]
    assert [(p["phase"], p["filename"]) for p in listed] == [
        ("before", "lane-1.jpg"),
        ("after", "lane-1.png"),
    ]
    photo = app_client.get(f"{url}/before/lane-1.jpg", headers=as_(world, "leader_a"))
    assert photo.status_code == 200 and photo.content == JPEG
    assert photo.headers["content-type"] == "image/jpeg"
    assert "no-store" in photo.headers["cache-control"]
    assert app_client.get(one, headers=as_(world, "planner")).json()["photos"] is None
    assert app_client.get(one, headers=as_(world, "volunteer_a")).json()["photos"] is None
    for who in ("planner", "volunteer_a", "leader_b", "nobody"):
        response = app_client.get(f"{url}/before/lane-1.jpg", headers=as_(world, who))
        assert response.status_code == 404, who
    assert (
        app_client.get(f"{url}/before/none.jpg", headers=as_(world, "city_admin")).status_code
        == 404
    )
    assert (
        app_client.get(f"{url}/before/..%2Fx.jpg", headers=as_(world, "city_admin")).status_code
        == 404
    )

    # At most ten photos a phase.
    for index in range(9):
        assert (
            upload("city_admin", f"before/p{index}.jpg", JPEG + bytes([index])).status_code == 201
        )
    refused = upload("city_admin", "before/p10.jpg", JPEG + b"!")
    assert (
        refused.status_code == 422
        and refused.json()["errors"][0]["code"] == "too_many_project_photos"
    )
