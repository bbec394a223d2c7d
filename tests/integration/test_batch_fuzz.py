"""A fuzz test of the batch endpoint: good surveys mixed with broken ones, sent and resent in
any order; every good survey is stored exactly once, every bad one is its own `invalid`."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from tests import hostile
from tests.factories import household_survey

BATCH = "/api/v1/submissions/batch"

# Ways to break a survey, each at one place (a batch may hold many of them).
BREAKS: list[tuple[str, Any]] = [
    ("answers.household_size", "bốn"),
    ("answers.tenure", "castle"),
    ("answers.priority_needs", [[[["deep"]]]] * 3),
    ("answers.instanceName", "x" * 300),
    ("answers.needs_notes", hostile.NUL),
    ("answers.needs_notes", hostile.LONE_SURROGATE),
    ("answers.head_name", {"nested": {"object": True}}),
    ("location.lat", 91),
    ("location", {"lat": 108.47, "lon": 15.57}),  # swapped
    ("collected_at", "yesterday"),
    ("sent_at", 12),
    ("form_id", "no-such-form"),
    ("city", "atlantis"),
    ("id", "not-a-uuid"),
    ("extra_top_level", 1),
    ("answers", None),
]


def broken(index: int) -> dict[str, Any]:
    body = household_survey()
    where, value = BREAKS[index]
    target: Any = body
    *parents, last = where.split(".")
    for part in parents:
        target = target.setdefault(part, {})
    target[last] = copy.deepcopy(value)
    return body


ITEMS = st.lists(
    st.one_of(
        st.just(("good", -1)),
        st.tuples(st.just("bad"), st.integers(min_value=0, max_value=len(BREAKS) - 1)),
        st.just(("not an object", -1)),
    ),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(items=ITEMS, resend_order=st.randoms(use_true_random=False))
def test_good_surveys_are_stored_exactly_once(
    client: TestClient, sync_engine: Engine, items: list[tuple[str, int]], resend_order: Any
) -> None:
    bodies: list[Any] = []
    good: set[str] = set()
    for kind, index in items:
        if kind == "good":
            body = household_survey()
            good.add(body["id"])
            bodies.append(body)
        elif kind == "bad":
            bodies.append(broken(index))
        else:
            bodies.append(["a", "list"])
    payload = json.dumps({"submissions": bodies}).encode()  # lone surrogates included
    first = client.post(BATCH, content=payload, headers={"content-type": "application/json"})
    assert first.status_code == 200, first.text
    results = first.json()["results"]
    assert len(results) == len(bodies)
    for result, body in zip(results, bodies, strict=True):
        is_good = isinstance(body, dict) and body.get("id") in good
        assert result["outcome"] == ("created" if is_good else "invalid"), result
        if not is_good:
            assert result["errors"], result
    # The phone sends the whole outbox again, in another order: nothing new, nothing lost.
    again = list(bodies)
    resend_order.shuffle(again)
    second = client.post(
        BATCH,
        content=json.dumps({"submissions": again}).encode(),
        headers={"content-type": "application/json"},
    )
    assert second.status_code == 200
    outcomes = [r["outcome"] for r in second.json()["results"]]
    assert outcomes.count("duplicate") == len(good) and "created" not in outcomes
    if good:
        with sync_engine.connect() as connection:
            stored = connection.execute(
                text(
                    "SELECT id::text, count(*) FROM household_surveys "
                    "WHERE id = ANY(:ids) GROUP BY 1"
                ),
                {"ids": [uuid.UUID(i) for i in good]},
            ).all()
        assert dict(stored) == dict.fromkeys(good, 1)
