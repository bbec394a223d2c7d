"""A database session ended while a request holds it inside a transaction (PostgreSQL
restarted between two of its statements): the request answers 503 database_unavailable with
Retry-After, as every other request the restart meets, never a 500.

Found by bench/soak.py: during an immediate restart, a photo upload's commit got asyncpg's
InterfaceError "cannot call Transaction.commit(): the underlying connection is closed",
which no handler took for the database being out of reach (500 "internal_error")."""

from __future__ import annotations

import asyncio

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.i18n import translate
from app.main import create_app
from app.settings import Settings

PATH = "/test-only/commit-after-the-session-ended"


def end_session(sync_engine: Engine, pid: int) -> None:
    """What a restart does to a session: the server ends it."""
    with sync_engine.connect() as connection:
        assert connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


def test_a_commit_on_a_connection_the_server_closed_answers_503(
    settings: Settings, sync_engine: Engine
) -> None:
    app = create_app(settings)

    async def commit_after_the_session_ended() -> None:
        # As store_attachment: statements in one transaction, the commit when the block ends.
        async with app.state.engine.begin() as connection:
            pid = await connection.scalar(text("SELECT pg_backend_pid()"))
            await asyncio.to_thread(end_session, sync_engine, pid)
            raw = await connection.get_raw_connection()
            for _ in range(500):  # asyncpg notices the server closing the socket
                if raw.driver_connection.is_closed():
                    break
                await asyncio.sleep(0.01)
            assert raw.driver_connection.is_closed()

    app.add_api_route(PATH, commit_after_the_session_ended, methods=["POST"])
    with TestClient(app, raise_server_exceptions=False) as client:
        for language in ("vi", "en"):
            response = client.post(PATH, headers={"Accept-Language": language})
            assert response.status_code == 503, response.text
            assert response.headers["Retry-After"] == "10"
            body = response.json()
            assert body["code"] == "database_unavailable"
            assert body["detail"] == translate("database_unavailable", language)
        # The closed connection left the pool: the next request finds the database.
        assert client.get("/healthz").status_code == 200
