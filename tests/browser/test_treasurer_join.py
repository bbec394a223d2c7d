"""Two phones open the same savings group's meeting on the same day (the treasurer's and the
secretary's), each with the id it made, one of them offline: the server keeps one meeting,
the second phone takes its id, and every record of both phones lands in it. Before, each
phone opened its own meeting of the day and each counted the same box at its close: the
second close posted the money counted by the first as a cash difference."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import Engine, text

from tests.auth import make_token
from tests.browser.conftest import PHONE, record_console_errors, sign_in_phone
from tests.browser.test_collect import wait_offline_ready
from tests.browser.test_treasurer import READ_KV, _amount, _meeting_rows, _uncaught
from tests.cdf_support import close_meetings_left_open, drop_cities, savings_group, treasurer_id

pytestmark = [pytest.mark.browser]
expect.set_options(timeout=15_000)

CITY = "cdf-join-phones-town"
HOSTILE = "<img src=x onerror=window.__pwned=1>‮Hòa"


@pytest.fixture(scope="module")
def group(live_server: str, sync_engine: Engine) -> Iterator[dict[str, Any]]:
    """A group of two members with two people keeping its cash book."""
    ids, group_id, members = savings_group(
        live_server,
        sync_engine,
        CITY,
        "Thành phố Hai Máy",
        "Nhóm Hai Máy",
        [("A", "Nguyễn Thị An"), ("B", HOSTILE)],
    )
    people = {}
    for who in ("thu-quy", "thu-ky"):
        user_id = treasurer_id(sync_engine, f"join-{who}", ids["city"], group_id)
        people[who] = {"id": user_id, "token": make_token(sync_engine, user_id)}
    yield {"city": ids["city"], "group": group_id, "members": members, "people": people}
    drop_cities(sync_engine, CITY)


def _phone(browser: Browser, live_server: str, group: dict[str, Any], who: str) -> BrowserContext:
    context = browser.new_context(
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        locale="vi-VN",
        base_url=live_server,
        service_workers="allow",
    )
    person = group["people"][who]

    class Account:
        def session(self) -> dict[str, Any]:
            role = {
                "role": "treasurer",
                "city": CITY,
                "city_id": group["city"],
                "ward_id": None,
                "cdf_group_id": group["group"],
            }
            user = {"id": person["id"], "username": f"join-{who}", "roles": [role]}
            return {"token": person["token"], "user": user, "expired": False}

    sign_in_phone(context, Account())  # type: ignore[arg-type]
    return context


@pytest.fixture
def phones(
    browser: Browser, live_server: str, group: dict[str, Any]
) -> Iterator[tuple[Page, Page]]:
    contexts = [_phone(browser, live_server, group, who) for who in ("thu-quy", "thu-ky")]
    pages = []
    for context in contexts:
        page = context.new_page()
        record_console_errors(page)
        pages.append(page)
    yield pages[0], pages[1]
    for context in contexts:
        context.close()


def _meetings_today(engine: Engine, group: int) -> list[str]:
    """The group's meetings of today still open (those of earlier tests are closed)."""
    with engine.connect() as connection:
        return [
            str(row[0])
            for row in connection.execute(
                text(
                    "SELECT id FROM cdf_meetings WHERE group_id = :group AND held_on = :day "
                    "AND status = 'open'"
                ),
                {"group": group, "day": date.today()},
            )
        ]


def test_two_phones_record_into_one_meeting_of_the_day(
    phones: tuple[Page, Page], group: dict[str, Any], sync_engine: Engine
) -> None:
    close_meetings_left_open(sync_engine, group["group"])
    treasurer, secretary = phones
    first, second = group["members"]
    for page in phones:
        page.goto("/collect")
        wait_offline_ready(page)
        page.click("#treasurer-open")
        expect(page.locator("#open-meeting")).to_be_visible()

    # The secretary's phone opens the meeting offline and records a saving there.
    secretary.context.set_offline(True)
    secretary.click("#open-meeting")
    secretary.fill(_amount(second, "savings"), "70.000")
    secretary.locator("#cash-counted").click()  # the saving's field is left: it is final
    own_id = secretary.locator("#meeting-title").get_attribute("data-meeting")
    key = f"treasurer.{group['people']['thu-ky']['id']}.meeting.{group['group']}"

    # Meanwhile the treasurer's phone, online, opens the meeting and sends a saving.
    treasurer.click("#open-meeting")
    treasurer.fill(_amount(first, "savings"), "50.000")
    treasurer.locator("#cash-counted").click()
    treasurer.click("#treasurer-sync")
    expect(treasurer.locator(_amount(first, "savings"))).to_have_attribute("data-state", "posted")
    meeting_id = treasurer.locator("#meeting-title").get_attribute("data-meeting")
    assert meeting_id and own_id and meeting_id != own_id
    assert _meetings_today(sync_engine, group["group"]) == [meeting_id]
    expect(treasurer.locator("#meeting-joined")).to_have_count(0)

    # Back online, the secretary's phone joins the treasurer's meeting with its record.
    secretary.context.set_offline(False)
    expect(secretary.locator(_amount(second, "savings"))).to_have_attribute(
        "data-state", "posted", timeout=30_000
    )
    expect(secretary.locator("#meeting-joined")).to_have_text(
        "Cuộc họp này đã được mở trên máy khác; các khoản ghi được gộp vào đó."
    )
    expect(secretary.locator("#meeting-title")).to_have_attribute("data-meeting", meeting_id)
    kept = secretary.evaluate(READ_KV, key)
    assert (kept["id"], kept["joined_from"], kept["opened"]) == (meeting_id, own_id, True)
    assert [e["state"] for e in kept["entries"].values()] == ["posted"]
    secretary.click("#lang-toggle")
    expect(secretary.locator("#meeting-joined")).to_have_text(
        "This meeting was already opened on another phone; your records join it."
    )
    assert _meetings_today(sync_engine, group["group"]) == [meeting_id]
    rows = _meeting_rows(sync_engine, meeting_id)
    assert sorted((row["kind"], row["total"]) for row in rows) == [("savings", 0)] * 2
    with sync_engine.connect() as connection:
        saved = connection.execute(
            text(
                "SELECT a.member_id, -sum(l.amount) FROM cdf_lines l "
                "JOIN cdf_accounts a ON a.id = l.account_id JOIN cdf_entries e "
                "ON e.id = l.entry_id WHERE e.meeting_id = :id AND a.kind = 'savings' "
                "GROUP BY a.member_id"
            ),
            {"id": meeting_id},
        ).all()
    assert dict(saved) == {first: 50_000, second: 70_000}

    # A reload keeps the joined meeting; its close counts the box once, with both savings.
    secretary.reload()
    expect(secretary.locator("#meeting-title")).to_have_attribute("data-meeting", meeting_id)
    expect(secretary.locator(_amount(second, "savings"))).to_have_attribute("data-state", "posted")
    secretary.fill("#cash-counted", "120.000")
    secretary.fill("#close-note", "Máy thủ quỹ đã ghi 50.000")
    secretary.click("#close-meeting")
    expect(secretary.locator("#closed-notice")).to_contain_text(": 0 đ", timeout=30_000)
    with sync_engine.connect() as connection:
        closed = connection.execute(
            text("SELECT status, cash_counted, cash_in_ledger FROM cdf_meetings WHERE id = :id"),
            {"id": meeting_id},
        ).one()
    assert tuple(closed) == ("closed", 120_000, 120_000)
    assert [r["kind"] for r in _meeting_rows(sync_engine, meeting_id)].count("cash_difference") == 0
    assert secretary.evaluate("window.__pwned") is None
    assert _uncaught(treasurer) == [] and _uncaught(secretary) == []


def test_a_second_tab_of_the_joining_phone_follows_the_meeting_it_joined(
    phones: tuple[Page, Page], group: dict[str, Any], sync_engine: Engine
) -> None:
    """The secretary's phone shows the sheet in two tabs when it joins: the other tab, still
    showing the meeting under the phone's own id, takes the server's id too, and what is typed
    there afterwards goes to the one meeting (never back under the phone's own id)."""
    close_meetings_left_open(sync_engine, group["group"])
    treasurer, secretary = phones
    first, second = group["members"]
    other_tab = secretary.context.new_page()
    record_console_errors(other_tab)
    for page in (treasurer, secretary):
        page.goto("/collect")
        wait_offline_ready(page)
        page.click("#treasurer-open")
        expect(page.locator("#open-meeting")).to_be_visible()
    secretary.context.set_offline(True)
    secretary.click("#open-meeting")
    own_id = secretary.locator("#meeting-title").get_attribute("data-meeting")
    other_tab.goto("/collect")  # offline: the app from its cache, the meeting kept reopened
    expect(other_tab.locator("#meeting-title")).to_have_attribute("data-meeting", own_id or "")
    secretary.fill(_amount(second, "savings"), "40.000")
    secretary.locator("#cash-counted").click()
    treasurer.click("#open-meeting")
    expect(treasurer.locator("#treasurer-sync")).to_be_enabled()
    meeting_id = treasurer.locator("#meeting-title").get_attribute("data-meeting")
    for _ in range(100):
        if _meetings_today(sync_engine, group["group"]) == [meeting_id]:
            break
        treasurer.wait_for_timeout(100)
    assert _meetings_today(sync_engine, group["group"]) == [meeting_id]

    secretary.context.set_offline(False)
    for page in (secretary, other_tab):
        expect(page.locator("#meeting-title")).to_have_attribute(
            "data-meeting", meeting_id or "", timeout=30_000
        )
        expect(page.locator("#meeting-joined")).to_be_visible()
    expect(other_tab.locator(_amount(second, "savings"))).to_have_attribute("data-state", "posted")
    other_tab.fill(_amount(first, "mutual_aid"), "10.000")
    other_tab.locator("#cash-counted").click()
    other_tab.click("#treasurer-sync")
    expect(other_tab.locator(_amount(first, "mutual_aid"))).to_have_attribute(
        "data-state", "posted"
    )
    expect(secretary.locator(_amount(first, "mutual_aid"))).to_have_value("10.000")
    key = f"treasurer.{group['people']['thu-ky']['id']}.meeting.{group['group']}"
    kept = secretary.evaluate(READ_KV, key)
    assert (kept["id"], kept["joined_from"]) == (meeting_id, own_id)
    assert _meetings_today(sync_engine, group["group"]) == [meeting_id]
    rows = _meeting_rows(sync_engine, meeting_id or "")
    assert sorted(row["kind"] for row in rows) == ["mutual_aid", "savings"]
    assert _uncaught(secretary) == [] and _uncaught(other_tab) == []
