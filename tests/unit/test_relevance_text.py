"""The message of an answer to a question its form hides names the questions the condition
reads, by their labels in the request's language; never the condition's XPath."""

from __future__ import annotations

from typing import Any

from app.errors import Problem
from app.forms.definition import load_form
from app.forms.registry import FormRegistry
from app.forms.validation import validate_answers
from app.settings import REPO_ROOT
from tests.factories import household_answers

CORPUS = REPO_ROOT / "tests" / "forms"


def hidden(problems: list[Problem]) -> dict[str, dict[str, str]]:
    return {
        p.field: {language: p.message(language) for language in ("vi", "en")}
        for p in problems
        if p.code == "not_relevant"
    }


def test_the_household_form_names_the_question_in_words(forms: FormRegistry) -> None:
    answers = household_answers(savings_group="no", cdf_loan="yes")
    _, problems = validate_answers(forms.current("household"), answers)
    assert hidden(problems) == {
        "answers.cdf_loan": {
            "vi": "Câu này không áp dụng với câu trả lời cho “Tham gia nhóm tiết kiệm?”; "
            "hãy bỏ trống.",
            "en": "This question does not apply given the answer to “Member of a savings "
            "group?”; leave it empty.",
        }
    }


def test_every_path_of_the_evaluation_says_it_without_xpath() -> None:
    cases: list[tuple[str, dict[str, Any], str, str]] = [
        # A question's own condition (root renamed on the settings sheet).
        ("root_name.md", {"a": 1, "b": 5, "c": "x"}, "answers.b", "“A”"),
        # Inside a repeat: the condition reads another answer of the same member.
        (
            "household_roster.md",
            {
                "head_name": "Hoa",
                "member_count": 1,
                "member": [{"member_name": "Lan", "age": 3, "sex": "female", "disability": "no"}],
            },
            "answers.member[1].disability",
            "“Age of ${member_name}”",
        ),
    ]
    for form_name, answers, field, named in cases:
        _, problems = validate_answers(load_form(CORPUS / form_name), answers)
        messages = hidden(problems)[field]
        assert named in messages["en"], messages
        for message in messages.values():
            assert "/" not in message and "relevant" not in message, message


def test_a_hidden_group_leaves_the_condition_out_a_repeat_names_its_own() -> None:
    form = load_form(CORPUS / "defect_3_group_relevance.md")
    answers = {"has_business": "no", "business_kind": "shop", "loan": [{"amount": 5}]}
    _, problems = validate_answers(form, answers)
    assert hidden(problems) == {
        "answers.business_kind": {
            "vi": "Câu này không áp dụng với các câu trả lời khác; hãy bỏ trống.",
            "en": "This question does not apply given the other answers; leave it empty.",
        },
        "answers.loan[1]": {
            "vi": "Câu này không áp dụng với câu trả lời cho “Does the household run a "
            "business?”; hãy bỏ trống.",
            "en": "This question does not apply given the answer to “Does the household run a "
            "business?”; leave it empty.",
        },
    }
