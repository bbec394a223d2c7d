"""The direct tests of app.forms.direct give what the general XPath evaluator gives.

Quality rules and the flat plan's relevant / constraint / required expressions take the
direct path when their shape allows; these tests hold both paths equal, value for value and
error for error, on hostile answers (NUL, lone surrogates, huge numbers, dates, wrong types,
missing answers), and check that the shapes in use do take it.
"""

from __future__ import annotations

import itertools
import random
from copy import copy
from pathlib import Path
from typing import Any

import pytest

from app.forms.direct import compile_test
from app.forms.quality import load_quality_rules
from app.forms.registry import FormRegistry
from app.forms.validation import _flat_steps, validate_answers
from app.forms.xpath import Ast, compile_expression, flat_context, parse
from app.forms.xpath_values import as_boolean
from tests.factories import household_answers
from tests.hostile import NAMES

ROOT = Path(__file__).resolve().parents[2]

# Every kind of value an answer may hold before or after validation, and some no JSON has.
HOSTILE: list[Any] = [
    None,
    "",
    " ",
    "\x00",
    "car\x00",
    "\ud800",
    "toilet\udfff",
    "car",
    " car",
    "car ",
    "CAR",
    "yes",
    "red_book",
    "own_toilet",
    "toilet",
    "water toilet",
    "water  toilet",
    "\u00a0toilet",
    "toilet\u2028",
    0,
    1,
    2,
    20,
    21,
    -0.0,
    0.0,
    1.5,
    1.9999999999999998,
    2.0000000000000004,
    30,
    30.000001,
    2**53,
    2**53 + 1,
    -(2**63),
    10**20,
    10**400,
    -(10**400),
    10**5000,  # its text is refused by Python (over 4300 digits)
    1e308,
    float("inf"),
    float("-inf"),
    float("nan"),
    True,
    False,
    "1",
    "2",
    "21",
    " 21 ",
    "1e400",
    "-1e400",
    "Infinity",
    "NaN",
    "0x10",
    "٢١",  # Arabic-Indic digits
    "2024-01-01",
    "2024-1-1",
    "2024-01-01T10:00:00Z",
    "2024-13-45T99:99:99Z",
    "0000-00-00",
    "9999999999-99-99",
    "2024-02-30",
    "2024-01-01garbage",
    "1970-01-06T00:00:00Z",  # 5 days: equal to the literal '5' when read as a date
    "1970-01-22T00:00:00Z",  # 21 days
    "٢٠٢٤-٠١-٠١",
    "0905123456",
    "090512345",
    "09051234567",
    "０９０５１２３４５６",
    [],
    ["toilet"],
    ["water", "toilet"],
    [1, 2],
    {},
    {"a": 1},
    *NAMES,
]
MISSING = object()

EXPRESSIONS = [
    "${a} = 'car'",
    "${a} != 'car'",
    "'car' = ${a}",
    "${a} = ''",
    "${a} = '5'",
    "${a} != '21'",
    "${a} = 'toilet water'",
    "${a} = 2",
    "${a} != 2",
    "2 = ${a}",
    "${a} = '2024-01-01'",
    "${a} != '2024-01-01'",
    "${a} < 2",
    "${a} <= 2",
    "${a} > 20",
    "${a} >= 1.5",
    "${a} > '2024-01-01'",
    "${a} < 'x'",
    "${a} >= 1 and ${a} <= 30",
    "${a} > 0 and ${a} <= 30",
    "${a} > 0 and ${b} <= 30",
    "${a} = 'car' and ${b} < 2",
    "${a} = 'car' or ${b} < 2",
    "not(${a} = 'car')",
    "selected(${a}, 'toilet')",
    "selected(${a}, ' toilet ')",
    "selected(${a}, '')",
    "${a} = 'own_toilet' and selected(${b}, 'toilet')",
    "regex(${a}, '^0[0-9]{9,10}$')",
    "regex(${a}, '^car')",
    "true()",
    "false() or ${a} = 'car'",
]
# Shapes left to the general path (the literal on the left of a relation, arithmetic...).
GENERAL_ONLY = ["2 < ${a}", "${a} + 1 > 2", "${a} = ${b}", "string-length(${a}) > 2"]


def _ref(ast: Ast) -> str | None:
    return ast[1] if ast[0] == "ref" else None


def _outcome(run: Any) -> Any:
    try:
        return ("value", run())
    except Exception as exc:  # the error itself must be the same
        return ("error", type(exc), str(exc))


def _validated_with(form: Any, attribute: str, value: Any, answers: dict[str, Any]) -> Any:
    """The outcome of checking `answers` with the form's compiled `attribute` set to `value`."""
    setattr(form.compiled, attribute, value)
    return _outcome(lambda: validate_answers(form, answers, given={"location": "1 2 0 0"}))


def _same(left: Any, right: Any) -> bool:
    try:
        return repr(left) == repr(right)  # NaN-safe
    except ValueError:  # an integer too long to write: compare the objects
        return bool(left == right)


def _answers(a: Any, b: Any) -> dict[str, Any]:
    return {k: v for k, v in (("a", a), ("b", b)) if v is not MISSING}


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_a_direct_test_gives_what_the_general_path_gives(expression: str) -> None:
    ast = parse(expression)
    general = compile_expression(ast)
    direct = compile_test(ast, _ref)
    assert direct is not None, expression
    second = [MISSING, "car", 1.5, "toilet water", None, "\ud800", 10**400]
    for a, b in itertools.chain(
        itertools.product([*HOSTILE, MISSING], second),
        itertools.product(second, [*HOSTILE, MISSING]),
    ):
        answers = _answers(a, b)
        want = _outcome(lambda: as_boolean(general(flat_context(answers))))  # noqa: B023
        got = _outcome(lambda: direct(answers))  # noqa: B023
        assert _same(got, want), (expression, answers, got, want)


@pytest.mark.parametrize("expression", GENERAL_ONLY)
def test_other_shapes_keep_the_general_path(expression: str) -> None:
    assert compile_test(parse(expression), _ref) is None


def test_every_quality_rule_takes_the_direct_path_and_agrees() -> None:
    rules = load_quality_rules(ROOT / "forms" / "quality.yaml")
    household = rules.by_form["household"]
    assert household and all(rule.test is not None for rule in household)
    general = type(rules)(
        {form: tuple(copy_rule(rule) for rule in found) for form, found in rules.by_form.items()}
    )
    names = sorted({name for rule in household for name in _refs(parse(rule.expression))})
    pool = [
        *HOSTILE,
        "car",
        1,
        1.99,
        "red_book",
        "yes",
        "own_toilet",
        "toilet",
        "water toilet",
        25,
    ]
    rng = random.Random(7)
    for _ in range(4000):
        answers = {name: rng.choice(pool) for name in names if rng.random() < 0.9}
        assert rules.broken("household", answers) == general.broken("household", answers), answers


def copy_rule(rule: Any) -> Any:
    general = copy(rule)
    object.__setattr__(general, "test", None)
    return general


def _refs(ast: Any) -> set[str]:
    if isinstance(ast, tuple) and ast and ast[0] == "ref":
        return {ast[1]}
    found: set[str] = set()
    for part in ast[1:] if isinstance(ast, tuple) else ast:
        if isinstance(part, tuple | list):
            found |= _refs(part)
    return found


def test_the_household_forms_expressions_take_the_direct_path(forms: FormRegistry) -> None:
    form = forms.get("household", None)
    steps = _flat_steps(form.compiled)
    expressions = [step[i] for step in steps for i in (4, 5, 6) if isinstance(step[i], tuple)]
    assert expressions and all(test is not None for _compiled, test in expressions)


def test_validation_gives_the_same_with_and_without_direct_tests(
    forms: FormRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    form = forms.get("household", None)
    compiled = form.compiled
    direct_steps = _flat_steps(compiled)
    monkeypatch.setattr("app.forms.validation.compile_test", lambda *args: None)
    general_steps = _flat_steps(compiled)
    base = {
        "head_name": "Nguyễn Thị Hoa",
        "head_phone": "0905123456",
        "household_size": 4,
        "tenure": "red_book",
        "lane_access": "car",
        "lane_width_m": 1.8,
        "savings_group": "yes",
        "cdf_loan": "no",
        "priority_needs": "water",
    }
    rng = random.Random(11)
    names = [step[0] for step in direct_steps]
    cases = [base]
    for name, value in itertools.product(
        ["head_phone", "household_size", "lane_width_m", "savings_group", "cdf_loan"], HOSTILE
    ):
        cases.append({**base, name: value})
    for _ in range(1500):
        answers = dict(base)
        for _ in range(rng.randint(1, 4)):
            name = rng.choice(names)
            if rng.random() < 0.2:
                answers.pop(name, None)
            else:
                answers[name] = rng.choice(HOSTILE)
        cases.append(answers)
    try:
        for answers in cases:
            got = _validated_with(form, "flat_steps", direct_steps, answers)
            want = _validated_with(form, "flat_steps", general_steps, answers)
            assert _same(got, want), answers
    finally:
        compiled.flat_steps = direct_steps


def test_the_flat_plan_gives_what_the_three_passes_give(forms: FormRegistry) -> None:
    # The flat plan's shortcuts (answers already in their normal form, direct tests) against
    # the whole-survey evaluation of docs/forms-engine.md, which has none of them.
    form = forms.get("household", None)
    compiled = form.compiled
    plan = compiled.flat
    rng = random.Random(13)
    names = [node.node.name for node in plan or ()]
    base = household_answers()
    cases = [{**base, name: value} for name in names for value in HOSTILE]
    for _ in range(1500):
        answers = {name: rng.choice(HOSTILE) for name in names if rng.random() < 0.5}
        cases.append(answers)
    valid = 0
    try:
        for answers in cases:
            got = _validated_with(form, "flat", plan, answers)
            want = _validated_with(form, "flat", None, answers)
            # The same verdict, and the same answers when valid (the two report some refused
            # surveys differently: by pass or in form order; an error refuses one too).
            got = got[1][0] if got[0] == "value" and not got[1][1] else "refused"
            want = want[1][0] if want[0] == "value" and not want[1][1] else "refused"
            assert _same(got, want), answers
            valid += want != "refused"
    finally:
        compiled.flat = plan
    assert valid > 300


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("lane_width_m", float("inf"), "not_number"),
        ("lane_width_m", float("-inf"), "not_number"),
        ("lane_width_m", float("nan"), "not_number"),
        ("lane_width_m", 31.0, "constraint"),
        ("lane_width_m", 2, 2.0),
        ("lane_width_m", 2.5, 2.5),
        ("household_size", 2**53 + 1, "number_too_large"),
        ("household_size", -(2**53) - 1, "number_too_large"),
        ("household_size", 31, "constraint"),
        ("household_size", True, "not_integer"),
        ("household_size", 4.0, 4),
        ("household_size", "4", 4),
        ("head_name", "   ", "required"),
        ("head_name", "", "required"),
        ("head_name", "x" * 2001, "text_too_long"),
        ("head_name", " Hoa ", "Hoa"),
        ("head_name", 12, "12"),
        # The constraint reads the text as typed, as the phone (and ODK) read it: the
        # phone refuses it too; a name with spaces around is stored trimmed.
        ("head_phone", " 0905123456 ", "constraint"),
        ("head_phone", "905123456", "constraint"),
        ("head_phone", "0905123456", "0905123456"),
        ("priority_needs", ["water", "water"], "water"),
        ("priority_needs", "lane  water", "lane water"),
        ("priority_needs", ["toilet"], "toilet"),
        ("tenure", " red_book", "red_book"),
    ],
)
def test_answers_in_their_normal_form_and_their_problems(
    forms: FormRegistry, name: str, value: Any, expected: Any
) -> None:
    form = forms.get("household", None)
    answers = {**household_answers(), name: value}
    normalised, problems = validate_answers(form, answers, given={"location": "1 2 0 0"})
    if isinstance(expected, str) and expected in {
        "not_number",
        "constraint",
        "number_too_large",
        "not_integer",
        "required",
        "text_too_long",
    }:
        assert [(p.field, p.code) for p in problems] == [(f"answers.{name}", expected)]
    else:
        assert problems == []
        assert normalised[name] == expected and type(normalised[name]) is type(expected)
