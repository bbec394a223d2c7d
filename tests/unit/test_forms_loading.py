"""XLSForm loading: the shipped forms load; broken ones are refused naming sheet and row."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from app.forms.definition import FormLoadError, load_form
from app.forms.problems import LOCATION, FormProblem
from app.forms.registry import load_registry
from app.i18n import LANGUAGES, MESSAGES, REGEX_CONSTRUCTS
from app.settings import REPO_ROOT
from tests.hostile import FORMAT, HTML_ATTRIBUTE, TEMPLATE_CODE

SURVEY_HEADER = ["type", "name", "label::Tiếng Việt (vi)", "label::English (en)", "relevant"]
GOOD_SURVEY: list[list[Any]] = [
    ["begin_group", "g_main", "Chính", "Main", None],
    ["geopoint", "location", "Vị trí", "Location", None],
    ["integer", "size", "Số người", "People", None],
    ["select_one yes_no", "member", "Thành viên?", "Member?", None],
    ["text", "notes", "Ghi chú", "Notes", "${member} = 'yes'"],
    ["end_group", None, None, None, None],
]
CHOICES = [
    ["list_name", "name", "label::Tiếng Việt (vi)", "label::English (en)"],
    ["yes_no", "yes", "Có", "Yes"],
    ["yes_no", "no", "Không", "No"],
]


def write_form(
    path: Path,
    survey: list[list[Any]] | None = None,
    header: list[str] | None = None,
    settings: dict[str, Any] | None = None,
    choices: list[list[Any]] | None = None,
) -> Path:
    """Write an XLSForm workbook with openpyxl."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "survey"
    sheet.append(header or SURVEY_HEADER)
    for row in GOOD_SURVEY if survey is None else survey:
        sheet.append(row)
    choices_sheet = workbook.create_sheet("choices")
    for row in CHOICES if choices is None else choices:
        choices_sheet.append(row)
    settings_sheet = workbook.create_sheet("settings")
    values = (
        {"form_id": "mini", "version": "1", "default_language": "Tiếng Việt (vi)"}
        if settings is None
        else settings
    )
    settings_sheet.append(list(values))
    settings_sheet.append(list(values.values()))
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


def load_problems(path: Path) -> list[str]:
    with pytest.raises(FormLoadError) as caught:
        load_form(path)
    assert caught.value.path == path.name
    return caught.value.messages("en")


@pytest.mark.parametrize("name", ["household.xlsx", "settlement.xlsx"])
def test_shipped_forms_load(name: str) -> None:
    form = load_form(REPO_ROOT / "forms" / name)
    assert form.form_id == name.removesuffix(".xlsx")
    assert form.version
    assert {"vi", "en"} <= set(form.languages)
    assert form.questions
    assert all(q.label.get("vi") for q in form.questions)


def test_household_form_has_what_the_phone_app_needs() -> None:
    form = load_form(REPO_ROOT / "forms" / "household.xlsx")
    assert form.geopoint_question is not None
    assert all(q.group for q in form.questions)
    assert {"head_name", "head_phone", "photo"} <= form.personal_fields


def test_a_good_minimal_form_loads(tmp_path: Path) -> None:
    form = load_form(write_form(tmp_path / "mini.xlsx"))
    assert (form.form_id, form.version) == ("mini", "1")
    assert [q.name for q in form.questions] == ["location", "size", "member", "notes"]
    assert form.by_name["notes"].relevant_expression is not None
    assert form.by_name["member"].choice_values == {"yes", "no"}


def test_repeat_groups_load_with_their_questions(tmp_path: Path) -> None:
    # Issue 10 on purpose: repeats used to be refused at load.
    survey = [
        *GOOD_SURVEY,
        ["begin_repeat", "people", "Người", "People", None],
        ["text", "person_name", "Tên", "Name", None],
        ["end_repeat", None, None, None, None],
    ]
    form = load_form(write_form(tmp_path / "repeat.xlsx", survey))
    (people,) = form.repeats
    assert (people.name, people.row) == ("people", 8)
    assert "person_name" not in form.by_name  # answers hold it under "people"
    assert [q.name for q in form.all_questions][-1] == "person_name"


def test_a_choice_filter_loads_as_the_itemset_predicate(tmp_path: Path) -> None:
    # Issue 10 on purpose: choice_filter used to be refused as an unsupported column.
    header = [*SURVEY_HEADER, "choice_filter"]
    survey = [[*row, None] for row in GOOD_SURVEY]
    survey[3][-1] = "name = 'yes'"
    form = load_form(write_form(tmp_path / "filter.xlsx", survey, header))
    assert form.by_name["member"].choice_filter == "name = 'yes'"


def test_a_bad_relevant_expression_is_refused_with_its_row(tmp_path: Path) -> None:
    survey = [list(row) for row in GOOD_SURVEY]
    survey[4][4] = "pulldata('prices', 'price', 'name', 'rice') > 1"
    problems = load_problems(write_form(tmp_path / "relevant.xlsx", survey))
    assert any(
        "survey sheet, row 6" in p and "relevant" in p and "pulldata()" in p for p in problems
    ), problems


def test_an_unknown_reference_is_refused_with_its_row(tmp_path: Path) -> None:
    survey = [list(row) for row in GOOD_SURVEY]
    survey[4][4] = "${no_such_question} = 'yes'"
    problems = load_problems(write_form(tmp_path / "ref.xlsx", survey))
    # pyxform finds it first and words it its own way; both name the sheet, the row and the name.
    assert any(
        "survey" in p and "row" in p and "6" in p and "no_such_question" in p for p in problems
    ), problems


@pytest.mark.parametrize("name", ['say "no"', "no\\\\", "no thing"])
def test_a_choice_name_exports_could_not_write_is_refused(tmp_path: Path, name: str) -> None:
    choices = [*CHOICES[:2], ["yes_no", name, "Không", "No"]]
    problems = load_problems(write_form(tmp_path / "choice.xlsx", choices=choices))
    assert any("choices sheet" in p and "yes_no" in p for p in problems), problems


def test_missing_form_id_is_the_file_name(tmp_path: Path) -> None:
    # Issue 10 (defect 9) on purpose: pyxform and ODK Central take the file's name.
    form = load_form(write_form(tmp_path / "noid.xlsx", settings={"version": "1"}))
    assert (form.form_id, form.version) == ("noid", "1")


def test_missing_version_is_the_empty_version(tmp_path: Path) -> None:
    # Issue 10 (defect 9) on purpose: pyxform and ODK Central accept a form without version.
    form = load_form(write_form(tmp_path / "noversion.xlsx", settings={"form_id": "mini"}))
    assert (form.form_id, form.version) == ("mini", "")


def test_a_file_that_is_not_an_xlsx_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.xlsx"
    path.write_bytes(b"PK\x03\x04 this is not a spreadsheet")
    problems = load_problems(path)
    assert problems and problems[0]


def test_registry_keeps_old_versions_beside_the_current_one(tmp_path: Path) -> None:
    write_form(tmp_path / "mini.xlsx", settings={"form_id": "mini", "version": "2"})
    write_form(tmp_path / "versions" / "mini-v1.xlsx", settings={"form_id": "mini", "version": "1"})
    (tmp_path / "broken.xlsx").write_text("not a workbook")
    registry = load_registry(tmp_path)
    assert registry.current("mini").version == "2"
    assert registry.get("mini", "1").version == "1"
    assert set(registry.versions["mini"]) == {"1", "2"}
    assert "broken.xlsx" in registry.problems


def test_an_archived_copy_of_the_current_version_never_replaces_it(tmp_path: Path) -> None:
    # versions/ is read after forms/: a file there with the same form_id and version silently
    # became the current form.
    settings = {"form_id": "mini", "version": "2"}
    write_form(tmp_path / "mini.xlsx", settings=settings)
    old = [[*row[:2], "Old label", *row[3:]] for row in GOOD_SURVEY]
    write_form(tmp_path / "versions" / "mini-old.xlsx", survey=old, settings=settings)
    registry = load_registry(tmp_path)
    current = registry.current("mini")
    assert current.filename == "mini.xlsx"
    assert "Old label" not in str(current.model)
    [refused] = registry.problems["versions/mini-old.xlsx"]
    problem = refused.message("en")
    assert "mini.xlsx" in problem and "'mini' version '2'" in problem


CONTROL_FORM = """| survey |
| | type | name | label |
| | text | notes | {survey} |
| choices |
| | list_name | name | label |
| | yn | yes | {choice} |
| settings |
| | form_id | version |
| | ctl | 1 |
"""


@pytest.mark.parametrize(
    ("labels", "where"),
    [
        ({"survey": "Ghi\x0bchú", "choice": "Có"}, "survey sheet, row 2, column label"),
        ({"survey": "Ghi chú", "choice": "C\x0bó"}, "choices sheet, row 2, column label"),
    ],
)
def test_a_control_character_is_named_with_its_sheet_row_and_column(
    tmp_path: Path, labels: dict[str, str], where: str
) -> None:
    """A vertical tab pasted into a label: pyxform writes it into the XForm, which no XML
    reader (ODK Collect's included) then reads; the message blamed 'namespaces'."""
    path = tmp_path / "ctl.md"
    path.write_text(CONTROL_FORM.format(**labels), encoding="utf-8")
    assert load_problems(path) == [
        f"{where}: the control character U+000B cannot be written in an XForm (ODK Collect "
        "could not read the form): remove it"
    ]


# Every form-load message code is a literal in the source of the forms engine; "form_id" there
# is the settings sheet's column, not a message.
PROBLEM_SOURCES = (
    "definition.py",
    "builder.py",
    "compiled.py",
    "registry.py",
    "problems.py",
    "xpath.py",
    "xpath_functions.py",
    "regex_check.py",
)
CODE_LITERAL = re.compile(r"""["'](form_[a-z_]+)["']""")
NOT_MESSAGES = {"form_id"}
# A letter only Vietnamese writes (a vowel with its tone or hat, đ): the text is Vietnamese.
VIETNAMESE_LETTER = re.compile(
    "[àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ]"
)


def said(problem: FormProblem) -> dict[str, str]:
    """The problem's message by language, each text given every param it names."""
    for language in LANGUAGES:
        MESSAGES[problem.code][language].format(**problem.params)  # KeyError: a param missing
    return {language: problem.message(language) for language in LANGUAGES}


def test_every_form_problem_code_has_vietnamese_and_english_text() -> None:
    named: set[str] = set()
    for name in PROBLEM_SOURCES:
        source = (REPO_ROOT / "app" / "forms" / name).read_text(encoding="utf-8")
        named |= set(CODE_LITERAL.findall(source)) - NOT_MESSAGES
    named |= {f"form_at_{key}" for key in LOCATION}
    named |= {f"form_regex.{construct}" for construct in REGEX_CONSTRUCTS}
    assert len(named) > 80, sorted(named)
    # Each code the engine names has its text, and the catalogue has no text for a code the
    # engine never names.
    assert named == {code for code in MESSAGES if code.startswith("form_")}
    for code in sorted(named):
        vi, en = MESSAGES[code]["vi"], MESSAGES[code]["en"]
        assert vi.strip() and en.strip() and vi != en, code
        assert VIETNAMESE_LETTER.search(vi.lower()), (code, vi)


def test_a_refused_form_is_said_in_vietnamese_and_english_naming_sheet_row_and_column(
    tmp_path: Path,
) -> None:
    survey = [list(row) for row in GOOD_SURVEY]
    survey[4][4] = "pulldata('prices', 'price', 'name', 'rice') > 1"
    with pytest.raises(FormLoadError) as caught:
        load_form(write_form(tmp_path / "relevant.xlsx", survey))
    [problem] = caught.value.problems
    assert (problem.code, problem.params) == (
        "form_function_not_supported",
        {
            "sheet": "survey",
            "row": 6,
            "column": "relevant",
            "function": "pulldata",
            "expression": "pulldata('prices', 'price', 'name', 'rice') > 1",
        },
    )
    assert said(problem) == {
        "vi": "trang tính survey, hàng 6, cột relevant: hàm pulldata() không được hỗ trợ "
        "(docs/forms-engine.md liệt kê các hàm được hỗ trợ) (trong biểu thức "
        "'pulldata('prices', 'price', 'name', 'rice') > 1')",
        "en": "survey sheet, row 6, column relevant: the function pulldata() is not supported "
        "(docs/forms-engine.md lists those that are) (in "
        "'pulldata('prices', 'price', 'name', 'rice') > 1')",
    }
    assert caught.value.messages("vi") == [said(problem)["vi"]]
    assert str(caught.value) == f"relevant.xlsx: {said(problem)['en']}"  # the log's


def test_pyxform_s_own_refusal_is_placed_in_both_languages(tmp_path: Path) -> None:
    """pyxform words its refusals in English only: its sheet, row and column are read out of
    them, so that the Vietnamese message names them too."""
    survey = [list(row) for row in GOOD_SURVEY]
    survey[4][4] = "${no_such_question} = 'yes'"
    with pytest.raises(FormLoadError) as caught:
        load_form(write_form(tmp_path / "ref.xlsx", survey))
    [problem] = caught.value.problems
    assert problem.code == "form_pyxform"
    assert {k: problem.params[k] for k in ("sheet", "row", "column")} == {
        "sheet": "survey",
        "row": 6,
        "column": "relevant",
    }
    messages = said(problem)
    assert messages["vi"].startswith("trang tính survey, hàng 6, cột relevant: pyxform ")
    assert messages["en"].startswith("survey sheet, row 6, column relevant: the 'relevant' ")
    assert all("no_such_question" in message for message in messages.values())


def test_a_second_file_of_one_version_is_said_in_both_languages(tmp_path: Path) -> None:
    settings = {"form_id": "mini", "version": "2"}
    write_form(tmp_path / "mini.xlsx", settings=settings)
    write_form(tmp_path / "versions" / "mini-old.xlsx", settings=settings)
    [problem] = load_registry(tmp_path).problems["versions/mini-old.xlsx"]
    assert said(problem) == {
        "vi": "trang tính settings, cột version: form_id 'mini' phiên bản '2' đã là biểu mẫu "
        "của tệp mini.xlsx; tệp này không được dùng (hãy đặt phiên bản khác, hoặc xoá tệp)",
        "en": "settings sheet, column version: form_id 'mini' version '2' is already the form "
        "of mini.xlsx; this file is not used (give it another version, or remove it)",
    }


# Text written in a form: a template (Jinja's, str.format's, printf's) and markup.
HOSTILE_TEXTS = [
    "{{7*7}}<img src=x onerror=alert(1)> %s {0} {name}",
    TEMPLATE_CODE,
    FORMAT,
    HTML_ATTRIBUTE,
]


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_text_from_the_form_stays_literal_in_every_message(tmp_path: Path, text: str) -> None:
    """A name, a value or an expression of the form fills a parameter of a fixed message and
    is never read as a template: braces, %s and markup come back as written, in both
    languages."""
    choices = [*CHOICES, ["yes_no", text, "Lạ", "Odd"]]
    # pyxform itself refuses `${` in a setting (a reference).
    form_id = f"{text}/" if "${" not in text else "mini"
    settings = {"form_id": form_id, "version": "1"}
    with pytest.raises(FormLoadError) as caught:
        load_form(write_form(tmp_path / "hostile.xlsx", choices=choices, settings=settings))
    by_code = {problem.code: problem for problem in caught.value.problems}
    if form_id != "mini":
        assert by_code["form_setting_unfit_id"].params["value"] == form_id
    assert by_code["form_choice_name_unsafe"].params["name"] == text
    assert by_code["form_choice_name_unsafe"].params["row"] == 4
    for problem in by_code.values():
        for language, message in said(problem).items():
            assert text in message, (language, message)
            assert "49" not in message, (language, message)
    if "'" not in text and "${" not in text:  # in an XPath string literal, not a reference
        survey = [list(row) for row in GOOD_SURVEY]
        survey[4][4] = f"pulldata('{text}') = 1"
        with pytest.raises(FormLoadError) as caught:
            load_form(write_form(tmp_path / "expression.xlsx", survey))
        [problem] = caught.value.problems
        assert problem.params["expression"] == f"pulldata('{text}') = 1"
        for message in said(problem).values():
            assert f"'pulldata('{text}') = 1')" in message and "49" not in message
