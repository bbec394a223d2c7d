"""Errors a client cannot fix: 503 + Retry-After when a write rolled back or the database is
out of reach (the phone keeps the survey and sends it again), 500 for the rest."""

from __future__ import annotations

import asyncpg
import pytest
import sqlalchemy.exc
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.api.errors import add_exception_handlers
from app.db.pool import PoolClosed


def _app_raising(exc: Exception) -> TestClient:
    app = FastAPI()
    add_exception_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        raise exc

    return TestClient(app, raise_server_exceptions=False)


def _wrapped(cause: Exception) -> sqlalchemy.exc.OperationalError:
    """What SQLAlchemy raises: its error around the driver's, which is around asyncpg's."""
    adapted = RuntimeError("driver error")
    adapted.__cause__ = cause
    return sqlalchemy.exc.OperationalError("INSERT ...", {}, adapted)


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.exceptions.DeadlockDetectedError("deadlock detected"),
        asyncpg.exceptions.SerializationError("could not serialize access"),
        _wrapped(asyncpg.exceptions.DeadlockDetectedError("deadlock detected")),
    ],
)
def test_rolled_back_write_is_503_with_retry_after(exc: Exception) -> None:
    response = _app_raising(exc).get("/boom")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert response.json()["code"] == "server_busy"
    assert "điện thoại" in response.json()["detail"]  # Vietnamese by default


def test_rolled_back_write_in_english() -> None:
    client = _app_raising(asyncpg.exceptions.DeadlockDetectedError("deadlock detected"))
    response = client.get("/boom", headers={"Accept-Language": "en"})
    assert response.json()["detail"].startswith("The server was busy")


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError("refused"),
        PoolClosed("closed"),
        asyncpg.exceptions.TooManyConnectionsError("too many clients"),
        asyncpg.exceptions.AdminShutdownError("terminating connection"),
        _wrapped(ConnectionRefusedError("refused")),
    ],
)
def test_an_unreachable_database_is_503_with_retry_after(exc: Exception) -> None:
    response = _app_raising(exc).get("/boom", headers={"Accept-Language": "en"})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "10"
    assert response.json()["code"] == "database_unavailable"
    assert "still on the phone" in response.json()["detail"]


def test_other_database_errors_stay_500() -> None:
    response = _app_raising(_wrapped(RuntimeError("something else"))).get("/boom")
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"


def test_a_whole_number_past_64_bits_is_written_not_a_500() -> None:
    # Stored before intake refused decimals past 2^53: jsonb gives 1e20 back as an integer,
    # which orjson refuses; every list holding that survey answered 500.
    import json
    from datetime import UTC, datetime
    from uuid import UUID

    from app.api.responses import dumps

    body = {"n": 10**20, "at": datetime(2026, 12, 4, tzinfo=UTC), "id": UUID(int=1), "t": "Hộ"}
    assert json.loads(dumps(body)) == {
        "n": 10**20,
        "at": "2026-12-04T00:00:00+00:00",
        "id": "00000000-0000-0000-0000-000000000001",
        "t": "Hộ",
    }


@pytest.mark.parametrize(
    ("query", "header", "english"),
    [
        ("", "en;q=0.1, vi;q=0.9", False),
        ("", "vi;q=0, en", True),
        ("?lang=en", "vi", True),  # the app's own choice comes first
        ("?lang=vi", "en", False),
        ("?lang=xx", "en", True),  # a ?lang= naming no language leaves it to the header
    ],
)
def test_errors_speak_the_language_the_request_prefers(
    query: str, header: str, english: bool
) -> None:
    client = _app_raising(asyncpg.exceptions.DeadlockDetectedError("deadlock detected"))
    detail = client.get(f"/boom{query}", headers={"Accept-Language": header}).json()["detail"]
    assert detail.startswith("The server was busy") is english


def test_starlettes_own_refusals_are_translated_keeping_status_and_headers() -> None:
    from starlette.exceptions import HTTPException

    client = _app_raising(HTTPException(418, headers={"X-Kept": "yes"}))
    response = client.get("/boom", headers={"Accept-Language": "en"})
    assert response.status_code == 418 and response.headers["x-kept"] == "yes"
    assert response.json() == {
        "code": "http_418",
        "detail": "The server cannot handle this request (status 418).",
        "errors": [],
    }
    unreadable = _app_raising(HTTPException(400, "There was an error parsing the body"))
    assert unreadable.get("/boom").json()["detail"] == "Không đọc được yêu cầu gửi lên."
