"""The review page in real Chromium against a live server: a ward leader signs in through the
/login form at a tablet's size, sees the queue with its flags, approves, sends back, rejects
and changes a decision, approves a settlement at once; hostile names stay text; another
ward's leader sees none of it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Dialog, Page, expect
from sqlalchemy import Engine, text

from app.services.auth import hash_password
from tests import hostile
from tests.auth import bearer, make_token, make_user, ward_id
from tests.browser.conftest import SCREENSHOTS, record_console_errors
from tests.factories import TAM_KY_POINT, household_answers, household_survey

pytestmark = pytest.mark.browser

PASSWORD = "mật-khẩu-duyệt-phiếu"
TABLET = {"width": 768, "height": 1024}
HOSTILE_SETTLEMENT = "Xóm Cồn </title><script>alert(5)</script> {{ 7*7 }}"


@pytest.fixture(scope="module")
def password_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
def ward_data(
    sync_engine: Engine, live_server: str, clean_surveys: None, password_hash: str
) -> Iterator[dict[str, Any]]:
    """Leaders of W03 and W01, a volunteer of W03 and their surveys waiting for review; the
    first settlement of W03 renamed to a hostile name for the test."""
    with sync_engine.begin() as connection:
        connection.execute(text("DELETE FROM sign_in_failures"))
    make_user(
        sync_engine,
        "lead-an-xuan",
        [("ward_leader", ("ward", "W03"))],
        password_hash=password_hash,
    )
    make_user(
        sync_engine, "lead-an-my", [("ward_leader", ("ward", "W01"))], password_hash=password_hash
    )
    volunteer = bearer(
        make_token(
            sync_engine, make_user(sync_engine, "tnv-an-xuan", [("volunteer", ("ward", "W03"))])
        )
    )
    w03 = ward_id(sync_engine, "W03")
    with sync_engine.begin() as connection:
        settlement_id, original_name, lon, lat = connection.execute(
            text(
                "SELECT s.id, s.name, ST_X(ST_PointOnSurface(s.geom)), "
                "ST_Y(ST_PointOnSurface(s.geom)) FROM settlements s WHERE s.ward_id = :ward "
                "ORDER BY s.code LIMIT 1"
            ),
            {"ward": w03},
        ).one()
        connection.execute(
            text("UPDATE settlements SET name = :name WHERE id = :id"),
            {"name": HOSTILE_SETTLEMENT, "id": settlement_id},
        )
    inside = {"lat": lat, "lon": lon, "accuracy_m": 5.0}
    blurry = {**TAM_KY_POINT, "accuracy_m": 80.0}
    # name: (head of household, phone, collector, location, collected at)
    households = {
        "flagged": (hostile.HTML_SCRIPT, "0905000001", hostile.HTML_SCRIPT, blurry, "09:00"),
        "send_back": ("{{ 7*7 }}", "0905000002", "{{ 7*7 }}", TAM_KY_POINT, "09:10"),
        "reject": ("Lê Thị Mai", "0905000003", "tnv-an-xuan", TAM_KY_POINT, "09:20"),
        "approve": ("Trần Văn Bình", "0905000004", "tnv-an-xuan", TAM_KY_POINT, "09:30"),
        "bulk_1": ("Phạm Quốc Dũng", "0905000005", "tnv-an-xuan", inside, "09:40"),
        "bulk_2": ("Võ Hữu Khang", "0905000006", "tnv-an-xuan", inside, "09:50"),
        "bulk_flagged": (
            "Đặng Thị Hạnh",
            "0905000007",
            "tnv-an-xuan",
            {**inside, "accuracy_m": 80.0},
            "10:00",
        ),
        "gone": ("Hộ đã bị xoá", "0905000008", "tnv-an-xuan", TAM_KY_POINT, "08:00"),
    }
    ids, bodies = {}, {}
    with httpx.Client(base_url=live_server, headers=volunteer) as client:
        for key, (head, phone, collector, location, time) in households.items():
            body = household_survey(
                collector=collector,
                location=dict(location),
                collected_at=f"2026-11-26T{time}:00+07:00",
                answers=household_answers(
                    head_name=head, head_phone=phone, needs_notes=hostile.HTML_ATTRIBUTE
                ),
            )
            response = client.post("/api/v1/submissions", json=body)
            assert response.status_code == 201, response.text
            ids[key] = body["id"]
            bodies[key] = body
    try:
        yield {
            "ids": ids,
            "bodies": bodies,
            "volunteer": volunteer,
            "settlement_id": settlement_id,
            "w03": w03,
        }
    finally:
        with sync_engine.begin() as connection:
            connection.execute(
                text("UPDATE settlements SET name = :name WHERE id = :id"),
                {"name": original_name, "id": settlement_id},
            )


def watch_dialogs(page: Page) -> list[str]:
    """Record (and dismiss) every JavaScript dialog: a name that runs code would open one."""
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return dialogs


def sign_in(page: Page, username: str, target: str = "/review") -> None:
    """Open a page, be sent to the sign-in form, fill it, and come back."""
    page.goto(target)
    expect(page).to_have_url(re.compile(r"/login\?next=/review"))
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/review"))


def card(page: Page, survey_id: str) -> Any:
    return page.locator(f'li.survey[data-id="{survey_id}"]')


def statuses(live_server: str, volunteer: dict[str, str]) -> dict[str, tuple[str, str | None]]:
    """What the volunteer's phone would see of each of their surveys."""
    response = httpx.get(f"{live_server}/api/v1/me/surveys", headers=volunteer)
    assert response.status_code == 200, response.text
    return {s["id"]: (s["status"], s["review_comment"]) for s in response.json()["items"]}


def test_a_ward_leader_reviews_the_queue_on_a_tablet(
    desktop: Page, live_server: str, sync_engine: Engine, ward_data: dict[str, Any]
) -> None:
    page, ids = desktop, ward_data["ids"]
    dialogs = watch_dialogs(page)
    page.set_viewport_size(TABLET)
    sign_in(page, "lead-an-xuan", "/review?lang=vi")
    expect(page.locator("h1")).to_contain_text("Duyệt phiếu khảo sát: An Xuân")
    expect(page.locator("li.survey")).to_have_count(8)
    expect(page.locator("#queue-count")).to_have_text("(8 phiếu)")

    # Newest first, each with its flags as words; hostile names are their own text.
    first = page.locator("li.survey").first
    expect(first).to_have_attribute("data-id", ids["bulk_flagged"])
    flagged = card(page, ids["flagged"])
    expect(flagged.locator(".flag")).to_have_text(["GPS kém chính xác"])
    expect(flagged.locator(".head-name strong")).to_have_text(hostile.HTML_SCRIPT)
    expect(flagged.locator(".collector")).to_have_text(f"Người khảo sát: {hostile.HTML_SCRIPT}")
    # Its time as Vietnamese writes it, in Vietnam's time (static/pages/dates.js).
    expect(flagged.locator(".collected")).to_have_text("Thời điểm khảo sát: 26/11/2026 09:00")
    expect(card(page, ids["send_back"]).locator(".head-name strong")).to_have_text("{{ 7*7 }}")
    expect(card(page, ids["approve"]).locator(".flag")).to_have_count(0)
    answers = card(page, ids["approve"]).locator(".answers")
    expect(answers).to_contain_text("Giấy tờ đất và nhà")
    expect(answers).to_contain_text("Chỉ có giấy tờ tay")
    expect(answers).to_contain_text(hostile.HTML_ATTRIBUTE)
    bulk_card = card(page, ids["bulk_1"])
    expect(bulk_card.locator(".settlement")).to_have_text(HOSTILE_SETTLEMENT)
    assert page.locator("li.survey img").count() == 0

    # One map: the ward and its settlements, and the selected survey's point.
    expect(page.locator("#review-map .leaflet-overlay-pane path")).not_to_have_count(0)
    expect(page.locator("#volunteers td.received")).to_have_text("8")
    page.wait_for_timeout(300)  # the map has fitted the ward
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "review-page.png"))
    bulk_card.locator(".survey-summary").click()
    expect(bulk_card).to_have_class(re.compile(r"\bselected\b"))
    expect(page.locator("#map-caption")).to_have_text(f"{HOSTILE_SETTLEMENT} · GPS ±5 m")

    # Counts per volunteer and the settlements a bulk approval would take.
    settlement = page.locator(f'#settlements li[data-id="{ward_data["settlement_id"]}"]')
    expect(settlement.locator(".settlement-name")).to_have_text(HOSTILE_SETTLEMENT)
    expect(settlement.locator("button.bulk")).to_have_text("Duyệt 2 phiếu không có cảnh báo")
    expect(page.locator("#volunteers tbody tr")).to_have_count(1)
    expect(page.locator("#volunteers td.received")).to_have_text("8")

    # Approve: one tap; the survey leaves the queue without a reload.
    page.evaluate("window.reviewPageMarker = true")
    card(page, ids["approve"]).locator("button.decide.approve").click()
    expect(card(page, ids["approve"])).to_have_count(0)
    expect(page.locator("#toast")).to_contain_text("Đã duyệt: Trần Văn Bình")
    expect(page.locator("#queue-count")).to_have_text("(7 phiếu)")

    # Send back: a comment is required, asked for before anything is sent.
    back = card(page, ids["send_back"])
    back.locator("button.decide.secondary").click()
    expect(back.locator(".error")).to_have_text(
        "Cần ghi lý do để tình nguyện viên biết phải sửa gì."
    )
    comment = "Thiếu số điện thoại {{ 7*7 }} $& ${alert(4)}"
    back.locator("textarea").fill(comment)
    back.locator("button.decide.secondary").click()
    expect(back).to_have_count(0)
    expect(page.locator("#toast")).to_contain_text("Đã trả lại để sửa: {{ 7*7 }}")

    # Reject, then change the decision from the toast: the card comes back as rejected.
    rejected = card(page, ids["reject"])
    rejected.locator("textarea").fill("Trùng với hộ bên cạnh")
    rejected.locator("button.decide.danger").click()
    expect(rejected).to_have_count(0)
    expect(page.locator("#toast")).to_contain_text("Đã từ chối: Lê Thị Mai")
    seen = statuses(live_server, ward_data["volunteer"])
    assert seen[ids["reject"]] == ("rejected", "Trùng với hộ bên cạnh")
    page.locator("#toast-change").click()
    restored = card(page, ids["reject"])
    expect(restored.locator(".current-decision")).to_contain_text("Quyết định hiện tại: Đã từ chối")
    expect(restored.locator("button.decide.danger")).to_be_disabled()
    expect(restored.locator("textarea")).to_have_value("Trùng với hộ bên cạnh")
    expect(page.locator("#queue-count")).to_have_text("(5 phiếu)")  # it is decided
    restored.locator("button.decide.approve").click()
    expect(restored).to_have_count(0)
    expect(page.locator("#toast")).to_contain_text("Đã duyệt: Lê Thị Mai")
    expect(page.locator("#queue-count")).to_have_text("(5 phiếu)")

    seen = statuses(live_server, ward_data["volunteer"])
    assert seen[ids["approve"]] == ("approved", None)
    assert seen[ids["send_back"]] == ("needs_correction", comment)
    assert seen[ids["reject"]][0] == "approved"

    # Approve the settlement's surveys without flags, after confirming.
    bulk = settlement.locator("button.bulk")
    bulk.click()
    confirm = page.locator("dialog#confirm")
    expect(confirm).to_be_visible()
    expect(confirm.locator("#confirm-text")).to_have_text(
        f"Duyệt 2 phiếu không có cảnh báo của khu dân cư {HOSTILE_SETTLEMENT}? "
        "Phiếu có cảnh báo vẫn ở lại để xem kỹ."
    )
    confirm.locator("button[value=cancel]").click()
    expect(confirm).to_be_hidden()
    expect(card(page, ids["bulk_1"])).to_have_count(1)
    bulk.click()
    with page.expect_request(lambda r: r.method == "POST" and "/settlements/" in r.url) as posted:
        confirm.locator("#confirm-yes").click()
    # The page's ward only (a settlement may reach into another ward, not counted here), and
    # the surveys shown, at the versions shown.
    assert posted.value.post_data_json == {
        "only_unflagged": True,
        "ward_id": ward_data["w03"],
        "surveys": [
            {"id": ids["bulk_2"], "version": 1},
            {"id": ids["bulk_1"], "version": 1},
        ],
    }
    expect(page.locator("#toast")).to_contain_text(
        f"Đã duyệt 2 phiếu của khu dân cư {HOSTILE_SETTLEMENT}."
    )
    expect(card(page, ids["bulk_1"])).to_have_count(0)
    expect(card(page, ids["bulk_2"])).to_have_count(0)
    expect(card(page, ids["bulk_flagged"])).to_have_count(1)
    expect(page.locator("#queue-count")).to_have_text("(3 phiếu)")
    expect(settlement.locator("button.bulk")).to_be_disabled()
    seen = statuses(live_server, ward_data["volunteer"])
    assert seen[ids["bulk_1"]][0] == seen[ids["bulk_2"]][0] == "approved"
    assert seen[ids["bulk_flagged"]][0] == "received"

    row = page.locator("#volunteers tbody tr")
    expect(row.locator("td.received")).to_have_text("3")
    expect(row.locator("td.approved")).to_have_text("4")
    expect(row.locator("td.needs_correction")).to_have_text("1")
    expect(row.locator("td.rejected")).to_have_text("0")
    expect(row.locator("td.flagged")).to_contain_text("2")
    assert page.evaluate("window.reviewPageMarker") is True  # never reloaded
    assert page.console_errors == []  # type: ignore[attr-defined]

    # Errors in the reviewer's language: no network, then a survey deleted meanwhile.
    gone = card(page, ids["gone"])
    page.route("**/api/v1/submissions/*/review*", lambda route: route.abort())
    gone.locator("button.decide.approve").click()
    expect(gone.locator(".error")).to_have_text(
        "Không kết nối được máy chủ. Kiểm tra mạng rồi thử lại."
    )
    page.unroute("**/api/v1/submissions/*/review*")
    with sync_engine.begin() as connection:
        connection.execute(
            text("DELETE FROM household_surveys WHERE id = :id"), {"id": ids["gone"]}
        )
    gone.locator("button.decide.approve").click()
    # Nothing left to decide: the card leaves the queue (it stayed, its buttons tappable for
    # ever, saying "not found" each time), and the page says why.
    expect(gone).to_have_count(0)
    expect(page.locator("#toast")).to_contain_text(
        "Phiếu Hộ đã bị xoá không còn nữa (đã bị xóa, hoặc không còn thuộc khu vực của bạn); "
        "quyết định của bạn chưa được ghi."
    )
    unexpected = [
        e
        for e in page.console_errors  # type: ignore[attr-defined]
        if not e.startswith("Failed to load resource")
    ]
    assert unexpected == []
    assert dialogs == []


def test_another_wards_leader_sees_nothing_of_this_ward(
    browser: Browser, live_server: str, ward_data: dict[str, Any]
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live_server)
    try:
        page = context.new_page()
        record_console_errors(page)
        dialogs = watch_dialogs(page)
        sign_in(page, "lead-an-my", "/review?lang=en")
        expect(page.locator("h1")).to_contain_text("Review surveys: An Mỹ")
        expect(page.locator("#ward-select")).to_have_count(0)
        expect(page.locator("#queue-status")).to_have_text(
            "No survey is waiting for review in this ward."
        )
        expect(page.locator("li.survey")).to_have_count(0)
        expect(page.locator("#volunteers tbody")).to_contain_text("No survey in this ward yet.")
        expect(page.locator("button.decide")).to_have_count(0)
        assert page.console_errors == []  # type: ignore[attr-defined]
        forged = page.goto(f"/review?ward={ward_data['w03']}&lang=vi")
        assert forged is not None and forged.status == 404
        expect(page.locator("h1")).to_have_text("Không tìm thấy phường/xã")
        assert "An Xuân" not in page.content()
        assert dialogs == []
    finally:
        context.close()


def correct_meanwhile(live_server: str, ward_data: dict[str, Any], key: str, size: int) -> None:
    """The volunteer corrects one of the surveys (version 1 -> 2) while the page is open."""
    body = {
        **ward_data["bodies"][key],
        "answers": {**ward_data["bodies"][key]["answers"], "household_size": size},
        "base_version": 1,
    }
    answer = httpx.put(
        f"{live_server}/api/v1/submissions/{body['id']}", json=body, headers=ward_data["volunteer"]
    )
    assert answer.status_code == 200 and answer.headers["x-outcome"] == "corrected", answer.text


def household_size_shown(item: Any) -> Any:
    return item.locator(".answer").filter(has_text="Số người trong hộ").locator("dd")


def test_a_decision_on_a_survey_corrected_meanwhile_shows_the_new_version_first(
    desktop: Page, live_server: str, ward_data: dict[str, Any]
) -> None:
    """The leader reads version 1 and taps approve after the volunteer's correction (version
    2) came: the server refuses it, the card shows version 2 and says why; the leader then
    decides on what they see. The same for a settlement's bulk approval: the survey corrected
    meanwhile is left waiting and counted apart. (Version 2 was approved, never seen.)"""
    page, ids = desktop, ward_data["ids"]
    dialogs = watch_dialogs(page)
    sign_in(page, "lead-an-xuan", "/review?lang=vi")
    expect(page.locator("li.survey")).to_have_count(8)
    item = card(page, ids["approve"])
    expect(household_size_shown(item)).to_have_text("4")
    correct_meanwhile(live_server, ward_data, "approve", 9)
    with page.expect_request(lambda r: r.method == "POST" and "/review" in r.url) as posted:
        item.locator("button.decide.approve").click()
    assert posted.value.post_data_json == {
        "decision": "approved",
        "comment": None,
        "version": 1,
        "status": "received",
    }
    expect(item.locator(".error")).to_have_text(
        "Phiếu này vừa được tình nguyện viên sửa (nay là phiên bản 2) trong lúc bạn xem; quyết "
        "định chưa được ghi. Nội dung mới ở trên: xem lại rồi quyết định."
    )
    expect(household_size_shown(item)).to_have_text("9")
    expect(page.locator("#queue-count")).to_have_text("(8 phiếu)")
    assert statuses(live_server, ward_data["volunteer"])[ids["approve"]] == ("received", None)
    with page.expect_request(lambda r: r.method == "POST" and "/review" in r.url) as posted:
        item.locator("button.decide.approve").click()
    assert posted.value.post_data_json["version"] == 2
    expect(item).to_have_count(0)
    expect(page.locator("#toast")).to_contain_text("Đã duyệt: Trần Văn Bình")
    assert statuses(live_server, ward_data["volunteer"])[ids["approve"]] == ("approved", None)

    # A settlement's bulk approval: of the two surveys shown, one was corrected meanwhile.
    correct_meanwhile(live_server, ward_data, "bulk_1", 7)
    settlement = page.locator(f'#settlements li[data-id="{ward_data["settlement_id"]}"]')
    settlement.locator("button.bulk").click()
    page.locator("dialog#confirm #confirm-yes").click()
    expect(page.locator("#toast")).to_contain_text(
        f"Đã duyệt 1 phiếu của khu dân cư {HOSTILE_SETTLEMENT}. 1 phiếu đã thay đổi trong lúc "
        "bạn xem (được sửa, hoặc đã có người quyết định) nên chưa được duyệt; danh sách đã được "
        "tải lại."
    )
    seen = statuses(live_server, ward_data["volunteer"])
    assert (seen[ids["bulk_1"]][0], seen[ids["bulk_2"]][0]) == ("received", "approved")
    reloaded = card(page, ids["bulk_1"])
    expect(household_size_shown(reloaded)).to_have_text("7")  # back in the queue, as it is now
    expect(card(page, ids["bulk_2"])).to_have_count(0)
    expect(page.locator("#queue-count")).to_have_text("(6 phiếu)")
    errors = page.console_errors  # type: ignore[attr-defined]
    assert [e for e in errors if "409" not in e] == []  # the refusal's own log line only
    assert dialogs == []


def test_the_review_page_says_a_survey_changed_in_english(
    desktop: Page, live_server: str, ward_data: dict[str, Any]
) -> None:
    page, ids = desktop, ward_data["ids"]
    sign_in(page, "lead-an-xuan", "/review?lang=en")
    item = card(page, ids["reject"])
    expect(item).to_have_count(1)
    expect(item.locator(".collected")).to_have_text("Collected: 26 Nov 2026, 09:20")
    correct_meanwhile(live_server, ward_data, "reject", 3)
    item.locator("textarea").fill("Wrong household")
    item.locator("button.decide.danger").click()
    expect(item.locator(".error")).to_have_text(
        "The volunteer corrected this survey while you were looking (it is now version 2); "
        "your decision was not recorded. The new content is above: look at it, then decide."
    )
    expect(item.locator("textarea")).to_have_value("Wrong household")  # kept for the retry
    assert statuses(live_server, ward_data["volunteer"])[ids["reject"]] == ("received", None)


def decide_meanwhile(
    live_server: str, who: dict[str, str], survey_id: str, decision: str, comment: str
) -> None:
    """Another leader of the ward decides one of the surveys while the page is open."""
    answer = httpx.post(
        f"{live_server}/api/v1/submissions/{survey_id}/review",
        json={"decision": decision, "comment": comment},
        headers=who,
    )
    assert answer.status_code == 200, answer.text


def test_a_decision_on_a_survey_decided_meanwhile_is_not_recorded(
    desktop: Page, live_server: str, sync_engine: Engine, ward_data: dict[str, Any]
) -> None:
    """Another leader rejects a survey the page shows waiting, then the leader taps approve:
    the approval overwrote the rejection. Now it is refused; the card leaves the queue and
    the page says who decided what. The same when the leader changes a decision of theirs
    that someone changed since."""
    page, ids = desktop, ward_data["ids"]
    dialogs = watch_dialogs(page)
    other = bearer(
        make_token(
            sync_engine,
            make_user(sync_engine, "lead-an-xuan-2", [("ward_leader", ("ward", "W03"))]),
        )
    )
    sign_in(page, "lead-an-xuan", "/review?lang=vi")
    expect(page.locator("li.survey")).to_have_count(8)
    item = card(page, ids["reject"])
    decide_meanwhile(live_server, other, ids["reject"], "rejected", "Hộ không có thật")
    with page.expect_request(lambda r: r.method == "POST" and "/review" in r.url) as posted:
        item.locator("button.decide.approve").click()
    assert posted.value.post_data_json["status"] == "received"
    expect(item).to_have_count(0)
    expect(page.locator("#toast")).to_contain_text(
        "Phiếu Lê Thị Mai đã được người khác quyết định trong lúc bạn xem (Đã từ chối); "
        "quyết định của bạn chưa được ghi."
    )
    seen = statuses(live_server, ward_data["volunteer"])
    assert seen[ids["reject"]] == ("rejected", "Hộ không có thật")

    # The leader approves, puts the card back to change it; meanwhile the other rejects it.
    card(page, ids["approve"]).locator("button.decide.approve").click()
    expect(page.locator("#toast")).to_contain_text("Đã duyệt: Trần Văn Bình")
    page.locator("#toast-change").click()
    restored = card(page, ids["approve"])
    expect(restored.locator(".current-decision")).to_contain_text("Đã duyệt")
    decide_meanwhile(live_server, other, ids["approve"], "rejected", "Trùng hộ")
    restored.locator("textarea").fill("Thiếu số điện thoại")
    with page.expect_request(lambda r: r.method == "POST" and "/review" in r.url) as posted:
        restored.locator("button.decide.secondary").click()
    assert posted.value.post_data_json["status"] == "approved"
    expect(restored).to_have_count(0)
    expect(page.locator("#toast")).to_contain_text(
        "Phiếu Trần Văn Bình đã được người khác quyết định trong lúc bạn xem (Đã từ chối)"
    )
    seen = statuses(live_server, ward_data["volunteer"])
    assert seen[ids["approve"]] == ("rejected", "Trùng hộ")
    errors = page.console_errors  # type: ignore[attr-defined]
    assert [e for e in errors if "409" not in e] == []  # the refusals' own log lines only
    assert dialogs == []
