"""The review page's routes against a real PostGIS: who gets the page (anonymous, volunteer,
ward leader, another ward's leader, city admin), the outline and counts it reads, and data
that must reach the HTML as text."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.main import create_app
from app.settings import Settings
from tests import hostile
from tests.auth import bearer, make_token, make_user, ward_id
from tests.factories import household_answers, household_survey

SESSION_COOKIE = "cdfmap_session"
ROLES = {
    "volunteer": [("volunteer", ("ward", "W03"))],
    "leader": [("ward_leader", ("ward", "W03"))],
    "other_leader": [("ward_leader", ("ward", "W01"))],
    "planner": [("planner", ("city", "tam-ky"))],
    "city_admin": [("city_admin", ("city", "tam-ky"))],
}


@pytest.fixture
def app_client(settings: Settings, clean_surveys: None) -> Iterator[TestClient]:
    """The app in-process with nobody signed in (each request carries its own cookie)."""
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def sessions(sync_engine: Engine) -> dict[str, str]:
    """A web session token per role (the cookie /login would set)."""
    return {
        name: make_token(
            sync_engine, make_user(sync_engine, f"review-page-{name}", grants), kind="session"
        )
        for name, grants in ROLES.items()
    }


def page(client: TestClient, session: str | None, url: str, **headers: str):  # type: ignore[no-untyped-def]
    client.cookies.clear()
    if session:
        client.cookies.set(SESSION_COOKIE, session)
    return client.get(url, headers=headers, follow_redirects=False)


def test_anonymous_people_are_sent_to_sign_in_and_back(app_client: TestClient) -> None:
    plain = page(app_client, None, "/review")
    assert plain.status_code == 303
    assert plain.headers["location"] == "/login?next=/review"
    asked = page(app_client, None, "/review?ward=3&lang=en")
    assert asked.status_code == 303
    location = asked.headers["location"]
    assert location.startswith("/login?next=/review")
    assert location.endswith("&lang=en")
    signed_in_page = app_client.get(location)
    assert 'name="next" value="/review?ward=3&amp;lang=en"' in signed_in_page.text


def test_a_volunteer_gets_a_403_page_in_their_language(
    app_client: TestClient, sessions: dict[str, str]
) -> None:
    vietnamese = page(app_client, sessions["volunteer"], "/review")
    assert vietnamese.status_code == 403
    assert vietnamese.headers["content-type"].startswith("text/html")
    assert "Không có quyền duyệt" in vietnamese.text
    english = page(app_client, sessions["volunteer"], "/review?lang=en")
    assert english.status_code == 403 and "No review role" in english.text
    by_header = page(app_client, sessions["planner"], "/review", **{"accept-language": "en-US"})
    assert by_header.status_code == 403 and "Only ward leaders and city admins" in by_header.text


def test_the_ward_leader_gets_their_ward_and_only_theirs(
    app_client: TestClient, sessions: dict[str, str], sync_engine: Engine
) -> None:
    w03, w01 = ward_id(sync_engine, "W03"), ward_id(sync_engine, "W01")
    response = page(app_client, sessions["leader"], "/review")
    assert response.status_code == 200
    body = response.text
    assert "Duyệt phiếu khảo sát" in body and "An Xuân" in body
    assert 'name="csrf-token" content="' in body and 'content=""' not in body
    found = re.search(r'<script type="application/json" id="review-config">(.*?)</script>', body)
    assert found is not None
    config = json.loads(found.group(1))
    assert config["ward"] == {"id": w03, "name": "An Xuân", "city": "Tam Kỳ"}
    assert config["flags"]["possible_duplicate"] == "Có thể trùng hộ"
    household = config["forms"]["household"]
    assert household["answers"]["tenure"]["choices"]["papers_only"] == "Chỉ có giấy tờ tay"
    assert config["forms"]["settlement"]["title_label"] == "Tên khu dân cư"
    assert 'src="/static/review/review.js"' in body
    # No inline script but the JSON (no nonce needed, nothing runs).
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", body) == [
        '<script type="application/json" id="review-config">'
    ]
    assert "ward-select" not in body  # a single ward: nothing to choose
    assert page(app_client, sessions["leader"], f"/review?ward={w03}").status_code == 200
    forged = page(app_client, sessions["leader"], f"/review?ward={w01}&lang=en")
    assert forged.status_code == 404 and "Ward not found" in forged.text
    assert "An Mỹ" not in forged.text  # nothing of the other ward
    for junk in ("abc", "0", "-1", "999999999999", f"{w01} ", "1e3"):
        assert page(app_client, sessions["leader"], f"/review?ward={junk}").status_code == 404
    other = page(app_client, sessions["other_leader"], "/review")
    assert other.status_code == 200 and "An Mỹ" in other.text and "An Xuân" not in other.text
    assert page(app_client, sessions["other_leader"], f"/review?ward={w03}").status_code == 404


def test_a_city_admin_chooses_among_the_citys_wards(
    app_client: TestClient, sessions: dict[str, str], sync_engine: Engine
) -> None:
    response = page(app_client, sessions["city_admin"], "/review?lang=en")
    assert response.status_code == 200
    options = re.findall(r'<option value="(\d+)"', response.text)
    assert len(options) == 10
    w07 = ward_id(sync_engine, "W07")
    chosen = page(app_client, sessions["city_admin"], f"/review?ward={w07}")
    assert chosen.status_code == 200
    assert re.search(rf'<option value="{w07}" selected>', chosen.text)


def test_outline_and_counts_follow_the_readers_scope(
    app_client: TestClient, sessions: dict[str, str], sync_engine: Engine
) -> None:
    w03 = ward_id(sync_engine, "W03")
    volunteer = bearer(
        make_token(sync_engine, make_user(sync_engine, "review-page-tnv", ROLES["volunteer"]))
    )
    leader = bearer(sessions["leader"])  # the same token as a bearer: no CSRF for the API
    with sync_engine.connect() as connection:
        settlement_id, lon, lat = connection.execute(
            text(
                "SELECT s.id, ST_X(ST_PointOnSurface(s.geom)), ST_Y(ST_PointOnSurface(s.geom)) "
                "FROM settlements s WHERE s.ward_id = :ward ORDER BY s.code LIMIT 1"
            ),
            {"ward": w03},
        ).one()
    inside = {"lat": lat, "lon": lon, "accuracy_m": 5}
    app_client.cookies.clear()
    ids = []
    households = [  # distinct households: no `possible_duplicate` among them
        ("Trần Văn Bình", "0905000001", inside),
        ("Lê Thị Mai", "0905000002", inside),
        ("Phạm Quốc Dũng", "0905000003", {**inside, "accuracy_m": 80}),
        ("Võ Hữu Khang", "0905000004", None),
    ]
    for head, phone, location in households:
        body = household_survey(answers=household_answers(head_name=head, head_phone=phone))
        if location:
            body["location"] = location
        response = app_client.post("/api/v1/submissions", json=body, headers=volunteer)
        assert response.status_code == 201, response.text
        ids.append(body["id"])
    decided = app_client.post(
        f"/api/v1/submissions/{ids[0]}/review",
        json={"decision": "needs_correction", "comment": "Thiếu số người"},
        headers=leader,
    )
    assert decided.status_code == 200, decided.text

    outline = app_client.get(f"/api/v1/wards/{w03}/outline", headers=leader)
    assert outline.status_code == 200
    assert outline.headers["content-type"].startswith("application/geo+json")
    features = outline.json()["features"]
    assert [f["properties"]["kind"] for f in features].count("ward") == 1
    assert {f["properties"]["name"] for f in features} >= {"An Xuân", "Xóm Cồn"}
    assert len(outline.json()["bbox"]) == 4

    counts = app_client.get(f"/api/v1/wards/{w03}/review-counts", headers=leader)
    assert counts.status_code == 200, counts.text
    people = counts.json()["volunteers"]
    assert people == [
        {
            "name": "review-page-tnv",
            "username": "review-page-tnv",
            "total": 4,
            "received": 3,
            "approved": 0,
            "needs_correction": 1,
            "rejected": 0,
            "flagged": 1,
            "flags": {"low_gps_accuracy": 1},
        }
    ]
    settlement = next(s for s in counts.json()["settlements"] if s["id"] == settlement_id)
    assert (settlement["received"], settlement["received_unflagged"]) == (2, 1)
    assert counts.json()["received_outside_settlements"] == 1

    planner = bearer(sessions["planner"])
    assert app_client.get(f"/api/v1/wards/{w03}/outline", headers=planner).status_code == 200
    for who in (bearer(sessions["other_leader"]), volunteer):
        for path in ("outline", "review-counts"):
            answer = app_client.get(f"/api/v1/wards/{w03}/{path}", headers=who)
            assert answer.status_code == 404, path
    assert app_client.get(f"/api/v1/wards/{w03}/outline").status_code == 401
    assert app_client.get("/api/v1/wards/99999999/review-counts", headers=leader).status_code == 404


@pytest.mark.parametrize("name", [hostile.HTML_SCRIPT, hostile.TEMPLATE_CODE, "{{ 7*7 }}"])
def test_hostile_place_names_are_text_in_the_page(
    app_client: TestClient, sessions: dict[str, str], sync_engine: Engine, name: str
) -> None:
    w03 = ward_id(sync_engine, "W03")
    with sync_engine.begin() as connection:
        original = connection.execute(
            text("SELECT name FROM wards WHERE id = :id"), {"id": w03}
        ).scalar_one()
        connection.execute(
            text("UPDATE wards SET name = :name WHERE id = :id"), {"name": name, "id": w03}
        )
    try:
        response = page(app_client, sessions["city_admin"], f"/review?ward={w03}")
        assert response.status_code == 200
        body = response.text
        assert "<script>alert" not in body and "uid=" not in body and ">49<" not in body
        assert name in html.unescape(body)  # shown as the text it is
        config = re.search(r'id="review-config">(.*?)</script>', body, re.S)
        assert config is not None and "<" not in config.group(1)
    finally:
        with sync_engine.begin() as connection:
            connection.execute(
                text("UPDATE wards SET name = :name WHERE id = :id"), {"name": original, "id": w03}
            )
