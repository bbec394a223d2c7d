"""Answers that mean "not now" (a proxy's 429 or 408, its own 413, a 5xx) are tried again with
the backoff, never taken as a refusal: surveys and corrections stay waiting (locked, nothing
for the volunteer to redo) and go by themselves; a photo stays on the phone until the server
has it. Only our server's refusal (its JSON error with a code) fails a survey or a file, and
a file it refused stays on the phone, shown on the survey's card, never cleaned up, until
the volunteer sends it again or removes it."""

from __future__ import annotations

import shutil
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect
from sqlalchemy import Engine, text

from app.settings import Settings
from tests.browser.test_collect import fill_household, fill_household_with_photo, jpeg, open_app
from tests.browser.test_collect import stored as stored_households
from tests.browser.test_corrections import correct, sent_back
from tests.browser.test_outbox import AGE_SENT, BATCH, PHOTO_KEYS, surveys_on, uncaught, wait_for
from tests.browser.test_signin import signed_in, stored

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_surveys")]
ATTACHMENTS = "**/attachments/**"
SUBMISSION = "**/api/v1/submissions/*"


def busy_for(times: int, status: int, seen: list[int]) -> Any:
    """A proxy that turns the first `times` requests away with `status` (an HTML page, no
    JSON), then lets them through."""

    def handle(route: Route) -> None:
        seen.append(status)
        if len(seen) <= times:
            route.fulfill(
                status=status,
                headers={"retry-after": "2"},
                content_type="text/html",
                body="<html><body>Too busy</body></html>",
            )
        else:
            route.continue_()

    return handle


def attachments_of(engine: Engine, survey_id: str) -> int:
    with engine.connect() as connection:
        query = text("SELECT count(*) FROM attachments WHERE submission_id = :id")
        return int(connection.execute(query, {"id": survey_id}).scalar_one())


@pytest.mark.parametrize("status", [429, 408])
def test_a_batch_a_busy_proxy_turns_away_waits_and_goes_by_itself(
    phone_context: BrowserContext, phone: Page, sync_engine: Engine, status: int
) -> None:
    """Every survey of the batch was failed as editable with "Máy chủ từ chối: 429" and never
    sent again; now they wait, locked, and the backoff's retry (2 s) sends them."""
    open_app(phone)
    phone_context.set_offline(True)
    fill_household(phone)
    fill_household(phone)
    seen: list[int] = []
    phone.route(BATCH, busy_for(1, status, seen))
    phone.click("#outbox-button")
    phone_context.set_offline(False)  # the `online` event syncs
    wait_for(phone, lambda: len(seen) >= 1)
    expect(phone.locator("#sync-status")).to_contain_text(f"Máy chủ đang bận ({status})")
    assert {(s["status"], s.get("locked")) for s in surveys_on(phone)} == {("pending", True)}
    assert phone.locator(".outbox-item[data-status='failed']").count() == 0
    wait_for(phone, lambda: len(stored_households(sync_engine)) == 2, timeout_ms=15_000)
    expect(phone.locator(".outbox-item[data-status='sent']")).to_have_count(2)
    assert uncaught(phone) == []


def test_a_correction_a_busy_proxy_turns_away_waits_and_goes_by_itself(
    phone_context: BrowserContext,
    phone: Page,
    sync_engine: Engine,
    live_server: str,
    admin_token: str,
) -> None:
    """A correction's PUT answered 429 was failed as refused; now it waits and is resent."""
    signed_in(phone_context, sync_engine, "tnv-busy-put")
    open_app(phone)
    row = sent_back(phone, sync_engine, live_server, admin_token, "Hộ có 5 người.")
    seen: list[int] = []
    handle = busy_for(1, 429, seen)
    phone.route(
        SUBMISSION,
        lambda route: handle(route) if route.request.method == "PUT" else route.continue_(),
    )
    correct(phone, row["id"], "5")  # finishing it syncs at once
    wait_for(phone, lambda: len(seen) >= 1)
    phone.click("#outbox-button")
    item = phone.locator(f'.outbox-item[data-id="{row["id"]}"]')
    expect(item).to_have_attribute("data-status", "pending")
    expect(item).to_have_attribute("data-status", "sent", timeout=15_000)  # the retry
    (kept,) = stored(sync_engine)
    assert (kept["version"], kept["answers"]["household_size"]) == (2, 5)
    assert uncaught(phone) == []


@pytest.mark.parametrize("status", [429, 408, 413, 502])
def test_a_photo_a_busy_proxy_turns_away_is_sent_again(
    phone_context: BrowserContext, phone: Page, sync_engine: Engine, status: int
) -> None:
    """The photo was noted as uploaded, never sent again, and deleted after 7 days: lost."""
    open_app(phone)
    seen: list[int] = []
    phone.route(ATTACHMENTS, busy_for(1, status, seen))
    fill_household_with_photo(phone, jpeg((640, 480), (180, 120, 60)))
    phone.click("#finish")
    wait_for(phone, lambda: len(seen) >= 1)
    (row,) = stored_households(sync_engine)
    try:
        wait_for(phone, lambda: attachments_of(sync_engine, row["id"]) == 1, timeout_ms=15_000)
        wait_for(phone, lambda: phone.evaluate(PHOTO_KEYS) == [])  # accepted: it leaves the phone
        (survey,) = surveys_on(phone)
        assert survey["uploaded"] == survey["photos"] and not survey.get("photo_refused")
    finally:
        shutil.rmtree(Settings().media_dir / row["id"], ignore_errors=True)
    assert uncaught(phone) == []


def test_a_photo_the_server_refuses_stays_on_the_phone_with_its_reason(
    phone_context: BrowserContext, phone: Page, sync_engine: Engine
) -> None:
    """A file our server refuses (its JSON error) is not counted as uploaded: it is shown on
    the survey's card with the server's reason, not sent again, and neither the clean-up after
    7 and 31 days nor "delete sent surveys" removes it or its survey."""
    open_app(phone)
    refused: list[int] = []

    def refuse(route: Route) -> None:
        refused.append(1)
        route.fulfill(
            status=415,
            content_type="application/json",
            json={
                "code": "unsupported_media_type",
                "detail": "Loại tệp không được nhận.",
                "errors": [],
            },
        )

    phone.route(ATTACHMENTS, refuse)
    fill_household_with_photo(phone, jpeg((640, 480), (180, 120, 60)))
    phone.click("#finish")
    wait_for(phone, lambda: len(refused) == 1)
    phone.click("#outbox-button")
    item = phone.locator(".outbox-item")
    expect(item).to_have_attribute("data-status", "sent")
    expect(item).to_have_attribute("data-photos", "refused")
    expect(item.locator(".photo-refused")).to_contain_text("Máy chủ không nhận tệp này")
    expect(item.locator(".photo-refused")).to_contain_text("Loại tệp không được nhận.")
    phone.click("#home-button")
    expect(phone.locator(".survey-card .photo-refused")).to_contain_text(
        "Loại tệp không được nhận."
    )
    (survey,) = surveys_on(phone)
    assert survey["uploaded"] == [] and list(survey["photo_refused"]) == survey["photos"]
    phone.click("#outbox-button")
    phone.click("#sync-now")
    expect(phone.locator("#sync-now")).to_be_enabled()
    assert len(refused) == 1  # the same bytes are not sent again
    phone.click("#home-button")  # a reload shows the screen it was on
    for days in (8, 31):
        phone.evaluate(AGE_SENT, days)
        phone.reload()
        expect(phone.locator("#app")).to_have_attribute("data-view", "home")
        phone.wait_for_timeout(500)
        (kept,) = surveys_on(phone)
        assert kept.get("answers") and not kept.get("purged_at")
        assert len(phone.evaluate(PHOTO_KEYS)) == 1
    phone.click("#outbox-button")
    expect(phone.locator("#clear-sent")).to_be_disabled()  # nothing it may delete
    assert uncaught(phone) == []


def refuse_files(phone: Page) -> list[int]:
    """Our server's refusal of every file (its JSON error); the refusals counted."""
    refused: list[int] = []

    def refuse(route: Route) -> None:
        refused.append(1)
        route.fulfill(
            status=413,
            content_type="application/json",
            json={"code": "file_too_large", "detail": "Tệp quá lớn.", "errors": []},
        )

    phone.route(ATTACHMENTS, refuse)
    return refused


def test_a_refused_file_is_sent_again_when_the_volunteer_asks(
    phone_context: BrowserContext, phone: Page, sync_engine: Engine
) -> None:
    """ "Gửi lại" on a refused file (the server's limit may have been raised since): the
    refusal is forgotten, the file goes with the next sending, and once the server has it
    the survey is sent in full (the clean-up may take it). Before, nothing could make the
    phone try again."""
    open_app(phone)
    refused = refuse_files(phone)
    fill_household_with_photo(phone, jpeg((640, 480), (60, 120, 180)))
    phone.click("#finish")
    wait_for(phone, lambda: len(refused) == 1)
    phone.click("#outbox-button")
    item = phone.locator(".outbox-item")
    expect(item).to_have_attribute("data-photos", "refused")
    phone.unroute(ATTACHMENTS)
    item.locator(".photo-refused .retry-file").click()
    expect(item).to_have_attribute("data-photos", "uploaded", timeout=15_000)
    (survey,) = surveys_on(phone)
    try:
        assert survey["uploaded"] == survey["photos"] and not survey["photo_refused"]
        assert attachments_of(sync_engine, survey["id"]) == 1
        assert phone.evaluate(PHOTO_KEYS) == []
        expect(phone.locator("#clear-sent")).to_be_enabled()
    finally:
        shutil.rmtree(Settings().media_dir / survey["id"], ignore_errors=True)
    assert uncaught(phone) == []


def test_a_refused_file_the_volunteer_removes_leaves_the_phone(
    phone_context: BrowserContext, phone: Page
) -> None:
    """ "Bỏ tệp này" (asked first, in Vietnamese): the file leaves the phone and the survey,
    sent, follows the clean-up of sent surveys (its answers gone after 7 days). Before, a
    refused file kept the survey, with the household's names and photos, on the phone for
    ever."""
    open_app(phone)
    refused = refuse_files(phone)
    fill_household_with_photo(phone, jpeg((640, 480), (90, 30, 150)))
    phone.click("#finish")
    wait_for(phone, lambda: len(refused) == 1)
    phone.click("#outbox-button")
    item = phone.locator(".outbox-item")
    expect(item).to_have_attribute("data-photos", "refused")
    asked: list[str] = []

    def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        if len(asked) == 1:
            dialog.dismiss()  # changed their mind: nothing happens
        else:
            dialog.accept()

    phone.on("dialog", answer)
    item.locator(".photo-refused .remove-file").click()
    expect(item).to_have_attribute("data-photos", "refused")
    assert len(phone.evaluate(PHOTO_KEYS)) == 1
    item.locator(".photo-refused .remove-file").click()
    expect(item).to_have_attribute("data-photos", "uploaded")
    assert "Máy chủ chưa có tệp này" in asked[0]
    (survey,) = surveys_on(phone)
    assert survey["photos"] == [] and survey["photos_removed"] and not survey["photo_refused"]
    assert phone.evaluate(PHOTO_KEYS) == []
    expect(phone.locator("#clear-sent")).to_be_enabled()
    phone.click("#home-button")  # a reload shows the screen it was on
    phone.evaluate(AGE_SENT, 8)
    phone.reload()
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    phone.wait_for_timeout(500)
    (kept,) = surveys_on(phone)
    assert not kept.get("answers") and kept.get("purged_at")
    assert len(refused) == 1
    assert uncaught(phone) == []
