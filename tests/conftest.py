"""Shared fixtures: a real PostGIS database per test session, the app, a live server.

The server is the one of TEST_DATABASE_URL, else DATABASE_URL, else the local default;
each session creates its own database there and drops it at the end. Nothing is mocked.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.exc import OperationalError

from app.db.migrate import create_database_if_missing, drop_database, upgrade_to_head
from app.forms.registry import FormRegistry, load_registry
from app.main import create_app
from app.services.samples import load_boundaries
from app.settings import DEFAULT_DATABASE_URL, REPO_ROOT, Settings, with_driver
from bench.common import uvicorn_server
from tests.auth import bearer, make_token, make_user

# Every app a test builds (in-process or under uvicorn) signs its tokens with this key.
os.environ.setdefault("SECRET_KEY", "test-" + uuid.uuid4().hex + uuid.uuid4().hex)
# The factories' surveys carry fixed dates (2026-11-26) so that tests are repeatable; a test
# run weeks later must not see them all flagged `late_upload` (tests of that flag set their
# own threshold).
os.environ.setdefault("LATE_UPLOAD_DAYS", "36500")


def _server_url() -> str:
    return (
        os.environ.get("TEST_DATABASE_URL")
        or os.environ.get("DATABASE_URL")
        or DEFAULT_DATABASE_URL
    )


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A fresh database (migrated to head, sample boundaries loaded) for this test session."""
    with fresh_database() as url:
        yield url


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    """A new database on the test server, migrated to head with the sample boundaries loaded;
    dropped afterwards."""
    name = f"cdfmap_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = (
        make_url(with_driver(_server_url(), "postgresql"))
        .set(database=name)
        .render_as_string(hide_password=False)
    )
    sync_url = with_driver(url, "postgresql+psycopg")
    create_database_if_missing(sync_url)
    try:
        upgrade_to_head(sync_url)
        engine = create_engine(sync_url)
        with engine.begin() as connection:
            load_boundaries(connection, REPO_ROOT / "data" / "samples")
        engine.dispose()
        yield url
    finally:
        drop_database(sync_url)


# What PostgreSQL answers while it starts or replays its WAL after a crash (its server
# processes restart when one of them dies: the OOM killer, say). Seen once in CI: 11 tests'
# set-ups refused within a second, the tests around them passed.
NOT_YET_ACCEPTING = (
    "the database system is starting up",
    "the database system is not yet accepting connections",
    "the database system is in recovery mode",
)
SERVER_RECOVERY_SECONDS = 120.0


def _connect_when_ready(cargs: list[object], cparams: dict[str, object]) -> psycopg.Connection:
    """A connection, waiting while the server recovers (told on stderr); any other refusal,
    or one that lasts, is raised."""
    deadline = time.monotonic() + SERVER_RECOVERY_SECONDS
    while True:
        try:
            return psycopg.connect(*cargs, **cparams)  # type: ignore[arg-type]
        except psycopg.OperationalError as exc:
            if not any(text in str(exc) for text in NOT_YET_ACCEPTING):
                raise
            if time.monotonic() > deadline:
                raise
            print(f"\nPostgreSQL is not accepting connections yet: {exc}", file=sys.stderr)
            time.sleep(0.5)  # polling the server until it answers


@pytest.fixture(scope="session")
def sync_engine(database_url: str) -> Iterator[Engine]:
    """A synchronous engine on the test database, for arranging and checking rows. A
    connection lost to a server restart is replaced (pre-ping), and a new one waits while the
    server recovers: a restart between two tests fails neither."""
    engine = create_engine(with_driver(database_url, "postgresql+psycopg"), pool_pre_ping=True)

    @event.listens_for(engine, "do_connect")
    def connect(
        _dialect: object, _record: object, cargs: list[object], cparams: dict[str, object]
    ) -> psycopg.Connection:
        return _connect_when_ready(cargs, cparams)

    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def forms() -> FormRegistry:
    """The forms in forms/."""
    return load_registry(REPO_ROOT / "forms")


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings pointing at the test database."""
    return Settings(database_url=database_url, media_dir=tmp_path / "media")


@pytest.fixture
def clean_surveys(sync_engine: Engine) -> Iterator[None]:
    """Each test that stores surveys starts and ends with none stored (and no duplicate check
    of a batch queued). The queue is locked first, as a running app's duplicate check locks
    it (app/db/duplicate_checks.py) before the surveys: the other way round, a check started
    by a server still running for other tests deadlocked with this TRUNCATE. A page a browser
    test left open may still be reading both (the review queue reads the surveys, then the
    queue): PostgreSQL then ends one of the two, and the TRUNCATE is tried again."""
    truncate_surveys(sync_engine)
    yield
    truncate_surveys(sync_engine)


TRUNCATE_SURVEYS = "TRUNCATE duplicate_checks, household_surveys CASCADE"


def truncate_surveys(sync_engine: Engine, tries: int = 5) -> None:
    """TRUNCATE_SURVEYS, again when PostgreSQL ended it to break a deadlock with a reader."""
    for attempt in range(tries):
        try:
            with sync_engine.begin() as connection:
                connection.execute(text(TRUNCATE_SURVEYS))
            return
        except OperationalError as error:
            if not isinstance(error.orig, psycopg.errors.DeadlockDetected) or attempt == tries - 1:
                raise
            time.sleep(0.1 * (attempt + 1))


@pytest.fixture(scope="session")
def admin_token(sync_engine: Engine) -> str:
    """A national admin's token: sees and does everything (role tests use their own)."""
    user_id = make_user(sync_engine, "test-admin", [("national_admin", None)])
    return make_token(sync_engine, user_id, lifetime=timedelta(days=1))


@pytest.fixture(scope="session")
def planner_token(sync_engine: Engine) -> str:
    """A planner of the sample city: reads the whole city, never personal fields."""
    user_id = make_user(sync_engine, "test-planner", [("planner", ("city", "tam-ky"))])
    return make_token(sync_engine, user_id, lifetime=timedelta(days=1))


@pytest.fixture
def client(settings: Settings, clean_surveys: None, admin_token: str) -> Iterator[TestClient]:
    """The app in-process, with its lifespan (engine) running, signed in as a national admin."""
    with TestClient(create_app(settings), headers=bearer(admin_token)) as test_client:
        yield test_client


@pytest.fixture
def anonymous(settings: Settings, clean_surveys: None) -> Iterator[TestClient]:
    """The app in-process, with nobody signed in."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def live_server(database_url: str) -> Iterator[str]:
    """The app under a real uvicorn process on a free port; yields its base URL."""
    with uvicorn_server("app.main:create_app", database_url) as (base, _pid):
        yield base
