"""The OGC API Features items request's parameters (limit, offset, the `after` cursor of the
`next` links, bbox, datetime, property filters), checked: InvalidInput names the first bad
one. Pure: no database (app.services.ogc runs the query they make)."""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import orjson

from app.db.ogc import ItemsQuery, Source
from app.errors import InvalidInput, Problem

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
MAX_OFFSET = 2**31 - 1
MAX_FILTER_LENGTH = 1000
MAX_CURSOR_LENGTH = 200  # a uuid's cursor is 56 characters
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
# Query parameters of the items request that are not property filters: those this server
# implements, which always mean what OGC API Features says (and `after`, the cursor of the
# `next` links), even in a collection that has a property of that name (a form's question
# `limit` or `bbox`)...
STANDARD_PARAMETERS = frozenset(
    {"f", "lang", "limit", "offset", "after", "bbox", "bbox-crs", "datetime", "crs"}
)
# ...and those that other parts of OGC API Features define and this server does not implement
# (Part 3's filters, property selection, sorting, text search): a 400 that says so, never a
# filter on a property that happens to share the name (`?properties=` selects properties in
# the standard; here it would have silently filtered on a question called `properties`).
# `geometry` is the features' geometry in the queryables (Part 3): a filter on it is a spatial
# filter, of which this server has bbox only, never an equality on a question of that name.
UNSUPPORTED_PARAMETERS = frozenset(
    {
        "geometry",
        "properties",
        "exclude-properties",
        "skipGeometry",
        "filter",
        "filter-lang",
        "filter-crs",
        "sortby",
        "q",
    }
)
RESERVED_PARAMETERS = STANDARD_PARAMETERS | UNSUPPORTED_PARAMETERS


# --- the keyset cursor of the `next` links ---------------------------------------------------
# A page starts after the last feature id of the page before: the id is each collection's
# order and unique (a survey's uuid, an area's database id), so a feature approved, sent back
# or deleted between two requests moves no other feature to another page, as an offset did.
# The cursor is that id in base64url JSON (`["<uuid>"]` or `[12]`): opaque to clients, so the
# order may grow a key without breaking a link. It is untrusted input: it only positions the
# reader's already filtered query (`id > cursor`), never names a feature to show.


def page_cursor(last_key: str, source: Source) -> str:
    """The `after=` cursor that starts the page after the feature of this id."""
    key: str | int = last_key if source.id_is_text else int(last_key)
    return base64.urlsafe_b64encode(orjson.dumps([key])).decode().rstrip("=")


def read_cursor(raw: str, source: Source) -> int | uuid.UUID:
    """The feature id a cursor stands for, of the collection's kind of id, or InvalidInput
    naming `after`."""
    try:
        if len(raw) > MAX_CURSOR_LENGTH:
            raise ValueError("too long")
        padded = raw.strip() + "=" * (-len(raw.strip()) % 4)
        decoded = orjson.loads(base64.b64decode(padded, altchars=b"-_", validate=True))
        if not isinstance(decoded, list) or len(decoded) != 1:
            raise ValueError("not a cursor")
        key = decoded[0]
        if source.id_is_text:
            if not isinstance(key, str):
                raise ValueError(key)
            return uuid.UUID(key)
        if isinstance(key, bool) or not isinstance(key, int) or not 0 <= key <= MAX_OFFSET:
            raise ValueError(key)
        return key
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise InvalidInput([Problem("after", "invalid_cursor")]) from None


# --- the items request's parameters --------------------------------------------------------


def _clean_text(name: str, value: str) -> str:
    if "\x00" in value or len(value) > MAX_FILTER_LENGTH:
        raise InvalidInput([Problem(name, "ogc_bad_value", {"name": name})])
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        raise InvalidInput([Problem(name, "ogc_bad_value", {"name": name})]) from None
    return value


def _integer(name: str, raw: str, low: int, high: int | None) -> int:
    digits = raw.strip()
    if not re.fullmatch(r"[0-9]+", digits):
        raise InvalidInput([Problem(name, "ogc_bad_integer", {"name": name, "low": low})])
    # Beyond 12 digits, a number above every bound (a `limit` that large is the largest page,
    # as OGC API Features asks; Python reads no more than 4,300 digits anyway).
    value = int(digits) if len(digits) <= 12 else 10**12
    if value < low or (high is not None and value > high):
        raise InvalidInput([Problem(name, "ogc_bad_integer", {"name": name, "low": low})])
    return value


def parse_bbox(raw: str) -> tuple[float, float, float, float]:
    """west,south,east,north (or six numbers with heights) in WGS 84 longitude/latitude."""
    parts = raw.split(",")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if len(numbers) != 4 or not all(abs(n) < float("inf") for n in numbers):
        raise InvalidInput([Problem("bbox", "ogc_bad_bbox")])
    west, south, east, north = numbers
    if not (-180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= north <= 90):
        raise InvalidInput([Problem("bbox", "ogc_bad_bbox")])
    return west, south, east, north


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _instant(raw: str) -> tuple[datetime, datetime]:
    """[start, end) of an RFC 3339 date-time (to its precision) or of a whole day (UTC)."""
    if _DATE.fullmatch(raw):
        day = datetime.combine(date.fromisoformat(raw), datetime.min.time(), UTC)
        return day, day + timedelta(days=1)
    # RFC 3339's date-time: hours, minutes and seconds, each of two digits, a fraction of a
    # second if any, and the offset. `T02Z` or `T0230Z` (which fromisoformat reads as whole
    # seconds) would filter one second where the client asked an hour: refused.
    found = re.fullmatch(
        r"([0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]{1,9})?"
        r"([Zz]|[+-][0-9]{2}:[0-9]{2})",
        raw,
    )
    if found is None:
        raise ValueError(raw)
    whole, fraction, offset = found.groups()
    # In UTC, as the database compares it: a moment in year 1 east of Greenwich is in year 0
    # there, which no datetime holds (OverflowError, a 400 below). Microseconds at most.
    moment = datetime.fromisoformat(f"{whole}{(fraction or '')[:7]}{offset}".upper())
    moment = moment.astimezone(UTC)
    precision = timedelta(microseconds=1) if fraction else timedelta(seconds=1)
    return moment, moment + precision


def parse_datetime(raw: str) -> tuple[datetime | None, datetime | None]:
    """An instant or an interval (`start/end`, either end open as `..` or empty) as
    [start, end) bounds."""
    try:
        if "/" not in raw:
            return _instant(raw.strip())
        first, _, last = raw.partition("/")
        first, last = first.strip(), last.strip()
        start = None if first in ("", "..") else _instant(first)[0]
        end = None if last in ("", "..") else _instant(last)[1]
    except (ValueError, OverflowError):  # no such moment, or none after 9999-12-31
        raise InvalidInput([Problem("datetime", "ogc_bad_datetime")]) from None
    if start is not None and end is not None and start >= end:
        raise InvalidInput([Problem("datetime", "ogc_bad_datetime")])
    return start, end


def items_query(parameters: Sequence[tuple[str, str]], source: Source) -> ItemsQuery:
    """The items request's parameters, checked: InvalidInput names the first bad one."""
    seen: dict[str, str] = {}
    for name, value in parameters:
        if name in seen:
            raise InvalidInput([Problem(name, "ogc_repeated_parameter", {"name": name[:64]})])
        seen[name] = value
    filters = []
    for name, value in seen.items():
        if name in STANDARD_PARAMETERS:
            continue
        if name in UNSUPPORTED_PARAMETERS:
            raise InvalidInput([Problem(name, "ogc_unsupported_parameter", {"name": name})])
        if source.property(name) is None:
            raise InvalidInput(
                [Problem(name[:64], "ogc_unknown_parameter", {"name": _clean_text("", name[:64])})]
            )
        filters.append((name, _clean_text(name, value)))
    limit = DEFAULT_LIMIT
    if "limit" in seen:
        limit = min(_integer("limit", seen["limit"], 1, None), MAX_LIMIT)
    offset = _integer("offset", seen["offset"], 0, MAX_OFFSET) if "offset" in seen else 0
    after = read_cursor(seen["after"], source) if "after" in seen else None
    for name in ("bbox-crs", "crs"):
        if name in seen and seen[name].strip() not in (CRS84, "[OGC:CRS84]"):
            raise InvalidInput([Problem(name, "ogc_bad_crs", {"crs": CRS84})])
    bbox = parse_bbox(seen["bbox"]) if "bbox" in seen else None
    start = end = None
    if "datetime" in seen:
        if source.time is None:
            raise InvalidInput([Problem("datetime", "ogc_no_time")])
        start, end = parse_datetime(seen["datetime"])
    return ItemsQuery(limit, offset, after, bbox, start, end, tuple(filters))
