"""Waiting for the duplicate checks of batches, which run a moment after the batch is answered
(app/services/duplicate_checks.py): a test that expects `possible_duplicate` on a survey sent
in a batch runs them first."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text


def run_duplicate_checks(client: TestClient) -> int:
    """Run every queued duplicate check now, in the app's event loop (as its background job
    does); how many ran."""
    assert client.portal is not None, "inside `with TestClient(app)`: the app is running"
    checks = client.app.state.duplicate_checks  # type: ignore[attr-defined]
    return int(client.portal.call(checks.drain))


def queued_checks(engine: Engine) -> int:
    """Duplicate checks in the queue."""
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM duplicate_checks")).scalar_one())


def wait_for_duplicate_checks(engine: Engine, seconds: float = 20.0) -> None:
    """Wait until a running app's background job has run every queued duplicate check."""
    deadline = time.monotonic() + seconds
    while queued_checks(engine):
        assert time.monotonic() < deadline, "the duplicate checks were not run"
        time.sleep(0.05)
