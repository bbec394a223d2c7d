"""JSON responses serialised with orjson (UUIDs, datetimes and asyncpg types included)."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import orjson
from fastapi.responses import Response


def _default(value: Any) -> Any:
    # asyncpg returns its own UUID type, which orjson does not know.
    return str(value)


def _default_stdlib(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()  # as orjson writes them
    return str(value)


def dumps(content: Any) -> bytes:
    """Serialise to JSON bytes."""
    try:
        return orjson.dumps(content, default=_default, option=orjson.OPT_NON_STR_KEYS)
    except TypeError as exc:
        if "64-bit" not in str(exc):
            raise
    # A whole number past 64 bits (an answer stored before intake refused numbers past 2^53
    # comes back from jsonb as one): the standard library writes any integer.
    text = json.dumps(content, default=_default_stdlib, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8", "surrogatepass")


class JSON(Response):
    """application/json rendered by orjson."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)
