"""A burst of sign-ins does not hold up the process's other blocking work: argon2 (about half a
second of CPU each here) ran on the default thread pool, where photos are written
(app.services.attachments) and boundary files read, so a photo waited behind every password
check queued before it (and sign-ins behind a slow disk).

The other work's pool is given a known size here, as a small server's default pool is.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from app.db.engine import make_engine
from app.errors import Unauthorized
from app.services.auth import Authenticator, AuthPolicy
from app.settings import Settings
from tests.aio import run

OTHER_WORKERS = 4
BURST = 3 * OTHER_WORKERS


@pytest.fixture
def auth(sync_engine: Engine) -> Iterator[Authenticator]:
    """The app's Authenticator (no token is looked up here), closed as the app's stop does."""
    authenticator = Authenticator(None, os.environ["SECRET_KEY"].encode(), AuthPolicy())  # type: ignore[arg-type]
    yield authenticator
    authenticator.close()
    with sync_engine.begin() as connection:
        connection.execute(text("DELETE FROM sign_in_failures WHERE username LIKE 'burst-%'"))


async def photo_during_a_burst(
    settings: Settings, auth: Authenticator, photo: Path
) -> tuple[float, float, int]:
    """Seconds a photo's write (on the default pool, as app.services.attachments writes one)
    took while a burst of wrong sign-ins was being checked, seconds the burst had left then,
    and how many of the burst were refused."""
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(OTHER_WORKERS))
    engine = make_engine(settings.async_database_url, 4, 16)
    try:
        guesses = [
            # A name and an address each: no throttle, no shared check.
            asyncio.ensure_future(
                auth.check_sign_in(engine, f"burst-{index}", "wrong password", f"10.9.8.{index}")
            )
            for index in range(BURST)
        ]
        # The burst is under way once its first answer is in (the others wait for argon2).
        await asyncio.wait(guesses, return_when=asyncio.FIRST_COMPLETED)
        asked = time.monotonic()
        await asyncio.to_thread(photo.write_bytes, b"\xff\xd8 a photo \xff\xd9")
        photo_seconds = time.monotonic() - asked
        answers = await asyncio.gather(*guesses, return_exceptions=True)
        refused = sum(isinstance(answer, Unauthorized) for answer in answers)
        return photo_seconds, time.monotonic() - asked, refused
    finally:
        await engine.dispose()


def test_a_burst_of_sign_ins_does_not_hold_up_photo_writes(
    settings: Settings, auth: Authenticator, tmp_path: Path
) -> None:
    photo_seconds, burst_seconds, refused = run(
        photo_during_a_burst(settings, auth, tmp_path / "photo.jpg")
    )
    assert refused == BURST
    # On the shared pool, the photo waited for (nearly) every check left in the burst.
    assert photo_seconds < burst_seconds / 4, (photo_seconds, burst_seconds)
