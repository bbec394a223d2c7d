"""Answers read as their question's type: one coercion per type, each giving the normalised
value or a problem naming the field (pass 1 of validation, see validation.py)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from app.errors import Problem
from app.forms.definition import META_TYPES, Question
from app.forms.xpath_values import JS_SPACE, js_number_string, js_trim
from app.geo.geoshape import DECIMAL, MAX_POINTS, GeoshapeError, read_geoshape, too_many_points

# A typed answer (text, barcode...) is at most 2000 characters (docs/forms-engine.md). A
# calculate is the form's own value, not typed: join(', ', ${names}) over a repeat of 500
# names is legitimately longer, so its bound only stops a runaway value.
MAX_TEXT_LENGTH = 2000
MAX_CALCULATE_LENGTH = 65536
MAX_REPEATS = 500  # instances of one repeat in one survey
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
# The phone's own patterns (static/collect/form.js): ASCII digits only, as XForms write them
# (Python's int() and float() also read "1_000", "٣" and "infinity").
_INTEGER = re.compile(r"^[+-]?[0-9]+$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_DATETIME = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?([+-][0-9]{2}:?[0-9]{2}|Z)?$"
)
# A file question's answer names the file sent beside the survey (the same rule as the upload,
# app/services/attachments.SAFE_FILENAME): a plain name, never a path.
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def is_empty(value: Any) -> bool:
    """No answer: absent, null, blank text or an empty list."""
    if value is None:
        return True
    if type(value) is str:
        return not value.strip(JS_SPACE)  # the phone's value.trim() === ""
    return value == []


def _parse_geopoints(value: str) -> list[tuple[float, float]] | None:
    points: list[tuple[float, float]] = []
    for chunk in value.split(";"):
        parts = chunk.split()
        if not parts:
            continue
        if len(parts) < 2 or len(parts) > 4:
            return None
        # As the phone reads them: ASCII decimals (float() also reads "NaN", "1_0" and "١٠"),
        # each a finite number ("1e999" is none).
        if not all(DECIMAL.match(part) for part in parts):
            return None
        numbers = [float(part) for part in parts]
        if not all(math.isfinite(number) for number in numbers):
            return None
        lat, lon = numbers[0], numbers[1]
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
    elif isinstance(value, str) and len(value) < 40 and _INTEGER.match(text := js_trim(value)):
        number = int(text)
    if number is None:
        return None, Problem(where, "not_integer")
    if abs(number) > MAX_INTEGER:
        return None, Problem(where, "number_too_large")
    return number, None


def _decimal(question: Question, value: Any, where: str) -> Coerced:
    if isinstance(value, bool):
        return None, Problem(where, "not_number")
    number = math.nan
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # an integer past any double (10**400)
            return None, Problem(where, "number_too_large")
    elif isinstance(value, str) and len(value) < 100 and DECIMAL.match(text := js_trim(value)):
        number = float(text)
    if not math.isfinite(number):  # JSON's 1e400 is read as infinity (requests.parse_json)
        return None, Problem(where, "not_number")
    if abs(number) > MAX_INTEGER:
        # Stored as JSON, 1e20 comes back as a whole number no JSON writer takes.
        return None, Problem(where, "number_too_large")
    return number, None


def _select_one(question: Question, value: Any, where: str) -> Coerced:
    if type(value) is str and value in question.choice_values:
        return value, None  # the usual case: exactly one of the choices
    names = _choice_names([value])  # a number is its text, as the phone's String() writes it
    text = names[0] if names else None
    if text is None or text not in question.choice_values:
        return None, choice_problem(question, value, where)
    return text, None


def _choice_names(value: Any) -> list[str] | None:
    """The names a select_multiple or rank answer holds: a text of names separated by spaces,
    or a list of names, each a text or a number (as the phone's String() writes it: [1] is
    the choice "1", as 1 is for a select_one); None for anything else."""
    if isinstance(value, str):
        return value.split()
    if not isinstance(value, list):
        return None
    names = []
    for item in value:
        if isinstance(item, str):
            names.append(js_trim(item))
        elif isinstance(item, int | float) and not isinstance(item, bool):
            try:
                number = float(item)
            except OverflowError:
                return None
            names.append(js_number_string(number))
        else:
            return None
    return names


def _select_multiple(question: Question, value: Any, where: str) -> Coerced:
    items = _choice_names(value)
    if items is None:
        return None, choice_problem(question, value, where)
    for item in items:
        if item not in question.choice_values:
            return None, choice_problem(question, item, where)
    if len(items) == 1:
        return items[0], None  # the usual answer: one choice
    return " ".join(dict.fromkeys(items)), None


def _geometry(question: Question, value: Any, where: str) -> Coerced:
    kind = question.type
    if not isinstance(value, str):
        return None, Problem(where, "invalid_geopoint")
    if kind == "geoshape":
        # Read as the polygon it is stored as (intake): refused for what no polygon can be.
        try:
            read_geoshape(value)
        except GeoshapeError as exc:
            return None, Problem(where, exc.code, exc.params)
        return " ".join(value.split()), None
    if too_many_points(value):
        return None, Problem(where, "geoshape_too_many_points", {"max": MAX_POINTS})
    points = _parse_geopoints(value.strip().rstrip(";"))
    minimum = {"geopoint": 1, "geotrace": 2}[kind]
    if points is None or (kind == "geopoint" and len(points) != 1):
        return None, Problem(where, "invalid_geopoint")
    if len(points) < minimum:
        return None, Problem(where, "invalid_geoshape", {"min": minimum})
    return " ".join(value.split()), None


def _date_value(value: Any, where: str) -> Coerced:
    text = js_trim(str(value)[:40])
    try:
        if not _DATE.match(text):
            raise ValueError(text)
        return date.fromisoformat(text).isoformat(), None
    except ValueError:
        return None, Problem(where, "invalid_date")


def _datetime_value(value: Any, where: str) -> Coerced:
    text = js_trim(str(value)[:40])
    try:
        if not _DATETIME.match(text):
            raise ValueError(text)
        return datetime.fromisoformat(text).isoformat(), None
    except ValueError:
        return None, Problem(where, "invalid_datetime")


def _date(question: Question, value: Any, where: str) -> Coerced:
    return _date_value(value, where)


def _datetime(question: Question, value: Any, where: str) -> Coerced:
    return _datetime_value(value, where)


def coerce_text(question: Question, value: Any, where: str) -> Coerced:
    """text, image (a file name) and anything else: the text as typed, as the phone's
    expressions read it (a keyboard's trailing space included); validate_answers stores it
    trimmed once every expression has read it (store_text)."""
    if not isinstance(value, str):
        if not isinstance(value, int | float) or isinstance(value, bool):
            return None, Problem(where, "not_text")
        # A number as the phone's String() writes it (1.0 is "1", 1e16 "10000000000000000"),
        # so that a survey sent again by another writer of JSON is the same survey.
        try:
            number = float(value)
        except OverflowError:  # 10**400: Infinity on the phone, which is no text
            return None, Problem(where, "not_text")
        if not math.isfinite(number):
            return None, Problem(where, "not_text")
        value = js_number_string(number)
    longest = MAX_CALCULATE_LENGTH if question.type == "calculate" else MAX_TEXT_LENGTH
    if len(value) > longest // 2 and utf16_length(js_trim(value)) > longest:
        # The phone's String(text.trim()).length: UTF-16 units, an emoji is two.
        return None, Problem(where, "text_too_long", {"max": longest})
    return value, None


def utf16_length(text: str) -> int:
    """JavaScript's text.length."""
    return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2


def store_text(value: str) -> str:
    """A text answer as stored, once checked: without its surrounding spaces (Python's
    strip(), as stored since the first survey, so that a resent survey keeps its hash)."""
    return value.strip()


def coerce_meta(name: str, value: Any, where: str) -> Coerced:
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


# [0-9], not \d: Python's \d is any Unicode digit ("١٢"), JavaScript's only ASCII.
_TIME = re.compile(
    r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:?[0-9]{2})?$"
)


def _time(question: Question, value: Any, where: str) -> Coerced:
    if type(value) is not str or not _TIME.match(text := js_trim(value)):
        return None, Problem(where, "invalid_time")
    return text, None


def _rank(question: Question, value: Any, where: str) -> Coerced:
    items = _choice_names(value)
    if items is None:
        return None, choice_problem(question, value, where)
    for item in items:
        if item not in question.choice_values:
            return None, choice_problem(question, item, where)
    if len(set(items)) != len(items):
        return None, Problem(where, "rank_repeated")
    if question.choice_filter is None and len(items) != len(question.choice_values):
        # The phone orders every choice (ODK's rank widget too); those a choice filter
        # leaves out are not known here.
        return None, Problem(where, "rank_incomplete")
    return " ".join(items), None


def _acknowledge(question: Question, value: Any, where: str) -> Coerced:
    if type(value) is not str or js_trim(value) != "OK":
        return None, Problem(where, "invalid_choice", {"value": value, "allowed": "OK"})
    return "OK", None


def _file(question: Question, value: Any, where: str) -> Coerced:
    text, problem = coerce_text(question, value, where)
    if problem is not None:
        return None, problem
    if not _FILE_NAME.fullmatch(js_trim(text)) or ".." in text:
        return None, Problem(where, "invalid_file_name")
    return store_text(text), None


def _range(question: Question, value: Any, where: str) -> Coerced:
    number, problem = _decimal(question, value, where)
    if problem is not None:
        return None, problem
    parameters = question.parameters
    try:
        start = float(parameters.get("start", "1"))
        end = float(parameters.get("end", "10"))
        step = float(parameters.get("step", "1"))
    except ValueError:
        return None, Problem(where, "not_number")
    low, high = min(start, end), max(start, end)
    steps = (number - start) / step if step else 0.0
    if not low <= number <= high or abs(steps - round(steps)) > 1e-9:
        return None, Problem(
            where,
            "out_of_range",
            {"start": parameters.get("start", "1"), "end": parameters.get("end", "10")}
            | {"step": parameters.get("step", "1")},
        )
    whole = all(float(p).is_integer() for p in (start, end, step))
    return (int(number) if whole and float(number).is_integer() else number), None


COERCIONS: dict[str, Callable[[Question, Any, str], Coerced]] = {
    "integer": _integer,
    "decimal": _decimal,
    "select_one": _select_one,
    "select_multiple": _select_multiple,
    "geopoint": _geometry,
    "geotrace": _geometry,
    "geoshape": _geometry,
    "date": _date,
    "datetime": _datetime,
    "time": _time,
    "rank": _rank,
    "range": _range,
    "acknowledge": _acknowledge,
    "image": _file,
    "audio": _file,
    "file": _file,
}


def _coerce(question: Question, value: Any, where: str) -> Coerced:
    """Return the normalised value, or a problem."""
    return COERCIONS.get(question.type, coerce_text)(question, value, where)


def choice_problem(question: Question, value: Any, where: str) -> Problem:
    """An answer that is not one of the question's choices."""
    allowed = ", ".join(choice.value for choice in question.choices)
    return Problem(where, "invalid_choice", {"value": value, "allowed": allowed})
