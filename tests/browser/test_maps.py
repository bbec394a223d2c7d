"""The city map in real headless Chromium: renders, draws households, no console errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, Request
from sqlalchemy import Engine

from app.forms.registry import FormRegistry
from app.geo import sample_city
from app.services.samples import insert_submissions
from tests.browser.conftest import SCREENSHOTS
from tests.integration.test_maps_web import APPROVE

HOUSEHOLDS = 2000

pytestmark = pytest.mark.browser


@pytest.fixture
def households(
    sync_engine: Engine, forms: FormRegistry, clean_surveys: None
) -> Iterator[list[dict[str, Any]]]:
    """Sample households in the live server's database (truncated afterwards)."""
    items = list(sample_city.generate_households(sample_city.generate_city(), HOUSEHOLDS))
    with sync_engine.begin() as connection:
        insert_submissions(connection, forms, items)
        connection.execute(APPROVE, {"ids": [item["id"] for item in items]})  # public maps
    yield items


# Count canvas pixels that are painted (alpha > 0) on the household tiles.
PAINTED = """() => {
  let painted = 0;
  for (const canvas of document.querySelectorAll('canvas.cdf-households-tile')) {
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
  }
  return painted;
}"""


@pytest.fixture
def desktop(signed_in_desktop: Page) -> Page:
    """Maps are for their readers: a national admin's page."""
    return signed_in_desktop


def test_city_map_renders_offline(
    desktop: Page, live_server: str, households: list[dict[str, Any]]
) -> None:
    outside: list[str] = []

    def on_request(request: Request) -> None:
        if not request.url.startswith(live_server) and not request.url.startswith("data:"):
            outside.append(request.url)

    desktop.on("request", on_request)
    response = desktop.goto("/maps/cities/tam-ky?lang=vi")  # the browser asks for English
    assert response is not None and response.status == 200
    html = response.text()
    assert re.search(r"""["'(]https?://""", html) is None
    desktop.wait_for_load_state("networkidle")
    desktop.wait_for_function("document.querySelectorAll('canvas.cdf-households-tile').length > 0")
    desktop.wait_for_timeout(300)
    assert desktop.evaluate(PAINTED) > 500, "household points are drawn on canvas tiles"
    # No DOM marker per household: only settlement and ward shapes are SVG paths.
    assert desktop.locator("path.leaflet-interactive").count() < 100
    assert desktop.locator(".cdf-title-main").inner_text() == "Bản đồ nâng cấp khu dân cư: Tam Kỳ"
    legend = desktop.locator(".cdf-legend")
    assert "Điểm ưu tiên nâng cấp" in legend.inner_text()
    assert "Giấy tờ nhà đất" in legend.inner_text()
    assert desktop.locator(".leaflet-control-scale-line").count() == 1
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    desktop.screenshot(path=str(SCREENSHOTS / "city-map.png"))

    # Switching the household indicator swaps the legend (one indicator at a time).
    desktop.get_by_text("Hộ gia đình: Nguồn nước").click()
    desktop.wait_for_timeout(300)
    text = legend.inner_text()
    assert "Nước máy vào nhà" in text and "Sổ đỏ" not in text
    assert desktop.evaluate(PAINTED) > 500

    # A settlement's popup shows its figures and nothing personal.
    box = desktop.locator("path.leaflet-interactive").first.bounding_box()
    assert box is not None
    desktop.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    popup = desktop.locator(".leaflet-popup-content")
    popup.wait_for(timeout=5000)
    content = popup.inner_text()
    assert "Điểm ưu tiên" in content and "Không có nước máy" in content
    names = {item["answers"].get("head_name") for item in households}
    assert not any(name and name in content for name in names)

    assert outside == [], f"requests outside the app: {outside}"
    assert desktop.console_errors == []  # type: ignore[attr-defined]
