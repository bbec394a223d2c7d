"""Regression tests for the server side of issue 10's defects 2, 3, 4, 5 and 9 (each failed
before the forms engine was rewritten)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.forms.definition import FormLoadError, load_form
from app.forms.validation import validate_answers
from app.settings import REPO_ROOT

CORPUS = REPO_ROOT / "tests" / "forms"


def verdict(form_name: str, answers: dict[str, Any]) -> set[tuple[str, str]]:
    _normalised, problems = validate_answers(load_form(CORPUS / form_name), answers)
    return {(p.field, p.code) for p in problems}


def test_defect_2_regex_with_unicode_classes_is_evaluated_not_a_crash() -> None:
    assert verdict("defect_2_regex_unicode.md", {"village": "Anh"}) == set()
    assert verdict("defect_2_regex_unicode.md", {"village": "Ánh"}) == set()
    assert verdict("defect_2_regex_unicode.md", {"village": "anh"}) == {
        ("answers.village", "constraint")
    }


def test_defect_2_a_pattern_read_differently_is_refused_at_load() -> None:
    with pytest.raises(FormLoadError) as caught:
        load_form(CORPUS / "refused_regex_possessive.md")
    assert "survey sheet, row 2, column constraint" in caught.value.messages("en")[0]


def test_defect_3_a_hidden_group_neither_requires_nor_takes_answers() -> None:
    assert verdict("defect_3_group_relevance.md", {"has_business": "no"}) == set()
    assert verdict(
        "defect_3_group_relevance.md", {"has_business": "no", "business_kind": "shop"}
    ) == {("answers.business_kind", "not_relevant")}
    assert verdict("defect_3_group_relevance.md", {"has_business": "yes"}) == {
        ("answers.business_kind", "required"),
        ("answers.workers", "required"),
    }


def test_defect_4_required_as_an_expression() -> None:
    assert verdict("defect_4_required_expression.md", {"owns_land": "yes"}) == {
        ("answers.certificate", "required")
    }
    assert verdict("defect_4_required_expression.md", {"owns_land": "no", "rent": 9}) == set()
    _normalised, problems = validate_answers(
        load_form(CORPUS / "defect_4_required_expression.md"), {"owns_land": "yes"}
    )
    assert problems[0].message("en") == "Give the certificate number of the land"


def test_defect_5_dates_compare_as_dates_and_today_and_date_load() -> None:
    ok = {"birth": "1990-05-01", "moved_in": "2000-01-01", "deadline": "2026-06-01"}
    assert verdict("defect_5_dates.md", ok) == set()
    assert verdict("defect_5_dates.md", {"birth": "1899-12-31"}) == {
        ("answers.birth", "constraint")
    }
    assert verdict("defect_5_dates.md", {"birth": "2999-01-01"}) == {
        ("answers.birth", "constraint")
    }
    assert verdict("defect_5_dates.md", {"birth": "1990-05-01", "deadline": "2025-12-31"}) == {
        ("answers.deadline", "constraint")
    }


def test_defect_9_loads_as_pyxform_does(tmp_path: Path) -> None:
    form = load_form(CORPUS / "defect_9_loading.md")  # `Survey`, `Label:English (en)`, ...
    assert (form.form_id, form.version) == ("defect_9_loading", "")
    assert set(form.languages) == {"en", "vi"}
    assert [q.type for q in form.questions] == [
        "select_one",  # select one from yes_no
        "select_multiple",  # select all that apply from source or specify other
        "text",
        "select_one",
        "text",
    ]
    other = form.by_name["main_source_other"]
    assert other.relevant == "selected(../main_source, 'other')"  # pyxform's, not invented
    assert other.row == form.by_name["main_source"].row > 0  # never "row 0"


def test_defect_9_messages_never_say_row_0() -> None:
    for name in ("pyxform_loop.md", "pyxform_osm.md", "refused_unknown_function.md"):
        with pytest.raises(FormLoadError) as caught:
            load_form(CORPUS / name)
        problems = caught.value.messages("en")
        assert all("row 0" not in p for p in problems), problems


def test_a_message_written_without_a_language_is_shown_in_every_language(tmp_path: Path) -> None:
    path = tmp_path / "plain.md"
    path.write_text(
        "| survey |\n| | type | name | label | constraint | constraint_message |\n"
        "| | integer | rooms | Rooms | . > 0 | At least one room |\n",
        encoding="utf-8",
    )
    _normalised, problems = validate_answers(load_form(path), {"rooms": 0})
    assert [p.message(language) for p in problems for language in ("vi", "en")] == [
        "At least one room",
        "At least one room",
    ]


def test_today_is_the_day_the_survey_was_collected() -> None:
    form = load_form(CORPUS / "defect_5_dates.md")
    collected = datetime(2026, 11, 26, 2, 30, tzinfo=UTC)  # 09:30 in Vietnam
    late = {"birth": "2026-11-26"}  # born that day, sent a week later
    assert validate_answers(form, late, now=collected)[1] == []
    _normalised, problems = validate_answers(form, {"birth": "2026-11-27"}, now=collected)
    assert [(p.field, p.code) for p in problems] == [("answers.birth", "constraint")]
    late_evening = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)  # already the 27th in Vietnam
    assert validate_answers(form, {"birth": "2026-11-27"}, now=late_evening)[1] == []


def test_defect_3_an_empty_instance_of_a_hidden_repeat_is_dropped() -> None:
    form = load_form(CORPUS / "defect_3_group_relevance.md")
    normalised, problems = validate_answers(form, {"has_business": "no", "loan": [{}]})
    assert problems == [] and "loan" not in normalised


def test_a_repeat_holds_no_more_instances_than_its_repeat_count() -> None:
    """The phone builds as many rooms as `rooms` says; a client sending more is refused."""
    form = load_form(CORPUS / "repeat_count_and_files.md")
    room = {"room_area": 12.5, "room_street": "le_loi"}
    _normalised, problems = validate_answers(form, {"rooms": 1, "room": [room, room]})
    assert [(p.field, p.code, p.params) for p in problems] == [
        ("answers.room", "too_many_repeats", {"max": 1})
    ]
    assert "(tối đa 1)" in problems[0].message("vi")
    # Fewer is accepted: those left out are empty rooms, none of whose answers is required.
    assert validate_answers(form, {"rooms": 3, "room": [room]})[1] == []
    # No count (an unanswered rooms) allows none.
    assert [p.code for p in validate_answers(form, {"room": [room]})[1]] == ["too_many_repeats"]


def test_a_repeat_count_asks_for_instances_whose_required_answers_are_missing() -> None:
    form = load_form(CORPUS / "repeat_count_required.md")
    kid = {"kid_name": "An"}
    assert validate_answers(form, {"kids": 2, "kid": [kid, kid]})[1] == []
    # None sent of two: the survey holds two empty children (as ODK Collect makes them),
    # each of whose names is required.
    assert [(p.field, p.code) for p in validate_answers(form, {"kids": 2})[1]] == [
        ("answers.kid[1].kid_name", "required"),
        ("answers.kid[2].kid_name", "required"),
    ]
    assert validate_answers(form, {"kids": 0})[1] == []


BASE = {"leader": "An", "households": 12, "land": "public", "consent": "OK"}


@pytest.mark.parametrize(
    ("answers", "code"),
    [
        ({"priorities": "paving drainage"}, "rank_incomplete"),  # one of three left out
        ({"priorities": "paving drainage paving"}, "rank_repeated"),
        ({"area_ha": 1e16}, "number_too_large"),
        ({"area_ha": "9007199254740994"}, "number_too_large"),
        ({"area_ha": "inf"}, "not_number"),
        ({"area_ha": "1e400"}, "not_number"),
        ({"plan": "a/b.pdf"}, "invalid_file_name"),
        ({"story": ".."}, "invalid_file_name"),
        ({"consent": "ok please"}, "invalid_choice"),
        ({"meeting": "9:30"}, "invalid_time"),
    ],
)
def test_answers_outside_their_types_are_refused(answers: dict[str, Any], code: str) -> None:
    _normalised, problems = validate_answers(load_form(CORPUS / "all_widgets.md"), BASE | answers)
    assert [p.code for p in problems] == [code]


def test_answers_of_the_types_as_written_are_kept() -> None:
    answers = BASE | {
        "priorities": "lighting paving drainage",
        "area_ha": "9007199254740992",  # 2^53, the largest taken
        "photo": "ho-gia-dinh_1.jpg",
        "visited": "2026-11-26T09:30:00+0700",
        "settled": "1985-06-01",
    }
    normalised, problems = validate_answers(load_form(CORPUS / "all_widgets.md"), answers)
    assert problems == []
    assert (
        normalised["area_ha"] == 2.0**53 and normalised["priorities"] == "lighting paving drainage"
    )


def one_question_form(tmp_path: Path, question: str, form_id: str, version: str) -> Path:
    """A markdown XLSForm of one question (`type | name | label`) with these settings."""
    path = tmp_path / "form.md"
    path.write_text(
        f"| survey |\n| | type | name | label |\n| | {question} |\n"
        f"| settings |\n| | form_id | version |\n| | {form_id} | {version} |\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("form_id", "version", "message"),
    [
        ("a/b", "1", "form_id 'a/b' contains a slash"),
        ("x" * 65, "1", "form_id is 65 characters long; at most 64"),
        ("ok", "9" * 65, "version is 65 characters long; at most 64"),
    ],
)
def test_a_form_id_or_version_no_url_or_survey_can_hold_is_refused_at_load(
    tmp_path: Path, form_id: str, version: str, message: str
) -> None:
    # A slash made Collect's download URL a 404; past 64 characters every survey of the form
    # failed to be stored.
    path = one_question_form(tmp_path, "text | street | Street", form_id, version)
    with pytest.raises(FormLoadError) as caught:
        load_form(path)
    problems = caught.value.messages("en")
    assert any(message in problem for problem in problems), problems


def test_a_version_written_as_a_date_with_slashes_loads(tmp_path: Path) -> None:
    # Only the form_id is in Collect's download URL; a version travels in a query or the XML.
    path = one_question_form(tmp_path, "text | street | Street", "dated", "26/11/2026")
    assert load_form(path).version == "26/11/2026"


def test_a_flat_form_bounds_decimals_as_the_full_evaluation_does(tmp_path: Path) -> None:
    form = load_form(one_question_form(tmp_path, "decimal | area | Area", "flat_decimal", "1"))
    assert form.compiled.flat is not None  # the fast path
    assert validate_answers(form, {"area": 12.5})[1] == []
    assert [p.code for p in validate_answers(form, {"area": 1e20})[1]] == ["number_too_large"]


def test_a_value_set_by_a_trigger_is_kept_as_sent_and_never_made_up() -> None:
    # `qt` is set by Collect when `q` changes (setvalue on xforms-value-changed); read as a
    # default it was filled with the server's now() whether q was ever answered or not.
    form = load_form(CORPUS / "trigger_kept.md")
    assert validate_answers(form, {}) == ({}, [])
    sent = {"q": "yes", "qt": "2026-11-26T09:30:00+07:00"}
    assert validate_answers(form, sent) == (sent, [])


def test_a_root_named_on_the_settings_sheet_keeps_its_rules() -> None:
    # The settings sheet's `name` is the instance's root element: the XForm's binds name
    # /my_root/..., and the questions' paths must match them or every rule is lost.
    form = load_form(CORPUS / "root_name.md")
    assert form.model["root"] == "my_root"
    assert [q.path for q in form.all_questions] == [
        "/my_root/a",
        "/my_root/b",
        "/my_root/g/c",
        "/my_root/loc",
    ]
    assert form.by_name["b"].relevant.split() == ["/my_root/a", ">", "2"]
    assert verdict("root_name.md", {"a": 5, "b": 3}) == set()
    assert verdict("root_name.md", {"a": 1, "b": 5}) == {
        ("answers.b", "not_relevant"),
        ("answers.c", "required"),
    }
    assert verdict("root_name.md", {"a": 5, "b": 9}) == {("answers.b", "constraint")}
    assert verdict("root_name.md", {"b": 9}) >= {("answers.a", "required")}


def test_a_calculate_longer_than_free_text_is_kept() -> None:
    # join() over a long repeat is the form's own value, legitimately over the 2000 characters
    # of a free text answer: the whole survey was refused.
    names = [f"Nguyễn Văn Thành viên {i:03d}" for i in range(120)]
    answers = {"member": [{"member_name": n} for n in names], "all_names": ", ".join(names)}
    assert len(answers["all_names"]) > 2000
    form = load_form(CORPUS / "calculate_join.md")
    normalised, problems = validate_answers(form, answers)
    assert problems == []
    assert normalised["all_names"] == ", ".join(names)
    # Free text keeps its bound, and a calculate has a generous one.
    too_long = {("answers.notes", "text_too_long")}
    assert verdict("calculate_join.md", {"notes": "x" * 2001}) == too_long
    huge = {"member": [{"member_name": "x" * 70_000}], "all_names": "x" * 70_000}
    assert ("answers.all_names", "text_too_long") in verdict("calculate_join.md", huge)
