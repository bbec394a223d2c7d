"""The phone's widgets at 360 x 640 (real Chromium, real server): a dropdown, rank, range,
acknowledge, date and time, a barcode typed where the camera cannot read it, a recording and
a document sent like photos, a point placed by hand when the GPS is poor, and a settlement
boundary walked with the emulated GPS moving; each survey stored exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, FilePayload, Page, expect
from sqlalchemy import Engine, text

from bench.common import uvicorn_server
from tests.auth import bearer
from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PHONE,
    TAM_KY,
    PhoneAccount,
    record_console_errors,
    sign_in_phone,
)
from tests.browser.test_collect import open_app, screenshot, wait_offline_ready
from tests.browser.test_signin import review
from tests.widget_forms import build_form

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_surveys")]
expect.set_options(timeout=10_000)

LOCATION_WIDGET = '.gps[data-location="yes"]'  # the survey's location (the first geopoint)
WEBM = b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 8
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture(scope="module")
def widgets_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app under uvicorn with the widgets' test forms only."""
    root = tmp_path_factory.mktemp("widget-forms")
    build_form("widgets_phone", root / "forms")
    build_form("walk_phone", root / "forms")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FORMS_DIR", str(root / "forms"))
        patch.setenv("MEDIA_DIR", str(root / "media"))
        with uvicorn_server("app.main:create_app", database_url) as (base, _pid):
            yield base


def phone_with(
    browser: Browser, base_url: str, account: PhoneAccount, accuracy: float
) -> tuple[BrowserContext, Page]:
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
        geolocation={**TAM_KY, "accuracy": accuracy},
        permissions=["geolocation"],
        base_url=base_url,
        service_workers="allow",
    )
    sign_in_phone(context, account)
    page = context.new_page()
    record_console_errors(page)
    return context, page


@pytest.fixture
def good_gps_phone(
    browser: Browser, widgets_server: str, volunteer: PhoneAccount
) -> Iterator[Page]:
    context, page = phone_with(browser, widgets_server, volunteer, accuracy=6)
    yield page
    context.close()


@pytest.fixture
def poor_gps_phone(
    browser: Browser, widgets_server: str, volunteer: PhoneAccount
) -> Iterator[Page]:
    context, page = phone_with(browser, widgets_server, volunteer, accuracy=80)
    yield page
    context.close()


def next_screen(page: Page) -> None:
    step = page.locator("#step").inner_text()
    page.click("#next")
    expect(page.locator("#step")).not_to_have_text(step)


def sync_and_wait(page: Page) -> None:
    page.click("#outbox-button")
    expect(page.locator("#sync-now")).to_be_enabled()
    page.click("#sync-now")
    expect(page.locator("#sync-status")).to_have_attribute("data-state", "idle")
    expect(page.locator('.outbox-item[data-status="sent"]')).to_have_count(1)


def stored(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT id::text, form_id, answers, gps_accuracy_m, location_manual, "
                "ST_Y(geom) AS lat, ST_X(geom) AS lon FROM household_surveys"
            )
        )
        return [dict(row) for row in rows.mappings()]


def attachments(engine: Engine, survey_id: str) -> dict[str, str]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT filename, content_type FROM attachments WHERE submission_id = :id"),
            {"id": survey_id},
        )
        return dict(rows.all())


def fill_choices_screen(page: Page) -> None:
    page.select_option("#q-water", "well")
    # Rank: the first (Đường) down one place, then the order is confirmed by that move.
    page.get_by_role("button", name="Đưa “Đường” xuống").click()
    expect(page.locator("#q-needs .rank-item").first).to_have_attribute("data-value", "drain")
    # A label with markup is shown as text, never as markup.
    expect(page.locator("#q-needs .rank-item").last).to_contain_text("<img src=x onerror=alert(1)>")
    assert page.locator("#q-needs img").count() == 0
    # Range: the slider from its start, by the keyboard (as a screen reader user would).
    page.focus("#q-rooms")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#range-value-rooms")).to_have_text("3")
    page.focus("#q-share")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    expect(page.locator("#range-value-share")).to_have_text("0.3")


def test_every_widget_is_filled_and_the_survey_with_its_files_is_sent_once(
    good_gps_phone: Page, sync_engine: Engine
) -> None:
    page = good_gps_phone
    open_app(page)
    page.click("#new-widgets_phone")
    expect(page.locator(LOCATION_WIDGET)).to_have_attribute("data-state", "fix")
    # The map: no tiles, the point, and a scale bar.
    expect(page.locator("#map-location .leaflet-marker-icon")).to_have_count(1)
    expect(page.locator("#map-location .leaflet-control-scale")).to_be_visible()
    assert page.locator("#map-location .leaflet-tile").count() == 0
    expect(page.locator("#gps-place")).to_be_hidden()  # good GPS: nothing to place by hand
    # A second geopoint question: the same widget, its answer the point's text.
    expect(page.locator("#gps-accuracy-water_point")).to_contain_text("6 m")
    next_screen(page)

    fill_choices_screen(page)
    screenshot(page, "widgets-choices")
    next_screen(page)

    expect(page.get_by_text("Ghi chú: hỏi chủ hộ về thời gian.")).to_be_visible()
    page.check("#q-consent")
    page.fill("#q-visited", "2026-12-02T09:15")
    page.fill("#q-wake", "05:30")
    # Headless Chromium has no BarcodeDetector: the code is typed, and the app says so.
    expect(page.locator("#barcode-scan-meter")).to_have_count(0)
    expect(page.locator("#barcode-status-meter")).to_contain_text("Gõ mã")
    page.fill("#q-meter", "VN-123456")
    next_screen(page)

    page.set_input_files(
        "#q-voice", files=FilePayload(name="ghi âm 1.webm", mimeType="audio/webm", buffer=WEBM)
    )
    expect(page.locator("#file-status-voice")).to_contain_text("voice-")
    page.set_input_files(
        "#q-paper",
        files=FilePayload(name="giấy tờ.pdf", mimeType="application/pdf", buffer=PDF),
    )
    expect(page.locator("#file-status-paper")).to_contain_text("paper-")
    # A recording in a repeat: its file name is its key's, in the server's letters.
    page.locator('section.repeat[data-key="voices"] button.add-instance').click()
    page.set_input_files(
        '[id="q-voices[1]/extra_voice"]',
        files=FilePayload(name="b.ogg", mimeType="audio/ogg", buffer=b"OggS" + bytes(300)),
    )
    expect(page.locator('[id="file-status-voices[1]/extra_voice"]')).to_contain_text(
        "voices-1-extra_voice-"
    )
    page.click("#finish")
    expect(page.locator("#app")).to_have_attribute("data-view", "home")

    sync_and_wait(page)
    expect(page.locator('.outbox-item[data-status="sent"]')).to_have_attribute(
        "data-photos", "uploaded"
    )
    (row,) = stored(sync_engine)
    answers = row["answers"]
    assert answers["water"] == "well"
    assert answers["needs"] == "drain road light"
    assert answers["rooms"] == 3  # a range is a number (docs/forms-engine.md)
    assert answers["share"] == pytest.approx(0.3)
    assert answers["consent"] == "OK"
    assert answers["visited"].startswith("2026-12-02T09:15:00")
    assert answers["visited"].endswith("+07:00")
    assert answers["wake"] == "05:30:00.000+07:00"
    assert answers["meter"] == "VN-123456"
    assert "intro" not in answers  # notes are absent
    assert answers["water_point"] == "15.5712 108.4741 0 6"
    assert "location" not in answers  # the form's first geopoint is the survey's location
    assert row["location_manual"] is False
    files = attachments(sync_engine, row["id"])
    extra = answers["voices"][0]["extra_voice"]
    assert files == {
        answers["voice"]: "audio/webm",
        answers["paper"]: "application/pdf",
        extra: "audio/ogg",
    }
    assert answers["voice"].endswith(".webm") and answers["paper"].endswith(".pdf")

    # Sending again changes nothing: one survey, two files.
    page.click("#sync-now")
    expect(page.locator("#sync-status")).to_have_attribute("data-state", "idle")
    assert len(stored(sync_engine)) == 1
    assert len(attachments(sync_engine, row["id"])) == 3
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_a_point_placed_by_hand_with_poor_gps_is_stored_as_manual(
    poor_gps_phone: Page, sync_engine: Engine
) -> None:
    page = poor_gps_phone
    open_app(page)
    wait_offline_ready(page)
    page.context.set_offline(True)  # in a lane without signal: the map and the survey still work
    page.click("#new-widgets_phone")
    expect(page.locator("#gps-warning")).to_be_visible()
    expect(page.locator("#map-location .leaflet-marker-icon")).to_have_count(1)
    page.click("#gps-place")
    expect(page.locator("#gps-manual-note")).to_contain_text("Chạm vào bản đồ")
    box = page.locator("#map-location").bounding_box()
    assert box is not None
    # A tap a little north-east of the GPS point (the map is centred on it).
    page.mouse.click(box["x"] + box["width"] / 2 + 40, box["y"] + box["height"] / 2 - 40)
    expect(page.locator(LOCATION_WIDGET)).to_have_attribute("data-manual", "yes")
    expect(page.locator("#gps-status")).to_contain_text("bằng tay")
    expect(page.locator("#gps-warning")).to_be_hidden()
    screenshot(page, "gps-by-hand")
    # A later GPS fix does not move a point placed by hand.
    page.context.set_geolocation({"latitude": 15.5720, "longitude": 108.4750, "accuracy": 70})
    page.wait_for_timeout(500)
    expect(page.locator(LOCATION_WIDGET)).to_have_attribute("data-manual", "yes")
    next_screen(page)
    page.select_option("#q-water", "tap")
    page.focus("#q-rooms")
    page.keyboard.press("ArrowRight")
    next_screen(page)
    page.check("#q-consent")
    next_screen(page)
    page.click("#finish")
    expect(page.locator("#app")).to_have_attribute("data-view", "home")
    assert stored(sync_engine) == []

    page.context.set_offline(False)
    sync_and_wait(page)
    (row,) = stored(sync_engine)
    assert row["location_manual"] is True
    assert row["gps_accuracy_m"] is None
    # North-east of the GPS point, within a few tens of metres.
    assert TAM_KY["latitude"] < row["lat"] < TAM_KY["latitude"] + 0.001
    assert TAM_KY["longitude"] < row["lon"] < TAM_KY["longitude"] + 0.001
    assert page.console_errors == []  # type: ignore[attr-defined]


# Points of a walk around a block, about 25 m apart, then back near the start.
WALK = [
    (15.57120, 108.47410),
    (15.57142, 108.47410),
    (15.57142, 108.47436),
    (15.57120, 108.47436),
]


def test_a_settlement_boundary_walked_with_the_gps_moving_is_sent_once(
    good_gps_phone: Page, sync_engine: Engine
) -> None:
    page = good_gps_phone
    context = page.context
    open_app(page)
    wait_offline_ready(page)
    context.set_offline(True)  # walked where there is no signal; sent when back online
    page.click("#new-walk_phone")
    expect(page.locator(LOCATION_WIDGET)).to_have_attribute("data-state", "fix")
    page.fill("#q-settlement_name", "Khu <b>Phố</b> {{ 7 }}")
    expect(page.locator("#geo-count-boundary")).to_contain_text("cần ít nhất 3")

    page.click("#geo-walk-boundary")
    for index, (lat, lon) in enumerate(WALK):
        context.set_geolocation({"latitude": lat, "longitude": lon, "accuracy": 5})
        expect(page.locator("#geo-count-boundary")).to_contain_text(
            f"{index + 1} điểm" if index >= 2 else f"Đã có {index + 1} điểm"
        )
        if index == 1:
            # A poor fix on the way adds no point.
            context.set_geolocation({"latitude": 15.5713, "longitude": 108.4742, "accuracy": 45})
            expect(page.locator("#geo-gps-boundary")).to_contain_text("45")
            expect(page.locator("#geo-count-boundary")).to_contain_text("Đã có 2 điểm")
    page.click("#geo-walk-boundary")  # pause
    # Clearing asks first (the app's own dialog); cancelled, the points stay.
    page.click("#geo-clear-boundary")
    page.click("#confirm-cancel")
    expect(page.locator("#geo-count-boundary")).to_contain_text("Vùng có 4 điểm")
    page.locator("#map-boundary").scroll_into_view_if_needed()
    screenshot(page, "walked-boundary")
    expect(page.locator("#geo-walk-boundary")).to_have_text("Tiếp tục đi và ghi")
    expect(page.locator("#map-boundary path.map-shape")).to_have_count(1)

    # The lane by tapping: two taps, one undone, one more.
    lane = page.locator("#map-lane")
    lane.scroll_into_view_if_needed()
    box = lane.bounding_box()
    assert box is not None
    centre_x, centre_y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.click(centre_x - 60, centre_y)
    page.mouse.click(centre_x + 60, centre_y + 30)
    expect(page.locator("#geo-count-lane")).to_contain_text("2 điểm")
    page.click("#geo-undo-lane")
    expect(page.locator("#geo-count-lane")).to_contain_text("Đã có 1 điểm")
    box = lane.bounding_box()  # the page may have scrolled to the button
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2 + 60, box["y"] + box["height"] / 2 - 30)
    expect(page.locator("#geo-count-lane")).to_contain_text("Đường có 2 điểm")
    page.click("#finish")
    expect(page.locator("#app")).to_have_attribute("data-view", "home")
    assert stored(sync_engine) == []

    context.set_offline(False)
    sync_and_wait(page)
    (row,) = stored(sync_engine)
    assert row["form_id"] == "walk_phone"
    assert row["answers"]["settlement_name"] == "Khu <b>Phố</b> {{ 7 }}"
    points = [p.split() for p in row["answers"]["boundary"].split(";")]
    assert len(points) == 5 and points[0] == points[-1]  # closed on its first point
    assert [(float(p[0]), float(p[1])) for p in points[:4]] == WALK
    assert all(0 < float(p[3]) <= 6 for p in points)  # each point keeps its accuracy
    assert len(row["answers"]["lane"].split(";")) == 2
    page.click("#sync-now")
    expect(page.locator("#sync-status")).to_have_attribute("data-state", "idle")
    assert len(stored(sync_engine)) == 1
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_with_the_gps_not_allowed_the_point_is_placed_by_hand_in_english(
    browser: Browser, widgets_server: str, volunteer: PhoneAccount, sync_engine: Engine
) -> None:
    denied = browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, locale="en-GB", base_url=widgets_server
    )
    sign_in_phone(denied, volunteer)
    try:
        page = denied.new_page()
        record_console_errors(page)
        open_app(page)
        page.click("#lang-toggle")
        page.click("#new-widgets_phone")
        expect(page.locator(LOCATION_WIDGET)).to_have_attribute("data-state", "denied")
        expect(page.locator("#map-location .leaflet-control-scale")).to_be_visible()
        expect(page.locator("#gps-use-gps")).to_be_hidden()  # no GPS fix to go back to
        page.click("#gps-place")
        expect(page.locator("#gps-manual-note")).to_have_text("Tap the map where the household is.")
        box = page.locator("#map-location").bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        expect(page.locator("#gps-status")).to_contain_text("Point placed by hand")
        expect(page.locator("#gps-manual-note")).to_contain_text("Drag the point")
        # Dragging the point moves it (still by hand).
        before = page.locator("#gps-status").inner_text()
        marker = page.locator("#map-location .leaflet-marker-icon").bounding_box()
        assert marker is not None
        x, y = marker["x"] + marker["width"] / 2, marker["y"] + marker["height"] / 2
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x + 30, y + 30, steps=5)
        page.mouse.up()
        expect(page.locator("#gps-status")).not_to_have_text(before)
        page.click("#next")
        expect(page.locator("#q-water")).to_be_visible()  # the location question is answered
        assert page.console_errors == []  # type: ignore[attr-defined]
    finally:
        denied.close()


@pytest.mark.parametrize("stopped_first", [True, False], ids=["stopped", "finished-recording"])
def test_a_recording_made_in_the_page_is_sent_with_the_survey(
    browser: Browser,
    widgets_server: str,
    volunteer: PhoneAccount,
    sync_engine: Engine,
    stopped_first: bool,
) -> None:
    """Stopped, then finished; or finished while still recording (the survey waits for the
    recording to be kept: it used to be finished first, and the recording was lost)."""
    # Chromium's fake microphone (a tone): MediaRecorder records it as a phone's would.
    recording_browser = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
        ],
    )
    try:
        context = recording_browser.new_context(
            viewport=PHONE,
            is_mobile=True,
            has_touch=True,
            locale="vi-VN",
            geolocation=TAM_KY,
            permissions=["geolocation", "microphone"],
            base_url=widgets_server,
        )
        sign_in_phone(context, volunteer)
        page = context.new_page()
        record_console_errors(page)
        open_app(page)
        page.click("#new-widgets_phone")
        expect(page.locator(LOCATION_WIDGET)).to_have_attribute("data-state", "fix")
        next_screen(page)
        page.select_option("#q-water", "rain")
        page.focus("#q-rooms")
        page.keyboard.press("ArrowRight")
        next_screen(page)
        page.check("#q-consent")
        next_screen(page)
        page.click("#record-voice")
        expect(page.locator("#record-voice")).to_have_text("Dừng ghi âm")
        expect(page.locator("#file-status-voice")).to_contain_text("Đang ghi âm… 0:01")
        if stopped_first:
            page.click("#record-voice")
            expect(page.locator("#file-status-voice")).to_contain_text("Đã lưu trên điện thoại")
            expect(page.locator("#record-voice")).to_have_text("Ghi âm ngay")
        page.click("#finish")
        expect(page.locator("#app")).to_have_attribute("data-view", "home")
        sync_and_wait(page)
        expect(page.locator('.outbox-item[data-status="sent"]')).to_have_attribute(
            "data-photos", "uploaded"
        )
        (row,) = stored(sync_engine)
        assert row["answers"]["voice"], row["answers"]
        assert attachments(sync_engine, row["id"]) == {row["answers"]["voice"]: "audio/webm"}
        assert page.console_errors == []  # type: ignore[attr-defined]
    finally:
        recording_browser.close()


def test_the_map_works_offline_from_the_service_worker_cache(
    good_gps_phone: Page, sync_engine: Engine
) -> None:
    page = good_gps_phone
    open_app(page)
    wait_offline_ready(page)
    page.context.set_offline(True)
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    response = page.reload()
    assert response is not None and response.from_service_worker
    expect(page.locator("#app")).to_have_attribute("data-view", "home")
    page.click("#new-walk_phone")  # Leaflet was never loaded online: it comes from the cache
    expect(page.locator("#map-boundary .leaflet-control-scale")).to_be_visible()
    expect(page.locator(LOCATION_WIDGET)).to_have_attribute("data-state", "fix")
    page.fill("#q-settlement_name", "Tổ 9")
    page.click("#geo-walk-boundary")
    for count, (lat, lon) in enumerate(WALK[1:], start=2):
        page.context.set_geolocation({"latitude": lat, "longitude": lon, "accuracy": 4})
        expect(page.locator("#geo-count-boundary")).to_contain_text(f"{count} điểm")
    expect(page.locator("#geo-count-boundary")).to_contain_text("Vùng có 4 điểm")
    page.click("#geo-walk-boundary")
    page.click("#finish")
    expect(page.locator('.survey-card[data-status="pending"]')).to_have_count(1)
    assert stored(sync_engine) == []
    page.context.set_offline(False)
    sync_and_wait(page)
    (row,) = stored(sync_engine)
    assert len(row["answers"]["boundary"].split(";")) == 5
    # Offline, only the app's own calls to the server failed (it tried the API), no asset.
    assert all("/api/" in url for url in failed), failed


def test_a_second_point_placed_by_hand_reaches_the_server_as_placed_by_hand(
    poor_gps_phone: Page, sync_engine: Engine, widgets_server: str, admin_token: str
) -> None:
    """A geopoint question other than the survey's location, placed by hand: its answer went
    as "lat lon 0 0" (a point measured to 0 m) and nothing said it was placed by hand. It goes
    without an accuracy (none was measured), marked in `manual_points`, which the server keeps
    and shows."""
    page = poor_gps_phone
    open_app(page)
    page.click("#new-widgets_phone")
    expect(page.locator("#gps-warning-water_point")).to_be_visible()
    # Leaflet draws the map after the page: a tap before it is on an empty box (CI missed one).
    expect(page.locator("#map-water_point .leaflet-marker-icon")).to_have_count(1)
    page.click("#gps-place-water_point")
    page.locator("#map-water_point").scroll_into_view_if_needed()
    box = page.locator("#map-water_point").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2 + 40, box["y"] + box["height"] / 2 - 40)
    widget = page.locator('.gps[data-location="no"]')
    expect(widget).to_have_attribute("data-manual", "yes")
    expect(page.locator(LOCATION_WIDGET)).to_have_attribute("data-manual", "no")  # GPS, poor
    next_screen(page)
    page.select_option("#q-water", "tap")
    page.focus("#q-rooms")
    page.keyboard.press("ArrowRight")
    next_screen(page)
    page.check("#q-consent")
    next_screen(page)
    page.click("#finish")
    expect(page.locator("#app")).to_have_attribute("data-view", "home")
    sync_and_wait(page)
    with sync_engine.connect() as connection:
        row = connection.execute(
            text("SELECT id::text, answers, manual_points, location_manual FROM household_surveys")
        ).one()
    lat, lon = (float(part) for part in row.answers["water_point"].split())  # no accuracy
    assert TAM_KY["latitude"] < lat < TAM_KY["latitude"] + 0.001
    assert TAM_KY["longitude"] < lon < TAM_KY["longitude"] + 0.001
    assert row.manual_points == ["water_point"] and row.location_manual is False
    # What a reviewer reads of it.
    record = httpx.get(
        f"{widgets_server}/api/v1/submissions/{row.id}", headers=bearer(admin_token)
    ).json()
    assert record["manual_points"] == ["water_point"]
    # Sent back after its answers left the phone: corrected from the server's copy, the point
    # stays one placed by hand (finished unchanged, it is the same content).
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#clear-sent")
    expect(page.locator(".outbox-item")).to_have_count(0)
    review(widgets_server, admin_token, row.id, "needs_correction", "Kiểm tra lại.")
    page.click("#sync-now")
    item = page.locator(f'.outbox-item[data-id="{row.id}"]')
    expect(item).to_have_attribute("data-review", "needs_correction")
    item.locator("button.correct").click()
    expect(page.locator("#app")).to_have_attribute("data-view", "survey")
    while page.locator("#finish").count() == 0:
        next_screen(page)
    page.click("#finish")
    page.click("#outbox-button")
    expect(item).to_have_attribute("data-review", "received")
    with sync_engine.connect() as connection:
        again = connection.execute(
            text("SELECT version, manual_points FROM household_surveys WHERE id = :id"),
            {"id": row.id},
        ).one()
    assert (again.version, again.manual_points) == (2, ["water_point"])
    assert page.console_errors == []  # type: ignore[attr-defined]
