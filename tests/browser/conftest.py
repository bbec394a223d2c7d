"""Real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright for Python."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
]
# The README's screenshots are refreshed only on request (UPDATE_SCREENSHOTS=1 make test);
# otherwise they are taken all the same, into a temporary folder, so a test run leaves the
# working tree as it was.
SCREENSHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    if os.environ.get("UPDATE_SCREENSHOTS")
    else Path(tempfile.gettempdir()) / "cdfmap-screenshots"
)
PHONE = {"width": 360, "height": 640}
TAM_KY = {"latitude": 15.5712, "longitude": 108.4741, "accuracy": 6}


def record_console_errors(page: Page) -> list[str]:
    """Collect console errors and uncaught exceptions in `page.console_errors`."""
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.console_errors = errors  # type: ignore[attr-defined]
    return errors


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One Chromium for the session; fails (never skips) when Chromium is missing."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make test` (it installs chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def phone_context(browser: Browser, live_server: str) -> Iterator[BrowserContext]:
    """A 360 x 640 phone with GPS granted at a point in Tam Kỳ, Vietnamese first."""
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="vi-VN",
        geolocation=TAM_KY,
        permissions=["geolocation"],
        base_url=live_server,
        service_workers="allow",
    )
    yield context
    context.close()


@pytest.fixture
def phone(phone_context: BrowserContext) -> Page:
    """A page in the phone context that records console errors in `page.console_errors`."""
    page = phone_context.new_page()
    record_console_errors(page)
    return page


@pytest.fixture
def desktop(browser: Browser, live_server: str) -> Iterator[Page]:
    """A 1280 x 800 desktop page on the live server, recording console errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=live_server)
    page = context.new_page()
    record_console_errors(page)
    yield page
    context.close()
