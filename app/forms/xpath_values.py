"""XPath values as openrosa-xpath-evaluator 3.x (the phone's engine) casts them.

Values are Python `bool`, `float`, `str`, `XDate` and node-sets (`list` of instance nodes).
The casts follow its src/utils/xpath-cast.js and src/utils/date.js: a string that starts like
a date is a number of days when compared or added; numbers print as JavaScript prints them;
dates are read in the phone's time zone (Vietnam's: the server evaluates as a phone there).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from app.forms.js_date import (
    LOCAL_TZ,
    MS_PER_DAY,
    NAN,
    Fields,
    date_time_ms,
    fields,
    local_date_ms,
    now_ms,
    time_clip,
    to_iso_local,
    utc_day_ms,
)

DATE_STRING = re.compile(
    r"^\d\d\d\d-\d{1,2}-\d{1,2}(?:T\d\d:\d\d:\d\d\.?\d?\d?(?:Z|[+-]\d\d:\d\d)|.*)?$",
    re.S | re.ASCII,
)
RAW_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
_JS_DECIMAL = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$", re.ASCII)
_JS_RADIX = re.compile(r"^0(?:[xX][0-9a-fA-F]+|[oO][0-7]+|[bB][01]+)$")
_ISO_DATETIME = re.compile(
    r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,9}))?)?(Z|[+-]\d\d:\d\d)?$",
    re.ASCII,
)
# Every pattern reading a value is re.ASCII: JavaScript's \d is 0-9, Python's any digit ("١٢").
# JavaScript's String.prototype.trim() and \s: WhiteSpace and LineTerminator.
JS_SPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)


class XDate:
    """A JavaScript Date: milliseconds since the epoch (NaN when invalid, as past 8.64e15 ms);
    blank: `date('')`."""

    __slots__ = ("blank", "ms")

    def __init__(self, ms: float, blank: bool = False) -> None:
        self.ms = ms
        self.blank = blank

    def valid(self) -> bool:
        return self.ms == self.ms

    def local(self) -> Fields:
        """Its fields in the phone's zone (getFullYear(), getMonth() + 1...)."""
        return fields(self.ms)


def js_trim(text: str) -> str:
    return text.strip(JS_SPACE)


def js_number(text: str) -> float:
    """JavaScript's Number(text) for a string."""
    text = js_trim(text)
    if text == "":
        return 0.0
    if _JS_DECIMAL.match(text):
        return float(text)
    if _JS_RADIX.match(text):
        return float(int(text, 0))
    if text in ("Infinity", "+Infinity"):
        return math.inf
    if text == "-Infinity":
        return -math.inf
    return NAN


def js_number_string(value: float) -> str:
    """JavaScript's Number.prototype.toString() (shortest round-trip digits)."""
    if value != value:
        return "NaN"
    if value in (math.inf, -math.inf):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    if value.is_integer():
        if abs(value) < 2**53:
            return str(int(value))
    elif 1e-4 <= abs(value) < 1e16:
        return repr(value)  # the same shortest digits, in fixed notation
    # Shortest digits placed as JavaScript places them: 2**53 is "9007199254740992" (repr
    # gives "9007199254740992.0"), 1e20 is "100000000000000000000", 1e21 "1e+21".
    sign = "-" if value < 0 else ""
    digits_tuple = Decimal(repr(abs(value))).normalize().as_tuple()
    digits = "".join(str(d) for d in digits_tuple.digits)
    k = len(digits)
    n = int(digits_tuple.exponent) + k
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    exponent = n - 1
    mantissa = digits[0] + ("." + digits[1:] if k > 1 else "")
    return f"{sign}{mantissa}e{'+' if exponent >= 0 else '-'}{abs(exponent)}"


def _local_ms(year: float, month: float, day: float) -> float:
    """new Date(year, month - 1, day) in the local zone (months and days roll over, years
    0-99 are 1900-1999)."""
    if 0 <= year < 100:
        year = 1900 + math.trunc(year)
    return local_date_ms(year, month, day)


_DATE_ALONE = re.compile(r"(\d{4})-(\d\d)-(\d\d)", re.ASCII)


def parse_js_datetime(text: str) -> float:
    """new Date(text) for ISO 8601 date-times (no offset: local time); else NaN."""
    match = _ISO_DATETIME.match(text)
    if not match:
        alone = _DATE_ALONE.fullmatch(text)
        if alone:  # a date alone is UTC midnight in JS; V8 takes days up to 31 and rolls over
            year, month, day = (int(g) for g in alone.groups())
            if not (1 <= month <= 12 and 1 <= day <= 31):
                return NAN
            return time_clip(utc_day_ms(year, month, day))
        return NAN
    year, month, day, hour, minute = (int(match.group(i)) for i in range(1, 6))
    second = int(match.group(6) or 0)
    fraction = int((match.group(7) or "0")[:3].ljust(3, "0"))
    return date_time_ms(year, month, day, (hour, minute, second, fraction), match.group(8))


def date_string_to_days(text: str) -> float:
    """utils/date.js dateStringToDays."""
    if text.find("T") > 0:
        return parse_js_datetime(text) / MS_PER_DAY
    parts = text.split("-")
    numbers = [js_number(p) for p in parts[:3]]
    while len(numbers) < 3:
        numbers.append(NAN)
    if any(n != n or math.isinf(n) for n in numbers):
        return NAN
    return _local_ms(*numbers) / MS_PER_DAY


def _valid_date(year: str, month: str, day: str) -> bool:
    try:
        y, m, d = int(year), int(month), int(day)
    except ValueError:
        return False
    if not 1 <= m <= 12 or d <= 0:
        return False
    if m == 2:
        days = 29 if (y % 4 == 0 and y % 100) or y % 400 == 0 else 28
    else:
        days = 30 if m in (4, 6, 9, 11) else 31
    return d <= days


def _days_to_ms(days: float) -> float:
    """new Date(0).setTime(days * 24 * 60 * 60 * 1e3), multiplied in the evaluator's order."""
    return time_clip(0 + days * 24 * 60 * 60 * 1e3)


def as_date(value: Any) -> XDate:
    """openrosa-extensions.js asDate."""
    if isinstance(value, XDate):
        return value
    if isinstance(value, bool):
        return XDate(NAN)
    if isinstance(value, float):
        return XDate(_days_to_ms(value))
    text = as_string(value)
    if text == "":
        return XDate(NAN, blank=True)
    if RAW_NUMBER.match(text):
        try:
            days = float(int(text.split(".")[0]))
        except OverflowError:  # parseInt() of 400 digits: Infinity, no Date
            return XDate(NAN)
        return XDate(_days_to_ms(days))
    if DATE_STRING.match(text):
        time_part = None
        if "T" in text:
            index = text.index("T")
            time_part, text = text[index:], text[:index]
        parts = text.split("-")
        if len(parts) >= 3 and _valid_date(parts[0], parts[1], parts[2]):
            year, month, day = int(parts[0]), int(parts[1]), int(parts[2])
            if time_part is None:
                # The phone's local midnight of that day, the year as written ("0099-01-01"
                # is the year 99, "2026-1-5" the 5th of January): the phone's patched
                # evaluator (vendor/patches/, moment()) makes a date alone so.
                return XDate(local_date_ms(year, month, day))
            stamp = f"{year:04d}-{month:02d}-{day:02d}"
            return XDate(parse_js_datetime(stamp + time_part))
    return XDate(parse_js_datetime(text))


def date_to_days(value: XDate) -> float:
    return value.ms / MS_PER_DAY


def iso_local(value: XDate) -> str:
    """date-extensions.js toISOLocalString: local time with its offset; midnight: the date."""
    if value.blank:
        return ""
    if not value.valid():
        return "Invalid Date"
    return to_iso_local(value.ms)


def as_string(value: Any) -> str:
    """xpath-cast.js asString."""
    kind = type(value)
    if kind is str:
        return value
    if kind is list:
        return value[0].text() if value else ""
    if kind is bool:
        return "true" if value else "false"
    if kind is float:
        return js_number_string(value)
    if kind is XDate:
        return re.sub(r"T00:00:00\.000.*", "", iso_local(value))
    if value is None:
        return ""
    return value.text()  # a single node


def as_number(value: Any) -> float:
    """xpath-cast.js asNumber."""
    kind = type(value)
    if kind is float:
        return value
    if kind is bool:
        return 1.0 if value else 0.0
    if kind is XDate:
        return date_to_days(value)
    text = js_trim(as_string(value))
    if text == "":
        return NAN
    if DATE_STRING.match(text):
        return date_string_to_days(text)
    return js_number(text)


_PLAIN_NUMBER = re.compile(r"-?\d{1,15}(?:\.\d{1,15})?", re.ASCII)


def text_number(text: str) -> float:
    """asNumber of a node with this text: trimmed, '' is NaN, a date is its days."""
    if _PLAIN_NUMBER.fullmatch(text):
        return float(text)
    text = js_trim(text)
    if text == "":
        return NAN
    if DATE_STRING.match(text):
        return date_string_to_days(text)
    return js_number(text)


_SAFE_INTEGER = 2**53  # an integer up to this is exactly a float, and its text reads back


def answer_number(value: Any) -> float:
    """asNumber of the node holding this answer: text_number(as_text(value)), without the
    text for a float or an integer that reads back exactly (no overflow for a huge one)."""
    kind = type(value)
    if kind is float:
        return value  # its shortest text reads back the same
    if kind is int and -_SAFE_INTEGER <= value <= _SAFE_INTEGER:
        return float(value)
    return text_number(as_text(value))


def as_boolean(value: Any) -> bool:
    """xpath-cast.js asBoolean."""
    kind = type(value)
    if kind is bool:
        return value
    if kind is list:
        return bool(value)
    if kind is float:
        return value == value and value != 0
    if kind is str:
        return value != ""
    if kind is XDate:
        return value.valid()
    return js_trim(value.text()) != ""  # a single node


def today(at: datetime | None = None) -> XDate:
    """today(): local midnight of the day of `at` (the survey's time; else now)."""
    moment = (at or datetime.now(UTC)).astimezone(LOCAL_TZ)
    return XDate(_local_ms(moment.year, moment.month, moment.day))


def now(at: datetime | None = None) -> XDate:
    """now(): `at` (the survey's time; else now)."""
    return XDate(now_ms(at or datetime.now(UTC)))


def as_text(value: Any) -> str:
    """An answer as the text of its instance node (how the phone writes it into the XForm)."""
    kind = type(value)
    if kind is str:
        return value
    if value is None:
        return ""
    if kind is int:
        return str(value)
    if kind is float:
        return js_number_string(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is list:
        return " ".join(str(v) for v in value)
    if isinstance(value, date):
        return value.isoformat()
    return ""
