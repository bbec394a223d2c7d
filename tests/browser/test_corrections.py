"""Corrections the server refuses or has taken before (real Chromium, real server): one of a
survey another person collected (403 not_collector, or 404 for one who may not even read it)
fails alone, locked, and the rest of the outbox still goes; one refused because the account
may no longer send (403 not_allowed) stops the sync and waits, never lost; one retried after
its answer was lost and the reviewer sent the survey back again is a resend (it names the
version it was made on), which leaves the send-back standing, a confirmation (the survey
finished without a change) as well as a changed correction."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, Response, Route, expect
from sqlalchemy import Engine, text

from app.services.auth import hash_password
from tests.auth import bearer, make_user
from tests.browser.test_collect import (
    fill_household,
    fill_household_with_photo,
    fill_screen,
    jpeg,
    next_screen,
    open_app,
)
from tests.browser.test_outbox import surveys_on, to_last_screen, uncaught, wait_for
from tests.browser.test_signin import (
    PASSWORD,
    person,
    review,
    sign_in_with_password,
    signed_in,
    stored,
    sync,
)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_surveys")]
SUBMISSION = "**/api/v1/submissions/*"


@pytest.fixture
def phone_account() -> None:
    """The phones of these tests start never signed in (a test signs its own in)."""
    return None


def note_puts(page: Page) -> list[tuple[str, int]]:
    """(survey id, status) of every correction the page sends, as the server answers it."""
    puts: list[tuple[str, int]] = []

    def note(response: Response) -> None:
        if response.request.method == "PUT" and "/api/v1/submissions/" in response.url:
            puts.append((response.url.rsplit("/", 1)[-1], response.status))

    page.on("response", note)
    return puts


def sent_back(
    page: Page, engine: Engine, live_server: str, admin_token: str, comment: str
) -> dict[str, Any]:
    """From the home screen: a survey is filled and sent, the reviewer sends it back, and the
    phone learns so; its row on the server."""
    before = {row["id"] for row in stored(engine)}
    fill_household(page)
    page.click("#outbox-button")
    wait_for(page, lambda: len(stored(engine)) == len(before) + 1)
    (row,) = [row for row in stored(engine) if row["id"] not in before]
    review(live_server, admin_token, row["id"], "needs_correction", comment)
    sync(page)
    item = page.locator(f'.outbox-item[data-id="{row["id"]}"]')
    expect(item).to_have_attribute("data-review", "needs_correction")
    page.click("#home-button")
    return row


def correct(page: Page, survey_id: str, household_size: str) -> None:
    """From the home screen: correct the household's size as asked, and finish."""
    page.locator(f'.survey-card[data-id="{survey_id}"] button.correct').click()
    expect(page.locator("#app")).to_have_attribute("data-view", "survey")
    next_screen(page)
    fill_screen(page, {"household_size": household_size})
    to_last_screen(page)
    page.click("#finish")
    expect(page.locator("#app")).to_have_attribute("data-view", "home")


# The survey of an id as made before accounts existed: no maker (user_id) at all.
FORGET_MAKER = """(id) => new Promise((resolve, reject) => {
  const open = indexedDB.open("cdfmap-collect");
  open.onsuccess = () => {
    const tx = open.result.transaction("surveys", "readwrite");
    const store = tx.objectStore("surveys");
    const request = store.get(id);
    request.onsuccess = () => {
      const { user_id: _, ...survey } = request.result;
      store.put(survey);
    };
    tx.oncomplete = () => { open.result.close(); resolve(); };
    tx.onerror = () => reject(tx.error);
  };
})"""

WARD = ("ward", "W03")  # where the phone's GPS puts the households
# Who signs in after Mai: her ward's leader, who surveys too and may read Mai's surveys (403
# not_collector), or another volunteer, who may not even read them (404 not_found); and what
# the phone says of Mai's correction, in Vietnamese and in English.
SHARED_WITH = {
    "ward-leader": (
        [("volunteer", WARD), ("ward_leader", WARD)],
        (403, "not_collector"),
        ("Khảo sát này do người khác thu thập", "Someone else collected this survey"),
    ),
    "volunteer": (
        [("volunteer", WARD)],
        (404, "not_found"),
        ("không có khảo sát này trên máy chủ", "The server has no such survey"),
    ),
}


@pytest.mark.parametrize("other", list(SHARED_WITH))
def test_a_correction_of_another_persons_survey_fails_alone_and_the_outbox_still_goes(
    phone_context: BrowserContext,
    phone: Page,
    sync_engine: Engine,
    live_server: str,
    admin_token: str,
    other: str,
) -> None:
    """A shared phone: Mai's survey carries no maker (as one made before accounts existed, or
    an older app version's), so it is everyone's and goes with whoever signs in next: Lan.
    (A sign-in whose /me fails no longer makes such surveys: test_signin_whoami.py.)"""
    grants, (refusal, code), (vi, en) = SHARED_WITH[other]
    mai = person(sync_engine, "tnv-mai", "Trần Thị Mai", password=PASSWORD)
    lan = make_user(sync_engine, "tnv-lan", grants, password_hash=hash_password(PASSWORD))
    puts = note_puts(phone)
    phone.goto("/collect")
    sign_in_with_password(phone, "tnv-mai", PASSWORD)
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    hers = sent_back(phone, sync_engine, live_server, admin_token, "Hộ có 5 người.")
    assert hers["collector_user_id"] == mai
    phone_context.set_offline(True)  # corrected where there is no signal
    correct(phone, hers["id"], "5")
    phone.evaluate(FORGET_MAKER, hers["id"])
    phone.click("#settings-button")
    phone.click("#sign-out")
    phone.click("#confirm-ok")  # her correction waits on the phone
    expect(phone.locator("#app")).to_have_attribute("data-view", "signin")
    phone_context.set_offline(False)
    sign_in_with_password(phone, "tnv-lan", PASSWORD)  # the sync after it sends Mai's correction
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    phone.click("#outbox-button")
    status = phone.locator("#sync-status")
    expect(status).to_have_attribute("data-state", "idle")
    item = phone.locator(f'.outbox-item[data-id="{hers["id"]}"]')
    expect(item).to_have_attribute("data-status", "failed")
    expect(item).to_contain_text(vi)
    expect(item.locator("button.edit")).to_have_count(0)  # no edit can make it go
    expect(item.locator("button.correct")).to_have_count(0)
    assert puts == [(hers["id"], refusal)]
    (local,) = surveys_on(phone)
    assert (local["status"], local["locked"]) == ("failed", True)
    assert [e["code"] for e in local["errors"]] == [code]
    item.locator("button.view").click()
    expect(phone.locator("#readonly-reason")).to_contain_text(vi)
    expect(phone.locator(".server-errors")).to_have_count(0)  # said once
    phone.click("#view-back")
    phone.click("#lang-toggle")
    expect(item).to_contain_text(en)
    phone.click("#lang-toggle")
    # Lan's own work goes on: a new survey with its photo, and a correction of her own.
    phone.click("#home-button")
    fill_household_with_photo(phone, jpeg((800, 600), (40, 120, 200)))
    phone.click("#finish")
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    phone.click("#outbox-button")
    new = phone.locator('.outbox-item[data-status="sent"]')
    expect(new).to_have_count(1)
    expect(new).to_have_attribute("data-photos", "uploaded")
    phone.click("#home-button")
    own = sent_back(phone, sync_engine, live_server, admin_token, "Thiếu số người.")
    assert own["collector_user_id"] == lan
    correct(phone, own["id"], "6")
    phone.click("#outbox-button")
    expect(phone.locator(f'.outbox-item[data-id="{own["id"]}"]')).to_have_attribute(
        "data-review", "received"
    )
    sync(phone)  # and again: Mai's correction is not sent again, nothing else changes
    expect(status).to_have_attribute("data-state", "idle")
    assert puts == [(hers["id"], refusal), (own["id"], 200)]
    rows = {row["id"]: row for row in stored(sync_engine)}
    assert len(rows) == 3 and set(rows) == {s["id"] for s in surveys_on(phone)}
    assert [e["code"] for s in surveys_on(phone) for e in s["errors"]] == [code]
    assert (rows[hers["id"]]["status"], rows[hers["id"]]["version"]) == ("needs_correction", 1)
    assert rows[hers["id"]]["answers"]["household_size"] == 4  # the server keeps hers
    assert (rows[own["id"]]["status"], rows[own["id"]]["version"]) == ("received", 2)
    assert rows[own["id"]]["answers"]["household_size"] == 6
    expect(item).to_have_attribute("data-status", "failed")
    assert [e for e in uncaught(phone) if str(refusal) not in e] == []


def wait_volunteer_again(live_server: str, token: str) -> None:
    """Wait until the server sees the volunteer role of a token's person again (a role
    granted reaches a token it keeps in its cache within 10 s)."""
    deadline = time.monotonic() + 20
    while True:
        me = httpx.get(f"{live_server}/api/v1/me", headers=bearer(token)).json()
        if any(r["role"] == "volunteer" for r in me["roles"]):
            return
        assert time.monotonic() < deadline, "the server did not follow the role change"
        time.sleep(0.5)


def test_a_correction_refused_because_the_account_may_not_send_waits_and_goes_later(
    phone_context: BrowserContext,
    phone: Page,
    sync_engine: Engine,
    live_server: str,
    admin_token: str,
) -> None:
    account = signed_in(phone_context, sync_engine, "tnv-role")
    puts = note_puts(phone)
    open_app(phone)
    row = sent_back(phone, sync_engine, live_server, admin_token, "Hộ có 5 người.")
    phone_context.set_offline(True)
    correct(phone, row["id"], "5")
    with sync_engine.connect() as connection:
        grant = connection.execute(
            text("SELECT id, ward_id FROM role_grants WHERE user_id = :id"),
            {"id": account.user_id},
        ).one()
    users = f"{live_server}/api/v1/users/{account.user_id}/roles"
    removed = httpx.delete(f"{users}/{grant.id}", headers=bearer(admin_token))
    assert removed.status_code == 204
    phone_context.set_offline(False)  # the `online` event syncs
    phone.click("#outbox-button")
    status = phone.locator("#sync-status")
    expect(status).to_have_attribute("data-state", "forbidden")
    expect(status).to_contain_text("Tài khoản này không được gửi khảo sát")
    item = phone.locator(f'.outbox-item[data-id="{row["id"]}"]')
    expect(item).to_have_attribute("data-status", "pending")  # waits, neither failed nor lost
    assert puts == [(row["id"], 403)]
    (local,) = surveys_on(phone)
    assert (local["status"], local["correction"]) == ("pending", True)
    granted = httpx.post(
        users, json={"role": "volunteer", "ward_id": grant.ward_id}, headers=bearer(admin_token)
    )
    assert granted.status_code == 201, granted.text
    wait_volunteer_again(live_server, account.token)
    sync(phone)
    expect(status).to_have_attribute("data-state", "idle")
    expect(item).to_have_attribute("data-status", "sent")
    expect(item).to_have_attribute("data-review", "received")
    assert puts == [(row["id"], 403), (row["id"], 200)]
    (kept,) = stored(sync_engine)
    assert (kept["status"], kept["version"], kept["answers"]["household_size"]) == (
        "received",
        2,
        5,
    )
    assert [e for e in uncaught(phone) if "403" not in e] == []


def test_a_correction_retried_after_a_second_send_back_changes_nothing(
    phone_context: BrowserContext,
    phone: Page,
    sync_engine: Engine,
    live_server: str,
    admin_token: str,
) -> None:
    """The phone's correction reaches the server (version 2) but its answer is lost with the
    signal; the reviewer sends version 2 back again; the phone's retry (the same body, made on
    version 1) is a resend: the second send-back stands, the phone shows its comment and the
    volunteer corrects again. (The retry was a confirmation that put the survey back in the
    review queue, and the volunteer never saw the comment.)"""
    signed_in(phone_context, sync_engine, "tnv-retry")
    sent: list[dict[str, Any]] = []  # the correction bodies the phone sends
    outcomes: list[tuple[int, str]] = []  # what the server answers them

    def lose_the_answer(route: Route) -> None:
        if route.request.method != "PUT":
            route.continue_()
            return
        sent.append(route.request.post_data_json)
        taken = route.fetch()  # the server takes it...
        outcomes.append((taken.status, taken.headers.get("x-outcome", "")))
        phone_context.set_offline(True)  # ...and the signal goes before the answer comes
        route.abort("internetdisconnected")

    def answer(route: Route) -> None:
        if route.request.method != "PUT":
            route.continue_()
            return
        sent.append(route.request.post_data_json)
        response = route.fetch()
        outcomes.append((response.status, response.headers.get("x-outcome", "")))
        route.fulfill(response=response)

    open_app(phone)
    row = sent_back(phone, sync_engine, live_server, admin_token, "Hộ có 5 người.")
    phone.route(SUBMISSION, lose_the_answer)
    correct(phone, row["id"], "5")  # finishing it syncs at once
    wait_for(phone, lambda: outcomes == [(200, "corrected")])  # taken, the answer lost
    phone.click("#outbox-button")
    item = phone.locator(f'.outbox-item[data-id="{row["id"]}"]')
    expect(item).to_have_attribute("data-status", "pending")  # it waits to be sent again
    (taken,) = stored(sync_engine)
    assert (taken["status"], taken["version"], taken["answers"]["household_size"]) == (
        "received",
        2,
        5,
    )
    review(live_server, admin_token, row["id"], "needs_correction", "Vẫn sai, hỏi lại chủ hộ.")
    phone.unroute(SUBMISSION, lose_the_answer)
    phone.route(SUBMISSION, answer)
    phone_context.set_offline(False)  # the `online` event syncs: the correction is retried
    expect(item).to_have_attribute("data-review", "needs_correction")
    expect(item).to_contain_text("Vẫn sai, hỏi lại chủ hộ.")
    expect(item).to_have_attribute("data-status", "sent")
    assert outcomes == [(200, "corrected"), (200, "unchanged")]
    # Resent as it was (the phone stamps `sent_at` on every sending: a retry a second later
    # differs there, and this test failed once so).
    first, retry = ({k: v for k, v in body.items() if k != "sent_at"} for body in sent)
    assert retry == first and first["base_version"] == 1
    (kept,) = stored(sync_engine)
    assert (kept["status"], kept["version"]) == ("needs_correction", 2)
    # The volunteer corrects it again, now on version 2.
    phone.click("#home-button")
    card = phone.locator(f'.survey-card[data-id="{row["id"]}"]')
    expect(card).to_contain_text("Vẫn sai, hỏi lại chủ hộ.")
    correct(phone, row["id"], "6")
    phone.click("#outbox-button")
    expect(item).to_have_attribute("data-review", "received")
    assert outcomes == [(200, "corrected"), (200, "unchanged"), (200, "corrected")]
    assert sent[2]["base_version"] == 2
    (kept,) = stored(sync_engine)
    assert (kept["status"], kept["version"], kept["answers"]["household_size"]) == (
        "received",
        3,
        6,
    )
    assert uncaught(phone) == []


def test_a_confirmation_retried_after_a_second_send_back_changes_nothing(
    phone_context: BrowserContext,
    phone: Page,
    sync_engine: Engine,
    live_server: str,
    admin_token: str,
) -> None:
    """The volunteer checks the survey sent back and finishes it without a change (a
    confirmation, made on version 1); it reaches the server (version 2, the same content) but
    its answer is lost; the reviewer sends it back again; the phone's retry is a resend: the
    second send-back stands and the phone shows its comment. (A confirmation kept version 1,
    so the retry named the current version and was taken as a new confirmation: the survey
    went back to the review queue and the volunteer never saw the comment.)"""
    signed_in(phone_context, sync_engine, "tnv-confirm")
    outcomes: list[tuple[int, str]] = []  # what the server answers the phone's corrections
    sent: list[dict[str, Any]] = []

    def lose_the_answer(route: Route) -> None:
        if route.request.method != "PUT":
            route.continue_()
            return
        sent.append(route.request.post_data_json)
        taken = route.fetch()
        outcomes.append((taken.status, taken.headers.get("x-outcome", "")))
        phone_context.set_offline(True)
        route.abort("internetdisconnected")

    def answer(route: Route) -> None:
        if route.request.method != "PUT":
            route.continue_()
            return
        sent.append(route.request.post_data_json)
        response = route.fetch()
        outcomes.append((response.status, response.headers.get("x-outcome", "")))
        route.fulfill(response=response)

    open_app(phone)
    row = sent_back(phone, sync_engine, live_server, admin_token, "Kiểm tra lại số người.")
    phone.route(SUBMISSION, lose_the_answer)
    phone.locator(f'.survey-card[data-id="{row["id"]}"] button.correct').click()
    expect(phone.locator("#app")).to_have_attribute("data-view", "survey")
    to_last_screen(phone)
    phone.click("#finish")  # as it is: the household has 4 people
    wait_for(phone, lambda: outcomes == [(200, "corrected")])
    phone.click("#outbox-button")
    item = phone.locator(f'.outbox-item[data-id="{row["id"]}"]')
    expect(item).to_have_attribute("data-status", "pending")
    (taken,) = stored(sync_engine)
    assert taken["status"] == "received" and taken["answers"] == row["answers"]
    review(live_server, admin_token, row["id"], "needs_correction", "Hỏi lại chủ hộ lần nữa.")
    phone.unroute(SUBMISSION, lose_the_answer)
    phone.route(SUBMISSION, answer)
    phone_context.set_offline(False)  # the `online` event syncs: the confirmation is retried
    expect(item).to_have_attribute("data-review", "needs_correction")
    expect(item).to_contain_text("Hỏi lại chủ hộ lần nữa.")
    expect(item).to_have_attribute("data-status", "sent")
    assert outcomes == [(200, "corrected"), (200, "unchanged")]
    # Resent as it was (but the time of sending, which each request says anew).
    first, retry = ({k: v for k, v in body.items() if k != "sent_at"} for body in sent)
    assert retry == first and first["base_version"] == 1
    (kept,) = stored(sync_engine)
    assert (kept["status"], kept["version"]) == ("needs_correction", 2)
    assert uncaught(phone) == []


def test_a_correction_made_on_a_version_replaced_meanwhile_is_refused_and_explained(
    phone_context: BrowserContext,
    phone: Page,
    sync_engine: Engine,
    live_server: str,
    admin_token: str,
) -> None:
    """The volunteer corrected the survey elsewhere (version 2) while this phone, offline,
    held its own correction made on version 1 with other answers: 409 correction_outdated,
    failed and read-only with the phone's own words; the server keeps version 2."""
    account = signed_in(phone_context, sync_engine, "tnv-two-phones")
    puts = note_puts(phone)
    open_app(phone)
    row = sent_back(phone, sync_engine, live_server, admin_token, "Hộ có 5 người.")
    phone_context.set_offline(True)
    correct(phone, row["id"], "5")
    (local,) = surveys_on(phone)
    assert local["body"]["base_version"] == 1
    elsewhere = {**local["body"], "answers": {**local["body"]["answers"], "household_size": 7}}
    taken = httpx.put(
        f"{live_server}/api/v1/submissions/{row['id']}",
        json=elsewhere,
        headers=bearer(account.token),
    )
    assert taken.status_code == 200 and taken.headers["x-outcome"] == "corrected", taken.text
    phone_context.set_offline(False)
    phone.click("#outbox-button")
    item = phone.locator(f'.outbox-item[data-id="{row["id"]}"]')
    expect(item).to_have_attribute("data-status", "failed")
    expect(item).to_contain_text("đã thay đổi trên máy chủ")
    assert puts == [(row["id"], 409)]
    (local,) = surveys_on(phone)
    assert local["locked"] and [e["code"] for e in local["errors"]] == ["correction_outdated"]
    item.locator("button.view").click()
    expect(phone.locator("#readonly-reason")).to_contain_text("bản sửa không được nhận")
    phone.click("#view-back")
    phone.click("#lang-toggle")
    expect(item).to_contain_text("changed on the server")
    (kept,) = stored(sync_engine)
    assert (kept["status"], kept["version"], kept["answers"]["household_size"]) == (
        "received",
        2,
        7,
    )
    assert [e for e in uncaught(phone) if "409" not in e] == []
