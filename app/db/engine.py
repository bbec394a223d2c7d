"""Database access for the web app: a SQLAlchemy engine, and an asyncpg pool for ingest."""

from __future__ import annotations

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

SERVER_SETTINGS = {
    "application_name": "cdfmap",
    "timezone": "UTC",
    # Our statements are fixed and parameterised; PostgreSQL otherwise re-plans the
    # ingest statement (CTEs, spatial joins) on every call: 3 ms instead of 0.5 ms.
    "plan_cache_mode": "force_generic_plan",
}


def make_engine(async_url: str, pool_size: int = 10, max_overflow: int = 10) -> AsyncEngine:
    """Create the app's engine; the app owns it and disposes of it at shutdown."""
    return create_async_engine(
        async_url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=False,
        connect_args={"server_settings": dict(SERVER_SETTINGS)},
    )


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Nothing to reset: the ingest pool only runs single autocommit statements."""


async def open_ingest_pool(libpq_url: str, size: int) -> asyncpg.Pool:
    """The pool behind every survey sent: asyncpg, without SQLAlchemy.

    SQLAlchemy's async pool checks connections out inside a greenlet, and switching greenlets
    copies the C stack, which under uvicorn's middleware layers cost ~60 us of CPU per
    request (a sixth of an ingest). asyncpg's own pool would also send a reset query on every
    release (a second round trip); these connections never change session state, so no reset.
    Connections open on demand, up to `size`, so the app starts without the database.
    """
    pool = await asyncpg.create_pool(
        libpq_url,
        min_size=0,
        max_size=size,
        server_settings=dict(SERVER_SETTINGS),
        reset=_keep_session,
    )
    assert pool is not None
    return pool
