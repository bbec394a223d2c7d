"""Android's Back in the phone app (real Chromium): every screen is a history entry, so Back
goes to the previous screen and, from the home screen, leaves the app as any first page does.
It left the app from the outbox, the settings and a survey shown read-only (only the editor's
screens had entries). After a reload the app showed home above the entries of the screens it
was on: the first Back only reached home's entry and seemed to do nothing."""

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


def test_after_a_reload_back_still_walks_the_screens_back_to_home(phone: Page) -> None:
    """A reload on a screen (the phone reloads a tab it put away) started on home, the
    history still holding that screen's entry above home's: the first Back went from home
    to home (nothing seemed to happen), the second left the app. The screen shows again
    after the reload, and each Back goes one screen back."""
    open_app(phone)
    fill_household(phone)  # sent: shown read-only from the outbox
    phone.click("#outbox-button")
    phone.locator('.outbox-item[data-status="sent"] button.view').click()
    view_is(phone, "view")
    title = phone.locator("#app h1").inner_text()
    phone.reload()
    view_is(phone, "view")  # the same survey, read-only
    expect(phone.locator("#app h1")).to_have_text(title)
    expect(phone.locator("#answers")).to_contain_text("Nguyễn Thị Hoa")
    phone.go_back()
    view_is(phone, "outbox")
    phone.reload()
    view_is(phone, "outbox")
    phone.go_back()
    view_is(phone, "home")
    phone.click("#settings-button")
    phone.reload()
    view_is(phone, "settings")
    phone.click("#lang-toggle")  # a screen restored works as before
    phone.go_back()
    view_is(phone, "home")
    expect(phone.locator("#outbox-button")).to_have_text("Outbox")
    phone.click("#lang-toggle")
    # A reload in the editor leaves the survey for home (its draft kept): its screens'
    # entries are passed, so Back on home leaves the app, as from any first page.
    phone.click("#outbox-button")
    phone.go_back()
    phone.click("#new-household")
    phone.click("#next")
    expect(phone.locator("#step")).to_have_text("Phần 2/6")
    phone.reload()
    view_is(phone, "home")
    expect(phone.locator('.survey-card[data-status="draft"]')).to_have_count(1)
    phone.wait_for_function("!history.state || !history.state.collect")
    phone.go_back()
    assert "/collect" not in phone.url
    assert phone.console_errors == []  # type: ignore[attr-defined]
