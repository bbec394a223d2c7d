"""What must leave the phone does (real Chromium, real server): a correction the server settled
before it arrived (the reviewer decided meanwhile) follows the clean-up of sent surveys and
may be removed by hand; a survey reopened from the outbox keeps no copy of its old answers
past the clean-up; a draft deleted takes its photo along, and photos no survey owns go."""

from __future__ import annotations

import datetime
import json

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import Engine

from tests.browser.test_collect import (
    fill_household,
    fill_household_with_photo,
    fill_screen,
    jpeg,
    next_screen,
    open_app,
)
from tests.browser.test_outbox import (
    PHOTO_KEYS,
    surveys_on,
    to_last_screen,
    uncaught,
    wait_for,
)
from tests.browser.test_signin import review, signed_in, stored, sync

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_surveys")]

DAY = datetime.timedelta(days=1)
# A photo some older app version left behind: its survey is no longer on the phone.
ORPHAN = "00000000-0000-4000-8000-000000000000/house.jpg"
PUT_ORPHAN = """(key) => new Promise((resolve, reject) => {
  const open = indexedDB.open("cdfmap-collect");
  open.onsuccess = () => {
    const tx = open.result.transaction("photos", "readwrite");
    tx.objectStore("photos").put(new Blob(["old"], { type: "image/jpeg" }), key);
    tx.oncomplete = () => { open.result.close(); resolve(null); };
    tx.onerror = () => reject(tx.error);
  };
})"""

# What signing out warns about (account.js, the module the page runs).
UNSENT = "async () => (await import('/static/collect/account.js')).unsentCounts()"


@pytest.fixture
def phone_account() -> None:
    """These phones are signed in by each test (signed_in)."""
    return None


def reload_home(page: Page) -> None:
    page.reload()
    expect(page.locator("#app")).to_have_attribute("data-view", "home")


def sent_back(page: Page, engine: Engine, live_server: str, admin_token: str) -> str:
    """From the home screen: a survey filled, sent and sent back by the reviewer; its id."""
    fill_household(page)
    page.click("#outbox-button")
    wait_for(page, lambda: len(stored(engine)) == 1)
    (row,) = stored(engine)
    review(live_server, admin_token, row["id"], "needs_correction", "Hộ có 5 người.")
    sync(page)
    item = page.locator(f'.outbox-item[data-id="{row["id"]}"]')
    expect(item).to_have_attribute("data-review", "needs_correction")
    page.click("#home-button")
    return str(row["id"])


def test_a_correction_refused_because_the_reviewer_decided_meanwhile_leaves_the_phone(
    phone_context: BrowserContext,
    phone: Page,
    sync_engine: Engine,
    live_server: str,
    admin_token: str,
) -> None:
    """Corrected offline, approved meanwhile: PUT 409 not_correctable. The server's copy is
    the one kept, so the phone's (with the household's personal answers) follows the clean-up
    of sent surveys, and "Clear sent" takes it. It was failed and locked for ever: its answers
    stayed on the phone, "Clear sent" disabled, the only button "Xem"."""
    now = datetime.datetime.now(datetime.UTC)
    phone.clock.install(time=now)
    signed_in(phone_context, sync_engine, "tnv-late-fix")
    open_app(phone)
    survey_id = sent_back(phone, sync_engine, live_server, admin_token)
    phone_context.set_offline(True)
    phone.locator(f'.survey-card[data-id="{survey_id}"] button.correct').click()
    next_screen(phone)
    fill_screen(phone, {"household_size": "5"})
    to_last_screen(phone)
    phone.click("#finish")
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    review(live_server, admin_token, survey_id, "approved")
    phone_context.set_offline(False)
    phone.click("#outbox-button")
    item = phone.locator(f'.outbox-item[data-id="{survey_id}"]')
    expect(item).to_have_attribute("data-status", "failed")
    # The volunteer is told why, and that it leaves the phone.
    expect(item.locator(".settled")).to_contain_text("Máy chủ giữ bản của nó")
    expect(item.locator(".settled")).to_contain_text("7 ngày")
    expect(phone.locator("#clear-sent")).to_be_enabled()
    # Nothing to send or fix: signing out does not warn about it.
    assert phone.evaluate(UNSENT) == {"waiting": 0, "toFix": 0}
    phone.click("#lang-toggle")
    expect(item.locator(".settled")).to_contain_text("The server keeps its copy")
    phone.click("#lang-toggle")
    phone.click("#home-button")  # a reload shows the screen it was on
    # Six days on it is all there; eight days on its answers are gone, the record kept.
    phone.clock.set_system_time(now + 6 * DAY)
    reload_home(phone)
    phone.wait_for_timeout(500)
    assert surveys_on(phone)[0]["answers"]["head_name"] == "Nguyễn Thị Hoa"
    phone.clock.set_system_time(now + 8 * DAY)
    reload_home(phone)
    wait_for(phone, lambda: bool(surveys_on(phone)[0].get("purged_at")))
    (local,) = surveys_on(phone)
    assert local["status"] == "failed"
    text = json.dumps(local, ensure_ascii=False)
    assert "Nguyễn Thị Hoa" not in text and "0905123456" not in text and "108.47" not in text
    card = phone.locator(f'.survey-card[data-id="{survey_id}"]')
    expect(card).to_contain_text("đã được xóa")
    # Thirty-one days on, the record too.
    phone.clock.set_system_time(now + 31 * DAY)
    reload_home(phone)
    wait_for(phone, lambda: surveys_on(phone) == [])
    (kept,) = stored(sync_engine)
    assert (kept["status"], kept["answers"]["household_size"]) == ("approved", 4)
    assert [e for e in uncaught(phone) if "409" not in e] == []


def test_a_correction_left_unfinished_when_the_reviewer_decided_may_be_removed(
    phone_context: BrowserContext,
    phone: Page,
    sync_engine: Engine,
    live_server: str,
    admin_token: str,
) -> None:
    """A correction begun and left as a draft, then the reviewer approves the survey as it
    was: no finish can send it any more. The volunteer sees why and may remove it (with its
    photo); left alone, it follows the clean-up. It stayed a draft no one could delete."""
    now = datetime.datetime.now(datetime.UTC)
    phone.clock.install(time=now)
    signed_in(phone_context, sync_engine, "tnv-late-draft")
    open_app(phone)
    survey_id = sent_back(phone, sync_engine, live_server, admin_token)
    card = phone.locator(f'.survey-card[data-id="{survey_id}"]')
    card.locator("button.correct").click()
    next_screen(phone)
    fill_screen(phone, {"household_size": "5"})
    phone.click("#exit-survey")
    expect(card).to_have_attribute("data-status", "draft")
    review(live_server, admin_token, survey_id, "approved")
    sync(phone)
    phone.click("#home-button")
    expect(card).to_have_attribute("data-review", "approved")
    expect(card.locator(".settled")).to_contain_text("Người kiểm duyệt đã quyết định")
    expect(card.locator("button.edit")).to_have_count(0)  # no finish can send it
    assert phone.evaluate(UNSENT) == {"waiting": 0, "toFix": 0}
    card.locator("button.view").click()
    expect(phone.locator("#readonly-reason")).to_contain_text("Người kiểm duyệt đã quyết định")
    phone.click("#view-back")
    # Eight days on, its answers are gone.
    phone.clock.set_system_time(now + 8 * DAY)
    reload_home(phone)
    wait_for(phone, lambda: bool(surveys_on(phone)[0].get("purged_at")))
    assert "Nguyễn Thị Hoa" not in json.dumps(surveys_on(phone), ensure_ascii=False)
    # Removed by hand at once.
    phone.once("dialog", lambda dialog: dialog.accept())
    card.locator("button.danger").click()
    expect(card).to_have_count(0)
    assert surveys_on(phone) == []
    assert uncaught(phone) == []


def test_a_reopened_survey_keeps_no_copy_of_its_old_answers_past_the_clean_up(
    phone_context: BrowserContext, phone: Page, sync_engine: Engine
) -> None:
    """Reopened from the outbox, changed, left, then finished: the copy of what it said when
    it was reopened (name, phone, point) stayed until the 30-day removal."""
    now = datetime.datetime.now(datetime.UTC)
    phone.clock.install(time=now)
    signed_in(phone_context, sync_engine, "tnv-reopen")
    open_app(phone)
    phone_context.set_offline(True)
    fill_household(phone)
    card = phone.locator(".survey-card")
    card.locator("button.edit").click()  # on the screen it was finished on
    head_name = phone.locator('section.question[data-name="head_name"]')
    while not head_name.count():
        phone.click("#back")
        phone.wait_for_timeout(200)
    fill_screen(phone, {"head_name": "Nguyễn Thị Hoà"})
    phone.click("#exit-survey")
    expect(card).to_have_attribute("data-status", "draft")
    assert surveys_on(phone)[0]["reopened"]
    card.locator("button.edit").click()
    to_last_screen(phone)
    phone.click("#finish")
    expect(card).to_have_attribute("data-status", "pending")
    assert "reopened" not in surveys_on(phone)[0]  # no longer needed once finished
    phone_context.set_offline(False)
    phone.click("#outbox-button")
    expect(phone.locator('.outbox-item[data-status="sent"]')).to_have_count(1)
    phone.click("#home-button")  # a reload shows the screen it was on
    phone.clock.set_system_time(now + 8 * DAY)
    reload_home(phone)
    wait_for(phone, lambda: bool(surveys_on(phone)[0].get("purged_at")))
    text = json.dumps(surveys_on(phone), ensure_ascii=False)
    for personal in ("Nguyễn Thị Ho", "0905123456", "108.47"):
        assert personal not in text
    assert uncaught(phone) == []


def test_a_deleted_draft_takes_its_photo_and_photos_of_no_survey_leave(
    phone_context: BrowserContext, phone: Page, sync_engine: Engine
) -> None:
    """The house photo of a draft is kept before the survey lists it (at Finish): deleting the
    draft left it on the phone for good."""
    signed_in(phone_context, sync_engine, "tnv-photo")
    open_app(phone)
    phone_context.set_offline(True)
    fill_household_with_photo(phone, jpeg((320, 240), (90, 140, 60)))
    expect(phone.locator(".photo-preview")).to_be_visible()
    phone.click("#exit-survey")
    (draft,) = surveys_on(phone)
    wait_for(phone, lambda: len(phone.evaluate(PHOTO_KEYS)) == 1)
    assert phone.evaluate(PHOTO_KEYS)[0].startswith(f"{draft['id']}/")
    phone.once("dialog", lambda dialog: dialog.accept())
    phone.locator(".survey-card button.danger").click()
    expect(phone.locator(".survey-card")).to_have_count(0)
    assert phone.evaluate(PHOTO_KEYS) == []
    # A photo left by an older version (its survey deleted) goes; a draft's photo stays.
    fill_household_with_photo(phone, jpeg((320, 240), (20, 40, 160)))
    expect(phone.locator(".photo-preview")).to_be_visible()
    phone.click("#exit-survey")
    (kept,) = phone.evaluate(PHOTO_KEYS)
    phone.evaluate(PUT_ORPHAN, ORPHAN)
    phone_context.set_offline(False)  # a draft is never sent
    reload_home(phone)
    wait_for(phone, lambda: phone.evaluate(PHOTO_KEYS) == [kept])
    assert uncaught(phone) == []
