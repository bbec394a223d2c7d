"""Forms the phone tests add beside the household form."""

from __future__ import annotations

from pathlib import Path

import openpyxl

VISIT_FORM_ID = "visit_note"
VISIT_FORM_VERSION = "2026120201"


def write_visit_form(path: Path) -> None:
    """A small form with no geopoint question: a note on a visit to a group meeting."""
    book = openpyxl.Workbook()
    survey = book.active
    assert survey is not None
    survey.title = "survey"
    survey.append(["type", "name", "label::Tiếng Việt (vi)", "label::English (en)", "required"])
    survey.append(["text", "meeting_place", "Nơi họp", "Meeting place", "yes"])
    survey.append(["integer", "people_present", "Số người dự", "People present", "yes"])
    choices = book.create_sheet("choices")
    choices.append(["list_name", "name", "label::Tiếng Việt (vi)", "label::English (en)"])
    choices.append(["yes_no", "yes", "Có", "Yes"])
    settings = book.create_sheet("settings")
    settings.append(["form_title", "form_id", "version", "default_language"])
    settings.append(
        ["Ghi chép buổi họp / Meeting note", VISIT_FORM_ID, VISIT_FORM_VERSION, "Tiếng Việt (vi)"]
    )
    book.save(path)
