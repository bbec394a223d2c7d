"""The server's evaluator gives the phone's answers (tests/xpath_parity.py, recorded in
Chromium) where the two once differed, and stores what the phone stores."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.forms.definition import FormLoadError, load_form
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


def _digest_form(path: Path, column: str, expression: str) -> Path:
    """A form whose question `q` (or its repeat, for repeat_count) has `expression` in
    `column`; `h` is a calculate with digest()."""
    rows = [
        "| survey |",
        f"| | type | name | label | calculate | {column} |",
        "| | text | name | Name | | |",
        "| | calculate | h | | digest(${name}, 'SHA-256') | |",
    ]
    if column == "repeat_count":
        rows += [
            f"| | begin repeat | r | R | | {expression} |",
            "| | text | q | Q | | |",
            "| | end repeat | | | | |",
        ]
    elif column == "choice_filter":
        rows += [f"| | select_one yn | q | Q | | {expression} |"]
    else:
        rows += [f"| | text | q | Q | | {expression} |"]
    rows += ["| choices |", "| | list_name | name | label |", "| | yn | yes | Yes |"]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


DIGEST = "string-length(digest('a', 'MD5')) > 0"
READS_DIGEST = "${h} != ''"
# A default is filled before calculations on both sides, and pyxform makes a repeat_count that
# reads a question a calculate of its own (which the phone computes and sends): neither reads h.
DIGEST_CASES = [
    *((column, DIGEST) for column in ("relevant", "constraint", "required", "choice_filter")),
    *((column, READS_DIGEST) for column in ("relevant", "constraint", "required", "choice_filter")),
    ("default", DIGEST),
    ("repeat_count", f"if({DIGEST}, 1, 2)"),
]


@pytest.mark.parametrize(("column", "expression"), DIGEST_CASES)
def test_digest_is_refused_where_the_phone_would_need_it(
    tmp_path: Path, column: str, expression: str
) -> None:
    """The phone cannot compute digest(): only a calculate's value, which the server fills,
    may come from it, and no condition may read that value (the phone sees it empty)."""
    with pytest.raises(FormLoadError) as caught:
        load_form(_digest_form(tmp_path / "digest.md", column, expression))
    problems = caught.value.messages("en")
    assert any(f"column {column}" in p and "digest()" in p for p in problems), problems


def test_a_digest_calculate_and_a_calculate_reading_it_load(tmp_path: Path) -> None:
    form = load_form(_digest_form(tmp_path / "digest.md", "relevant", "${name} != ''"))
    normalised, problems = validate_answers(form, {"name": "abc"})
    assert problems == []
    assert normalised["h"] == "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="


@pytest.mark.parametrize(
    ("answers", "stored"),
    [
        ({"sm": [1, "a"]}, "1 a"),
        ({"sm": [1.0]}, "1"),
        ({"so": 1.0}, "1"),
        ({"so": 1}, "1"),
        ({"plus": "+5"}, 5),
    ],
)
def test_numbers_in_select_answers_are_their_text(answers: dict, stored: object) -> None:
    form = load_form(FORMS / "parity_server_answers.md")
    normalised, problems = validate_answers(form, answers)
    assert problems == []
    assert next(iter(normalised.values())) == stored
