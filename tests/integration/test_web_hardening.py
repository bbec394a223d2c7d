"""Holes a review of the web pages and accounts found, each shut: a person without roles
managed by anyone, a ward leader printing another ward's names through a settlement that
reaches into it, dates and names that gave 500s."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.main import create_app
from app.settings import Settings
from tests.auth import bearer, make_token, make_user
from tests.factories import household_answers, household_survey

SESSION_COOKIE = "cdfmap_session"
CITY = "straddle-town"


@pytest.fixture
def plain(settings: Settings, clean_surveys: None) -> Iterator[TestClient]:
    """The app with nobody signed in, its errors answered (never raised in the test)."""
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def test_only_an_admin_manages_a_person_who_has_no_role_yet(
    client: TestClient, plain: TestClient, sync_engine: Engine
) -> None:
    created = client.post(
        "/api/v1/users",
        json={"username": "fresh-person", "display_name": "Mới", "password": "original-pass-1"},
    )
    if created.status_code == 201:
        fresh = created.json()["id"]
    else:  # made by an earlier run of this test
        with sync_engine.connect() as connection:
            fresh = connection.execute(
                text("SELECT id FROM users WHERE username = 'fresh-person'")
            ).scalar_one()
    volunteer = bearer(
        make_token(
            sync_engine, make_user(sync_engine, "wh-volunteer", [("volunteer", ("ward", "W03"))])
        )
    )
    planner = bearer(
        make_token(
            sync_engine, make_user(sync_engine, "wh-planner", [("planner", ("city", "tam-ky"))])
        )
    )
    for who in (volunteer, planner):
        changed = plain.patch(
            f"/api/v1/users/{fresh}", json={"password": "chosen-by-a-stranger"}, headers=who
        )
        assert changed.status_code == 404, changed.text
        assert (
            plain.post(f"/api/v1/users/{fresh}/enrolments", json={}, headers=who).status_code == 404
        )
        assert plain.get(f"/api/v1/users/{fresh}/devices", headers=who).status_code == 404
    token = plain.post(
        "/api/v1/auth/token", data={"username": "fresh-person", "password": "chosen-by-a-stranger"}
    )
    assert token.status_code == 401
    admin = bearer(
        make_token(
            sync_engine, make_user(sync_engine, "wh-admin", [("city_admin", ("city", "tam-ky"))])
        )
    )
    assert plain.get(f"/api/v1/users/{fresh}/devices", headers=admin).status_code == 200


@pytest.fixture
def town(sync_engine: Engine, clean_surveys: None) -> Iterator[dict[str, Any]]:
    """Two wards side by side and a settlement of ward A that reaches into ward B."""
    with sync_engine.begin() as connection:
        city = connection.execute(
            text("INSERT INTO cities (slug, name) VALUES (:slug, 'Thị xã Giáp Ranh') RETURNING id"),
            {"slug": CITY},
        ).scalar_one()
        ids: dict[str, Any] = {"city": city}
        for code, west in (("A", 105.90), ("B", 105.91)):
            ids[code] = connection.execute(
                text(
                    "INSERT INTO wards (city_id, code, name, geom) VALUES (:city, :code, :name, "
                    "ST_Multi(ST_MakeEnvelope(:west, 21.10, :east, 21.11, 4326))) RETURNING id"
                ),
                {
                    "city": city,
                    "code": code,
                    "name": f"Phường {code}",
                    "west": west,
                    "east": west + 0.01,
                },
            ).scalar_one()
        ids["settlement"] = connection.execute(
            text(
                "INSERT INTO settlements (city_id, ward_id, code, name, geom) VALUES "
                "(:city, :ward, 'S1', 'Xóm Giáp Ranh', "
                "ST_MakeEnvelope(105.905, 21.102, 105.915, 21.108, 4326)) RETURNING id"
            ),
            {"city": city, "ward": ids["A"]},
        ).scalar_one()
    users = {
        "volunteer": make_user(
            sync_engine, "wh-town-volunteer", [("volunteer", ("city", CITY))], city=CITY
        ),
        "leader": make_user(
            sync_engine, "wh-town-leader", [("ward_leader", ("ward", "A"))], city=CITY
        ),
    }
    ids["people"] = {name: bearer(make_token(sync_engine, user)) for name, user in users.items()}
    yield ids
    with sync_engine.begin() as connection:
        connection.execute(text("TRUNCATE duplicate_checks, household_surveys CASCADE"))
        connection.execute(
            text("DELETE FROM users WHERE id = ANY(:ids)"), {"ids": list(users.values())}
        )
        connection.execute(text("DELETE FROM cities WHERE id = :id"), {"id": city})


def test_a_settlement_print_names_only_the_readers_own_wards_households(
    client: TestClient, town: dict[str, Any], tmp_path: Path
) -> None:
    ids = {}
    for key, lon, name in (
        ("a", 105.907, "Nguyễn An Phường A"),
        ("b", 105.912, "Trần Bảo Phường B"),
    ):
        body = household_survey(
            location={"lat": 21.105, "lon": lon, "accuracy_m": 5},
            answers=household_answers(head_name=name),
        )
        sent = client.post("/api/v1/submissions", json=body, headers=town["people"]["volunteer"])
        assert sent.status_code == 201, sent.text
        ids[key] = body["id"]
    leader = town["people"]["leader"]
    assert client.get(f"/api/v1/submissions/{ids['b']}", headers=leader).status_code == 404
    pdf = client.get(
        f"/maps/settlements/{town['settlement']}.pdf?names=true&surveys=all", headers=leader
    )
    assert pdf.status_code == 200, pdf.text
    path = tmp_path / "settlement.pdf"
    path.write_bytes(pdf.content)
    printed = subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Nguyễn An Phường A" in printed
    assert "Trần Bảo Phường B" not in printed
    # The national admin, who may see every name, gets both.
    path.write_bytes(
        client.get(f"/maps/settlements/{town['settlement']}.pdf?names=true&surveys=all").content
    )
    printed = subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Nguyễn An Phường A" in printed and "Trần Bảo Phường B" in printed


def test_progress_ending_in_year_one_is_a_422(plain: TestClient, sync_engine: Engine) -> None:
    token = make_token(
        sync_engine,
        make_user(sync_engine, "wh-progress", [("city_admin", ("city", "tam-ky"))]),
        kind="session",
    )
    plain.cookies.set(SESSION_COOKIE, token)
    page = plain.get("/progress/tam-ky?to=0001-01-01")
    api = plain.get("/api/v1/progress/tam-ky/volunteers?to=0001-01-01")
    assert (page.status_code, api.status_code) == (422, 422)


@pytest.mark.parametrize("username, password", [("a\x00b", "x"), ("admin", "pass\x00word")])
def test_a_nul_in_a_sign_in_is_a_wrong_password(
    plain: TestClient, username: str, password: str
) -> None:
    form = plain.post(
        "/login", data={"username": username, "password": password}, follow_redirects=False
    )
    api = plain.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert (form.status_code, api.status_code) == (401, 401)
