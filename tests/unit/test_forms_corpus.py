"""The forms corpus (tests/forms/): every form loads or is refused naming sheet, row and feature;
the table of cases (tests/forms/cases.yaml) gets its verdicts from validate_answers."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import pytest
import yaml

from app.forms.definition import FormDefinition, FormLoadError, load_form
from app.forms.validation import validate_answers
from app.settings import REPO_ROOT
from tests.unit.test_forms_loading import said

CORPUS = REPO_ROOT / "tests" / "forms"
CASES: list[dict[str, Any]] = yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))
# Forms refused on purpose, with what the message must name (sheet, row, column, feature).
REFUSED: dict[str, tuple[str, ...]] = {
    "pyxform_include.md": ("survey sheet, row 3", "column type", "'include'"),
    "pyxform_include_json.md": ("survey sheet, row 3", "column type", "'include'"),
    "pyxform_loop.md": ("survey sheet, row 3", "column type", "'begin loop'"),
    "pyxform_osm.md": ("survey sheet, row 2", "column type", "'osm'"),
    "pyxform_select_one_external.md": ("survey sheet, row 3", "column type", "select_one_external"),
    "refused_regex_possessive.md": ("survey sheet, row 2", "column constraint", "possessive"),
    "refused_regex_java_class.md": ("survey sheet, row 2", "column constraint", "javaLowerCase"),
    "refused_regex_inline_flag.md": ("survey sheet, row 2", "column constraint", "inline flag"),
    "refused_regex_too_large.md": ("survey sheet, row 2", "column constraint", "repeats too much"),
    "refused_unknown_function.md": ("survey sheet, row 3", "column calculate", "pulldata()"),
    "refused_duplicate_names.md": ("survey sheet, rows 3, 6", "column name", "'name'"),
    "refused_calculation_cycle.md": ("survey sheet, rows 3, 9", "column calculation", "circle"),
    "refused_format_date_code.md": ("survey sheet, row 3", "column calculate", "%W"),
    "refused_unknown_instance.md": ("survey sheet, row 2", "column constraint", "'nothing'"),
    "refused_digest_constraint.md": ("survey sheet, row 2", "column constraint", "digest()"),
    "refused_digest_reader.md": ("survey sheet, row 4", "column relevant", "digest()"),
    "refused_public_key.md": ("settings sheet", "column public_key", "encrypted forms"),
    "refused_search_appearance.md": ("survey sheet, row 2", "column appearance", "search()"),
}
# pyxform's markdown forms (a table from the first line); other .md files here are notes
# that other tests turn into workbooks (tests/widget_forms.py).
FORMS = sorted(
    path.name
    for path in CORPUS.glob("*.md")
    if path.read_text(encoding="utf-8").lstrip().startswith("|")
)


@cache
def form(name: str) -> FormDefinition:
    return load_form(CORPUS / name)


@pytest.mark.parametrize("name", [n for n in FORMS if n not in REFUSED])
def test_the_form_loads_with_a_model(name: str) -> None:
    loaded = form(name)
    assert loaded.model["children"], name
    assert all(q.row > 0 for q in loaded.all_questions), "every question knows its row"
    assert loaded.compiled.problems == []


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_the_form_is_refused_naming_sheet_row_and_feature(name: str) -> None:
    with pytest.raises(FormLoadError) as caught:
        load_form(CORPUS / name)
    problems = caught.value.messages("en")
    assert any(all(part in p for part in REFUSED[name]) for p in problems), problems
    assert not any("row 0" in p for p in problems), problems


def in_vietnamese(place: str) -> str:
    """'survey sheet, rows 3, 6' / 'column type' as the Vietnamese message words them."""
    place = re.sub(r"^(\w+) sheet", r"trang tính \1", place)
    place = re.sub(r"\brows ", "các hàng ", place)
    return re.sub(r"\bcolumn ", "cột ", re.sub(r"\brow ", "hàng ", place))


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_the_refusal_names_sheet_row_and_column_in_vietnamese_too(name: str) -> None:
    with pytest.raises(FormLoadError) as caught:
        load_form(CORPUS / name)
    found = [
        problem
        for problem in caught.value.problems
        if all(part in problem.message("en") for part in REFUSED[name])
    ]
    assert found, caught.value.messages("en")
    place, column, _feature = REFUSED[name]
    vietnamese = said(found[0])["vi"]
    assert vietnamese.startswith(in_vietnamese(place)), vietnamese
    assert in_vietnamese(column) in vietnamese, vietnamese
    for problem in caught.value.problems:
        messages = said(problem)
        assert messages["vi"] != messages["en"], messages


def test_the_table_covers_every_form_that_loads_and_has_40_cases() -> None:
    assert len(CASES) >= 40
    named = {case["form"] for case in CASES}
    assert {"household_roster.md", "cascading_select.md", "all_widgets.md"} <= named
    assert {f"defect_{n}" for n in (2, 3, 4, 5, 9)} <= {n.rsplit("_", 2)[0] for n in named} | {
        "_".join(n.split("_")[:2]) for n in named
    }


@pytest.mark.parametrize(
    "case",
    CASES,
    ids=[
        f"{i}-{c['form']}-{c.get('field') or ','.join(c.get('fields', ['valid']))}"
        for i, c in enumerate(CASES)
    ],
)
def test_case(case: dict[str, Any]) -> None:
    _normalised, problems = validate_answers(form(case["form"]), case["answers"])
    fields = {p.field for p in problems}
    if case.get("valid"):
        assert problems == [], [(p.field, p.code, p.params) for p in problems]
    else:
        expected = set(case["fields"]) if "fields" in case else {case["field"]}
        assert fields == expected, [(p.field, p.code, p.params) for p in problems]
        assert all(p.message("vi") and p.message("en") for p in problems)


def test_every_widget_type_is_in_the_all_widgets_form() -> None:
    types = {q.type for q in form("all_widgets.md").all_questions}
    assert types >= {
        "text",
        "integer",
        "decimal",
        "select_one",
        "select_multiple",
        "rank",
        "range",
        "geopoint",
        "geotrace",
        "geoshape",
        "image",
        "audio",
        "file",
        "date",
        "datetime",
        "time",
        "barcode",
        "note",
        "calculate",
        "acknowledge",
        "hidden",
    }


def test_calculates_missing_from_a_survey_are_computed() -> None:
    answers = {
        "head_name": "Hoa",
        "member_count": 3,
        "member": [
            {"member_name": "Hoa", "age": 40, "sex": "female", "disability": "no"},
            {"member_name": "Lan", "age": 19, "sex": "female", "disability": "no"},
            {"member_name": "Bảo", "age": 3, "sex": "male"},
        ],
    }
    normalised, problems = validate_answers(form("household_roster.md"), answers)
    assert problems == []
    assert normalised["adults"] == "2"  # count(/data/member[age >= 18])
    assert normalised["total_age"] == "62"  # sum(/data/member/age)
    assert [m["position_in_roster"] for m in normalised["member"]] == ["1", "2", "3"]


def test_widget_calculates_use_odk_functions() -> None:
    answers = dict(next(c for c in CASES if c["form"] == "all_widgets.md")["answers"])
    normalised, problems = validate_answers(form("all_widgets.md"), answers)
    assert problems == []
    assert normalised["land_label"] == "Đất công"  # jr:choice-name, the default language
    assert normalised["summary"] == "Trần Văn An: 120 hộ"  # concat, coalesce
    assert normalised["big"] == "yes"  # if()
    assert normalised["settled_text"] == "01/06/1985"  # format-date
    assert int(normalised["years"]) >= 41  # decimal-date-time(today()) - ...
    assert normalised["source_app"] == "cdfmap"  # a hidden question's default


def test_defaults_read_the_defaults_before_them_in_form_order() -> None:
    """As ODK Collect fills them: b = ${a} * 2 is 6 and c = concat('x', ${a}) is 'x3'; a
    default that is no number (${unknown} * 2, or ${later} read before later is filled) leaves
    its question empty (the server dropped b and read c as 'x')."""
    normalised, _problems = validate_answers(form("parity_phone_default_chain.md"), {"check": "ok"})
    assert normalised == {"a": 3, "b": 6, "c": "x3", "later": 8, "check": "ok"}
    normalised, _problems = validate_answers(form("parity_phone_default_chain.md"), {"a": 4})
    assert normalised == {"a": 4, "b": 8, "c": "x4", "later": 8}


def test_once_keeps_the_value_sent_and_draws_one_when_none_is() -> None:
    """once() reads its own node: a value sent is kept, one not sent is drawn once."""
    normalised, _problems = validate_answers(form("parity_phone_once.md"), {"r": "0.7"})
    assert (normalised["r"], normalised["twice_r"]) == ("0.7", "1.4")
    normalised, _problems = validate_answers(form("parity_phone_once.md"), {})
    assert float(normalised["twice_r"]) == float(normalised["r"]) * 2
