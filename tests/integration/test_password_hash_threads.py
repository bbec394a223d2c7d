"""Setting a password (a new person, a new password) hashes it with argon2 on argon2's own
threads (Authenticator.passwords), as sign-in checks one: on the event loop, each hash (tens
to hundreds of ms of CPU) held up every other request of the process.

The hasher is the real one, wrapped to note the thread it runs on and, in the second test, to
hold the hash until the test has seen another request answered meanwhile: no timing."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.main import create_app
from app.services import auth as auth_service
from app.settings import Settings
from tests.auth import bearer, make_token, make_user

HOSTILE_NAME = "{{7*7}}<img src=x onerror=alert(1)> Nguyễn Thị Hoa"
PASSWORD = "mật-khẩu-mới 2026"
WAIT = 20.0  # seconds: only a broken server comes near it


class WatchedHasher(PasswordHasher):
    """argon2's own hasher, noting each hash's and check's thread; with `hold`, a hash waits
    for `release` once it has started."""

    def __init__(self, hold: bool = False) -> None:
        super().__init__()
        self.threads: list[str] = []
        self.hold = hold
        self.started = threading.Event()
        self.release = threading.Event()

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self.threads.append(threading.current_thread().name)
        if self.hold:
            self.started.set()
            self.release.wait(WAIT)
        return super().hash(password, salt=salt)

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.threads.append(threading.current_thread().name)
        return super().verify(hash, password)


@pytest.fixture
def admin(settings: Settings, admin_token: str, sync_engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings), headers=bearer(admin_token)) as client:
        yield client
    with sync_engine.begin() as connection:
        connection.execute(text("DELETE FROM sign_in_failures WHERE username LIKE 'hash-%'"))


def _watch(monkeypatch: pytest.MonkeyPatch, hold: bool = False) -> WatchedHasher:
    watched = WatchedHasher(hold)
    monkeypatch.setattr(auth_service, "PASSWORDS", watched)
    return watched


def test_new_people_and_new_passwords_are_hashed_on_argon2_threads(
    admin: TestClient, sync_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    watched = _watch(monkeypatch)
    created = admin.post(
        "/api/v1/users",
        json={"username": "hash-new", "display_name": HOSTILE_NAME, "password": PASSWORD},
    )
    assert created.status_code == 201, created.text
    assert created.json()["display_name"] == HOSTILE_NAME
    changed = admin.patch(
        f"/api/v1/users/{created.json()['id']}", json={"password": PASSWORD + " đổi"}
    )
    assert changed.status_code == 200, changed.text
    signed_in = admin.post(
        "/api/v1/auth/token", data={"username": "hash-new", "password": PASSWORD + " đổi"}
    )
    assert signed_in.status_code == 200, signed_in.text  # the stored hash is a real one
    # Two hashes, two checks: a new password is checked against the stored one first (the
    # password the person has is no change), then hashed; the sign-in checks it.
    assert len(watched.threads) == 4
    again = admin.patch(
        f"/api/v1/users/{created.json()['id']}", json={"password": PASSWORD + " đổi"}
    )
    assert again.status_code == 200, again.text
    assert len(watched.threads) == 5  # the password it has: a check, and no hash
    assert all(name.startswith("argon2") for name in watched.threads), watched.threads
    with sync_engine.connect() as connection:
        stored = connection.execute(
            text("SELECT password_hash FROM users WHERE username = 'hash-new'")
        ).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def _create(client: TestClient) -> Any:
    return client.post(
        "/api/v1/users",
        json={"username": "hash-held", "display_name": "Người mới", "password": PASSWORD},
    )


def _new_password(client: TestClient, user_id: int) -> Any:
    return client.patch(f"/api/v1/users/{user_id}", json={"password": PASSWORD})


@pytest.mark.parametrize("change", ["create", "new password"])
def test_other_requests_are_answered_while_a_password_is_hashed(
    admin: TestClient, sync_engine: Engine, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    user_id = make_user(sync_engine, "hash-old", [("volunteer", ("city", "tam-ky"))])
    watched = _watch(monkeypatch, hold=True)
    with ThreadPoolExecutor(2) as threads:
        try:
            if change == "create":
                changing = threads.submit(_create, admin)
            else:
                changing = threads.submit(_new_password, admin, user_id)
            assert watched.started.wait(WAIT), "the hash never started"
            # The hash is under way (and held): the loop must still answer someone else.
            other = threads.submit(admin.get, "/healthz").result(timeout=WAIT)
            assert other.status_code == 200
            assert not changing.done()
        finally:
            watched.release.set()
        answer = changing.result(timeout=WAIT)
    assert answer.status_code in (200, 201), answer.text
    assert watched.threads and watched.threads[0].startswith("argon2"), watched.threads


def test_no_hash_for_a_person_the_sender_may_not_manage(
    admin: TestClient, settings: Settings, sync_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """argon2's two threads also check every sign-in: a volunteer asking for a new password
    of someone else (or of no one) is answered 404 without a hash."""
    other = make_user(sync_engine, "hash-other", [("volunteer", ("city", "tam-ky"))])
    volunteer = make_user(sync_engine, "hash-volunteer", [("volunteer", ("city", "tam-ky"))])
    watched = _watch(monkeypatch)
    with TestClient(
        create_app(settings), headers=bearer(make_token(sync_engine, volunteer))
    ) as client:
        for user_id in (other, 999_999_999):
            refused = client.patch(f"/api/v1/users/{user_id}", json={"password": PASSWORD})
            assert refused.status_code == 404, refused.text
    assert watched.threads == []
    allowed = admin.patch(f"/api/v1/users/{other}", json={"password": PASSWORD})
    assert allowed.status_code == 200, allowed.text
    assert len(watched.threads) == 1


def test_a_role_granted_meanwhile_is_seen_before_the_password_changes(
    settings: Settings, sync_engine: Engine
) -> None:
    """A city admin sets the password of a volunteer of their city while another transaction
    makes that person a national admin: the change waits for the grant and then refuses
    (404), instead of setting a national admin's password (found by review)."""
    city_admin = make_user(sync_engine, "hash-city-admin", [("city_admin", ("city", "tam-ky"))])
    person = make_user(sync_engine, "hash-rising", [("volunteer", ("city", "tam-ky"))])
    with (
        TestClient(
            create_app(settings), headers=bearer(make_token(sync_engine, city_admin))
        ) as client,
        ThreadPoolExecutor(1) as threads,
        sync_engine.connect() as other,
    ):
        with other.begin():
            other.execute(
                text("INSERT INTO role_grants (user_id, role) VALUES (:id, 'national_admin')"),
                {"id": person},
            )
            changing = threads.submit(_new_password, client, person)
            deadline = time.monotonic() + WAIT
            while not _waiting_on_a_lock(sync_engine):
                assert not changing.done(), changing.result().text  # it did not wait
                assert time.monotonic() < deadline
                time.sleep(0.02)
        answer = changing.result(timeout=WAIT)
    assert answer.status_code == 404, answer.text
    with sync_engine.connect() as connection:
        stored = connection.execute(
            text("SELECT password_hash FROM users WHERE id = :id"), {"id": person}
        ).scalar_one()
    assert stored is None or not PasswordHasher().verify(stored, PASSWORD)


def _waiting_on_a_lock(engine: Engine) -> bool:
    with engine.connect() as connection:
        return bool(
            connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
        )
