"""SQL for GeoJSON layers: PostGIS writes each Feature; Python only joins them."""

from __future__ import annotations

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


async def stream_rows(
    engine: AsyncEngine, sql: str, args: Sequence[Any], prefetch: int = 2000
) -> AsyncIterator[str]:
    """Yield the first column of each row through a server-side cursor (flat memory)."""
    async with engine.connect() as connection:
        # SQLAlchemy opens the transaction a server-side cursor needs; asyncpg then reads.
        await connection.exec_driver_sql("SET TRANSACTION READ ONLY")
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection
        async for record in driver.cursor(sql, *args, prefetch=prefetch):
            yield record[0]
