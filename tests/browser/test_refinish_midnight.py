"""A survey finished at 23:50, reopened and finished again at 00:10 (the phone's clock emulated)
with a visit dated the new day, against `. <= today()` (tests/forms/refinish_midnight.md): the
phone takes it, as today() is the new day at the last finish, and sends that finish as
`finished_at`; the server reads today() there too and stores it, `collected_at` staying the
first finish. It refused it, reading today() at `collected_at`."""

from __future__ import annotations

import datetime
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import Engine, text

from app.settings import REPO_ROOT
from app.vietnam import VIETNAM_TIME
from tests.browser.conftest import (
    PhoneAccount,
    server_with_forms,
    signed_in_phone,
)
from tests.browser.test_collect import open_app, wait_offline_ready
from tests.browser.test_outbox import surveys_on, uncaught

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_surveys")]
expect.set_options(timeout=10_000)

FORM_ID = "refinish_midnight"


@pytest.fixture(scope="module")
def midnight_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    forms_dir = tmp_path_factory.mktemp("midnight-forms") / "forms"
    forms_dir.mkdir()
    shutil.copy(REPO_ROOT / "tests" / "forms" / f"{FORM_ID}.md", forms_dir / f"{FORM_ID}.md")
    with server_with_forms(database_url, forms_dir) as base:
        yield base


@pytest.fixture
def midnight_phone(
    browser: Browser, midnight_server: str, volunteer: PhoneAccount
) -> Iterator[tuple[BrowserContext, Page]]:
    with signed_in_phone(
        browser, midnight_server, volunteer, timezone_id="Asia/Ho_Chi_Minh"
    ) as phone:
        yield phone


def answer(page: Page, key: str, value: str) -> None:
    page.locator(f'section.question[data-key="{key}"]').locator("input").fill(value)


def stored(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT answers FROM household_surveys WHERE form_id = :f"), {"f": FORM_ID}
        )
        return [row[0] for row in rows]


def test_a_survey_finished_again_after_midnight_is_taken_as_the_phone_took_it(
    midnight_phone: tuple[BrowserContext, Page], sync_engine: Engine
) -> None:
    context, page = midnight_phone
    evening = (datetime.datetime.now(VIETNAM_TIME) - datetime.timedelta(days=2)).replace(
        hour=23, minute=50, second=0, microsecond=0
    )
    page.clock.install(time=evening)
    bodies: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda request: bodies.append(request.post_data_json) if "batch" in request.url else None,
    )
    open_app(page)
    wait_offline_ready(page)
    context.set_offline(True)
    page.click("#new-survey")  # the only form
    expect(page.locator("#app")).to_have_attribute("data-view", "survey")
    answer(page, "place", "Nhà văn hoá tổ 3")
    answer(page, "visit", evening.date().isoformat())
    page.click("#finish")
    expect(page.locator("#app")).to_have_attribute("data-view", "home")
    (first,) = surveys_on(page)
    assert first["status"] == "pending"
    # Twenty minutes on, past midnight: reopened, the visit moved to the new day, finished.
    page.clock.set_system_time(evening + datetime.timedelta(minutes=20))
    next_day = (evening + datetime.timedelta(minutes=20)).date().isoformat()
    page.locator(".survey-card button.edit").click()
    expect(page.locator("#app")).to_have_attribute("data-view", "survey")
    answer(page, "visit", next_day)
    expect(page.locator(".error:not([hidden])")).to_have_count(0)  # the phone takes it
    page.click("#finish")
    expect(page.locator("#app")).to_have_attribute("data-view", "home")
    context.set_offline(False)
    page.click("#outbox-button")
    page.click("#sync-now")
    expect(page.locator('.outbox-item[data-status="sent"]')).to_have_count(1)
    assert stored(sync_engine) == [{"place": "Nhà văn hoá tổ 3", "visit": next_day}]
    (sent,) = bodies[-1]["submissions"]
    assert sent["collected_at"] == first["collected_at"]  # the first finish stays
    assert sent["finished_at"].startswith(f"{next_day}T00:10:")
    assert uncaught(page) == []


BODIES = """
async () => {
  const { submissionBody } = await import("/static/collect/sync.js");
  const survey = {
    id: "s", form_id: "f", form_version: "1", payload: {},
    collected_at: "2026-12-01T23:50:00+07:00",
  };
  return [
    submissionBody(survey),
    submissionBody({ ...survey, finished_at: survey.collected_at }),
    submissionBody({ ...survey, finished_at: "2026-12-02T00:10:00+07:00" }),
  ].map((body) => body.finished_at ?? null);
}
"""


def test_the_last_finish_is_sent_only_when_it_is_not_the_first(
    midnight_phone: tuple[BrowserContext, Page],
) -> None:
    """A survey finished once is sent as before (no `finished_at`, which a server older than
    it would refuse as an unknown field); one finished again carries its last finish."""
    _context, page = midnight_phone
    open_app(page)
    assert page.evaluate(BODIES) == [None, None, "2026-12-02T00:10:00+07:00"]
