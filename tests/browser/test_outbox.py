"""The phone outbox under stress: a sync in flight, lost answers, two tabs, a full disk,
wrong clocks, old sent surveys, and a new version of the app (real Chromium, real server)."""

from __future__ import annotations

import datetime
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from playwright.sync_api import Browser, BrowserContext, FilePayload, Page, Route, expect
from sqlalchemy import Engine

from app.settings import REPO_ROOT, Settings
from bench.common import uvicorn_server
from tests.auth import bearer
from tests.browser.conftest import (
    PHONE,
    TAM_KY,
    PhoneAccount,
    record_console_errors,
    sign_in_phone,
)
from tests.browser.test_collect import (
    HOUSEHOLD_SCREENS,
    fill_household,
    fill_household_with_photo,
    fill_screen,
    jpeg,
    next_screen,
    open_app,
    stored,
    wait_offline_ready,
)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_surveys")]
BATCH = "**/api/v1/submissions/batch"

# IndexedDB as the app keeps it, read from the page (the app has opened the database).
READ_SURVEYS = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open("cdfmap-collect");
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const db = open.result;
    const request = db.transaction("surveys").objectStore("surveys").getAll();
    request.onsuccess = () => { db.close(); resolve(request.result); };
    request.onerror = () => reject(request.error);
  };
})"""
PHOTO_KEYS = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open("cdfmap-collect");
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const db = open.result;
    const request = db.transaction("photos").objectStore("photos").getAllKeys();
    request.onsuccess = () => { db.close(); resolve(request.result); };
  };
})"""
# Move the time a sent survey was confirmed back by `days` (as if sent that long ago).
AGE_SENT = """(days) => new Promise((resolve, reject) => {
  const open = indexedDB.open("cdfmap-collect");
  open.onsuccess = () => {
    const db = open.result;
    const tx = db.transaction("surveys", "readwrite");
    const store = tx.objectStore("surveys");
    const all = store.getAll();
    all.onsuccess = () => {
      for (const survey of all.result) {
        if (survey.status !== "sent") continue;
        survey.confirmed_at = new Date(Date.now() - days * 86400000).toISOString();
        store.put(survey);
      }
    };
    tx.oncomplete = () => { db.close(); resolve(null); };
    tx.onerror = () => reject(tx.error);
  };
})"""
# A disk that fills up on demand: every IndexedDB put throws while window.__diskFull is true.
FULL_DISK = """(() => {
  const put = IDBObjectStore.prototype.put;
  window.__diskFull = false;
  IDBObjectStore.prototype.put = function (...args) {
    if (!window.__diskFull) return put.apply(this, args);
    throw new DOMException("The quota has been exceeded.", "QuotaExceededError");
  };
})();"""
# Count the calls to navigator.storage.persist().
COUNT_PERSIST = """(() => {
  window.__persistCalls = 0;
  if (navigator.storage && navigator.storage.persist) {
    const persist = navigator.storage.persist.bind(navigator.storage);
    navigator.storage.persist = () => { window.__persistCalls += 1; return persist(); };
  }
})();"""


def surveys_on(page: Page) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = page.evaluate(READ_SURVEYS)
    return result


class HeldBatches(list[Route]):
    """Batch POSTs held at the server's door until the test lets them through."""

    def __init__(self, target: Page | BrowserContext) -> None:
        super().__init__()
        self.holding = True
        target.route(BATCH, self.handle)

    def handle(self, route: Route) -> None:
        if self.holding:
            self.append(route)
        else:
            route.continue_()

    def release(self) -> None:
        """Let the held requests and every later one through."""
        self.holding = False
        for route in self:
            route.continue_()


def wait_for(page: Page, condition: Any, timeout_ms: int = 10_000) -> None:
    for _ in range(timeout_ms // 100):
        if condition():
            return
        page.wait_for_timeout(100)
    raise AssertionError("condition not met in time")


def uncaught(page: Page) -> list[str]:
    errors: list[str] = page.console_errors  # type: ignore[attr-defined]
    # Offline fetches log "Failed to load resource", and the browser's own update check of the
    # service worker, when it falls while the phone is offline, "An unknown error occurred
    # when fetching the script"; anything else is a bug.
    offline = ("Failed to load resource", "An unknown error occurred when fetching the script")
    return [e for e in errors if not any(text in e for text in offline)]


def to_last_screen(page: Page) -> None:
    while page.locator("#finish").count() == 0:
        next_screen(page)


def test_a_survey_finished_while_a_sync_runs_is_sent_without_another_trigger(
    phone_context: BrowserContext, phone: Page, sync_engine: Engine
) -> None:
    open_app(phone)
    phone_context.set_offline(True)
    fill_household(phone)
    held = HeldBatches(phone)
    phone_context.set_offline(False)  # the `online` event starts a sync, held at the server door
    wait_for(phone, lambda: len(held) == 1)
    held.holding = False
    fill_household(phone)  # finished while the first sync is still in flight
    held.release()
    phone.click("#outbox-button")
    expect(phone.locator('.outbox-item[data-status="sent"]')).to_have_count(2)
    assert len(stored(sync_engine)) == 2
    assert uncaught(phone) == []


def test_a_lost_answer_then_a_resend_stays_one_survey(
    phone_context: BrowserContext, phone: Page, sync_engine: Engine
) -> None:
    open_app(phone)
    phone_context.set_offline(True)
    fill_household(phone)
    (before,) = surveys_on(phone)
    outcomes: list[str] = []

    def lose_the_answer(route: Route) -> None:
        response = route.fetch()  # the server stores the survey...
        outcomes.extend(item["outcome"] for item in response.json()["results"])
        route.abort("connectionreset")  # ...but the phone never hears back

    phone.route(BATCH, lose_the_answer)
    phone_context.set_offline(False)
    phone.click("#outbox-button")
    expect(phone.locator("#sync-status")).to_have_attribute("data-state", "network")
    assert outcomes and outcomes[0] == "created"
    phone.unroute(BATCH)
    phone_context.set_offline(True)  # no retry while the volunteer looks at it
    # The volunteer opens it again: the server may have it, so it cannot be changed any more.
    phone.click("#home-button")
    card = phone.locator('.survey-card[data-status="pending"]')
    expect(card.locator("button.view")).to_be_visible()
    expect(card.locator("button.edit")).to_have_count(0)
    card.locator("button.view").click()
    expect(phone.locator("#app")).to_have_attribute("data-view", "view")
    expect(phone.locator("#readonly-reason")).to_contain_text("chưa xác nhận")
    expect(phone.locator("#answers")).to_contain_text("Nguyễn Thị Hoa")
    assert phone.locator("#finish").count() == 0
    phone.click("#view-back")

    def keep_outcomes(route: Route) -> None:
        response = route.fetch()
        outcomes.extend(item["outcome"] for item in response.json()["results"])
        route.fulfill(response=response)

    phone.route(BATCH, keep_outcomes)
    phone_context.set_offline(False)
    phone.click("#outbox-button")
    phone.click("#sync-now")
    expect(phone.locator('.outbox-item[data-status="sent"]')).to_have_count(1)
    assert "conflict" not in outcomes and outcomes[-1] == "duplicate"
    (row,) = stored(sync_engine)
    (after,) = surveys_on(phone)
    assert (after["id"], after["collected_at"]) == (before["id"], before["collected_at"])
    assert row["id"] == before["id"]
    # A sent survey opens read-only too, with what was sent.
    phone.locator(".outbox-item button.view").click()
    expect(phone.locator("#readonly-reason")).to_contain_text("Đã gửi")
    expect(phone.locator("#answers")).to_contain_text("0905123456")
    assert uncaught(phone) == []


def test_finishing_again_without_a_change_keeps_the_first_time(
    phone_context: BrowserContext, phone: Page, sync_engine: Engine
) -> None:
    open_app(phone)
    phone_context.set_offline(True)
    fill_household(phone)
    (first,) = surveys_on(phone)
    phone.wait_for_timeout(1100)  # a restamp would show in the seconds
    phone.locator('.survey-card[data-status="pending"] button.edit').click()
    expect(phone.locator("#app")).to_have_attribute("data-view", "survey")
    to_last_screen(phone)
    phone.click("#finish")
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    (again,) = surveys_on(phone)
    assert again["status"] == "pending"
    assert again["collected_at"] == first["collected_at"]
    assert again["body"] == first["body"]
    phone_context.set_offline(False)
    phone.click("#outbox-button")
    expect(phone.locator('.outbox-item[data-status="sent"]')).to_have_count(1)
    (row,) = stored(sync_engine)
    assert row["id"] == first["id"]


def test_a_conflict_is_final_and_never_asks_for_a_new_survey(
    phone_context: BrowserContext,
    phone: Page,
    sync_engine: Engine,
    live_server: str,
    volunteer: PhoneAccount,
) -> None:
    open_app(phone)
    phone_context.set_offline(True)
    fill_household(phone)
    (survey,) = surveys_on(phone)
    # Another content under the same id reached the server first (say, an older app).
    other = {**survey["body"], "answers": {**survey["body"]["answers"], "head_name": "Người khác"}}
    sent = httpx.post(
        f"{live_server}/api/v1/submissions", json=other, headers=bearer(volunteer.token)
    )
    assert sent.status_code == 201
    phone_context.set_offline(False)
    phone.click("#outbox-button")
    failed = phone.locator('.outbox-item[data-status="failed"]')
    expect(failed).to_contain_text("Máy chủ đã có một bản khác")
    expect(failed).not_to_contain_text("khảo sát mới")
    expect(failed.locator("button.edit")).to_have_count(0)
    failed.locator("button.view").click()
    expect(phone.locator("#readonly-reason")).to_contain_text("báo người kiểm duyệt")
    (row,) = stored(sync_engine)
    assert row["answers"]["head_name"] == "Người khác"


def test_two_tabs_send_once_refresh_each_other_and_never_write_back_a_stale_copy(
    phone_context: BrowserContext, phone: Page, sync_engine: Engine
) -> None:
    open_app(phone)
    other = phone_context.new_page()
    record_console_errors(other)
    open_app(other)
    phone_context.set_offline(True)
    phone.bring_to_front()  # a background tab's timers and GPS are slowed down
    for _ in range(3):
        fill_household(phone)
    # The other tab's list follows without a reload.
    expect(other.locator('.survey-card[data-status="pending"]')).to_have_count(3)
    for page in (phone, other):
        page.click("#outbox-button")
    held = HeldBatches(phone_context)
    phone_context.set_offline(False)  # both tabs start a sync on the `online` event
    wait_for(phone, lambda: len(held) >= 1)
    phone.wait_for_timeout(1500)  # a second sync, if it were allowed, would post by now
    assert len(held) == 1, "two tabs sent at the same time"
    sender = held[0].request.frame.page
    editor = other if sender is phone else phone
    # The editor tab opens a survey that is being sent: it may not be changed any more.
    editor.click("#home-button")
    editor.locator(".survey-card button.view").first.click()
    expect(editor.locator("#app")).to_have_attribute("data-view", "view")
    editor.click("#view-back")
    expect(editor.locator('.survey-card[data-status="pending"]')).to_have_count(3)
    held.release()
    expect(editor.locator('.survey-card[data-status="sent"]')).to_have_count(3)
    expect(sender.locator('.outbox-item[data-status="sent"]')).to_have_count(3)
    expect(sender.locator("#sync-status")).to_have_text("Đã gửi 3 khảo sát.")
    editor.click("#outbox-button")
    expect(editor.locator("#sync-status")).not_to_contain_text("Đã gửi")
    assert len(stored(sync_engine)) == 3
    assert all(s["status"] == "sent" for s in surveys_on(editor))
    assert uncaught(phone) == [] and uncaught(other) == []


def test_a_draft_edited_in_two_tabs_keeps_the_newer_copy(phone_context: BrowserContext) -> None:
    first = phone_context.new_page()
    record_console_errors(first)
    open_app(first)
    first.click("#new-household")
    expect(first.locator(".gps")).to_have_attribute("data-state", "fix")
    next_screen(first)
    fill_screen(first, {"head_name": "Phạm Văn Một"})
    first.click("#exit-survey")
    second = phone_context.new_page()
    record_console_errors(second)
    open_app(second)
    for page in (first, second):
        page.locator('.survey-card[data-status="draft"] button.edit').click()
        expect(page.locator("#app")).to_have_attribute("data-view", "survey")
    second.fill('section.question[data-name="head_name"] input', "Phạm Văn Hai")
    wait_for(second, lambda: surveys_on(second)[0]["answers"]["head_name"] == "Phạm Văn Hai")
    # The first tab still shows the old copy; its next change must not overwrite the newer one.
    first.fill('section.question[data-name="household_size"] input', "5")
    expect(first.locator("#notice")).to_contain_text("thẻ khác")
    expect(first.locator('section.question[data-name="head_name"] input')).to_have_value(
        "Phạm Văn Hai"
    )
    (draft,) = surveys_on(first)
    assert draft["answers"]["head_name"] == "Phạm Văn Hai"
    assert uncaught(first) == [] and uncaught(second) == []


def test_a_full_disk_is_said_on_screen_and_waiting_surveys_can_still_be_sent(
    phone_context: BrowserContext, phone: Page, sync_engine: Engine
) -> None:
    phone_context.add_init_script(FULL_DISK)
    open_app(phone)
    phone_context.set_offline(True)
    fill_household(phone)  # waits in the outbox
    phone.click("#new-household")
    expect(phone.locator(".gps")).to_have_attribute("data-state", "fix")
    next_screen(phone)
    phone.evaluate("window.__diskFull = true")
    fill_screen(phone, HOUSEHOLD_SCREENS[0])
    banner = phone.locator("#storage-full")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Bộ nhớ điện thoại đã đầy")
    for answers in HOUSEHOLD_SCREENS[1:]:
        next_screen(phone)
        fill_screen(phone, answers)
    phone.set_input_files(
        'input[type="file"][name="photo"]',
        files=FilePayload(
            name="house.jpg", mimeType="image/jpeg", buffer=jpeg((64, 48), (10, 120, 60))
        ),
    )
    expect(phone.locator(".photo .small")).to_contain_text("Bộ nhớ điện thoại đã đầy")
    phone.click("#finish")  # cannot be stored: the survey stays on screen, answers in hand
    expect(phone.locator("#app")).to_have_attribute("data-view", "survey")
    expect(phone.locator("#notice")).to_contain_text("Bộ nhớ điện thoại đã đầy")
    phone.click("#exit-survey")
    expect(phone.locator("#app")).to_have_attribute("data-view", "survey")
    phone.click("#lang-toggle")
    expect(banner).to_contain_text("storage is full")
    phone.click("#lang-toggle")
    # What waits can be sent although nothing can be written.
    phone_context.set_offline(False)
    phone.click("#storage-send")
    wait_for(phone, lambda: len(stored(sync_engine)) == 1)
    # Space is back: the survey in hand is stored and sent.
    phone.evaluate("window.__diskFull = false")
    phone.click("#finish")
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    phone.click("#outbox-button")
    expect(phone.locator('.outbox-item[data-status="sent"]')).to_have_count(2)
    names = sorted(row["answers"]["head_name"] for row in stored(sync_engine))
    assert names == ["Nguyễn Thị Hoa", "Nguyễn Thị Hoa"]
    assert [e for e in uncaught(phone) if "Quota" in e or "Uncaught" in e] == []
    assert uncaught(phone) == []


def test_sent_photos_and_old_sent_surveys_leave_the_phone_unsent_ones_never(
    phone_context: BrowserContext, phone: Page, sync_engine: Engine
) -> None:
    phone_context.add_init_script(COUNT_PERSIST)
    open_app(phone)
    wait_for(phone, lambda: phone.evaluate("window.__persistCalls") == 1)
    fill_household_with_photo(phone, jpeg((640, 480), (180, 120, 60)))
    expect(phone.locator(".photo-preview")).to_be_visible()
    phone.click("#finish")
    phone.click("#outbox-button")
    expect(phone.locator('.outbox-item[data-status="sent"]')).to_have_attribute(
        "data-photos", "uploaded"
    )
    wait_for(phone, lambda: phone.evaluate(PHOTO_KEYS) == [])  # uploaded: off the phone
    (row,) = stored(sync_engine)
    shutil.rmtree(Settings().media_dir / row["id"], ignore_errors=True)
    phone_context.set_offline(True)
    phone.click("#home-button")
    fill_household(phone)  # stays unsent, whatever its age
    phone.evaluate(AGE_SENT, 8)
    phone.reload()
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    wait_for(phone, lambda: any(s.get("purged_at") for s in surveys_on(phone)))
    sent, waiting = sorted(surveys_on(phone), key=lambda s: s["status"] != "sent")
    assert sent["status"] == "sent" and "answers" not in sent and "body" not in sent
    assert waiting["status"] == "pending" and waiting["answers"]["head_name"] == "Nguyễn Thị Hoa"
    phone.evaluate(AGE_SENT, 31)
    phone.reload()
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    wait_for(phone, lambda: len(surveys_on(phone)) == 1)
    assert surveys_on(phone)[0]["status"] == "pending"
    assert phone.evaluate("window.__persistCalls") <= 1
    # By hand: the volunteer clears sent surveys; the waiting one stays.
    phone_context.set_offline(False)
    phone.click("#outbox-button")
    expect(phone.locator('.outbox-item[data-status="sent"]')).to_have_count(1)
    phone.once("dialog", lambda dialog: dialog.accept())
    phone.click("#clear-sent")
    expect(phone.locator(".outbox-item")).to_have_count(0)
    assert surveys_on(phone) == []
    phone_context.set_offline(True)
    phone.click("#home-button")
    fill_household(phone)
    phone.click("#outbox-button")
    expect(phone.locator("#clear-sent")).to_be_disabled()
    assert [s["status"] for s in surveys_on(phone)] == ["pending"]


@pytest.mark.parametrize("skew_hours", [2, -2], ids=["fast", "slow"])
def test_a_wrong_phone_clock_is_sent_and_flagged(
    phone: Page, sync_engine: Engine, live_server: str, skew_hours: int, volunteer: PhoneAccount
) -> None:
    now = datetime.datetime.now(datetime.UTC)
    phone.clock.install(time=now + datetime.timedelta(hours=skew_hours))
    bodies: list[dict[str, Any]] = []
    phone.on(
        "request",
        lambda request: bodies.append(request.post_data_json) if "batch" in request.url else None,
    )
    open_app(phone)
    fill_household(phone)
    phone.click("#outbox-button")
    expect(phone.locator('.outbox-item[data-status="sent"]')).to_have_count(1)
    (item,) = bodies[-1]["submissions"]
    sent_at = datetime.datetime.fromisoformat(item["sent_at"])
    assert abs((sent_at - now).total_seconds() - skew_hours * 3600) < 120
    (row,) = stored(sync_engine)
    record = httpx.get(
        f"{live_server}/api/v1/submissions/{row['id']}", headers=bearer(volunteer.token)
    ).json()
    assert "clock_skew" in record["flags"]


@pytest.fixture
def static_copy(tmp_path: Path) -> Path:
    """A copy of static/ that a test may change."""
    copy = tmp_path / "static"
    shutil.copytree(REPO_ROOT / "static", copy)
    return copy


@pytest.fixture
def own_server(
    static_copy: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The app under uvicorn serving the static copy."""
    monkeypatch.setenv("STATIC_DIR", str(static_copy))
    with uvicorn_server("app.main:create_app", database_url) as (base, _pid):
        yield base


def test_a_new_app_version_reaches_a_phone_that_has_the_old_one(
    browser: Browser, own_server: str, static_copy: Path, volunteer: PhoneAccount
) -> None:
    context = browser.new_context(
        viewport=PHONE,
        is_mobile=True,
        locale="vi-VN",
        geolocation=TAM_KY,
        permissions=["geolocation"],
        base_url=own_server,
        service_workers="allow",
    )
    sign_in_phone(context, volunteer)
    try:
        page = context.new_page()
        record_console_errors(page)
        open_app(page)
        wait_offline_ready(page)
        expect(page).to_have_title("Khảo sát hộ gia đình")
        old_worker = httpx.get(f"{own_server}/collect/sw.js").text
        i18n = static_copy / "collect" / "i18n.js"
        i18n.write_text(
            i18n.read_text(encoding="utf-8").replace(
                'app_title: "Khảo sát hộ gia đình"', 'app_title: "Khảo sát hộ gia đình 2"'
            ),
            encoding="utf-8",
        )
        # Any change of any asset changes the service worker's bytes, so phones update.
        assert httpx.get(f"{own_server}/collect/sw.js").text != old_worker
        page.reload()  # the browser checks the worker, installs the new one, which takes over
        cached_title = """async () => {
          const response = await caches.match("/static/collect/i18n.js");
          return response ? (await response.text()).includes("hộ gia đình 2") : false;
        }"""
        wait_for(page, lambda: page.evaluate(cached_title), timeout_ms=20_000)
        page.reload()
        expect(page).to_have_title("Khảo sát hộ gia đình 2")
        context.set_offline(True)  # and the new version is the one kept for offline use
        page.reload()
        expect(page).to_have_title("Khảo sát hộ gia đình 2")
        assert uncaught(page) == []
    finally:
        context.close()


def test_a_waiting_survey_opened_and_left_unchanged_still_waits_and_a_changed_one_says_draft(
    phone_context: BrowserContext, phone: Page, sync_engine: Engine
) -> None:
    open_app(phone)
    phone_context.set_offline(True)
    fill_household(phone)
    (first,) = surveys_on(phone)
    card = phone.locator(".survey-card")
    # Opened and left with Exit, then with the home button, without a change: still waiting.
    for leave in ("#exit-survey", "#home-button"):
        card.locator("button.edit").click()
        expect(phone.locator("#app")).to_have_attribute("data-view", "survey")
        phone.click(leave)
        expect(card).to_have_attribute("data-status", "pending")
        expect(phone.locator("#notice")).to_contain_text("vẫn chờ gửi")
        expect(card.locator(".draft-again")).to_have_count(0)
        (again,) = surveys_on(phone)
        assert (again["status"], again["body"]) == ("pending", first["body"])
    # Changed and left: a draft again, and the card and the notice say it must be finished.
    card.locator("button.edit").click()
    phone.check('input[name="cdf_loan"][value="yes"]')
    phone.click("#exit-survey")
    expect(card).to_have_attribute("data-status", "draft")
    expect(phone.locator("#notice")).to_contain_text("bản nháp")
    expect(card.locator(".draft-again")).to_contain_text("Hoàn thành lại")
    phone_context.set_offline(False)
    phone.click("#outbox-button")
    phone.click("#sync-now")
    expect(phone.locator("#sync-status")).to_have_attribute("data-state", "idle")
    assert stored(sync_engine) == []  # a draft is never sent
    # Finished again: sent, with the change and the time of the first finish.
    phone.click("#home-button")
    card.locator("button.edit").click()
    expect(phone.locator("#app")).to_have_attribute("data-view", "survey")
    to_last_screen(phone)
    phone.click("#finish")
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    phone.click("#outbox-button")
    expect(phone.locator('.outbox-item[data-status="sent"]')).to_have_count(1)
    (row,) = stored(sync_engine)
    assert row["answers"]["cdf_loan"] == "yes"
    (sent,) = surveys_on(phone)
    assert sent["collected_at"] == first["collected_at"]
    assert uncaught(phone) == []


def test_sent_surveys_leave_the_phone_as_days_pass_and_at_once_by_hand(
    phone_context: BrowserContext, phone: Page, sync_engine: Engine
) -> None:
    now = datetime.datetime.now(datetime.UTC)
    phone.clock.install(time=now)
    open_app(phone)
    fill_household_with_photo(phone, jpeg((320, 240), (90, 140, 60)))
    expect(phone.locator(".photo-preview")).to_be_visible()
    phone.click("#finish")
    phone.click("#outbox-button")
    expect(phone.locator('.outbox-item[data-status="sent"]')).to_have_attribute(
        "data-photos", "uploaded"
    )
    (row,) = stored(sync_engine)
    shutil.rmtree(Settings().media_dir / row["id"], ignore_errors=True)
    phone_context.set_offline(True)
    phone.click("#home-button")
    fill_household(phone)  # never sent: it stays whatever the time
    # Six days on, all is there; eight days on, the sent survey's answers and photos are gone.
    phone.clock.set_system_time(now + datetime.timedelta(days=6))
    phone.reload()
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    phone.wait_for_timeout(500)
    assert all(not s.get("purged_at") for s in surveys_on(phone))
    phone.clock.set_system_time(now + datetime.timedelta(days=8))
    phone.reload()
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    wait_for(phone, lambda: any(s.get("purged_at") for s in surveys_on(phone)))
    sent, waiting = sorted(surveys_on(phone), key=lambda s: s["status"] != "sent")
    assert sent["status"] == "sent"
    assert not {"answers", "payload", "body", "location"} & set(sent)
    assert "Nguyễn Thị Hoa" not in str(sent)
    assert phone.evaluate(PHOTO_KEYS) == []
    assert waiting["status"] == "pending" and waiting["answers"]["head_name"] == "Nguyễn Thị Hoa"
    expect(phone.locator('.survey-card[data-status="sent"]')).to_contain_text("đã được xóa")
    # Thirty-one days on, its record is gone too; the unsent survey stays.
    phone.clock.set_system_time(now + datetime.timedelta(days=31))
    phone.reload()
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    wait_for(phone, lambda: len(surveys_on(phone)) == 1)
    assert surveys_on(phone)[0]["status"] == "pending"
    # By hand, at once: sent surveys go, the one not sent never does.
    phone_context.set_offline(False)
    phone.click("#outbox-button")
    expect(phone.locator('.outbox-item[data-status="sent"]')).to_have_count(1)
    phone_context.set_offline(True)
    phone.click("#home-button")
    fill_household(phone)
    phone.click("#outbox-button")
    phone.once("dialog", lambda dialog: dialog.accept())
    phone.click("#clear-sent")
    expect(phone.locator(".outbox-item")).to_have_count(1)
    expect(phone.locator("#notice")).to_contain_text("1")
    assert [s["status"] for s in surveys_on(phone)] == ["pending"]
    assert uncaught(phone) == []


def test_a_send_with_no_answer_for_long_says_so_and_the_survey_stays(
    phone_context: BrowserContext, phone: Page, sync_engine: Engine
) -> None:
    """A network that takes the request and never answers (a weak signal, a captive portal):
    after 15 s the outbox says the connection is slow or lost and the surveys stay on the
    phone, in both languages; when the answer comes, it is sent once."""
    open_app(phone)
    phone_context.set_offline(True)
    fill_household(phone)
    held = HeldBatches(phone)
    phone.click("#outbox-button")
    phone_context.set_offline(False)  # the `online` event starts a sync, held at the door
    wait_for(phone, lambda: len(held) == 1)
    status = phone.locator("#sync-status")
    expect(status).to_have_attribute("data-state", "running")
    expect(status).to_have_attribute("data-state", "slow", timeout=25_000)
    expect(status).to_contain_text("Mạng chậm hoặc mất kết nối")
    expect(status).to_contain_text("lưu an toàn trên điện thoại")
    expect(phone.locator('.outbox-item[data-status="pending"]')).to_have_count(1)
    phone.click("#lang-toggle")
    expect(status).to_contain_text("Slow or lost connection")
    phone.click("#lang-toggle")
    held.release()
    expect(status).to_have_attribute("data-state", "idle")
    expect(phone.locator('.outbox-item[data-status="sent"]')).to_have_count(1)
    assert len(stored(sync_engine)) == 1
    assert uncaught(phone) == []


class Held(list[Route]):
    """Requests to `pattern` held at the server's door until released, one at a time."""

    def __init__(self, target: Page | BrowserContext, pattern: str) -> None:
        super().__init__()
        target.route(pattern, self.hold)

    def hold(self, route: Route) -> None:
        self.append(route)

    def release_all(self) -> None:
        while self:
            self.pop(0).continue_()


def test_answers_that_each_come_in_time_never_say_slow_however_long_the_sync(
    phone_context: BrowserContext, phone: Page, sync_engine: Engine
) -> None:
    """The slow note is about one unanswered request, not a long sync: a survey and then its
    photo, each answered after 9 s (18 s in all), never show it."""
    open_app(phone)
    phone_context.set_offline(True)
    fill_household_with_photo(phone, jpeg((64, 48), (10, 120, 60)))
    phone.click("#finish")
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    batches = Held(phone, BATCH)
    photos = Held(phone, "**/api/v1/submissions/*/attachments/*")
    phone.click("#outbox-button")
    phone_context.set_offline(False)
    status = phone.locator("#sync-status")
    seen: set[str | None] = set()
    for held in (batches, photos):
        wait_for(phone, lambda held=held: len(held) == 1, 15_000)  # type: ignore[misc]
        for _ in range(18):  # 9 s unanswered: not yet slow
            seen.add(status.get_attribute("data-state"))
            phone.wait_for_timeout(500)
        held.release_all()
    expect(status).to_have_attribute("data-state", "idle")
    assert "slow" not in seen and "running" in seen, seen
    expect(phone.locator('.outbox-item[data-status="sent"]')).to_have_count(1)
    assert len(stored(sync_engine)) == 1
    assert uncaught(phone) == []


@pytest.fixture
def limited_server(
    request: pytest.FixtureRequest, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The app under uvicorn with smaller request limits (`request.param`: settings)."""
    for name, value in request.param.items():
        monkeypatch.setenv(name, value)
    with uvicorn_server("app.main:create_app", database_url) as (base, _pid):
        yield base


@pytest.mark.parametrize(
    "limited_server",
    [{"MAX_BATCH_ITEMS": "2"}, {"MAX_BODY_BYTES": "1500"}],
    ids=["fewer-surveys", "fewer-bytes"],
    indirect=True,
)
def test_an_outbox_larger_than_the_server_takes_at_once_goes_in_smaller_batches(
    browser: Browser, limited_server: str, volunteer: PhoneAccount, sync_engine: Engine
) -> None:
    """The outbox goes in one request when the server takes it; a server that takes fewer
    surveys or fewer bytes at once refuses the batch whole (nothing stored), and the phone
    sends the same surveys again in halves. Until now every survey of such a batch was marked
    failed, though each alone would have been stored."""
    context = browser.new_context(
        viewport=PHONE,
        is_mobile=True,
        locale="vi-VN",
        geolocation=TAM_KY,
        permissions=["geolocation"],
        base_url=limited_server,
    )
    sign_in_phone(context, volunteer)
    try:
        page = context.new_page()
        record_console_errors(page)
        batches: list[tuple[int, int]] = []  # (surveys, bytes) of each batch sent

        def note(request: Any) -> None:
            if request.method == "POST" and request.url.endswith("/api/v1/submissions/batch"):
                body = request.post_data_buffer or b""
                batches.append((len(orjson.loads(body)["submissions"]), len(body)))

        page.on("request", note)
        open_app(page)
        context.set_offline(True)
        for _ in range(3):
            fill_household(page)
        page.click("#outbox-button")
        context.set_offline(False)
        expect(page.locator('.outbox-item[data-status="sent"]')).to_have_count(3)
        assert len(stored(sync_engine)) == 3
        assert batches[0][0] == 3, batches  # all at once first
        assert sorted(count for count, _ in batches[1:]) == [1, 2], batches
        assert uncaught(page) == []
    finally:
        context.close()
