"""Database access for the web app: a SQLAlchemy engine, and an asyncpg pool for ingest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy import event, exc
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from app.db.duplicate_checks import CheckConnection
from app.db.pool import StatementPool

SERVER_SETTINGS = {
    "application_name": "cdfmap",
    "timezone": "UTC",
    # Our statements are fixed and parameterised; PostgreSQL otherwise re-plans the
    # ingest statement (CTEs, spatial joins) on every call: 3 ms instead of 0.5 ms.
    "plan_cache_mode": "force_generic_plan",
    # PostgreSQL's JIT compiles a statement it thinks costly before running it: at 5 million
    # households each 100-survey batch statement spent 3 s compiling (docs/scale.md), and
    # nothing here runs long enough to win that back.
    "jit": "off",
}


def make_engine(
    async_url: str,
    pool_size: int = 10,
    max_overflow: int = 10,
    application_name: str = "cdfmap",
    connect_seconds: float | None = None,
) -> AsyncEngine:
    """Create the app's engine; the app owns it and disposes of it at shutdown.

    The read replica's engine has its own application_name (seen in the replica's
    pg_stat_activity) and a short connect timeout: a replica that does not answer is left for
    the primary (app.db.replica) instead of holding a request for asyncpg's default 60 s.
    """
    connect_args: dict[str, Any] = {
        "server_settings": {**SERVER_SETTINGS, "application_name": application_name}
    }
    if connect_seconds is not None:
        connect_args["timeout"] = connect_seconds
    engine = create_async_engine(
        async_url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        # Not pool_pre_ping: with asyncpg it costs three round trips (BEGIN, a ping,
        # ROLLBACK) on every checkout, 0.3-0.4 ms on a read that takes ~1 ms in all.
        # _skip_closed below catches what a restart leaves in the pool for nothing.
        pool_pre_ping=False,
        connect_args=connect_args,
    )
    event.listen(engine.sync_engine.pool, "checkout", _skip_closed)
    event.listen(engine.sync_engine, "handle_error", _drop_confused_connections)
    return engine


def _skip_closed(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    # asyncpg notices at once when the server closes an idle connection (a restart,
    # pg_terminate_backend), so a closed one is known without asking the server; raising
    # DisconnectionError makes the pool replace it and retry the checkout.
    if dbapi_connection.driver_connection.is_closed():
        raise exc.DisconnectionError("the server closed this connection while it was idle")


def _drop_confused_connections(context: ExceptionContext) -> None:
    # A statement sent just as the server ends the session can find asyncpg between the
    # server's last message and the socket's close: InternalClientError "cannot switch to
    # state ...; another operation is in progress" (MagicStack/asyncpg#1069). The
    # connection is then unusable; as a disconnect, it leaves the pool instead of failing
    # every request that gets it next.
    if isinstance(context.original_exception.__cause__, asyncpg.exceptions.InternalClientError):
        context.is_disconnect = True


@asynccontextmanager
async def snapshot(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection whose reads all see the database of one moment (REPEATABLE READ): the
    figures of a page or a printed statement that must agree with each other, whatever is
    committed while they are read."""
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="REPEATABLE READ")
        yield connection


async def driver_in_transaction(connection: AsyncConnection) -> Any:
    """The asyncpg connection under `connection`, inside the connection's transaction.

    SQLAlchemy's asyncpg adapter sends BEGIN with the first statement it runs itself: a
    statement sent on the asyncpg connection before that runs alone (autocommit), whatever
    `engine.begin()` promised, so a row it locks FOR UPDATE is let go at once and each change
    commits on its own. A first statement through SQLAlchemy opens the transaction.
    """
    await connection.exec_driver_sql("SELECT 1")
    return (await connection.get_raw_connection()).driver_connection


def make_ingest_pool(libpq_url: str, size: int) -> StatementPool:
    """The pool behind every survey sent: plain asyncpg connections (see db.pool)."""
    return StatementPool(libpq_url, size, dict(SERVER_SETTINGS))


def make_batch_pool(libpq_url: str, size: int) -> StatementPool:
    """The pool behind phones' batches: PostgreSQL plans each batch statement for its rows.

    A generic plan (the ingest pool's setting, right for one survey) treats the batch's JSON
    record set as a guess and took 26-28 ms per 100 surveys against 21 ms with a plan made
    for them; planning costs less than that difference at 100 rows.
    """
    return StatementPool(libpq_url, size, {**SERVER_SETTINGS, "plan_cache_mode": "auto"})


def make_check_connection(libpq_url: str) -> CheckConnection:
    """The connection of the background duplicate checks (see db.duplicate_checks)."""
    return CheckConnection(libpq_url, dict(SERVER_SETTINGS))
