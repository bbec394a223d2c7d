"""Android's Back in the phone app (real Chromium): every screen is a history entry, so Back
goes to the previous screen and, from the home screen, leaves the app as any first page does.
It left the app from the outbox, the settings and a survey shown read-only (only the editor's
screens had entries)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_collect import fill_household, open_app

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_surveys")]


def view_is(page: Page, view: str) -> None:
    expect(page.locator("#app")).to_have_attribute("data-view", view)
    assert "/collect" in page.url


def test_back_walks_the_screens_back_to_home_then_leaves_the_app(phone: Page) -> None:
    open_app(phone)  # after about:blank, as a phone opens it
    for button, view in (("#outbox-button", "outbox"), ("#settings-button", "settings")):
        phone.click(button)
        view_is(phone, view)
        phone.go_back()
        view_is(phone, "home")
    fill_household(phone)  # sent: shown read-only from its card
    phone.locator(".survey-card button.view").click()
    view_is(phone, "view")
    phone.go_back()
    view_is(phone, "home")
    # Outbox, then a survey read-only from there: Back goes to the outbox, then home.
    phone.click("#outbox-button")
    phone.locator('.outbox-item[data-status="sent"] button.view').click()
    view_is(phone, "view")
    phone.go_back()
    view_is(phone, "outbox")
    expect(phone.locator('.outbox-item[data-status="sent"]')).to_have_count(1)
    phone.go_back()
    view_is(phone, "home")
    # The app's own buttons agree with the history: Back after them never shows a screen
    # left, and from home it leaves the app.
    phone.click("#outbox-button")
    phone.locator('.outbox-item[data-status="sent"] button.view').click()
    phone.click("#view-back")
    view_is(phone, "outbox")
    phone.click("#home-button")
    view_is(phone, "home")
    # A survey left with Exit keeps its screens' entries (a reload may follow): Back from a
    # screen opened after it passes them, to home.
    phone.click("#new-household")
    view_is(phone, "survey")
    phone.click("#next")
    expect(phone.locator("#step")).to_have_text("Phần 2/6")
    phone.click("#exit-survey")
    view_is(phone, "home")
    phone.click("#outbox-button")
    view_is(phone, "outbox")
    phone.go_back()
    view_is(phone, "home")
    phone.click("#settings-button")
    phone.click("#save-settings")
    view_is(phone, "home")
    phone.wait_for_function("!history.state || !history.state.collect")
    phone.go_back()
    assert "/collect" not in phone.url
    assert phone.console_errors == []  # type: ignore[attr-defined]
