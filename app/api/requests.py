"""Reading request bodies: JSON only when it says so, and one bad survey never spoils a batch."""

from __future__ import annotations

import json
from typing import Any

import orjson

from app.errors import InvalidInput, Problem


def is_json(content_type: str | None) -> bool:
    """Whether a Content-Type header announces JSON (application/json or +json)."""
    bare = (content_type or "").split(";", 1)[0].strip().lower()
    return bare == "application/json" or (
        bare.startswith("application/") and bare.endswith("+json")
    )


def parse_json(body: bytes) -> Any:
    """Parse a JSON body, or raise InvalidInput naming what is wrong.

    orjson refuses a whole document for one lone surrogate (`"\\ud800"`) anywhere in it; the
    standard library's parser reads it, so that the survey holding it is refused on its own
    (app.services.intake.item_problems) and the rest of its batch is stored.
    """
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        reason = str(exc)
    if "surrogate" in reason:
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            pass
    raise InvalidInput([Problem("", "invalid_json", {"reason": reason[:200]})])
