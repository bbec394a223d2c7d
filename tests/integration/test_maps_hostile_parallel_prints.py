"""A burst of PNG prints against a real uvicorn server: bounded memory, 200 or 503, never 500.

Measured on the 2-core dev machine (sample city, 600 households, A3 landscape PNG at 200 dpi,
20 requests at once): before the fix the server went from 219 MB (warm) to 640-660 MB and
stayed there: up to six renders ran at once and each finished page kept its 31 MB image
alive until a full garbage collection. Now at most 2 render at once (print_concurrency) and
a saved page lets go of its image: 190 MB warm, 268 MB peak, and the same after. Bounds:
two renders in flight (~40 MB each, the growth measured) with 2x slack for the allocator;
afterwards no more than that may remain (nothing kept per request).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.forms.registry import FormRegistry
from app.services.maps import PrintsBusy, PrintSlots
from bench.common import uvicorn_server
from tests.auth import bearer
from tests.integration.test_maps_web import load_households

REQUESTS = 20  # more than print_concurrency (2) + print_queue (8): some must be turned away
RENDER_MB = 40  # one A3 PNG render in flight (measured, see above)
PEAK_GROWTH_MB = 2 * RENDER_MB * 2
SETTLED_GROWTH_MB = PEAK_GROWTH_MB
PEAK_MB = 450


def memory_mb(pid: int, field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} for {pid}")


@pytest.mark.slow
def test_parallel_pngs_are_bounded(
    database_url: str,
    sync_engine: Engine,
    forms: FormRegistry,
    clean_surveys: None,
    admin_token: str,
) -> None:
    load_households(sync_engine, forms, 600)
    with sync_engine.connect() as connection:
        ward_id = connection.execute(
            text(
                "SELECT ward_id FROM household_surveys WHERE ward_id IS NOT NULL "
                "GROUP BY ward_id ORDER BY count(*) DESC LIMIT 1"
            )
        ).scalar_one()
    url = f"/maps/wards/{ward_id}.png?size=A3&orientation=landscape"
    with (
        uvicorn_server("app.main:create_app", database_url) as (base, pid),
        httpx.Client(base_url=base, timeout=300, headers=bearer(admin_token)) as client,
    ):
        assert client.get(url).status_code == 200  # imports, fonts and caches warmed up
        warm = memory_mb(pid, "VmRSS")
        start = threading.Barrier(REQUESTS)

        def fetch(_: int) -> httpx.Response:
            with httpx.Client(base_url=base, timeout=300, headers=bearer(admin_token)) as own:
                start.wait()  # all at once
                return own.get(url)

        with ThreadPoolExecutor(REQUESTS) as pool:
            responses: list[Any] = list(pool.map(fetch, range(REQUESTS)))
        peak = memory_mb(pid, "VmHWM")
        time.sleep(2)
        settled = memory_mb(pid, "VmRSS")

        statuses = sorted(response.status_code for response in responses)
        assert set(statuses) <= {200, 503}, statuses
        assert statuses.count(200) >= 2, statuses
        report = f"warm {warm:.0f} MB, peak {peak:.0f} MB, settled {settled:.0f} MB"
        assert peak < PEAK_MB, report
        assert peak - warm < PEAK_GROWTH_MB, report
        assert settled - warm < SETTLED_GROWTH_MB, report
        assert statuses.count(503) >= 1, "a full queue is told to come back later"
        for response in responses:
            if response.status_code == 200:
                assert response.content.startswith(b"\x89PNG")
            else:
                assert int(response.headers["Retry-After"]) > 0
                assert response.json()["code"] == "prints_busy"
        english = client.get(url + "&lang=en")  # the server still prints afterwards
        assert english.status_code == 200


class NoFreeSlot(PrintSlots):
    """Print slots that are always all taken, queue included."""

    @contextlib.asynccontextmanager
    async def slot(self, holder: object = None) -> AsyncIterator[None]:
        """Refuse at once."""
        raise PrintsBusy
        yield  # an async generator, as the real one


def test_busy_answer_is_translated(client: TestClient, sync_engine: Engine) -> None:
    with sync_engine.connect() as connection:
        ward_id = connection.execute(text("SELECT min(id) FROM wards")).scalar_one()
    client.app.state.print_slots = NoFreeSlot(1, 0)  # type: ignore[attr-defined]
    for language, words in (("vi", "Máy chủ đang in"), ("en", "The server is printing")):
        response = client.get(f"/maps/wards/{ward_id}.png?lang={language}")
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert response.json()["code"] == "prints_busy"
        assert words in response.json()["detail"]


def test_slots_queue_then_refuse() -> None:
    async def scenario() -> list[str]:
        slots = PrintSlots(concurrency=1, queue=1)
        release = asyncio.Event()
        order: list[str] = []

        async def job(name: str) -> None:
            async with slots.slot():
                order.append(name)
                await release.wait()

        first = asyncio.create_task(job("first"))
        await asyncio.sleep(0)
        second = asyncio.create_task(job("second"))  # waits in the queue
        await asyncio.sleep(0)
        with pytest.raises(PrintsBusy):
            async with slots.slot():
                pass
        release.set()
        await asyncio.gather(first, second)
        async with slots.slot():  # free again
            order.append("third")
        return order

    # In a thread of its own: the browser tests' Playwright keeps an event loop in this one.
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, scenario()).result() == ["first", "second", "third"]


def test_one_reader_cannot_take_every_slot() -> None:
    """One reader's ten prints in a loop filled the two slots and the eight places in the
    queue: every other reader's print was a 503 for as long as the loop ran (review). A
    reader has two prints admitted at most; another reader still gets a place."""

    async def scenario() -> list[str]:
        slots = PrintSlots(concurrency=2, queue=8)
        release = asyncio.Event()
        order: list[str] = []

        async def job(holder: int, name: str) -> None:
            async with slots.slot(holder):
                order.append(name)
                await release.wait()

        greedy = [asyncio.create_task(job(1, f"greedy-{n}")) for n in range(2)]
        await asyncio.sleep(0)
        for _ in range(3):
            with pytest.raises(PrintsBusy):
                async with slots.slot(1):
                    pass
        other = asyncio.create_task(job(2, "other"))
        await asyncio.sleep(0)
        release.set()
        await asyncio.gather(*greedy, other)
        async with slots.slot(1):  # its prints done, the reader prints again
            order.append("greedy-again")
        return order

    with ThreadPoolExecutor(1) as pool:
        order = pool.submit(asyncio.run, scenario()).result()
    assert sorted(order) == ["greedy-0", "greedy-1", "greedy-again", "other"]
