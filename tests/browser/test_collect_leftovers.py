"""What the phone keeps, and what it must not (real Chromium, real server): a survey the server
answered with a conflict (another content under its id) follows the clean-up of sent surveys
and may be removed by hand (its personal answers stayed on the phone for ever); a draft
deleted in one tab is not brought back by another tab still editing it."""

from __future__ import annotations

import datetime
import json

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import Engine

from tests.auth import bearer
from tests.browser.conftest import PhoneAccount, record_console_errors
from tests.browser.test_collect import fill_household, fill_screen, next_screen, open_app, stored
from tests.browser.test_outbox import surveys_on, uncaught, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_surveys")]

DAY = datetime.timedelta(days=1)
# What signing out warns about (account.js, the module the page runs).
UNSENT = "async () => (await import('/static/collect/account.js')).unsentCounts()"


def reload_home(page: Page) -> None:
    page.reload()
    expect(page.locator("#app")).to_have_attribute("data-view", "home")


def conflicting(
    phone_context: BrowserContext, phone: Page, live_server: str, volunteer: PhoneAccount
) -> str:
    """From the home screen: a survey finished offline whose id reached the server first with
    another content (say, from an older app), then sent: the server's conflict. Its id."""
    phone_context.set_offline(True)
    fill_household(phone)
    (survey,) = surveys_on(phone)
    other = {**survey["body"], "answers": {**survey["body"]["answers"], "head_name": "Người khác"}}
    sent = httpx.post(
        f"{live_server}/api/v1/submissions", json=other, headers=bearer(volunteer.token)
    )
    assert sent.status_code == 201
    phone_context.set_offline(False)
    phone.click("#outbox-button")
    item = phone.locator(f'.outbox-item[data-id="{survey["id"]}"]')
    expect(item).to_have_attribute("data-status", "failed")
    expect(item).to_contain_text("Máy chủ đã có một bản khác")
    return str(survey["id"])


def test_a_survey_refused_for_a_conflict_leaves_the_phone_as_sent_surveys_do(
    phone_context: BrowserContext,
    phone: Page,
    sync_engine: Engine,
    live_server: str,
    volunteer: PhoneAccount,
) -> None:
    now = datetime.datetime.now(datetime.UTC)
    phone.clock.install(time=now)
    open_app(phone)
    survey_id = conflicting(phone_context, phone, live_server, volunteer)
    item = phone.locator(f'.outbox-item[data-id="{survey_id}"]')
    # The volunteer is told that it leaves, and when; there is nothing to send or fix.
    expect(item.locator(".settled")).to_contain_text("Máy chủ giữ bản của nó")
    expect(item.locator(".settled")).to_contain_text("7 ngày")
    expect(phone.locator("#clear-sent")).to_be_enabled()
    assert phone.evaluate(UNSENT) == {"waiting": 0, "toFix": 0}
    phone.click("#home-button")
    # Six days on it is all there; eight days on its personal answers are gone.
    phone.clock.set_system_time(now + 6 * DAY)
    reload_home(phone)
    phone.wait_for_timeout(500)
    assert surveys_on(phone)[0]["answers"]["head_name"] == "Nguyễn Thị Hoa"
    phone.clock.set_system_time(now + 8 * DAY)
    reload_home(phone)
    wait_for(phone, lambda: bool(surveys_on(phone)[0].get("purged_at")))
    (local,) = surveys_on(phone)
    assert (local["id"], local["status"]) == (survey_id, "failed")
    text = json.dumps(local, ensure_ascii=False)
    for personal in ("Nguyễn Thị Hoa", "0905123456", "108.47"):
        assert personal not in text
    expect(phone.locator(f'.survey-card[data-id="{survey_id}"]')).to_contain_text("đã được xóa")
    # Forty days on, the record too; the server's copy stays.
    phone.clock.set_system_time(now + 40 * DAY)
    reload_home(phone)
    wait_for(phone, lambda: surveys_on(phone) == [])
    (kept,) = stored(sync_engine)
    assert kept["answers"]["head_name"] == "Người khác"
    assert uncaught(phone) == []


def test_a_survey_refused_for_a_conflict_may_be_removed_by_hand(
    phone_context: BrowserContext, phone: Page, live_server: str, volunteer: PhoneAccount
) -> None:
    open_app(phone)
    survey_id = conflicting(phone_context, phone, live_server, volunteer)
    expect(phone.locator("#clear-sent")).to_be_enabled()
    phone.once("dialog", lambda dialog: dialog.accept())
    phone.click("#clear-sent")
    expect(phone.locator(f'.outbox-item[data-id="{survey_id}"]')).to_have_count(0)
    assert surveys_on(phone) == []
    assert uncaught(phone) == []


def test_a_draft_deleted_in_another_tab_is_not_brought_back_by_the_tab_editing_it(
    phone_context: BrowserContext,
) -> None:
    editing = phone_context.new_page()
    record_console_errors(editing)
    open_app(editing)
    editing.click("#new-household")
    expect(editing.locator(".gps")).to_have_attribute("data-state", "fix")
    next_screen(editing)
    fill_screen(editing, {"head_name": "Phạm Văn Một"})
    wait_for(editing, lambda: surveys_on(editing)[0]["answers"].get("head_name") == "Phạm Văn Một")
    other = phone_context.new_page()
    record_console_errors(other)
    open_app(other)
    other.once("dialog", lambda dialog: dialog.accept())
    other.locator('.survey-card[data-status="draft"] button.danger').click()
    expect(other.locator(".survey-card")).to_have_count(0)
    # The editing tab's next change is not written: the survey stays deleted, and it says so.
    editing.bring_to_front()
    fill_screen(editing, {"household_size": "5"})
    expect(editing.locator("#app")).to_have_attribute("data-view", "home")
    expect(editing.locator("#notice")).to_contain_text("đã bị xóa ở một thẻ khác")
    expect(editing.locator(".survey-card")).to_have_count(0)
    editing.wait_for_timeout(500)  # a late write would have landed by now
    assert surveys_on(editing) == []
    editing.click("#lang-toggle")
    expect(editing.locator("#notice")).to_contain_text("deleted in another tab")
    assert uncaught(editing) == [] and uncaught(other) == []
