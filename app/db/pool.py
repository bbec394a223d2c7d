"""A small pool of asyncpg connections for single statements: the survey ingest hot path.

Why not asyncpg's own pool: its release is shielded in a new task and it hands out proxy
objects, ~15 us of CPU per request, and SQLAlchemy's checks out in a greenlet (~50 us under
uvicorn's middleware). Here a connection goes back to the pool with two list operations. The
price is one rule: a statement that did not end with an answer from the server (cancelled,
connection lost) drops its connection instead of returning it, so no connection is ever
reused in an unknown state.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

import asyncpg


class PoolClosed(asyncpg.InterfaceError):
    """The pool was closed (the app is shutting down)."""


class StatementPool:
    """Up to `size` connections, opened on demand, each running one statement at a time."""

    def __init__(self, dsn: str, size: int, server_settings: dict[str, str]) -> None:
        self._dsn = dsn
        self._size = size
        self._server_settings = server_settings
        self._idle: list[asyncpg.Connection] = []
        # Each waiter is handed a connection, or None: a free slot to open one in.
        self._waiters: deque[asyncio.Future[asyncpg.Connection | None]] = deque()
        self._slots = 0  # connections open, being opened, or promised to a waiter
        self._closed = False
        # What the services keep per pool, so per database and process (the boundary index,
        # the groups of single surveys): it lives and goes with the pool.
        self.state: dict[str, Any] = {}

    @property
    def connections(self) -> int:
        """Connections open or being opened."""
        return self._slots

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        """Run one statement on a pooled connection and return its rows."""
        connection = self._idle.pop() if self._idle else await self._acquire()
        while connection.is_closed():  # closed by the server while idle (a restart): replace it
            self._drop(connection)
            connection = self._idle.pop() if self._idle else await self._acquire()
        try:
            records: list[asyncpg.Record] = await connection.fetch(sql, *args)
        except asyncpg.exceptions.OperatorInterventionError:
            self._drop(connection)  # the server is ending this session (shutdown, restart)
            raise
        except asyncpg.PostgresError:
            self._give_back(connection)  # the server answered: the connection is ready
            raise
        except BaseException:
            self._drop(connection)  # cancelled or broken mid-statement: never reused
            raise
        self._give_back(connection)
        return records

    async def close(self) -> None:
        """Close the idle connections now and the others when their statement ends."""
        self._closed = True
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(PoolClosed("the database pool is closed"))
        idle, self._idle = self._idle, []
        self._slots -= len(idle)
        await asyncio.gather(*(connection.close() for connection in idle))

    async def _acquire(self) -> asyncpg.Connection:
        if self._closed:
            raise PoolClosed("the database pool is closed")
        if self._slots < self._size:
            self._slots += 1
            return await self._connect()
        waiter: asyncio.Future[asyncpg.Connection | None]
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            connection = await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._pass_on(waiter.result())  # handed over just as this request was cancelled
            raise
        return connection if connection is not None else await self._connect()

    async def _connect(self) -> asyncpg.Connection:
        """Open a connection in a slot the caller holds."""
        try:
            connection: asyncpg.Connection = await asyncpg.connect(
                self._dsn, server_settings=self._server_settings
            )
        except BaseException:
            self._pass_on(None)
            raise
        return connection

    def _give_back(self, connection: asyncpg.Connection) -> None:
        if self._closed or connection.is_closed():
            self._drop(connection)
        else:
            self._pass_on(connection)

    def _drop(self, connection: asyncpg.Connection) -> None:
        connection.terminate()
        self._pass_on(None)

    def _pass_on(self, connection: asyncpg.Connection | None) -> None:
        """Hand a connection, or its free slot (None), to the first waiter; else keep it."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        if connection is None:
            self._slots -= 1
        elif self._closed:
            connection.terminate()
            self._slots -= 1
        else:
            self._idle.append(connection)
