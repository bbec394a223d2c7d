"""Leaflet's own controls speak the page's language on every map: the zoom buttons, the
layers button and the attribution's link to Leaflet ("A JavaScript library for interactive
maps" on a Vietnamese page was English)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import Engine, text

from tests.browser.conftest import record_console_errors, sign_in_browser

pytestmark = pytest.mark.browser

WORDS = {
    "vi": {
        "zoom_in": "Phóng to",
        "zoom_out": "Thu nhỏ",
        "layers": "Các lớp bản đồ",
        "leaflet": "Thư viện JavaScript cho bản đồ tương tác",
    },
    "en": {
        "zoom_in": "Zoom in",
        "zoom_out": "Zoom out",
        "layers": "Layers",
        "leaflet": "A JavaScript library for interactive maps",
    },
}


@pytest.fixture
def admin_page(browser: Browser, live_server: str, sync_engine: Engine) -> Iterator[Page]:
    """A desktop signed in as the sample city's admin (maps, review, the national view)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=live_server)
    sign_in_browser(
        context,
        sync_engine,
        live_server,
        username="controls-city-admin",
        grants=(("city_admin", ("city", "tam-ky")),),
    )
    page = context.new_page()
    record_console_errors(page)
    yield page
    context.close()


def _controls(page: Page, map_selector: str) -> dict[str, str | None]:
    page.wait_for_selector(f"{map_selector} .leaflet-control-zoom-in")
    zoom_in = page.locator(f"{map_selector} .leaflet-control-zoom-in")
    zoom_out = page.locator(f"{map_selector} .leaflet-control-zoom-out")
    layers = page.locator(f"{map_selector} .leaflet-control-layers-toggle")
    prefix = page.locator(
        f'{map_selector} .leaflet-control-attribution a[href="https://leafletjs.com"]'
    )
    return {
        "zoom_in": zoom_in.get_attribute("title"),
        "zoom_in_label": zoom_in.get_attribute("aria-label"),
        "zoom_out": zoom_out.get_attribute("title"),
        "layers": layers.get_attribute("title") if layers.count() else None,
        "leaflet": prefix.get_attribute("title") if prefix.count() else None,
    }


@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_map_pages_controls_are_in_the_pages_language(
    admin_page: Page, sync_engine: Engine, language: str
) -> None:
    with sync_engine.connect() as connection:
        ward = connection.execute(
            text(
                "SELECT w.id FROM wards w JOIN cities c ON c.id = w.city_id "
                "WHERE c.slug = 'tam-ky' ORDER BY w.code LIMIT 1"
            )
        ).scalar_one()
    words = WORDS[language]
    for url in (f"/maps/cities/tam-ky?lang={language}", f"/maps/wards/{ward}?lang={language}"):
        admin_page.goto(url)
        found = _controls(admin_page, ".folium-map")
        assert found == {
            "zoom_in": words["zoom_in"],
            "zoom_in_label": words["zoom_in"],
            "zoom_out": words["zoom_out"],
            "layers": words["layers"],
            "leaflet": words["leaflet"],
        }, url
    admin_page.goto(f"/review?ward={ward}&lang={language}")
    found = _controls(admin_page, "#review-map")
    assert (found["zoom_in"], found["zoom_in_label"], found["zoom_out"]) == (
        words["zoom_in"],
        words["zoom_in"],
        words["zoom_out"],
    )
    admin_page.goto(f"/maps/national?lang={language}")
    found = _controls(admin_page, "#national-map")
    assert (found["zoom_in"], found["zoom_out"]) == (words["zoom_in"], words["zoom_out"])
    assert not admin_page.console_errors  # type: ignore[attr-defined]
