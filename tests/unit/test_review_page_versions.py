"""The review page words a question as the newest version that has it: old versions ordered
as the registry orders them (`1.10` after `1.9`), not as text."""

from __future__ import annotations

from pathlib import Path

from app.api.review_page import form_summary
from app.forms.registry import load_registry

FORM = """| survey |
| | type | name | label |
| | text | place | Place |
{extra}| settings |
| | form_id | version |
| | mini | {version} |
"""


def write(path: Path, version: str, extra: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(FORM.format(version=version, extra=extra), encoding="utf-8")


def test_the_newest_old_version_words_a_question_the_current_one_dropped(
    tmp_path: Path,
) -> None:
    write(tmp_path / "mini.md", "2")
    write(tmp_path / "versions" / "mini-1.9.md", "1.9", "| | integer | rooms | Rooms (old) |\n")
    write(tmp_path / "versions" / "mini-1.10.md", "1.10", "| | integer | rooms | Rooms |\n")
    registry = load_registry(tmp_path)
    assert [form.version for form in registry.newest_first("mini")] == ["2", "1.10", "1.9"]
    summary = form_summary(registry, "mini", "en", "household")
    assert summary["answers"]["rooms"]["label"] == "Rooms"
