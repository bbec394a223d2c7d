"""Reading what a client sends to the CDF's books: money in whole đồng, dates, ids, choices.

Each reader appends a Problem (a message code of app/i18n.py) for a bad value and returns
None, so that one answer names every bad field. Pure: no database, no HTTP.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from datetime import date
from typing import Any

import orjson

from app.errors import InvalidInput, Problem

# A trillion đồng: more than any CDF holds; larger numbers are typing mistakes.
MAX_MONEY = 10**12
# The integers JSON writers agree on (orjson's range). app/api/requests.parse_json keeps a
# larger one whole (1 and 400 zeros) and reads 1e400 as infinity: no field of the books can
# hold either, read or not (an unread one is still part of what a resend must match).
LOWEST_INTEGER, HIGHEST_INTEGER = -(2**63), 2**64 - 1


class Reader:
    """Reads the fields of one JSON object, collecting problems."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.problems: list[Problem] = []

    def check(self) -> None:
        """Raise InvalidInput when any field was bad, or held a number no field can hold
        (even one not read: it is hashed with the rest, request_hash)."""
        named = {problem.field for problem in self.problems}
        self.problems += [
            problem
            for problem in oversized_numbers(self.body)
            if _top_field(problem.field) not in named
        ]
        if self.problems:
            raise InvalidInput(self.problems)

    def fail(self, field: str, code: str, **params: Any) -> None:
        """Note a problem with a field."""
        self.problems.append(Problem(field, code, params))

    def money(self, field: str, required: bool = True, allow_zero: bool = False) -> int | None:
        """A positive amount in whole đồng (VND has no minor unit)."""
        raw = self.body.get(field)
        if raw is None:
            if required:
                self.fail(field, "missing")
            return None
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            self.fail(field, "not_integer")
            return None
        if isinstance(raw, float) and raw > MAX_MONEY:
            # A whole number past 64 bits arrives as a float (10**30 as 1e30): too large.
            self.fail(field, "cdf_amount_too_large", max=MAX_MONEY)
            return None
        if isinstance(raw, float):
            self.fail(field, "cdf_amount_not_whole")
            return None
        if raw < 0:
            self.fail(field, "cdf_amount_negative")
            return None
        if raw == 0 and not allow_zero:
            self.fail(field, "cdf_amount_zero")
            return None
        if raw > MAX_MONEY:
            self.fail(field, "cdf_amount_too_large", max=MAX_MONEY)
            return None
        return raw

    def integer(
        self, field: str, required: bool = True, low: int = 1, high: int = 2**31 - 1
    ) -> int | None:
        """A whole number within [low, high]."""
        raw = self.body.get(field)
        if raw is None:
            if required:
                self.fail(field, "missing")
            return None
        if isinstance(raw, bool) or not isinstance(raw, int):
            self.fail(field, "not_integer")
            return None
        if not low <= raw <= high:
            self.fail(field, "cdf_out_of_range", low=low, high=high)
            return None
        return raw

    def text(
        self, field: str, required: bool = True, max_length: int = 200, default: str = ""
    ) -> str | None:
        """Text, stripped; required text may not be blank."""
        raw = self.body.get(field)
        if raw is None:
            if required:
                self.fail(field, "missing")
                return None
            return default
        if not isinstance(raw, str):
            self.fail(field, "not_text")
            return None
        value = raw.strip()
        if required and not value:
            self.fail(field, "missing")
            return None
        if len(value) > max_length:
            self.fail(field, "text_too_long", max=max_length)
            return None
        return value

    def day(self, field: str, required: bool = True) -> date | None:
        """A date, YYYY-MM-DD."""
        raw = self.body.get(field)
        if raw is None:
            if required:
                self.fail(field, "missing")
            return None
        try:
            if not isinstance(raw, str) or len(raw) != 10:
                raise ValueError(raw)
            value = date.fromisoformat(raw)
        except ValueError:
            self.fail(field, "cdf_invalid_date")
            return None
        if not 1990 <= value.year <= 2100:
            self.fail(field, "cdf_invalid_date")
            return None
        return value

    def posting_day(self, field: str, today: date, required: bool = True) -> date | None:
        """The day money moved: a date, YYYY-MM-DD, not after `today` (Vietnam's): a
        repayment dated 2035 counted every installment overdue at once."""
        value = self.day(field, required)
        if value is not None and value > today:
            self.fail(field, "cdf_date_in_future", today=today.isoformat())
            return None
        return value

    def past_day(self, field: str, today: date, required: bool = True) -> date | None:
        """A day something began (a group founded, a member joined): YYYY-MM-DD, not after
        `today` (Vietnam's): a member joining in 2099 had savings counted in the city report
        but was missing from the statement."""
        value = self.day(field, required)
        if value is not None and value > today:
            self.fail(field, "cdf_day_not_come", today=today.isoformat())
            return None
        return value

    def client_id(self, field: str = "client_id", required: bool = True) -> uuid.UUID | None:
        """The id a client gives a record: a resend with it posts nothing twice."""
        raw = self.body.get(field)
        if raw is None:
            if required:
                self.fail(field, "missing")
            return None
        try:
            if not isinstance(raw, str):
                raise ValueError(raw)
            return uuid.UUID(raw)
        except ValueError:
            self.fail(field, "cdf_invalid_client_id")
            return None

    def choice(
        self, field: str, allowed: tuple[str, ...], required: bool = True, default: str = ""
    ) -> str | None:
        """One of the allowed codes."""
        raw = self.body.get(field)
        if raw is None:
            if required:
                self.fail(field, "missing")
                return None
            return default
        if not isinstance(raw, str) or raw not in allowed:
            self.fail(field, "invalid_choice", value=str(raw)[:40], allowed=", ".join(allowed))
            return None
        return raw


def _top_field(where: str) -> str:
    return where.split(".", 1)[0].split("[", 1)[0]


def oversized_numbers(body: Any) -> list[Problem]:
    """Numbers past 64 bits or infinite, anywhere in a body, each named by its place."""
    problems: list[Problem] = []
    stack: list[tuple[Any, str]] = [(body, "")]
    while stack:
        value, where = stack.pop()
        if isinstance(value, dict):
            stack.extend(
                (child, f"{where}.{key}" if where else str(key)) for key, child in value.items()
            )
        elif isinstance(value, list):
            stack.extend((child, f"{where}[{i}]") for i, child in enumerate(value))
        elif isinstance(value, bool):
            continue
        elif (isinstance(value, int) and not LOWEST_INTEGER <= value <= HIGHEST_INTEGER) or (
            isinstance(value, float) and not math.isfinite(value)
        ):
            problems.append(Problem(where, "cdf_number_too_large"))
    return sorted(problems, key=lambda problem: problem.field)


def request_hash(kind: str, body: dict[str, Any]) -> str:
    """What a resend must match to be the same record (sha256 of its canonical JSON).

    Never raises for a value the request parser accepts: one orjson cannot write (an integer
    past 64 bits) is written by the standard library instead, sorted and compact as well. No
    body orjson writes is hashed that way, so hashes stored before stay what they were.
    """
    document = {"kind": kind, "body": body}
    try:
        canonical = orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # orjson.JSONEncodeError: "Integer exceeds 64-bit range"
        text = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        canonical = text.encode("utf-8", "surrogatepass")
    return hashlib.sha256(canonical).hexdigest()
