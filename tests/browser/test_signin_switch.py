"""One phone, two volunteers: a sync under way when the account changes, and the warnings
given before the account changes while surveys are unsent (real Chromium, real server)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect
from sqlalchemy import Engine

from tests.auth import make_enrolment
from tests.browser.test_collect import fill_household, open_app
from tests.browser.test_outbox import surveys_on, uncaught, wait_for
from tests.browser.test_signin import (
    PASSWORD,
    person,
    sign_in_with_password,
    sign_out,
    signed_in,
    stored,
)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_surveys")]
BATCH = "**/api/v1/submissions/batch"
TOTAL = 600  # surveys waiting: a batch of 500, then the rest

# The one survey on the phone copied `n` times under new ids, as if finished one after the
# other (a day's work of a volunteer who had no signal).
COPY_SURVEY = """(n) => new Promise((resolve, reject) => {
  const open = indexedDB.open("cdfmap-collect");
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const db = open.result;
    const tx = db.transaction("surveys", "readwrite");
    const store = tx.objectStore("surveys");
    const all = store.getAll();
    all.onsuccess = () => {
      const [model] = all.result;
      for (let i = 1; i <= n; i += 1) {
        const id = crypto.randomUUID();
        const at = new Date(Date.parse(model.collected_at) + i * 1000).toISOString();
        const body = { ...model.body, id, collected_at: at };
        store.put({ ...model, id, collected_at: at, body });
      }
    };
    tx.oncomplete = () => { db.close(); resolve(null); };
    tx.onerror = () => reject(tx.error);
  };
})"""


@pytest.fixture
def phone_account() -> None:
    """The phones of these tests are signed in by each test."""
    return None


class SlowFirstAnswer:
    """The first batch reaches the server, and its answer is held (slow 3G) until released;
    every batch is noted with the token it carried."""

    def __init__(self, page: Page) -> None:
        self.held: list[tuple[Route, Any]] = []
        self.sent: list[tuple[str, list[str]]] = []  # (token, survey ids) of each batch
        page.route(BATCH, self.handle)

    def handle(self, route: Route) -> None:
        request = route.request
        ids = [item["id"] for item in request.post_data_json["submissions"]]
        self.sent.append((request.headers["authorization"], ids))
        if len(self.sent) == 1:
            self.held.append((route, route.fetch()))  # stored by the server; answer held
        else:
            route.continue_()

    def release(self) -> None:
        for route, response in self.held:
            route.fulfill(response=response)


def test_a_sync_under_way_never_sends_a_survey_with_the_next_persons_token(
    phone_context: BrowserContext, phone: Page, sync_engine: Engine
) -> None:
    """A's outbox (two batches) was picked once at the start of the sync, and each request
    took whatever token the phone held at that moment: A signed out and B signed in while
    the first answer was on its way, and the rest of A's households went with B's token (the
    server stored them as B's, and B could read their names and phones)."""
    first = signed_in(phone_context, sync_engine, "tnv-a", password=PASSWORD)
    other = person(sync_engine, "tnv-b", "Người sau", password=PASSWORD)
    open_app(phone)
    phone_context.set_offline(True)
    fill_household(phone)
    phone.evaluate(COPY_SURVEY, TOTAL - 1)  # more than one batch (BATCH_MAX, sync.js)
    slow = SlowFirstAnswer(phone)
    phone_context.set_offline(False)  # the `online` event sends
    wait_for(phone, lambda: len(slow.held) == 1, 20_000)
    a_token, first_batch = slow.sent[0]
    assert a_token == f"Bearer {first.token}" and len(first_batch) < TOTAL

    sign_out(phone)  # with A's answer still on its way
    sign_in_with_password(phone, "tnv-b", PASSWORD)
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    slow.release()
    phone.click("#outbox-button")
    expect(phone.locator("#sync-now")).to_be_enabled(timeout=30_000)
    for token, ids in slow.sent[1:]:
        assert token == a_token or not set(ids) - set(first_batch), "A's surveys, B's token"
    rows = stored(sync_engine)
    assert len(rows) == len(first_batch)
    assert {row["collector_user_id"] for row in rows} == {first.user_id}
    assert other not in {row["collector_user_id"] for row in rows}
    expect(phone.locator("#others-waiting")).to_contain_text("tnv-a")
    # The rest waits on the phone for A, editable as before (never taken for sending).
    on_phone = surveys_on(phone)
    waiting = [s for s in on_phone if s["status"] == "pending"]
    assert len(waiting) == TOTAL - len(first_batch)
    assert not any(s.get("locked") for s in waiting)

    phone.click("#home-button")
    sign_out(phone)  # none of B's waits
    sign_in_with_password(phone, "tnv-a", PASSWORD)
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    phone.click("#outbox-button")
    expect(phone.locator("#outbox-counts")).to_contain_text(f"{TOTAL} đã gửi", timeout=30_000)
    assert "null" not in phone.locator("#outbox").inner_text()  # no one else's waits
    rows = stored(sync_engine)
    assert len(rows) == TOTAL
    assert {row["collector_user_id"] for row in rows} == {first.user_id}
    assert uncaught(phone) == []


def refuse_next_batch(page: Page) -> None:
    """The server refuses the next batch's first survey (as it would one made by an older
    app version): it fails on the phone, with the server's reason."""

    def tamper(route: Route) -> None:
        body = json.loads(route.request.post_data or "{}")
        body["submissions"][0]["answers"]["household_size"] = 99
        route.continue_(post_data=json.dumps(body))

    page.route(BATCH, tamper, times=1)


def test_every_unsent_survey_is_warned_about_before_the_volunteer_changes(
    phone_context: BrowserContext, phone: Page, sync_engine: Engine
) -> None:
    """Signing out with only a survey the server refused ("Gửi lỗi") asked nothing and the
    sign-in screen's note of kept surveys stayed hidden (only waiting ones were counted);
    another volunteer's QR link switched the account without a word."""
    first = signed_in(phone_context, sync_engine, "tnv-a", password=PASSWORD)
    other = person(sync_engine, "tnv-b", "Người sau")
    open_app(phone)
    refuse_next_batch(phone)
    fill_household(phone)
    phone.click("#outbox-button")
    expect(phone.locator('.outbox-item[data-status="failed"]')).to_have_count(1)
    phone.click("#home-button")
    phone.click("#settings-button")
    phone.click("#sign-out")
    dialog = phone.locator("#confirm-dialog")
    expect(dialog).to_contain_text("Còn 1 khảo sát chưa gửi, trong đó 1 gửi lỗi hoặc đang sửa")
    phone.click("#confirm-cancel")
    phone.click("#lang-toggle")  # asked in the language shown
    phone.click("#sign-out")
    expect(dialog).to_contain_text("1 surveys are not sent yet, 1 of them refused")
    phone.click("#confirm-ok")
    kept = phone.locator("#kept-note")
    expect(kept).to_contain_text("1 surveys refused by the server or being corrected are kept")
    phone.click("#lang-toggle")
    expect(kept).to_contain_text("1 khảo sát gửi lỗi hoặc đang sửa được giữ trên điện thoại")
    assert [s["status"] for s in surveys_on(phone)] == ["failed"]

    sign_in_with_password(phone, "tnv-a", PASSWORD)
    expect(phone.locator("#signed-in-as")).to_have_text("Đã đăng nhập: tnv-a")
    # Another volunteer's QR code, opened on A's phone: asked first; "no" keeps A, and the
    # one-time code is not spent.
    code = make_enrolment(sync_engine, other)
    phone.goto(f"/collect/#enrol={code}")
    expect(dialog).to_contain_text("Còn 1 khảo sát chưa gửi của tnv-a")
    phone.click("#confirm-cancel")
    expect(dialog).to_have_count(0)
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    expect(phone.locator("#signed-in-as")).to_have_text("Đã đăng nhập: tnv-a")
    expect(phone.locator("#new-household")).to_be_visible()  # the forms are there
    assert "enrol" not in phone.url
    phone.goto(f"/collect/#enrol={code}")
    phone.click("#confirm-ok")
    expect(phone.locator("#signed-in-as")).to_have_text("Đã đăng nhập: Người sau")
    assert [s["user_id"] for s in surveys_on(phone)] == [first.user_id]  # kept for A
    assert stored(sync_engine) == []
    assert [e for e in uncaught(phone) if "422" not in e] == []
