"""A reviewer's reason to send a survey back or reject it must say something the volunteer
can read (app/services/review._comment)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.auth import bearer, make_token, make_user
from tests.factories import household_survey

URL = "/api/v1/submissions"


@pytest.mark.parametrize(
    "comment",
    ["  \u200b ", "\u200b\u200c\u200d\u2060", "\u200e\u200f\u202a\u202c", "\ufeff", "\u3000\t\n"],
)
def test_a_reason_of_invisible_marks_only_is_refused(
    client: TestClient, sync_engine: Engine, comment: str
) -> None:
    # Accepted before: str.strip() keeps zero-width spaces, joiners and direction marks.
    volunteer = bearer(
        make_token(
            sync_engine, make_user(sync_engine, "reason-vol", [("volunteer", ("ward", "W03"))])
        )
    )
    leader = bearer(
        make_token(
            sync_engine, make_user(sync_engine, "reason-lead", [("ward_leader", ("ward", "W03"))])
        )
    )
    body = household_survey()
    assert client.post(URL, json=body, headers=volunteer).status_code == 201
    for decision in ("needs_correction", "rejected"):
        response = client.post(
            f"{URL}/{body['id']}/review",
            json={"decision": decision, "comment": comment},
            headers={**leader, "Accept-Language": "vi"},
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["code"] == "comment_required"
    shown = client.get(f"{URL}/{body['id']}", headers=leader).json()
    assert shown["status"] == "received"
    # A reason with a word in it, invisible marks around it, is taken.
    taken = client.post(
        f"{URL}/{body['id']}/review",
        json={"decision": "rejected", "comment": "\u200bTrùng hộ\u200b"},
        headers=leader,
    )
    assert taken.status_code == 200, taken.text
