"""The phone with no connection, or with its server down behind the proxy: nothing is locked
as "sent" when nothing can have left the phone, no retry spins offline, the app opens from
its service worker when the server answers 502, and the outbox says what waits now."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlparse

import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect
from sqlalchemy import Engine

from tests.browser.test_collect import fill_household, open_app, stored, wait_offline_ready
from tests.browser.test_outbox import BATCH, surveys_on, uncaught, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_surveys")]
NOTHING_WAITING = "Không có khảo sát nào chờ gửi."
WAITING_OFFLINE = "sẽ gửi khi có mạng"


def locks(page: Page) -> list[tuple[str, bool]]:
    """(status, locked) of every survey on the phone, oldest first."""
    surveys = sorted(surveys_on(page), key=lambda s: str(s.get("collected_at")))
    return [(s["status"], bool(s.get("locked"))) for s in surveys]


def expect_editable_card(page: Page, count: int) -> None:
    """The home screen lists `count` waiting surveys, each with "Sửa" (none with "Xem")."""
    page.click("#home-button")
    cards = page.locator('.survey-card[data-status="pending"]')
    expect(cards).to_have_count(count)
    expect(cards.locator("button.edit")).to_have_count(count)
    expect(cards.locator("button.view")).to_have_count(0)


def test_send_now_tapped_offline_locks_nothing_and_says_it_waits_for_a_connection(
    phone_context: BrowserContext, phone: Page, sync_engine: Engine
) -> None:
    """ "Gửi ngay" offline claimed the survey, whose request failed at once: it was locked
    ("Xem" only, "sent but not confirmed") though nothing had left the phone."""
    open_app(phone)
    phone_context.set_offline(True)
    fill_household(phone)
    phone.click("#outbox-button")
    phone.click("#sync-now")
    status = phone.locator("#sync-status")
    expect(status).to_have_attribute("data-state", re.compile("offline|network"))  # it ended
    assert locks(phone) == [("pending", False)]
    expect(status).to_have_attribute("data-state", "offline")
    expect(status).to_contain_text(WAITING_OFFLINE)
    expect_editable_card(phone, 1)
    phone_context.set_offline(False)  # the `online` event sends it
    wait_for(phone, lambda: len(stored(sync_engine)) == 1, timeout_ms=15_000)
    wait_for(phone, lambda: locks(phone) == [("sent", True)])
    assert uncaught(phone) == []


def test_no_retry_spins_offline_and_a_survey_finished_then_stays_editable(
    phone_context: BrowserContext, phone: Page, sync_engine: Engine
) -> None:
    """After a failed sync the retry timer kept running offline: a survey finished later was
    claimed by the next retry and locked within seconds. The survey whose request may have
    reached the server (its answer lost) stays locked until the server confirms it."""
    open_app(phone)
    lost: list[int] = []

    def lose(route: Route) -> None:
        lost.append(1)
        route.abort("connectionreset")  # it may have left: nothing says it did not

    phone.route(BATCH, lose)
    fill_household(phone)  # finishing syncs at once: the answer is lost, a retry is timed
    wait_for(phone, lambda: len(lost) >= 1)
    wait_for(phone, lambda: locks(phone) == [("pending", True)])
    phone_context.set_offline(True)
    fill_household(phone)
    phone.wait_for_timeout(10_000)  # the backoff's retries (2 s, 4 s, 8 s) would have run
    assert locks(phone) == [("pending", True), ("pending", False)]
    phone.click("#outbox-button")
    expect(phone.locator("#sync-status")).to_contain_text(WAITING_OFFLINE)
    phone.unroute(BATCH)
    phone_context.set_offline(False)  # the `online` event sends both, the first once
    wait_for(phone, lambda: len(stored(sync_engine)) == 2, timeout_ms=15_000)
    wait_for(phone, lambda: locks(phone) == [("sent", True), ("sent", True)])
    assert uncaught(phone) == []


def test_our_servers_401_leaves_the_survey_editable(
    phone_context: BrowserContext, phone: Page, sync_engine: Engine
) -> None:
    """Our server's 401 comes before it reads anything: the survey was locked all the same."""
    open_app(phone)
    refused: list[int] = []

    def expired(route: Route) -> None:
        refused.append(1)
        route.fulfill(
            status=401,
            content_type="application/json",
            json={"code": "sign_in_required", "detail": "Cần đăng nhập.", "errors": []},
        )

    phone.route(BATCH, expired)
    fill_household(phone)
    wait_for(phone, lambda: len(refused) == 1)
    phone.click("#outbox-button")
    expect(phone.locator("#sync-status")).to_have_attribute("data-state", "signin")
    assert locks(phone) == [("pending", False)]
    assert stored(sync_engine) == []
    assert uncaught(phone) == []


def our_pages(live_server: str) -> Callable[[str], bool]:
    """A URL predicate: every request to the app's server."""
    origin = urlparse(live_server).netloc
    return lambda url: urlparse(url).netloc == origin


@pytest.mark.parametrize("status", [502, 503])
def test_the_app_opens_from_its_cache_when_the_server_behind_the_proxy_is_down(
    phone_context: BrowserContext, phone: Page, live_server: str, status: int
) -> None:
    """The proxy's 502 page for /collect was shown instead of the app and its surveys."""
    open_app(phone)
    wait_offline_ready(phone)
    phone_context.set_offline(True)
    fill_household(phone)
    seen: list[str] = []

    def proxy_down(route: Route) -> None:
        seen.append(urlparse(route.request.url).path)
        route.fulfill(status=status, content_type="text/html", body="<h1>502 Bad Gateway</h1>")

    # Caddy in front answers every request (the service worker's too) with its error page.
    phone_context.route(our_pages(live_server), proxy_down)
    phone_context.set_offline(False)
    wait_for(phone, lambda: "/api/v1/submissions/batch" in seen)
    phone.reload()
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    assert "/collect" in seen  # the service worker did ask the network first
    expect(phone.locator("body")).not_to_contain_text("Bad Gateway")
    expect(phone.locator('.survey-card[data-status="pending"]')).to_have_count(1)


def test_the_outbox_status_says_what_waits_now_not_the_last_syncs_word(
    phone_context: BrowserContext, phone: Page
) -> None:
    """The app's sync online found nothing; a survey finished offline then waited while the
    outbox said "nothing waiting" above "1 chờ gửi"."""
    open_app(phone)
    phone.click("#outbox-button")
    expect(phone.locator("#sync-status")).to_have_text(NOTHING_WAITING)  # the sync at start
    phone.click("#home-button")
    phone_context.set_offline(True)
    fill_household(phone)
    phone.click("#outbox-button")
    expect(phone.locator("#outbox-counts")).to_contain_text("1 chờ gửi")
    status = phone.locator("#sync-status")
    expect(status).to_have_text("1 khảo sát chờ gửi: đang không có mạng, sẽ gửi khi có mạng.")
    phone.click("#lang-toggle")
    expect(status).to_have_text(
        "Surveys waiting to be sent: 1. No connection now: they will be sent when the phone"
        " is online."
    )
    phone.click("#lang-toggle")
    phone_context.set_offline(False)  # sent by itself: the line says so
    expect(status).to_have_text("Đã gửi 1 khảo sát.", timeout=15_000)
    assert uncaught(phone) == []


def test_a_refusal_of_the_shell_by_someone_in_between_is_shown_not_hidden(
    phone_context: BrowserContext, phone: Page, live_server: str
) -> None:
    """Kept: a 403 (or a sign-in asked by a proxy) for the page is the person's to see."""
    open_app(phone)
    wait_offline_ready(phone)
    phone_context.route(
        our_pages(live_server),
        lambda route: route.fulfill(status=403, content_type="text/html", body="<h1>Blocked</h1>"),
    )
    phone.reload()
    expect(phone.locator("h1")).to_have_text("Blocked")
    assert phone.locator("#app").count() == 0


WIFI_LOGIN = "<html><body><h1>Wi-Fi login</h1></body></html>"


def test_a_captive_portals_page_is_shown_but_never_kept_as_the_app(
    phone_context: BrowserContext, phone: Page, live_server: str
) -> None:
    """A Wi-Fi's captive portal answering every request 200 with its login page (plain HTTP):
    the service worker kept that page as the app's shell, so the app never opened offline
    again (the surveys waiting in it unreachable) until the server was reached once more."""
    open_app(phone)
    wait_offline_ready(phone)
    phone_context.set_offline(True)
    fill_household(phone)
    phone_context.set_offline(False)
    seen: list[str] = []

    def portal(route: Route) -> None:
        seen.append(urlparse(route.request.url).path)
        route.fulfill(status=200, content_type="text/html", body=WIFI_LOGIN)

    server = our_pages(live_server)
    phone_context.route(server, portal)
    phone.reload()  # the person sees the portal's login: it is theirs to fill in
    expect(phone.locator("h1")).to_have_text("Wi-Fi login")
    assert "/collect" in seen
    phone_context.unroute(server, portal)
    phone_context.set_offline(True)  # then the Wi-Fi is gone: the app opens, from its copy
    phone.reload()
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    expect(phone.locator('.survey-card[data-status="pending"]')).to_have_count(1)
    assert uncaught(phone) == []
