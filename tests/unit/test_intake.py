"""Submission checks that need no database: normalisation, hashing, messages."""

from __future__ import annotations

from datetime import UTC, datetime

from app.forms.registry import FormRegistry
from app.services.intake import prepare_submission
from tests.factories import household_answers, household_survey

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


def test_a_valid_survey_is_normalised(forms: FormRegistry) -> None:
    body = household_survey(answers=household_answers(household_size="4", priority_needs=["water"]))
    prepared, problems = prepare_submission(body, forms, NOW)
    assert problems == []
    assert prepared is not None
    assert prepared.answers["household_size"] == 4
    assert prepared.answers["priority_needs"] == "water"
    assert "location" not in prepared.answers  # it lives in the geometry column
    assert prepared.lat == 15.571 and prepared.lon == 108.474


def test_the_hash_ignores_encoding_but_not_content(forms: FormRegistry) -> None:
    body = household_survey()
    same = {**body, "collected_at": "2026-11-26T02:30:00+00:00"}
    same["answers"] = {**body["answers"], "household_size": "4"}
    edited = {**body, "answers": household_answers(flooding="never")}
    hashes = [prepare_submission(b, forms, NOW)[0].content_hash for b in (body, same, edited)]  # type: ignore[union-attr]
    assert hashes[0] == hashes[1] != hashes[2]


def test_a_time_without_offset_is_vietnam_time(forms: FormRegistry) -> None:
    prepared, _ = prepare_submission(
        household_survey(collected_at="2026-11-26T09:30:00"), forms, NOW
    )
    assert prepared is not None
    assert prepared.collected_at.astimezone(UTC).hour == 2


def test_every_problem_is_reported_at_once(forms: FormRegistry) -> None:
    body = household_survey(
        location={"lat": 15.57, "lon": 108.47, "accuracy_m": -1},
        answers=household_answers(tenure=None, water_source="river"),
    )
    prepared, problems = prepare_submission(body, forms, NOW)
    assert prepared is None
    assert {(p.field, p.code) for p in problems} == {
        ("location.accuracy_m", "accuracy_negative"),
        ("answers.tenure", "required"),
        ("answers.water_source", "invalid_choice"),
    }
    messages = {p.field: p.message("vi") for p in problems}
    assert messages["answers.tenure"] == "Bắt buộc trả lời câu này."
    assert "river" in messages["answers.water_source"]


def test_not_an_object(forms: FormRegistry) -> None:
    prepared, problems = prepare_submission(["a", "list"], forms, NOW)
    assert prepared is None and problems[0].code == "wrong_type"


def test_today_is_the_day_the_survey_was_collected() -> None:
    """A survey sent days after it was filled keeps the verdict it had on the phone."""
    from app.forms.definition import load_form
    from app.settings import REPO_ROOT

    registry = FormRegistry()
    registry.add(load_form(REPO_ROOT / "tests" / "forms" / "defect_5_dates.md"))

    def survey(birth: str) -> dict[str, object]:
        return {
            "id": "0d7d1c9e-6a43-4c0a-9d0e-0f1d5b0c0a01",
            "form_id": "defect_5_dates",
            "form_version": "1",
            "collected_at": "2026-11-20T10:00:00+07:00",
            "answers": {"birth": birth, "deadline": "2026-02-01"},
        }

    # Born on the day of the survey: today() was that day on the phone, so it is here.
    prepared, problems = prepare_submission(survey("2026-11-20"), registry, NOW)
    assert problems == [] and prepared is not None
    assert prepared.answers["age_days"] == "0"  # a calculate is text, as in ODK
    # The next day was still in the future when the survey was filled.
    _, problems = prepare_submission(survey("2026-11-21"), registry, NOW)
    assert [(p.field, p.code) for p in problems] == [("answers.birth", "constraint")]


def test_the_review_page_labels_come_from_the_household_form(forms: FormRegistry) -> None:
    """HOUSEHOLD_FORM names the form whose questions the review page labels (vi and en)."""
    from app.api.review_page import answer_labels

    assert answer_labels(forms, "household", "vi")["tenure"]["label"]
    english = answer_labels(forms, "household", "en")["tenure"]
    assert english["label"] != answer_labels(forms, "household", "vi")["tenure"]["label"]
    assert answer_labels(forms, "no_such_form", "en") == {}
