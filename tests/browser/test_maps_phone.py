"""The map pages on a phone (360 x 740, device scale 2, touch) and a laptop (1366 x 768).

Legend folded into a button on the phone, household dots that leave the settlements' priority
colours visible, settlement names on the map, a page that may be zoomed by pinch, popups
never under the title box.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image, ImageChops
from playwright.sync_api import Browser, Page
from sqlalchemy import Engine

from tests.browser import test_maps
from tests.browser.conftest import SCREENSHOTS, record_console_errors, sign_in_browser

pytestmark = pytest.mark.browser
households = test_maps.households  # 2,000 approved sample households (fixture)

PHONE = {"width": 360, "height": 740}
LAPTOP = {"width": 1366, "height": 768}


def open_page(browser: Browser, live_server: str, engine: Engine, phone: bool) -> Page:
    """A signed-in page (a national admin) on a phone or a laptop, recording console errors."""
    if phone:
        context = browser.new_context(
            viewport=PHONE,
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            locale="vi-VN",
            base_url=live_server,
        )
    else:
        # Vietnamese like the phone's: the map pages follow the browser's languages.
        context = browser.new_context(viewport=LAPTOP, base_url=live_server, locale="vi-VN")
    sign_in_browser(context, engine, live_server)
    page = context.new_page()
    record_console_errors(page)
    return page


@pytest.fixture
def phone(browser: Browser, live_server: str, sync_engine: Engine) -> Iterator[Page]:
    page = open_page(browser, live_server, sync_engine, phone=True)
    yield page
    page.context.close()


@pytest.fixture
def laptop(browser: Browser, live_server: str, sync_engine: Engine) -> Iterator[Page]:
    page = open_page(browser, live_server, sync_engine, phone=False)
    yield page
    page.context.close()


def load_map(page: Page, url: str) -> None:
    """Open a map page and wait until its households are drawn."""
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    page.wait_for_load_state("networkidle")
    page.wait_for_function("document.querySelectorAll('canvas.cdf-households-tile').length > 0")
    page.wait_for_timeout(400)


def area(box: dict[str, float] | None) -> float:
    assert box is not None
    return box["width"] * box["height"]


def intersects(a: dict[str, float], b: dict[str, float]) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def test_viewport_allows_pinch_zoom(phone: Page, households: Any) -> None:
    load_map(phone, "/maps/cities/tam-ky")
    content = phone.evaluate("document.querySelector('meta[name=viewport]').content")
    assert "width=device-width" in content
    assert "user-scalable" not in content and "maximum-scale" not in content
    assert phone.locator("meta[name=viewport]").count() == 1


@pytest.mark.parametrize("language", ["vi", "en"])
def test_legend_folded_on_a_phone(phone: Page, households: Any, language: str) -> None:
    load_map(phone, f"/maps/cities/tam-ky?lang={language}")
    show, hide = {"vi": ("Chú giải", "Ẩn chú giải"), "en": ("Legend", "Hide legend")}[language]
    button = phone.locator(".cdf-legend-toggle")
    body = phone.locator("#cdf-legend-body")
    assert button.is_visible() and button.inner_text().startswith(show)
    assert button.get_attribute("aria-expanded") == "false"
    assert button.get_attribute("aria-controls") == "cdf-legend-body"
    assert not body.is_visible()
    map_area = area(phone.locator(".folium-map").bounding_box())
    folded = area(phone.locator(".cdf-legend").bounding_box()) / map_area
    assert folded < 0.15, f"the folded legend covers {folded:.0%} of the map"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    phone.screenshot(path=str(SCREENSHOTS / f"city-map-phone-{language}.png"))

    button.tap()
    assert button.get_attribute("aria-expanded") == "true"
    assert button.inner_text().startswith(hide)
    assert body.is_visible()
    priority = "Điểm ưu tiên" if language == "vi" else "priority score"
    assert priority in body.inner_text()
    button.tap()
    assert button.get_attribute("aria-expanded") == "false" and not body.is_visible()
    assert phone.console_errors == []  # type: ignore[attr-defined]


def test_legend_open_on_a_laptop(laptop: Page, households: Any) -> None:
    load_map(laptop, "/maps/cities/tam-ky")
    button = laptop.locator(".cdf-legend-toggle")
    assert button.get_attribute("aria-expanded") == "true"
    assert laptop.locator("#cdf-legend-body").is_visible()
    assert "Giấy tờ nhà đất" in laptop.locator("#cdf-legend-body").inner_text()
    button.click()
    assert not laptop.locator("#cdf-legend-body").is_visible()


# The map's pixels inside the settlements (middle half of each outline's box) and whether the
# household layer is on: toggled through the layer control's checkbox of the shown indicator.
SETTLEMENT_BOXES = """() => Array.from(document.querySelectorAll('path.leaflet-interactive'))
  .filter((path) => path.getAttribute('fill') && path.getAttribute('fill') !== 'none')
  .map((path) => { const r = path.getBoundingClientRect();
                   return [r.x + r.width / 4, r.y + r.height / 4, r.width / 2, r.height / 2]; })
  .filter((b) => b[2] >= 3 && b[3] >= 3 && b[0] >= 0 && b[1] >= 0
                 && b[0] + b[2] <= innerWidth && b[1] + b[3] <= innerHeight)"""


def hidden_share(page: Page, label: str) -> float:
    """The share of settlement pixels whose colour the household dots change noticeably."""
    boxes = page.evaluate(SETTLEMENT_BOXES)
    assert boxes, "settlements on screen"
    scale = page.evaluate("devicePixelRatio")
    with_dots = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    checkbox = page.locator(".leaflet-control-layers-overlays label", has_text=label).locator(
        "input"
    )
    checkbox.evaluate("(input) => input.click()")
    page.wait_for_timeout(300)
    without = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    checkbox.evaluate("(input) => input.click()")
    changed = total = 0
    for x, y, width, height in boxes:
        crop = tuple(round(v * scale) for v in (x, y, x + width, y + height))
        difference = ImageChops.difference(with_dots.crop(crop), without.crop(crop)).convert("L")
        histogram = difference.histogram()
        changed += sum(histogram[40:])
        total += sum(histogram)
    return changed / total


# Leaflet's map object of the page (folium names it map_<id>).
MAP = "window[Object.keys(window).find((key) => key.startsWith('map_'))]"
# Centre the map on the settlement with the most households, at a zoom level.
ZOOM_TO_BUSIEST = (
    """(zoom) => { const map = """
    + MAP
    + """; let best = null;
  map.eachLayer((layer) => { const p = layer.feature && layer.feature.properties;
    if (p && p.households !== undefined && layer.getBounds
        && (!best || p.households > best.feature.properties.households)) best = layer; });
  map.setView(best.getBounds().getCenter(), zoom, { animate: false }); }"""
)
PAINTED = """() => { let painted = 0;
  for (const canvas of document.querySelectorAll('canvas.cdf-households-tile')) {
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++; }
  return painted; }"""


@pytest.mark.parametrize("device", ["phone", "laptop"])
def test_household_dots_leave_the_priority_colours_visible(
    request: pytest.FixtureRequest, households: Any, device: str
) -> None:
    page: Page = request.getfixturevalue(device)
    load_map(page, "/maps/cities/tam-ky")
    label = "Hộ gia đình: Giấy tờ nhà đất"
    shares = []
    if device == "phone":
        # The whole city on a phone: settlements are a few pixels wide, households are not
        # drawn over them and the legend says how to see them.
        assert page.evaluate(MAP + ".getZoom()") < 13.5
        assert page.evaluate(PAINTED) == 0
        legend = page.locator(".cdf-legend").text_content() or ""
        assert "Phóng to bản đồ để thấy từng hộ." in legend
    else:
        # The whole city on a laptop is drawn at zoom 14 (zoom 13.75, tiles at whole levels).
        assert page.evaluate(PAINTED) > 100
        shares.append(hidden_share(page, label))
    for zoom in (14, 15.5, 17):
        page.evaluate(ZOOM_TO_BUSIEST, zoom)
        page.wait_for_timeout(500)
        assert page.evaluate(PAINTED) > 100, f"households drawn at zoom {zoom}"
        shares.append(hidden_share(page, label))
    assert "Phóng to" not in (page.locator(".cdf-legend").text_content() or "")
    # Before: 78 % at the city's view on a laptop, 70 % at zoom 14 (opaque outlined dots).
    assert max(shares) < 0.35, shares
    assert page.console_errors == []  # type: ignore[attr-defined]


VISIBLE_LABELS = """() => Array.from(document.querySelectorAll('.cdf-label'))
  .filter((label) => label.style.display !== 'none' && label.style.visibility !== 'hidden')
  .map((label) => { const r = label.firstChild.getBoundingClientRect();
                    return [label.textContent, r.x, r.y, r.width, r.height]; })"""
# The busiest settlement just below the title box, where its popup would open under it;
# returns the point to tap (inside the settlement: its label point).
BUSIEST_UNDER_TITLE = (
    """(zoom) => { const map = """
    + MAP
    + """; let best = null;
  map.eachLayer((layer) => { const p = layer.feature && layer.feature.properties;
    if (p && p.households !== undefined && p.label
        && (!best || p.households > best.feature.properties.households)) best = layer; });
  const label = best.feature.properties.label;
  map.setView([label[1], label[0]], zoom, { animate: false });
  const title = document.querySelector('.cdf-title').getBoundingClientRect();
  const point = map.latLngToContainerPoint([label[1], label[0]]);
  map.panBy([0, point.y - (title.bottom + 25)], { animate: false });
  const rect = map.getContainer().getBoundingClientRect();
  const moved = map.latLngToContainerPoint([label[1], label[0]]);
  return [rect.x + moved.x, rect.y + moved.y, best.feature.properties.name]; }"""
)


@pytest.mark.parametrize("device", ["phone", "laptop"])
def test_settlement_names_on_the_map(
    request: pytest.FixtureRequest, households: Any, device: str
) -> None:
    page: Page = request.getfixturevalue(device)
    load_map(page, "/maps/cities/tam-ky")
    names = page.evaluate(
        "() => Array.from(document.querySelectorAll('.cdf-label'), (e) => e.textContent)"
    )
    assert len(names) == 40  # one label per settlement of the sample city
    far = page.evaluate(VISIBLE_LABELS)
    page.evaluate(ZOOM_TO_BUSIEST, 16)
    page.wait_for_timeout(300)
    near = page.evaluate(VISIBLE_LABELS)
    assert near, "names shown when zoomed in"
    if device == "phone":
        assert len(far) < 10, "a city on a phone is not buried under names"
    # No two names shown on top of each other.
    for index, (_, x, y, width, height) in enumerate(near):
        for _, x2, y2, width2, height2 in near[index + 1 :]:
            box = {"x": x, "y": y, "width": width, "height": height}
            other = {"x": x2, "y": y2, "width": width2, "height": height2}
            assert not intersects(box, other), near
    # The busiest settlement's own name is among them, as plain text.
    _, _, name = page.evaluate(BUSIEST_UNDER_TITLE, 16)
    assert name in [label[0] for label in page.evaluate(VISIBLE_LABELS)]
    assert page.console_errors == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("device", ["phone", "laptop"])
def test_popup_opens_clear_of_the_title(
    request: pytest.FixtureRequest, households: Any, device: str
) -> None:
    page: Page = request.getfixturevalue(device)
    load_map(page, "/maps/cities/tam-ky")
    for zoom in (15, 17):
        x, y, name = page.evaluate(BUSIEST_UNDER_TITLE, zoom)
        page.wait_for_timeout(300)
        if device == "phone":
            page.touchscreen.tap(x, y)
        else:
            page.mouse.click(x, y)
        popup = page.locator(".leaflet-popup")
        popup.wait_for(timeout=5000)
        assert name in page.locator(".leaflet-popup-content").inner_text()
        page.wait_for_timeout(700)  # the map pans to show the popup
        box = popup.bounding_box()
        title = page.locator(".cdf-title").bounding_box()
        assert box is not None and title is not None
        assert not intersects(box, title), (box, title)
        size = PHONE if device == "phone" else LAPTOP
        assert box["y"] >= 0 and box["y"] + box["height"] <= size["height"], box
        assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"], box
        # Its first row (the name) is not hidden by anything.
        first = page.locator(".leaflet-popup-content tr").first.bounding_box()
        assert first is not None
        on_top = page.evaluate(
            "([x, y]) => document.elementFromPoint(x, y).closest('.leaflet-popup') !== null",
            [first["x"] + first["width"] / 2, first["y"] + first["height"] / 2],
        )
        assert on_top
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"map-popup-{device}-{zoom}.png"))
        page.locator(".leaflet-popup-close-button").click()
        popup.wait_for(state="detached")
    assert page.console_errors == []  # type: ignore[attr-defined]
