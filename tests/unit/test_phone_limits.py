"""The phone's bounds (static/collect/form.js) are the server's (app/forms/answer_types.py):
a survey the phone lets through is never refused for one of them once it has left."""

from __future__ import annotations

import re

import pytest

from app.forms import answer_types
from app.settings import REPO_ROOT

FORM_JS = (REPO_ROOT / "static" / "collect" / "form.js").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["MAX_REPEATS", "MAX_TEXT_LENGTH", "MAX_CALCULATE_LENGTH"])
def test_the_phone_has_the_servers_bound(name: str) -> None:
    found = re.findall(rf"^const {name} = ([0-9_]+);", FORM_JS, re.MULTILINE)
    assert found, f"form.js declares no {name}"
    assert [int(value) for value in found] == [getattr(answer_types, name)]


def test_the_phone_caps_a_repeat_count_by_its_bound_only() -> None:
    """No other number caps a repeat_count (it was 200 beside the server's 500)."""
    caps = re.findall(r"Math\.min\(([^,()]+),[^;]*\bcount\b", FORM_JS)
    assert caps == ["MAX_REPEATS"]
