"""Hostile answers to the forms engine: every one is a list of problems, never an exception."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.forms.definition import FormDefinition, FormLoadError, load_form
from app.forms.validation import validate_answers
from app.settings import REPO_ROOT

CORPUS = REPO_ROOT / "tests" / "forms"
FORMS = {
    name: load_form(CORPUS / name)
    for name in ("household_roster.md", "all_widgets.md", "cascading_select.md")
}
JUNK: list[Any] = [
    None,
    True,
    0,
    -(2**80),
    1e308,
    float("nan"),
    "",
    " ",
    "x" * 5000,
    "\x00",
    "{{ 7*7 }}",
    "<script>",
    [],
    [None],
    [[[]]],
    {},
    {"a": {"b": []}},
    "2020-02-30",
    "1 2 3;4 5 6",
    "other other",
]


def names(form: FormDefinition) -> list[str]:
    return [q.name for q in form.all_questions] + [r.name for r in form.repeats]


@pytest.mark.parametrize("form_name", sorted(FORMS))
@pytest.mark.parametrize("junk", JUNK, ids=repr)
def test_junk_in_every_answer_is_a_problem_not_a_crash(form_name: str, junk: Any) -> None:
    form = FORMS[form_name]
    answers = dict.fromkeys(names(form), junk)
    _normalised, problems = validate_answers(form, answers)
    assert all(p.field.startswith("answers.") for p in problems)
    assert all(p.message("vi") and p.message("en") for p in problems)


def test_junk_inside_repeat_instances() -> None:
    form = FORMS["household_roster.md"]
    members: list[Any] = [None, "x", [], {"age": {"x": 1}}, {"member_name": ["a"]}, {"sex": 5}]
    _normalised, problems = validate_answers(form, {"head_name": "Hoa", "member": members})
    fields = {p.field for p in problems}
    assert {"answers.member[1]", "answers.member[2]", "answers.member[3]"} <= fields
    assert "answers.member[4].age" in fields


def test_too_many_repeat_instances_are_refused() -> None:
    form = FORMS["household_roster.md"]
    members = [{"member_name": "a", "age": 1, "sex": "male"}] * 501
    _normalised, problems = validate_answers(form, {"head_name": "Hoa", "member": members})
    assert [(p.field, p.code) for p in problems] == [("answers.member", "too_many_repeats")]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


@settings(max_examples=100, deadline=None)
@given(answers=st.dictionaries(st.sampled_from(names(FORMS["all_widgets.md"])), JSON))
def test_any_json_answers_to_all_widgets(answers: dict[str, Any]) -> None:
    validate_answers(FORMS["all_widgets.md"], answers)


@settings(max_examples=100, deadline=None)
@given(
    members=st.lists(
        st.dictionaries(st.sampled_from(["member_name", "age", "sex", "disability", "x"]), JSON),
        max_size=4,
    )
)
def test_any_members_of_a_roster(members: list[dict[str, Any]]) -> None:
    validate_answers(FORMS["household_roster.md"], {"head_name": "Hoa", "member": members})


def test_a_form_nested_too_deeply_is_refused_not_a_crash(tmp_path: Path) -> None:
    deep = "(" * 3000 + "1" + ")" * 3000
    path = tmp_path / "deep.md"
    path.write_text(
        "| survey |\n| | type | name | label | relevant |\n| | text | a | A | |\n"
        f"| | text | b | B | {deep} |\n",
        encoding="utf-8",
    )
    with pytest.raises(FormLoadError) as caught:
        load_form(path)
    assert any("row 3" in p and "relevant" in p for p in caught.value.messages("en"))
