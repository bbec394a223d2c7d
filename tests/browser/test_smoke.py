"""The browser harness itself: Chromium starts and reaches the live app."""

from __future__ import annotations

from playwright.sync_api import Page


def test_chromium_reaches_the_app(desktop: Page) -> None:
    response = desktop.goto("/healthz")
    assert response is not None and response.status == 200
    assert '"status":"ok"' in desktop.content()
