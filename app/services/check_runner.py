"""Use case: check surveys of the forms that need the whole evaluation off the event loop.

Checking a survey of the household form (one pass in form order, app.forms.validation's flat
plan) takes ~20 µs and runs where the request runs. A form with repeats, calculations or a
group's relevance is checked by the whole engine, in rounds as the phone settles it; a
survey of such a form may take long: a repeat of 500 members whose calculations count the
members, in a chain the phone settles round by round, took ~0.5 s. On the event loop, every
other phone, page and download of the process waited that long, and a batch of such surveys
held it for minutes. Those checks run on one worker thread of the process instead, one batch
or survey at a time, first come first served: the event loop goes on answering the others
meanwhile (the checks let go of the interpreter every few milliseconds).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from app.errors import UnknownForm
from app.forms.registry import FormRegistry

T = TypeVar("T")


def needs_whole_engine(forms: FormRegistry, items: Iterable[Any]) -> bool:
    """Whether any of the raw surveys names a form (and version) whose surveys the flat plan
    cannot check. A survey naming no known form is refused quickly: it needs nothing."""
    for raw in items:
        if not isinstance(raw, dict):
            continue
        form_id, version = raw.get("form_id"), raw.get("form_version")
        if not isinstance(form_id, str):
            continue
        # As intake reads them (app.services.intake.prepare_submission).
        version = str(version) if isinstance(version, int | str) and str(version) else None
        try:
            form = forms.get(form_id.strip(), version)
        except UnknownForm:
            continue
        if form.compiled.flat is None:
            return True
    return False


class CheckRunner:
    """The process's worker thread for long checks (see the module)."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="survey-checks")

    async def run(self, function: Callable[[], T]) -> T:
        """`function()` on the worker thread, after the checks queued before it."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, function)

    def close(self) -> None:
        """Stop the thread at the app's shutdown: the check running is finished; those still
        queued are dropped (uvicorn has let the requests finish or closed them by then)."""
        self._executor.shutdown(wait=True, cancel_futures=True)
