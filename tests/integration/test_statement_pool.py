"""The ingest pool against a real PostgreSQL: bounded, reuses healthy connections only."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
import pytest

from app.db.engine import SERVER_SETTINGS
from app.db.pool import PoolClosed, StatementPool

PID = "SELECT pg_backend_pid() AS pid"


def run(database_url: str, size: int, body: Callable[[StatementPool], Awaitable[Any]]) -> Any:
    """Run `body` with a fresh pool on its own event loop, closing the pool afterwards.

    In a thread of its own: the browser tests' Playwright keeps an event loop in this one.
    """

    async def main() -> Any:
        pool = StatementPool(database_url, size, dict(SERVER_SETTINGS))
        try:
            return await body(pool)
        finally:
            await pool.close()

    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, main()).result()


async def pid(pool: StatementPool) -> int:
    return int((await pool.fetch(PID))[0]["pid"])


async def terminate(database_url: str, backend: int) -> None:
    """End a session from the server side, and wait until its process has gone."""
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute("SELECT pg_terminate_backend($1)", backend)
        for _ in range(100):
            if not await admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", backend
            ):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"backend {backend} did not end")
    finally:
        await admin.close()


def test_many_statements_share_at_most_size_connections(database_url: str) -> None:
    async def body(pool: StatementPool) -> set[int]:
        pids = await asyncio.gather(
            *(pool.fetch("SELECT pg_backend_pid() AS pid, pg_sleep(0.01)") for _ in range(40))
        )
        assert pool.connections <= 3
        return {rows[0]["pid"] for rows in pids}

    assert 1 <= len(run(database_url, 3, body)) <= 3


def test_a_statement_error_keeps_the_connection(database_url: str) -> None:
    async def body(pool: StatementPool) -> None:
        before = await pid(pool)
        with pytest.raises(asyncpg.DivisionByZeroError):
            await pool.fetch("SELECT 1 / 0")
        assert await pid(pool) == before
        assert pool.connections == 1

    run(database_url, 1, body)


def test_a_cancelled_statement_drops_its_connection(database_url: str) -> None:
    async def body(pool: StatementPool) -> None:
        before = await pid(pool)
        slow = asyncio.create_task(pool.fetch("SELECT pg_sleep(30)"))
        await asyncio.sleep(0.2)
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        assert pool.connections == 0
        assert await pid(pool) != before  # a new connection, not the one left mid-statement

    run(database_url, 1, body)


def test_a_connection_closed_by_the_server_is_replaced(database_url: str) -> None:
    """The database restarted, or an administrator ended the session, while it was idle."""

    async def body(pool: StatementPool) -> None:
        victim = await pid(pool)
        await terminate(database_url, victim)
        await asyncio.sleep(0.1)  # the client side reads the end of the connection
        assert await pid(pool) != victim  # no error: a fresh connection took its place
        assert pool.connections == 1

    run(database_url, 1, body)


def test_a_connection_lost_mid_statement_is_dropped(database_url: str) -> None:
    async def body(pool: StatementPool) -> None:
        victim = await pid(pool)
        slow = asyncio.create_task(pool.fetch("SELECT pg_sleep(30)"))
        await asyncio.sleep(0.2)
        await terminate(database_url, victim)
        with pytest.raises(  # the server's reason, or the end of the connection, whichever first
            (asyncpg.exceptions.AdminShutdownError, asyncpg.exceptions.ConnectionDoesNotExistError)
        ):
            await slow
        assert pool.connections == 0  # dropped, not returned
        assert await pid(pool) != victim
        assert pool.connections == 1

    run(database_url, 1, body)


def test_a_cancelled_waiter_loses_no_connection(database_url: str) -> None:
    async def body(pool: StatementPool) -> None:
        busy = asyncio.create_task(pool.fetch("SELECT pg_sleep(0.3)"))
        await asyncio.sleep(0.05)
        waiting = asyncio.create_task(pool.fetch("SELECT 1"))
        await asyncio.sleep(0.05)
        waiting.cancel()
        await busy
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert (await pool.fetch("SELECT 2 AS two"))[0]["two"] == 2
        assert pool.connections == 1

    run(database_url, 1, body)


def test_waiters_are_served_in_turn_when_connections_are_dropped(database_url: str) -> None:
    async def body(pool: StatementPool) -> None:
        failing = [pool.fetch("SELECT pg_sleep(0.05), 1 / 0") for _ in range(5)]
        results = await asyncio.gather(*failing, return_exceptions=True)
        assert all(isinstance(r, asyncpg.DivisionByZeroError) for r in results)
        ok = await asyncio.gather(*(pool.fetch("SELECT 1 AS one") for _ in range(5)))
        assert [rows[0]["one"] for rows in ok] == [1] * 5
        assert pool.connections <= 2

    run(database_url, 2, body)


def test_a_closed_pool_refuses_statements(database_url: str) -> None:
    async def body(pool: StatementPool) -> None:
        await pool.fetch("SELECT 1")
        await pool.close()
        assert pool.connections == 0
        with pytest.raises(PoolClosed):
            await pool.fetch("SELECT 1")

    run(database_url, 2, body)
