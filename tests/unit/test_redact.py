"""What a reader who may not see personal fields gets of a survey's answers (API reads)."""

from __future__ import annotations

import dataclasses
from typing import Any

from app.forms.definition import FormDefinition, Group, Question
from app.forms.registry import FormRegistry
from app.services.access import Grant, Principal
from app.services.submissions import redact

PLANNER = Principal(1, "planner", "Planner", (Grant("planner", city_id=7),))
LEADER = Principal(2, "leader", "Leader", (Grant("ward_leader", city_id=7, ward_id=3),))


def _unmarked(node: Any, names: set[str]) -> Any:
    """A form tree in which the named questions are not marked personal (an older version)."""
    if isinstance(node, Question):
        return dataclasses.replace(node, personal=False) if node.name in names else node
    assert isinstance(node, Group)
    return dataclasses.replace(node, children=tuple(_unmarked(c, names) for c in node.children))


def test_a_question_marked_personal_in_a_later_version_is_hidden_in_earlier_surveys(
    forms: FormRegistry,
) -> None:
    """The exports leave out a question any version marks personal; the API read the
    survey's own version only, so a survey made before the marking showed the name."""
    current = forms.current("household")
    assert "head_name" in current.personal_fields
    older: FormDefinition = dataclasses.replace(
        current,
        version="2020010101",
        root=_unmarked(current.root, {"head_name"}),
        questions=tuple(
            dataclasses.replace(q, personal=False) if q.name == "head_name" else q
            for q in current.questions
        ),
    )
    assert "head_name" not in older.personal_fields
    registry = FormRegistry()
    registry.add(current)
    registry.add(older)
    record = {
        "form_id": "household",
        "form_version": older.version,
        "city_id": 7,
        "ward_id": 3,
        "collector_user_id": 9,
        "answers": {"head_name": "Bà Bí Mật", "tenure": "red_book"},
    }
    assert redact(record, registry, PLANNER)["answers"] == {"tenure": "red_book"}
    assert redact(record, registry, LEADER)["answers"] == record["answers"]
    # A version the server no longer knows: nothing that could be personal.
    unknown = {**record, "form_version": "1999010101"}
    assert redact(unknown, registry, PLANNER)["answers"] == {}
