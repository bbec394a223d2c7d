"""Real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright for Python."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright
from sqlalchemy import Engine

from tests.auth import make_token, make_user

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


# The phone app's sign-in, as the app keeps it (IndexedDB "cdfmap-collect", kv "session"),
# written once per browser context before the app first starts (later loads keep whatever
# the app made of it: signed out, expired, another account).
SEED_SESSION = """(() => {
  const SEED = "cdfmap.test.seeded";
  if (location.pathname.indexOf("/collect") !== 0 || localStorage.getItem(SEED)) return;
  localStorage.setItem(SEED, "yes");
  const open = indexedDB.open("cdfmap-collect");
  open.onupgradeneeded = () => {
    for (const name of ["surveys", "photos", "kv"]) {
      if (!open.result.objectStoreNames.contains(name)) {
        open.result.createObjectStore(name, name === "surveys" ? { keyPath: "id" } : undefined);
      }
    }
  };
  open.onsuccess = () => {
    const db = open.result;
    const tx = db.transaction("kv", "readwrite");
    tx.objectStore("kv").put(__SESSION__, "session");
    tx.oncomplete = () => db.close();
  };
})();"""


@dataclass(frozen=True)
class PhoneAccount:
    """A person the phone app is signed in as, with their token."""

    user_id: int
    username: str
    token: str
    display_name: str = ""

    def session(self) -> dict[str, object]:
        """The session as the app keeps it."""
        user = {
            "id": self.user_id,
            "username": self.username,
            "display_name": self.display_name or self.username,
            "roles": [],
        }
        return {"token": self.token, "user": user, "expired": False}


def sign_in_phone(context: BrowserContext, account: PhoneAccount) -> None:
    """Sign the phone app of `context` in as `account` before it first starts."""
    context.add_init_script(
        script=SEED_SESSION.replace("__SESSION__", json.dumps(account.session()))
    )


def volunteer_account(engine: Engine, username: str, ward: str = "W01") -> PhoneAccount:
    """A volunteer of a ward of the sample city, with a phone's token."""
    user_id = make_user(engine, username, [("volunteer", ("ward", ward))])
    token = make_token(engine, user_id, kind="device", lifetime=timedelta(days=1))
    return PhoneAccount(user_id, username, token)


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


@contextmanager
def server_with_forms(database_url: str, forms_dir: Path) -> Iterator[str]:
    """The app under uvicorn reading its forms from `forms_dir`; its base URL."""
    from bench.common import uvicorn_server

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FORMS_DIR", str(forms_dir))
        with uvicorn_server("app.main:create_app", database_url) as (base, _pid):
            yield base


@contextmanager
def signed_in_phone(
    browser: Browser, base_url: str, account: PhoneAccount, **options: Any
) -> Iterator[tuple[BrowserContext, Page]]:
    """A 360 x 640 phone, Vietnamese first, its app signed in as `account`, and a page that
    records console errors; `options` add to (or replace) the context's settings."""
    settings: dict[str, Any] = {
        "viewport": PHONE,
        "is_mobile": True,
        "has_touch": True,
        "locale": "vi-VN",
        "base_url": base_url,
        "service_workers": "allow",
        **options,
    }
    context = browser.new_context(**settings)
    sign_in_phone(context, account)
    page = context.new_page()
    record_console_errors(page)
    try:
        yield context, page
    finally:
        context.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One Chromium for the session; fails (never skips) when Chromium is missing."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make test` (it installs chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def volunteer(sync_engine: Engine) -> PhoneAccount:
    """tnv-07, a volunteer of the sample city's first ward, whose phone is enrolled."""
    return volunteer_account(sync_engine, "tnv-07")


@pytest.fixture
def phone_account(volunteer: PhoneAccount) -> PhoneAccount | None:
    """Who the `phone` is signed in as (override with None for a phone never signed in)."""
    return volunteer


@pytest.fixture
def phone_context(
    browser: Browser, live_server: str, phone_account: PhoneAccount | None
) -> Iterator[BrowserContext]:
    """A 360 x 640 phone with GPS granted at a point in Tam Kỳ, Vietnamese first, its app
    signed in as `phone_account`."""
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
    if phone_account is not None:
        sign_in_phone(context, phone_account)
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


def sign_in_browser(
    context: BrowserContext,
    engine: Engine,
    base_url: str,
    username: str = "browser-admin",
    grants: tuple[tuple[str, Any], ...] = (("national_admin", None),),
) -> None:
    """Give a browser context the session cookie of a person (a national admin by default),
    as the sign-in page would."""
    user_id = make_user(engine, username, list(grants))
    token = make_token(engine, user_id, kind="session", lifetime=timedelta(hours=2))
    context.add_cookies([{"name": "cdfmap_session", "value": token, "url": base_url}])


@pytest.fixture
def signed_in_desktop(browser: Browser, live_server: str, sync_engine: Engine) -> Iterator[Page]:
    """A 1280 x 800 desktop page signed in as a national admin, recording console errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=live_server)
    sign_in_browser(context, sync_engine, live_server)
    page = context.new_page()
    record_console_errors(page)
    yield page
    context.close()
