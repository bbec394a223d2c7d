"""SQL for GeoJSON layers: PostGIS writes each Feature; Python only joins them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

# json_build_object takes at most 100 arguments: build properties in chunks of this many pairs.
_PAIRS_PER_CALL = 40
COORDINATE_DECIMALS = 6  # about 0.1 m, more than any phone GPS gives


def properties_sql(columns: Sequence[tuple[str, str]]) -> str:
    """SQL text expression for a JSON object of (property name, SQL expression) pairs."""
    parts = []
    for start in range(0, len(columns), _PAIRS_PER_CALL):
        chunk = columns[start : start + _PAIRS_PER_CALL]
        args = ", ".join(f"'{name}', {expression}" for name, expression in chunk)
        parts.append(f"json_build_object({args})::text")
    if len(parts) == 1:
        return parts[0]
    # Join the objects' members: drop the inner closing/opening braces.
    inner = [f"substr({p}, 2, length({p}) - 2)" for p in parts]
    return "'{' || concat_ws(',', " + ", ".join(f"nullif({i}, '')" for i in inner) + ") || '}'"


def feature_sql(geometry: str, columns: Sequence[tuple[str, str]], source: str) -> str:
    """A SELECT yielding one GeoJSON Feature text per row."""
    return (
        f'SELECT \'{{"type":"Feature","geometry":\' || '
        f"ST_AsGeoJSON({geometry}, {COORDINATE_DECIMALS}) || "
        f"',\"properties\":' || {properties_sql(columns)} || '}}' FROM {source}"
    )


async def stream_copy(
    engine: AsyncEngine,
    sql: str,
    args: Sequence[Any],
    queue_chunks: int = 8,
    chunk_bytes: int = 256 * 1024,
) -> AsyncIterator[bytes]:
    """Yield the rows of `sql` as COPY text, one row per line, in chunks of ~256 KB.

    The COPY runs in a task feeding a small bounded queue, so a slow client slows the database
    read instead of filling memory. PostgreSQL sends one message per row: they are gathered
    into chunks before they cross the queue, so nothing is done per row in Python.
    """
    queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue(maxsize=queue_chunks)
    pending: list[bytes] = []
    pending_bytes = 0

    async def gather(data: bytes) -> None:
        nonlocal pending_bytes
        pending.append(data)
        pending_bytes += len(data)
        if pending_bytes >= chunk_bytes:
            chunk = b"".join(pending)
            pending.clear()
            pending_bytes = 0
            await queue.put(chunk)

    async def produce() -> None:
        try:
            async with engine.connect() as connection:
                raw = await connection.get_raw_connection()
                driver: Any = raw.driver_connection
                await driver.copy_from_query(sql, *args, output=gather)
            if pending:
                await queue.put(b"".join(pending))
            await queue.put(None)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            await queue.put(exc)

    task = asyncio.create_task(produce())
    try:
        while (item := await queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
