"""The treasurer's collection sheet in Chromium (static/collect/treasurer*.js): a phone goes
offline, runs a meeting of 20 members (and the group's own repayment of its CDF loan and the
remittance of the repayments to the CDF), is reloaded mid-meeting (nothing lost), closes the
meeting with a cash count, goes online and syncs; the database holds each record exactly
once and the journal balances; a resend of everything (as after a lost answer) posts nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import Engine, text

from tests.auth import bearer
from tests.browser.conftest import PHONE, SCREENSHOTS, record_console_errors, sign_in_phone
from tests.browser.test_collect import wait_offline_ready
from tests.cdf_support import drop_cities, make_city, person, treasurer

pytestmark = [pytest.mark.browser]
expect.set_options(timeout=15_000)

CITY = "cdf-treasurer-town"
MEMBERS = 20
HOSTILE = "</title><script>window.__pwned=1</script>{{7*7}}"
# The meeting as the phone keeps it (IndexedDB kv), to play a lost answer: every record and
# the close are made to look unsent, so the phone sends them all again with the same ids.
FORGET_ANSWERS = """(key) => new Promise((resolve, reject) => {
  const open = indexedDB.open("cdfmap-collect");
  open.onsuccess = () => {
    const db = open.result;
    const tx = db.transaction("kv", "readwrite");
    const store = tx.objectStore("kv");
    const read = store.get(key);
    read.onsuccess = () => {
      const meeting = read.result;
      meeting.opened = false;
      meeting.closed = false;
      meeting.result = null;
      for (const entry of Object.values(meeting.entries)) entry.state = "sending";
      store.put(meeting, key);
    };
    tx.oncomplete = () => { db.close(); resolve(null); };
    tx.onerror = () => reject(tx.error);
  };
  open.onerror = () => reject(open.error);
})"""


# One value of the phone's kv store.
READ_KV = """(key) => new Promise((resolve, reject) => {
  const open = indexedDB.open("cdfmap-collect");
  open.onsuccess = () => {
    const db = open.result;
    const read = db.transaction("kv").objectStore("kv").get(key);
    read.onsuccess = () => { db.close(); resolve(read.result); };
    read.onerror = () => reject(read.error);
  };
  open.onerror = () => reject(open.error);
})"""


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture(scope="module")
def books(live_server: str, sync_engine: Engine) -> Iterator[dict[str, Any]]:
    """A city's fund with a group of 20 members (one with a hostile name), two members with
    a loan that has overdue installments, a loan to the whole group (overdue too), and the
    group's treasurer."""
    ids = make_city(sync_engine, CITY, "Thành phố Thủ Quỹ")
    maker = person(sync_engine, "tq-maker", [("cdf_staff", ("city", CITY))], CITY)
    checker = person(sync_engine, "tq-checker", [("cdf_staff", ("city", CITY))], CITY)
    with httpx.Client(base_url=live_server, timeout=30) as client:

        def post(token: str, url: str, body: dict[str, Any]) -> dict[str, Any]:
            return _ok(client.post(url, json=body, headers=bearer(token)))

        group = post(
            maker,
            f"/api/v1/cdf/{CITY}/groups",
            {
                "name": "Nhóm tiết kiệm Phường Hòa Thuận Đông",
                "settlement_id": ids["settlement"],
                "founded_on": "2024-01-15",
                "meeting_frequency": "monthly",
                "share_value": 50_000,
            },
        )
        members = []
        for number in range(1, MEMBERS + 1):
            name = HOSTILE if number == 5 else f"Trần Thị Hòa {number}"
            members.append(
                post(
                    maker,
                    f"/api/v1/cdf/groups/{group['id']}/members",
                    {"code": f"TV-{number:02}", "name": name, "joined_on": "2024-01-15"},
                )["id"]
            )
        product = post(
            maker,
            f"/api/v1/cdf/{CITY}/products",
            {
                "code": "SX",
                "name": "Vay sản xuất",
                "kind": "income",
                "rate_bp": 100,
                "rate_period": "month",
                "term_installments": 10,
                "frequency": "monthly",
                "method": "flat",
            },
        )
        post(
            maker,
            f"/api/v1/cdf/{CITY}/capital",
            {
                "client_id": str(uuid.uuid4()),
                "source": "seed_grant",
                "amount": 50_000_000,
                "date": "2024-01-02",
            },
        )
        lent = (date.today() - timedelta(days=75)).isoformat()
        loans = []
        for member in members[:2]:
            loan = post(
                maker,
                f"/api/v1/cdf/{CITY}/loans",
                {
                    "client_id": str(uuid.uuid4()),
                    "group_id": group["id"],
                    "member_id": member,
                    "product_id": product["id"],
                    "principal": 2_000_000,
                    "date": lent,
                },
            )
            loan = loan.get("loan", loan)
            post(
                checker,
                f"/api/v1/cdf/loans/{loan['id']}/decision",
                {"decision": "approved", "date": lent},
            )
            post(
                maker,
                f"/api/v1/cdf/loans/{loan['id']}/disbursement",
                {"client_id": str(uuid.uuid4()), "date": lent},
            )
            loans.append(loan["id"])
        # The whole group borrows too (no member): it repays at its meetings.
        group_loan = post(
            maker,
            f"/api/v1/cdf/{CITY}/loans",
            {
                "client_id": str(uuid.uuid4()),
                "group_id": group["id"],
                "product_id": product["id"],
                "principal": 3_000_000,
                "date": lent,
            },
        )
        group_loan = group_loan.get("loan", group_loan)
        assert group_loan["member_id"] is None
        post(
            checker,
            f"/api/v1/cdf/loans/{group_loan['id']}/decision",
            {"decision": "approved", "date": lent},
        )
        post(
            maker,
            f"/api/v1/cdf/loans/{group_loan['id']}/disbursement",
            {"client_id": str(uuid.uuid4()), "date": lent},
        )
        # Member 3 saved earlier, so may withdraw some today.
        post(
            maker,
            f"/api/v1/cdf/groups/{group['id']}/transactions",
            {
                "client_id": str(uuid.uuid4()),
                "kind": "savings",
                "amount": 300_000,
                "member_id": members[2],
                "date": (date.today() - timedelta(days=30)).isoformat(),
            },
        )
    user_token = treasurer(sync_engine, "tq-thu-quy", ids["city"], group["id"])
    with sync_engine.connect() as connection:
        user_id = connection.execute(
            text("SELECT id FROM users WHERE username = 'tq-thu-quy'")
        ).scalar_one()
    yield {
        "group": group["id"],
        "members": members,
        "loans": loans,
        "group_loan": group_loan["id"],
        "token": user_token,
        "user_id": int(user_id),
        **ids,
    }
    drop_cities(sync_engine, CITY)


@pytest.fixture
def treasurer_phone(
    browser: Browser, live_server: str, books: dict[str, Any]
) -> Iterator[tuple[BrowserContext, Page]]:
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="vi-VN",
        base_url=live_server,
        service_workers="allow",
    )

    class Account:
        def session(self) -> dict[str, Any]:
            roles = [
                {
                    "role": "treasurer",
                    "city": CITY,
                    "city_id": books["city"],
                    "ward_id": None,
                    "cdf_group_id": books["group"],
                }
            ]
            user = {
                "id": books["user_id"],
                "username": "tq-thu-quy",
                "display_name": "Thủ quỹ",
                "roles": roles,
            }
            return {"token": books["token"], "user": user, "expired": False}

    sign_in_phone(context, Account())  # type: ignore[arg-type]
    page = context.new_page()
    record_console_errors(page)
    yield context, page
    context.close()


def _amount(member: int, kind: str, loan: int | None = None) -> str:
    return f"#m{member}-{kind}" + (f"-{loan}" if loan else "")


def _fill_member(page: Page, books: dict[str, Any], index: int) -> int:
    """Type one member's amounts; returns how many records that makes."""
    member = books["members"][index]
    page.fill(_amount(member, "savings"), "50.000")
    records = 1
    if index % 2 == 0:
        page.fill(_amount(member, "mutual_aid"), "10000")
        records += 1
    if index == 7:
        page.fill(_amount(member, "fine"), "5.000")
        records += 1
    if index == 2:
        page.fill(_amount(member, "withdrawal"), "20.000")
        records += 1
    if index < 2:
        page.fill(_amount(member, "repayment", books["loans"][index]), "150.000")
        records += 1
    return records


def _wait_kept(page: Page, key: str, records: int) -> None:
    """Until the meeting on the phone holds `records` amounts."""
    for _ in range(100):
        meeting = page.evaluate(READ_KV, key)
        if meeting and len(meeting["entries"]) == records:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"the phone kept {meeting and len(meeting['entries'])} of {records}")


def _uncaught(page: Page) -> list[str]:
    errors: list[str] = page.console_errors  # type: ignore[attr-defined]
    # Offline fetches log "Failed to load resource"; anything else is a bug.
    return [e for e in errors if "Failed to load resource" not in e]


def _meeting_rows(engine: Engine, meeting_id: str) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return [
            dict(row)
            for row in connection.execute(
                text(
                    "SELECT e.id, e.kind, e.client_id::text AS client_id, e.loan_id, "
                    "(SELECT sum(l.amount) FROM cdf_lines l WHERE l.entry_id = e.id) AS total "
                    "FROM cdf_entries e WHERE e.meeting_id = :id ORDER BY e.id"
                ),
                {"id": meeting_id},
            ).mappings()
        ]


def test_an_offline_meeting_of_20_members_is_posted_exactly_once(
    treasurer_phone: tuple[BrowserContext, Page], books: dict[str, Any], sync_engine: Engine
) -> None:
    context, page = treasurer_phone
    page.goto("/collect")
    wait_offline_ready(page)
    page.click("#treasurer-open")
    expect(page.locator("#app")).to_have_attribute("data-view", "treasurer")
    expect(page.locator("#open-meeting")).to_be_visible()

    context.set_offline(True)
    page.click("#open-meeting")
    expect(page.locator(".member-row")).to_have_count(MEMBERS)
    # The hostile name is text on the row, never markup.
    hostile = page.locator(f'.member-row[data-member="{books["members"][4]}"] .member-name')
    expect(hostile).to_have_text(HOSTILE)
    assert page.evaluate("window.__pwned") is None
    # What the two borrowers owe today: the overdue installments, in Vietnamese.
    first = page.locator(f'.member-row[data-member="{books["members"][0]}"]')
    expect(first).to_contain_text("quá hạn")
    expect(first).to_have_class("member-row has-overdue")

    # Bad amounts are refused on the row with a message; nothing is kept for them.
    savings = _amount(books["members"][0], "savings")
    page.fill(savings, "50,5")
    expect(page.locator(f"{savings}-error")).to_have_text(
        "Chỉ nhập số đồng chẵn, không có phần thập phân."
    )
    page.fill(savings, "-50000")
    expect(page.locator(f"{savings}-error")).to_have_text("Số tiền không được âm.")
    expect(page.locator("#money-in")).to_have_text("0")

    records = sum(_fill_member(page, books, index) for index in range(10))
    # The phone is reloaded mid-meeting, still offline: the sheet comes back as it was (once
    # the last amount typed is on the phone: a write takes a few milliseconds).
    key = f"treasurer.{books['user_id']}.meeting.{books['group']}"  # the treasurer's own
    _wait_kept(page, key, records)
    page.reload()
    expect(page.locator("#app")).to_have_attribute("data-view", "treasurer")
    expect(page.locator(".member-row")).to_have_count(MEMBERS)
    expect(page.locator(savings)).to_have_value("50.000")
    expect(page.locator(_amount(books["members"][2], "withdrawal"))).to_have_value("20.000")
    records += sum(_fill_member(page, books, index) for index in range(10, MEMBERS))
    # The whole group: what its own loan asks today, its repayment, and the repayments
    # collected handed over to the CDF (out of the box).
    group_row = page.locator("#group-row")
    expect(group_row.locator(f'[data-loan="{books["group_loan"]}"]')).to_contain_text("quá hạn")
    page.fill(f"#g-repayment-{books['group_loan']}", "330.000")
    page.fill("#g-remittance", "500.000")
    page.locator("#cash-counted").click()  # the remittance's field is left: it is final
    records += 2
    _wait_kept(page, key, records)
    page.reload()  # still offline: the group's amounts come back too
    expect(page.locator("#g-remittance")).to_have_value("500.000")
    expect(page.locator(f"#g-repayment-{books['group_loan']}")).to_have_value("330.000")

    money_in = MEMBERS * 50_000 + 10 * 10_000 + 5_000 + 2 * 150_000 + 330_000
    opening = 300_000  # member 3's earlier savings: the loans were paid out of the fund's cash
    expect(page.locator("#opening-cash")).to_have_text("300.000")
    expected = opening + money_in - 20_000 - 500_000
    expect(page.locator("#money-in")).to_have_text(f"{money_in:,}".replace(",", "."))
    expect(page.locator("#money-out")).to_have_text("520.000")
    expect(page.locator("#cash-expected")).to_have_text(f"{expected:,}".replace(",", "."))
    counted = expected - 1_000
    page.fill("#cash-counted", str(counted))
    expect(page.locator("#cash-difference")).to_have_text("-1.000")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator(f'.member-row[data-member="{books["members"][0]}"]').scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "treasurer-sheet.png"))
    page.locator("#cash-count").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "treasurer-cash-count.png"))
    page.click("#close-meeting")
    expect(page.locator("#close-error")).to_have_text("Có chênh lệch: hãy ghi lý do.")
    page.fill("#close-note", "Thiếu 1.000 đ, đếm lại hai lần")
    page.fill("#attendance", "19")
    page.click("#close-meeting")
    expect(page.locator("#close-waiting")).to_be_visible()
    meeting_id = page.locator("#meeting-title").get_attribute("data-meeting")
    assert meeting_id
    assert _meeting_rows(sync_engine, meeting_id) == []  # nothing left the phone

    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    context.set_offline(False)  # the `online` event sends the meeting
    expect(page.locator("#closed-notice")).to_contain_text("-1.000", timeout=30_000)
    rows = _meeting_rows(sync_engine, meeting_id)
    assert len(rows) == records + 1  # every record once, and the cash difference
    assert len({row["client_id"] for row in rows}) == len(rows)
    assert all(row["total"] == 0 for row in rows)  # each entry balances
    assert sum(1 for row in rows if row["kind"] == "cash_difference") == 1
    assert sum(1 for row in rows if row["kind"] == "remittance") == 1
    assert [row["loan_id"] for row in rows if row["kind"] == "repayment"].count(
        books["group_loan"]
    ) == 1
    with sync_engine.connect() as connection:
        meeting = connection.execute(
            text("SELECT status, cash_counted, attendance FROM cdf_meetings WHERE id = :id"),
            {"id": meeting_id},
        ).one()
        cash = connection.execute(
            text(
                "SELECT sum(l.amount) FROM cdf_lines l JOIN cdf_accounts a ON a.id = l.account_id "
                "WHERE a.kind = 'group_cash' AND a.group_id = :group"
            ),
            {"group": books["group"]},
        ).scalar_one()
        # The remittance reached the fund's cash, the group's repayment its loan.
        remitted = connection.execute(
            text(
                "SELECT l.amount FROM cdf_lines l JOIN cdf_accounts a ON a.id = l.account_id "
                "JOIN cdf_entries e ON e.id = l.entry_id "
                "WHERE e.meeting_id = :id AND e.kind = 'remittance' AND a.kind = 'fund_cash'"
            ),
            {"id": meeting_id},
        ).scalar_one()
        repaid = connection.execute(
            text(
                "SELECT -sum(l.amount) FROM cdf_lines l JOIN cdf_entries e ON e.id = l.entry_id "
                "WHERE e.meeting_id = :id AND e.loan_id = :loan AND l.component IS NOT NULL"
            ),
            {"id": meeting_id, "loan": books["group_loan"]},
        ).scalar_one()
        journal = connection.execute(
            text(
                "SELECT coalesce(sum(l.amount), 0) FROM cdf_lines l JOIN cdf_entries e "
                "ON e.id = l.entry_id JOIN cdf_funds f ON f.id = e.fund_id "
                "JOIN cities c ON c.id = f.city_id WHERE c.slug = :city"
            ),
            {"city": CITY},
        ).scalar_one()
    assert tuple(meeting) == ("closed", counted, 19)
    assert (remitted, repaid) == (500_000, 330_000)
    assert cash == counted  # the books hold what the box holds, the difference posted
    assert journal == 0
    assert sum("/records" in url for url in posts) == 1

    # A resend of everything (as if every answer had been lost) posts nothing new.
    page.evaluate(FORGET_ANSWERS, key)
    page.reload()
    expect(page.locator("#closed-notice")).to_be_visible(timeout=30_000)
    assert _meeting_rows(sync_engine, meeting_id) == rows
    assert sum("/records" in url for url in posts) == 2
    assert _uncaught(page) == []


def test_the_sheet_in_english_and_a_refused_record_on_its_row(
    treasurer_phone: tuple[BrowserContext, Page], books: dict[str, Any], sync_engine: Engine
) -> None:
    _, page = treasurer_phone
    page.goto("/collect")
    expect(page.locator("#treasurer-open")).to_be_visible()
    page.click("#lang-toggle")
    page.click("#treasurer-open")
    page.click("#open-meeting")
    member = books["members"][9]  # saved less than this: the server refuses the withdrawal
    page.fill(_amount(member, "withdrawal"), "1.000.000")
    page.fill(_amount(member, "savings"), "20000")
    page.click("#treasurer-sync")
    error = page.locator(f"{_amount(member, 'withdrawal')}-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("more than the member's savings")
    expect(page.locator(_amount(member, "withdrawal"))).to_have_attribute("data-state", "failed")
    expect(page.locator(_amount(member, "savings"))).to_have_attribute("data-state", "posted")
    # The refused amount is corrected on its row (a new record id) and sent again.
    page.fill(_amount(member, "withdrawal"), "")
    page.fill(_amount(member, "withdrawal"), "10.000")
    page.click("#treasurer-sync")
    expect(page.locator(f"{_amount(member, 'withdrawal')}")).to_have_attribute(
        "data-state", "posted"
    )
    # A remittance larger than the group's box is refused on its row, in English.
    page.fill("#g-remittance", "900.000.000")
    page.click("#treasurer-sync")
    remittance_error = page.locator("#g-remittance-error")
    expect(remittance_error).to_contain_text("more than the group's cash")
    expect(page.locator("#g-remittance")).to_have_attribute("data-state", "failed")
    page.fill("#g-remittance", "")
    # How typed amounts are read (treasurer_sheet.js's parseAmount).
    cases = {
        "50.000": {"amount": 50_000},
        "50000": {"amount": 50_000},
        "50 000 đ": {"amount": 50_000},
        "1.000.000": {"amount": 1_000_000},
        "": {"amount": None},
        "50,5": {"error": "decimal"},
        "50.5": {"error": "decimal"},
        "1.000,5": {"error": "decimal"},
        "-1": {"error": "negative"},
        "abc": {"error": "not_number"},
        "1e5": {"error": "not_number"},
        "50.00.0": {"error": "not_number"},
        "99999999999999": {"error": "too_large"},
    }
    read = page.evaluate(
        """async (cases) => {
          const sheet = await import("/static/collect/treasurer_sheet.js");
          return Object.fromEntries(cases.map((c) => [c, sheet.parseAmount(c)]));
        }""",
        list(cases),
    )
    assert read == cases
    # A sync while an amount is being typed sends the finished ones, never the half-typed one.
    done, typing = books["members"][10], books["members"][11]
    page.fill(_amount(done, "savings"), "30.000")
    page.click(_amount(typing, "savings"))
    page.keyboard.type("5")
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(page.locator(_amount(done, "savings"))).to_have_attribute("data-state", "posted")
    expect(page.locator(_amount(typing, "savings"))).to_have_attribute("data-state", "draft")
    expect(page.locator(_amount(typing, "savings"))).to_be_focused()
    page.keyboard.type("0.000")
    expect(page.locator(_amount(typing, "savings"))).to_have_value("50.000")
    page.click("#treasurer-sync")
    expect(page.locator(_amount(typing, "savings"))).to_have_attribute("data-state", "posted")
    # The group's statement, fetched with the phone's token and saved as a file.
    with page.expect_download() as download:
        page.click("#statement-pdf")
    saved = download.value.path()
    assert saved is not None and saved.read_bytes().startswith(b"%PDF")
    assert download.value.suggested_filename == f"sao-ke-nhom-{books['group']}.pdf"
    # 360 px wide: nothing runs off the screen.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    assert _uncaught(page) == []
