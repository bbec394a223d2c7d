"""JSON responses serialised with orjson (UUIDs, datetimes and asyncpg types included)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import Response


def _default(value: Any) -> Any:
    # asyncpg returns its own UUID type, which orjson does not know.
    return str(value)


def dumps(content: Any) -> bytes:
    """Serialise to JSON bytes."""
    return orjson.dumps(content, default=_default, option=orjson.OPT_NON_STR_KEYS)


class JSON(Response):
    """application/json rendered by orjson."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)
