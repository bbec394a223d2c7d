"""Reading request bodies: JSON only when it says so, and one bad survey never spoils a batch."""

from __future__ import annotations

import json
import math
from typing import Any

import orjson
from fastapi import Request
from pydantic import BaseModel, ValidationError

from app.api.validation import pydantic_problems
from app.errors import InvalidInput, Problem, UnsupportedMediaType
from app.i18n import LANGUAGES, translate
from app.services.intake import item_problems


def is_json(content_type: str | None) -> bool:
    """Whether a Content-Type header announces JSON (application/json or +json)."""
    bare = (content_type or "").split(";", 1)[0].strip().lower()
    return bare == "application/json" or (
        bare.startswith("application/") and bare.endswith("+json")
    )


def _integer(text: str) -> int | float:
    """A JSON integer, kept whole as orjson cannot (past any double it is refused as too
    large, app/forms/answer_types.py): past Python's limit of 4300 digits, infinity."""
    return int(text) if len(text) <= 4000 else math.inf


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is no JSON")


def parse_json(body: bytes) -> Any:
    """Parse a JSON body, or raise InvalidInput naming what is wrong.

    orjson refuses a whole document for one lone surrogate (`"\\ud800"`) or one number past
    any double (`1e400`, or 1 and 400 zeros) anywhere in it; the standard library's parser
    reads them (1e400 as infinity, as a phone's JSON.parse does; an integer whole), so that
    the survey holding one is refused on its own (app.services.intake.item_problems, the
    answer's or the location's check) and the rest of its batch is stored. NaN and Infinity,
    which are no JSON, are still refused.
    """
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        reason = str(exc)
        place = {"line": exc.lineno, "column": exc.colno}
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:  # orjson says "str is not valid UTF-8: surrogates not allowed"
        raise InvalidInput([Problem("", "invalid_utf8")]) from None
    if "surrogate" in reason or "number is infinity" in reason:
        try:
            return json.loads(body, parse_int=_integer, parse_constant=_no_constant)
        except json.JSONDecodeError as exc:
            place = {"line": exc.lineno, "column": exc.colno}
        except (ValueError, RecursionError):
            pass
    # orjson's reason is English ("unexpected character"): the place of the error is said.
    texts = {language: translate("invalid_json_at", language, **place) for language in LANGUAGES}
    raise InvalidInput([Problem("", "invalid_json", texts=texts)])


async def json_object(request: Request, model: type[BaseModel] | None = None) -> dict[str, Any]:
    """A JSON object body (415 unless sent as JSON; 422 naming each bad field): values no
    request may carry (NUL, lone surrogates, deep nesting) refused as in a survey, then
    checked against `model` when given (its fields as set by the client)."""
    if not is_json(request.headers.get("content-type")):
        raise UnsupportedMediaType("json_required")
    raw = parse_json(await request.body())
    if not isinstance(raw, dict):
        raise InvalidInput([Problem("", "wrong_type", {"expected": "object"})])
    problems = item_problems(raw)
    if problems:
        raise InvalidInput(problems)
    if model is None:
        return raw
    try:
        return model.model_validate(raw).model_dump(exclude_unset=True)
    except ValidationError as exc:
        raise InvalidInput(pydantic_problems(exc.errors())) from exc
