"""The treasurer's cash book (static/collect/treasurer*.js) behind middleboxes, against the real
server in Chromium: a captive portal answering 200 text/html, a proxy answering an empty 200,
a 502 and a redirect. The phone takes an opening or a close as done only on the server's own
answer, opens again a meeting the server says it does not have, and sends what waits again
by itself with a backoff; once the middlebox is gone, everything is posted exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route, expect
from sqlalchemy import Engine, text

from tests.auth import make_token
from tests.browser.conftest import PhoneAccount, record_console_errors, signed_in_phone
from tests.browser.test_outbox import uncaught, wait_for
from tests.cdf_support import close_meetings_left_open, drop_cities, savings_group, treasurer_id

pytestmark = [pytest.mark.browser]
expect.set_options(timeout=15_000)

CITY = "cdf-middlebox-town"
OPEN = "**/api/v1/cdf/groups/*/meetings"
RECORDS = "**/api/v1/cdf/meetings/*/records"
CLOSE = "**/api/v1/cdf/meetings/*/close"
PORTAL = "<!doctype html><html><body><h1>Wi-Fi miễn phí: đăng nhập</h1></body></html>"
# Every meeting the phone keeps (IndexedDB kv), whatever its key.
MEETINGS = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open("cdfmap-collect");
  open.onsuccess = () => {
    const db = open.result;
    const read = db.transaction("kv").objectStore("kv").getAll();
    read.onsuccess = () => {
      db.close();
      resolve(read.result.filter((value) => value && value.group_id && value.entries));
    };
    read.onerror = () => reject(read.error);
  };
  open.onerror = () => reject(open.error);
})"""
# The meeting as an older version left it after a portal answered its opening: opened on the
# phone, its records sent (and answered 404 since), the server holding no such meeting.
STUCK = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open("cdfmap-collect");
  open.onsuccess = () => {
    const db = open.result;
    const tx = db.transaction("kv", "readwrite");
    const store = tx.objectStore("kv");
    const keys = store.getAllKeys();
    keys.onsuccess = () => {
      for (const key of keys.result) {
        if (!String(key).includes(".meeting.")) continue;
        const read = store.get(key);
        read.onsuccess = () => {
          const meeting = read.result;
          meeting.opened = true;
          for (const entry of Object.values(meeting.entries)) entry.state = "sending";
          store.put(meeting, key);
        };
      }
    };
    tx.oncomplete = () => { db.close(); resolve(null); };
    tx.onerror = () => reject(tx.error);
  };
  open.onerror = () => reject(open.error);
})"""


@dataclass(frozen=True)
class Treasurer(PhoneAccount):
    """A treasurer of one group, signed in on the phone with their roles known."""

    group_id: int = 0
    city_id: int = 0

    def session(self) -> dict[str, object]:
        session = super().session()
        role = {
            "role": "treasurer",
            "city": CITY,
            "city_id": self.city_id,
            "ward_id": None,
            "cdf_group_id": self.group_id,
        }
        session["user"] = {**session["user"], "roles": [role]}  # type: ignore[dict-item]
        return session


@pytest.fixture(scope="module")
def group(live_server: str, sync_engine: Engine) -> Iterator[dict[str, Any]]:
    """A savings group of two members and its treasurer (tq-mb)."""
    ids, group_id, members = savings_group(
        live_server,
        sync_engine,
        CITY,
        "Thành phố Cổng Wi-Fi",
        "Nhóm tiết kiệm An Hải",
        [("AH-1", "Lê Thị Thu"), ("AH-2", "Võ Văn Hải")],
    )
    user_id = treasurer_id(sync_engine, "tq-mb", ids["city"], group_id)
    yield {"id": group_id, "city": ids["city"], "members": members, "user": user_id}
    drop_cities(sync_engine, CITY)


@pytest.fixture(autouse=True)
def _no_meeting_left_open(sync_engine: Engine, group: dict[str, Any]) -> None:
    """Each test's phone opens a meeting of its own (one left open would be joined)."""
    close_meetings_left_open(sync_engine, group["id"])


def phone(browser: Browser, live_server: str, engine: Engine, group: dict[str, Any]) -> Any:
    """A phone signed in as the treasurer (a device token), roles known."""
    token = make_token(engine, group["user"], kind="device", lifetime=timedelta(days=1))
    account = Treasurer(group["user"], "tq-mb", token, "", group["id"], group["city"])
    return signed_in_phone(browser, live_server, account)


def kept(page: Page) -> dict[str, Any]:
    """The one meeting the phone keeps."""
    (meeting,) = page.evaluate(MEETINGS)
    return meeting  # type: ignore[no-any-return]


def meeting_typed(page: Page, group: dict[str, Any]) -> str:
    """The sheet, a meeting opened offline with two final amounts of the first member; its
    id."""
    page.goto("/collect")
    page.click("#treasurer-open")
    expect(page.locator("#open-meeting")).to_be_visible()
    page.context.set_offline(True)
    page.click("#open-meeting")
    member = group["members"][0]
    page.fill(f"#m{member}-savings", "50.000")
    page.fill(f"#m{member}-mutual_aid", "10.000")
    page.locator("#cash-counted").click()  # the field is left: the amounts are final
    expect(page.locator("#waiting-count")).to_have_text("2 khoản chờ gửi")
    wait_for(page, lambda: [e["ready"] for e in kept(page)["entries"].values()] == [True, True])
    return str(kept(page)["id"])


def meeting_row(engine: Engine, meeting_id: str) -> dict[str, Any] | None:
    with engine.connect() as connection:
        row = (
            connection.execute(
                text("SELECT status, cash_counted FROM cdf_meetings WHERE id = :id"),
                {"id": meeting_id},
            )
            .mappings()
            .first()
        )
        return dict(row) if row else None


def entries_of(engine: Engine, meeting_id: str) -> list[tuple[str, str | None]]:
    """(kind, client_id) of each entry posted for the meeting."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT kind, client_id::text FROM cdf_entries WHERE meeting_id = :id ORDER BY id"
            ),
            {"id": meeting_id},
        )
        return [(row[0], row[1]) for row in rows]


def from_server(response: Any) -> bool:
    """An answer of the server's own (JSON), not a middlebox's."""
    return str(response.headers.get("content-type", "")).startswith("application/json")


def posted_once(engine: Engine, page: Page, meeting_id: str) -> None:
    """The meeting's two records are in the books exactly once, under the phone's ids."""
    entries = [e for e in entries_of(engine, meeting_id) if e[0] != "cash_difference"]
    phone_ids = sorted(e["client_id"] for e in kept(page)["entries"].values())
    assert sorted(client for _, client in entries) == phone_ids
    assert sorted(kind for kind, _ in entries) == ["mutual_aid", "savings"]


def test_a_portal_page_answering_the_close_keeps_the_cash_count_unsent(
    browser: Browser, live_server: str, sync_engine: Engine, group: dict[str, Any]
) -> None:
    """A captive portal answered the close with 200 text/html: the phone said "closed" with
    a difference of 0, the server's meeting stayed open with no count, and the count was
    never sent again (the new meeting button then deleted it)."""
    with phone(browser, live_server, sync_engine, group) as (context, page):
        meeting_id = meeting_typed(page, group)
        expected = page.locator("#cash-expected").inner_text()
        page.fill("#cash-counted", expected)
        page.fill("#attendance", "2")
        page.click("#close-meeting")
        expect(page.locator("#close-waiting")).to_be_visible()
        wait_for(page, lambda: kept(page)["close"] is not None)
        portal: list[str] = []

        def captive(route: Route) -> None:
            portal.append(route.request.url)
            route.fulfill(status=200, content_type="text/html", body=PORTAL)

        page.route(CLOSE, captive)
        context.set_offline(False)  # the `online` event sends the meeting
        wait_for(page, lambda: len(portal) >= 1, 20_000)
        wait_for(page, lambda: kept(page)["close"].get("error") is not None)

        meeting = kept(page)
        assert meeting["closed"] is False and meeting["result"] is None
        assert meeting["close"]["cash_counted"] == int(expected.replace(".", ""))
        expect(page.locator("#closed-notice")).to_have_count(0)
        expect(page.locator("#new-meeting")).to_have_count(0)
        expect(page.locator("#close-error")).to_contain_text("HTTP 200")
        expect(page.locator("#close-meeting")).to_be_visible()  # the count may be sent again
        assert meeting_row(sync_engine, meeting_id) == {"status": "open", "cash_counted": None}
        posted_once(sync_engine, page, meeting_id)  # the records went; the close did not

        # The portal let the phone through: the count goes by itself (no reload, no button).
        closes: list[int] = []
        page.on(
            "response",
            lambda r: (
                closes.append(r.status) if r.url.endswith("/close") and from_server(r) else None
            ),
        )
        page.unroute(CLOSE)
        counted = int(expected.replace(".", ""))
        wait_for(
            page,
            lambda: (
                meeting_row(sync_engine, meeting_id)
                == {"status": "closed", "cash_counted": counted}
            ),
            40_000,
        )
        wait_for(page, lambda: kept(page)["closed"] is True)
        expect(page.locator("#closed-notice")).to_contain_text("Chênh lệch ghi sổ: 0 đ")
        page.wait_for_timeout(3000)  # no retry left behind sends anything more
        assert closes == [200]
        assert kept(page)["result"]["difference"] == 0
        posted_once(sync_engine, page, meeting_id)
        assert not [e for e in entries_of(sync_engine, meeting_id) if e[0] == "cash_difference"]
        assert uncaught(page) == []


def test_a_portal_or_an_empty_answer_to_the_opening_never_leaves_the_meeting_stuck(
    browser: Browser, live_server: str, sync_engine: Engine, group: dict[str, Any]
) -> None:
    """The meeting's opening answered by a portal's page (then a proxy's empty 200) was taken
    as opened: the server had no meeting, every records POST got a 404, the records stayed
    "sending" for ever and nothing was posted."""
    with phone(browser, live_server, sync_engine, group) as (context, page):
        meeting_id = meeting_typed(page, group)
        opens: list[str] = []

        def middlebox(route: Route) -> None:
            opens.append(route.request.url)
            if len(opens) == 1:
                route.fulfill(status=200, content_type="text/html", body=PORTAL)
            else:
                route.fulfill(status=200, body="")

        page.route(OPEN, middlebox)
        context.set_offline(False)
        wait_for(page, lambda: len(opens) >= 1, 20_000)
        wait_for(page, lambda: kept(page).get("open_error") is not None)  # the portal's page
        assert kept(page)["opened"] is False
        wait_for(page, lambda: len(opens) >= 2, 15_000)  # sent again: the proxy's empty 200
        page.wait_for_timeout(500)

        meeting = kept(page)
        assert meeting["opened"] is False
        assert all(e["state"] != "posted" for e in meeting["entries"].values())
        expect(page.locator("#treasurer-status")).to_contain_text("HTTP 200")
        expect(page.locator("#waiting-count")).to_have_text("2 khoản chờ gửi")
        assert meeting_row(sync_engine, meeting_id) is None
        assert entries_of(sync_engine, meeting_id) == []

        page.unroute(OPEN)
        wait_for(page, lambda: len(entries_of(sync_engine, meeting_id)) == 2, 40_000)
        wait_for(page, lambda: kept(page)["opened"] is True)
        wait_for(
            page,
            lambda: [e["state"] for e in kept(page)["entries"].values()] == ["posted", "posted"],
        )
        assert meeting_row(sync_engine, meeting_id) == {"status": "open", "cash_counted": None}
        page.wait_for_timeout(3000)
        posted_once(sync_engine, page, meeting_id)
        expect(page.locator("#waiting-count")).to_have_text("0 khoản chờ gửi")
        assert uncaught(page) == []


def test_a_meeting_the_server_does_not_have_is_opened_again(
    browser: Browser, live_server: str, sync_engine: Engine, group: dict[str, Any]
) -> None:
    """A phone left by the older version with a meeting it took as opened (a portal answered
    its opening): its records are answered 404 "meeting not found". The phone opens the
    meeting again (idempotent on its id) and posts the same records once."""
    with phone(browser, live_server, sync_engine, group) as (context, page):
        meeting_id = meeting_typed(page, group)
        ids = sorted(e["client_id"] for e in kept(page)["entries"].values())
        page.evaluate(STUCK)
        page.close()  # no `online` event sends the copy on the sheet
        context.set_offline(False)
        page = context.new_page()
        record_console_errors(page)
        answers: list[tuple[str, int]] = []
        page.on(
            "response",
            lambda r: (
                answers.append((r.url.rsplit("/", 1)[-1], r.status))
                if "/api/v1/cdf/" in r.url and r.request.method == "POST"
                else None
            ),
        )
        page.goto("/collect")  # the meeting left open on the phone opens again and is sent
        wait_for(page, lambda: len(entries_of(sync_engine, meeting_id)) == 2, 30_000)
        wait_for(
            page,
            lambda: [e["state"] for e in kept(page)["entries"].values()] == ["posted", "posted"],
        )
        assert kept(page)["opened"] is True
        assert sorted(e["client_id"] for e in kept(page)["entries"].values()) == ids
        assert meeting_row(sync_engine, meeting_id) == {"status": "open", "cash_counted": None}
        page.wait_for_timeout(3000)
        assert answers == [("records", 404), ("meetings", 201), ("records", 200)]
        posted_once(sync_engine, page, meeting_id)
        assert uncaught(page) == []


def test_the_cash_book_is_sent_again_by_itself_after_a_502_and_a_redirect(
    browser: Browser, live_server: str, sync_engine: Engine, group: dict[str, Any]
) -> None:
    """After a proxy's 502, or a redirect to a portal, nothing was sent again until the sheet
    was reloaded or the phone went offline and online again."""
    with phone(browser, live_server, sync_engine, group) as (context, page):
        meeting_id = meeting_typed(page, group)
        hits: list[int] = []

        def flaky(route: Route) -> None:
            hits.append(1)
            if len(hits) == 1:
                route.fulfill(status=502, content_type="text/html", body="<h1>Bad Gateway</h1>")
            else:
                route.fulfill(status=302, headers={"location": "/collect"})

        page.route(RECORDS, flaky)
        context.set_offline(False)
        wait_for(page, lambda: len(hits) >= 1, 20_000)
        # The 502's retry comes by itself (no reload, no button, no `online` event).
        wait_for(page, lambda: len(hits) >= 2, 15_000)
        meeting = kept(page)
        assert meeting["opened"] is True
        assert [e["state"] for e in meeting["entries"].values()] == ["sending", "sending"]
        expect(page.locator("#treasurer-status")).to_contain_text("Sẽ tự gửi lại sau")
        assert meeting_row(sync_engine, meeting_id) == {"status": "open", "cash_counted": None}
        assert entries_of(sync_engine, meeting_id) == []

        records: list[int] = []
        page.on(
            "response",
            lambda r: (
                records.append(r.status) if r.url.endswith("/records") and from_server(r) else None
            ),
        )
        page.unroute(RECORDS)
        wait_for(page, lambda: len(entries_of(sync_engine, meeting_id)) == 2, 40_000)
        wait_for(
            page,
            lambda: [e["state"] for e in kept(page)["entries"].values()] == ["posted", "posted"],
        )
        expect(page.locator("#treasurer-status")).to_have_text("Đã gửi 2 khoản.")
        page.wait_for_timeout(3000)
        assert records == [200]
        posted_once(sync_engine, page, meeting_id)
        assert uncaught(page) == []
