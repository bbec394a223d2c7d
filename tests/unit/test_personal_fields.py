"""Which answers of a form are personal (tests/forms/personal_other.md): a question's own
`personal` column, the `<name>_other` text pyxform adds to a personal `or_other` select (an ID
number typed for "other"), and every question of a group or repeat marked personal."""

from __future__ import annotations

from typing import Any

from app.forms.definition import FormDefinition, load_form
from app.forms.registry import FormRegistry
from app.services.access import Grant, Principal
from app.services.submissions import redact
from app.settings import REPO_ROOT

FORM = REPO_ROOT / "tests" / "forms" / "personal_other.md"
PLANNER = Principal(1, "planner", "Planner", (Grant("planner", city_id=7),))
LEADER = Principal(2, "leader", "Leader", (Grant("ward_leader", city_id=7, ward_id=3),))
# Marked in their own row, the `_other` texts of personal selects, the contact group's
# questions, the kids repeat's questions and the repeat itself.
PERSONAL = {
    "resp_name",
    "id_type",
    "id_type_other",
    "contact_phone",
    "contact_idt",
    "contact_idt_other",
    "member_name",
    "member_idt",
    "member_idt_other",
    "kids",
    "kid_name",
    "kid_age",
}


def form() -> FormDefinition:
    return load_form(FORM)


def test_a_personal_selects_other_text_and_a_personal_sections_questions() -> None:
    loaded = form()
    assert loaded.personal_fields == PERSONAL
    assert loaded.private_fields == PERSONAL
    # What planners may get: the other text of a select not marked personal stays.
    assert [q.name for q in loaded.public_fields()] == ["roof", "roof_other", "notes"]
    marked = {q.name for q in loaded.all_questions if q.personal}
    assert marked == PERSONAL - {"kids"}
    registry = FormRegistry()
    registry.add(loaded)
    assert registry.personal_fields("personal_other", files=True) == PERSONAL


def test_the_phone_model_marks_the_other_text_and_a_personal_sections_questions() -> None:
    """The phone reads `personal` of each question (the title of a survey in its list is an
    answer not marked personal first)."""
    flags: dict[str, bool] = {}

    def walk(nodes: list[dict[str, Any]]) -> None:
        for node in nodes:
            if node["kind"] == "question":
                flags[node["name"]] = node["personal"]
            walk(node.get("children", []))

    walk(form().model["children"])
    assert {name for name, personal in flags.items() if personal} == PERSONAL - {"kids"}
    assert flags["roof_other"] is False and flags["age"] is False


def test_a_planner_reads_no_other_text_of_a_personal_select_nor_a_personal_repeat() -> None:
    registry = FormRegistry()
    registry.add(form())
    answers = {
        "resp_name": "Bà Bí Mật",
        "id_type": "other",
        "id_type_other": "CMND-079123456789",
        "roof": "other",
        "roof_other": "lá dừa",
        "contact_phone": "0912345678",
        "contact_idt": "other",
        "contact_idt_other": "GPLX-123",
        "member": [
            {"member_name": "Con", "member_idt": "other", "member_idt_other": "X-1", "age": 7}
        ],
        "kids": [{"kid_name": "Bé Bí Mật", "kid_age": 3}],
        "notes": "ok",
    }
    record = {
        "form_id": "personal_other",
        "form_version": "2026120301",
        "city_id": 7,
        "ward_id": 3,
        "collector_user_id": 9,
        "answers": answers,
    }
    assert redact(record, registry, PLANNER)["answers"] == {
        "roof": "other",
        "roof_other": "lá dừa",
        "member": [{"age": 7}],
        "notes": "ok",
    }
    assert redact(record, registry, LEADER)["answers"] == answers
