"""Validate and normalise a submission's answers against its form definition."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from app.errors import Problem
from app.forms.definition import META_TYPES, FormDefinition, Question

MAX_TEXT_LENGTH = 2000
# Keys a client may add beside the questions (ODK meta), each with the type its value must
# have: they are stored with the answers, so they are checked like answers.
META_KINDS: dict[str, str] = {
    "instanceID": "id",
    "deprecatedID": "id",
    "instanceName": "text",
    "deviceid": "text",
    "username": "text",
    "audit": "text",
    "start": "datetime",
    "end": "datetime",
    "today": "date",
}
META_KEYS = frozenset(META_KINDS)
assert META_TYPES <= META_KEYS
MAX_META_LENGTH = {"id": 64, "text": 255, "datetime": 40, "date": 10}
_INTEGER = re.compile(r"^[+-]?\d+$")


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if type(value) is str:
        return value == "" or value.isspace()
    return value == []


def _parse_geopoints(value: str) -> list[tuple[float, float]] | None:
    points: list[tuple[float, float]] = []
    for chunk in value.split(";"):
        parts = chunk.split()
        if not parts:
            continue
        if len(parts) < 2 or len(parts) > 4:
            return None
        try:
            lat, lon = float(parts[0]), float(parts[1])
            [float(p) for p in parts[2:]]
        except ValueError:
            return None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return None
        points.append((lat, lon))
    return points


# One coercion per question type: (question, answer, where) -> (normalised value, problem).
Coerced = tuple[Any, Problem | None]


# Integers a phone (JavaScript) and every JSON reader hold exactly: past this an answer is no
# count anyone made, and JSON writers refuse it.
MAX_INTEGER = 2**53


def _integer(question: Question, value: Any, where: str) -> Coerced:
    if isinstance(value, bool):
        return None, Problem(where, "not_integer")
    number: int | None = None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and len(value) < 40 and _INTEGER.match(value.strip()):
        number = int(value.strip())
    if number is None:
        return None, Problem(where, "not_integer")
    if abs(number) > MAX_INTEGER:
        return None, Problem(where, "number_too_large")
    return number, None


def _decimal(question: Question, value: Any, where: str) -> Coerced:
    if isinstance(value, bool):
        return None, Problem(where, "not_number")
    try:
        number = float(value) if isinstance(value, int | float | str) else math.nan
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        return None, Problem(where, "not_number")
    return number, None


def _select_one(question: Question, value: Any, where: str) -> Coerced:
    if type(value) is str and value in question.choice_values:
        return value, None  # the usual case: exactly one of the choices
    text = str(value).strip() if isinstance(value, str | int) else None
    if text is None or text not in question.choice_values:
        return None, _choice_problem(question, value, where)
    return text, None


def _select_multiple(question: Question, value: Any, where: str) -> Coerced:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = [v.strip() for v in value]
    elif isinstance(value, str):
        items = value.split()
    else:
        return None, _choice_problem(question, value, where)
    for item in items:
        if item not in question.choice_values:
            return None, _choice_problem(question, item, where)
    return " ".join(dict.fromkeys(items)), None


def _geometry(question: Question, value: Any, where: str) -> Coerced:
    kind = question.type
    if not isinstance(value, str):
        return None, Problem(where, "invalid_geopoint")
    points = _parse_geopoints(value.strip().rstrip(";"))
    minimum = {"geopoint": 1, "geotrace": 2, "geoshape": 4}[kind]
    if points is None or (kind == "geopoint" and len(points) != 1):
        return None, Problem(where, "invalid_geopoint")
    if len(points) < minimum:
        return None, Problem(where, "invalid_geoshape", {"min": minimum - (kind == "geoshape")})
    return " ".join(value.split()), None


def _date_value(value: Any, where: str) -> Coerced:
    try:
        return date.fromisoformat(str(value)[:40]).isoformat(), None
    except ValueError:
        return None, Problem(where, "invalid_date")


def _datetime_value(value: Any, where: str) -> Coerced:
    try:
        return datetime.fromisoformat(str(value)[:40]).isoformat(), None
    except ValueError:
        return None, Problem(where, "invalid_datetime")


def _date(question: Question, value: Any, where: str) -> Coerced:
    return _date_value(value, where)


def _datetime(question: Question, value: Any, where: str) -> Coerced:
    return _datetime_value(value, where)


def _text(question: Question, value: Any, where: str) -> Coerced:
    """text, image (a file name) and anything else."""
    if not isinstance(value, str):
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        else:
            return None, Problem(where, "not_text")
    if len(value) > MAX_TEXT_LENGTH:
        return None, Problem(where, "text_too_long", {"max": MAX_TEXT_LENGTH})
    return value.strip(), None


def _meta(name: str, value: Any, where: str) -> Coerced:
    """An ODK meta value: text of bounded length, a date or a time."""
    if value is None or value == "":
        return None, None
    kind = META_KINDS[name]
    if not isinstance(value, str):
        return None, Problem(where, "not_text")
    if len(value) > MAX_META_LENGTH[kind]:
        return None, Problem(where, "text_too_long", {"max": MAX_META_LENGTH[kind]})
    if kind == "date":
        return _date_value(value, where)
    if kind == "datetime":
        return _datetime_value(value, where)
    return value.strip(), None


_COERCIONS: dict[str, Callable[[Question, Any, str], Coerced]] = {
    "integer": _integer,
    "decimal": _decimal,
    "select_one": _select_one,
    "select_multiple": _select_multiple,
    "geopoint": _geometry,
    "geotrace": _geometry,
    "geoshape": _geometry,
    "date": _date,
    "datetime": _datetime,
}


def _coerce(question: Question, value: Any, where: str) -> Coerced:
    """Return the normalised value, or a problem."""
    return _COERCIONS.get(question.type, _text)(question, value, where)


def _choice_problem(question: Question, value: Any, where: str) -> Problem:
    allowed = ", ".join(choice.value for choice in question.choices)
    return Problem(where, "invalid_choice", {"value": value, "allowed": allowed})


def validate_answers(
    form: FormDefinition,
    answers: dict[str, Any],
    prefix: str = "answers.",
    given: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], list[Problem]]:
    """Check types, choices, required, relevance and constraints; return (normalised, problems).

    Questions are checked in form order so that relevance sees the already-normalised answers
    of the questions before it, as the phone does. `given` holds values known to be valid
    (the survey's own location for the form's geopoint): they stand in for the answers.
    """
    problems: list[Problem] = []
    questions = form.by_name
    for name in answers:
        if name not in questions and name not in META_KEYS:
            problems.append(
                Problem(f"{prefix}{name}", "unknown_question", {"form": form.form_id, "name": name})
            )
    normalised: dict[str, Any] = {}
    for name in META_KEYS.intersection(answers):
        value, problem = _meta(name, answers[name], prefix + name)
        if problem is not None:
            problems.append(problem)
        elif value is not None:
            normalised[name] = value
    for question in form.answerable:
        name = question.name
        if given is not None and name in given:
            normalised[name] = given[name]
            continue
        value = answers.get(name)
        is_relevant = question.is_relevant
        if is_relevant is not None and not is_relevant(normalised, None):
            if not _is_empty(value):
                problems.append(
                    Problem(prefix + name, "not_relevant", {"condition": question.relevant or ""})
                )
            continue
        if question.is_allowed is None:
            # The usual answers, already in their normal form: one of the choices, an integer.
            kind = question.type
            if (
                kind == "select_one" and type(value) is str and value in question.choice_values
            ) or (kind == "integer" and type(value) is int):
                normalised[name] = value
                continue
        if _is_empty(value):
            if question.required:
                problems.append(Problem(prefix + name, "required", texts=question.required_message))
            continue
        coerced, problem = _COERCIONS.get(question.type, _text)(question, value, prefix + name)
        if problem is not None:
            problems.append(problem)
            continue
        is_allowed = question.is_allowed
        if is_allowed is not None and not is_allowed(normalised, coerced):
            problems.append(
                Problem(
                    prefix + name,
                    "constraint",
                    {"constraint": question.constraint},
                    texts=question.constraint_message,
                )
            )
            continue
        normalised[name] = coerced
    return normalised, problems
