"""The likely-duplicate check of phones' batches, run from a queue after the batch is answered.

A batch statement (app/db/submissions.py, `_INSERT_MANY_ASYNCPG`) stores its surveys without
the check and queues the ids of those in a settlement, one `duplicate_checks` row per
statement, in the same commit. In one transaction, `TAKE_ONE` locks one queued row (one that
no other process is running: SKIP LOCKED) and `CHECK_ONE` deletes it and flags its surveys,
so a check is done exactly once whatever stops it: cut short (a shutdown, a lost
connection), nothing of it commits and the row stays queued for the next try.

The checks run on a connection of their own (`CheckConnection`), not on the ingest pools
(app.db.pool): a check never takes a connection a phone's request waits for, and a check
cancelled while it runs (the app stopping) must roll back. StatementPool terminates a
cancelled statement's connection, and PostgreSQL then runs the statement it has received to
its end and commits it: measured, an UPDATE waiting for a row lock committed after its client
had terminated the connection. Here, asyncpg sends the server a cancel request when a
statement is cancelled, and the connection is closed only once the server has answered it.

A check whose statement fails (a bug, a statement timeout) is counted on its row
(`failures`, migration 0021) and the checks are taken by fewest failures, then oldest: one
that fails every time is tried again after the others, never in front of them for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

from app.db.submissions import duplicate_probe, received_before

T = TypeVar("T")

# How long a cancelled check waits for the server to confirm it was stopped before the
# connection is cut anyway.
CANCEL_WAIT_SECONDS = 5.0

FLAG = "possible_duplicate"

# A survey is compared with those received before it, by the inline check's rules and text:
# what the inline check of a single survey sees when it is stored. Within one statement
# (one received_at) the later id is the second survey: of a pair, one only is flagged.
# An approved or rejected survey is flagged too (the reviewer may look again); one that
# carries the flag already (a correction checked it inline) is not flagged twice. The
# surveys flagged are locked in id order, as every statement changing several surveys
# locks them (app/db/submissions.py): none can deadlock with another.
# The flag is no change the phone shows (its sync of a volunteer's own surveys reads status,
# comment and version by updated_at), so updated_at stays: a phone would otherwise download
# every survey of its batch again. The tally trigger counts no flags and the parents
# trigger checks no unchanged place: an update of flags costs them nothing.
# A survey received later that was checked already and not flagged (its check is done: no
# longer queued, or it was a single survey checked inline) did not see this one: a batch that
# began first (its received_at) may commit after the other's check ran. Then this one is the
# one flagged, so that of a pair one is flagged whatever the order of commits. The queue is
# read as the statement began (the job's own row included: a pair within one job is decided
# by received_at and id).
_RECEIVED_BEFORE = received_before("i.received_at", "SELECT id FROM queued")
# Taken (for the transaction) by each check between taking its row and running it: the
# checks of several processes run one after another, so that each sees what the one before
# it committed. Two at once could each miss the other's survey: a check still running keeps
# its job queued in the other's snapshot, so the other skips the pair as "decided by the
# later check", and the later check's snapshot was taken before the other batch committed.
# "dupcheck" in ASCII (any fixed bigint outside the int4 range of hashtext's keys).
CHECKS_LOCK = int.from_bytes(b"dupcheck", "big")
# The check to run: the one with fewest failures, then the oldest, of those queued at least
# $1 seconds ago that no other process is running (locked until the check commits).
TAKE_ONE = """
SELECT q.id FROM duplicate_checks q
WHERE $1::float8 <= 0 OR q.queued_at <= now() - make_interval(secs => $1::float8)
ORDER BY q.failures, q.id LIMIT 1
FOR UPDATE SKIP LOCKED
"""
CHECK_ONE = f"""
WITH queued AS MATERIALIZED (
    SELECT unnest(survey_ids) AS id FROM duplicate_checks
), job AS (
    DELETE FROM duplicate_checks WHERE id = $1
    RETURNING survey_ids
), found AS MATERIALIZED (
    SELECT i.id, i.version, i.settlement_id FROM household_surveys i
    WHERE i.id = ANY((SELECT survey_ids FROM job)::uuid[])
      AND NOT ('{FLAG}' = ANY(i.flags))
      AND EXISTS ({duplicate_probe("i.settlement_id", _RECEIVED_BEFORE)})
), locked AS MATERIALIZED (
    SELECT h.id FROM household_surveys h JOIN found f ON f.id = h.id
    -- As the probe read it: a correction (a new version: point, names, phone) or a move to
    -- another settlement that committed while this waited for the row leaves it unflagged
    -- (a lock re-reads the row's newest version and its conditions: READ COMMITTED); the
    -- correction checked the survey's new content itself.
    WHERE h.version = f.version AND h.settlement_id IS NOT DISTINCT FROM f.settlement_id
    ORDER BY h.id
    FOR NO KEY UPDATE OF h
), flagged AS (
    UPDATE household_surveys h SET flags = array_append(h.flags, '{FLAG}')
    FROM locked l
    WHERE h.id = l.id AND NOT ('{FLAG}' = ANY(h.flags))
    RETURNING h.id
)
SELECT count(*) AS jobs, (SELECT count(*) FROM flagged) AS flagged FROM job
"""


class CheckConnection:
    """One asyncpg connection, opened on demand, running one statement at a time; a statement
    cancelled is stopped by the server (rolled back) before the connection closes."""

    def __init__(self, dsn: str, server_settings: dict[str, str]) -> None:
        self._dsn = dsn
        self._server_settings = server_settings
        self._connection: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        """Run one statement and return its rows."""

        async def statement(connection: asyncpg.Connection) -> list[asyncpg.Record]:
            records: list[asyncpg.Record] = await connection.fetch(sql, *args)
            return records

        return await self.run(statement)

    async def run(self, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """Run `work` (statements, a transaction) on the connection, alone."""
        async with self._lock:
            connection = self._connection
            if connection is None or connection.is_closed():  # first use, or a restart
                self._connection = None
                connection = await asyncpg.connect(self._dsn, server_settings=self._server_settings)
                self._connection = connection
            try:
                result = await work(connection)
            except asyncpg.PostgresError:
                raise  # the server answered: the connection is ready (or closed by it)
            except asyncio.CancelledError:
                self._connection = None
                # asyncpg has sent a cancel request; close() waits for the server's answer.
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.wait_for(connection.close(), CANCEL_WAIT_SECONDS)
                if not connection.is_closed():
                    connection.terminate()
                raise
            except BaseException:
                self._connection = None
                connection.terminate()
                raise
            return result

    async def close(self) -> None:
        """Close the connection (call once no statement runs)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), CANCEL_WAIT_SECONDS)
            if not connection.is_closed():
                connection.terminate()


async def check_one(
    connection: CheckConnection, queued_before_seconds: float = 0.0
) -> tuple[bool, int]:
    """Run one queued check (of those free and queued at least `queued_before_seconds` ago,
    the one with fewest failures, then the oldest); whether there was one, and how many
    surveys it flagged. A check that fails is counted and its error raised."""

    async def check(connection: asyncpg.Connection) -> tuple[bool, int]:
        job = None
        try:
            async with connection.transaction():
                job = await connection.fetchval(TAKE_ONE, queued_before_seconds)
                if job is None:
                    return False, 0
                # A statement of its own: CHECK_ONE's snapshot is taken once the lock is held.
                await connection.execute("SELECT pg_advisory_xact_lock($1)", CHECKS_LOCK)
                record = await connection.fetchrow(CHECK_ONE, job)
        except asyncpg.PostgresError:
            if job is not None:  # rolled back: counted, so that the others go first
                await connection.execute(
                    "UPDATE duplicate_checks SET failures = failures + 1 WHERE id = $1", job
                )
            raise
        assert record is not None
        return record["jobs"] > 0, int(record["flagged"])

    return await connection.run(check)


async def queued(connection: CheckConnection) -> int:
    """Checks waiting in the queue (those running included)."""
    return int((await connection.fetch("SELECT count(*) FROM duplicate_checks"))[0][0])
