"""A batch's statements (app.services.submissions): when one fails, the others still
running are cancelled and waited for, and another's failure is logged, not lost."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from app.services import placement, submissions
from tests.aio import run


def test_a_second_failure_is_logged_and_every_statement_ended(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    started: list[asyncio.Task[Any]] = []

    async def store(pool: Any, rows: list[dict[str, Any]]) -> dict[str, str]:
        task = asyncio.current_task()
        assert task is not None
        started.append(task)
        if len(started) == 1:
            await asyncio.sleep(0.05)
            raise RuntimeError("first statement failed")
        raise ValueError("second statement failed")

    monkeypatch.setattr(placement, "store", store)
    rows = [{"id": str(index)} for index in range(400)]  # two statements of 200

    async def scenario() -> None:
        with pytest.raises(RuntimeError, match="first statement failed"):
            await submissions._store(object(), rows)  # type: ignore[arg-type]
        assert len(started) == 2 and all(task.done() for task in started)

    with caplog.at_level(logging.ERROR, logger=submissions.log.name):
        run(scenario())
    assert any(
        record.exc_info and "second statement failed" in str(record.exc_info[1])
        for record in caplog.records
    ), caplog.records


def test_a_slow_statement_is_cancelled_and_waited_for_when_another_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ended: list[str] = []

    async def store(pool: Any, rows: list[dict[str, Any]]) -> dict[str, str]:
        if rows[0]["id"] == "0":
            raise RuntimeError("first statement failed")
        try:
            await asyncio.sleep(10)
        finally:
            ended.append("slow")
        return {}

    monkeypatch.setattr(placement, "store", store)
    rows = [{"id": str(index)} for index in range(400)]

    async def scenario() -> None:
        with pytest.raises(RuntimeError):
            await submissions._store(object(), rows)  # type: ignore[arg-type]
        assert ended == ["slow"]  # its cleanup ran before the batch's error came back

    run(scenario())


def test_a_batch_is_checked_in_turns_that_let_other_requests_in() -> None:
    """check_in_turns: every item checked in order, another task running between turns."""
    from app.api.submissions import CHECKS_PER_TURN, check_in_turns

    events: list[str] = []

    def check(item: Any) -> tuple[None, list[Any]]:
        events.append(f"check {item}")
        return None, [item]

    async def other() -> None:
        events.append("other request")

    async def scenario() -> list[Any]:
        task = asyncio.ensure_future(other())
        checked = await check_in_turns(check, list(range(CHECKS_PER_TURN * 2 + 1)))
        await task
        return checked

    checked = run(scenario())
    assert [problems[0] for _, problems in checked] == list(range(CHECKS_PER_TURN * 2 + 1))
    assert events.index("other request") == CHECKS_PER_TURN  # after the first turn's checks
    assert run(check_in_turns(check, [])) == []
