"""Valid household surveys to start tests from."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Engine, text

# Inside ward "An Xuân" of the sample city but in no settlement; see test_assignment for others.
TAM_KY_POINT = {"lat": 15.571, "lon": 108.474, "accuracy_m": 6.5, "altitude_m": 12.0}


def household_answers(**overrides: Any) -> dict[str, Any]:
    """A complete, valid set of household answers."""
    answers: dict[str, Any] = {
        "head_name": "Nguyễn Thị Hoa",
        "head_phone": "0905123456",
        "household_size": 4,
        "poverty_status": "poor",
        "tenure": "papers_only",
        "house_condition": "temporary",
        "eviction_threat": "no",
        "water_source": "shared_tap",
        "sanitation": "shared_toilet",
        "electricity": "neighbour_meter",
        "flooding": "often",
        "waste": "dumped",
        "lane_access": "motorbike",
        "lane_width_m": 1.8,
        "savings_group": "yes",
        "cdf_loan": "no",
        "priority_needs": "drainage lane",
    }
    answers.update(overrides)
    return {k: v for k, v in answers.items() if v is not None}


def household_survey(**overrides: Any) -> dict[str, Any]:
    """A complete, valid submission body."""
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "form_id": "household",
        "form_version": "2026112801",
        "collected_at": "2026-11-26T09:30:00+07:00",
        "collector": "tnv-07",
        "location": dict(TAM_KY_POINT),
        "answers": household_answers(),
    }
    body.update(overrides)
    return body


def approve(engine: Engine, survey_id: str) -> None:
    """Mark one stored survey approved, as a reviewer's decision would (outputs count only
    approved surveys)."""
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE household_surveys SET status = 'approved' WHERE id = :id"),
            {"id": survey_id},
        )
