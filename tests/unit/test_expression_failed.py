"""An expression that fails on a survey's answers (a format-date whose format is an answer
ending in `%`, position() of nothing) is a problem named on its question, in Vietnamese as
well as English: the error's own text is English and stays out of the Vietnamese message."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.forms.definition import FormDefinition, load_form
from app.forms.validation import validate_answers

FORM = """| survey |
| | type | name | label | constraint |
| | text | fmt | Định dạng | |
| | date | day | Ngày | format-date(., ${fmt}) != 'x' |
| settings |
| | form_id | version |
| | expression_fails | 1 |
"""


@pytest.fixture
def form(tmp_path: Path) -> FormDefinition:
    path = tmp_path / "expression_fails.md"
    path.write_text(FORM, encoding="utf-8")
    return load_form(path)


def test_a_failing_expression_is_named_in_each_language(form: FormDefinition) -> None:
    _, problems = validate_answers(form, {"fmt": "ngày %", "day": "2026-12-01"})
    failed = [p for p in problems if p.code == "expression_failed"]
    assert [p.field for p in failed] == ["answers.day"]
    (problem,) = failed
    vietnamese, english = problem.message("vi"), problem.message("en")
    assert vietnamese.startswith("Không tính được điều kiện của câu này")
    assert "giá trị" in vietnamese and "format" not in vietnamese and "%" not in vietnamese
    assert english.startswith("The condition of this question could not be evaluated")
    assert "date format string ends with %" in english
    assert problem.as_dict("vi")["message"] == vietnamese


def test_the_same_answers_with_a_good_format_pass(form: FormDefinition) -> None:
    normalised, problems = validate_answers(form, {"fmt": "%Y", "day": "2026-12-01"})
    assert problems == [] and normalised["day"] == "2026-12-01"
