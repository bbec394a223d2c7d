"""A Digest answer is taken once by all the server's processes together: two apps on one
database (as `uvicorn --workers N` runs them, sharing nothing but the database) refuse an
Authorization header the other took, take a fresh nc/cnonce, and answer an expired nonce
`stale=true` (docs/odk-collect.md, Authentication)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.main import create_app
from app.services.odk_auth import NONCE_SECONDS, REALM
from app.settings import Settings
from tests.auth import make_user
from tests.odk import DigestClient

FORM_LIST = "/odk/formList"


@pytest.fixture
def collector(client: TestClient, sync_engine: Engine) -> dict[str, Any]:
    """A volunteer whose phone is set up in digest mode."""
    user_id = make_user(sync_engine, "odk-digest-workers", [("volunteer", ("ward", "W03"))])
    response = client.post("/api/v1/odk/setup", json={"user_id": user_id, "mode": "digest"})
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def other_worker(settings: Settings) -> Iterator[TestClient]:
    """A second app on the same database: another uvicorn worker."""
    with TestClient(create_app(settings)) as second:
        yield second


def get(app: TestClient, header: str | None = None) -> Any:
    return app.get(FORM_LIST, headers={"Authorization": header or ""})


def digest_challenge(response: Any) -> str:
    assert response.status_code == 401, response.text
    return next(c for c in response.headers.get_list("www-authenticate") if c.startswith("Digest"))


def test_an_answer_taken_by_one_worker_is_refused_by_another(
    client: TestClient, other_worker: TestClient, collector: dict[str, Any]
) -> None:
    phone = DigestClient(collector["username"], collector["password"])
    phone.take_challenge(digest_challenge(get(client)))
    header = phone.authorization("GET", FORM_LIST)
    assert get(client, header).status_code == 200
    # Replayed on the other worker while the nonce is fresh: refused, with a new challenge.
    replayed = get(other_worker, header)
    assert replayed.status_code == 401
    assert "stale=true" not in digest_challenge(replayed)
    assert get(client, header).status_code == 401
    # The phone's next answer (same nonce, next nc, new cnonce) works on either worker, once.
    following = phone.authorization("GET", FORM_LIST)
    assert get(other_worker, following).status_code == 200
    assert get(client, following).status_code == 401
    assert get(other_worker, following).status_code == 401
    assert get(client, phone.authorization("GET", FORM_LIST)).status_code == 200


def test_an_expired_nonce_is_stale_on_every_worker(
    client: TestClient, other_worker: TestClient, collector: dict[str, Any]
) -> None:
    checker = client.app.state.odk_auth  # type: ignore[attr-defined]
    old = checker.nonce(time.time() - NONCE_SECONDS - 5)
    phone = DigestClient(collector["username"], collector["password"])
    phone.take_challenge(f'Digest realm="{REALM}", qop="auth", nonce="{old}"')
    header = phone.authorization("GET", FORM_LIST)
    for app in (client, other_worker):
        assert "stale=true" in digest_challenge(get(app, header))
    phone.take_challenge(digest_challenge(get(other_worker, header)))
    assert get(other_worker, phone.authorization("GET", FORM_LIST)).status_code == 200


def test_expired_answers_are_purged(
    settings: Settings, client: TestClient, collector: dict[str, Any], sync_engine: Engine
) -> None:
    with sync_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO odk_digest_answers (answer, expires_at) "
                "VALUES ('\\x00ff'::bytea, now() - interval '1 hour') ON CONFLICT DO NOTHING"
            )
        )
    # A process purges with its first Digest answer, then about once a minute.
    with TestClient(create_app(settings)) as fresh:
        phone = DigestClient(collector["username"], collector["password"])
        phone.take_challenge(digest_challenge(get(fresh)))
        assert get(fresh, phone.authorization("GET", FORM_LIST)).status_code == 200
    with sync_engine.connect() as connection:
        expired = connection.execute(
            text("SELECT count(*) FROM odk_digest_answers WHERE expires_at < now()")
        ).scalar_one()
        live = connection.execute(
            text("SELECT count(*) FROM odk_digest_answers WHERE expires_at > now()")
        ).scalar_one()
    assert expired == 0
    assert live >= 1
