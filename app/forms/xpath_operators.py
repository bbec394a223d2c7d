"""XPath operators as openrosa-xpath-evaluator 3.x applies them: its handleInfix (dates and
date strings first) then src/utils/operation.js (comparisons of node-sets, strings, numbers and
booleans; JavaScript arithmetic)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from app.forms.xpath_values import (
    DATE_STRING,
    XDate,
    as_boolean,
    as_date,
    as_number,
    as_string,
    date_string_to_days,
    date_to_days,
)


def compare(operator: str, lhs: Any, rhs: Any) -> bool:
    """openrosa-extensions.js handleInfix, then operation.js (equality and relational)."""
    lt, rt = type(lhs), type(rhs)
    if lt is XDate or rt is XDate:
        if lt is not bool and rt is not bool:
            if lt is list or lt is str:
                lhs = as_date(lhs)
            if rt is list or rt is str:
                rhs = as_date(rhs)
            if type(lhs) is XDate:
                lhs = date_to_days(lhs)
            if type(rhs) is XDate:
                rhs = date_to_days(rhs)
    else:
        text = as_string(lhs)
        if DATE_STRING.match(text):
            lhs = date_string_to_days(text)
        text = as_string(rhs)
        if DATE_STRING.match(text):
            rhs = date_string_to_days(text)
    lt, rt = type(lhs), type(rhs)
    if operator in ("=", "!="):
        equal = operator == "="
        if lt is list and rt is list:
            return any(
                (a.text() == b.text()) is equal for a in reversed(lhs) for b in reversed(rhs)
            )
        if lt is bool or rt is bool:
            return (as_boolean(lhs) == as_boolean(rhs)) is equal
        if lt is list or rt is list:
            nodes, other = (lhs, rhs) if lt is list else (rhs, lhs)
            cast = as_number if type(other) is float else as_string
            value = cast(other)
            return any((cast(n) == value) is equal for n in nodes)
        if lt is float or rt is float:
            return (as_number(lhs) == as_number(rhs)) is equal
        return (as_string(lhs) == as_string(rhs)) is equal
    test = RELATIONS[operator]
    if lt is list and rt is list:
        return any(test(as_number(a), as_number(b)) for a in lhs for b in rhs)
    if lt is list:
        value = as_number(rhs)
        return any(test(as_number(n), value) for n in lhs)
    if rt is list:
        value = as_number(lhs)
        return any(test(value, as_number(n)) for n in rhs)
    return test(as_number(lhs), as_number(rhs))


RELATIONS: dict[str, Callable[[float, float], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _divide(a: float, b: float) -> float:
    if b == 0 or b != b or a != a:
        if a != a or b != b or a == 0:
            return float("nan")
        negative = (a < 0) != (str(b).startswith("-"))
        return float("-inf") if negative else float("inf")
    try:
        return a / b
    except OverflowError:
        return float("inf") if (a < 0) == (b < 0) else float("-inf")


def _modulo(a: float, b: float) -> float:
    if b == 0 or a != a or b != b or math.isinf(a):
        return float("nan")
    if math.isinf(b):
        return a
    return math.fmod(a, b)


def arithmetic(operator: str, lhs: Any, rhs: Any) -> float:
    """handleInfix (a date string plus or minus days) then operation.js arithmetic."""
    lt, rt = type(lhs), type(rhs)
    if lt is XDate or rt is XDate:
        if lt is not bool and rt is not bool:
            lhs = date_to_days(as_date(lhs)) if lt in (list, str, XDate) else lhs
            rhs = date_to_days(as_date(rhs)) if rt in (list, str, XDate) else rhs
    elif operator in ("+", "-"):
        text = as_string(lhs)
        if DATE_STRING.match(text):
            days = date_string_to_days(text)
            other = as_number(rhs)
            return days + other if operator == "+" else days - other
        text = as_string(rhs)
        if DATE_STRING.match(text):
            days = date_string_to_days(text)
            other = as_number(lhs)
            return other + days if operator == "+" else other - days
    a, b = as_number(lhs), as_number(rhs)
    if operator == "+":
        return a + b
    if operator == "-":
        return a - b
    if operator == "*":
        try:
            return a * b
        except OverflowError:
            return float("inf")
    if operator == "div":
        return _divide(a, b)
    return _modulo(a, b)
