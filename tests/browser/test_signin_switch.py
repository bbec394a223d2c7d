"""One phone, two volunteers: a sync under way when the account changes, and the warnings
given before the account changes while surveys are unsent (real Chromium, real server)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect
from sqlalchemy import Engine

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
        store.put({ ...model, id, collected_at: at, body: { ...model.body, id, collected_at: at } });
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
    rows = stored(sync_engine)
    assert len(rows) == TOTAL
    assert {row["collector_user_id"] for row in rows} == {first.user_id}
    assert uncaught(phone) == []
