"""A city admin manages and sees people only as far as their city goes, and every file added
to a survey is on record (found by a review: app/services/accounts._managed_user,
app/db/accounts.list_users, app/services/attachments.store_attachment)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.main import create_app
from app.settings import Settings
from tests.auth import bearer, make_token, make_user
from tests.factories import household_answers, household_survey
from tests.integration.test_access_matrix import jpeg

OTHER = "scope-other-town"


@pytest.fixture
def other_city(sync_engine: Engine, clean_surveys: None) -> Iterator[int]:
    with sync_engine.begin() as connection:
        city = connection.execute(
            text(
                "INSERT INTO cities (slug, name) VALUES (:slug, 'Thị xã Khác') "
                "ON CONFLICT (slug) DO UPDATE SET name = excluded.name RETURNING id"
            ),
            {"slug": OTHER},
        ).scalar_one()
        connection.execute(
            text(
                "INSERT INTO wards (city_id, code, name, geom) VALUES (:city, 'O1', 'Phường O1', "
                "ST_Multi(ST_MakeEnvelope(106.0, 20.0, 106.01, 20.01, 4326))) "
                "ON CONFLICT DO NOTHING"
            ),
            {"city": city},
        )
    yield city
    with sync_engine.begin() as connection:
        connection.execute(text("TRUNCATE household_surveys CASCADE"))
        connection.execute(text("DELETE FROM role_grants WHERE city_id = :c"), {"c": city})
        connection.execute(text("DELETE FROM wards WHERE city_id = :c"), {"c": city})
        connection.execute(text("DELETE FROM cities WHERE id = :c"), {"c": city})


@pytest.fixture
def app_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def test_a_city_admin_cannot_take_over_a_person_of_another_city_left_without_roles(
    app_client: TestClient, sync_engine: Engine, other_city: int
) -> None:
    # The check was "every role of theirs is in my cities": true for a person with none.
    # Their roles taken away, a volunteer of another city still reads the surveys they
    # collected (names, phones): tam-ky's admin set their password and read them as them.
    volunteer = make_user(
        sync_engine,
        f"scope-vol-{uuid.uuid4().hex[:6]}",
        [("volunteer", ("ward", "O1"))],
        city=OTHER,
    )
    body = household_survey(
        location={"lat": 20.005, "lon": 106.005, "accuracy_m": 5.0},
        answers=household_answers(head_name="Bà Tư Khác", head_phone="0911000111"),
    )
    sent = app_client.post(
        "/api/v1/submissions", json=body, headers=bearer(make_token(sync_engine, volunteer))
    )
    assert sent.status_code == 201, sent.text
    with sync_engine.begin() as connection:
        connection.execute(text("DELETE FROM role_grants WHERE user_id = :u"), {"u": volunteer})
    admin = bearer(
        make_token(
            sync_engine, make_user(sync_engine, "scope-admin", [("city_admin", ("city", "tam-ky"))])
        )
    )
    for method, url, payload in (
        ("PATCH", f"/api/v1/users/{volunteer}", {"password": "taken-over-123"}),
        ("POST", f"/api/v1/users/{volunteer}/enrolments", {"device_name": "x"}),
        ("GET", f"/api/v1/users/{volunteer}/devices", None),
        ("POST", f"/api/v1/users/{volunteer}/roles", {"role": "volunteer", "city": "tam-ky"}),
    ):
        response = app_client.request(method, url, json=payload, headers=admin)
        assert response.status_code == 404, (method, url, response.text)
    # A person just created, with no role and no survey, is still the admin's to set up, and
    # so is one whose surveys are all in the admin's city.
    fresh = make_user(sync_engine, f"scope-new-{uuid.uuid4().hex[:6]}")
    patched = app_client.patch(
        f"/api/v1/users/{fresh}", json={"password": "a-new-password-1"}, headers=admin
    )
    assert patched.status_code == 200, patched.text
    local = make_user(
        sync_engine, f"scope-local-{uuid.uuid4().hex[:6]}", [("volunteer", ("ward", "W03"))]
    )
    mine = household_survey()
    assert (
        app_client.post(
            "/api/v1/submissions", json=mine, headers=bearer(make_token(sync_engine, local))
        ).status_code
        == 201
    )
    with sync_engine.begin() as connection:
        connection.execute(text("DELETE FROM role_grants WHERE user_id = :u"), {"u": local})
    patched = app_client.patch(
        f"/api/v1/users/{local}", json={"password": "a-new-password-2"}, headers=admin
    )
    assert patched.status_code == 200, patched.text


def test_the_people_list_shows_a_city_admin_only_roles_in_their_city(
    app_client: TestClient, sync_engine: Engine, other_city: int
) -> None:
    both = make_user(sync_engine, "scope-both", [("volunteer", ("ward", "W03"))])
    with sync_engine.begin() as connection:
        ward = connection.execute(
            text("SELECT id FROM wards WHERE city_id = :c AND code = 'O1'"), {"c": other_city}
        ).scalar_one()
        connection.execute(
            text(
                "INSERT INTO role_grants (user_id, role, city_id, ward_id) "
                "VALUES (:u, 'ward_leader', :c, :w)"
            ),
            {"u": both, "c": other_city, "w": ward},
        )
    admin = bearer(
        make_token(
            sync_engine, make_user(sync_engine, "scope-admin", [("city_admin", ("city", "tam-ky"))])
        )
    )
    assert app_client.get(f"/api/v1/wards/{ward}/settlements", headers=admin).status_code == 404
    people = app_client.get("/api/v1/users", headers=admin).json()
    (listed,) = [p for p in people if p["id"] == both]
    assert [(g["role"], g["city"]) for g in listed["grants"]] == [("volunteer", "tam-ky")]
    assert "Phường O1" not in str(people) and OTHER not in str(people)
    national = bearer(
        make_token(
            sync_engine,
            make_user(sync_engine, "scope-national", [("national_admin", None)]),
        )
    )
    everyone = app_client.get("/api/v1/users", headers=national).json()
    (full,) = [p for p in everyone if p["id"] == both]
    assert sorted(g["city"] for g in full["grants"]) == sorted(["tam-ky", OTHER])


def test_every_file_added_to_a_survey_is_on_record(
    app_client: TestClient, sync_engine: Engine, clean_surveys: None
) -> None:
    volunteer = make_user(sync_engine, "scope-vol-w03", [("volunteer", ("ward", "W03"))])
    leader = make_user(sync_engine, "scope-leader-w03", [("ward_leader", ("ward", "W03"))])
    planner = make_user(sync_engine, "scope-planner", [("planner", ("city", "tam-ky"))])
    with sync_engine.connect() as connection:
        lon, lat = connection.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM wards w, ST_PointOnSurface(w.geom) p "
                "WHERE w.code = 'W03' AND w.city_id = (SELECT id FROM cities WHERE slug = 'tam-ky')"
            )
        ).one()
    body = household_survey(
        location={"lat": lat, "lon": lon, "accuracy_m": 5.0},
        answers=household_answers(photo="nha-ba-tu.jpg"),
    )
    headers = bearer(make_token(sync_engine, volunteer))
    assert app_client.post("/api/v1/submissions", json=body, headers=headers).status_code == 201
    lead = bearer(make_token(sync_engine, leader))
    decided = app_client.post(
        f"/api/v1/submissions/{body['id']}/review", json={"decision": "approved"}, headers=lead
    )
    assert decided.status_code == 200
    # The photo the survey names, sent after the decision (the phone's upload came late, or
    # the leader sent it): taken, and on record with who sent it and at which stage.
    url = f"/api/v1/submissions/{body['id']}/attachments/nha-ba-tu.jpg"
    image = jpeg()
    sent = app_client.post(url, content=image, headers={**lead, "content-type": "image/jpeg"})
    assert sent.status_code == 201, sent.text
    again = app_client.post(url, content=image, headers={**headers, "content-type": "image/jpeg"})
    assert again.status_code == 200, again.text  # the same bytes: nothing new, nothing on record
    history = app_client.get(f"/api/v1/submissions/{body['id']}/history", headers=lead).json()
    added = [c for c in history["changes"] if c["action"] == "survey.attachment"]
    assert len(added) == 1
    assert added[0]["actor"] == "scope-leader-w03"
    assert added[0]["new"]["file"] == "nha-ba-tu.jpg" and added[0]["new"]["status"] == "approved"
    # A planner reads the history without personal fields: no comment, no file name.
    seen = app_client.get(
        f"/api/v1/submissions/{body['id']}/history",
        headers=bearer(make_token(sync_engine, planner)),
    ).json()
    (entry,) = [c for c in seen["changes"] if c["action"] == "survey.attachment"]
    assert "file" not in entry["new"] and "nha-ba-tu" not in str(seen)
