"""Which version of a form is current, and where an old version finds its choice files."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.forms.definition import FormLoadError, load_form
from app.forms.registry import load_registry
from app.forms.validation import validate_answers

FORM = """| survey |
| | type | name | label |
| | select_one_from_file villages.csv | village | Village |
| | text | note_{version_name} | Note |
| settings |
| | form_id | version |
| | mini | {version} |
"""
PLAIN_FORM = """| survey |
| | type | name | label |
| | text | note_{version_name} | Note |
| settings |
| | form_id | version |
| | mini | {version} |
"""


def write(path: Path, version: str, with_choice_file: bool = False) -> Path:
    template = FORM if with_choice_file else PLAIN_FORM
    name = "".join(c if c.isalnum() else "_" for c in version)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(template.format(version=version, version_name=name), encoding="utf-8")
    return path


def write_villages(path: Path, *names: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = "".join(f"{name},{name.title()}\n" for name in names)
    path.write_text("name,label\n" + rows, encoding="utf-8")


@pytest.mark.parametrize(
    ("current", "old"),
    [
        ("1.10", "1.9"),  # compared as text, 1.9 came after 1.10
        ("vAb27", "vZq81"),  # Kobo's random versions have no order at all
        ("v2", "2026120101"),  # a version of digits only came after any other
        ("2026120101", "2026120102"),  # even a version that looks older: the file decides
    ],
)
def test_the_current_version_is_the_file_in_forms_whatever_its_version_says(
    tmp_path: Path, current: str, old: str
) -> None:
    write(tmp_path / "mini.md", current)
    write(tmp_path / "versions" / "mini-old.md", old)
    registry = load_registry(tmp_path)
    assert registry.problems == {}
    assert registry.current("mini").version == current
    assert registry.get("mini", None).version == current
    assert [form.version for form in registry.all_current()] == [current]
    assert registry.get("mini", old).version == old  # surveys of the old one still accepted


def test_a_form_only_in_versions_has_its_highest_version_numbers_read_as_numbers(
    tmp_path: Path,
) -> None:
    write(tmp_path / "versions" / "mini-a.md", "1.10")
    write(tmp_path / "versions" / "mini-b.md", "1.9")
    registry = load_registry(tmp_path)
    assert registry.current("mini").version == "1.10"


def test_two_files_of_one_form_in_forms_are_a_problem_and_both_versions_accepted(
    tmp_path: Path,
) -> None:
    # Which of the two is meant is a guess: the higher version (digit runs as numbers, so
    # 1.10 after 1.9), whatever the file names; the other is listed to be moved.
    write(tmp_path / "mini-a.md", "1.10")
    write(tmp_path / "mini-b.md", "1.9")
    write(tmp_path / "mini-c.md", "1.2")
    registry = load_registry(tmp_path)
    assert registry.current("mini").filename == "mini-a.md"
    assert set(registry.versions["mini"]) == {"1.9", "1.10", "1.2"}
    [problem] = registry.problems["mini-b.md"]
    assert problem.code == "form_current_twice"
    message = problem.message("en")
    assert "mini-a.md" in message and "'1.9'" in message and "forms/versions/" in message
    assert "mini-a.md" in problem.message("vi")
    assert [p.code for p in registry.problems["mini-c.md"]] == ["form_current_twice"]
    write(tmp_path / "mini-a.md", "1.1")  # now the lowest: mini-b's 1.9 is current
    assert load_registry(tmp_path).current("mini").filename == "mini-b.md"


def test_an_old_version_with_the_current_version_string_is_a_problem(tmp_path: Path) -> None:
    write(tmp_path / "mini.md", "7")
    write(tmp_path / "versions" / "mini-old.md", "7")
    registry = load_registry(tmp_path)
    assert registry.current("mini").filename == "mini.md"
    [problem] = registry.problems["versions/mini-old.md"]
    assert problem.code == "form_version_taken"


def test_an_old_version_moved_into_versions_reads_the_choice_file_in_forms(
    tmp_path: Path,
) -> None:
    # docs/collect.md: move the current file into versions/, drop the new one in forms/. The
    # choice file stays in forms/: the old version could not load ("no file villages.csv
    # beside the form") and its surveys got "unknown version" for ever.
    write_villages(tmp_path / "villages.csv", "an_hai", "son_tra")
    write(tmp_path / "versions" / "mini-1.md", "1", with_choice_file=True)
    write(tmp_path / "mini.md", "2", with_choice_file=True)
    registry = load_registry(tmp_path)
    assert registry.problems == {}
    old = registry.get("mini", "1")
    assert old.folders == (tmp_path / "versions", tmp_path)
    _normalised, problems = validate_answers(old, {"village": "son_tra"})
    assert problems == []
    _normalised, problems = validate_answers(old, {"village": "nowhere"})
    assert [p.field for p in problems] == ["answers.village"]


def test_an_old_version_keeps_its_own_copy_of_a_choice_file_in_versions(tmp_path: Path) -> None:
    write_villages(tmp_path / "villages.csv", "an_hai")  # the new list dropped a village
    write_villages(tmp_path / "versions" / "villages.csv", "an_hai", "son_tra")
    write(tmp_path / "versions" / "mini-1.md", "1", with_choice_file=True)
    write(tmp_path / "mini.md", "2", with_choice_file=True)
    registry = load_registry(tmp_path)
    assert registry.problems == {}
    assert {c.value for c in registry.get("mini", "1").by_name["village"].choices} == {
        "an_hai",
        "son_tra",
    }
    assert {c.value for c in registry.current("mini").by_name["village"].choices} == {"an_hai"}
    assert registry.get("mini", "1").file_beside("villages.csv") == (
        tmp_path / "versions" / "villages.csv"
    )
    assert registry.current("mini").file_beside("villages.csv") == tmp_path / "villages.csv"
    assert registry.current("mini").file_beside("../villages.csv") is None


def test_the_current_form_never_reads_a_choice_file_of_versions(tmp_path: Path) -> None:
    write_villages(tmp_path / "versions" / "villages.csv", "an_hai")
    with pytest.raises(FormLoadError) as caught:
        load_form(write(tmp_path / "mini.md", "2", with_choice_file=True))
    assert "form_choices_file_missing" in [p.code for p in caught.value.problems]
