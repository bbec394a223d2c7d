"""The Python expression evaluator, with openrosa-xpath-evaluator 3.x semantics (issue 10).

Cases changed on purpose from the old hand-written subset: `${name}` is a node (its text),
`mod` and `div` are JavaScript's, numbers print as JavaScript prints them, `if()` takes three
arguments, `position()` is the context position.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from app.forms.xpath import ExpressionError, evaluate, is_true, parse, references

NAN = "NaN"  # expected: a number that is not a number
ERROR = "ExpressionError"  # expected: the expression is refused (parse or evaluation)

HOUSEHOLD = {
    "household_size": 4,
    "lane_width_m": 1.8,
    "savings_group": "yes",
    "priority_needs": "drainage lane water",
    "head_phone": "0905123456",
    "head_name": "Nguyễn Thị Hoa",
    "empty": "",
}

# (expression, answers, current, expected)
CASES: list[tuple[str, dict[str, Any], Any, Any]] = [
    # literals, references and the current answer
    ("1", {}, None, 1.0),
    ("2.5", {}, None, 2.5),
    (".5", {}, None, 0.5),
    ("'vi'", {}, None, "vi"),
    ('"en"', {}, None, "en"),
    ("${household_size}", HOUSEHOLD, None, "4"),  # a node: its text
    ("${missing_answer}", HOUSEHOLD, None, ""),
    (".", {}, "abc", "abc"),
    (".", {}, None, ""),
    # comparison: numbers, strings, booleans and empties
    ("${savings_group} = 'yes'", HOUSEHOLD, None, True),
    ("${savings_group} != 'yes'", HOUSEHOLD, None, False),
    ("${savings_group} = 'yes'", {}, None, False),
    ("${missing_answer} = ''", {}, None, True),
    ("${household_size} = '4'", HOUSEHOLD, None, True),
    ("${household_size} = '4.0'", HOUSEHOLD, None, False),  # node = string: texts
    ("'4' = '4.0'", {}, None, False),
    ("${household_size} > 3", HOUSEHOLD, None, True),
    ("${household_size} >= 4 and ${household_size} <= 30", HOUSEHOLD, None, True),
    ("${household_size} < 4", HOUSEHOLD, None, False),
    ("${missing_answer} > 3", {}, None, False),
    ("${missing_answer} < 3", {}, None, False),
    ("'10' > '9'", {}, None, True),
    ("'abc' < 1", {}, None, False),
    ("true() = 1", {}, None, True),
    ("false() = ''", {}, None, True),
    ("true() = 'no'", {}, None, True),
    (". >= 1 and . <= 30", {}, 31, False),
    (". >= 1 and . <= 30", {}, 12, True),
    (". > 0 and . <= 30", {}, 0.0, False),
    # arithmetic and precedence
    ("1 + 2 * 3", {}, None, 7.0),
    ("(1 + 2) * 3", {}, None, 9.0),
    ("10 - 4 - 3", {}, None, 3.0),
    ("7 div 2", {}, None, 3.5),
    ("7 mod 3", {}, None, 1.0),
    ("-7 mod 3", {}, None, -1.0),  # JavaScript %
    ("7 mod -3", {}, None, 1.0),
    ("1 div 0", {}, None, math.inf),
    ("0 div 0", {}, None, NAN),
    ("1 mod 0", {}, None, NAN),
    ("-${household_size}", HOUSEHOLD, None, -4.0),
    ("- - 2", {}, None, 2.0),
    ("'3' + '4'", {}, None, 7.0),
    ("'abc' + 1", {}, None, NAN),
    ("${missing_answer} + 1", {}, None, NAN),
    ("${lane_width_m} * 2", HOUSEHOLD, None, 3.6),
    ("1 = 1 or 1 div 0", {}, None, True),
    ("1 < 2 = true()", {}, None, True),
    ("1 + 1 = 2 and 2 * 2 = 4", {}, None, True),
    ("0 or ''", {}, None, False),
    ("'0' and 'x'", {}, None, True),
    # functions
    ("not(${savings_group} = 'yes')", HOUSEHOLD, None, False),
    ("not('')", {}, None, True),
    ("selected(${priority_needs}, 'lane')", HOUSEHOLD, None, True),
    ("selected(${priority_needs}, 'lan')", HOUSEHOLD, None, False),
    ("selected(${missing_answer}, 'lane')", {}, None, False),
    ("count-selected(${priority_needs})", HOUSEHOLD, None, 3.0),
    ("count-selected(${empty})", HOUSEHOLD, None, 0.0),
    ("count-selected(.) <= 2", {}, "a  b", True),
    ("string-length(${head_name})", HOUSEHOLD, None, 14.0),
    ("string-length(.)", {}, None, 0.0),
    ("string-length(${household_size})", HOUSEHOLD, None, 1.0),
    ("regex(., '^0[0-9]{9,10}$')", {}, "0905123456", True),
    ("regex(., '^0[0-9]{9,10}$')", {}, "905123456", False),
    ("regex(${head_phone}, '^09')", HOUSEHOLD, None, True),
    ("regex(., '[a-z]+')", {}, "123abc", True),
    ("true()", {}, None, True),
    ("false()", {}, None, False),
    ("number('12')", {}, None, 12.0),
    ("number(' 12.5 ')", {}, None, 12.5),
    ("number('1e3')", {}, None, 1000.0),
    ("number('abc')", {}, None, NAN),
    ("number('')", {}, None, NAN),
    ("number(true())", {}, None, 1.0),
    ("number(${missing_answer})", {}, None, NAN),
    ("string(4)", {}, None, "4"),
    ("string(2.5)", {}, None, "2.5"),
    ("string(0.00001)", {}, None, "0.00001"),
    ("string(1000000 * 1000000 * 1000000 * 1000)", {}, None, "1e+21"),
    ("string(0.1 + 0.2)", {}, None, "0.30000000000000004"),
    ("string(1 div 0)", {}, None, "Infinity"),
    ("concat('x', 0 div 0)", {}, None, "xNaN"),
    ("string(true())", {}, None, "true"),
    ("string(${missing_answer})", {}, None, ""),
    ("string(${household_size}) = '4'", HOUSEHOLD, None, True),
    ("if(${household_size} > 3, 'big', 'small')", HOUSEHOLD, None, "big"),
    ("if(${household_size} > 5, 'big', 'small')", HOUSEHOLD, None, "small"),
    ("if(true(), 1)", {}, None, ERROR),  # refused at load: 3 arguments
    ("contains(${head_name}, 'Thị')", HOUSEHOLD, None, True),
    ("contains(., '')", {}, "x", True),
    ("starts-with(${head_phone}, '09')", HOUSEHOLD, None, True),
    ("starts-with(${head_phone}, '08')", HOUSEHOLD, None, False),
    (
        "count-selected(${priority_needs}) > 1 and selected(${priority_needs}, 'water')",
        HOUSEHOLD,
        None,
        True,
    ),
    # outside the subset, malformed, or missing arguments
    ("position()", {}, None, 1.0),  # the context position
    ("/data/x = 1", {}, None, False),  # absolute paths (issue 10): an empty node
    ("${a} = ", {}, None, ERROR),
    ("(1 + 2", {}, None, ERROR),
    ("1 2", {}, None, ERROR),
    ("1 & 2", {}, None, ERROR),
    ("true", {}, None, ""),  # a path to a child named true: none
    ("and(1)", {}, None, ERROR),
    ("'unterminated", {}, None, ERROR),
    ("not()", {}, None, ERROR),
    ("selected(.)", {}, "a", ERROR),
    ("if(false(), 1)", {}, None, ERROR),
    ("string-length()", {}, None, 0.0),  # of the context node
]


def outcome(expression: str, answers: dict[str, Any], current: Any) -> dict[str, Any]:
    """Evaluate and describe the result as {kind, value}, the shape the JS side returns."""
    try:
        value = evaluate(parse(expression), answers, current)
    except ExpressionError:
        return {"kind": "error", "value": None}
    if value is None:
        return {"kind": "null", "value": None}
    if isinstance(value, bool):
        return {"kind": "boolean", "value": value}
    if isinstance(value, int | float):
        if math.isnan(value):
            return {"kind": "number", "value": NAN}
        return {"kind": "number", "value": float(value)}
    return {"kind": "string", "value": str(value)}


def expected_outcome(expected: Any) -> dict[str, Any]:
    """The {kind, value} an expected value of the CASES table stands for."""
    if expected == ERROR:
        return {"kind": "error", "value": None}
    if expected == NAN:
        return {"kind": "number", "value": NAN}
    if expected is None:
        return {"kind": "null", "value": None}
    if isinstance(expected, bool):
        return {"kind": "boolean", "value": expected}
    if isinstance(expected, int | float):
        return {"kind": "number", "value": float(expected)}
    return {"kind": "string", "value": str(expected)}


def same(actual: dict[str, Any], expected: dict[str, Any]) -> bool:
    """Equal outcomes, numbers compared to 1e-9."""
    if actual["kind"] != expected["kind"]:
        return False
    if actual["kind"] == "number" and NAN not in (actual["value"], expected["value"]):
        return math.isclose(actual["value"], expected["value"], rel_tol=1e-9, abs_tol=1e-12)
    return bool(actual["value"] == expected["value"])


@pytest.mark.parametrize(("expression", "answers", "current", "expected"), CASES)
def test_python_evaluator(expression: str, answers: dict, current: Any, expected: Any) -> None:
    actual = outcome(expression, answers, current)
    assert same(actual, expected_outcome(expected)), (expression, actual)


def test_references_lists_every_question_named() -> None:
    tree = parse("${a} = 'x' and (selected(${b}, 'y') or ${a} > ${c})")
    assert references(tree) == {"a", "b", "c"}


def test_is_true_follows_xpath_boolean_rules() -> None:
    assert is_true(parse("'x'"), {}) is True
    assert is_true(parse("''"), {}) is False
    assert is_true(parse("0"), {}) is False
    assert is_true(parse("0 div 0"), {}) is False
    assert is_true(parse("1 div 0"), {}) is True  # Infinity
    assert is_true(parse("${x}"), {}) is True  # a node-set of one node (XPath boolean())
    assert is_true(parse("${x} != ''"), {}) is False
