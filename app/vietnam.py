"""Vietnam's clock: the whole country keeps one time, UTC+7, with no daylight saving.

Surveys, the CDF's books and printed sheets count Vietnamese days; the server's own clock is
often UTC, a day behind from 17:00 UTC. Every "today" and every day of a moment is read here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

VIETNAM_TIME = timezone(timedelta(hours=7))


def today_in_vietnam(now: datetime | None = None) -> date:
    """The date in Vietnam now (or at `now`, an aware time)."""
    return (now or datetime.now(UTC)).astimezone(VIETNAM_TIME).date()


def vietnam_day(moment: datetime) -> date:
    """The date in Vietnam at an aware time."""
    return moment.astimezone(VIETNAM_TIME).date()
