"""Four eyes on the review page (real Chromium, live server): a ward leader who surveys too
sees their own surveys in the queue without the decision buttons, with a note that another
leader or the city admin reviews them, and their settlement's bulk approval leaves them."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, text

from app.services.auth import hash_password
from tests.auth import bearer, make_token, make_user, ward_id
from tests.browser.test_review_page import PASSWORD, TABLET, card, sign_in, watch_dialogs
from tests.factories import household_answers, household_survey

pytestmark = pytest.mark.browser


@pytest.fixture
def surveys(
    sync_engine: Engine, live_server: str, clean_surveys: None, password_hash: str
) -> dict[str, Any]:
    """In one settlement of W03: two households the leader surveyed, two a volunteer did."""
    with sync_engine.begin() as connection:
        connection.execute(text("DELETE FROM sign_in_failures"))
    grants = [("volunteer", ("ward", "W03")), ("ward_leader", ("ward", "W03"))]
    leader_id = make_user(sync_engine, "lead-own", grants, password_hash=password_hash)
    leader = bearer(make_token(sync_engine, leader_id))
    volunteer_id = make_user(sync_engine, "tnv-own", [("volunteer", ("ward", "W03"))])
    volunteer = bearer(make_token(sync_engine, volunteer_id))
    w03 = ward_id(sync_engine, "W03")
    with sync_engine.connect() as connection:
        settlement_id, lon, lat = connection.execute(
            text(
                "SELECT s.id, ST_X(ST_PointOnSurface(s.geom)), ST_Y(ST_PointOnSurface(s.geom)) "
                "FROM settlements s WHERE s.ward_id = :ward ORDER BY s.code LIMIT 1"
            ),
            {"ward": w03},
        ).one()
    ids = {}
    households = {
        "own_1": (leader, "Nguyễn Văn Tự", "09:00"),
        "own_2": (leader, "Nguyễn Thị Mình", "09:10"),
        "theirs_1": (volunteer, "Trần Văn Khác", "09:20"),
        "theirs_2": (volunteer, "Lê Thị Người", "09:30"),
    }
    with httpx.Client(base_url=live_server) as client:
        for index, (key, (who, head, time)) in enumerate(households.items()):
            body = household_survey(
                collected_at=f"2026-11-26T{time}:00+07:00",
                location={"lat": lat + 0.0002 * index, "lon": lon, "accuracy_m": 5.0},
                answers=household_answers(head_name=head, head_phone=f"090600000{index}"),
            )
            answer = client.post("/api/v1/submissions", json=body, headers=who)
            assert answer.status_code == 201, answer.text
            ids[key] = body["id"]
    return {"ids": ids, "settlement_id": settlement_id, "w03": w03, "leader": leader}


@pytest.fixture(scope="module")
def password_hash() -> str:
    return hash_password(PASSWORD)


def test_a_leader_sees_their_own_surveys_without_decisions_and_bulk_leaves_them(
    desktop: Page, live_server: str, sync_engine: Engine, surveys: dict[str, Any]
) -> None:
    page, ids = desktop, surveys["ids"]
    dialogs = watch_dialogs(page)
    page.set_viewport_size(TABLET)
    sign_in(page, "lead-own", "/review?lang=vi")
    expect(page.locator("li.survey")).to_have_count(4)
    for key in ("own_1", "own_2"):
        own = card(page, ids[key])
        expect(own).to_have_attribute("data-own", "true")
        expect(own.locator("button.decide")).to_have_count(0)
        expect(own.locator("textarea")).to_have_count(0)
        expect(own.locator(".own-note")).to_have_text(
            "Phiếu do chính bạn thu thập: bạn không tự duyệt được. Một trưởng phường khác "
            "hoặc quản trị thành phố sẽ duyệt phiếu này."
        )
    theirs = card(page, ids["theirs_1"])
    expect(theirs).not_to_have_attribute("data-own", "true")
    expect(theirs.locator("button.decide")).to_have_count(3)
    # Selecting an own card still shows it on the map.
    card(page, ids["own_1"]).locator(".answers").click()
    expect(card(page, ids["own_1"])).to_have_class(re.compile(r"\bselected\b"))

    # The settlement's bulk approval counts and sends only the others' surveys.
    settlement = page.locator(f'#settlements li[data-id="{surveys["settlement_id"]}"]')
    bulk = settlement.locator("button.bulk")
    expect(bulk).to_have_text("Duyệt 2 phiếu không có cảnh báo")
    bulk.click()
    confirm = page.locator("dialog#confirm")
    expect(confirm.locator("#confirm-text")).to_contain_text("Duyệt 2 phiếu không có cảnh báo")
    expect(confirm.locator("#confirm-text")).not_to_contain_text("chưa hiện trên trang")
    with page.expect_request(lambda r: r.method == "POST" and "/settlements/" in r.url) as posted:
        confirm.locator("#confirm-yes").click()
    assert {s["id"] for s in posted.value.post_data_json["surveys"]} == {
        ids["theirs_1"],
        ids["theirs_2"],
    }
    expect(page.locator("#toast")).to_contain_text("Đã duyệt 2 phiếu")
    expect(card(page, ids["theirs_1"])).to_have_count(0)
    expect(page.locator("li.survey")).to_have_count(2)
    expect(bulk).to_be_disabled()
    expect(bulk).to_have_text("Duyệt 0 phiếu không có cảnh báo")
    # The button tapped is gone from under the focus (the list is drawn again, and none is
    # left to approve): the focus is on the section's heading, not lost on the page's body.
    expect(page.locator("#bulk-title")).to_be_focused()
    with sync_engine.connect() as connection:
        states = dict(
            connection.execute(text("SELECT id::text, status FROM household_surveys")).all()
        )
    assert states == {
        ids["own_1"]: "received",
        ids["own_2"]: "received",
        ids["theirs_1"]: "approved",
        ids["theirs_2"]: "approved",
    }

    # The API says why if a decision on one is tried anyway (an older page, another client).
    refused = httpx.post(
        f"{live_server}/api/v1/submissions/{ids['own_1']}/review",
        json={"decision": "approved"},
        headers={**surveys["leader"], "accept-language": "vi"},
    )
    assert refused.status_code == 409 and refused.json()["code"] == "own_survey"

    # In English too.
    page.goto("/review?lang=en")
    expect(card(page, ids["own_2"]).locator(".own-note")).to_have_text(
        "You collected this survey: you cannot review it yourself. Another ward leader or "
        "the city admin reviews it."
    )
    assert page.console_errors == []  # type: ignore[attr-defined]
    assert dialogs == []
