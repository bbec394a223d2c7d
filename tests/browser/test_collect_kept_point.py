"""A household's GPS point, once recorded, stays where it was recorded (real Chromium, real
server): a survey reopened from the outbox, or a correction the reviewer asked for, opened
where the volunteer is now, far from the house, keeps its point unless the volunteer asks
for a new one. Before, any fix as accurate moved it to where the volunteer stood, and a
survey reopened and left unchanged became a draft, not sent until finished again."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import Engine, text

from tests.browser.conftest import TAM_KY
from tests.browser.test_collect import fill_household, fill_screen, next_screen, open_app
from tests.browser.test_outbox import surveys_on, to_last_screen, uncaught, wait_for
from tests.browser.test_signin import review, sync

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_surveys")]

# The volunteer, later, some way north of the house surveyed at TAM_KY.
AWAY_800_M = {**TAM_KY, "latitude": 15.5784}
AWAY_1_KM = {**TAM_KY, "latitude": 15.58}
# The last fix the app's GPS watch gave (the module the page runs).
GPS_FIX = "async () => (await import('/static/collect/gps.js')).state.fix"


def gps_fix_at(page: Page, latitude: float) -> None:
    """Wait until the app's GPS watch has given a fix at `latitude`."""

    def there() -> bool:
        fix = page.evaluate(GPS_FIX)
        return bool(fix) and abs(fix["lat"] - latitude) < 1e-6

    wait_for(page, there)
    page.wait_for_timeout(300)  # what the widget makes of it is written by now


def back_to_gps_screen(page: Page) -> None:
    expect(page.locator("#app")).to_have_attribute("data-view", "survey")
    while page.locator(".gps").count() == 0:
        page.click("#back")
        page.wait_for_timeout(200)
    expect(page.locator(".gps")).to_be_visible()


def server_points(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id::text, ST_Y(geom) AS lat, answers FROM household_surveys")
        )
        return [dict(row) for row in rows.mappings()]


def test_a_survey_reopened_far_away_keeps_its_point_and_still_waits_unless_asked(
    phone_context: BrowserContext, phone: Page
) -> None:
    open_app(phone)
    phone_context.set_offline(True)
    fill_household(phone)
    (first,) = surveys_on(phone)
    assert first["location"]["lat"] == pytest.approx(TAM_KY["latitude"])
    phone_context.set_geolocation(AWAY_800_M)
    card = phone.locator(".survey-card")
    # Opened, Back to the GPS screen, nothing changed, Exit: as it was, still waiting.
    card.locator("button.edit").click()
    back_to_gps_screen(phone)
    gps_fix_at(phone, AWAY_800_M["latitude"])
    expect(phone.locator("#gps-status")).to_contain_text("15.571200")
    phone.click("#exit-survey")
    expect(card).to_have_attribute("data-status", "pending")
    expect(phone.locator("#notice")).to_contain_text("vẫn chờ gửi")
    expect(card.locator(".draft-again")).to_have_count(0)
    (again,) = surveys_on(phone)
    assert again["location"] == first["location"]
    assert (again["status"], again["body"]) == ("pending", first["body"])
    # Asked for ("Chờ vị trí chính xác hơn"): the point is where the volunteer is now.
    card.locator("button.edit").click()
    back_to_gps_screen(phone)
    gps_fix_at(phone, AWAY_800_M["latitude"])
    phone.click("#gps-better")
    expect(phone.locator("#gps-status")).to_have_text("Đang chờ vị trí mới…")
    phone_context.set_geolocation({**AWAY_800_M, "accuracy": 8})  # the next fix, if worse
    expect(phone.locator("#gps-status")).to_contain_text("15.578400")
    phone.click("#exit-survey")
    expect(card).to_have_attribute("data-status", "draft")
    (moved,) = surveys_on(phone)
    assert moved["location"]["lat"] == pytest.approx(AWAY_800_M["latitude"])
    assert uncaught(phone) == []


def test_a_correction_made_far_away_keeps_the_households_point(
    phone_context: BrowserContext,
    phone: Page,
    sync_engine: Engine,
    live_server: str,
    admin_token: str,
) -> None:
    """The reviewer asks only for the household's size; the volunteer corrects it 1 km away:
    the point on the server stays the household's."""
    open_app(phone)
    fill_household(phone)
    phone.click("#outbox-button")
    wait_for(phone, lambda: len(server_points(sync_engine)) == 1)
    (row,) = server_points(sync_engine)
    assert row["lat"] == pytest.approx(TAM_KY["latitude"])
    review(live_server, admin_token, row["id"], "needs_correction", "Hộ có 5 người.")
    sync(phone)
    item = phone.locator(f'.outbox-item[data-id="{row["id"]}"]')
    expect(item).to_have_attribute("data-review", "needs_correction")
    phone.click("#home-button")
    phone_context.set_geolocation(AWAY_1_KM)
    phone.locator(f'.survey-card[data-id="{row["id"]}"] button.correct').click()
    back_to_gps_screen(phone)  # the screen a correction opens on
    gps_fix_at(phone, AWAY_1_KM["latitude"])
    expect(phone.locator("#gps-status")).to_contain_text("15.571200")
    next_screen(phone)
    fill_screen(phone, {"household_size": "5"})
    to_last_screen(phone)
    phone.click("#finish")
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    phone.click("#outbox-button")
    expect(item).to_have_attribute("data-review", "received")
    (corrected,) = server_points(sync_engine)
    assert corrected["answers"]["household_size"] == 5
    assert corrected["lat"] == pytest.approx(TAM_KY["latitude"])
    assert uncaught(phone) == []
