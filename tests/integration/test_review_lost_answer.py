"""A decision whose answer was lost, then another decision by the same reviewer: the refusal
(409 `review_status_changed`) says the survey's decision now is the reviewer's own, rather
than someone else's, and names its status; it names nobody else."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.integration.test_review_wards import decide, statuses, surveys, town

__all__ = ["surveys", "town"]  # the fixtures the tests below use


def test_a_refusal_says_whether_the_decision_now_is_the_reviewers_own(
    client: TestClient, town: dict[str, Any], surveys: dict[str, str]
) -> None:
    sid = surveys["a1"]
    # The leader's approval reached the server; its answer never reached the page, which
    # still shows the survey waiting, and the leader sends it back instead.
    first = decide(client, town, "leader_a", sid, decision="approved", version=1)
    assert first.status_code == 200, first.text
    for language, words in (
        ("vi", "Quyết định trước đó của chính bạn cho phiếu"),
        ("en", "Your own earlier decision on survey"),
    ):
        refused = client.post(
            f"/api/v1/submissions/{sid}/review?lang={language}",
            json={"decision": "needs_correction", "comment": "Thiếu số nhà", "version": 1},
            headers=town["people"]["leader_a"],
        )
        assert refused.status_code == 409, refused.text
        body = refused.json()
        assert body["code"] == "review_status_changed"
        assert body["detail"].startswith(words) and sid in body["detail"]
        assert "người khác" not in body["detail"] and "someone else" not in body["detail"]
        assert {key: body[key] for key in ("status", "seen", "decided_by_you")} == {
            "status": "approved",
            "seen": "received",
            "decided_by_you": True,
        }
    assert statuses(client, town)[sid] == "approved"

    # Another reviewer changes it meanwhile: the leader's next stale decision is refused as
    # someone else's, and the refusal names no one (nor the other's comment).
    other = decide(
        client,
        town,
        "city_admin",
        sid,
        decision="rejected",
        comment="Hộ không có thật",
        version=1,
        status="approved",
    )
    assert other.status_code == 200, other.text
    stale = decide(client, town, "leader_a", sid, decision="approved", version=1, status="approved")
    assert stale.status_code == 409, stale.text
    body = stale.json()
    assert body["code"] == "review_status_changed"
    assert {key: body[key] for key in ("status", "seen", "decided_by_you")} == {
        "status": "rejected",
        "seen": "approved",
        "decided_by_you": False,
    }
    assert set(body) == {"code", "detail", "errors", "status", "seen", "decided_by_you"}
    assert "straddle-city_admin" not in stale.text and "Hộ không có thật" not in stale.text
    assert statuses(client, town)[sid] == "rejected"
