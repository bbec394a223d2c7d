"""The treasurer's sheet (static/collect/treasurer*.js) in Chromium at 360 x 640, Vietnamese
first: amounts typed wrong are never records (no prefix of them is kept, sent or counted, and
the meeting is not closed while one is there), two tabs of one phone on one meeting keep each
other's amounts, a batch sends the day's deposits before its withdrawals, a lost answer is
said in the sheet's own words, and the meeting's day is written as people write it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route, expect
from sqlalchemy import Engine, text

from tests.auth import make_token, make_user
from tests.browser.conftest import PhoneAccount, record_console_errors, signed_in_phone
from tests.browser.test_collect import wait_offline_ready
from tests.browser.test_outbox import uncaught, wait_for
from tests.cdf_support import close_meetings_left_open, drop_cities, savings_group

pytestmark = [pytest.mark.browser]
expect.set_options(timeout=15_000)

CITY = "cdf-sheet-defects-town"
MEMBERS = [("SD-1", "Phạm Thị Lụa"), ("SD-2", "Đặng Văn Sơn"), ("SD-3", "Lê Thị Mai")]
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
COMMA = "Dấu phẩy không dùng để chia hàng nghìn: hãy viết 100.000 (dấu chấm) hoặc 100000."
SHORTHAND = "Hãy viết đủ số tiền, ví dụ 50.000 hoặc 1.000.000 (không viết tắt k, tr)."
DECIMAL = "Chỉ nhập số đồng chẵn, không có phần thập phân."
LEADING_ZERO = "Số tiền không bắt đầu bằng số 0: ví dụ 50.000."
TOO_LARGE = "Số tiền quá lớn: tối đa 1.000.000.000.000 đ."
ZERO = "Số tiền phải lớn hơn 0 (để trống nếu không có)."
NETWORK = "mất kết nối với máy chủ; số liệu vẫn giữ trên điện thoại."


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
    """A savings group of three members (none has saved yet) and its treasurer."""
    ids, group_id, members = savings_group(
        live_server, sync_engine, CITY, "Thành phố Sổ Quỹ", "Nhóm tiết kiệm Hòa Khánh", MEMBERS
    )
    user_id = make_user(sync_engine, "tq-sheet", [])
    with sync_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO role_grants (user_id, role, city_id, cdf_group_id) "
                "VALUES (:user, 'treasurer', :city, :group)"
            ),
            {"user": user_id, "city": ids["city"], "group": group_id},
        )
    token = make_token(sync_engine, user_id, kind="device", lifetime=timedelta(days=1))
    account = Treasurer(user_id, "tq-sheet", token, "", group_id, ids["city"])
    yield {"id": group_id, "members": members, "account": account}
    drop_cities(sync_engine, CITY)


@pytest.fixture(autouse=True)
def _no_meeting_left_open(sync_engine: Engine, group: dict[str, Any]) -> None:
    """Each test's phone opens a meeting of its own (one left open would be joined)."""
    close_meetings_left_open(sync_engine, group["id"])


def open_sheet(page: Page) -> None:
    page.goto("/collect")
    wait_offline_ready(page)
    page.click("#treasurer-open")
    expect(page.locator("#open-meeting")).to_be_visible()


def entries_of(engine: Engine, meeting_id: str) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT e.kind, e.client_id::text AS client_id, "
                "(SELECT sum(l.amount) FROM cdf_lines l WHERE l.entry_id = e.id AND l.amount > 0) "
                "AS amount FROM cdf_entries e WHERE e.meeting_id = :id ORDER BY e.id"
            ),
            {"id": meeting_id},
        ).mappings()
        return [dict(row) for row in rows]


def test_an_amount_typed_wrong_is_never_a_record_nor_closed_over(
    browser: Browser, live_server: str, group: dict[str, Any]
) -> None:
    """Typed key by key, "100,000" was kept as 100 đ (the last part that read as a number),
    counted in the totals, shown as 100 after a reload, and the meeting could be closed with
    it: every amount typed wrong is kept as typed with its error, never as a number."""
    with signed_in_phone(browser, live_server, group["account"]) as (context, page):
        open_sheet(page)
        context.set_offline(True)
        page.click("#open-meeting")
        first, second, _ = group["members"]
        cases = [
            (f"#m{first}-savings", "100,000", COMMA),
            (f"#m{first}-mutual_aid", "50k", SHORTHAND),
            (f"#m{first}-fine", "1tr", SHORTHAND),
            (f"#m{first}-withdrawal", "5.5", DECIMAL),
            (f"#m{second}-savings", "10.000,5", DECIMAL),
            (f"#m{second}-mutual_aid", "0050.000", LEADING_ZERO),
            (f"#m{second}-fine", "1000000000000000", TOO_LARGE),
            (f"#m{second}-withdrawal", "0", ZERO),
        ]
        for selector, typed, message in cases:
            page.locator(selector).press_sequentially(typed)
            expect(page.locator(f"{selector}-error")).to_have_text(message)
            expect(page.locator(selector)).to_have_attribute("aria-invalid", "true")
        page.locator("#cash-counted").click()  # the last field is left
        expect(page.locator("#money-in")).to_have_text("0")
        expect(page.locator("#money-out")).to_have_text("0")
        expect(page.locator("#waiting-count")).to_have_text("0 khoản chờ gửi")

        def kept() -> list[dict[str, Any]]:
            (meeting,) = page.evaluate(MEETINGS)
            return list(meeting["entries"].values())

        wait_for(page, lambda: len(kept()) == len(cases))
        assert {entry["text"] for entry in kept()} == {typed for _, typed, _ in cases}
        assert all(entry["amount"] is None and entry["invalid"] for entry in kept())
        assert not any(entry["ready"] for entry in kept())

        page.reload()  # offline: the sheet comes back as typed, with its errors
        expect(page.locator("#meeting-title")).to_be_visible()
        for selector, typed, message in cases:
            expect(page.locator(selector)).to_have_value(typed)
            expect(page.locator(f"{selector}-error")).to_have_text(message)
        expect(page.locator("#money-in")).to_have_text("0")
        expect(page.locator("#money-out")).to_have_text("0")

        # The close is refused while an amount is wrong, naming the member; an empty box is
        # counted 0 all the same.
        page.fill("#cash-counted", "0")
        page.click("#close-meeting")
        expect(page.locator("#close-error")).to_have_text(
            "Chưa thể kết thúc: số tiền «100,000» ở ô «Tiết kiệm (cổ phần)» của Phạm Thị Lụa "
            "chưa đúng. Hãy sửa hoặc xoá ô đó."
        )
        expect(page.locator("#close-waiting")).to_have_count(0)
        assert page.evaluate(MEETINGS)[0]["close"] is None

        # Corrected: the amount counts; the others cleared; the meeting closes.
        page.fill(cases[0][0], "100.000")
        expect(page.locator(f"{cases[0][0]}-error")).to_be_hidden()
        for selector, _, _ in cases[1:]:
            page.fill(selector, "")
        expect(page.locator("#money-in")).to_have_text("100.000")
        page.fill("#cash-counted", "100.000")
        page.click("#close-meeting")
        expect(page.locator("#close-waiting")).to_be_visible()
        (meeting,) = page.evaluate(MEETINGS)
        assert [(e["amount"], e["ready"]) for e in meeting["entries"].values()] == [(100_000, True)]
        assert uncaught(page) == []


def test_two_tabs_on_one_meeting_keep_each_others_amounts(
    browser: Browser, live_server: str, sync_engine: Engine, group: dict[str, Any]
) -> None:
    """Each tab saved its whole copy of the meeting: the fine typed in tab 1 was lost for good
    once tab 2 saved its own. Saves merge by amount, and each tab shows the other's."""
    with signed_in_phone(browser, live_server, group["account"]) as (context, page):
        open_sheet(page)
        page.click("#open-meeting")
        expect(page.locator("#meeting-title")).to_be_visible()
        meeting_id = page.locator("#meeting-title").get_attribute("data-meeting")
        assert meeting_id
        other = context.new_page()
        record_console_errors(other)
        other.goto("/collect")  # the meeting left open opens again
        expect(other.locator("#meeting-title")).to_have_attribute("data-meeting", meeting_id)
        # The opening's sync is over (the server's books read back and saved) before the
        # network goes: its late save re-drew the other tab while the test typed there.
        wait_for(page, lambda: all(m.get("books") for m in page.evaluate(MEETINGS)), 20_000)
        context.set_offline(True)
        first, second, _ = group["members"]
        page.fill(f"#m{first}-fine", "1.000")
        page.locator("#cash-counted").click()
        other.fill(f"#m{second}-fine", "2.000")
        other.locator("#cash-counted").click()

        def fines() -> dict[int, tuple[int, bool]]:
            (meeting,) = page.evaluate(MEETINGS)
            entries = meeting["entries"].values()
            fine = [e for e in entries if e["kind"] == "fine"]
            return {e["member_id"]: (e["amount"], e["ready"]) for e in fine}

        wait_for(page, lambda: fines() == {first: (1_000, True), second: (2_000, True)})
        # Each tab shows the other's amount, and both in its totals.
        expect(page.locator(f"#m{second}-fine")).to_have_value("2.000")
        expect(other.locator(f"#m{first}-fine")).to_have_value("1.000")
        expect(page.locator("#money-in")).to_have_text("3.000")
        expect(other.locator("#money-in")).to_have_text("3.000")
        # Once both agree, the tabs fall quiet (no tab writes back what it was told of).
        page.evaluate(
            """() => { window.__told = 0; const c = new BroadcastChannel("cdfmap-treasurer");
            c.onmessage = () => { window.__told += 1; }; }"""
        )
        page.wait_for_timeout(1500)
        assert page.evaluate("window.__told") == 0
        # Tab 1 types again: tab 2's fine stays.
        page.fill(f"#m{first}-mutual_aid", "5.000")
        page.locator("#cash-counted").click()
        wait_for(page, lambda: len(page.evaluate(MEETINGS)[0]["entries"]) == 3)
        assert fines() == {first: (1_000, True), second: (2_000, True)}

        context.set_offline(False)  # both tabs send, one at a time
        expect(page.locator("#waiting-count")).to_have_text("0 khoản chờ gửi", timeout=30_000)
        wait_for(page, lambda: len(entries_of(sync_engine, meeting_id)) == 3, 20_000)
        rows = entries_of(sync_engine, meeting_id)
        assert sorted((row["kind"], row["amount"]) for row in rows) == [
            ("fine", 1_000),
            ("fine", 2_000),
            ("mutual_aid", 5_000),
        ]
        assert uncaught(page) == [] and uncaught(other) == []


def test_a_withdrawal_typed_before_the_days_savings_is_posted_after_them(
    browser: Browser, live_server: str, sync_engine: Engine, group: dict[str, Any]
) -> None:
    """The batch went in typing order: a member's withdrawal typed before their savings of the
    same meeting was refused (nothing saved yet, no cash in the box)."""
    with signed_in_phone(browser, live_server, group["account"]) as (context, page):
        open_sheet(page)
        page.click("#open-meeting")
        expect(page.locator("#meeting-title")).to_be_visible()
        meeting_id = page.locator("#meeting-title").get_attribute("data-meeting")
        assert meeting_id
        context.set_offline(True)
        third = group["members"][2]
        page.fill(f"#m{third}-withdrawal", "20.000")
        page.fill(f"#m{third}-savings", "50.000")
        page.locator("#cash-counted").click()
        context.set_offline(False)
        expect(page.locator("#waiting-count")).to_have_text("0 khoản chờ gửi", timeout=30_000)
        expect(page.locator(".badge.entry-failed")).to_have_count(0)
        rows = entries_of(sync_engine, meeting_id)
        assert [(row["kind"], row["amount"]) for row in rows] == [
            ("savings", 50_000),
            ("withdrawal", 20_000),
        ]
        assert uncaught(page) == []


def test_a_lost_answer_is_said_in_the_sheets_words(
    browser: Browser, live_server: str, group: dict[str, Any]
) -> None:
    """After an answer lost on its way (records, then the close), the status read "Chưa gửi
    được: Failed to fetch": the browser's words, in English."""
    with signed_in_phone(browser, live_server, group["account"]) as (_context, page):
        open_sheet(page)
        page.click("#open-meeting")
        expect(page.locator("#meeting-title")).to_be_visible()
        lost: list[str] = []

        def lose_once(route: Route) -> None:
            if lost:
                route.continue_()
                return
            route.fetch()  # the server has it; the answer never comes back
            lost.append(route.request.url)
            route.abort()

        page.route("**/api/v1/cdf/meetings/*/records", lose_once)
        page.fill(f"#m{group['members'][1]}-mutual_aid", "10.000")
        page.click("#treasurer-sync")
        status = page.locator("#treasurer-status")
        expect(status).to_contain_text(f"Chưa gửi được: {NETWORK}")
        expect(status).not_to_contain_text("Failed")
        expect(page.locator("#waiting-count")).to_have_text("0 khoản chờ gửi", timeout=20_000)

        lost.clear()
        page.route("**/api/v1/cdf/meetings/*/close", lose_once)
        page.fill("#cash-counted", page.locator("#cash-expected").inner_text())
        page.click("#close-meeting")
        expect(status).to_contain_text(f"Chưa gửi được: {NETWORK}")
        expect(status).not_to_contain_text("Failed")
        expect(page.locator("#closed-notice")).to_be_visible(timeout=20_000)
        assert uncaught(page) == []


def test_the_meetings_day_is_written_as_people_write_it(
    browser: Browser, live_server: str, group: dict[str, Any]
) -> None:
    """The title read "Cuộc họp ngày 2026-12-07" and the tab "Khảo sát hộ gia đình"."""
    today = date.today()
    with signed_in_phone(browser, live_server, group["account"]) as (context, page):
        open_sheet(page)
        expect(page).to_have_title("Sổ quỹ cuộc họp")
        context.set_offline(True)
        page.click("#open-meeting")
        day = today.strftime("%d/%m/%Y")
        expect(page.locator("#meeting-title")).to_contain_text(f"Cuộc họp ngày {day}")
        expect(page).to_have_title(f"Sổ quỹ · Cuộc họp ngày {day}")
        page.evaluate("() => localStorage.setItem('cdfmap.collect.lang', 'en')")
        page.reload()
        english = f"{today.day} {today.strftime('%b')} {today.year}"
        expect(page.locator("#meeting-title")).to_contain_text(f"Meeting of {english}")
        expect(page).to_have_title(f"Cash book · Meeting of {english}")
        assert uncaught(page) == []
