"""The settlement profile (forms/settlement.xlsx) filled on the phone at 360 x 640: its
boundary (geoshape) drawn by tapping the offline map, sent once, without a location."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, text

from tests.browser.test_collect import open_app

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_surveys")]
expect.set_options(timeout=10_000)


def tap_map(page: Page, selector: str, dx: float, dy: float) -> None:
    """Tap the map `dx`, `dy` pixels from its centre (measured now: the page may scroll)."""
    page.locator(selector).scroll_into_view_if_needed()
    box = page.locator(selector).bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2 + dx, box["y"] + box["height"] / 2 + dy)


def test_the_settlement_profile_is_filled_on_the_phone_and_sent_once(
    phone: Page, sync_engine: Engine
) -> None:
    open_app(phone)
    phone.click("#new-settlement")
    expect(phone.locator("#app")).to_have_attribute("data-view", "survey")
    for _ in range(10):  # the form's questions, screen by screen, up to its boundary
        if phone.locator("#q-settlement_name").count():
            phone.fill("#q-settlement_name", "Tổ 5 <script>alert(1)</script>")
        if phone.locator("#q-households_count").count():
            phone.fill("#q-households_count", "42")
        if phone.locator('input[name="land_type"][value="riverbank"]').count():
            phone.check('input[name="land_type"][value="riverbank"]')
        if phone.locator("#map-boundary").count():
            break
        step = phone.locator("#step").inner_text()
        phone.click("#next")
        expect(phone.locator("#step")).not_to_have_text(step)
    expect(phone.locator("#map-boundary .leaflet-control-scale")).to_be_visible()
    # Three taps make a shape; a fourth on the same spot as the first adds nothing distinct.
    tap_map(phone, "#map-boundary", -70, -50)
    tap_map(phone, "#map-boundary", 70, -50)
    expect(phone.locator("#geo-count-boundary")).to_contain_text("cần ít nhất 3")
    tap_map(phone, "#map-boundary", 0, 60)
    expect(phone.locator("#geo-count-boundary")).to_contain_text("Vùng có 3 điểm")
    expect(phone.locator("#map-boundary path.map-shape")).to_have_count(1)
    phone.click("#finish")
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")

    phone.click("#outbox-button")
    phone.click("#sync-now")
    expect(phone.locator('.outbox-item[data-status="sent"]')).to_have_count(1)
    phone.click("#sync-now")
    expect(phone.locator("#sync-status")).to_have_attribute("data-state", "idle")
    with sync_engine.connect() as connection:
        rows = connection.execute(
            text("SELECT form_id, answers, geom IS NULL FROM household_surveys")
        ).all()
    assert len(rows) == 1
    form_id, answers, no_point = rows[0]
    assert (form_id, no_point) == ("settlement", True)
    assert answers["settlement_name"] == "Tổ 5 <script>alert(1)</script>"
    points = answers["boundary"].split(";")
    assert len(points) == 4 and points[0] == points[-1]
    lat, lon = (float(v) for v in points[0].split()[:2])
    assert 15.56 < lat < 15.58 and 108.46 < lon < 108.48
    assert phone.console_errors == []  # type: ignore[attr-defined]
