"""The admin page against a real PostGIS: who gets it (anonymous, volunteer, ward leader,
planner, city admin, national admin), what its script is given, and names that must reach the
HTML as text."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import Engine, text

from app.main import create_app
from app.settings import Settings
from tests import hostile
from tests.auth import make_token, make_user

SESSION_COOKIE = "cdfmap_session"
ROLES: dict[str, list[tuple[str, Any]]] = {
    "volunteer": [("volunteer", ("ward", "W03"))],
    "leader": [("ward_leader", ("ward", "W03"))],
    "planner": [("planner", ("city", "tam-ky"))],
    "city_admin": [("city_admin", ("city", "tam-ky"))],
    "national_admin": [("national_admin", None)],
}
CONFIG = re.compile(r'<script type="application/json" id="admin-config">(.*?)</script>', re.S)
INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
HOSTILE_CITY = "admin-hostile"


@pytest.fixture
def app_client(settings: Settings) -> Iterator[TestClient]:
    """The app in-process with nobody signed in (each request carries its own cookie)."""
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def sessions(sync_engine: Engine) -> dict[str, str]:
    """A web session token per role (the cookie /login would set)."""
    return {
        name: make_token(
            sync_engine, make_user(sync_engine, f"admin-page-{name}", grants), kind="session"
        )
        for name, grants in ROLES.items()
    }


def page(client: TestClient, session: str | None, url: str = "/admin", **headers: str) -> Any:
    client.cookies.clear()
    if session:
        client.cookies.set(SESSION_COOKIE, session)
    return client.get(url, headers=headers, follow_redirects=False)


def config_of(body: str) -> dict[str, Any]:
    found = CONFIG.search(body)
    assert found is not None
    return dict(json.loads(found.group(1)))


def test_anonymous_people_are_sent_to_sign_in_and_back(app_client: TestClient) -> None:
    response = page(app_client, None, "/admin?lang=en")
    assert response.status_code == 303
    # In the language asked for: the sign-in page would otherwise follow the browser's.
    assert response.headers["location"] == "/login?next=/admin%3Flang%3Den&lang=en"
    hostile = page(app_client, None, "/admin?lang=xx%22%3E")
    assert hostile.headers["location"] == "/login?next=/admin%3Flang%3Dxx%2522%253E"


@pytest.mark.parametrize("who", ["volunteer", "leader", "planner"])
def test_other_roles_get_a_403_page_in_their_language(
    app_client: TestClient, sessions: dict[str, str], who: str
) -> None:
    vietnamese = page(app_client, sessions[who])
    assert vietnamese.status_code == 403
    assert vietnamese.headers["content-type"].startswith("text/html")
    assert "Không có quyền quản trị" in vietnamese.text
    assert "admin-config" not in vietnamese.text and "admin.js" not in vietnamese.text
    english = page(app_client, sessions[who], **{"accept-language": "en-GB"})
    assert english.status_code == 403 and "Only city admins and national admins" in english.text


def test_a_city_admin_gets_their_city_and_city_roles(
    app_client: TestClient, sessions: dict[str, str], sync_engine: Engine
) -> None:
    response = page(app_client, sessions["city_admin"])
    assert response.status_code == 200
    body = response.text
    assert "<h1>Quản trị</h1>" in body and "Công bố bản đồ và chỉ số cấp khu dân cư" in body
    assert 'name="csrf-token" content="' in body and 'content=""' not in body
    assert all(f'src="/static/admin/{name}.js"' in body for name in ("admin", "people", "places"))
    # No inline script but the JSON (no nonce needed, nothing runs).
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", body) == [
        '<script type="application/json" id="admin-config">'
    ]
    config = config_of(body)
    assert [c["slug"] for c in config["cities"]] == ["tam-ky"]
    assert config["assignable"] == [
        "volunteer",
        "ward_leader",
        "planner",
        "city_admin",
        "cdf_staff",
    ]
    assert config["roles"]["ward_leader"] == "Trưởng khu phố / phường"
    # Every role a person may hold is in words, the CDF's too (shown as cdf_staff, treasurer).
    assert config["roles"]["cdf_staff"] == "Cán bộ quỹ CDF"
    assert config["roles"]["treasurer"] == "Thủ quỹ nhóm tiết kiệm"
    assert config["texts"]["admin_make_qr"] == "Tạo mã QR đăng nhập điện thoại"
    assert config["texts"]["password_too_short"] == "Mật khẩu cần ít nhất 8 ký tự."
    assert "Thành phố mới…" not in body  # only national admins add a city
    assert "10 phường/xã · 40 khu dân cư" in body
    english = page(app_client, sessions["city_admin"], "/admin?lang=en")
    assert "10 wards · 40 settlements" in english.text
    assert config_of(english.text)["texts"]["admin_import"] == "Import boundaries"
    english_roles = config_of(english.text)["roles"]
    assert (english_roles["cdf_staff"], english_roles["treasurer"]) == (
        "CDF staff",
        "Savings group treasurer",
    )
    # ...every role the database lets a person hold.
    with sync_engine.connect() as connection:
        check = connection.execute(
            text(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conname = 'ck_role_grants_role'"
            )
        ).scalar_one()
    assert set(re.findall(r"'([a-z_]+)'", check)) == set(english_roles)


def test_a_national_admin_gets_every_city_and_may_add_one(
    app_client: TestClient, sessions: dict[str, str], sync_engine: Engine
) -> None:
    with sync_engine.connect() as connection:
        slugs = connection.execute(text("SELECT slug FROM cities")).scalars().all()
    response = page(app_client, sessions["national_admin"])
    assert response.status_code == 200
    config = config_of(response.text)
    assert {c["slug"] for c in config["cities"]} == set(slugs)
    assert config["national"] is True and "national_admin" in config["assignable"]
    assert '<option value="">Thành phố mới…</option>' in response.text


@pytest.fixture
def hostile_city(sync_engine: Engine) -> Iterator[str]:
    """A city whose name and province are hostile, with an admin; removed afterwards."""
    with sync_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO cities (slug, name, province) VALUES (:slug, :name, :province) "
                "ON CONFLICT (slug) DO UPDATE SET name = excluded.name"
            ),
            {"slug": HOSTILE_CITY, "name": hostile.HTML_SCRIPT, "province": hostile.HTML_ATTRIBUTE},
        )
    token = make_token(
        sync_engine,
        make_user(sync_engine, "admin-page-hostile", [("city_admin", ("city", HOSTILE_CITY))]),
        kind="session",
    )
    yield token
    with sync_engine.begin() as connection:
        connection.execute(text("DELETE FROM cities WHERE slug = :slug"), {"slug": HOSTILE_CITY})


@pytest.mark.parametrize("name", hostile.NAMES)
def test_hostile_names_are_text_on_the_page(
    app_client: TestClient, sync_engine: Engine, hostile_city: str, name: str
) -> None:
    with sync_engine.begin() as connection:
        connection.execute(
            text("UPDATE cities SET name = :name WHERE slug = :slug"),
            {"name": name, "slug": HOSTILE_CITY},
        )
    response = page(app_client, hostile_city)
    assert response.status_code == 200
    body = response.text
    data = CONFIG.search(body)
    assert data is not None
    outside = body.replace(data.group(0), "")
    assert str(escape(name)) in outside  # shown, escaped (Jinja's escaping), list and select
    assert "<script>alert" not in body and "<img src=x" not in body
    assert INLINE_HANDLER.search(outside) is None
    assert "uid=" not in body and "looploop" not in body  # no template ran
    assert [c["name"] for c in config_of(body)["cities"]] == [name]
