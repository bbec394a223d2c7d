"""Map pages with hostile names in real Chromium, under the app's Content-Security-Policy.

The pages are served by the app in a uvicorn thread with a test middleware that sets
`request.state.csp_nonce` and sends the policy, as the CSP middleware does (when that
middleware is installed, its own nonce and header are kept). No name may open a dialog, add
markup or fail a script; titles, popups and legends show the names as typed.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from fastapi import Request, Response
from playwright.sync_api import Browser, Dialog, Page
from sqlalchemy import Engine
from starlette.middleware.base import RequestResponseEndpoint

from app.i18n import translate
from app.main import create_app
from app.settings import Settings
from bench.common import free_port
from tests.browser.conftest import record_console_errors, sign_in_browser
from tests.hostile import (
    DOLLARS,
    FORMAT,
    HTML_ATTRIBUTE,
    HTML_SCRIPT,
    HTML_TITLE,
    MATHTEXT,
    TEMPLATE_BLOCK,
    TEMPLATE_CODE,
    UNICODE,
)
from tests.integration.test_maps_hostile import hostile_forms, import_place, remove_places

pytestmark = pytest.mark.browser

POLICY = (
    "default-src 'self'; script-src 'self' 'nonce-{nonce}'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
# Names chosen for what a browser does with them: close <title>, close <script>, leave an
# attribute, run a template or a JavaScript template literal.
CITIES = [
    {
        "slug": "browser-hostile-a",
        "city": HTML_TITLE,
        "ward": HTML_SCRIPT,
        "settlements": [HTML_ATTRIBUTE, TEMPLATE_CODE, MATHTEXT],
    },
    {
        "slug": "browser-hostile-b",
        "city": FORMAT,
        "ward": HTML_TITLE,
        "settlements": [HTML_SCRIPT, UNICODE, DOLLARS, TEMPLATE_BLOCK],
    },
]
SCRIPTS = "Array.from(document.scripts, (s) => s.src ? 'src' : s.type || 'inline').join()"
# The open popup's first row (the settlement's name) holds exactly this text.
POPUP_SHOWS = """(name) => Array.from(
  document.querySelectorAll('.leaflet-popup-content tr:first-child td'),
  (cell) => cell.textContent,
).includes(name)"""
TOOLTIP_SHOWS = """(name) => Array.from(
  document.querySelectorAll('.leaflet-tooltip'), (tip) => tip.textContent,
).includes(name)"""
# Records what the policy refused (Playwright's init scripts are not subject to it).
WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  window.__violations.push(event.violatedDirective + ' ' + event.blockedURI);
});
"""


@pytest.fixture(scope="module")
def places(sync_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The two hostile cities, removed afterwards."""
    root = tmp_path_factory.mktemp("browser-hostile")
    made = [
        import_place(
            sync_engine,
            root / city["slug"],
            city["slug"],
            city["city"],
            [city["ward"]],
            [city["settlements"]],
            101.0 + index,
        )
        for index, city in enumerate(CITIES)
    ]
    yield made
    remove_places(sync_engine, [city["slug"] for city in CITIES])


@pytest.fixture(scope="module")
def csp_server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, dict[str, str]]]]:
    """The app with hostile answer labels under uvicorn in a thread, sending the CSP; yields
    its base URL and those labels."""
    forms_dir = tmp_path_factory.mktemp("browser-forms") / "forms"
    labels = hostile_forms(forms_dir)
    settings = Settings(
        database_url=database_url,
        forms_dir=forms_dir,
        media_dir=tmp_path_factory.mktemp("browser-media"),
    )
    app = create_app(settings)

    @app.middleware("http")
    async def content_security_policy(
        request: Request, call_next: RequestResponseEndpoint
    ) -> Response:
        nonce = secrets.token_urlsafe(16)
        request.state.csp_nonce = nonce  # the app's own CSP middleware, if any, replaces it
        response = await call_next(request)
        if "content-security-policy" not in response.headers:
            response.headers["Content-Security-Policy"] = POLICY.format(nonce=nonce)
        return response

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "test server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", labels
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page(browser: Browser, csp_server: tuple[str, Any], sync_engine: Engine) -> Iterator[Page]:
    """A desktop page on the CSP server, signed in as a national admin, recording console
    errors, policy violations and dialogs (dismissed)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=csp_server[0])
    sign_in_browser(context, sync_engine, csp_server[0])
    context.add_init_script(WATCH_VIOLATIONS)
    new_page = context.new_page()
    record_console_errors(new_page)
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    new_page.on("dialog", on_dialog)
    new_page.dialogs = dialogs  # type: ignore[attr-defined]
    yield new_page
    context.close()


def check_scripts(html: str, policy: str) -> None:
    """Every script the page runs carries the policy's nonce; no inline event handler."""
    nonce = re.search(r"'nonce-([^']+)'", policy)
    assert nonce, policy
    for tag in re.findall(r"<script\b[^>]*>", html):
        if 'type="application/json"' not in tag:
            assert f'nonce="{nonce.group(1)}"' in tag, tag
    assert re.search(r"<[^>]*\son[a-z]+\s*=", html, re.IGNORECASE) is None


def open_map(page: Page, url: str) -> None:
    """Load a map page under the policy and wait until cdfmap.js has drawn it."""
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self' 'nonce-" in policy
    check_scripts(response.text(), policy)
    page.wait_for_load_state("networkidle")
    page.locator(".cdf-title-main").wait_for(timeout=10_000)


@pytest.mark.parametrize("language", ["vi", "en"])
def test_hostile_names_in_chromium_under_csp(
    page: Page, places: list[dict[str, Any]], csp_server: tuple[str, Any], language: str
) -> None:
    labels = csp_server[1]
    # The scripts of a map page with friendly names: a hostile one may add none.
    open_map(page, f"/maps/cities/tam-ky?lang={language}")
    scripts = page.evaluate(SCRIPTS)
    for city in places:
        ward = city["wards"][0]
        pages = [
            (
                f"/maps/cities/{city['slug']}?lang={language}",
                translate("map_page.city_title", language, city=city["city"]),
            ),
            (
                f"/maps/wards/{ward['id']}?lang={language}",
                translate("map_page.ward_title", language, ward=ward["name"], city=city["city"]),
            ),
        ]
        for url, title in pages:
            open_map(page, url)
            assert page.title() == title, url
            assert page.locator(".cdf-title-main").text_content() == title
            # Nothing from a name became an element.
            assert page.evaluate(SCRIPTS) == scripts
            assert page.locator("img").count() == 0
            assert page.evaluate("document.querySelectorAll('title').length") == 1
            legend = page.locator(".cdf-legend").text_content() or ""
            for label in labels["tenure"].values():
                assert label in legend, label
            # Each settlement's name on the map is its text as typed, nothing more.
            shown = page.evaluate(
                "Array.from(document.querySelectorAll('.cdf-label'), (e) => e.textContent)"
            )
            assert sorted(shown) == sorted(ward["settlements"]), url
            assert page.locator(".cdf-label *").count() == len(ward["settlements"])
            # Each settlement's popup and tooltip show its name as typed.
            shapes = page.locator("path.leaflet-interactive")
            assert shapes.count() == len(ward["settlements"]) + 1  # and the ward's outline
            for index, name in enumerate(ward["settlements"]):
                box = shapes.nth(index).bounding_box()
                assert box is not None
                page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
                page.wait_for_function(POPUP_SHOWS, arg=name, timeout=5000)
                page.wait_for_function(TOOLTIP_SHOWS, arg=name, timeout=5000)
                page.evaluate("document.querySelector('.leaflet-popup-close-button').click()")
                page.locator(".leaflet-popup").wait_for(state="detached")
            assert page.evaluate("window.__violations") == [], url
    assert page.dialogs == []  # type: ignore[attr-defined]
    assert page.console_errors == []  # type: ignore[attr-defined]
