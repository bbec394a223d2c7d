"""The national view in real Chromium: three cities on the map, the table sorted by a click,
a hostile city name shown as text (no script runs), on a desktop and a phone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Dialog
from sqlalchemy import create_engine, text

from app.settings import with_driver
from bench.common import uvicorn_server
from tests.browser.conftest import record_console_errors, sign_in_browser
from tests.network_support import network_database

pytestmark = pytest.mark.browser
HOSTILE = "</script><script>alert(1)</script>{{ 7*7 }}"


@pytest.fixture(scope="module")
def network_server() -> Iterator[tuple[str, object]]:
    with network_database() as url:
        engine = create_engine(with_driver(url, "postgresql+psycopg"))
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE cities SET name = :n WHERE slug = 'viet-tri'"), {"n": HOSTILE}
            )
        with uvicorn_server("app.main:create_app", url) as (base, _pid):
            yield base, engine
        engine.dispose()


@pytest.mark.parametrize("viewport", [(1280, 800), (360, 740)])
def test_three_cities_on_the_map_and_a_sortable_table(
    browser: Browser, network_server: tuple[str, object], viewport: tuple[int, int]
) -> None:
    base, engine = network_server
    context = browser.new_context(
        viewport={"width": viewport[0], "height": viewport[1]}, base_url=base
    )
    sign_in_browser(context, engine, base, username=f"national-browser-{viewport[0]}")  # type: ignore[arg-type]
    page = context.new_page()
    errors = record_console_errors(page)
    dialogs: list[Dialog] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog), dialog.dismiss()))
    page.goto("/maps/national?lang=en")
    page.wait_for_selector("#national-map .leaflet-interactive")
    assert page.locator("#national-map path.leaflet-interactive").count() == 3
    names = page.locator("#national-table tbody th a").all_text_contents()
    assert HOSTILE in names  # as text, not markup
    households = page.locator("#national-table thead th[data-key=households] button")
    households.click()
    ascending = [
        int(v)
        for v in page.locator("#national-table tbody td:nth-child(2)").evaluate_all(
            "cells => cells.map(c => c.dataset.value)"
        )
    ]
    assert ascending == sorted(ascending)
    households.click()
    descending = page.locator("#national-table tbody td:nth-child(2)").evaluate_all(
        "cells => cells.map(c => Number(c.dataset.value))"
    )
    assert descending == sorted(ascending, reverse=True)
    assert (
        page.locator("#national-table thead th[data-key=households]").get_attribute("aria-sort")
        == "descending"
    )
    # The tooltip of a city is text too.
    page.locator("#national-map path.leaflet-interactive").first.hover()
    assert dialogs == [] and errors == []
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport[0] + 1
    context.close()
