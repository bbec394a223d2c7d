"""Once loaded, the app raises the garbage collector's thresholds (app.main.GC_THRESHOLDS): a
phone's batch of 500 surveys (some 25,000 live objects while it is checked) is stored without
the collector passing over it again and again, as it did at Python's own thresholds."""

from __future__ import annotations

import gc
from typing import Any

from fastapi.testclient import TestClient

from app.main import GC_THRESHOLDS
from tests.factories import household_survey

BATCH = "/api/v1/submissions/batch"
PYTHONS_OWN = (700, 10, 10)


def _passes_while_stored(client: TestClient) -> int:
    """How many collector passes storing a new batch of 500 surveys took."""
    body = {"submissions": [household_survey() for _ in range(500)]}
    passes = 0

    def count(phase: str, info: dict[str, Any]) -> None:
        nonlocal passes
        passes += phase == "start"

    gc.collect()
    gc.callbacks.append(count)
    try:
        response = client.post(BATCH, json=body)
    finally:
        gc.callbacks.remove(count)
    assert response.status_code == 200, response.text
    assert response.json()["summary"]["created"] == 500
    return passes


def test_a_batch_is_stored_without_the_collector_passing_over_it(client: TestClient) -> None:
    assert gc.get_threshold() == GC_THRESHOLDS
    tuned = _passes_while_stored(client)
    gc.set_threshold(*PYTHONS_OWN)
    try:
        untuned = _passes_while_stored(client)
    finally:
        gc.set_threshold(*GC_THRESHOLDS)
    assert tuned <= 1
    assert untuned >= 5
