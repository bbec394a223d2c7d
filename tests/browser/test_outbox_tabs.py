"""A survey open in the editor of one tab, and the app started in another (real Chromium,
real server)."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, expect
from sqlalchemy import Engine

from tests.browser.conftest import record_console_errors
from tests.browser.test_collect import fill_household, open_app, stored
from tests.browser.test_outbox import surveys_on, uncaught

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_surveys")]


def test_a_survey_open_in_another_tab_is_left_alone_by_the_start_of_a_new_one(
    phone_context: BrowserContext, sync_engine: Engine
) -> None:
    """The start of a tab waits again every survey reopened from the outbox and left (the
    app was closed in the editor): it took one open in another tab's editor too, sent it
    unchanged, and the first tab was sent home with "changed in another tab"."""
    first = phone_context.new_page()
    record_console_errors(first)
    open_app(first)
    phone_context.set_offline(True)
    fill_household(first)
    first.locator(".survey-card button.edit").click()  # reopened: a draft while it is open
    expect(first.locator("#app")).to_have_attribute("data-view", "survey")
    phone_context.set_offline(False)

    second = phone_context.new_page()
    record_console_errors(second)
    open_app(second)
    card = second.locator(".survey-card")
    expect(card).to_have_attribute("data-status", "draft")
    second.wait_for_timeout(2000)  # a sync of the survey, had it waited again, is done by now
    expect(card).to_have_attribute("data-status", "draft")
    expect(first.locator("#app")).to_have_attribute("data-view", "survey")
    (survey,) = surveys_on(first)
    assert survey["status"] == "draft" and survey["reopened"] and not survey.get("locked")
    assert stored(sync_engine) == []

    # The tab closed with the survey open: no tab holds it, the next start lets it wait again.
    first.close()
    third = phone_context.new_page()
    record_console_errors(third)
    open_app(third)
    expect(third.locator(".survey-card")).to_have_attribute("data-status", "sent")
    (row,) = stored(sync_engine)
    assert row["id"] == survey["id"]
    assert uncaught(second) == [] and uncaught(third) == []
