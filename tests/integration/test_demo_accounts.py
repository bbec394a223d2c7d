"""The demo accounts (password `demo`, made by `load-sample` with the sample city) sign in
only on a server in demo mode. docs/deploy.md suggests the sample "for a trial" on a
production server: demo-admin/demo then got a national admin's token there.

Outside demo mode every way in refuses them with the answer a wrong password gets: the
token endpoint and /login, HTTP Basic on /ogc, ODK Collect's Basic and Digest, a phone's
enrolment code, and a token they were given while the server ran in demo mode.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.api.deps import SESSION_COOKIE
from app.main import create_app
from app.services.samples import DEMO_PASSWORD, load_demo_accounts
from app.settings import Settings
from tests.auth import bearer, make_enrolment, make_token
from tests.odk import DigestClient


@pytest.fixture
def demo_accounts(sync_engine: Engine) -> Iterator[dict[str, int]]:
    """The demo accounts on the sample city, as `load-sample` makes them: username -> id."""
    with sync_engine.begin() as connection:
        city_id = connection.execute(text("SELECT id FROM cities WHERE slug = 'tam-ky'")).scalar()
        created = load_demo_accounts(connection, city_id)
        ids = dict(connection.execute(text("SELECT username, id FROM users WHERE is_demo")).all())
        connection.execute(text("DELETE FROM sign_in_failures"))
    yield ids
    with sync_engine.begin() as connection:
        connection.execute(text("DELETE FROM sign_in_failures"))
        connection.execute(text("DELETE FROM users WHERE username = ANY(:u)"), {"u": created})


@pytest.fixture
def production(settings: Settings) -> Iterator[TestClient]:
    """A server outside demo mode (a real secret key: conftest sets SECRET_KEY)."""
    assert not settings.demo and settings.secret_key and len(settings.secret_key) >= 64
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def demo_mode(settings: Settings) -> Iterator[TestClient]:
    """A server in demo mode (`make run`)."""
    with TestClient(create_app(settings.model_copy(update={"demo": True}))) as client:
        yield client


def token_answer(client: TestClient, username: str, password: str) -> Any:
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def basic(username: str, password: str) -> dict[str, str]:
    pair = f"{username}:{password}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


def digest_get(client: TestClient, username: str, token: str, uri: str) -> Any:
    """GET `uri` as Collect does with Digest: challenged first, then answered."""
    phone = DigestClient(username, token)
    first = client.get(uri)
    challenge = next(c for c in first.headers.get_list("www-authenticate") if "Digest" in c)
    phone.take_challenge(challenge)
    return client.get(uri, headers={"Authorization": phone.authorization("GET", uri)})


def test_demo_accounts_sign_in_with_their_password_only_in_demo_mode(
    demo_accounts: dict[str, int], production: TestClient, demo_mode: TestClient
) -> None:
    refused = token_answer(production, "demo-admin", DEMO_PASSWORD)
    wrong = token_answer(production, "demo-admin", "not the password")
    assert refused.status_code == wrong.status_code == 401
    assert refused.json() == wrong.json()
    assert refused.headers["www-authenticate"] == wrong.headers["www-authenticate"]
    page = production.post(
        "/login", data={"username": "demo-planner", "password": DEMO_PASSWORD, "next": "/"}
    )
    assert page.status_code == 401 and SESSION_COOKIE not in page.cookies
    # In demo mode, as README says.
    signed_in = token_answer(demo_mode, "demo-admin", DEMO_PASSWORD)
    assert signed_in.status_code == 200, signed_in.text
    me = demo_mode.get("/api/v1/me", headers=bearer(signed_in.json()["access_token"]))
    assert me.json()["roles"][0]["role"] == "national_admin"


def test_demo_accounts_have_no_other_way_in_outside_demo_mode(
    demo_accounts: dict[str, int],
    production: TestClient,
    demo_mode: TestClient,
    client: TestClient,
    sync_engine: Engine,
) -> None:
    volunteer = demo_accounts["demo-volunteer"]
    setup = client.post("/api/v1/odk/setup", json={"user_id": volunteer, "mode": "digest"})
    assert setup.status_code == 201, setup.text
    phone_token = setup.json()["password"]
    token = make_token(sync_engine, demo_accounts["demo-planner"])
    code = make_enrolment(sync_engine, volunteer)
    for server, allowed in ((production, False), (demo_mode, True)):
        expected = 200 if allowed else 401
        gis = server.get("/ogc/collections", headers=basic("demo-planner", DEMO_PASSWORD))
        assert gis.status_code == expected, (allowed, gis.text)
        collect = server.get("/odk/formList", headers=basic("demo-volunteer", DEMO_PASSWORD))
        assert collect.status_code == expected, (allowed, collect.text)
        by_phone = server.get("/odk/formList", headers=basic("demo-volunteer", phone_token))
        assert by_phone.status_code == expected, allowed
        assert digest_get(server, "demo-volunteer", phone_token, "/odk/formList").status_code == (
            expected
        )
        assert server.get("/api/v1/me", headers=bearer(token)).status_code == expected
        enrolled = server.post("/api/v1/auth/enrol", json={"code": code})
        assert enrolled.status_code == expected, (allowed, enrolled.text)
        if not allowed:
            assert enrolled.json()["code"] == "bad_enrolment"
