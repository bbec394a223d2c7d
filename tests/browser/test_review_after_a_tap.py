"""The review page on a tablet after one tap on a card (real Chromium, live server): the focus
goes on to the card that takes its place (or to the queue when none is left), never to the
page's body; and a decision whose answer was lost, followed by another tap, is told as the
reviewer's own earlier decision, recorded, not as someone else's."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.browser.conftest import record_console_errors
from tests.browser.test_review_page import TABLET, card, password_hash, sign_in
from tests.browser.test_review_page_queue import NETWORK_ERROR, people
from tests.factories import household_answers, household_survey

pytestmark = pytest.mark.browser

__all__ = ["password_hash", "people"]  # the fixtures the tests below use

REVIEW = re.compile(r"/api/v1/submissions/[^/?]+/review")


@pytest.fixture
def tablet(browser: Browser, live_server: str) -> Iterator[Page]:
    """A 768 x 1024 touch tablet on the live server, recording console errors."""
    context = browser.new_context(viewport=TABLET, has_touch=True, base_url=live_server)
    page = context.new_page()
    record_console_errors(page)
    yield page
    context.close()


def send(live_server: str, volunteer: dict[str, str], minute: int) -> dict[str, Any]:
    """A household survey "Hộ số <minute>" collected `minute` minutes after 08:00; its body."""
    body = household_survey(
        collector="tnv-an-xuan",
        collected_at=f"2026-11-26T08:{minute:02d}:00+07:00",
        answers=household_answers(head_name=f"Hộ số {minute}"),
    )
    response = httpx.post(f"{live_server}/api/v1/submissions", json=body, headers=volunteer)
    assert response.status_code == 201, response.text
    return body


def status_of(live_server: str, who: dict[str, str], survey_id: str) -> tuple[str, Any]:
    response = httpx.get(f"{live_server}/api/v1/me/surveys", headers=who)
    assert response.status_code == 200, response.text
    found = {s["id"]: (s["status"], s["review_comment"]) for s in response.json()["items"]}
    return found[survey_id]


def unexpected_errors(page: Page) -> list[str]:
    """Console errors but the browser's own lines for refusals and dropped requests."""
    return [
        e
        for e in page.console_errors  # type: ignore[attr-defined]
        if not e.startswith("Failed to load resource")
    ]


def test_the_focus_goes_on_to_the_next_card_after_a_tap_and_to_the_queue_at_its_end(
    tablet: Page, live_server: str, people: dict[str, Any]
) -> None:
    page = tablet
    bodies = {minute: send(live_server, people["volunteer"], minute) for minute in (10, 20, 30, 40)}
    ids = {minute: str(body["id"]) for minute, body in bodies.items()}
    sign_in(page, "lead-an-xuan", "/review?lang=vi")
    expect(page.locator("li.survey")).to_have_count(4)  # newest first: 40, 30, 20, 10

    # A tap approves the first card: the focus is on the next card's heading, not the body.
    card(page, ids[40]).locator("button.decide.approve").tap()
    expect(card(page, ids[40])).to_have_count(0)
    expect(card(page, ids[30]).locator(".survey-summary")).to_be_focused()

    # From there, by keyboard: the comment, the approve button, Enter; on to the next card.
    page.keyboard.press("Tab")
    expect(card(page, ids[30]).locator("textarea.comment")).to_be_focused()
    page.keyboard.press("Tab")
    expect(card(page, ids[30]).locator("button.decide.approve")).to_be_focused()
    page.keyboard.press("Enter")
    expect(card(page, ids[30])).to_have_count(0)
    expect(card(page, ids[20]).locator(".survey-summary")).to_be_focused()

    # The volunteer corrects the next one meanwhile: the tap is refused and the card shows
    # the new version in place; the focus is on its heading, to read it again.
    corrected = {
        **bodies[20],
        "answers": {**bodies[20]["answers"], "household_size": 9},
        "base_version": 1,
    }
    answer = httpx.put(
        f"{live_server}/api/v1/submissions/{ids[20]}", json=corrected, headers=people["volunteer"]
    )
    assert answer.status_code == 200 and answer.headers["x-outcome"] == "corrected", answer.text
    card(page, ids[20]).locator("button.decide.approve").tap()
    expect(card(page, ids[20]).locator(".error")).to_contain_text("phiên bản 2")
    expect(card(page, ids[20]).locator(".survey-summary")).to_be_focused()
    card(page, ids[20]).locator("button.decide.approve").tap()
    expect(card(page, ids[20])).to_have_count(0)
    expect(card(page, ids[10]).locator(".survey-summary")).to_be_focused()

    # The last card sent back: the queue is empty, the focus is on its heading.
    last = card(page, ids[10])
    last.locator("textarea.comment").fill("Thiếu số điện thoại")
    last.locator("button.decide.secondary").tap()
    expect(last).to_have_count(0)
    expect(page.locator("#queue-status")).to_have_text(
        "Không còn phiếu nào chờ duyệt ở phường này."
    )
    expect(page.locator("#queue-title")).to_be_focused()
    assert page.evaluate("document.activeElement !== document.body")
    assert status_of(live_server, people["volunteer"], ids[10]) == (
        "needs_correction",
        "Thiếu số điện thoại",
    )
    assert unexpected_errors(page) == []


def test_another_tap_after_a_lost_answer_says_the_earlier_decision_was_recorded(
    tablet: Page, live_server: str, people: dict[str, Any]
) -> None:
    """The approval reaches the server, the network drops before its answer: the card is
    usable again and the leader sends the survey back. The server refuses (the survey is
    approved already); the page said someone else had decided. It was the leader."""
    page = tablet
    survey_id = str(send(live_server, people["volunteer"], 30)["id"])
    next_id = str(send(live_server, people["volunteer"], 20)["id"])
    sign_in(page, "lead-an-xuan", "/review?lang=vi")
    item = card(page, survey_id)
    expect(item).to_have_count(1)

    lost: list[int] = []

    def lose_the_answer(route: Route) -> None:
        # The first decision reaches the server, then the network drops.
        if not lost:
            lost.append(route.fetch().status)
            route.abort()
            return
        route.continue_()

    page.route(REVIEW, lose_the_answer)
    item.locator("button.decide.approve").tap()
    expect(item.locator(".error")).to_have_text(NETWORK_ERROR)
    assert lost == [200]
    assert status_of(live_server, people["volunteer"], survey_id) == ("approved", None)
    expect(item.locator("button.decide.secondary")).to_be_enabled()

    item.locator("textarea.comment").fill("Thiếu số nhà")
    item.locator("button.decide.secondary").tap()
    expect(item).to_have_count(0)
    toast = page.locator("#toast-text")
    expect(toast).to_have_text(
        "Quyết định trước đó của bạn cho phiếu Hộ số 30 đã được ghi (Đã duyệt); quyết định "
        "sau chưa được ghi. Bấm “Đổi quyết định” nếu muốn đổi."
    )
    expect(toast.locator("bdi")).to_have_text("Hộ số 30")
    expect(page.locator("#toast")).not_to_contain_text("người khác")
    expect(card(page, next_id).locator(".survey-summary")).to_be_focused()
    assert status_of(live_server, people["volunteer"], survey_id) == ("approved", None)

    # The leader still means to send it back: the toast puts the card back as it is now.
    page.locator("#toast-change").tap()
    restored = card(page, survey_id)
    expect(restored.locator(".current-decision")).to_have_text(
        "Quyết định hiện tại: Đã duyệt. Chọn quyết định khác, hoặc giữ nguyên."
    )
    expect(restored.locator("textarea.comment")).to_have_value("Thiếu số nhà")
    expect(restored.locator("button.decide.approve")).to_be_disabled()
    restored.locator("button.decide.secondary").tap()
    expect(restored).to_have_count(0)
    expect(toast).to_have_text("Đã trả lại để sửa: Hộ số 30")
    assert status_of(live_server, people["volunteer"], survey_id) == (
        "needs_correction",
        "Thiếu số nhà",
    )
    expect(page.locator("#queue-count")).to_have_text("(1 phiếu)")
    assert unexpected_errors(page) == []


def test_after_a_timeout_the_page_tells_the_leaders_own_decision_from_anothers(
    tablet: Page, live_server: str, people: dict[str, Any]
) -> None:
    """In English: the answer to the leader's approval never comes (given up after 25 s);
    for one survey the approval stands, the leader's own; the other's another leader
    rejected since, and that is said as someone else's decision."""
    page = tablet
    mine = str(send(live_server, people["volunteer"], 30)["id"])
    theirs = str(send(live_server, people["volunteer"], 20)["id"])
    sign_in(page, "lead-an-xuan", "/review?lang=en")
    expect(page.locator("li.survey")).to_have_count(2)
    page.clock.install()
    page.reload()
    expect(page.locator("li.survey")).to_have_count(2)

    held: list[Any] = []

    def never_answer(route: Route) -> None:
        # Each first decision on a survey reaches the server; its answer never comes back.
        survey_id = route.request.url.split("/submissions/")[1].split("/")[0]
        if survey_id not in {h[0] for h in held}:
            held.append((survey_id, route.fetch()))
            return
        route.continue_()

    page.route(REVIEW, never_answer)
    network_error = "Could not reach the server. Check the connection and try again."
    for survey_id in (mine, theirs):
        item = card(page, survey_id)
        item.locator("button.decide.approve").tap()
        expect(item).to_have_class(re.compile(r"\bbusy\b"))
        page.wait_for_timeout(200)
        page.clock.fast_forward("00:30")
        expect(item.locator(".error")).to_have_text(network_error)
        expect(item.locator("button.decide.danger")).to_be_enabled()
    assert [survey_id for survey_id, _ in held] == [mine, theirs]
    response = httpx.post(
        f"{live_server}/api/v1/submissions/{theirs}/review",
        json={"decision": "rejected", "comment": "Not a real household"},
        headers=people["leader"],
    )
    assert response.status_code == 200, response.text

    toast = page.locator("#toast-text")
    item = card(page, mine)
    item.locator("textarea.comment").fill("Wrong household")
    item.locator("button.decide.danger").tap()
    expect(item).to_have_count(0)
    expect(toast).to_have_text(
        "Your earlier decision on survey Hộ số 30 was recorded (Approved); your later one was "
        "not. Use “Change decision” to change it."
    )
    expect(card(page, theirs).locator(".survey-summary")).to_be_focused()

    item = card(page, theirs)
    item.locator("textarea.comment").fill("Wrong household")
    item.locator("button.decide.danger").tap()
    expect(item).to_have_count(0)
    expect(toast).to_have_text(
        "Survey Hộ số 20 was decided by someone else while you were looking (Rejected); your "
        "decision was not recorded."
    )
    expect(page.locator("#toast-change")).to_be_hidden()
    expect(page.locator("#queue-title")).to_be_focused()
    assert status_of(live_server, people["volunteer"], mine) == ("approved", None)
    assert status_of(live_server, people["volunteer"], theirs) == (
        "rejected",
        "Not a real household",
    )
    assert unexpected_errors(page) == []
