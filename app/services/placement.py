"""Use case: place a batch's surveys in the server, at a boundary generation the database
confirms when it stores them (app.geo.placement; migration 0018).

Each server process keeps one index of every city's wards and settlements, built the first
time a batch needs it and built again when a statement answers that the boundaries moved on
(an import, a boundary edited, a city added). Boundaries too large to hold (more than
MAX_VERTICES vertices in all) are not indexed: the database places every survey, as it
places single surveys and the points the index cannot (no point; outside every ward and
not surely within a city's outskirts, or surely not).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from app.db import submissions as queries
from app.db.pool import StatementPool
from app.geo.placement import Area, Boundaries

# ~100 bytes a prepared vertex: 2,000,000 vertices is ~200 MB at most per process; the
# 50 cities of a national network with cadastral wards hold a few hundred thousand.
MAX_VERTICES = 2_000_000
# When they are too large, how long before their size is read again.
RECHECK_SECONDS = 300.0


class BoundaryIndex:
    """The boundaries of every city as this process last read them (one load at a time)."""

    def __init__(self, pool: StatementPool, max_vertices: int = MAX_VERTICES) -> None:
        self._pool = pool
        self._max_vertices = max_vertices
        self._boundaries: Boundaries | None = None
        self._too_large_until = 0.0
        self._loading: asyncio.Task[Boundaries | None] | None = None

    async def current(self) -> Boundaries | None:
        """The index, loaded if this process has none yet; None when the database places."""
        if self._boundaries is not None:
            return self._boundaries
        return await self.reload(0)

    async def reload(self, generation: int) -> Boundaries | None:
        """The index at `generation` or later (a statement said the boundaries are there)."""
        if self._boundaries is not None and self._boundaries.generation >= generation:
            return self._boundaries
        if time.monotonic() < self._too_large_until:
            return None
        if self._loading is None or self._loading.done():
            self._loading = asyncio.ensure_future(self._load())
        # Shielded: a request that gives up does not cancel the load others wait for.
        return await asyncio.shield(self._loading)

    async def _load(self) -> Boundaries | None:
        if await queries.boundary_vertices(self._pool) > self._max_vertices:
            self._boundaries = None
            self._too_large_until = time.monotonic() + RECHECK_SECONDS
            return None
        records = await queries.boundaries(self._pool)
        # Parsing and preparing the polygons takes milliseconds per thousand vertices: off
        # the event loop (shapely leaves the GIL for them).
        boundaries = await asyncio.to_thread(_build, records)
        self._boundaries = boundaries
        return boundaries


def _build(records: list[Any]) -> Boundaries:
    generation = 0
    cities: dict[str, int] = {}
    wards: list[Area] = []
    settlements: list[Area] = []
    for record in records:
        kind = record["kind"]
        if kind == "generation":
            generation = int(record["id"])
        elif kind == "city":
            cities[record["slug"]] = int(record["id"])
        else:
            area = Area(int(record["id"]), int(record["city_id"]), bytes(record["wkb"]))
            (wards if kind == "ward" else settlements).append(area)
    return Boundaries(generation, cities, wards, settlements, queries.OUTSKIRTS_M)


def boundary_index(pool: StatementPool) -> BoundaryIndex:
    """The process's index for the database this pool reaches."""
    index: BoundaryIndex | None = pool.state.get("boundary_index")
    if index is None:
        index = pool.state["boundary_index"] = BoundaryIndex(pool)
    return index


async def store(pool: StatementPool, rows: list[dict[str, Any]]) -> dict[str, str]:
    """Insert the surveys whose id is not stored (content hash by new id): those the index
    places at a confirmed generation, the others placed by the database."""
    index = boundary_index(pool)
    boundaries = await index.current()
    for _ in range(3):  # boundaries moving three times during one statement: let SQL place
        if boundaries is None:
            break
        places = boundaries.place(
            [row["lon"] for row in rows],
            [row["lat"] for row in rows],
            [row["city"] for row in rows],
        )
        placed: list[dict[str, Any]] = []
        others: list[dict[str, Any]] = []
        for row, place in zip(rows, places, strict=True):
            if place is None or queries.SHAPE_KEY in row:  # an area's survey: SQL stores it
                others.append(row)
            else:
                row["city_id"] = place.city_id
                row["ward_id"] = place.ward_id
                row["settlement_id"] = place.settlement_id
                placed.append(row)
        try:
            stored = await queries.insert_placed(pool, placed, boundaries.generation)
        except queries.BoundariesMoved as moved:
            boundaries = await index.reload(moved.generation)
            continue
        if others:
            stored |= await queries.insert_many(pool, others)
        return stored
    return await queries.insert_many(pool, rows)
