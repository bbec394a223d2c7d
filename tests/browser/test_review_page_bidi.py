"""The review page with names that turn text right to left or that have no place to break, in
real Chromium: a ward named with U+202E (RIGHT-TO-LEFT OVERRIDE) reorders only itself in the
heading and the ward picker; a settlement's 300-letter name wraps in the map's caption on a
phone instead of widening the page, and the decision buttons stay reachable."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine, text

from app.text import isolated
from tests.auth import bearer, make_token, make_user, ward_id
from tests.browser.conftest import record_console_errors, sign_in_browser
from tests.factories import household_answers, household_survey

pytestmark = pytest.mark.browser

OVERRIDE_NAME = "\u202eXóm Cồn Đảo ngược phường"
LONG_NAME = "XómCồnĐảoNgược" * 21 + "Ngõ12345678910"[:6]  # 300 letters, no space
PHONE = {"width": 360, "height": 640}
LEADER_GRANTS = (("ward_leader", ("ward", "W03")), ("ward_leader", ("ward", "W01")))
# The left edges on screen of the characters of each text node under an element.
CHARACTER_LEFTS = """(element) => {
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  const lefts = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (let index = 0; index < node.data.length; index += 1) {
      range.setStart(node, index);
      range.setEnd(node, index + 1);
      lefts.push([node.data[index], range.getBoundingClientRect().left]);
    }
  }
  return lefts;
}"""


@pytest.fixture
def places(sync_engine: Engine, live_server: str, clean_surveys: None) -> Iterator[dict[str, Any]]:
    """W03 renamed with a direction override, its first settlement with a 300-letter name
    and a survey in it waiting for review."""
    w03 = ward_id(sync_engine, "W03")
    with sync_engine.begin() as connection:
        ward_name = connection.execute(
            text("SELECT name FROM wards WHERE id = :id"), {"id": w03}
        ).scalar_one()
        settlement_id, settlement_name, lon, lat = connection.execute(
            text(
                "SELECT s.id, s.name, ST_X(ST_PointOnSurface(s.geom)), "
                "ST_Y(ST_PointOnSurface(s.geom)) FROM settlements s WHERE s.ward_id = :ward "
                "ORDER BY s.code LIMIT 1"
            ),
            {"ward": w03},
        ).one()
        connection.execute(
            text("UPDATE wards SET name = :name WHERE id = :id"), {"name": OVERRIDE_NAME, "id": w03}
        )
        connection.execute(
            text("UPDATE settlements SET name = :name WHERE id = :id"),
            {"name": LONG_NAME, "id": settlement_id},
        )
    volunteer_id = make_user(sync_engine, "tnv-bidi", [("volunteer", ("ward", "W03"))])
    volunteer = bearer(make_token(sync_engine, volunteer_id))
    body = household_survey(
        collector="tnv-bidi",
        location={"lat": lat, "lon": lon, "accuracy_m": 5.0},
        answers=household_answers(head_name="Nguyễn Văn An"),
    )
    response = httpx.post(f"{live_server}/api/v1/submissions", json=body, headers=volunteer)
    assert response.status_code == 201, response.text
    try:
        yield {"w03": w03, "survey": body["id"]}
    finally:
        with sync_engine.begin() as connection:
            connection.execute(
                text("UPDATE wards SET name = :name WHERE id = :id"), {"name": ward_name, "id": w03}
            )
            connection.execute(
                text("UPDATE settlements SET name = :name WHERE id = :id"),
                {"name": settlement_name, "id": settlement_id},
            )


def leader_page(browser: Browser, live_server: str, sync_engine: Engine, size: Any) -> Page:
    """A page signed in as the leader of W03 and W01."""
    context = browser.new_context(viewport=size, base_url=live_server)
    sign_in_browser(context, sync_engine, live_server, "lead-hai-phuong", LEADER_GRANTS)
    page = context.new_page()
    record_console_errors(page)
    return page


def test_a_ward_name_that_overrides_direction_reverses_only_itself(
    browser: Browser, live_server: str, sync_engine: Engine, places: dict[str, Any]
) -> None:
    page = leader_page(browser, live_server, sync_engine, {"width": 1280, "height": 800})
    try:
        page.goto(f"/review?ward={places['w03']}&lang=vi")
        heading = page.locator("h1")
        expect(heading).to_have_text(f"Duyệt phiếu khảo sát: {OVERRIDE_NAME} · Tam Kỳ")
        shown = heading.evaluate(CHARACTER_LEFTS)
        lefts = [left for character, left in shown if character != " "]
        name_start = "".join(c for c, _ in shown).index(OVERRIDE_NAME)
        before = [left for c, left in shown[:name_start] if c != " "]
        name = [left for _, left in shown[name_start : name_start + len(OVERRIDE_NAME)]]
        after = [left for c, left in shown[name_start + len(OVERRIDE_NAME) :] if c != " "]
        assert before == sorted(before) and after == sorted(after), lefts
        assert max(before) < min(name) and max(name) < min(after), (before, name, after)
        expect(heading.locator("bdi#ward-name")).to_have_text(OVERRIDE_NAME)

        # In the picker (no markup inside an <option>): the name between FSI and PDI.
        option = page.locator(f'#ward-select option[value="{places["w03"]}"]')
        expect(option).to_have_text(f"{isolated(OVERRIDE_NAME)} (W03)")
        # The tab's title too.
        assert page.title() == f"Duyệt phiếu khảo sát: {isolated(OVERRIDE_NAME)}"

        page.goto(f"/review?ward={places['w03']}&lang=en")
        expect(page.locator("h1 bdi#ward-name")).to_have_text(OVERRIDE_NAME)
        expect(option).to_have_text(f"{isolated(OVERRIDE_NAME)} (W03)")
        assert page.console_errors == []  # type: ignore[attr-defined]
    finally:
        page.context.close()


def test_a_long_settlement_name_wraps_on_a_phone(
    browser: Browser, live_server: str, sync_engine: Engine, places: dict[str, Any]
) -> None:
    page = leader_page(browser, live_server, sync_engine, PHONE)
    try:
        page.goto(f"/review?ward={places['w03']}&lang=vi")
        survey = page.locator(f'li.survey[data-id="{places["survey"]}"]')
        survey.locator(".survey-summary").click()
        caption = page.locator("#map-caption")
        expect(caption).to_have_text(f"{LONG_NAME} · GPS ±5 m")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= page.evaluate("window.innerWidth"), f"the page is {width} px wide"
        caption_box = caption.bounding_box()
        assert caption_box is not None and caption_box["width"] <= PHONE["width"]

        # "Send back" can be reached: scrolled to just under the sticky map, nothing covers it.
        button = survey.get_by_role("button", name="Trả lại để sửa")
        expect(button).to_be_visible()
        tapped = button.evaluate(
            """(button) => {
              const pane = document.querySelector('.review-map-pane').getBoundingClientRect();
              const top = button.getBoundingClientRect().top + window.scrollY;
              window.scrollTo(0, top - pane.height - 16);
              const box = button.getBoundingClientRect();
              const x = box.left + box.width / 2, y = box.top + box.height / 2;
              const hit = document.elementFromPoint(x, y);
              return x >= 0 && x <= window.innerWidth && y <= window.innerHeight
                && hit !== null && button.contains(hit);
            }"""
        )
        assert tapped, "something covers the send-back button"
        assert page.console_errors == []  # type: ignore[attr-defined]
    finally:
        page.context.close()
