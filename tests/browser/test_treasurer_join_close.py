"""Two phones record one savings group's meeting (the treasurer's and the secretary's) and
one of them closes it. Before, each phone expected in the box only the money of its own
records, so the close asked for a note about a difference that was the other phone's
records; and once one phone had closed the meeting, the other was stuck: its close with
another count got a 409, its records sent after the close were refused, and nothing offered
a way on (money taken at the meeting, and no new meeting to put it in)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, text

from tests.browser.test_collect import wait_offline_ready
from tests.browser.test_treasurer import READ_KV, _amount, _meeting_rows, _uncaught
from tests.browser.test_treasurer_join import HOSTILE, group, phones  # noqa: F401 (fixtures)
from tests.cdf_support import close_meetings_left_open

pytestmark = [pytest.mark.browser]
expect.set_options(timeout=15_000)


def _money(amount: int) -> str:
    """An amount as the phone shows it (Vietnamese thousands)."""
    return f"{amount:,}".replace(",", ".")


def _cash(engine: Engine, group_id: int) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT coalesce(sum(l.amount), 0) FROM cdf_lines l "
                    "JOIN cdf_accounts a ON a.id = l.account_id "
                    "WHERE a.kind = 'group_cash' AND a.group_id = :group"
                ),
                {"group": group_id},
            ).scalar_one()
        )


def _meeting(engine: Engine, meeting_id: str) -> tuple[Any, ...]:
    with engine.connect() as connection:
        return tuple(
            connection.execute(
                text(
                    "SELECT status, cash_counted, cash_in_ledger FROM cdf_meetings WHERE id = :id"
                ),
                {"id": meeting_id},
            ).one()
        )


def _entries_of(engine: Engine, client_id: str) -> list[str]:
    """The meetings holding an entry under this client id (one at most: never twice)."""
    with engine.connect() as connection:
        return [
            str(row[0])
            for row in connection.execute(
                text("SELECT meeting_id FROM cdf_entries WHERE client_id = :id"),
                {"id": client_id},
            )
        ]


def _open_sheets(pages: tuple[Page, Page]) -> None:
    for page in pages:
        page.goto("/collect")
        wait_offline_ready(page)
        page.click("#treasurer-open")
        expect(page.locator("#open-meeting")).to_be_visible()


def _record(page: Page, member: int, kind: str, amount: str) -> None:
    """Type an amount, leave its field and send it: posted."""
    page.fill(_amount(member, kind), amount)
    page.locator("#attendance").click()  # the field is left: the amount is final
    page.click("#treasurer-sync")
    expect(page.locator(_amount(member, kind))).to_have_attribute("data-state", "posted")


def test_each_phone_expects_the_whole_box_from_the_books_and_keeps_what_a_close_refused(
    phones: tuple[Page, Page],  # noqa: F811
    group: dict[str, Any],  # noqa: F811
    sync_engine: Engine,
) -> None:
    close_meetings_left_open(sync_engine, group["group"])
    treasurer, secretary = phones
    first, second = group["members"]
    opening = _cash(sync_engine, group["group"])
    _open_sheets(phones)

    # Each phone records one saving into the one meeting of the day.
    treasurer.click("#open-meeting")
    _record(treasurer, first, "savings", "50.000")
    secretary.click("#open-meeting")
    _record(secretary, second, "savings", "70.000")
    expect(secretary.locator("#meeting-joined")).to_be_visible()
    meeting_id = treasurer.locator("#meeting-title").get_attribute("data-meeting") or ""
    expect(secretary.locator("#meeting-title")).to_have_attribute("data-meeting", meeting_id)

    # The treasurer counts the box: the books hold the secretary's saving too.
    treasurer.locator("#cash-counted").click()
    expect(treasurer.locator("#opening-cash")).to_have_text(_money(opening))
    expect(treasurer.locator("#money-in")).to_have_text("50.000")
    expect(treasurer.locator("#cash-elsewhere")).to_have_text("70.000")
    expect(treasurer.locator("#cash-expected")).to_have_text(_money(opening + 120_000))
    expect(treasurer.locator("#expected-source")).to_contain_text(
        "đã tính cả các khoản ghi trên máy khác"
    )

    # The secretary's phone loses the network and records a fine: it says plainly what its
    # figure leaves out.
    secretary.context.set_offline(True)
    secretary.fill(_amount(second, "fine"), "10.000")
    secretary.locator("#attendance").click()
    expect(secretary.locator("#cash-expected")).to_have_text(_money(opening + 130_000))
    expect(secretary.locator("#expected-source")).to_contain_text(
        "Các khoản ghi trên máy khác sau lúc đó chưa được tính."
    )
    expect(secretary.locator("#expected-source")).to_have_class("small warning")
    secretary.click("#lang-toggle")
    expect(secretary.locator("#expected-source")).to_contain_text(
        "Other phones' records since then are not counted yet."
    )
    secretary.click("#lang-toggle")

    # The treasurer closes with the box as the books have it: no difference, no note asked.
    treasurer.fill("#cash-counted", _money(opening + 120_000))
    expect(treasurer.locator("#cash-difference")).to_have_text("0")
    treasurer.click("#close-meeting")
    expect(treasurer.locator("#closed-notice")).to_contain_text(": 0 đ", timeout=30_000)
    assert _meeting(sync_engine, meeting_id) == ("closed", opening + 120_000, opening + 120_000)
    kinds = [row["kind"] for row in _meeting_rows(sync_engine, meeting_id)]
    assert sorted(kinds) == ["savings", "savings"]

    # Back online, the secretary's fine is refused by the closed meeting: the phone shows the
    # close the server holds, and keeps the fine, not recorded, for a new meeting.
    secretary.context.set_offline(False)
    expect(secretary.locator("#closed-notice")).to_have_text(
        "Cuộc họp đã được đóng sổ trên máy khác. Tiền đếm được: "
        f"{_money(opening + 120_000)} đ. Chênh lệch ghi sổ: 0 đ.",
        timeout=30_000,
    )
    expect(secretary.locator(_amount(second, "fine"))).to_have_attribute("data-state", "unrecorded")
    expect(secretary.locator(_amount(second, "savings"))).to_have_attribute("data-state", "posted")
    expect(secretary.locator("#unrecorded-list li")).to_have_text(
        [f"{HOSTILE} · Tiền phạt: 10.000 đ"]
    )
    expect(secretary.locator("#new-meeting")).to_have_text("Ghi 1 khoản này vào cuộc họp mới")
    expect(secretary.locator("#close-meeting")).to_have_count(0)
    key = f"treasurer.{group['people']['thu-ky']['id']}.meeting.{group['group']}"
    kept = secretary.evaluate(READ_KV, key)
    assert kept["closed"] and kept["closed_elsewhere"]
    fine = next(e for e in kept["entries"].values() if e["kind"] == "fine")
    assert (fine["state"], fine["amount"]) == ("unrecorded", 10_000)
    assert _entries_of(sync_engine, fine["client_id"]) == []
    secretary.click("#lang-toggle")
    expect(secretary.locator("#closed-notice")).to_contain_text(
        "The meeting was closed on another phone."
    )
    expect(secretary.locator("#new-meeting")).to_have_text("Put these 1 records into a new meeting")
    secretary.click("#lang-toggle")

    # A reload keeps it (money was taken at the meeting), then it goes into a new meeting.
    secretary.reload()
    expect(secretary.locator("#unrecorded-list li")).to_have_count(1)
    secretary.click("#new-meeting")
    expect(secretary.locator("#carry-notice")).to_have_text(
        "1 khoản chưa được ghi sổ ở cuộc họp trước sẽ được ghi vào cuộc họp mới này."
    )
    secretary.click("#open-meeting")
    expect(secretary.locator(_amount(second, "fine"))).to_have_attribute(
        "data-state", "posted", timeout=30_000
    )
    evening = secretary.locator("#meeting-title").get_attribute("data-meeting") or ""
    assert evening not in ("", meeting_id)
    assert _entries_of(sync_engine, fine["client_id"]) == [evening]
    expect(secretary.locator("#meeting-joined")).to_have_count(0)
    expect(secretary.locator(_amount(second, "savings"))).to_have_value("")
    secretary.locator("#cash-counted").click()
    expect(secretary.locator("#cash-expected")).to_have_text(_money(opening + 130_000))
    secretary.fill("#cash-counted", _money(opening + 130_000))
    secretary.click("#close-meeting")
    expect(secretary.locator("#closed-notice")).to_contain_text(
        "Chênh lệch ghi sổ: 0 đ.", timeout=30_000
    )
    assert _meeting(sync_engine, evening) == ("closed", opening + 130_000, opening + 130_000)
    assert _entries_of(sync_engine, fine["client_id"]) == [evening]
    assert _cash(sync_engine, group["group"]) == opening + 130_000
    assert secretary.evaluate("window.__pwned") is None
    assert _uncaught(treasurer) == [] and _uncaught(secretary) == []


def test_a_close_counted_offline_after_the_other_phone_closed_shows_that_close(
    phones: tuple[Page, Page],  # noqa: F811
    group: dict[str, Any],  # noqa: F811
    sync_engine: Engine,
) -> None:
    """The secretary counts the box offline with another count while the treasurer closes
    the meeting: back online its close is refused (409); the phone shows the treasurer's
    close, nothing of its own is lost, and a new meeting can start."""
    close_meetings_left_open(sync_engine, group["group"])
    treasurer, secretary = phones
    first, second = group["members"]
    opening = _cash(sync_engine, group["group"])
    _open_sheets(phones)

    # Opened offline, the secretary's phone has never read the books: it says so.
    secretary.context.set_offline(True)
    secretary.click("#open-meeting")
    expect(secretary.locator("#expected-source")).to_have_text(
        "Chưa kết nối được máy chủ: số này chỉ tính các khoản ghi trên máy này. "
        "Các khoản ghi trên máy khác (nếu có) chưa được tính."
    )
    secretary.click("#lang-toggle")
    expect(secretary.locator("#expected-source")).to_have_text(
        "The server cannot be reached: this counts only the records made on this phone. "
        "Other phones' records (if any) are not counted yet."
    )
    secretary.click("#lang-toggle")

    treasurer.click("#open-meeting")
    _record(treasurer, first, "savings", "50.000")
    secretary.context.set_offline(False)
    _record(secretary, second, "savings", "70.000")
    expect(secretary.locator("#meeting-joined")).to_be_visible()
    meeting_id = treasurer.locator("#meeting-title").get_attribute("data-meeting") or ""

    # Offline, the secretary counts 100.000 too few and closes on the phone.
    secretary.context.set_offline(True)
    secretary.fill("#cash-counted", _money(opening + 20_000))
    secretary.fill("#close-note", "Đếm thiếu")
    secretary.click("#close-meeting")
    expect(secretary.locator("#close-waiting")).to_be_visible()
    # The treasurer counts the box right and closes it.
    treasurer.locator("#cash-counted").click()
    expect(treasurer.locator("#cash-expected")).to_have_text(_money(opening + 120_000))
    treasurer.fill("#cash-counted", _money(opening + 120_000))
    treasurer.click("#close-meeting")
    expect(treasurer.locator("#closed-notice")).to_contain_text(": 0 đ", timeout=30_000)

    secretary.context.set_offline(False)
    expect(secretary.locator("#closed-notice")).to_have_text(
        "Cuộc họp đã được đóng sổ trên máy khác. Tiền đếm được: "
        f"{_money(opening + 120_000)} đ. Chênh lệch ghi sổ: 0 đ.",
        timeout=30_000,
    )
    expect(secretary.locator("#unrecorded")).to_have_count(0)
    expect(secretary.locator(_amount(second, "savings"))).to_have_attribute("data-state", "posted")
    expect(secretary.locator("#new-meeting")).to_have_text("Cuộc họp mới")
    assert _meeting(sync_engine, meeting_id) == ("closed", opening + 120_000, opening + 120_000)
    assert [row["kind"] for row in _meeting_rows(sync_engine, meeting_id)].count(
        "cash_difference"
    ) == 0
    key = f"treasurer.{group['people']['thu-ky']['id']}.meeting.{group['group']}"
    kept = secretary.evaluate(READ_KV, key)
    assert (kept["closed"], kept["closed_elsewhere"], kept["id"]) == (True, True, meeting_id)
    secretary.click("#new-meeting")
    expect(secretary.locator("#open-meeting")).to_be_visible()
    expect(secretary.locator("#carry-notice")).to_have_count(0)
    assert secretary.evaluate(READ_KV, key) is None
    assert _cash(sync_engine, group["group"]) == opening + 120_000
    assert _uncaught(treasurer) == [] and _uncaught(secretary) == []
