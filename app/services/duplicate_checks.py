"""Use case: flag the likely second surveys of a household among phones' batches, a moment
after each batch is answered.

Checking a survey for a likely duplicate (`possible_duplicate`, a flag for the reviewer,
never a refusal) was ~40 % of a batch statement's database time, and a phone waited for it.
A batch statement now queues its surveys' check in the commit that stores them
(app/db/duplicate_checks.py) and `DuplicateChecks`, one per app process, runs the queue:

- once batches have stopped coming into this process for `quiet_seconds` (each answered
  batch says so with `batch_answered`): phones' requests keep the cores while they stream in,
  and a drain stops between two checks when a new batch arrives;
- at the latest `max_delay_seconds` after the first batch it has not checked, even while
  batches keep coming (the checks are cheaper than the batches: the queue empties);
- at start-up, every queued check (those left by a process that was stopped or killed), and
  every `sweep_seconds` while this process takes no batch, the checks queued more than
  `max_delay_seconds` ago (left by another process, which may be gone).

A check is one transaction that deletes its queue row and flags its surveys: one cut short
(the app stopping, a lost connection, an error) commits nothing and the check stays queued;
an error is logged, counted on the row (the others go first next time) and the queue tried
again `sweep_seconds` later. Several processes drain one queue: each check is taken by one of
them (SKIP LOCKED), and they run one after another (an advisory lock), each seeing what the
one before it flagged.

Single surveys (the phone's one-by-one sending, ODK Collect) and the sample loader are still
checked inline, as they are stored: the flag is in the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math

from app.db import duplicate_checks as queries
from app.db.duplicate_checks import CheckConnection

log = logging.getLogger(__name__)


class DuplicateChecks:
    """The background job of one process that runs the queued duplicate checks (see module)."""

    def __init__(
        self,
        connection: CheckConnection,
        *,
        quiet_seconds: float = 1.0,
        max_delay_seconds: float = 30.0,
        sweep_seconds: float = 30.0,
    ) -> None:
        self._connection = connection
        self._quiet = quiet_seconds
        self._max_delay = max_delay_seconds
        self._sweep = sweep_seconds
        self._last_batch = -math.inf  # loop time of the last batch answered
        self._unchecked_since: float | None = None  # the first batch answered and not checked
        self._answered_while_draining: float | None = None
        self._draining = False
        self._retry_at = -math.inf
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()  # one drain at a time in a process
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the background job (in the running event loop)."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="duplicate-checks")

    @property
    def running(self) -> bool:
        """Whether the background job runs (it ends only when stopped)."""
        return self._task is not None and not self._task.done()

    async def stop(self) -> None:
        """Stop the background job: a check running is cancelled (and stays queued), then the
        job's connection is closed."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._connection.close()

    def batch_answered(self) -> None:
        """A batch was stored (its checks queued) and answered: the checks wait until
        batches pause."""
        now = asyncio.get_running_loop().time()
        self._last_batch = now
        if self._draining:  # a drain running may or may not see this batch's checks
            if self._answered_while_draining is None:
                self._answered_while_draining = now
        elif self._unchecked_since is None:
            self._unchecked_since = now
            self._wake.set()

    async def drain(self) -> int:
        """Run every queued check, now, until none is left (a check another process is
        running is left to it); how many this call ran."""
        return await self._drain(queued_before_seconds=0.0, yield_to_batches=False)

    async def queued(self) -> int:
        """Checks in the queue (of every process, those running included)."""
        return await queries.queued(self._connection)

    def _batches_streaming(self, now: float) -> bool:
        """A batch came in less than quiet_seconds ago, and the oldest unchecked is not due."""
        since = self._unchecked_since
        overdue = since is not None and now >= since + self._max_delay
        return now < self._last_batch + self._quiet and not overdue

    async def _drain(self, queued_before_seconds: float, yield_to_batches: bool) -> int:
        loop = asyncio.get_running_loop()
        async with self._lock:
            self._draining, self._answered_while_draining = True, None
            ran, emptied, flagged = 0, False, 0
            try:
                while not (yield_to_batches and self._batches_streaming(loop.time())):
                    took, surveys = await queries.check_one(self._connection, queued_before_seconds)
                    if not took:
                        emptied = True
                        break
                    ran, flagged = ran + 1, flagged + surveys
            finally:
                self._draining = False
                later = self._answered_while_draining
                if emptied and queued_before_seconds <= 0:
                    # Every check queued before the last statement is done; those of a batch
                    # answered during the drain may not be.
                    self._unchecked_since = later
                elif self._unchecked_since is None:
                    self._unchecked_since = later
                if ran:
                    log.debug("duplicate checks: %d run, %d surveys flagged", ran, flagged)
            return ran

    async def _attempt(self, queued_before_seconds: float, yield_to_batches: bool) -> None:
        """A drain that logs its error instead of raising it (the checks stay queued)."""
        try:
            await self._drain(queued_before_seconds, yield_to_batches)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("duplicate checks failed; they stay queued and are tried again")
            self._retry_at = asyncio.get_running_loop().time() + self._sweep

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        await self._attempt(0.0, yield_to_batches=True)  # whatever a stopped process left
        next_sweep = loop.time() + self._sweep
        while True:
            now = loop.time()
            since = self._unchecked_since
            if since is not None:
                due = min(self._last_batch + self._quiet, since + self._max_delay)
            else:
                due = next_sweep
            due = max(due, self._retry_at)
            if now < due:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), due - now)
                continue
            if since is not None:
                await self._attempt(0.0, yield_to_batches=True)
            else:
                # Only checks no running process is about to take (theirs wait at most
                # max_delay_seconds): those of a process that is gone.
                await self._attempt(self._max_delay, yield_to_batches=True)
                next_sweep = loop.time() + self._sweep
