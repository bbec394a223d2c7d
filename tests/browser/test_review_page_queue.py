"""The review page's queue while it changes under it, its requests that never get an answer,
and names written right to left: every waiting survey stays reachable by "load more" (read by
the server's cursor, not by position); a decision whose answer never comes is given up, says
so and can be taken again; a settlement's name cannot reorder the sentences it is put in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, Route, expect
from sqlalchemy import Engine, text

from tests.auth import bearer, make_token, make_user, ward_id
from tests.browser.test_review_page import card, password_hash, sign_in
from tests.factories import TAM_KY_POINT, household_answers, household_survey

pytestmark = pytest.mark.browser

__all__ = ["password_hash"]  # the fixture test_review_page's users are made with

NETWORK_ERROR = "Không kết nối được máy chủ. Kiểm tra mạng rồi thử lại."
RTL_SETTLEMENT = "Xóm \u202eCồn שכונת שלום <b>x</b>"


@pytest.fixture
def people(
    sync_engine: Engine, live_server: str, clean_surveys: None, password_hash: str
) -> dict[str, Any]:
    """Two leaders of W03 (one on the page, one deciding through the API) and a volunteer."""
    with sync_engine.begin() as connection:
        connection.execute(text("DELETE FROM sign_in_failures"))
    make_user(
        sync_engine, "lead-an-xuan", [("ward_leader", ("ward", "W03"))], password_hash=password_hash
    )
    other = make_user(sync_engine, "lead-an-xuan-2", [("ward_leader", ("ward", "W03"))])
    volunteer = make_user(sync_engine, "tnv-an-xuan", [("volunteer", ("ward", "W03"))])
    return {
        "leader": bearer(make_token(sync_engine, other)),
        "volunteer": bearer(make_token(sync_engine, volunteer)),
    }


def send(live_server: str, volunteer: dict[str, str], minute: int, **overrides: Any) -> str:
    """A household survey collected `minute` minutes after 08:00; its id."""
    body = household_survey(
        collector="tnv-an-xuan",
        collected_at=f"2026-11-26T{8 + minute // 60:02d}:{minute % 60:02d}:00+07:00",
        answers=household_answers(head_name=f"Hộ số {minute}"),
        **overrides,
    )
    response = httpx.post(f"{live_server}/api/v1/submissions", json=body, headers=volunteer)
    assert response.status_code == 201, response.text
    return str(body["id"])


def approve(live_server: str, leader: dict[str, str], survey_id: str) -> None:
    response = httpx.post(
        f"{live_server}/api/v1/submissions/{survey_id}/review",
        json={"decision": "approved"},
        headers=leader,
    )
    assert response.status_code == 200, response.text


def test_load_more_reaches_the_surveys_left_after_others_were_decided(
    desktop: Page, live_server: str, people: dict[str, Any]
) -> None:
    page = desktop
    ids = [send(live_server, people["volunteer"], minute) for minute in range(55)]
    sign_in(page, "lead-an-xuan", "/review?lang=vi")
    expect(page.locator("li.survey")).to_have_count(50)
    expect(page.locator("#queue-count")).to_have_text("(55 phiếu)")
    # Another leader of the ward approves five of the surveys shown (the newest).
    for survey_id in ids[50:]:
        approve(live_server, people["leader"], survey_id)

    page.locator("#load-more").click()
    for survey_id in ids[:5]:  # the oldest five, never shown yet
        expect(card(page, survey_id)).to_have_count(1)
    expect(page.locator("#queue-count")).to_have_text("(50 phiếu)")
    expect(page.locator("#load-more")).to_be_hidden()


def test_load_more_shows_a_survey_sent_while_the_page_was_open(
    desktop: Page, live_server: str, people: dict[str, Any]
) -> None:
    page = desktop
    ids = [send(live_server, people["volunteer"], minute) for minute in range(51)]
    sign_in(page, "lead-an-xuan", "/review?lang=vi")
    expect(page.locator("li.survey")).to_have_count(50)
    expect(page.locator("#load-more")).to_be_visible()
    new = send(live_server, people["volunteer"], 240)  # the newest of all

    page.locator("#load-more").click()
    expect(page.locator("li.survey")).to_have_count(52)
    expect(card(page, ids[0])).to_have_count(1)
    expect(card(page, new)).to_have_count(1)
    expect(page.locator("#queue-count")).to_have_text("(52 phiếu)")
    expect(page.locator("#load-more")).to_be_hidden()
    # Each card once.
    shown = page.locator("li.survey").evaluate_all("(items) => items.map((i) => i.dataset.id)")
    assert sorted(shown) == sorted([*ids, new])


def test_a_decision_without_an_answer_is_given_up_and_can_be_taken_again(
    desktop: Page, live_server: str, people: dict[str, Any]
) -> None:
    page = desktop
    survey_id = send(live_server, people["volunteer"], 30)
    sign_in(page, "lead-an-xuan", "/review?lang=vi")
    expect(card(page, survey_id)).to_have_count(1)
    page.clock.install()
    page.reload()
    item = card(page, survey_id)
    expect(item).to_have_count(1)

    held: list[Any] = []

    def lose_the_answer(route: Route) -> None:
        # The first decision reaches the server, its answer never comes back.
        if not held:
            held.append(route.fetch())
            return
        route.continue_()

    page.route(re.compile(r"/api/v1/submissions/[^/?]+/review"), lose_the_answer)
    item.locator("button.decide.approve").click()
    expect(item).to_have_class(re.compile(r"\bbusy\b"))
    expect(item.locator("button.decide.approve")).to_be_disabled()
    page.wait_for_timeout(200)
    assert held, "the decision was sent"
    page.clock.fast_forward("00:30")

    expect(item.locator(".error")).to_have_text(NETWORK_ERROR)
    expect(item).not_to_have_class(re.compile(r"\bbusy\b"))
    expect(item.locator("button.decide.approve")).to_be_enabled()
    # The same decision again: the server has it already, and says so without a conflict.
    item.locator("button.decide.approve").click()
    expect(card(page, survey_id)).to_have_count(0)
    expect(page.locator("#toast")).to_contain_text("Đã duyệt: Hộ số 30")
    response = httpx.get(f"{live_server}/api/v1/submissions/{survey_id}", headers=people["leader"])
    assert response.json()["status"] == "approved"


@pytest.fixture
def rtl_settlement(sync_engine: Engine, people: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """W03's first settlement named with right-to-left letters and a bidi override."""
    w03 = ward_id(sync_engine, "W03")
    with sync_engine.begin() as connection:
        settlement_id, original_name, lon, lat = connection.execute(
            text(
                "SELECT s.id, s.name, ST_X(ST_PointOnSurface(s.geom)), "
                "ST_Y(ST_PointOnSurface(s.geom)) FROM settlements s WHERE s.ward_id = :ward "
                "ORDER BY s.code LIMIT 1"
            ),
            {"ward": w03},
        ).one()
        connection.execute(
            text("UPDATE settlements SET name = :name WHERE id = :id"),
            {"name": RTL_SETTLEMENT, "id": settlement_id},
        )
    try:
        yield {"id": settlement_id, "inside": {"lat": lat, "lon": lon, "accuracy_m": 5.0}}
    finally:
        with sync_engine.begin() as connection:
            connection.execute(
                text("UPDATE settlements SET name = :name WHERE id = :id"),
                {"name": original_name, "id": settlement_id},
            )


def test_right_to_left_names_are_isolated_in_the_sentences(
    desktop: Page, live_server: str, people: dict[str, Any], rtl_settlement: dict[str, Any]
) -> None:
    page = desktop
    inside = rtl_settlement["inside"]
    first = send(live_server, people["volunteer"], 10, location=dict(inside))
    send(live_server, people["volunteer"], 20, location=dict(inside))
    last = send(live_server, people["volunteer"], 30, location=dict(TAM_KY_POINT))
    sign_in(page, "lead-an-xuan", "/review?lang=vi")
    expect(page.locator("li.survey")).to_have_count(3)

    # The map's caption: the name in its own <bdi>, as text.
    card(page, first).locator(".survey-summary").click()
    caption = page.locator("#map-caption")
    expect(caption).to_have_text(f"{RTL_SETTLEMENT} · GPS ±5 m")
    expect(caption.locator("bdi")).to_have_text(RTL_SETTLEMENT)
    expect(caption.locator("b")).to_have_count(0)

    # The bulk approval's confirmation and its toast.
    settlement = page.locator(f'#settlements li[data-id="{rtl_settlement["id"]}"]')
    settlement.locator("button.bulk").click()
    confirm = page.locator("dialog#confirm")
    expect(confirm).to_be_visible()
    expect(confirm.locator("#confirm-text")).to_have_text(
        re.compile(
            r"Duyệt \d phiếu không có cảnh báo của khu dân cư "
            + re.escape(f"{RTL_SETTLEMENT}? Phiếu có cảnh báo vẫn ở lại để xem kỹ.")
        )
    )
    expect(confirm.locator("#confirm-text bdi")).to_have_text(RTL_SETTLEMENT)
    expect(confirm.locator("#confirm-text b")).to_have_count(0)
    confirm.locator("#confirm-yes").click()
    toast = page.locator("#toast-text")
    expect(toast).to_contain_text(
        re.compile(r"Đã duyệt \d phiếu của khu dân cư " + re.escape(f"{RTL_SETTLEMENT}."))
    )
    expect(toast.locator("bdi")).to_have_text(RTL_SETTLEMENT)
    expect(toast.locator("b")).to_have_count(0)
    expect(card(page, first)).to_have_count(0)

    # A decision's toast names the survey in a <bdi> too.
    card(page, last).locator("button.decide.approve").click()
    expect(toast).to_have_text("Đã duyệt: Hộ số 30")
    expect(toast.locator("bdi")).to_have_text("Hộ số 30")
