"""The server's evaluator gives the phone's answers (tests/xpath_parity.py, recorded in
Chromium) where the two once differed, and stores what the phone stores."""

from __future__ import annotations

import pytest

from app.forms.definition import load_form
from app.forms.validation import validate_answers
from app.forms.xpath import ExpressionError, Schema, compile_expression, flat_context, parse
from app.forms.xpath_values import as_string
from app.settings import REPO_ROOT
from tests.xpath_parity import ERROR, ROWS

FORMS = REPO_ROOT / "tests" / "forms"


@pytest.mark.parametrize(("expression", "expected"), ROWS, ids=[row[0] for row in ROWS])
def test_the_server_gives_the_phones_answer(expression: str, expected: str) -> None:
    compiled = compile_expression(parse(expression))
    if expected == ERROR:
        with pytest.raises(ValueError):
            as_string(compiled(flat_context({})))
    else:
        assert as_string(compiled(flat_context({}))) == expected


def test_a_calculate_holding_half_an_emoji_is_stored_as_the_phone_sends_it() -> None:
    form = load_form(FORMS / "parity_server_strings.md")
    assert validate_answers(form, {"tag": "ax"})[0]["half"] == "a\ufffd"


def test_a_calculated_whole_number_is_stored_without_a_fraction() -> None:
    form = load_form(FORMS / "parity_server_numbers.md")
    assert validate_answers(form, {"n": 2})[0]["big"] == "9007199254740992"


def test_a_date_of_the_year_99_is_formatted_as_the_phone_formats_it() -> None:
    form = load_form(FORMS / "parity_server_dates.md")
    assert validate_answers(form, {"far": "9999-99-99"})[0]["year"] == "0099"


@pytest.mark.parametrize(
    ("pattern", "code"),
    [("%j", "%j"), ("%Y-%W", "%W"), ("%A", "%A"), ("%I:%M %p", "%I"), ("%Z", "%Z")],
)
def test_a_format_date_pattern_the_phone_cannot_use_is_refused_at_load(
    pattern: str, code: str
) -> None:
    with pytest.raises(ExpressionError, match=code):
        compile_expression(parse(f"format-date('2026-01-01', '{pattern}')"))
    with pytest.raises(ExpressionError, match="ends with %"):
        compile_expression(parse("format-date-time('2026-01-01', '%Y %')"))
    compile_expression(
        parse("format-date('2026-01-01', '%Y-%m-%d %H:%M:%S.%3 %a %b %e %n %h %y %%')")
    )


def test_an_instance_the_form_does_not_have_is_refused_at_load() -> None:
    schema = Schema(instances=frozenset({"districts"}))
    compile_expression(parse("count(instance('districts')/root/item)"), schema)
    with pytest.raises(ExpressionError, match=r"instance\('nothing'\).*districts"):
        compile_expression(parse("count(instance('nothing')/root/item)"), schema)
    compile_expression(parse("count(instance('nothing')/root/item)"))  # no form: not known
