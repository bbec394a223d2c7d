"""SQL for GeoJSON layers: PostGIS writes each Feature; Python only joins them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.sql import sql_literal

COORDINATE_DECIMALS = 6  # about 0.1 m, more than any phone GPS gives

# How a property's SQL value becomes JSON text, cheapest first. PostgreSQL's JSON builders
# (json_build_object, row_to_json) look up each argument's type on every row, which made
# them most of an export's cost; plain text concatenation of values that are already JSON
# does not.
Kind = Literal["number", "code", "json", "text"]
_JSON_VALUE = {
    # integer, float8 or numeric: their text form is JSON (no NaN or infinity is stored)
    "number": "coalesce(({})::text, 'null')",
    # text that cannot hold a quote, backslash or control character (uuids, slugs, status
    # codes, choice names: the form loader refuses others): quoted as it is
    "code": "coalesce('\"' || ({}) || '\"', 'null')",
    # a jsonb value: its text form is JSON
    "json": "coalesce(({})::text, 'null')",
    # anything else (names, free text, timestamps): escaped by PostgreSQL
    "text": "coalesce(to_json({})::text, 'null')",
}


@dataclass(frozen=True)
class Property:
    """One GeoJSON property: its name, its SQL expression and how to write it as JSON."""

    name: str
    sql: str
    kind: Kind = "text"


def properties_sql(properties: Sequence[Property]) -> str:
    """SQL text expression for the JSON object of the properties, in their order."""
    members = []
    for index, prop in enumerate(properties):
        key = ("{" if index == 0 else ",") + orjson.dumps(prop.name).decode() + ":"
        members.append(f"{sql_literal(key)} || {_JSON_VALUE[prop.kind].format(prop.sql)}")
    return " || ".join(members) + " || '}'" if members else "'{}'"


def feature_sql(geometry: str, properties: Sequence[Property], source: str) -> str:
    """A SELECT yielding one GeoJSON Feature text per row."""
    return (
        f'SELECT \'{{"type":"Feature","geometry":\' || '
        f"ST_AsGeoJSON({geometry}, {COORDINATE_DECIMALS}) || "
        f"',\"properties\":' || {properties_sql(properties)} || '}}' FROM {source}"
    )


async def stream_copy(
    engine: AsyncEngine,
    sql: str,
    args: Sequence[Any],
    queue_chunks: int = 8,
    chunk_bytes: int = 256 * 1024,
) -> AsyncIterator[bytes]:
    """Yield the rows of `sql` (one text column, written as it is), one per line, ~256 KB at once.

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
                # CSV with a delimiter and a quote that JSON text never holds: rows come out
                # as they are, without the backslash escaping of COPY's text format.
                await driver.copy_from_query(
                    sql, *args, output=gather, format="csv", delimiter="\x02", quote="\x01"
                )
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
