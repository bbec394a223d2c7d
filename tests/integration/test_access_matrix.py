"""Who sees what: every route of the API and every web page, for anonymous visitors and each
role, against the status the rules say, and personal fields never in an answer to a role
that may not see them. Exports and map data hold an approved survey with personal answers
(they count approved surveys by default): each of their files read must hold households.

A survey of another ward (or city) answers 404 like one that does not exist. The test fails
when a route is added to the OpenAPI schema without a row here.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import Engine, text

from app.main import create_app
from app.settings import REPO_ROOT, Settings
from tests.auth import bearer, make_token, make_user, ward_id
from tests.factories import household_answers, household_survey

SAMPLE = REPO_ROOT / "data" / "samples" / "tam-ky"
HEAD_NAME = "Bí Mật Ma Trận"
HEAD_PHONE = "0999888777"
PHOTO = "ma-tran.jpg"
ROLES: dict[str, list[tuple[str, Any]]] = {
    "volunteer": [("volunteer", ("ward", "W03"))],  # the collector of the surveys below
    "other_volunteer": [("volunteer", ("ward", "W03"))],
    "leader": [("ward_leader", ("ward", "W03"))],
    "other_leader": [("ward_leader", ("ward", "W01"))],
    "planner": [("planner", ("city", "tam-ky"))],
    "other_planner": [("planner", ("city", "matrix-town"))],
    "city_admin": [("city_admin", ("city", "tam-ky"))],
    "national_admin": [("national_admin", None)],
}
WHO = ("anonymous", *ROLES)
# Roles that may see the collector's personal fields: the collector, the ward's leader, the
# city's admins (planners never).
PERSONAL = {"volunteer", "leader", "city_admin", "national_admin"}


@dataclass
class World:
    """The people, a place in another city, and a way to make the volunteer's surveys."""

    client: TestClient
    engine: Engine
    users: dict[str, int]
    w03: int
    w01: int
    settlement: int

    def token(self, who: str) -> dict[str, str]:
        """A fresh token each time: signing out in one cell does not touch the others."""
        if who == "anonymous":
            return {}
        return bearer(make_token(self.engine, self.users[who]))

    def survey(self, **overrides: Any) -> str:
        """A survey the volunteer sent, in W03, with personal answers and a photo."""
        body = household_survey(
            answers=household_answers(head_name=HEAD_NAME, head_phone=HEAD_PHONE, photo=PHOTO),
            **overrides,
        )
        response = self.client.post(
            "/api/v1/submissions", json=body, headers=self.token("volunteer")
        )
        assert response.status_code == 201, response.text
        upload = self.client.post(
            f"/api/v1/submissions/{body['id']}/attachments/{PHOTO}",
            content=jpeg(),
            headers={**self.token("volunteer"), "content-type": "image/jpeg"},
        )
        assert upload.status_code == 201, upload.text
        return str(body["id"])


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "red").save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def world(
    database_url: str, sync_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    with sync_engine.begin() as connection:
        connection.execute(text("TRUNCATE household_surveys CASCADE"))
        city = connection.execute(
            text(
                "INSERT INTO cities (slug, name) VALUES ('matrix-town', 'Thị trấn Ma Trận') "
                "ON CONFLICT (slug) DO UPDATE SET name = excluded.name RETURNING id"
            )
        ).scalar_one()
        connection.execute(
            text(
                "INSERT INTO wards (city_id, code, name, geom) VALUES (:city, 'M1', 'Phường M', "
                "ST_Multi(ST_MakeEnvelope(106.0, 20.0, 106.01, 20.01, 4326))) "
                "ON CONFLICT DO NOTHING"
            ),
            {"city": city},
        )
        settlement = connection.execute(
            text(
                "SELECT s.id FROM settlements s JOIN wards w ON w.id = s.ward_id "
                "WHERE w.code = 'W03' ORDER BY s.id LIMIT 1"
            )
        ).scalar_one()
    users = {
        who: make_user(sync_engine, f"matrix-{who.replace('_', '-')}", grants)
        for who, grants in ROLES.items()
    }
    settings = Settings(database_url=database_url, media_dir=tmp_path_factory.mktemp("media"))
    with TestClient(create_app(settings)) as client:
        yield World(
            client,
            sync_engine,
            users,
            ward_id(sync_engine, "W03"),
            ward_id(sync_engine, "W01"),
            settlement,
        )
    with sync_engine.begin() as connection:
        connection.execute(text("TRUNCATE household_surveys CASCADE"))
        connection.execute(text("DELETE FROM cities WHERE slug = 'matrix-town'"))


@pytest.fixture(scope="module")
def approved(world: World) -> str:
    """One of the volunteer's surveys (personal answers, a photo) approved by W03's leader:
    exports and map data count approved surveys by default, and without one their files
    held no household, so the personal-field checks on them proved nothing. In the W03
    settlement, so that the settlements' figures count it too."""
    with world.engine.connect() as connection:
        lon, lat = connection.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM settlements s, ST_PointOnSurface(s.geom) p "
                "WHERE s.id = :id"
            ),
            {"id": world.settlement},
        ).one()
    sid = world.survey(location={"lat": lat, "lon": lon, "accuracy_m": 5.0})
    review = world.client.post(
        f"/api/v1/submissions/{sid}/review",
        json={"decision": "approved"},
        headers=world.token("leader"),
    )
    assert review.status_code == 200, review.text
    return sid


def expect(default: int, **by_role: int) -> dict[str, int]:
    """Statuses by role: `default` for every signed-in role not named, 401 for anonymous."""
    return {"anonymous": 401, **{who: default for who in ROLES}, **by_role}


# What may read the W03 survey (and its ward): its collector, W03's leader, tam-ky's readers.
READ_SURVEY = expect(
    404, volunteer=200, leader=200, planner=200, city_admin=200, national_admin=200
)
READ_WARD = expect(404, leader=200, planner=200, city_admin=200, national_admin=200)
READ_CITY = expect(404, planner=200, city_admin=200, national_admin=200)
SEE_CITY = expect(200, other_planner=404)  # any role in tam-ky
SIGNED_IN = expect(200)
EVERYONE = {who: 200 for who in WHO}
SUBMIT = expect(201, planner=403, other_planner=403)
REVIEW = expect(404, volunteer=403, planner=403, leader=200, city_admin=200, national_admin=200)
PERSONAL_FILES = expect(404, volunteer=200, leader=200, city_admin=200, national_admin=200)
MANAGE = expect(404, city_admin=200, national_admin=200)
PEOPLE = expect(403, city_admin=200, national_admin=200)
PAGE_CITY = {**READ_CITY, "anonymous": 303}
PAGE_WARD = {**READ_WARD, "anonymous": 303}
PROGRESS = expect(200, other_planner=404)  # any role in tam-ky (a volunteer: their own)

Request = Callable[[World, dict[str, str]], Any]


@dataclass(frozen=True)
class Row:
    """One route: how to call it (given the world and headers) and who gets what."""

    method: str
    path: str  # as in the OpenAPI schema, or a page's path
    call: Request
    statuses: dict[str, int]
    # How many households an answer holds, for the rows whose answer is a file of them: a
    # file without any would pass the personal-field check without proving anything.
    households: Callable[[bytes], int] | None = None


def geojson_features(body: bytes) -> int:
    return len(json.loads(body)["features"])


def geojson_households(body: bytes) -> int:
    """Households counted in areas' figures (wards, settlements)."""
    return sum(feature["properties"]["households"] or 0 for feature in json.loads(body)["features"])


def csv_rows(body: bytes) -> int:
    return len(list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))) - 1


def gpkg_households(body: bytes) -> int:
    with tempfile.NamedTemporaryFile(suffix=".gpkg") as file:
        file.write(body)
        file.flush()
        connection = sqlite3.connect(file.name)
        try:
            return int(connection.execute("SELECT count(*) FROM households").fetchone()[0])
        finally:
            connection.close()


def map_points(body: bytes) -> int:
    return int(json.loads(body)["count"])


def get(url: str) -> Request:
    return lambda w, h: w.client.get(url.format(w=w), headers=h, follow_redirects=False)


def on_survey(method: str, tail: str = "", **kwargs: Any) -> Request:
    def call(w: World, h: dict[str, str]) -> Any:
        sid = w.survey()
        extra = dict(kwargs)
        if callable(extra.get("json")):
            extra["json"] = extra["json"](sid)
        headers = {**h, **extra.pop("headers", {})}
        return w.client.request(
            method, f"/api/v1/submissions/{sid}{tail}", headers=headers, **extra
        )

    return call


def corrected(sid: str) -> dict[str, Any]:
    body = household_survey(
        answers=household_answers(head_name=HEAD_NAME, head_phone=HEAD_PHONE, household_size=7)
    )
    # Made on the version the phone synced (a fresh survey: 1).
    return {**body, "id": sid, "base_version": 1}


def new_user(w: World, h: dict[str, str]) -> Any:
    return w.client.post(
        "/api/v1/users",
        json={"username": f"m-{uuid.uuid4().hex[:10]}", "display_name": "Người mới"},
        headers=h,
    )


def managed(method: str, tail: str, body: Any = None) -> Request:
    """A request about a person of tam-ky (a fresh volunteer of W03 each time)."""

    def call(w: World, h: dict[str, str]) -> Any:
        target = make_user(w.engine, f"m-{uuid.uuid4().hex[:10]}", [("volunteer", ("ward", "W03"))])
        path = f"/api/v1/users/{target}{tail}"
        if "{grant}" in path:
            with w.engine.connect() as connection:
                grant = connection.execute(
                    text("SELECT id FROM role_grants WHERE user_id = :id"), {"id": target}
                ).scalar_one()
            path = path.replace("{grant}", str(grant))
        return w.client.request(method, path, headers=h, json=body)

    return call


def odk_setup(w: World, h: dict[str, str]) -> Any:
    """An ODK Collect phone token and settings QR for a fresh volunteer of W03."""
    target = make_user(w.engine, f"m-{uuid.uuid4().hex[:10]}", [("volunteer", ("ward", "W03"))])
    return w.client.post("/api/v1/odk/setup", headers=h, json={"user_id": target})


def revoke_device(w: World, h: dict[str, str]) -> Any:
    target = make_user(w.engine, f"m-{uuid.uuid4().hex[:10]}", [("volunteer", ("ward", "W03"))])
    token = make_token(w.engine, target, kind="device")
    with w.engine.connect() as connection:
        token_id = connection.execute(
            text("SELECT id FROM auth_tokens WHERE user_id = :id"), {"id": target}
        ).scalar_one()
    assert token
    return w.client.delete(f"/api/v1/devices/{token_id}", headers=h)


def upload_boundaries(w: World, h: dict[str, str]) -> Any:
    """The sample city's own boundary files again: nothing moves, whoever may import them."""
    files = {
        name: (f"{name}.geojson", (SAMPLE / f"{name}.geojson").read_bytes(), "application/json")
        for name in ("wards", "settlements")
    }
    return w.client.post("/api/v1/cities/tam-ky/boundaries", files=files, headers=h)


ROWS = [
    Row("GET", "/healthz", get("/healthz"), {who: 200 for who in WHO}),
    Row("GET", "/api/v1/cities", get("/api/v1/cities"), SIGNED_IN),
    Row("GET", "/api/v1/cities/{slug}/wards", get("/api/v1/cities/tam-ky/wards"), SEE_CITY),
    # The national view: each sees the cities they read (anonymous: public ones, none here).
    Row("GET", "/api/v1/national/indicators", get("/api/v1/national/indicators"), EVERYONE),
    Row("GET", "/api/v1/national/indicators.csv", get("/api/v1/national/indicators.csv"), EVERYONE),
    Row("GET", "/maps/national.pdf", get("/maps/national.pdf"), EVERYONE),
    Row(
        "GET",
        "/api/v1/context/{slug}.geojson",
        get("/api/v1/context/tam-ky.geojson?bbox=108.4,15.5,108.5,15.6&zoom=14"),
        SEE_CITY,
    ),
    Row(
        "GET",
        "/api/v1/wards/{ward_id}/settlements",
        get("/api/v1/wards/{w.w03}/settlements"),
        SEE_CITY,
    ),
    Row("GET", "/api/v1/forms", get("/api/v1/forms"), SIGNED_IN),
    Row("GET", "/api/v1/forms/{form_id}", get("/api/v1/forms/household"), SIGNED_IN),
    Row(
        "POST",
        "/api/v1/submissions",
        lambda w, h: w.client.post("/api/v1/submissions", json=household_survey(), headers=h),
        SUBMIT,
    ),
    Row(
        "POST",
        "/api/v1/submissions/batch",
        lambda w, h: w.client.post(
            "/api/v1/submissions/batch", json={"submissions": [household_survey()]}, headers=h
        ),
        {**SUBMIT, **{who: 200 for who, code in SUBMIT.items() if code == 201}},
    ),
    Row("GET", "/api/v1/submissions", get("/api/v1/submissions"), SIGNED_IN),
    Row("GET", "/api/v1/submissions/{submission_id}", on_survey("GET"), READ_SURVEY),
    Row(
        "PUT",
        "/api/v1/submissions/{submission_id}",
        on_survey("PUT", json=corrected),
        # Its collector corrects it; others who may read it cannot change it (403).
        {
            **READ_SURVEY,
            "leader": 403,
            "city_admin": 403,
            "national_admin": 403,
            "planner": 403,
            "other_planner": 403,
        },
    ),
    Row(
        "GET",
        "/api/v1/submissions/{submission_id}/history",
        on_survey("GET", "/history"),
        READ_SURVEY,
    ),
    Row(
        "POST",
        "/api/v1/submissions/{submission_id}/review",
        # The version the reviewer was shown (a fresh survey: 1).
        on_survey("POST", "/review", json=lambda sid: {"decision": "approved", "version": 1}),
        REVIEW,
    ),
    Row(
        "POST",
        "/api/v1/submissions/{submission_id}/attachments/{filename}",
        on_survey(
            "POST",
            f"/attachments/{PHOTO}",
            content=jpeg(),
            headers={"content-type": "image/jpeg"},
        ),
        # The same bytes again: 200 for its collector and reviewers, nothing for others.
        expect(404, volunteer=200, leader=200, city_admin=200, national_admin=200),
    ),
    Row(
        "GET",
        "/api/v1/submissions/{submission_id}/attachments/{filename}",
        on_survey("GET", f"/attachments/{PHOTO}"),
        PERSONAL_FILES,
    ),
    Row(
        "POST",
        "/api/v1/settlements/{settlement_id}/review",
        # With the surveys the reviewer was shown (one in no settlement: counted apart).
        lambda w, h: w.client.post(
            f"/api/v1/settlements/{w.settlement}/review",
            json={"surveys": [{"id": w.survey(), "version": 1}]},
            headers=h,
        ),
        # A planner reads the settlement but may not review it.
        expect(404, leader=200, city_admin=200, national_admin=200, planner=403),
    ),
    Row("GET", "/api/v1/me", get("/api/v1/me"), SIGNED_IN),
    Row("GET", "/api/v1/me/surveys", get("/api/v1/me/surveys"), SIGNED_IN),
    Row(
        "POST",
        "/api/v1/auth/logout",
        lambda w, h: w.client.post("/api/v1/auth/logout", headers=h),
        expect(204),
    ),
    Row(
        "GET",
        "/api/v1/export/households.geojson",
        get("/api/v1/export/households.geojson?city=tam-ky"),
        READ_CITY,
        geojson_features,
    ),
    Row(
        "GET",
        "/api/v1/export/households.geojson?ward",
        get("/api/v1/export/households.geojson?city=tam-ky&ward={w.w03}"),
        READ_WARD,
        geojson_features,
    ),
    Row(
        "GET",
        "/api/v1/export/forms/{form_id}.geojson",
        get("/api/v1/export/forms/settlement.geojson?city=tam-ky"),
        READ_CITY,
    ),
    Row(
        "GET",
        "/api/v1/export/forms/{form_id}.geojson?ward",
        get("/api/v1/export/forms/household.geojson?city=tam-ky&ward={w.w03}"),
        READ_WARD,
        geojson_features,
    ),
    Row(
        "GET",
        "/api/v1/export/layers.gpkg",
        get("/api/v1/export/layers.gpkg?city=tam-ky"),
        READ_CITY,
        gpkg_households,
    ),
    Row(
        "GET",
        "/api/v1/export/layers.gpkg?ward",
        get("/api/v1/export/layers.gpkg?city=tam-ky&ward={w.w03}"),
        READ_WARD,
        gpkg_households,
    ),
    Row(
        "GET",
        "/api/v1/export/settlements.geojson",
        get("/api/v1/export/settlements.geojson?city=tam-ky"),
        READ_CITY,
        geojson_households,
    ),
    Row(
        "GET",
        "/api/v1/export/wards.geojson",
        get("/api/v1/export/wards.geojson?city=tam-ky"),
        READ_CITY,
        geojson_households,
    ),
    Row(
        "GET",
        "/api/v1/cities/{slug}/indicators",
        get("/api/v1/cities/tam-ky/indicators"),
        READ_CITY,
    ),
    Row(
        "GET",
        "/api/v1/cities/{slug}/indicators.csv",
        get("/api/v1/cities/tam-ky/indicators.csv"),
        READ_CITY,
    ),
    Row(
        "GET",
        "/api/v1/wards/{ward_id}/indicators",
        get("/api/v1/wards/{w.w03}/indicators"),
        READ_WARD,
    ),
    Row(
        "GET",
        "/api/v1/wards/{ward_id}/indicators.csv",
        get("/api/v1/wards/{w.w03}/indicators.csv"),
        READ_WARD,
    ),
    Row("GET", "/api/v1/wards/{ward_id}/outline", get("/api/v1/wards/{w.w03}/outline"), READ_WARD),
    # Survey progress: a city's readers and its ward leaders (their own ward), volunteers
    # only per day and only their own surveys.
    Row(
        "GET",
        "/api/v1/progress/{city}",
        get("/api/v1/progress/tam-ky"),
        {**PROGRESS, "volunteer": 403, "other_volunteer": 403},
    ),
    Row(
        "GET",
        "/api/v1/progress/{city}",
        get("/api/v1/progress/tam-ky?ward={w.w03}&format=csv"),
        {**PROGRESS, "volunteer": 403, "other_volunteer": 403, "other_leader": 404},
    ),
    Row(
        "GET",
        "/api/v1/progress/{city}/volunteers",
        get("/api/v1/progress/tam-ky/volunteers"),
        PROGRESS,
    ),
    Row(
        "GET",
        "page:/progress/{city}",
        get("/progress/tam-ky"),
        {**PROGRESS, "volunteer": 403, "other_volunteer": 403, "anonymous": 303},
    ),
    Row(
        "GET",
        "/api/v1/wards/{ward_id}/review-counts",
        get("/api/v1/wards/{w.w03}/review-counts"),
        READ_WARD,
    ),
    Row("GET", "/maps/cities/{slug}", get("/maps/cities/tam-ky"), PAGE_CITY),
    Row("GET", "/maps/wards/{ward_id}", get("/maps/wards/{w.w03}"), PAGE_WARD),
    Row("GET", "/maps/wards/{ward_id}.{output}", get("/maps/wards/{w.w03}.png"), READ_WARD),
    # A settlement's meeting map: as its ward's print; with names only for those who see
    # personal fields there (a planner reads the ward but gets 403 for names).
    Row(
        "GET",
        "/maps/settlements/{settlement_id}.{output}",
        get("/maps/settlements/{w.settlement}.png"),
        READ_WARD,
    ),
    Row(
        "GET",
        "/maps/settlements/{settlement_id}.{output}",
        get("/maps/settlements/{w.settlement}.pdf?names=true"),
        {**READ_WARD, "planner": 403},
    ),
    Row(
        "GET",
        "/maps/data/cities/{slug}/households.json",
        get("/maps/data/cities/tam-ky/households.json"),
        READ_CITY,
        map_points,
    ),
    Row(
        "GET",
        "/maps/data/cities/{slug}/households.json?ward",
        get("/maps/data/cities/tam-ky/households.json?ward={w.w03}"),
        READ_WARD,
        map_points,
    ),
    Row("GET", "/api/v1/users", get("/api/v1/users"), PEOPLE),
    Row("POST", "/api/v1/users", new_user, {**PEOPLE, "city_admin": 201, "national_admin": 201}),
    Row(
        "PATCH",
        "/api/v1/users/{user_id}",
        managed("PATCH", "", {"display_name": "Tên mới"}),
        MANAGE,
    ),
    Row(
        "POST",
        "/api/v1/users/{user_id}/roles",
        managed("POST", "/roles", {"role": "volunteer", "city": "tam-ky"}),
        {**MANAGE, "city_admin": 201, "national_admin": 201},
    ),
    Row(
        "DELETE",
        "/api/v1/users/{user_id}/roles/{grant_id}",
        managed("DELETE", "/roles/{grant}"),
        {**MANAGE, "city_admin": 204, "national_admin": 204},
    ),
    Row(
        "POST",
        "/api/v1/users/{user_id}/enrolments",
        managed("POST", "/enrolments", {"device_name": "máy 1"}),
        {**MANAGE, "city_admin": 201, "national_admin": 201},
    ),
    Row("GET", "/api/v1/users/{user_id}/devices", managed("GET", "/devices"), MANAGE),
    Row(
        "POST",
        "/api/v1/odk/setup",
        odk_setup,
        {**MANAGE, "city_admin": 201, "national_admin": 201},
    ),
    Row(
        "DELETE",
        "/api/v1/devices/{token_id}",
        revoke_device,
        {**MANAGE, "city_admin": 204, "national_admin": 204},
    ),
    Row(
        "PATCH",
        "/api/v1/cities/{slug}",
        lambda w, h: w.client.patch(
            "/api/v1/cities/tam-ky", json={"public_aggregates": False}, headers=h
        ),
        {
            **SEE_CITY,
            "volunteer": 403,
            "other_volunteer": 403,
            "leader": 403,
            "other_leader": 403,
            "planner": 403,
        },
    ),
    Row(
        "POST",
        "/api/v1/cities/{slug}/boundaries",
        upload_boundaries,
        {
            **SEE_CITY,
            "volunteer": 403,
            "other_volunteer": 403,
            "leader": 403,
            "other_leader": 403,
            "planner": 403,
        },
    ),
    # Web pages: anonymous visitors are sent to sign in.
    Row("GET", "page:/", get("/"), {who: 200 for who in WHO}),
    Row("GET", "page:/login", get("/login"), {who: 200 for who in WHO}),
    Row(
        "GET",
        "page:/review",
        get("/review"),
        {
            **expect(403, leader=200, other_leader=200, city_admin=200, national_admin=200),
            "anonymous": 303,
        },
    ),
    Row(
        "GET",
        "page:/admin",
        get("/admin"),
        {**expect(403, city_admin=200, national_admin=200), "anonymous": 303},
    ),
    Row("GET", "page:/collect", get("/collect"), {who: 200 for who in WHO}),
    Row(
        "GET",
        "page:/cdf/{city}",
        get("/cdf/tam-ky"),
        {**expect(403, planner=200, city_admin=200, national_admin=200), "anonymous": 303},
    ),
    Row(
        "GET",
        "page:/cdf/national",
        get("/cdf/national"),
        {**expect(403, national_admin=200), "anonymous": 303},
    ),
    Row("GET", "page:/docs", get("/docs"), {who: 200 for who in WHO}),
]

# --- the CDF's books (tests/integration/test_cdf_access.py tests treasurers) ----------------
CDF_READ_GROUP = READ_WARD  # a group of a W03 settlement: its ward's leader, the city's readers
CDF_STAFF = expect(403, other_planner=404, city_admin=201, national_admin=201)
CDF_POST_GROUP = expect(404, leader=403, planner=403, city_admin=201, national_admin=201)


def cdf_books(w: World, stage: str = "group") -> dict[str, Any]:
    """A savings group of tam-ky in W03 with a member, a product, savings, and a loan applied
    for by a CDF staff member (`stage`: group, applied, approved, disbursed), or a meeting."""
    maker = bearer(
        make_token(
            w.engine, make_user(w.engine, "matrix-cdf-maker", [("cdf_staff", ("city", "tam-ky"))])
        )
    )
    post = lambda url, body, h=maker: w.client.post(url, json=body, headers=h)  # noqa: E731
    group = post(
        "/api/v1/cdf/tam-ky/groups",
        {
            "name": "Nhóm ma trận",
            "settlement_id": w.settlement,
            "founded_on": "2025-01-01",
            "meeting_frequency": "monthly",
            "share_value": 20_000,
        },
    ).json()["id"]
    member = post(
        f"/api/v1/cdf/groups/{group}/members",
        {"code": "TV-01", "name": "Bí Mật Thành Viên", "joined_on": "2025-01-01"},
    ).json()["id"]
    saved = post(
        f"/api/v1/cdf/groups/{group}/transactions",
        {
            "client_id": str(uuid.uuid4()),
            "kind": "savings",
            "amount": 100_000,
            "member_id": member,
            "date": "2025-02-01",
        },
    ).json()["entry_id"]
    books: dict[str, Any] = {"group": group, "member": member, "entry": saved}
    if stage == "meeting":
        books["meeting"] = str(uuid.uuid4())
        post(f"/api/v1/cdf/groups/{group}/meetings", {"id": books["meeting"], "date": "2025-03-01"})
    if stage in ("applied", "approved", "disbursed"):
        product = post(
            "/api/v1/cdf/tam-ky/products",
            {
                "code": uuid.uuid4().hex[:8],
                "name": "Vay",
                "kind": "income",
                "rate_bp": 100,
                "rate_period": "month",
                "term_installments": 6,
                "frequency": "monthly",
                "method": "flat",
            },
        ).json()["id"]
        books["product"] = product
        books["loan"] = post(
            "/api/v1/cdf/tam-ky/loans",
            {
                "client_id": str(uuid.uuid4()),
                "group_id": group,
                "member_id": member,
                "product_id": product,
                "principal": 1_000_000,
                "date": "2025-02-01",
            },
        ).json()["loan"]["id"]
    if stage in ("approved", "disbursed"):
        # The fund's cash for the loan: a fund never pays out money it does not have.
        capital = post(
            "/api/v1/cdf/tam-ky/capital",
            {
                "client_id": str(uuid.uuid4()),
                "source": "donor",
                "amount": 1_000_000,
                "date": "2025-01-15",
            },
        )
        assert capital.status_code == 201, capital.text
        post(
            f"/api/v1/cdf/loans/{books['loan']}/decision",
            {"decision": "approved", "date": "2025-02-01"},
            w.token("city_admin"),
        )
    if stage == "disbursed":
        post(
            f"/api/v1/cdf/loans/{books['loan']}/disbursement",
            {"client_id": str(uuid.uuid4()), "date": "2025-02-02"},
        )
    return books


def on_books(method: str, path: str, body: Any = None, stage: str = "group") -> Request:
    """A request about fresh CDF books (`path` formatted with them)."""

    def call(w: World, h: dict[str, str]) -> Any:
        books = cdf_books(w, stage)
        payload = body(books) if callable(body) else body
        return w.client.request(method, path.format(**books), json=payload, headers=h)

    return call


def new_id(**fields: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A body with a fresh client id (and fields formatted from the books)."""
    return lambda books: {
        "client_id": str(uuid.uuid4()),
        **{
            k: books[v[1:]] if isinstance(v, str) and v.startswith("@") else v
            for k, v in fields.items()
        },
    }


# A month of 2001 not closed yet, for each close of a period the matrix asks for.
FRESH_PERIODS = (
    {"starts_on": f"2001-{month:02}-01", "ends_on": f"2001-{month:02}-28"} for month in range(1, 13)
)

CDF_ROWS = [
    Row("GET", "/api/v1/cdf/{city}/groups", get("/api/v1/cdf/tam-ky/groups"), SEE_CITY),
    Row(
        "POST",
        "/api/v1/cdf/{city}/groups",
        lambda w, h: w.client.post(
            "/api/v1/cdf/tam-ky/groups",
            json={
                "name": "Nhóm",
                "founded_on": "2025-01-01",
                "meeting_frequency": "weekly",
                "share_value": 20_000,
            },
            headers=h,
        ),
        CDF_STAFF,
    ),
    Row(
        "GET",
        "/api/v1/cdf/groups/{group_id}",
        on_books("GET", "/api/v1/cdf/groups/{group}"),
        CDF_READ_GROUP,
    ),
    Row(
        "GET",
        "/api/v1/cdf/groups/{group_id}/statement.pdf",
        on_books("GET", "/api/v1/cdf/groups/{group}/statement.pdf"),
        CDF_READ_GROUP,
    ),
    Row(
        "POST",
        "/api/v1/cdf/groups/{group_id}/members",
        on_books(
            "POST",
            "/api/v1/cdf/groups/{group}/members",
            {"code": "TV-99", "name": "Người mới", "joined_on": "2025-01-01"},
        ),
        CDF_POST_GROUP,
    ),
    Row("GET", "/api/v1/cdf/{city}/products", get("/api/v1/cdf/tam-ky/products"), SEE_CITY),
    Row(
        "POST",
        "/api/v1/cdf/{city}/products",
        lambda w, h: w.client.post(
            "/api/v1/cdf/tam-ky/products",
            json={
                "code": uuid.uuid4().hex[:8],
                "name": "Vay",
                "kind": "housing",
                "rate_bp": 50,
                "rate_period": "month",
                "term_installments": 12,
                "frequency": "monthly",
                "method": "declining",
            },
            headers=h,
        ),
        CDF_STAFF,
    ),
    Row(
        "POST",
        "/api/v1/cdf/{city}/capital",
        on_books(
            "POST",
            "/api/v1/cdf/tam-ky/capital",
            new_id(source="donor", amount=5_000_000, date="2025-01-10"),
        ),
        CDF_STAFF,
    ),
    Row(
        "POST",
        "/api/v1/cdf/{city}/periods",
        on_books(
            "POST",
            "/api/v1/cdf/tam-ky/periods",
            lambda _books: next(FRESH_PERIODS),  # one closed already answers 200
        ),
        CDF_STAFF,
    ),
    Row("GET", "/api/v1/cdf/{city}/periods", get("/api/v1/cdf/tam-ky/periods"), READ_CITY),
    Row("GET", "/api/v1/cdf/{city}/loans", get("/api/v1/cdf/tam-ky/loans"), SEE_CITY),
    Row(
        "POST",
        "/api/v1/cdf/{city}/loans",
        on_books(
            "POST",
            "/api/v1/cdf/tam-ky/loans",
            new_id(
                group_id="@group", member_id="@member", product_id="@product", principal=500_000
            ),
            stage="applied",
        ),
        {**CDF_POST_GROUP, "other_planner": 404},
    ),
    Row(
        "GET",
        "/api/v1/cdf/loans/{loan_id}",
        on_books("GET", "/api/v1/cdf/loans/{loan}", stage="applied"),
        CDF_READ_GROUP,
    ),
    Row(
        "POST",
        "/api/v1/cdf/loans/{loan_id}/decision",
        on_books(
            "POST", "/api/v1/cdf/loans/{loan}/decision", {"decision": "rejected"}, stage="applied"
        ),
        {**CDF_POST_GROUP, "city_admin": 200, "national_admin": 200},
    ),
    Row(
        "POST",
        "/api/v1/cdf/loans/{loan_id}/disbursement",
        on_books(
            "POST",
            "/api/v1/cdf/loans/{loan}/disbursement",
            new_id(date="2025-02-03"),
            stage="approved",
        ),
        CDF_POST_GROUP,
    ),
    Row(
        "POST",
        "/api/v1/cdf/loans/{loan_id}/repayments",
        on_books(
            "POST",
            "/api/v1/cdf/loans/{loan}/repayments",
            new_id(amount=10_000, date="2025-03-02"),
            stage="disbursed",
        ),
        CDF_POST_GROUP,
    ),
    Row(
        "POST",
        "/api/v1/cdf/groups/{group_id}/transactions",
        on_books(
            "POST",
            "/api/v1/cdf/groups/{group}/transactions",
            new_id(kind="savings", amount=20_000, member_id="@member", date="2025-03-01"),
        ),
        CDF_POST_GROUP,
    ),
    Row(
        "POST",
        "/api/v1/cdf/groups/{group_id}/meetings",
        on_books(
            "POST",
            "/api/v1/cdf/groups/{group}/meetings",
            lambda b: {"id": str(uuid.uuid4()), "date": "2025-04-01"},
        ),
        CDF_POST_GROUP,
    ),
    Row(
        "GET",
        "/api/v1/cdf/meetings/{meeting_id}",
        on_books("GET", "/api/v1/cdf/meetings/{meeting}", stage="meeting"),
        CDF_READ_GROUP,
    ),
    Row(
        "POST",
        "/api/v1/cdf/meetings/{meeting_id}/records",
        on_books(
            "POST",
            "/api/v1/cdf/meetings/{meeting}/records",
            lambda b: {"records": [new_id(kind="fine", amount=5_000)(b)]},
            stage="meeting",
        ),
        {**CDF_POST_GROUP, "city_admin": 200, "national_admin": 200},
    ),
    Row(
        "POST",
        "/api/v1/cdf/meetings/{meeting_id}/close",
        on_books(
            "POST",
            "/api/v1/cdf/meetings/{meeting}/close",
            {"cash_counted": 100_000},
            stage="meeting",
        ),
        {**CDF_POST_GROUP, "city_admin": 200, "national_admin": 200},
    ),
    Row(
        "POST",
        "/api/v1/cdf/entries/{entry_id}/reversal",
        on_books("POST", "/api/v1/cdf/entries/{entry}/reversal", new_id(memo="Nhầm")),
        CDF_POST_GROUP,
    ),
    Row("GET", "/api/v1/cdf/{city}/report", get("/api/v1/cdf/tam-ky/report"), READ_CITY),
    Row("GET", "/api/v1/cdf/{city}/report.csv", get("/api/v1/cdf/tam-ky/report.csv"), READ_CITY),
    Row("GET", "/api/v1/cdf/national/report", get("/api/v1/cdf/national/report"), SIGNED_IN),
    Row(
        "GET", "/api/v1/cdf/national/report.csv", get("/api/v1/cdf/national/report.csv"), SIGNED_IN
    ),
]


def treasurer_call(method: str) -> Request:
    """Appoint (or remove) a fresh person as treasurer of fresh CDF books."""

    def call(w: World, h: dict[str, str]) -> Any:
        books = cdf_books(w)
        person = make_user(w.engine, f"m-{uuid.uuid4().hex[:10]}", [])
        path = f"/api/v1/cdf/groups/{books['group']}/treasurers"
        if method == "POST":
            return w.client.post(path, json={"user_id": person}, headers=h)
        appointed = w.client.post(path, json={"user_id": person}, headers=w.token("city_admin"))
        assert appointed.status_code == 201, appointed.text
        return w.client.delete(f"{path}/{person}", headers=h)

    return call


CDF_ROWS += [
    Row(
        "POST",
        "/api/v1/cdf/groups/{group_id}/treasurers",
        treasurer_call("POST"),
        CDF_POST_GROUP,
    ),
    Row(
        "DELETE",
        "/api/v1/cdf/groups/{group_id}/treasurers/{user_id}",
        treasurer_call("DELETE"),
        {**CDF_POST_GROUP, "city_admin": 204, "national_admin": 204},
    ),
]
ROWS += CDF_ROWS

# OGC API Features and vector tiles: every signed-in role gets its own part of each layer
# (an empty part is still a 200, an empty tile a 204); one ward answers like its ward reports.
OGC_ROWS = [
    Row("GET", "/ogc", get("/ogc"), SIGNED_IN),
    Row("GET", "/ogc/conformance", get("/ogc/conformance"), SIGNED_IN),
    Row("GET", "/ogc/collections", get("/ogc/collections"), SIGNED_IN),
    Row("GET", "/ogc/collections/{collection_id}", get("/ogc/collections/households"), SIGNED_IN),
    Row(
        "GET",
        "/ogc/collections/{collection_id}/items",
        get("/ogc/collections/households/items"),
        SIGNED_IN,
    ),
    Row(
        "GET",
        "/ogc/collections/{collection_id}/queryables",
        get("/ogc/collections/households/queryables"),
        SIGNED_IN,
    ),
    Row(
        "GET",
        "/ogc/collections/{collection_id}/items/{feature_id}",
        get("/ogc/collections/wards/items/{w.w03}"),
        READ_WARD,
    ),
    Row("GET", "/tiles/{layer}/{z}/{x}/{y}.pbf", get("/tiles/wards/5/0/0.pbf"), expect(204)),
    Row("GET", "/tiles/{layer}.json", get("/tiles/households.json"), SIGNED_IN),
]
ROWS += OGC_ROWS

# Export files (every format of a layer) and a city's styled GeoPackage: as the GeoJSON layers.
ROWS += [
    Row(
        "GET",
        "/api/v1/export/{filename}",
        get("/api/v1/export/households.csv?city=tam-ky"),
        READ_CITY,
        csv_rows,
    ),
    Row(
        "GET",
        "/api/v1/export/forms/{filename}",
        get("/api/v1/export/forms/settlement.csv?city=tam-ky"),
        READ_CITY,
    ),
    Row(
        "GET",
        "/api/v1/export/cities/{slug}.gpkg",
        get("/api/v1/export/cities/tam-ky.gpkg"),
        READ_CITY,
        gpkg_households,
    ),
]


def a_project(w: World) -> int:
    """An upgrading project on a settlement of W03, made by the national admin."""
    with w.engine.connect() as connection:
        lon, lat = connection.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM settlements s, ST_PointOnSurface(s.geom) p "
                "WHERE s.id = :id"
            ),
            {"id": w.settlement},
        ).one()
    response = w.client.post(
        "/api/v1/cdf/tam-ky/projects",
        json={
            "name": "Bê tông hoá ngõ",
            "kind": "lane_paving",
            "status": "proposed",
            "settlement_id": w.settlement,
            "budget": {"cdf_loan": 30_000_000, "grant": 10_000_000},
            "households": 40,
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
        },
        headers=w.token("national_admin"),
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def on_project(method: str, tail: str = "", **kwargs: Any) -> Request:
    def call(w: World, h: dict[str, str]) -> Any:
        project = a_project(w)
        extra = dict(kwargs)
        headers = {**h, **extra.pop("headers", {})}
        if method == "GET" and tail.startswith("/photos"):
            upload = w.client.post(
                f"/api/v1/cdf/projects/{project}{tail}",
                content=jpeg(),
                headers={**w.token("national_admin"), "content-type": "image/jpeg"},
            )
            assert upload.status_code == 201, upload.text
        return w.client.request(
            method, f"/api/v1/cdf/projects/{project}{tail}", headers=headers, **extra
        )

    return call


# Upgrading projects: a ward's readers see its projects, the city's admins change them; the
# photos (people and houses) only the ward's leader and the admins.
READ_PROJECT = expect(
    404,
    volunteer=200,
    other_volunteer=200,
    leader=200,
    planner=200,
    city_admin=200,
    national_admin=200,
)
CHANGE_PROJECT = expect(
    404,
    volunteer=403,
    other_volunteer=403,
    leader=403,
    planner=403,
    city_admin=200,
    national_admin=200,
)
ROWS += [
    Row("GET", "/api/v1/cdf/{city}/projects", get("/api/v1/cdf/tam-ky/projects"), SEE_CITY),
    Row(
        "GET",
        "/api/v1/cdf/{city}/projects.geojson",
        get("/api/v1/cdf/tam-ky/projects.geojson"),
        SEE_CITY,
    ),
    Row(
        "POST",
        "/api/v1/cdf/{city}/projects",
        lambda w, h: w.client.post(
            "/api/v1/cdf/tam-ky/projects", json={"name": "Giếng"}, headers=h
        ),
        expect(403, other_planner=404, city_admin=422, national_admin=422),
    ),
    Row("GET", "/api/v1/cdf/projects/{project_id}", on_project("GET"), READ_PROJECT),
    Row(
        "PATCH",
        "/api/v1/cdf/projects/{project_id}",
        on_project("PATCH", json={"status": "approved"}),
        CHANGE_PROJECT,
    ),
    Row(
        "POST",
        "/api/v1/cdf/projects/{project_id}/photos/{phase}/{filename}",
        on_project(
            "POST", "/photos/before/ngo.jpg", content=jpeg(), headers={"content-type": "image/jpeg"}
        ),
        {**CHANGE_PROJECT, "city_admin": 201, "national_admin": 201},
    ),
    Row(
        "GET",
        "/api/v1/cdf/projects/{project_id}/photos/{phase}/{filename}",
        on_project("GET", "/photos/before/ngo.jpg"),
        expect(404, leader=200, city_admin=200, national_admin=200),
    ),
]

# Public by nature, each tested on its own (test_accounts.py): signing in.
PUBLIC = {("POST", "/api/v1/auth/token"), ("POST", "/api/v1/auth/enrol")}


def test_every_route_has_a_row(world: World) -> None:
    schema = world.client.get("/openapi.json").json()
    routes = {(m.upper(), path) for path, ops in schema["paths"].items() for m in ops}
    covered = {(row.method, row.path) for row in ROWS} | PUBLIC
    assert routes - covered == set(), "add these routes to the access matrix"


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("row", ROWS, ids=[f"{r.method} {r.path}" for r in ROWS])
def test_access(world: World, approved: str, row: Row, who: str) -> None:
    response = row.call(world, world.token(who))
    expected = row.statuses[who]
    assert response.status_code == expected, (
        f"{row.method} {row.path} as {who}: {response.status_code} {response.text[:300]}"
    )
    if expected == 303:
        assert response.headers["location"].startswith("/login?next=")
    if response.status_code < 300 and who not in PERSONAL:
        body = response.content
        assert HEAD_NAME.encode() not in body and HEAD_PHONE.encode() not in body, (
            f"personal field in {row.method} {row.path} as {who}"
        )
    if response.status_code == 200 and row.households is not None:
        assert row.households(response.content) >= 1, (
            f"no household in {row.method} {row.path} as {who}: nothing was checked"
        )


def test_personal_fields_by_role(world: World) -> None:
    """The same survey read by each role that may read it: personal answers or not."""
    sid = world.survey()
    for who in ("volunteer", "leader", "planner", "city_admin", "national_admin"):
        answers = world.client.get(f"/api/v1/submissions/{sid}", headers=world.token(who)).json()[
            "answers"
        ]
        assert ("head_name" in answers) == (who in PERSONAL), who
        listed = world.client.get(
            "/api/v1/submissions", params={"ward": world.w03}, headers=world.token(who)
        ).json()["items"]
        mine = [item for item in listed if item["id"] == sid]
        assert len(mine) == 1 and ("head_phone" in mine[0]["answers"]) == (who in PERSONAL)


def test_a_published_city_shows_aggregates_to_anyone_and_nothing_more(world: World) -> None:
    admin = world.token("city_admin")
    assert (
        world.client.patch(
            "/api/v1/cities/tam-ky", json={"public_aggregates": True}, headers=admin
        ).status_code
        == 200
    )
    try:
        anonymous: dict[str, str] = {}
        assert world.client.get("/api/v1/cities/tam-ky/indicators").status_code == 200
        page = world.client.get("/maps/cities/tam-ky", headers=anonymous)
        assert page.status_code == 200 and "households.json" not in page.text
        assert world.client.get("/maps/data/cities/tam-ky/households.json").status_code == 401
        assert world.client.get("/api/v1/export/households.geojson?city=tam-ky").status_code == 401
        assert (
            world.client.get("/api/v1/cities/tam-ky/indicators?surveys=all").json()["surveys"]
            == "approved"
        )  # only a reader may count surveys not yet reviewed
        history = world.client.get(
            "/api/v1/submissions", headers=world.token("other_planner")
        ).json()
        assert history["items"] == []
    finally:
        world.client.patch(
            "/api/v1/cities/tam-ky", json={"public_aggregates": False}, headers=admin
        )
    assert world.client.get("/api/v1/cities/tam-ky/indicators").status_code == 401
