"""Middleboxes between the phone and the server (a captive portal's Wi-Fi login, a proxy's
empty answer, its body limit, its redirect, its own 401 or 403 page) are "not now": nothing
is counted sent or uploaded, no survey fails and the session stays signed in; the outbox waits
and, once the middlebox is gone, goes by itself exactly once. Only our server's JSON answer
is taken as its word."""

from __future__ import annotations

import shutil
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect
from sqlalchemy import Engine

from app.settings import Settings
from tests.browser.test_collect import fill_household, fill_household_with_photo, jpeg, open_app
from tests.browser.test_collect import stored as stored_households
from tests.browser.test_corrections import correct, sent_back
from tests.browser.test_outbox import BATCH, PHOTO_KEYS, surveys_on, uncaught, wait_for
from tests.browser.test_signin import signed_in, stored
from tests.browser.test_sync_transient import ATTACHMENTS, SUBMISSION, attachments_of

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_surveys")]
WIFI_LOGIN = "<html><body>Wi-Fi login</body></html>"


def middlebox(seen: list[str], **answer: Any) -> Any:
    """A middlebox that answers every request it sees with `answer` (route.fulfill's)."""

    def handle(route: Route) -> None:
        seen.append(route.request.method)
        route.fulfill(**answer)

    return handle


def waiting_offline(phone_context: BrowserContext, phone: Page, count: int) -> list[str]:
    """`count` surveys finished offline (oldest first); their ids."""
    open_app(phone)
    phone_context.set_offline(True)
    for _ in range(count):
        fill_household(phone)
    surveys = sorted(surveys_on(phone), key=lambda s: s["collected_at"])
    return [s["id"] for s in surveys]


def assert_all_wait(phone: Page, ids: list[str]) -> None:
    """Every survey of `ids` waits, locked as sent; none failed."""
    states = {s["id"]: (s["status"], s.get("locked")) for s in surveys_on(phone)}
    assert {states[i] for i in ids} == {("pending", True)}
    assert phone.locator(".outbox-item[data-status='failed']").count() == 0


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 200, "content_type": "text/html", "body": WIFI_LOGIN},
        {"status": 200, "body": ""},
    ],
    ids=["portal-page", "empty"],
)
def test_a_photo_answered_by_a_middlebox_stays_on_the_phone_and_goes_later(
    phone_context: BrowserContext, phone: Page, sync_engine: Engine, answer: dict[str, Any]
) -> None:
    """The upload answered 200 by a Wi-Fi login page (or an empty 200) was counted uploaded
    and the photo deleted from the phone, the server never having it."""
    open_app(phone)
    seen: list[str] = []
    phone.route(ATTACHMENTS, middlebox(seen, **answer))
    fill_household_with_photo(phone, jpeg((640, 480), (30, 160, 90)))
    phone.click("#finish")
    wait_for(phone, lambda: len(seen) >= 1)
    (row,) = stored_households(sync_engine)
    try:
        phone.click("#outbox-button")
        expect(phone.locator("#sync-status")).to_have_attribute("data-state", "server")
        expect(phone.locator("#sync-status")).to_contain_text("Wi-Fi")
        (survey,) = surveys_on(phone)
        assert survey["status"] == "sent" and survey["uploaded"] == []
        assert not survey.get("photo_refused")
        assert len(phone.evaluate(PHOTO_KEYS)) == 1  # still on the phone
        assert attachments_of(sync_engine, row["id"]) == 0
        phone.unroute(ATTACHMENTS)  # the middlebox goes: the backoff's retry sends it
        wait_for(phone, lambda: attachments_of(sync_engine, row["id"]) == 1, timeout_ms=15_000)
        wait_for(phone, lambda: phone.evaluate(PHOTO_KEYS) == [])
        (survey,) = surveys_on(phone)
        assert survey["uploaded"] == survey["photos"] and not survey.get("photo_refused")
        assert attachments_of(sync_engine, row["id"]) == 1
    finally:
        shutil.rmtree(Settings().media_dir / row["id"], ignore_errors=True)
    assert uncaught(phone) == []


def test_a_correction_answered_by_a_wifi_login_page_waits_and_goes_later(
    phone_context: BrowserContext,
    phone: Page,
    sync_engine: Engine,
    live_server: str,
    admin_token: str,
) -> None:
    """A correction's PUT answered 200 by a captive portal was marked sent ("Đã gửi 1 khảo
    sát") though the server never had it."""
    signed_in(phone_context, sync_engine, "tnv-portal-put")
    open_app(phone)
    row = sent_back(phone, sync_engine, live_server, admin_token, "Hộ có 5 người.")
    seen: list[str] = []
    portal = middlebox(seen, status=200, content_type="text/html", body=WIFI_LOGIN)
    phone.route(
        SUBMISSION,
        lambda route: portal(route) if route.request.method == "PUT" else route.continue_(),
    )
    correct(phone, row["id"], "5")  # finishing it syncs at once
    wait_for(phone, lambda: len(seen) >= 1)
    phone.click("#outbox-button")
    item = phone.locator(f'.outbox-item[data-id="{row["id"]}"]')
    expect(phone.locator("#sync-status")).to_have_attribute("data-state", "server")
    expect(phone.locator("#sync-status")).not_to_contain_text("Đã gửi")
    expect(item).to_have_attribute("data-status", "pending")
    assert_all_wait(phone, [row["id"]])
    (kept,) = stored(sync_engine)
    assert (kept["version"], kept["answers"]["household_size"]) == (row["version"], 4)
    phone.unroute(SUBMISSION)
    expect(item).to_have_attribute("data-status", "sent", timeout=15_000)  # the retry
    (kept,) = stored(sync_engine)
    assert (kept["version"], kept["answers"]["household_size"]) == (2, 5)
    assert kept["status"] == "received"
    assert uncaught(phone) == []


def test_a_survey_a_proxy_refuses_waits_and_the_rest_of_the_outbox_goes(
    phone_context: BrowserContext, phone: Page, sync_engine: Engine
) -> None:
    """A proxy's 413 page to every batch holding the oldest survey: the batch was split down
    to that survey alone, and the sync stopped there, the others never sent."""
    ids = waiting_offline(phone_context, phone, 3)
    refused: list[str] = []

    def proxy(route: Route) -> None:
        sent = [s["id"] for s in route.request.post_data_json["submissions"]]
        if ids[0] in sent:
            refused.append(",".join(sent))
            route.fulfill(status=413, content_type="text/html", body="<html>Too large</html>")
        else:
            route.continue_()

    phone.route(BATCH, proxy)
    phone.click("#outbox-button")
    phone_context.set_offline(False)  # the `online` event syncs
    wait_for(phone, lambda: len(stored_households(sync_engine)) == 2)
    expect(phone.locator("#sync-status")).to_have_attribute("data-state", "server")
    assert sorted(r["id"] for r in stored_households(sync_engine)) == sorted(ids[1:])
    assert_all_wait(phone, ids[:1])
    expect(phone.locator(".outbox-item[data-status='sent']")).to_have_count(2)
    assert refused[-1] == ids[0]
    phone.unroute(BATCH)
    wait_for(phone, lambda: len(stored_households(sync_engine)) == 3, timeout_ms=15_000)
    expect(phone.locator(".outbox-item[data-status='sent']")).to_have_count(3)
    assert sorted(r["id"] for r in stored_households(sync_engine)) == sorted(ids)
    assert uncaught(phone) == []


@pytest.mark.parametrize("status", [401, 403])
def test_a_middleboxs_401_or_403_page_keeps_the_session_and_the_outbox_goes_later(
    phone_context: BrowserContext, phone: Page, sync_engine: Engine, status: int
) -> None:
    """A captive portal's 401 page marked the valid token expired (nothing sent until a new
    QR code); a proxy's 403 page stopped sending with no retry, saying the account may not."""
    ids = waiting_offline(phone_context, phone, 2)
    seen: list[str] = []
    phone.route(BATCH, middlebox(seen, status=status, content_type="text/html", body=WIFI_LOGIN))
    phone.click("#outbox-button")
    phone_context.set_offline(False)  # the `online` event syncs
    wait_for(phone, lambda: len(seen) >= 1)
    expect(phone.locator("#sync-status")).to_have_attribute("data-state", "server")
    expect(phone.locator("#sync-status")).to_contain_text("Wi-Fi")
    expect(phone.locator("#session-expired")).to_be_hidden()
    assert not phone.evaluate(SESSION)["expired"]
    assert_all_wait(phone, ids)
    assert stored_households(sync_engine) == []
    phone.unroute(BATCH)  # the backoff's retry sends them, with the same token
    wait_for(phone, lambda: len(stored_households(sync_engine)) == 2, timeout_ms=15_000)
    expect(phone.locator(".outbox-item[data-status='sent']")).to_have_count(2)
    assert sorted(r["id"] for r in stored_households(sync_engine)) == sorted(ids)
    expect(phone.locator("#session-expired")).to_be_hidden()
    assert uncaught(phone) == []


def test_a_redirect_to_a_path_of_the_site_keeps_the_surveys_waiting(
    phone_context: BrowserContext, phone: Page, sync_engine: Engine
) -> None:
    """A 302 to a path of the same site was followed as a GET, which our server answered 404
    with its JSON error: both surveys failed."""
    ids = waiting_offline(phone_context, phone, 2)
    seen: list[str] = []
    phone.route(
        BATCH, middlebox(seen, status=302, headers={"location": "/api/v1/wifi-login"}, body="")
    )
    phone.click("#outbox-button")
    phone_context.set_offline(False)  # the `online` event syncs
    wait_for(phone, lambda: len(seen) >= 1)
    expect(phone.locator("#sync-status")).to_have_attribute("data-state", "server")
    assert_all_wait(phone, ids)
    assert stored_households(sync_engine) == []
    phone.unroute(BATCH)
    wait_for(phone, lambda: len(stored_households(sync_engine)) == 2, timeout_ms=15_000)
    expect(phone.locator(".outbox-item[data-status='sent']")).to_have_count(2)
    assert sorted(r["id"] for r in stored_households(sync_engine)) == sorted(ids)
    assert uncaught(phone) == []


# The session as the phone keeps it (IndexedDB, kv "session").
SESSION = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open("cdfmap-collect");
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const db = open.result;
    const request = db.transaction("kv").objectStore("kv").get("session");
    request.onsuccess = () => { db.close(); resolve(request.result); };
    request.onerror = () => reject(request.error);
  };
})"""
