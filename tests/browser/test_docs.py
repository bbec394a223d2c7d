"""The API docs (Swagger UI) work with no internet, under the Content-Security-Policy."""

from __future__ import annotations

from playwright.sync_api import Page, Route


def test_swagger_ui_renders_offline_under_the_policy(desktop: Page, live_server: str) -> None:
    refused: list[str] = []

    def only_this_server(route: Route) -> None:
        if route.request.url.startswith(live_server):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    desktop.route("**/*", only_this_server)
    desktop.goto(f"{live_server}/docs")
    desktop.locator(".opblock").first.wait_for(timeout=20_000)
    assert desktop.locator(".opblock").count() > 10
    assert desktop.get_by_text("/api/v1/submissions/batch").count() > 0
    assert refused == []
    errors = desktop.console_errors  # type: ignore[attr-defined]
    assert errors == [], errors
