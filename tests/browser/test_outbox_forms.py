"""The outbox with more than one form on the phone: a form without a location, a survey the
server refuses beside good ones, and what the status line says (real Chromium, real server)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import Engine, text

from app.settings import REPO_ROOT
from tests.browser.conftest import (
    TAM_KY,
    PhoneAccount,
    server_with_forms,
    signed_in_phone,
)
from tests.browser.test_collect import HOUSEHOLD_SCREENS, fill_screen, next_screen, open_app
from tests.phone_forms import VISIT_FORM_ID, write_visit_form

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_surveys")]


@pytest.fixture(scope="module")
def two_forms_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app under uvicorn with the household form and a form without a geopoint."""
    forms_dir = tmp_path_factory.mktemp("outbox-forms") / "forms"
    forms_dir.mkdir()
    shutil.copy(REPO_ROOT / "forms" / "household.xlsx", forms_dir / "household.xlsx")
    write_visit_form(forms_dir / "visit_note.xlsx")
    with server_with_forms(database_url, forms_dir) as base:
        yield base


@pytest.fixture
def two_forms_phone(
    browser: Browser, two_forms_server: str, volunteer: PhoneAccount
) -> Iterator[tuple[BrowserContext, Page]]:
    with signed_in_phone(
        browser, two_forms_server, volunteer, geolocation=TAM_KY, permissions=["geolocation"]
    ) as phone:
        yield phone


def fill_visit(page: Page) -> None:
    """From the home screen, fill and finish one meeting note (no location asked)."""
    page.click(f"#new-{VISIT_FORM_ID}")
    expect(page.locator("#app")).to_have_attribute("data-view", "survey")
    page.fill('section.question[data-name="meeting_place"] input', "Nhà văn hoá tổ 3")
    page.fill('section.question[data-name="people_present"] input', "12")
    page.click("#finish")
    expect(page.locator("#app")).to_have_attribute("data-view", "home")


def fill_household_of_two(page: Page) -> None:
    """From the home screen (two forms offered), fill and finish one household survey."""
    page.click("#new-household")
    expect(page.locator(".gps")).to_have_attribute("data-state", "fix")
    next_screen(page)
    for index, answers in enumerate(HOUSEHOLD_SCREENS):
        fill_screen(page, answers)
        if index < len(HOUSEHOLD_SCREENS) - 1:
            next_screen(page)
    page.click("#finish")
    expect(page.locator("#app")).to_have_attribute("data-view", "home")


def stored_forms(engine: Engine) -> list[tuple[str, bool]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT form_id, geom IS NULL FROM household_surveys ORDER BY form_id")
        )
        return [(row[0], row[1]) for row in rows]


def test_a_form_without_a_location_is_sent_beside_household_surveys(
    two_forms_phone: tuple[BrowserContext, Page],
    two_forms_server: str,
    sync_engine: Engine,
    volunteer: PhoneAccount,
) -> None:
    context, page = two_forms_phone
    open_app(page)
    context.set_offline(True)
    fill_visit(page)
    fill_household_of_two(page)
    # The home screen draws its cards from IndexedDB after it shows: wait for both.
    expect(page.locator(".survey-card")).to_have_count(2)
    assert [c.get_attribute("data-status") for c in page.locator(".survey-card").all()] == [
        "pending",
        "pending",
    ]
    context.set_offline(False)
    page.click("#outbox-button")
    expect(page.locator('.outbox-item[data-status="sent"]')).to_have_count(2)
    expect(page.locator("#sync-status")).to_have_attribute("data-state", "idle")
    assert stored_forms(sync_engine) == [("household", False), (VISIT_FORM_ID, True)]
    errors: list[str] = page.console_errors  # type: ignore[attr-defined]
    assert [e for e in errors if "Failed to load resource" not in e] == []


def test_the_status_line_says_no_connection_only_when_there_was_none(
    two_forms_phone: tuple[BrowserContext, Page], sync_engine: Engine
) -> None:
    context, page = two_forms_phone
    open_app(page)
    context.set_offline(True)
    fill_visit(page)
    page.route(
        "**/api/v1/submissions/batch",
        lambda route: route.fulfill(
            status=503, content_type="application/json", body='{"detail": "busy"}'
        ),
    )
    context.set_offline(False)
    page.click("#outbox-button")
    status = page.locator("#sync-status")
    expect(status).to_have_attribute("data-state", "server")
    expect(status).to_contain_text("503")
    expect(status).not_to_contain_text("mất mạng")
    expect(page.locator("#network")).to_contain_text("Có mạng")
    page.unroute("**/api/v1/submissions/batch")
    page.route("**/api/v1/submissions/batch", lambda route: route.abort("connectionreset"))
    page.click("#sync-now")
    expect(status).to_have_attribute("data-state", "network")
    expect(status).to_contain_text("mất mạng")
    page.unroute("**/api/v1/submissions/batch")
    page.click("#sync-now")
    expect(page.locator('.outbox-item[data-status="sent"]')).to_have_count(1)
    expect(status).to_have_attribute("data-state", "idle")
    assert stored_forms(sync_engine) == [(VISIT_FORM_ID, True)]
