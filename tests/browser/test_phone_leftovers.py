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
