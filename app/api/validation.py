"""pydantic's validation errors as Problems of the catalogue (app.i18n), in the user's language.

pydantic words its errors in English and shows its own regular expressions ("String should
match pattern '^[a-z0-9][a-z0-9._-]{1,63}$'"); a volunteer reads neither. Each error type a
request can cause is translated here with its limits (ctx), a pattern is said in words
(PATTERN_CODES), and any other type gets a generic translated message, never pydantic's text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from app.errors import Problem
from app.i18n import LANGUAGES, number_text, translate
from app.services.accounts import USERNAME
from app.services.boundaries import SLUG_PATTERN

# Patterns the routes use, each said in words by its message (a test checks every pattern in
# the OpenAPI document is here).
NOT_BLANK = r"\S"
DAY_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
USERNAME_PATTERN = f"^{USERNAME.pattern}$"
XLSFORM_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$"
PATTERN_CODES = {
    NOT_BLANK: "blank",
    DAY_PATTERN: "invalid_date",
    USERNAME_PATTERN: "invalid_username",
    SLUG_PATTERN: "invalid_slug",
    XLSFORM_NAME_PATTERN: "invalid_xlsform_name",
}

# Codes a field has instead of the general one (an id that is not a survey's is not named
# invalid_uuid, whose message says "survey id").
FIELD_CODES: dict[str, dict[str, str]] = {
    "meeting_id": {"invalid_uuid": "cdf_invalid_meeting_id"},
    "token_id": {"invalid_uuid": "invalid_device_id"},
    "password": {"text_too_short": "password_too_short"},
}

# pydantic's error type -> (message code, {message parameter: ctx key}).
TYPE_CODES: dict[str, tuple[str, dict[str, str]]] = {
    "missing": ("missing", {}),
    "extra_forbidden": ("unknown_field", {}),
    "greater_than_equal": ("at_least", {"min": "ge"}),
    "greater_than": ("more_than", {"min": "gt"}),
    "less_than_equal": ("at_most", {"max": "le"}),
    "less_than": ("less_than", {"max": "lt"}),
    "string_too_long": ("text_too_long", {"max": "max_length"}),
    "string_too_short": ("text_too_short", {"min": "min_length"}),
    "too_long": ("too_many_items", {"max": "max_length"}),
    "too_short": ("too_few_items", {"min": "min_length"}),
    "string_type": ("wrong_type", {}),
    "string_unicode": ("invalid_utf8", {}),
    "int_type": ("not_integer", {}),
    "int_parsing": ("not_integer", {}),
    "int_from_float": ("not_integer", {}),
    "int_parsing_size": ("number_too_large", {}),
    "float_type": ("not_number", {}),
    "float_parsing": ("not_number", {}),
    "finite_number": ("not_number", {}),
    "decimal_type": ("not_number", {}),
    "decimal_parsing": ("not_number", {}),
    "bool_type": ("not_boolean", {}),
    "bool_parsing": ("not_boolean", {}),
    "date_type": ("invalid_date", {}),
    "date_parsing": ("invalid_date", {}),
    "date_from_datetime_parsing": ("invalid_date", {}),
    "date_from_datetime_inexact": ("invalid_date", {}),
    "datetime_type": ("invalid_datetime", {}),
    "datetime_parsing": ("invalid_datetime", {}),
    "datetime_from_date_parsing": ("invalid_datetime", {}),
    "datetime_object_invalid": ("invalid_datetime", {}),
    "time_type": ("invalid_time", {}),
    "time_parsing": ("invalid_time", {}),
    "uuid_type": ("invalid_uuid", {}),
    "uuid_parsing": ("invalid_uuid", {}),
    "uuid_version": ("invalid_uuid", {}),
    "json_invalid": ("invalid_json", {}),
    "dict_type": ("wrong_type", {}),
    "model_type": ("wrong_type", {}),
    "model_attributes_type": ("wrong_type", {}),
    "list_type": ("wrong_type", {}),
    "tuple_type": ("wrong_type", {}),
    "set_type": ("wrong_type", {}),
}
# wrong_type's {expected}, by pydantic's error type (names of app.i18n.TYPE_NAMES).
EXPECTED_TYPES = {
    "string_type": "text",
    "dict_type": "object",
    "model_type": "object",
    "model_attributes_type": "object",
    "list_type": "list",
    "tuple_type": "list",
    "set_type": "list",
}
# Where a request's value came from: the first part of a FastAPI error's location.
SOURCES = frozenset({"path", "query", "header", "cookie", "body"})
# One value of pydantic's list of allowed values: "'A4' or 'A3'", "1, 2 or 3".
_ALLOWED_VALUE = re.compile(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"|(-?[0-9][0-9.]*)")


def _number(value: Any, language: str) -> str:
    """A limit as the language writes numbers (1.000 in Vietnamese, 1,000 in English)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and not value.is_integer():
        decimals = len(repr(value).partition(".")[2])
        return number_text(value, language, decimals)
    return number_text(value, language)


def _allowed(expected: Any) -> str | None:
    """The values pydantic lists as allowed ("'A4' or 'A3'"), as "A4, A3"."""
    values = [
        quoted if quoted is not None else double if double is not None else number
        for quoted, double, number in _ALLOWED_VALUE.findall(str(expected or ""))
    ]
    return ", ".join(values) if values else None


def _texts(code: str, params: Mapping[str, Any]) -> dict[str, str]:
    """The message of `code` in every language, numbers written as each writes them."""
    return {
        language: translate(
            code, language, **{name: _number(value, language) for name, value in params.items()}
        )
        for language in LANGUAGES
    }


def _problem(field: str, error: Mapping[str, Any]) -> Problem:
    """One pydantic error as a Problem."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    params: dict[str, Any] = {}
    if kind == "string_pattern_mismatch":
        code = PATTERN_CODES.get(str(ctx.get("pattern")), "invalid_format")
    elif kind in ("literal_error", "enum"):
        allowed = _allowed(ctx.get("expected"))
        code, params = ("not_one_of", {"allowed": allowed}) if allowed else ("invalid_value", {})
    elif kind in TYPE_CODES:
        code, names = TYPE_CODES[kind]
        params = {name: ctx[key] for name, key in names.items() if key in ctx}
        if kind == "extra_forbidden":
            params["name"] = field.rpartition(".")[2]
        if kind in EXPECTED_TYPES:
            params["expected"] = EXPECTED_TYPES[kind]
    else:
        code = "invalid_value"
    code = FIELD_CODES.get(field, {}).get(code, code)
    return Problem(field, code, texts=_texts(code, params))


def pydantic_problems(errors: Iterable[Mapping[str, Any]], located: bool = False) -> list[Problem]:
    """Problems naming each field of pydantic's errors, in the catalogue's words.

    `located`: the errors are FastAPI's, whose locations start with where the value came
    from (query, path, body...), left out of the field's name.
    """
    problems = []
    for error in errors:
        location = list(error.get("loc", ()))
        if located and location and location[0] in SOURCES:
            location = location[1:]
        if error.get("type") == "json_invalid":
            location = []  # FastAPI puts the character's position there
        problems.append(_problem(".".join(str(part) for part in location), error))
    return problems
