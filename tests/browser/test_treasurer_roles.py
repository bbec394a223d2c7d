"""Who sees what on the phone's home screen (static/collect/app.js, treasurer.js), in Chromium:
a person whose only role is treasurer (thủ quỹ) sees the sheet and no survey buttons, also
when the phone learns the role only from GET /api/v1/me; a volunteer without the role never
sees the sheet, also right after a treasurer used the same phone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import Engine, text

from tests.browser.conftest import PHONE, record_console_errors, volunteer_account
from tests.browser.test_collect import wait_offline_ready
from tests.cdf_support import drop_cities, make_city, treasurer

pytestmark = [pytest.mark.browser]
expect.set_options(timeout=15_000)

CITY = "cdf-roles-town"
# The session as the app keeps it (IndexedDB kv "session"): another person signs in.
WRITE_SESSION = """(session) => new Promise((resolve, reject) => {
  const open = indexedDB.open("cdfmap-collect");
  open.onsuccess = () => {
    const db = open.result;
    const tx = db.transaction("kv", "readwrite");
    tx.objectStore("kv").put(session, "session");
    tx.oncomplete = () => { db.close(); resolve(null); };
    tx.onerror = () => reject(tx.error);
  };
  open.onerror = () => reject(open.error);
})"""
SEED = """(() => {
  if (location.pathname.indexOf("/collect") !== 0 || localStorage.getItem("roles.seeded")) return;
  localStorage.setItem("roles.seeded", "yes");
  const open = indexedDB.open("cdfmap-collect");
  open.onupgradeneeded = () => {
    for (const name of ["surveys", "photos", "kv"]) {
      if (!open.result.objectStoreNames.contains(name)) {
        open.result.createObjectStore(name, name === "surveys" ? { keyPath: "id" } : undefined);
      }
    }
  };
  open.onsuccess = () => {
    const tx = open.result.transaction("kv", "readwrite");
    tx.objectStore("kv").put(__SESSION__, "session");
    tx.oncomplete = () => open.result.close();
  };
})();"""


@pytest.fixture(scope="module")
def people(live_server: str, sync_engine: Engine) -> Iterator[dict[str, Any]]:
    """A city with a fund and one savings group, its treasurer (no other role), and a
    volunteer of the sample city."""
    ids = make_city(sync_engine, CITY, "Thành phố Vai Trò")
    with sync_engine.begin() as connection:
        fund = connection.execute(
            text("INSERT INTO cdf_funds (city_id, name) VALUES (:city, 'CDF') RETURNING id"),
            {"city": ids["city"]},
        ).scalar_one()
        group = connection.execute(
            text(
                "INSERT INTO cdf_groups (fund_id, settlement_id, name, founded_on, "
                "meeting_frequency, share_value) VALUES (:fund, :settlement, "
                "'Nhóm tiết kiệm Hòa Bình', '2025-01-01', 'monthly', 20000) RETURNING id"
            ),
            {"fund": fund, "settlement": ids["settlement"]},
        ).scalar_one()
    token = treasurer(sync_engine, "tq-vai-tro", ids["city"], group)
    with sync_engine.connect() as connection:
        user_id = connection.execute(
            text("SELECT id FROM users WHERE username = 'tq-vai-tro'")
        ).scalar_one()
    volunteer = volunteer_account(sync_engine, "tnv-vai-tro")
    yield {
        "group": int(group),
        "city": ids["city"],
        "treasurer": {"id": int(user_id), "token": token},
        "volunteer": volunteer,
    }
    drop_cities(sync_engine, CITY)


def treasurer_session(people: dict[str, Any], roles_known: bool) -> dict[str, Any]:
    """The treasurer's session on the phone; without `roles_known` an old one, with no roles
    (the phone learns them from GET /api/v1/me)."""
    roles = [
        {
            "role": "treasurer",
            "city": CITY,
            "city_id": people["city"],
            "ward_id": None,
            "cdf_group_id": people["group"],
        }
    ]
    user = {
        "id": people["treasurer"]["id"],
        "username": "tq-vai-tro",
        "display_name": "Thủ quỹ",
        "roles": roles if roles_known else [],
    }
    return {"token": people["treasurer"]["token"], "user": user, "expired": False}


@pytest.fixture
def phone(browser: Browser, live_server: str) -> Iterator[tuple[BrowserContext, Page]]:
    context = browser.new_context(
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        locale="vi-VN",
        base_url=live_server,
        service_workers="allow",
    )
    page = context.new_page()
    record_console_errors(page)
    yield context, page
    context.close()


def seed(context: BrowserContext, session: dict[str, Any]) -> None:
    context.add_init_script(script=SEED.replace("__SESSION__", json.dumps(session)))


def treasurer_home(page: Page) -> None:
    """Only the sheet: no survey button, no outbox, no list of surveys."""
    expect(page.locator("#treasurer-open")).to_be_visible()
    expect(page.locator("#treasurer-home")).to_be_visible()
    for selector in ("button[id^=new-]", "#outbox-button", "#my-surveys"):
        expect(page.locator(selector)).to_have_count(0)


@pytest.mark.parametrize("roles_known", [True, False], ids=["session", "from-me"])
def test_a_treasurer_only_sees_the_sheet(
    phone: tuple[BrowserContext, Page], people: dict[str, Any], roles_known: bool
) -> None:
    context, page = phone
    seed(context, treasurer_session(people, roles_known))
    page.goto("/collect")
    expect(page.locator("html")).to_have_attribute("data-app-ready", "yes")
    treasurer_home(page)
    # The settings hold the account only (no collector's name: there are no surveys).
    page.click("#settings-button")
    expect(page.locator("#account-name")).to_contain_text("tq-vai-tro")
    expect(page.locator("#collector")).to_have_count(0)
    page.click("#view-back")
    page.click("#treasurer-open")
    expect(page.locator("#app")).to_have_attribute("data-view", "treasurer")
    expect(page.locator("#group-name")).to_have_text("Nhóm tiết kiệm Hòa Bình")
    # Reloaded offline, the phone still knows (the roles were kept with the person).
    page.click("#home-button")
    wait_offline_ready(page)
    context.set_offline(True)
    page.reload()
    treasurer_home(page)
    context.set_offline(False)
    errors: list[str] = page.console_errors  # type: ignore[attr-defined]
    assert [e for e in errors if "Failed to load resource" not in e] == []


def test_a_volunteer_never_sees_the_sheet(
    phone: tuple[BrowserContext, Page], people: dict[str, Any]
) -> None:
    context, page = phone
    # The treasurer used the phone first (their roles are kept on it)...
    seed(context, treasurer_session(people, True))
    page.goto("/collect")
    expect(page.locator("html")).to_have_attribute("data-app-ready", "yes")
    treasurer_home(page)
    # ...then a volunteer signs in on it: the survey screens, and no sheet.
    volunteer = people["volunteer"]
    page.evaluate(WRITE_SESSION, volunteer.session())
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-app-ready", "yes")
    expect(page.locator("button[id^=new-]").first).to_be_visible()
    expect(page.locator("#outbox-button")).to_be_visible()
    expect(page.locator("#treasurer-open")).to_be_hidden()
    # Once the server has told the phone the volunteer's roles, still no sheet.
    page.wait_for_load_state("networkidle")
    page.reload()
    expect(page.locator("button[id^=new-]").first).to_be_visible()
    expect(page.locator("#treasurer-open")).to_be_hidden()
    errors: list[str] = page.console_errors  # type: ignore[attr-defined]
    assert [e for e in errors if "Failed to load resource" not in e] == []
