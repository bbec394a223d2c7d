"""CopyStream against a real PostgreSQL: the COPY runs at the database's pace whatever the
reader does, and a COPY stopped half way never leaves its connection to someone else."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.engine import make_engine
from app.db.exports import CopyStream, ExportsBusy, ExportSlots
from app.main import create_app
from app.settings import Settings, with_driver
from tests.auth import bearer

ROWS = 20_000
LINE = "{}:" + "x" * 200  # ~4 MB in all: many chunks of 16 KB
SERIES = f"SELECT g::text || ':' || repeat('x', 200) FROM generate_series(1, {ROWS}) g"
EXPECTED = "".join(LINE.format(n) + "\n" for n in range(1, ROWS + 1)).encode()


def run(database_url: str, body: Callable[[AsyncEngine], Awaitable[Any]]) -> Any:
    """Run `body` with a fresh engine on its own event loop (in a thread of its own: the
    browser tests' Playwright keeps an event loop in this one)."""

    async def main() -> Any:
        engine = make_engine(with_driver(database_url, "postgresql+asyncpg"), 2, 0)
        try:
            return await body(engine)
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, main()).result()


async def eventually(condition: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def checked_out(engine: AsyncEngine) -> int:
    return int(engine.sync_engine.pool.checkedout())  # type: ignore[attr-defined]


async def read_all(stream: CopyStream) -> bytes:
    return b"".join([chunk async for chunk in stream])


def test_a_reader_that_reads_nothing_does_not_hold_the_connection(database_url: str) -> None:
    async def body(engine: AsyncEngine) -> None:
        slots = ExportSlots(1, 1.0)
        stream = await CopyStream.open(
            engine, SERIES, [], slots, memory_chunks=2, chunk_bytes=16 * 1024
        )
        try:
            # Nothing read yet, and the COPY is over: connection and slot are back.
            await eventually(lambda: checked_out(engine) == 0)
            await slots.acquire()
            slots.release()
            assert stream.spilled_bytes > 3_000_000
            assert await read_all(stream) == EXPECTED  # every row, in order
        finally:
            await stream.aclose()

    run(database_url, body)


def test_a_reader_that_keeps_up_never_touches_the_disk(database_url: str) -> None:
    async def body(engine: AsyncEngine) -> None:
        stream = await CopyStream.open(engine, SERIES, [], ExportSlots(1, 1.0))
        try:
            assert await read_all(stream) == EXPECTED
            assert stream.spilled_bytes == 0
        finally:
            await stream.aclose()

    run(database_url, body)


def test_a_reader_that_catches_up_now_and_then_gets_every_row(database_url: str) -> None:
    async def body(engine: AsyncEngine) -> None:
        stream = await CopyStream.open(
            engine, SERIES, [], ExportSlots(1, 1.0), memory_chunks=1, chunk_bytes=4096
        )
        chunks = []
        try:
            async for chunk in stream:
                chunks.append(chunk)
                if len(chunks) in (1, 5, 20):
                    await asyncio.sleep(0.02)  # falls behind, then catches up on the file
        finally:
            await stream.aclose()
        assert b"".join(chunks) == EXPECTED
        assert stream.spilled_bytes > 0

    run(database_url, body)


def test_a_copy_stopped_half_way_drops_its_connection(database_url: str) -> None:
    # A cross join streams its rows (generate_series would compute them all first).
    endless = "SELECT a.relname || b.relname || c.relname FROM pg_class a, pg_class b, pg_class c"

    async def copies_running(engine: AsyncEngine) -> int:
        async with engine.connect() as connection:
            return int(
                await connection.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE query LIKE "
                        "'COPY%pg_class a, pg_class b%' AND pid <> pg_backend_pid()"
                    )
                )
            )

    async def body(engine: AsyncEngine) -> None:
        for _ in range(5):
            stream = await CopyStream.open(engine, endless, [], ExportSlots(1, 1.0))
            async for _chunk in stream:
                break
            await stream.aclose()
            assert checked_out(engine) == 0
            # The pool hands out only connections that answer.
            for _ in range(4):
                async with engine.connect() as connection:
                    assert await connection.scalar(text("SELECT 1")) == 1
        deadline = time.monotonic() + 10
        while await copies_running(engine):  # the server ends them as their client has gone
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)

    run(database_url, body)


def test_no_database_is_an_error_before_the_first_byte(database_url: str) -> None:
    missing = make_url(database_url).set(database=f"cdfmap_missing_{uuid.uuid4().hex[:6]}")

    async def body(_: AsyncEngine) -> None:
        engine = make_engine(
            with_driver(missing.render_as_string(hide_password=False), "postgresql+asyncpg")
        )
        slots = ExportSlots(1, 0.5)
        try:
            with pytest.raises(Exception, match="does not exist"):
                await CopyStream.open(engine, SERIES, [], slots)
            await slots.acquire()  # the slot came back
        finally:
            await engine.dispose()

    run(database_url, body)


def test_exports_beyond_the_limit_wait_then_answer_503(
    settings: Settings, admin_token: str
) -> None:
    busy_settings = settings.model_copy(
        update={"export_concurrency": 2, "export_wait_seconds": 0.2}
    )
    with TestClient(create_app(busy_settings), headers=bearer(admin_token)) as client:
        assert client.portal is not None
        slots: ExportSlots = client.app.state.export_slots  # type: ignore[attr-defined]
        for _ in range(2):
            client.portal.call(slots.acquire)
        try:
            response = client.get(
                "/api/v1/export/households.geojson?city=tam-ky",
                headers={"Accept-Language": "en"},
            )
            assert response.status_code == 503
            assert response.headers["Retry-After"].isdigit()
            body = response.json()
            assert body["code"] == "exports_busy" and body["errors"] == []
            assert "exports" in body["detail"]
            vietnamese = client.get("/api/v1/export/wards.geojson?city=tam-ky").json()
            assert vietnamese["code"] == "exports_busy" and "Máy chủ" in vietnamese["detail"]
        finally:
            for _ in range(2):
                client.portal.call(slots.release)
        assert client.get("/api/v1/export/wards.geojson?city=tam-ky").status_code == 200


def test_a_full_limit_raises_exports_busy_after_the_wait(database_url: str) -> None:
    async def body(_: AsyncEngine) -> None:
        slots = ExportSlots(1, 0.05)
        await slots.acquire()
        started = time.monotonic()
        with pytest.raises(ExportsBusy):
            await slots.acquire()
        assert 0.04 < time.monotonic() - started < 1

    run(database_url, body)
