"""The usual expressions compiled to plain tests of an answers dict, without an XPath context.

Why: the general compiler (app.forms.xpath) builds a context and node objects for every
evaluation and compares through the full casting rules: ~2 µs per comparison, 15 µs per
household survey for the four rules of forms/quality.yaml, and a few µs more for the form's
own constraints. The shapes those use (an answer compared with a literal, `selected()`,
`regex()`, `and`, `or`, `not()`) are compiled here to functions of the answers that give
exactly what the general evaluator gives, raising the same errors on the same values. Any
other shape gives None and the caller keeps the general path. The rule this imposes:
tests/unit/test_forms_direct.py holds the two paths equal on hostile values (NUL, lone
surrogates, huge numbers, dates, wrong types, missing answers); a shape added here needs its
cases there.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from app.forms.regex_check import compile_pattern
from app.forms.xpath_values import (
    DATE_STRING,
    answer_number,
    as_number,
    as_text,
    date_string_to_days,
    js_trim,
)

Ast = tuple[Any, ...]
Test = Callable[[Mapping[str, Any]], bool]
# The name of the answer an operand reads when it is one node whose text is that answer's
# (`${name}` in a quality rule; `.` or a question's path in a form); None for anything else.
NameOf = Callable[[Ast], str | None]

_RELATIONS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def compile_test(ast: Ast, name_of: NameOf) -> Test | None:
    """A function of the answers giving as_boolean of the expression, or None when the
    expression is of a shape left to the general compiler."""
    kind = ast[0]
    if kind == "op":
        if ast[1] == "and":
            between = _range(ast[2], ast[3], name_of)
            if between is not None:
                return between
        if ast[1] in ("and", "or"):
            left, right = compile_test(ast[2], name_of), compile_test(ast[3], name_of)
            if left is None or right is None:
                return None
            if ast[1] == "and":
                return lambda answers: left(answers) and right(answers)
            return lambda answers: left(answers) or right(answers)
        if ast[1] in ("=", "!=", "<", "<=", ">", ">="):
            return _comparison(ast[1], ast[2], ast[3], name_of)
        return None
    if kind == "call":
        return _call(ast[1], ast[2], name_of)
    return None


def _call(function: str, args: list[Ast], name_of: NameOf) -> Test | None:
    if function == "not" and len(args) == 1:
        inner = compile_test(args[0], name_of)
        if inner is None:
            return None
        return lambda answers: not inner(answers)
    if function in ("true", "false") and not args:
        constant = function == "true"
        return lambda answers: constant
    if len(args) != 2 or args[1][0] != "str":
        return None
    name = name_of(args[0])
    if name is None:
        return None
    if function == "selected":
        choice = js_trim(args[1][1])
        return lambda answers: choice in as_text(answers.get(name)).split(" ")
    if function == "regex":
        try:
            search = compile_pattern(args[1][1]).search
        except ValueError:
            return None  # the general compiler reports it
        return lambda answers: search(as_text(answers.get(name))) is not None
    return None


def _comparison(relation: str, left: Ast, right: Ast, name_of: NameOf) -> Test | None:
    """One answer against a literal: what xpath_operators.compare does for one node."""
    operand = _operand(relation, left, right, name_of)
    if operand is None:
        return None
    name, constant = operand
    literal = constant[1]
    number = as_number(literal)
    if relation in _RELATIONS:
        return _relation(relation, name, number)
    equal = relation == "="
    if constant[0] == "num" or DATE_STRING.match(literal):
        # Both sides read as numbers (a date as its days).
        if equal:
            return lambda answers: answer_number(answers.get(name)) == number
        return lambda answers: answer_number(answers.get(name)) != number
    if number != number:
        # A date answer would be compared as its days with the literal's number: NaN, never
        # equal, as its text is never equal to a literal that is no date. (Reading the days
        # raises nothing: date_string_to_days gives NaN for what it cannot read.)
        if equal:
            return lambda answers: as_text(answers.get(name)) == literal
        return lambda answers: as_text(answers.get(name)) != literal

    def text_equals(answers: Mapping[str, Any]) -> bool:
        text = as_text(answers.get(name))
        if DATE_STRING.match(text):  # a date against text: its days against the text's number
            return (date_string_to_days(text) == number) is equal
        return (text == literal) is equal

    return text_equals


def _operand(relation: str, left: Ast, right: Ast, name_of: NameOf) -> tuple[str, Ast] | None:
    """(the answer's name, the literal) of a comparison of one answer with a literal."""
    name, constant = name_of(left), right
    if name is None or constant[0] not in ("num", "str"):
        if relation not in ("=", "!="):
            return None  # a literal on the left of < is left to the general path
        name, constant = name_of(right), left
        if name is None or constant[0] not in ("num", "str"):
            return None
    return name, constant


def _relation(relation: str, name: str, number: float) -> Test:
    """answer < number (or <=, >, >=), both read as numbers; one closure per relation."""
    if relation == "<":
        return lambda answers: answer_number(answers.get(name)) < number
    if relation == "<=":
        return lambda answers: answer_number(answers.get(name)) <= number
    if relation == ">":
        return lambda answers: answer_number(answers.get(name)) > number
    return lambda answers: answer_number(answers.get(name)) >= number


def _range(left: Ast, right: Ast, name_of: NameOf) -> Test | None:
    """`. >= 1 and . <= 30`: one answer between two numbers, read once (the usual
    constraint of a number question)."""
    if (
        left[0] != "op"
        or right[0] != "op"
        or not (left[1] in _RELATIONS and right[1] in _RELATIONS)
    ):
        return None
    low, high = (
        _operand(left[1], left[2], left[3], name_of),
        _operand(right[1], right[2], right[3], name_of),
    )
    if low is None or high is None or low[0] != high[0]:
        return None
    name = low[0]
    first, second = _RELATIONS[left[1]], _RELATIONS[right[1]]
    a, b = as_number(low[1][1]), as_number(high[1][1])

    def between(answers: Mapping[str, Any]) -> bool:
        number = answer_number(answers.get(name))
        return first(number, a) and second(number, b)

    return between
