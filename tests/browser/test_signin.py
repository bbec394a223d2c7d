"""The phone app with accounts: enrolment by an admin's QR link, password sign-in, a sign-in
that expires or is revoked while surveys wait, signing out, and the reviewer's corrections
made on the phone (real Chromium, real server)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, Request, Response, expect
from sqlalchemy import Engine, text

from app.services.auth import hash_password
from tests.auth import bearer, make_enrolment, make_token, make_user, token_hash
from tests.browser.conftest import PhoneAccount, sign_in_phone
from tests.browser.test_collect import (
    fill_household,
    fill_screen,
    next_screen,
    open_app,
    screenshot,
)
from tests.browser.test_outbox import surveys_on, to_last_screen, uncaught, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_surveys")]
BATCH = "**/api/v1/submissions/batch"
PASSWORD = "mật-khẩu đủ dài 2026"
READ_KV = """(key) => new Promise((resolve, reject) => {
  const open = indexedDB.open("cdfmap-collect");
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const db = open.result;
    const request = db.transaction("kv").objectStore("kv").get(key);
    request.onsuccess = () => { db.close(); resolve(request.result ?? null); };
    request.onerror = () => reject(request.error);
  };
})"""


@pytest.fixture
def phone_account() -> None:
    """The phones of these tests start never signed in (a test signs its own in)."""
    return None


def person(
    engine: Engine, username: str, display_name: str | None = None, password: str | None = None
) -> int:
    """A volunteer of the sample city's first ward; their id."""
    user_id = make_user(
        engine,
        username,
        [("volunteer", ("ward", "W01"))],
        password_hash=hash_password(password) if password else None,
    )
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE users SET display_name = :name WHERE id = :id"),
            {"name": display_name or username, "id": user_id},
        )
    return user_id


def signed_in(
    context: BrowserContext, engine: Engine, username: str, password: str | None = None
) -> PhoneAccount:
    """A volunteer whose phone (the app of `context`) is signed in already."""
    user_id = person(engine, username, password=password)
    account = PhoneAccount(user_id, username, make_token(engine, user_id, kind="device"))
    sign_in_phone(context, account)
    return account


def stored(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT id::text, collector, collector_user_id, status, version, answers "
                "FROM household_surveys ORDER BY collected_at"
            )
        )
        return [dict(row) for row in rows.mappings()]


def sign_in_with_password(page: Page, username: str, password: str) -> None:
    expect(page.locator("#app")).to_have_attribute("data-view", "signin")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#sign-in")


def review(live_server: str, token: str, survey_id: str, decision: str, comment: str = "") -> None:
    """A reviewer's decision on a survey, through the API."""
    body = {"decision": decision, "comment": comment or None}
    answer = httpx.post(
        f"{live_server}/api/v1/submissions/{survey_id}/review", json=body, headers=bearer(token)
    )
    assert answer.status_code == 200, answer.text


def sync(page: Page) -> None:
    """Send now from the outbox, and wait for the sync to end."""
    if page.locator("#app").get_attribute("data-view") != "outbox":
        page.click("#outbox-button")
    expect(page.locator("#sync-now")).to_be_enabled()
    page.click("#sync-now")
    expect(page.locator("#sync-now")).to_be_enabled()


# ---------------------------------------------------------------- signing in


def test_an_enrolment_link_signs_the_phone_in_and_its_surveys_carry_the_volunteer(
    phone_context: BrowserContext, phone: Page, sync_engine: Engine
) -> None:
    user_id = person(sync_engine, "tnv-qr", "Trần Thị Mai")
    code = make_enrolment(sync_engine, user_id, device="điện thoại của Mai")
    already_open = phone_context.new_page()  # the app, open at its sign-in screen
    already_open.goto("/collect")
    expect(already_open.locator("#app")).to_have_attribute("data-view", "signin")
    phone.goto(f"/collect/#enrol={code}")  # what the camera app opens from the QR code
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    expect(phone.locator("#signed-in-as")).to_have_text("Đã đăng nhập: Trần Thị Mai")
    # The one-time code leaves the address at once (no history entry, no bookmark keeps it).
    assert "enrol" not in phone.url and "#" not in phone.url
    session = phone.evaluate(READ_KV, "session")
    assert session["user"]["id"] == user_id and session["expired"] is False
    assert session["token"] != code
    with sync_engine.connect() as connection:
        kind, name = connection.execute(
            text("SELECT kind, name FROM auth_tokens WHERE token_hash = :hash"),
            {"hash": token_hash(session["token"])},
        ).one()
    assert (kind, name) == ("device", "điện thoại của Mai")
    expect(already_open.locator("#app")).to_have_attribute("data-view", "home")  # it follows
    expect(already_open.locator("#signed-in-as")).to_have_text("Đã đăng nhập: Trần Thị Mai")
    already_open.close()
    screenshot(phone, "signed-in")
    expect(phone.locator("#new-household")).to_be_visible()  # the forms loaded with the token
    fill_household(phone)
    phone.click("#outbox-button")
    expect(phone.locator('.outbox-item[data-status="sent"]')).to_have_count(1)
    (row,) = stored(sync_engine)
    assert (row["collector_user_id"], row["collector"]) == (user_id, "tnv-qr")
    assert uncaught(phone) == []


def test_a_used_enrolment_code_is_refused_with_a_clear_message(
    phone: Page, sync_engine: Engine, live_server: str
) -> None:
    code = make_enrolment(sync_engine, person(sync_engine, "tnv-used"))
    used = httpx.post(f"{live_server}/api/v1/auth/enrol", json={"code": code})
    assert used.status_code == 200  # another phone (or a photo of the QR code) took it first
    other_phone = {"Authorization": f"Bearer {used.json()['access_token']}"}
    assert httpx.get(f"{live_server}/api/v1/me", headers=other_phone).status_code == 200
    phone.goto(f"/collect/#enrol={code}")
    expect(phone.locator("#app")).to_have_attribute("data-view", "signin")
    error = phone.locator("#signin-error")
    expect(error).to_contain_text("Mã QR này không dùng được nữa (đã dùng hoặc đã hết hạn)")
    expect(phone.locator("#qr-help")).to_contain_text("quét mã QR")
    assert "enrol" not in phone.url
    assert phone.evaluate(READ_KV, "session") is None
    screenshot(phone, "signin-refused")
    phone.click("#lang-toggle")
    expect(error).to_contain_text("Each code works once")
    expect(phone.locator("#sign-in")).to_have_text("Sign in")
    expect(phone.locator("#home-button")).to_be_hidden()  # nothing opens without a sign-in
    assert [e for e in uncaught(phone) if "401" not in e] == []


def test_password_sign_in(phone: Page, sync_engine: Engine) -> None:
    person(sync_engine, "tnv-pw", "Lê Văn Bình", password=PASSWORD)
    phone.goto("/collect")
    expect(phone.locator("#app")).to_have_attribute("data-view", "signin")
    screenshot(phone, "signin")
    phone.click("#sign-in")
    expect(phone.locator("#signin-error")).to_have_text("Hãy nhập tên đăng nhập và mật khẩu.")
    sign_in_with_password(phone, "tnv-pw", "sai mật khẩu")
    expect(phone.locator("#signin-error")).to_have_text("Sai tên đăng nhập hoặc mật khẩu.")
    expect(phone.locator("#password")).to_have_value("")
    sign_in_with_password(phone, "TNV-PW ", PASSWORD)
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    expect(phone.locator("#signed-in-as")).to_have_text("Đã đăng nhập: Lê Văn Bình")
    expect(phone.locator("#new-household")).to_be_visible()
    phone.reload()  # the sign-in is kept on the phone
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    phone.click("#settings-button")
    expect(phone.locator("#account-name")).to_have_text("Lê Văn Bình (tnv-pw)")
    expect(phone.locator("#collector")).to_have_value("tnv-pw")
    assert [e for e in uncaught(phone) if "401" not in e] == []


# ---------------------------------------------------------------- a sign-in that ends


def wait_refused(live_server: str, token: str) -> None:
    """Wait until the server refuses a token (it keeps a live one in its cache for 10 s)."""
    deadline = time.monotonic() + 20
    while httpx.get(f"{live_server}/api/v1/me", headers=bearer(token)).status_code != 401:
        assert time.monotonic() < deadline, "the server still takes the token"
        time.sleep(0.5)


@pytest.mark.parametrize("how", ["revoked", "expired"])
def test_the_outbox_survives_a_sign_in_that_ends_and_sends_once_after_signing_in_again(
    phone_context: BrowserContext, phone: Page, sync_engine: Engine, live_server: str, how: str
) -> None:
    account = signed_in(phone_context, sync_engine, f"tnv-{how}", password=PASSWORD)
    batches: list[int] = []

    def count_batches(response: Response) -> None:
        if response.url.endswith("/api/v1/submissions/batch"):
            batches.append(response.status)

    phone.on("response", count_batches)
    open_app(phone)
    phone_context.set_offline(True)
    fill_household(phone)
    fill_household(phone)
    if how == "revoked":  # e.g. an admin revoked the phone, or it was signed out elsewhere
        logout = httpx.post(f"{live_server}/api/v1/auth/logout", headers=bearer(account.token))
        assert logout.status_code == 204
    else:
        with sync_engine.begin() as connection:
            connection.execute(
                text(
                    "UPDATE auth_tokens SET expires_at = now() - interval '1 minute' "
                    "WHERE token_hash = :h"
                ),
                {"h": token_hash(account.token)},
            )
        wait_refused(live_server, account.token)
    phone_context.set_offline(False)  # the `online` event syncs: 401
    banner = phone.locator("#session-expired")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Phiên đăng nhập đã hết hạn")
    expect(banner).to_contain_text("2 khảo sát chờ gửi vẫn được giữ")
    screenshot(phone, "session-expired")
    assert batches == [401]
    assert [s["status"] for s in surveys_on(phone)] == ["pending", "pending"]
    assert stored(sync_engine) == []
    # The app keeps working; sending waits for a sign-in, without asking the server again.
    phone.click("#outbox-button")
    expect(phone.locator('.outbox-item[data-status="pending"]')).to_have_count(2)
    phone.click("#sync-now")
    expect(phone.locator("#sync-status")).to_have_attribute("data-state", "signin")
    expect(phone.locator("#sync-status")).to_contain_text("cần đăng nhập lại")
    assert batches == [401]
    phone.click("#sign-in-again")
    expect(phone.locator("#kept-note")).to_contain_text("2 khảo sát chờ gửi")
    if how == "revoked":
        sign_in_with_password(phone, account.username, PASSWORD)
    else:  # a new QR code from the admin
        phone.goto(f"/collect/#enrol={make_enrolment(sync_engine, account.user_id)}")
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    expect(banner).to_be_hidden()
    phone.click("#outbox-button")
    expect(phone.locator('.outbox-item[data-status="sent"]')).to_have_count(2)
    rows = stored(sync_engine)
    assert [row["collector_user_id"] for row in rows] == [account.user_id] * 2
    assert {row["id"] for row in rows} == {s["id"] for s in surveys_on(phone)}
    assert batches == [401, 200]  # sent exactly once
    assert [e for e in uncaught(phone) if "401" not in e] == []


def test_signing_out_warns_about_waiting_surveys_keeps_them_for_their_maker(
    phone_context: BrowserContext, phone: Page, sync_engine: Engine, live_server: str
) -> None:
    account = signed_in(phone_context, sync_engine, "tnv-out", password=PASSWORD)
    person(sync_engine, "tnv-other", "Người khác", password=PASSWORD)
    open_app(phone)
    phone.route(BATCH, lambda route: route.abort("internetdisconnected"))  # no signal here
    fill_household(phone)
    phone.click("#settings-button")
    expect(phone.locator("#account-name")).to_have_text("tnv-out")
    phone.click("#sign-out")
    dialog = phone.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Còn 1 khảo sát chưa gửi")
    screenshot(phone, "sign-out-warning")
    phone.click("#confirm-cancel")
    expect(dialog).to_have_count(0)
    expect(phone.locator("#app")).to_have_attribute("data-view", "settings")
    phone.click("#sign-out")
    phone.click("#confirm-ok")
    expect(phone.locator("#app")).to_have_attribute("data-view", "signin")
    expect(phone.locator("#kept-note")).to_contain_text("1 khảo sát chờ gửi")
    assert phone.evaluate(READ_KV, "session") is None
    assert [s["status"] for s in surveys_on(phone)] == ["pending"]
    with sync_engine.connect() as connection:  # revoked on the server, not only forgotten
        revoked = connection.execute(
            text("SELECT revoked_at IS NOT NULL FROM auth_tokens WHERE token_hash = :h"),
            {"h": token_hash(account.token)},
        ).scalar_one()
    assert revoked
    phone.unroute(BATCH)
    # Another volunteer signs in on this phone: the survey is not theirs to send.
    sign_in_with_password(phone, "tnv-other", PASSWORD)
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    sync(phone)
    expect(phone.locator(".outbox-item")).to_have_count(0)  # not theirs to see
    expect(phone.locator("#others-waiting")).to_contain_text("Khảo sát của tnv-out")
    assert stored(sync_engine) == []
    phone.click("#home-button")
    phone.click("#settings-button")
    phone.click("#sign-out")  # none of theirs waits: no question
    expect(phone.locator("#app")).to_have_attribute("data-view", "signin")
    sign_in_with_password(phone, "tnv-out", PASSWORD)
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    phone.click("#outbox-button")
    expect(phone.locator('.outbox-item[data-status="sent"]')).to_have_count(1)
    (row,) = stored(sync_engine)
    assert row["collector_user_id"] == account.user_id
    assert uncaught(phone) == []


def start_draft(page: Page, head_name: str) -> None:
    """From the home screen, start a household survey, name its head and leave it a draft."""
    page.click("#new-household")
    expect(page.locator("#app")).to_have_attribute("data-view", "survey")
    next_screen(page)
    fill_screen(page, {"head_name": head_name, "head_phone": "0905999888"})
    page.click("#exit-survey")
    expect(page.locator("#app")).to_have_attribute("data-view", "home")


def sign_out(page: Page) -> None:
    """From the home screen, sign out (confirming when the app asks)."""
    page.click("#settings-button")
    page.click("#sign-out")
    signin = page.locator('#app[data-view="signin"]')
    expect(signin.or_(page.locator("#confirm-dialog"))).to_be_visible()
    if page.locator("#confirm-dialog").count():
        page.click("#confirm-ok")
    expect(signin).to_be_visible()


def test_a_shared_phone_shows_each_person_only_their_own_surveys_and_keeps_the_others(
    phone_context: BrowserContext, phone: Page, sync_engine: Engine
) -> None:
    """Someone else's surveys on the phone were listed to the next person, their names and
    phone numbers shown and their drafts deletable; the outbox counted them as waiting."""
    account = signed_in(phone_context, sync_engine, "tnv-first", password=PASSWORD)
    person(sync_engine, "tnv-next", "Người sau", password=PASSWORD)
    open_app(phone)
    phone.route(BATCH, lambda route: route.abort("internetdisconnected"))
    fill_household(phone)  # Nguyễn Thị Hoa, waiting
    start_draft(phone, "Lê Văn Tám")
    sign_out(phone)
    phone.unroute(BATCH)

    sign_in_with_password(phone, "tnv-next", PASSWORD)
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    expect(phone.locator("#my-surveys")).to_contain_text("Bạn chưa có khảo sát nào")
    expect(phone.locator(".survey-card")).to_have_count(0)
    sync(phone)
    expect(phone.locator(".outbox-item")).to_have_count(0)
    expect(phone.locator("#outbox-counts")).to_contain_text("0 chờ gửi")
    others = phone.locator("#others-waiting")
    expect(others).to_have_text(
        "Khảo sát của tnv-first được giữ trên điện thoại này, chờ người đó đăng nhập để gửi: 1."
    )
    for hidden in ("Nguyễn Thị Hoa", "Lê Văn Tám", "0905"):
        assert hidden not in phone.locator("#app").inner_text()
    phone.click("#lang-toggle")
    expect(others).to_contain_text("Surveys by tnv-first kept on this phone")
    phone.click("#lang-toggle")
    phone.click("#home-button")
    start_draft(phone, "Đỗ Thị Lan")  # their own: shown, deletable
    card = phone.locator(".survey-card")
    expect(card).to_have_count(1)
    expect(card).to_contain_text("Đỗ Thị Lan")
    assert sorted(s["status"] for s in surveys_on(phone)) == ["draft", "draft", "pending"]
    assert stored(sync_engine) == []

    sign_out(phone)
    sign_in_with_password(phone, "tnv-first", PASSWORD)
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    cards = phone.locator(".survey-card")
    expect(cards).to_have_count(2)
    expect(cards.filter(has_text="Lê Văn Tám")).to_have_attribute("data-status", "draft")
    expect(cards.filter(has_text="Nguyễn Thị Hoa")).to_have_attribute("data-status", "sent")
    (row,) = stored(sync_engine)
    assert row["collector_user_id"] == account.user_id
    assert uncaught(phone) == []


# ---------------------------------------------------------------- review on the phone


def test_a_survey_sent_back_is_corrected_on_the_phone_and_sent_with_put(
    phone_context: BrowserContext,
    phone: Page,
    sync_engine: Engine,
    live_server: str,
    admin_token: str,
) -> None:
    signed_in(phone_context, sync_engine, "tnv-fix")
    requests: list[str] = []

    def note(request: Request) -> None:
        if "/api/v1/submissions" in request.url:
            requests.append(request.method)

    phone.on("request", note)
    open_app(phone)
    fill_household(phone)
    phone.click("#outbox-button")
    expect(phone.locator('.outbox-item[data-status="sent"]')).to_have_count(1)
    (row,) = stored(sync_engine)
    comment = "Hộ có 5 người, không phải 4."
    review(live_server, admin_token, row["id"], "needs_correction", comment)
    sync(phone)  # each sync brings the review of the volunteer's own surveys
    item = phone.locator(f'.outbox-item[data-id="{row["id"]}"]')
    expect(item).to_have_attribute("data-review", "needs_correction")
    expect(item).to_contain_text("Cần sửa")
    expect(item).to_contain_text(f"Người kiểm duyệt: {comment}")
    screenshot(phone, "needs-correction")
    phone.click("#home-button")
    card = phone.locator(f'.survey-card[data-id="{row["id"]}"]')
    expect(card).to_contain_text(comment)
    card.locator("button.correct").click()
    expect(phone.locator("#app")).to_have_attribute("data-view", "survey")
    expect(phone.locator("#correction-note")).to_contain_text(comment)
    next_screen(phone)
    fill_screen(phone, {"household_size": "5"})
    to_last_screen(phone)
    phone.click("#finish")
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    phone.click("#outbox-button")
    expect(item).to_have_attribute("data-review", "received")
    expect(item).to_have_attribute("data-status", "sent")
    expect(item).to_contain_text("Chờ duyệt")
    (corrected,) = stored(sync_engine)
    assert corrected["answers"]["household_size"] == 5
    assert (corrected["status"], corrected["version"]) == ("received", row["version"] + 1)
    assert requests.count("PUT") == 1 and requests.count("POST") == 1  # not through the batch
    (local,) = surveys_on(phone)
    assert local["locked"] and not local["correction"]
    item.locator("button.view").click()  # locked again until the reviewer decides
    expect(phone.locator("#readonly-reason")).to_contain_text("Đã gửi")
    phone.click("#view-back")
    review(live_server, admin_token, row["id"], "approved")
    sync(phone)
    expect(item).to_have_attribute("data-review", "approved")
    expect(item).to_contain_text("Đã duyệt")
    expect(item.locator("button.correct")).to_have_count(0)
    # A reviewer may change a decision: rejected, with the reason shown.
    review(live_server, admin_token, row["id"], "rejected", "Hộ này ngoài khu dân cư.")
    sync(phone)
    expect(item).to_have_attribute("data-review", "rejected")
    expect(item).to_contain_text("Lý do từ chối: Hộ này ngoài khu dân cư.")
    phone.click("#lang-toggle")
    expect(item).to_contain_text("Reason for rejection: Hộ này ngoài khu dân cư.")
    assert uncaught(phone) == []


def test_a_cleared_survey_sent_back_is_loaded_from_the_server_and_a_late_correction_refused(
    phone_context: BrowserContext,
    phone: Page,
    sync_engine: Engine,
    live_server: str,
    admin_token: str,
) -> None:
    signed_in(phone_context, sync_engine, "tnv-late")
    open_app(phone)
    fill_household(phone)
    phone.click("#outbox-button")
    expect(phone.locator('.outbox-item[data-status="sent"]')).to_have_count(1)
    phone.once("dialog", lambda dialog: dialog.accept())
    phone.click("#clear-sent")
    expect(phone.locator(".outbox-item")).to_have_count(0)
    (row,) = stored(sync_engine)
    review(live_server, admin_token, row["id"], "needs_correction", "Thiếu số điện thoại.")
    sync(phone)
    item = phone.locator(f'.outbox-item[data-id="{row["id"]}"]')
    expect(item).to_have_attribute("data-review", "needs_correction")
    item.locator("button.correct").click()  # its answers come from the server
    expect(phone.locator("#app")).to_have_attribute("data-view", "survey")
    next_screen(phone)
    head_name = phone.locator('section.question[data-name="head_name"] input')
    expect(head_name).to_have_value("Nguyễn Thị Hoa")
    phone_context.set_offline(True)
    head_name.fill("Nguyễn Thị Hoà")
    to_last_screen(phone)
    phone.click("#finish")
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    # Meanwhile the reviewer approves it as it was: the correction comes too late.
    review(live_server, admin_token, row["id"], "approved")
    phone_context.set_offline(False)
    phone.click("#outbox-button")
    expect(item).to_have_attribute("data-status", "failed")
    expect(item).to_have_attribute("data-review", "approved")
    expect(item.locator("button.edit")).to_have_count(0)
    item.locator("button.view").click()
    expect(phone.locator("#readonly-reason")).to_contain_text("bản sửa không được nhận")
    (kept,) = stored(sync_engine)
    assert (kept["status"], kept["answers"]["head_name"]) == ("approved", "Nguyễn Thị Hoa")
    wait_for(phone, lambda: surveys_on(phone)[0]["review"]["status"] == "approved")
    assert [e for e in uncaught(phone) if "409" not in e] == []
