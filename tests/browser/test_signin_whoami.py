"""A password sign-in whose GET /api/v1/me gets no answer (flaky 3G, a 503) left the session
without the person's id for the token's whole life: the volunteer's own outbox was hidden and
never sent, and a new survey had no maker, so it went under the next person's account. Now
the phone asks /me again (at sign-in, then at each sync and start) and makes or sends no
survey until it knows who is signed in; a survey with no maker is sent under nobody's."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect
from sqlalchemy import Engine

from tests.auth import bearer
from tests.browser.test_collect import fill_household, open_app
from tests.browser.test_outbox import surveys_on, uncaught, wait_for
from tests.browser.test_signin import (
    BATCH,
    PASSWORD,
    READ_KV,
    person,
    sign_in_with_password,
    sign_out,
    signed_in,
    stored,
    sync,
)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_surveys")]
ME = "**/api/v1/me"


@pytest.fixture
def phone_account() -> None:
    """The phones of these tests start never signed in (a test signs its own in)."""
    return None


def me_unavailable(route: Route) -> None:
    route.fulfill(status=503, content_type="text/html", body="<html>busy</html>")


def test_a_sign_in_whose_me_fails_learns_the_person_later_and_sends_their_outbox(
    phone_context: BrowserContext, phone: Page, sync_engine: Engine, live_server: str
) -> None:
    account = signed_in(phone_context, sync_engine, "tnv-whois", password=PASSWORD)
    open_app(phone)
    phone_context.set_offline(True)
    fill_household(phone)
    fill_household(phone)
    # The phone's token is revoked while 2 surveys wait; the volunteer signs in again.
    revoked = httpx.post(f"{live_server}/api/v1/auth/logout", headers=bearer(account.token))
    assert revoked.status_code == 204
    phone_context.set_offline(False)
    expect(phone.locator("#session-expired")).to_be_visible()
    phone.click("#sign-in-again")
    phone.route(ME, me_unavailable)  # the token request gets through, /me does not
    sign_in_with_password(phone, account.username, PASSWORD)
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    assert phone.evaluate(READ_KV, "session")["user"]["id"] is None
    assert stored(sync_engine) == []  # nothing sent while the person is unknown
    phone.unroute(ME)
    # The sync's backoff asks /me again: the person is known, their outbox goes.
    wait_for(phone, lambda: len(stored(sync_engine)) == 2, timeout_ms=15_000)
    assert phone.evaluate(READ_KV, "session")["user"]["id"] == account.user_id
    assert {r["collector_user_id"] for r in stored(sync_engine)} == {account.user_id}
    expect(phone.locator(".survey-card")).to_have_count(2)
    assert uncaught(phone) == []


def test_no_survey_is_started_before_the_person_is_known(
    phone_context: BrowserContext, phone: Page, sync_engine: Engine
) -> None:
    mai = person(sync_engine, "tnv-a", "Người A", password=PASSWORD)
    phone.goto("/collect")
    phone.route(ME, me_unavailable)
    sign_in_with_password(phone, "tnv-a", PASSWORD)
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    phone.click("#new-household")
    expect(phone.locator("#notice")).to_contain_text("Chưa biết tài khoản đang đăng nhập")
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    phone.click("#lang-toggle")
    expect(phone.locator("#notice")).to_contain_text("The account signed in is not known yet")
    phone.click("#lang-toggle")
    assert surveys_on(phone) == []
    phone.unroute(ME)
    phone.route(BATCH, lambda route: route.abort("internetdisconnected"))
    fill_household(phone)  # /me answers now: the survey is made, as Mai's
    (survey,) = surveys_on(phone)
    assert survey["user_id"] == mai
    expect(phone.locator("#signed-in-as")).to_contain_text("Người A")
    assert uncaught(phone) == []


def test_a_survey_with_no_maker_is_never_sent_under_another_account(
    phone_context: BrowserContext, phone: Page, sync_engine: Engine
) -> None:
    """A survey an older version made under a session without the person's id (user_id null)
    was sent with the next person's token; it is nobody's now, and waits."""
    person(sync_engine, "tnv-a", "Người A", password=PASSWORD)
    person(sync_engine, "tnv-b", "Người B", password=PASSWORD)
    phone.goto("/collect")
    sign_in_with_password(phone, "tnv-a", PASSWORD)
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    phone.route(BATCH, lambda route: route.abort("internetdisconnected"))
    fill_household(phone)
    phone.evaluate("""() => new Promise((resolve) => {
      const open = indexedDB.open("cdfmap-collect");
      open.onsuccess = () => {
        const store = open.result.transaction("surveys", "readwrite").objectStore("surveys");
        const all = store.getAll();
        all.onsuccess = () => {
          for (const s of all.result) store.put({ ...s, user_id: null, locked: false });
          store.transaction.oncomplete = () => { open.result.close(); resolve(); };
        };
      };
    })""")
    sign_out(phone)
    phone.unroute(BATCH)
    sign_in_with_password(phone, "tnv-b", PASSWORD)
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    sync(phone)
    assert stored(sync_engine) == []
    assert [s["status"] for s in surveys_on(phone)] == ["pending"]
    assert uncaught(phone) == []
