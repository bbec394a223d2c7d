"""Every name pyxform gives a question type the server supports is read as that type."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pyxform.question_type_dictionary import QUESTION_TYPE_DICT

from app.forms import definition
from app.forms.definition import FormLoadError, load_form
from app.forms.validation import validate_answers

FORM = """| survey |
| | type | name | label | constraint |
| | {datetime} | when | When | |
| | {geopoint} | where | Where | |
| | {integer} | age | Age | . < 120 |
| | {text} | nick | Nick | |
| | {start} | began | | |
| settings |
| | form_id | version |
| | types | 1 |
"""
CANONICAL = {
    "datetime": "datetime",
    "geopoint": "geopoint",
    "integer": "integer",
    "text": "text",
    "start": "start",
}
ALIASES = {
    "datetime": "dateTime",
    "geopoint": "gps",
    "integer": "int",
    "text": "string",
    "start": "start time",
}
OTHER_ALIASES = {
    "datetime": "date time",
    "geopoint": "location",
    "integer": "q int",
    "text": "add text prompt",
    "start": "get start time",
}


def form(tmp_path: Path, types: dict[str, str]) -> Any:
    path = tmp_path / f"types-{abs(hash(tuple(types.values())))}.md"
    path.write_text(FORM.format(**types), encoding="utf-8")
    return load_form(path)


@pytest.mark.parametrize("aliases", [ALIASES, OTHER_ALIASES])
def test_pyxform_s_other_names_of_a_type_load_as_that_type(
    tmp_path: Path, aliases: dict[str, str]
) -> None:
    # `dateTime`, `gps`, `int`, `string` were refused: "question type ... is not supported".
    loaded = form(tmp_path, aliases)
    assert {q.name: q.type for q in loaded.questions} == {
        "when": "datetime",
        "where": "geopoint",
        "age": "integer",
        "nick": "text",
    }
    assert loaded.meta == {"began": "start"}


ANSWERS = [
    {"when": "2026-12-01T10:00:00+07:00", "where": "16.05 108.2", "age": 30, "nick": "An"},
    {"when": "yesterday", "where": "16.05", "age": "thirty", "nick": 5},
    {"when": "2026-12-01", "where": "95 108.2 0 5", "age": 130, "nick": ""},
    {"age": 12.5, "began": "2026-12-01T10:00:00+07:00"},
    {"began": "not a time"},
]


@pytest.mark.parametrize("answers", ANSWERS)
def test_an_answer_to_an_alias_is_checked_as_its_type(
    tmp_path: Path, answers: dict[str, Any]
) -> None:
    canonical = validate_answers(form(tmp_path, CANONICAL), answers)
    for aliases in (ALIASES, OTHER_ALIASES):
        assert validate_answers(form(tmp_path, aliases), answers) == canonical


def test_every_type_pyxform_knows_is_read_or_refused_by_name() -> None:
    read = definition.VALUE_TYPES | definition.META_TYPES | definition.DEVICE_META
    for kind, entry in QUESTION_TYPE_DICT.items():
        canonical = definition.PYXFORM_TYPES.get(kind, definition.META_ALIASES.get(kind, kind))
        assert canonical in read or kind in definition.REFUSED_TYPES, kind
        if canonical != kind and canonical in QUESTION_TYPE_DICT:
            # An alias has the bind type of the type it is read as.
            bind = QUESTION_TYPE_DICT[canonical].get("bind", {}).get("type", "string")
            assert entry.get("bind", {}).get("type", "string") == bind, kind


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        ("background-audio", "form_type_background"),
        ("start-geopoint", "form_type_background"),
        ("csv-external", "form_type_external_file"),
    ],
)
def test_a_type_the_server_cannot_handle_is_refused_as_not_supported(
    tmp_path: Path, kind: str, code: str
) -> None:
    path = tmp_path / "refused.md"
    path.write_text(
        "| survey |\n| | type | name | label |\n"
        f"| | {kind} | thing | Thing |\n| | text | other | Other |\n",
        encoding="utf-8",
    )
    with pytest.raises(FormLoadError) as caught:
        load_form(path)
    [problem] = caught.value.problems
    assert problem.code == code
    assert f"'{kind}'" in problem.message("en") and f"'{kind}'" in problem.message("vi")
    assert "not supported" in problem.message("en")
    assert "không được hỗ trợ" in problem.message("vi")
