"""JavaScript's Date in the phone's zone (Asia/Ho_Chi_Minh), over its whole range.

Why a module: Python's datetime holds years 1 to 9999, JavaScript's Date any instant within
8.64e15 ms of 1970 (years -271821 to 275760). A form reads dates beyond datetime's range
without meaning to (`'9999-99-99'` is a date string, 99 months after 9999; `date(1e10)` is
past the end of time, "Invalid Date"), and the phone answers them: so the arithmetic here is
ECMAScript's (MakeDay, MakeDate, TimeClip, LocalTime, UTC), with the zone's offsets from the
tz database (the offset of the year 1 before it, of 9999 after it, as the browser's ICU does:
the zone's local mean time, +07:06:30, before 1906, +07:00 now).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NAN = float("nan")
MS_PER_DAY = 86_400_000.0
MAX_TIME = 8.64e15  # TimeClip: the last millisecond JavaScript's Date holds
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)
# Instants datetime can hold with an offset of a day either way (ms from the epoch).
_FIRST_MS = (datetime(1, 1, 2, tzinfo=UTC) - EPOCH).total_seconds() * 1000
_LAST_MS = (datetime(9999, 12, 30, tzinfo=UTC) - EPOCH).total_seconds() * 1000


class Fields(NamedTuple):
    """A Date's local fields, as getFullYear(), getMonth() + 1, getDate()... give them."""

    year: int
    month: int
    day: int
    hour: int
    minute: int
    second: int
    millisecond: int
    weekday: int  # getDay(): 0 is Sunday


def time_clip(ms: float) -> float:
    """TimeClip: NaN past ±8.64e15 ms, else the whole milliseconds toward 0 (never -0)."""
    if ms != ms or abs(ms) > MAX_TIME:
        return NAN
    return float(math.trunc(ms))


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days from 1970-01-01 to a proleptic Gregorian date (any year, month 1-12)."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146_097 + day_of_era - 719_468


def civil_from_days(days: int) -> tuple[int, int, int]:
    """The proleptic Gregorian (year, month, day) of days from 1970-01-01."""
    days += 719_468
    era = days // 146_097
    day_of_era = days - era * 146_097
    year_of_era = (
        day_of_era - day_of_era // 1460 + day_of_era // 36_524 - day_of_era // 146_096
    ) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    shifted = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * shifted + 2) // 5 + 1
    month = shifted + 3 if shifted < 10 else shifted - 9
    return year_of_era + era * 400 + (month <= 2), month, day


def days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if (year % 4 == 0 and year % 100 != 0) or year % 400 == 0 else 28
    return 30 if month in (4, 6, 9, 11) else 31


def make_day(year: float, month: float, day: float) -> float:
    """MakeDay: days from the epoch of `day` of month `month` (from 0, rolling over into the
    years) of `year`; NaN when one is not finite or the day is beyond any Date."""
    if not (math.isfinite(year) and math.isfinite(month) and math.isfinite(day)):
        return NAN
    whole_year = math.trunc(year) + math.floor(math.trunc(month) / 12)
    if abs(whole_year) > 400_000:
        return NAN
    first = days_from_civil(whole_year, math.trunc(month) % 12 + 1, 1)
    return float(first) + math.trunc(day) - 1


def offset_ms(utc_ms: float) -> float:
    """The zone's offset from UTC at an instant (LocalTZA(t, true)), in ms."""
    clamped = min(max(utc_ms, _FIRST_MS), _LAST_MS)
    moment = EPOCH + timedelta(milliseconds=clamped)
    offset = moment.astimezone(LOCAL_TZ).utcoffset()
    return offset.total_seconds() * 1000 if offset is not None else 0.0


def local_to_utc(local_ms: float) -> float:
    """UTC(t) for a local time: the earlier offset where the wall clock repeats or skips."""
    if local_ms != local_ms:
        return NAN
    clamped = min(max(local_ms, _FIRST_MS), _LAST_MS)
    wall = (_NAIVE_EPOCH + timedelta(milliseconds=clamped)).replace(tzinfo=LOCAL_TZ)
    offset = wall.utcoffset()
    return local_ms - (offset.total_seconds() * 1000 if offset is not None else 0.0)


def utc_day_ms(year: int, month: int, day: int) -> float:
    """new Date("YYYY-MM-DD"): UTC midnight (a day past the month's end rolls over)."""
    return make_day(year, month - 1, day) * MS_PER_DAY


def local_date_ms(year: float, month: float, day: float) -> float:
    """new Date(year, month - 1, day) as a time value, without its mapping of years 0-99."""
    return time_clip(local_to_utc(make_day(year, month - 1, day) * MS_PER_DAY))


def fields(ms: float) -> Fields:
    """The local fields of a valid time value."""
    local = ms + offset_ms(ms)
    days = math.floor(local / MS_PER_DAY)
    in_day = int(local - days * MS_PER_DAY)
    year, month, day = civil_from_days(days)
    return Fields(
        year,
        month,
        day,
        in_day // 3_600_000,
        in_day // 60_000 % 60,
        in_day // 1000 % 60,
        in_day % 1000,
        (days + 4) % 7,
    )


def offset_as_time(ms: float) -> str:
    """date-extensions.js getTimezoneOffsetAsTime: "+07:00"; the zone's first offset, +07:06:30,
    is "+07:06" (its minutes cut, as the evaluator writes them)."""
    if ms != ms:
        return "Invalid Date"
    total = -offset_ms(ms) / 60_000  # getTimezoneOffset()
    direction = "+" if total < 0 else "-"
    hours = math.floor(abs(total / 60))
    minutes = math.floor(abs(math.fmod(total, 60)))
    return f"{direction}{hours:02d}:{minutes:02d}"


def iso_string(ms: float) -> str:
    """toISOString(): years outside 0-9999 with a sign and six digits."""
    if ms != ms:
        raise ValueError("Invalid time value")
    days = math.floor(ms / MS_PER_DAY)
    in_day = int(ms - days * MS_PER_DAY)
    year, month, day = civil_from_days(days)
    year_text = f"{year:04d}" if 0 <= year <= 9999 else f"{'-' if year < 0 else '+'}{abs(year):06d}"
    return (
        f"{year_text}-{month:02d}-{day:02d}T{in_day // 3_600_000:02d}:"
        f"{in_day // 60_000 % 60:02d}:{in_day // 1000 % 60:02d}.{in_day % 1000:03d}Z"
    )


def to_iso_local(ms: float) -> str:
    """date-extensions.js toISOLocalString of a valid Date: the local time with its offset;
    at local midnight, the date alone."""
    shifted = time_clip(ms + offset_ms(ms))  # new Date(t - getTimezoneOffset() * 60000)
    text = iso_string(shifted).replace("Z", offset_as_time(ms))
    if text.find("T00:00:00.000") > 0:
        return text.split("T")[0]
    return text


def date_time_ms(
    year: int, month: int, day: int, clock: tuple[int, int, int, int], zone: str | None
) -> float:
    """new Date() of an ISO 8601 date-time (fields already read): NaN for a field out of its
    range; without a zone, local time."""
    hour, minute, second, millisecond = clock
    if not (1 <= month <= 12 and 1 <= day <= days_in_month(year, month)):
        return NAN
    if hour > 23 or minute > 59 or second > 59:
        return NAN
    wall = make_day(year, month - 1, day) * MS_PER_DAY + (
        hour * 3_600_000 + minute * 60_000 + second * 1000 + millisecond
    )
    if zone is None:
        return time_clip(local_to_utc(wall))
    if zone == "Z":
        return time_clip(wall)
    zone_hours, zone_minutes = int(zone[1:3]), int(zone[4:6])
    if zone_hours > 23 or zone_minutes > 59:
        return NAN
    offset = (zone_hours * 60 + zone_minutes) * 60_000
    return time_clip(wall - offset if zone[0] == "+" else wall + offset)


def now_ms(at: datetime) -> float:
    """A datetime as a time value."""
    return (at - EPOCH).total_seconds() * 1000
