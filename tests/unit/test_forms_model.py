"""The form model of docs/forms-engine.md, built from pyxform's JSON and XForm."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.forms.definition import load_form
from app.settings import REPO_ROOT

CORPUS = REPO_ROOT / "tests" / "forms"


def node(model: dict[str, Any], path: str) -> dict[str, Any]:
    """The model node at an instance path."""
    stack = list(model["children"])
    while stack:
        item = stack.pop()
        if item["path"] == path:
            return item
        stack.extend(item.get("children", []))
    raise KeyError(path)


def test_the_roster_model_has_repeats_paths_and_outputs() -> None:
    model = load_form(CORPUS / "household_roster.md").model
    assert model["root"] == "data"
    assert set(model["languages"]) == {"vi", "en"} and model["default_language"] == "vi"
    member = node(model, "/data/member")
    assert member["kind"] == "repeat"
    assert [c["name"] for c in member["children"]] == [
        "member_name",
        "age",
        "sex",
        "disability",
        "position_in_roster",
    ]
    age = node(model, "/data/member/age")
    assert age["type"] == "integer" and age["row"] == 6
    assert age["outputs"] == {"member_name": "../member_name"}
    assert age["constraint"] == ". >= 0 and . < 120"
    assert age["required"] == "true()"
    assert node(model, "/data/member/disability")["relevant"].split() == ["../age", ">=", "5"]
    assert node(model, "/data/member/sex")["choices"] == "sex"
    assert [i["name"] for i in model["instances"]["sex"]] == ["female", "male"]
    assert model["instances"]["sex"][0]["label"] == {"vi": "Nữ", "en": "Female"}
    assert node(model, "/data/total_age")["calculate"].split() == ["sum(", "/data/member/age", ")"]
    assert node(model, "/data/member_count")["default"] == "'1'"
    assert node(model, "/data/summary")["outputs"] == {"adults": "/data/adults"}
    assert member["outputs"] == {"member_count": "/data/member_count"}  # a repeat's hint


def test_a_choice_filter_is_the_itemset_predicate() -> None:
    form = load_form(CORPUS / "cascading_select.md")
    district = node(form.model, "/data/district")
    assert district["choice_filter"].split() == ["province", "=", "/data/province"]
    assert district["appearance"] == "minimal"
    assert form.model["instances"]["ward"][0] == {
        "name": "w1",
        "province": "dn",
        "district": "hc",
        "label": {"en": "Thach Thang", "vi": "Thạch Thang"},
    }


def test_the_flat_questions_stay_outside_repeats() -> None:
    form = load_form(CORPUS / "household_roster.md")
    assert [q.name for q in form.questions] == [
        "head_name",
        "member_count",
        "adults",
        "total_age",
        "summary",
    ]
    assert {q.name for q in form.all_questions} >= {"age", "sex"}
    assert form.by_name["adults"].type == "calculate"


def test_the_household_model_keeps_groups_in_order(tmp_path: Path) -> None:
    form = load_form(REPO_ROOT / "forms" / "household.xlsx")
    groups = [child["name"] for child in form.model["children"]]
    assert groups[0] == "g_location" and all(g.startswith("g_") for g in groups)
    loan = node(form.model, "/data/g_community/cdf_loan")
    assert loan["relevant"].split() == ["/data/g_community/savings_group", "=", "'yes'"]
    assert form.model["instances"]["yes_no"][0]["name"] == "yes"


def test_file_answers_include_those_inside_repeats(tmp_path: Path) -> None:
    path = tmp_path / "files.md"
    path.write_text(
        "| survey |\n| | type | name | label |\n| | image | front | Front |\n"
        "| | begin_repeat | room | Room |\n| | audio | voice | Voice |\n| | file | plan | Plan |\n"
        "| | end_repeat | | |\n",
        encoding="utf-8",
    )
    form = load_form(path)
    answers = {"front": "a.jpg", "room": [{"voice": "b.m4a"}, {"plan": "c.pdf"}, "junk"]}
    assert form.file_answers(answers) == {"a.jpg", "b.m4a", "c.pdf"}


def test_expressions_read_labels_in_the_language_the_model_names(tmp_path: Path) -> None:
    """jr:choice-name() reads labels in the model's expression_language on the server, and the
    phone reads them in it whatever language its screen shows: the form's default language,
    else its first (here English, though the phone would show Vietnamese first)."""
    from app.forms.validation import validate_answers

    path = tmp_path / "roof.md"
    path.write_text(
        "| survey |\n"
        "| | type | name | label::English (en) | label::Tiếng Việt (vi) | constraint |\n"
        "| | select_one roof | roof | Roof | Mái | jr:choice-name(., '${roof}') != 'Tin' |\n"
        "| choices |\n"
        "| | list_name | name | label::English (en) | label::Tiếng Việt (vi) |\n"
        "| | roof | tin | Tin | Tôn |\n"
        "| | roof | tile | Tile | Ngói |\n",
        encoding="utf-8",
    )
    form = load_form(path)
    assert (form.model["default_language"], form.model["expression_language"]) == ("vi", "en")
    assert validate_answers(form, {"roof": "tin"})[1] != []
    assert validate_answers(form, {"roof": "tile"})[1] == []
    named = load_form(CORPUS / "parity_phone_choice_language.md")
    assert named.model["expression_language"] == "vi"
