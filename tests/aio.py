"""Running a coroutine from a synchronous test.

The browser tests' Playwright (sync API) keeps an event loop running in the main thread for
the rest of the session, so `asyncio.run()` there raises "cannot be called from a running
event loop" in any test that comes after them. `run()` gives the coroutine a thread and a
loop of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run() in a thread of its own; its result or its exception."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
