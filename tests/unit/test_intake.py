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
