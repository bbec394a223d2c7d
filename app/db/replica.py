"""Reads that may be slightly behind, on a streaming read replica while it answers.

A hot standby (docs/deploy.md) replays the primary's WAL a few milliseconds to seconds behind.
Maps, exports, tiles, the OGC API, indicators and progress read it when DATABASE_REPLICA_URL
is set; writes, sign-in and token checks (a revocation must hold at once), review, the CDF's
books and a volunteer's own reads stay on the primary (app.api.deps).

Why a check at each read and not only a background probe: a replica stopped between two
probes would answer every read in between with a 5xx. The check is a checkout from the
replica's pool, which costs no round trip while a pooled connection is open (the engine's
checkout event drops those the server closed) and otherwise opens one, with a short timeout,
that the read then uses. When it fails the read goes to the primary, a warning is logged once,
each such read is counted, and the replica is tried again only after `retry_seconds` (by one
read at a time), so a dead replica costs one timeout per interval, not one per request. A
replica that fails in the middle of a read still fails that read: the next ones go to the
primary.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import exc, text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

# Whether the replica streams from its primary, and how far behind it is in seconds. While it
# streams: 0 once it has replayed all it received (an idle primary writes no transactions,
# and the age of the last one is no lag then), else the age of its last replayed
# transaction. While it does not stream: the age of its last replayed transaction (cut off
# from its primary, it has replayed all it received and cannot know what it missed). NULL,
# unknown, when it has replayed no transaction since it started, except while its receiver
# is seen streaming: 0 then (close behind; NULL flapped the reads to the primary on every
# background WAL record of an idle primary). A role without pg_read_all_stats sees the WAL
# receiver's process but not its status: there a running receiver counts as streaming, but
# a NULL age stays unknown (the receiver may be still connecting, to a primary it may not
# reach).
_STATE = """
    SELECT s.streaming,
           CASE WHEN s.streaming AND pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                WHEN s.seen_streaming
                    THEN coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)
                ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END AS lag_seconds
    FROM (SELECT bool_or(coalesce(status, 'streaming') = 'streaming') IS TRUE AS streaming,
                 bool_or(status = 'streaming') IS TRUE AS seen_streaming
          FROM pg_stat_wal_receiver) s"""
# On the replica: still replaying WAL (a standby), where it has replayed to, whether it
# streams and how far behind it is.
STANDBY_STATE = text(
    "SELECT pg_is_in_recovery() AS standby, pg_last_wal_replay_lsn()::text AS replayed,"
    f" r.streaming, r.lag_seconds FROM ({_STATE}) r"
)
# On the primary: where its WAL ends; what lies between that and the replica's replay
# position is the replica's lag in bytes.
WAL_END = text("SELECT pg_current_wal_lsn()::text")
LAG_SECONDS = text(f"SELECT r.lag_seconds FROM ({_STATE}) r")


def lsn_bytes(lsn: str) -> int:
    """A WAL position ("16/B374D848") as a byte offset."""
    high, _, low = lsn.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


class ReplicaReads:
    """Which engine a read that may be slightly behind goes to: the replica, or the primary
    while the replica does not answer (or when there is none)."""

    def __init__(
        self,
        primary: AsyncEngine,
        replica: AsyncEngine | None,
        retry_seconds: float = 10.0,
        on_fallback: Callable[[], None] = lambda: None,
        max_lag_seconds: float | None = None,
    ) -> None:
        self.primary = primary
        self.replica = replica
        self.retry_seconds = retry_seconds
        self.max_lag_seconds = max_lag_seconds
        self._on_fallback = on_fallback
        self._down_until = 0.0  # time.monotonic() before which the replica is not tried
        self._trying = False  # one read at a time tries a replica that was down
        # With a lag limit: whether the replica was too far behind at the last look, and
        # when to look again (one read at a time asks, on the connection it opens anyway).
        self._behind = False
        self._lag_checked_at = -math.inf
        self._checking_lag = False

    @property
    def replica_up(self) -> bool:
        """Whether reads go to the replica now (False without one, or while it is too far
        behind)."""
        return self.replica is not None and self._down_until == 0.0 and not self._behind

    @property
    def _lag_check_seconds(self) -> float:
        """How often the lag is looked at: often enough to notice it within the limit."""
        assert self.max_lag_seconds is not None
        return min(5.0, max(0.1, self.max_lag_seconds / 2))

    async def engine(self) -> AsyncEngine:
        """The engine for this read."""
        replica = self.replica
        if replica is None:
            return self.primary
        if self._down_until:
            if self._trying or time.monotonic() < self._down_until:
                self._on_fallback()
                return self.primary
            self._trying = True
        check_lag = (
            self.max_lag_seconds is not None
            and not self._checking_lag
            and time.monotonic() - self._lag_checked_at >= self._lag_check_seconds
        )
        if self._behind and not check_lag and not self._trying:
            self._on_fallback()  # too far behind at the last look: not worth a connection
            return self.primary
        if check_lag:
            self._checking_lag = True
        try:
            connection = await replica.connect()
            try:
                if check_lag:
                    lag = (await connection.execute(LAG_SECONDS)).scalar_one()
                    self._lag_checked_at = time.monotonic()
                    self._note_lag(lag)
            finally:
                await connection.close()  # back to the pool, open, for the read that follows
        except exc.TimeoutError:
            # Every pooled connection busy for the pool's timeout: a busy replica, not a dead
            # one; this read goes to the primary, the next ones try the replica again.
            self._on_fallback()
            return self.primary
        except Exception as error:  # anything that stops reaching the replica: the primary reads
            self.mark_down(error)
            self._on_fallback()
            return self.primary
        finally:
            self._trying = False
            if check_lag:
                self._checking_lag = False
        if self._down_until:
            self._down_until = 0.0
            log.warning("the read replica answers again: reads that may lag go to it")
        if self._behind:
            self._on_fallback()
            return self.primary
        return replica

    def _note_lag(self, lag: float | Decimal | None) -> None:
        """Reads go to the primary while the replica is more than the limit behind, or
        cannot tell how far behind it is (`lag` None)."""
        assert self.max_lag_seconds is not None
        behind = lag is None or float(lag) > self.max_lag_seconds
        if behind and not self._behind:
            log.warning(
                "the read replica is %s behind (limit %g s): reads go to the primary",
                "an unknown time" if lag is None else f"{float(lag):.1f} s",
                self.max_lag_seconds,
            )
        elif self._behind and not behind:
            log.warning("the read replica has caught up: reads that may lag go to it again")
        self._behind = behind

    def mark_down(self, error: BaseException) -> None:
        """Send reads to the primary for `retry_seconds` (logged when the replica was up)."""
        if not self._down_until:
            # The reason can name hosts and users: the log only, never an answer.
            log.warning(
                "the read replica does not answer, reads go to the primary (next try in %g s): %r",
                self.retry_seconds,
                error,
            )
        self._down_until = time.monotonic() + self.retry_seconds


async def replica_state(reads: ReplicaReads) -> dict[str, Any]:
    """For /readyz: the replica's state (ok, unavailable, not_a_standby) and its lag in
    seconds and bytes of WAL. Never raises: a replica that does not answer is a state."""
    replica = reads.replica
    if replica is None:
        return {}
    try:
        async with replica.connect() as connection:
            row = (await connection.execute(STANDBY_STATE)).mappings().one()
    except Exception as error:  # any failure to reach the replica is its state
        reads.mark_down(error)
        return {"replica": "unavailable"}
    if not row["standby"]:
        # A primary of its own (promoted, or a wrong URL): what it holds may differ.
        log.warning("DATABASE_REPLICA_URL names a server that is not a standby")
        return {"replica": "not_a_standby"}
    lag = row["lag_seconds"]
    found: dict[str, Any] = {
        "replica": "ok",
        # None: not streaming and nothing replayed since it started (unknown, not 0).
        "replica_lag_seconds": None if lag is None else round(float(lag), 3),
        "replica_streaming": row["streaming"],
    }
    try:
        async with reads.primary.connect() as connection:
            wal_end = (await connection.execute(WAL_END)).scalar_one()
    except Exception as error:  # the primary's own check reports it; the lag stays unknown
        log.warning("readiness: the replica's lag in bytes is unknown: %r", error)
    else:
        replayed = lsn_bytes(row["replayed"]) if row["replayed"] else 0
        found["replica_lag_bytes"] = max(0, lsn_bytes(wal_end) - replayed)
    return found
