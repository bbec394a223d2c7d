"""The phone survey app at 360 x 640 with emulated GPS: fill, validate, work offline, sync."""

from __future__ import annotations

import io
import json
import re
import shutil
from typing import Any

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, FilePayload, Page, Route, expect
from sqlalchemy import Engine, text

from app.api.collect import assets_version
from app.settings import Settings
from tests.browser.conftest import PHONE, SCREENSHOTS, PhoneAccount, sign_in_phone

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_surveys")]
expect.set_options(timeout=10_000)  # slow shared CI machines; every wait is on a UI state

# The answers of one household, screen by screen (the order of the form's groups).
HOUSEHOLD_SCREENS: list[dict[str, Any]] = [
    {
        "head_name": "Nguyễn Thị Hoa",
        "head_phone": "0905123456",
        "household_size": "4",
        "poverty_status": "poor",
    },
    {"tenure": "papers_only", "house_condition": "temporary", "eviction_threat": "no"},
    {
        "water_source": "shared_tap",
        "sanitation": "shared_toilet",
        "electricity": "neighbour_meter",
        "flooding": "often",
        "waste": "dumped",
    },
    {"lane_access": "motorbike", "lane_width_m": "1.8"},
    {"savings_group": "yes", "cdf_loan": "no", "priority_needs": ["drainage", "lane"]},
]


def test_shell_manifest_and_service_worker_are_served(live_server: str) -> None:
    shell = httpx.get(f"{live_server}/collect")
    assert shell.status_code == 200 and "text/html" in shell.headers["content-type"]
    worker = httpx.get(f"{live_server}/collect/sw.js")
    assert worker.headers["service-worker-allowed"] == "/collect"
    assert "javascript" in worker.headers["content-type"]
    precached = re.findall(r'"(/[^"]+)"', worker.text.split("const ASSETS")[1].split("];")[0])
    assert "/static/collect/app.js" in precached
    # Every module of the app, or it would not open offline.
    modules = (Settings().static_dir / "collect").glob("*.js")
    assert {f"/static/collect/{m.name}" for m in modules if m.name != "sw.js"} <= set(precached)
    assert "/api/v1" not in worker.text  # the API needs the phone's token: never cached here
    for path in precached:  # a missing asset would make the service worker fail to install
        answer = httpx.get(f"{live_server}{path}")
        # ...and so would one without our mark (kept only then: not a captive portal's page)
        assert (answer.status_code, answer.headers.get("x-app-file")) == (200, "1"), path
    manifest = httpx.get(f"{live_server}/collect/manifest.webmanifest").json()
    assert manifest["name"].startswith("Khảo sát hộ gia đình")
    assert manifest["start_url"] == "/collect"
    for icon in manifest["icons"]:
        image = Image.open(io.BytesIO(httpx.get(f"{live_server}{icon['src']}").content))
        assert (image.format, f"{image.width}x{image.height}") == ("PNG", icon["sizes"])


def test_collect_files_are_revalidated_and_the_worker_carries_their_version(
    live_server: str,
) -> None:
    for path in ("/collect", "/collect/sw.js", "/collect/manifest.webmanifest"):
        assert httpx.get(f"{live_server}{path}").headers["cache-control"] == "no-cache", path
    script = httpx.get(f"{live_server}/static/collect/app.js")
    assert script.headers["cache-control"] == "no-cache"
    again = httpx.get(
        f"{live_server}/static/collect/app.js", headers={"if-none-match": script.headers["etag"]}
    )
    assert (again.status_code, again.headers["cache-control"]) == (304, "no-cache")
    assert httpx.get(f"{live_server}/static/collect/nothing.js").status_code == 404
    worker = httpx.get(f"{live_server}/collect/sw.js").text
    version = assets_version(Settings().static_dir / "collect")
    assert f'const VERSION = "collect-{version}";' in worker


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"collect-{name}.png"))


def stored(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT id::text, collector, collector_user_id, answers, gps_accuracy_m "
                "FROM household_surveys"
            )
        )
        return [dict(row) for row in rows.mappings()]


def open_app(page: Page, collector: str = "tnv-07") -> None:
    """Open /collect, set the collector on first run, and wait for the home screen."""
    page.goto("/collect")
    expect(page.locator("#app[data-view]")).to_be_visible()
    if page.locator("#app").get_attribute("data-view") == "settings":
        page.fill("#collector", collector)
        page.click("#save-settings")
    expect(page.locator("#app")).to_have_attribute("data-view", "home")


def wait_offline_ready(page: Page) -> None:
    """The service worker controls the page (shell, assets and forms are cached)."""
    expect(page.locator("html")).to_have_attribute("data-offline-ready", "yes", timeout=15000)


def fill_screen(page: Page, answers: dict[str, Any]) -> None:
    for name, value in answers.items():
        inputs = page.locator(f'section.question[data-name="{name}"] input')
        kind = inputs.first.get_attribute("type")
        if kind == "radio":
            page.check(f'input[name="{name}"][value="{value}"]')
        elif kind == "checkbox":
            for item in value:
                page.check(f'input[name="{name}"][value="{item}"]')
        else:
            inputs.first.fill(value)


def next_screen(page: Page) -> None:
    step = page.locator("#step").inner_text()
    page.click("#next")
    expect(page.locator("#step")).not_to_have_text(step)


def fill_household(page: Page, shots: bool = False) -> None:
    """From the home screen, fill and finish one household survey."""
    page.click("#new-household")
    expect(page.locator("#app")).to_have_attribute("data-view", "survey")
    expect(page.locator(".gps")).to_have_attribute("data-state", "fix")
    expect(page.locator("#gps-accuracy")).to_contain_text("6 m")
    if shots:
        screenshot(page, "gps")
    next_screen(page)
    for index, answers in enumerate(HOUSEHOLD_SCREENS):
        fill_screen(page, answers)
        if shots and index in (0, 4):
            screenshot(page, f"screen-{index + 2}")
        if index < len(HOUSEHOLD_SCREENS) - 1:
            next_screen(page)
    page.click("#finish")
    expect(page.locator("#app")).to_have_attribute("data-view", "home")
    expect(page.locator("#notice")).to_be_visible()


def jpeg(size: tuple[int, int], colour: tuple[int, int, int], **options: Any) -> bytes:
    """A plain JPEG photo."""
    photo = io.BytesIO()
    Image.new("RGB", size, colour).save(photo, format="JPEG", **options)
    return photo.getvalue()


def fill_household_with_photo(page: Page, photo: bytes) -> None:
    """From the home screen, answer every screen of a household survey and take its photo
    (the survey stays open on its last screen)."""
    page.click("#new-household")
    expect(page.locator(".gps")).to_have_attribute("data-state", "fix")
    for answers in HOUSEHOLD_SCREENS:
        next_screen(page)
        fill_screen(page, answers)
    page.set_input_files(
        'input[type="file"][name="photo"]',
        files=FilePayload(name="house.jpg", mimeType="image/jpeg", buffer=photo),
    )


def open_outbox_and_sync(page: Page) -> None:
    page.click("#outbox-button")
    expect(page.locator("#sync-now")).to_be_enabled()
    page.click("#sync-now")
    expect(page.locator("#sync-status")).to_have_attribute("data-state", "idle")


def test_fill_and_send_a_household_survey(
    phone: Page, sync_engine: Engine, volunteer: PhoneAccount
) -> None:
    open_app(phone)
    screenshot(phone, "home")
    fill_household(phone, shots=True)
    phone.click("#outbox-button")
    expect(phone.locator('.outbox-item[data-status="sent"]')).to_have_count(1)
    screenshot(phone, "outbox")
    (row,) = stored(sync_engine)
    assert row["collector"] == "tnv-07"
    assert row["collector_user_id"] == volunteer.user_id
    assert row["answers"]["head_name"] == "Nguyễn Thị Hoa"
    assert row["answers"]["household_size"] == 4
    assert row["answers"]["lane_width_m"] == 1.8
    assert row["answers"]["priority_needs"] == "drainage lane"
    assert row["answers"]["cdf_loan"] == "no"
    assert row["gps_accuracy_m"] == pytest.approx(6)
    assert phone.console_errors == []  # type: ignore[attr-defined]


def test_missing_required_answer_shows_the_error_in_vietnamese(phone: Page) -> None:
    open_app(phone)
    phone.click("#new-household")
    expect(phone.locator(".gps")).to_have_attribute("data-state", "fix")
    next_screen(phone)
    fill_screen(phone, {"head_phone": "12345", "household_size": "4", "poverty_status": "poor"})
    phone.click("#next")
    error = phone.locator('.error[data-for="head_name"]')
    expect(error).to_have_text("Bắt buộc trả lời câu này.")
    expect(phone.locator('.error[data-for="head_phone"]')).to_have_text(
        "Số điện thoại gồm 10 hoặc 11 chữ số, bắt đầu bằng 0."
    )
    expect(phone.locator("#step")).to_have_text(re.compile(r"^Phần 2/"))
    screenshot(phone, "required-error")
    phone.click("#lang-toggle")  # the whole screen switches, errors included
    expect(error).to_have_text("This question is required.")
    expect(phone.locator("#next")).to_have_text("Next")
    phone.click("#lang-toggle")
    expect(error).to_have_text("Bắt buộc trả lời câu này.")
    phone.fill('section.question[data-name="head_name"] input', "Trần Văn Nam")
    expect(error).to_be_hidden()


def test_skip_logic_hides_and_clears_non_relevant_answers(phone: Page) -> None:
    open_app(phone)
    phone.click("#new-household")
    expect(phone.locator(".gps")).to_have_attribute("data-state", "fix")
    for answers in [
        {"head_name": "A", "household_size": "2", "poverty_status": "none"},
        *HOUSEHOLD_SCREENS[1:4],
    ]:
        next_screen(phone)
        fill_screen(phone, answers)
    next_screen(phone)
    cdf_loan = phone.locator('section.question[data-name="cdf_loan"]')
    expect(cdf_loan).to_be_hidden()
    phone.check('input[name="savings_group"][value="yes"]')
    expect(cdf_loan).to_be_visible()
    phone.check('input[name="cdf_loan"][value="yes"]')
    phone.check('input[name="savings_group"][value="no"]')
    expect(cdf_loan).to_be_hidden()
    phone.check('input[name="savings_group"][value="yes"]')
    expect(phone.locator('input[name="cdf_loan"]:checked')).to_have_count(0)


def test_a_draft_survives_a_reload_and_can_be_edited(phone: Page, sync_engine: Engine) -> None:
    open_app(phone)
    phone.click("#new-household")
    expect(phone.locator(".gps")).to_have_attribute("data-state", "fix")
    next_screen(phone)
    fill_screen(phone, {"head_name": "Lê Văn Tám", "household_size": "3"})
    phone.click("#exit-survey")
    phone.reload()
    card = phone.locator('.survey-card[data-status="draft"]')
    expect(card).to_contain_text("Lê Văn Tám")
    card.locator("button.edit").click()
    expect(phone.locator('section.question[data-name="head_name"] input')).to_have_value(
        "Lê Văn Tám"
    )
    expect(phone.locator('section.question[data-name="household_size"] input')).to_have_value("3")
    assert stored(sync_engine) == []


def test_offline_surveys_survive_a_reload_and_sync_once_online(
    phone_context: BrowserContext, phone: Page, sync_engine: Engine
) -> None:
    open_app(phone)
    wait_offline_ready(phone)
    phone_context.set_offline(True)
    for _ in range(3):
        fill_household(phone)
    response = phone.reload()
    assert response is not None and response.from_service_worker
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    expect(phone.locator('.survey-card[data-status="pending"]')).to_have_count(3)
    expect(phone.locator("#network")).to_have_class(re.compile("offline"))
    screenshot(phone, "offline-pending")
    assert stored(sync_engine) == []
    phone_context.set_offline(False)
    open_outbox_and_sync(phone)
    expect(phone.locator('.outbox-item[data-status="sent"]')).to_have_count(3)
    local_ids = set(
        phone.locator(".outbox-item").evaluate_all("items => items.map(i => i.dataset.id)")
    )
    assert {row["id"] for row in stored(sync_engine)} == local_ids
    assert len(local_ids) == 3


def test_a_lost_response_then_retry_never_duplicates(
    phone_context: BrowserContext, phone: Page, sync_engine: Engine
) -> None:
    open_app(phone)
    phone_context.set_offline(True)
    fill_household(phone)
    handled: list[int] = []

    def lose_the_response(route: Route) -> None:
        response = route.fetch()  # the server stores the survey...
        handled.append(response.status)
        route.abort("connectionreset")  # ...but the phone never hears back

    phone.route("**/api/v1/submissions/batch", lose_the_response)
    phone.click("#outbox-button")
    phone_context.set_offline(False)
    phone.click("#sync-now")
    expect(phone.locator("#sync-status")).to_have_attribute("data-state", "network")
    expect(phone.locator('.outbox-item[data-status="pending"]')).to_have_count(1)
    screenshot(phone, "outbox-retry")
    assert handled and set(handled) == {200}  # every attempt reached the server
    assert len(stored(sync_engine)) == 1
    phone.unroute("**/api/v1/submissions/batch")
    phone.click("#sync-now")
    expect(phone.locator('.outbox-item[data-status="sent"]')).to_have_count(1)
    assert len(stored(sync_engine)) == 1


def test_photo_is_resized_on_the_phone_and_uploaded_after_the_survey(
    phone: Page, sync_engine: Engine
) -> None:
    big = jpeg((3000, 2000), (180, 120, 60), quality=90)
    open_app(phone)
    fill_household_with_photo(phone, big)
    expect(phone.locator(".photo-preview")).to_be_visible()
    phone.locator(".photo-preview").scroll_into_view_if_needed()
    screenshot(phone, "photo")
    phone.click("#finish")
    phone.click("#outbox-button")
    item = phone.locator('.outbox-item[data-status="sent"]')
    expect(item).to_have_attribute("data-photos", "uploaded")
    (row,) = stored(sync_engine)
    filename = row["answers"]["photo"]
    assert re.fullmatch(r"photo-[0-9a-z]+\.jpg", filename)
    with sync_engine.connect() as connection:
        attachment = connection.execute(
            text("SELECT filename, content_type FROM attachments WHERE submission_id = :id"),
            {"id": row["id"]},
        ).one()
    assert tuple(attachment) == (filename, "image/jpeg")
    media = Settings().media_dir / row["id"] / filename
    try:
        with Image.open(media) as image:
            assert max(image.size) == 1280
            assert image.format == "JPEG"
    finally:
        shutil.rmtree(media.parent, ignore_errors=True)


def test_gps_warns_about_poor_accuracy_and_explains_a_denied_permission(
    phone_context: BrowserContext,
    phone: Page,
    browser: Browser,
    live_server: str,
    volunteer: PhoneAccount,
) -> None:
    phone_context.set_geolocation({"latitude": 15.5712, "longitude": 108.4741, "accuracy": 35})
    open_app(phone)
    phone.click("#new-household")
    expect(phone.locator("#gps-accuracy")).to_contain_text("35 m")
    expect(phone.locator("#gps-warning")).to_contain_text("Độ chính xác kém")
    screenshot(phone, "gps-poor")
    phone.click("#gps-better")
    expect(phone.locator("#gps-status")).to_have_text("Đang chờ vị trí mới…")
    phone_context.set_geolocation({"latitude": 15.5713, "longitude": 108.4742, "accuracy": 5})
    expect(phone.locator("#gps-accuracy")).to_contain_text("±5 m")
    expect(phone.locator("#gps-warning")).to_be_hidden()
    expect(phone.locator("#gps-status")).to_contain_text("15.571300, 108.474200")

    denied = browser.new_context(
        viewport={"width": 360, "height": 640}, locale="en-GB", base_url=live_server
    )
    sign_in_phone(denied, volunteer)
    try:
        page = denied.new_page()
        open_app(page)
        page.click("#lang-toggle")
        page.click("#new-household")
        expect(page.locator(".gps")).to_have_attribute("data-state", "denied")
        expect(page.locator("#gps-status")).to_contain_text("not allowed to use your location")
        page.click("#next")
        expect(page.locator('.error[data-for="location"]')).to_contain_text("No GPS position")
    finally:
        denied.close()


def test_a_refused_survey_is_failed_with_the_server_reason_in_vietnamese(
    phone_context: BrowserContext, phone: Page, sync_engine: Engine
) -> None:
    open_app(phone)
    phone_context.set_offline(True)
    fill_household(phone)

    def tamper(route: Route) -> None:
        # A survey the phone thought valid but the server refuses (e.g. an older app version).
        body = json.loads(route.request.post_data or "{}")
        body["submissions"][0]["answers"]["household_size"] = 99
        route.continue_(post_data=json.dumps(body))

    phone.route("**/api/v1/submissions/batch", tamper)
    phone.click("#outbox-button")
    phone_context.set_offline(False)
    phone.click("#sync-now")
    failed = phone.locator('.outbox-item[data-status="failed"]')
    expect(failed).to_contain_text("Số người trong hộ: Số người phải từ 1 đến 30.")
    screenshot(phone, "outbox-failed")
    assert stored(sync_engine) == []


def test_coming_back_online_sends_by_itself(
    phone_context: BrowserContext, phone: Page, sync_engine: Engine
) -> None:
    open_app(phone)
    phone_context.set_offline(True)
    fill_household(phone)
    phone.click("#outbox-button")
    expect(phone.locator('.outbox-item[data-status="pending"]')).to_have_count(1)
    phone_context.set_offline(False)  # the page's `online` event starts the sync
    expect(phone.locator('.outbox-item[data-status="sent"]')).to_have_count(1)
    assert len(stored(sync_engine)) == 1


# Where the tapped point of #next lands, and whether the page stays as wide as the phone.
NEXT_HIT = """() => {
  const box = document.querySelector('#next').getBoundingClientRect();
  const hit = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
  return {
    next: hit !== null && hit.closest('#next') !== null,
    onScreen: box.bottom <= window.visualViewport.height,
    wider: document.documentElement.scrollWidth > window.innerWidth,
  };
}"""


def test_without_the_map_stylesheet_there_is_no_map_and_next_still_works(
    phone_context: BrowserContext, phone: Page
) -> None:
    # Offline before the app was cached: Leaflet's script may come from the HTTP cache while its
    # stylesheet cannot. Its panes, unstyled, once made the page wider than the phone and pushed
    # the Back / Next bar off screen, under the map (a CI failure).
    blocked: list[str] = []

    def refuse(route: Route) -> None:
        blocked.append(route.request.url)
        route.abort()

    phone_context.route("**/leaflet.css", refuse)
    open_app(phone)
    phone.click("#new-household")
    expect(phone.locator(".gps")).to_have_attribute("data-state", "fix")
    expect(phone.locator(".geo-map")).to_contain_text("Không mở được bản đồ.")
    assert blocked
    assert phone.evaluate(NEXT_HIT) == {"next": True, "onScreen": True, "wider": False}
    next_screen(phone)
    # The stylesheet is back: the next map shown loads it and draws.
    phone_context.unroute("**/leaflet.css")
    phone.click("#back")
    expect(phone.locator(".geo-map.leaflet-container")).to_be_visible()
    expect(phone.locator(".geo-map .leaflet-overlay-pane path")).not_to_have_count(0)
    assert phone.evaluate(NEXT_HIT) == {"next": True, "onScreen": True, "wider": False}
    errors = phone.console_errors  # type: ignore[attr-defined]
    assert [e for e in errors if "Failed to load resource" not in e] == []


def test_the_map_keeps_its_panes_inside_its_box_whatever_the_styles(phone: Page) -> None:
    open_app(phone)
    phone.click("#new-household")
    expect(phone.locator(".geo-map .leaflet-overlay-pane path")).not_to_have_count(0)
    # Leaflet's own stylesheet gone after the map was drawn: the map's box still clips them.
    phone.evaluate("document.querySelectorAll('link[data-leaflet]').forEach((l) => l.remove())")
    assert phone.evaluate(NEXT_HIT) == {"next": True, "onScreen": True, "wider": False}
    next_screen(phone)


def test_a_map_stylesheet_that_never_comes_gives_no_map_and_says_so(
    phone_context: BrowserContext, phone: Page
) -> None:
    # A network that stalls rather than fails: the request neither loads nor errors.
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)

    phone_context.route("**/leaflet.css", hold)
    open_app(phone)
    phone.click("#new-household")
    expect(phone.locator(".gps")).to_have_attribute("data-state", "fix")
    expect(phone.locator(".geo-map")).to_contain_text("Không mở được bản đồ.", timeout=20_000)
    assert held
    assert phone.evaluate(NEXT_HIT) == {"next": True, "onScreen": True, "wider": False}
    next_screen(phone)
    # Shown again, the map waits on the same stalled file: no second one is asked for (the
    # service worker's own fetch of it, to cache it, is held too).
    asked = len(held)
    phone.click("#back")
    expect(phone.locator(".geo-map")).to_contain_text("Không mở được bản đồ.", timeout=20_000)
    assert phone.locator("link[data-leaflet]").count() == 1
    assert len(held) == asked
    for route in held:
        route.abort()


def test_finish_tapped_while_the_photo_is_shrunk_waits_for_it(
    phone: Page, sync_engine: Engine, volunteer: PhoneAccount
) -> None:
    """A cheap phone takes seconds to shrink a photo: Finish tapped meanwhile sent the
    survey without it, and the late answer went into whatever survey was open by then."""
    open_app(phone)
    cdp = phone.context.new_cdp_session(phone)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 12})  # a slow phone
    try:
        fill_household_with_photo(phone, jpeg((4000, 3000), (120, 80, 40), quality=95))
        phone.click("#finish")  # at once: the photo is still being shrunk
        expect(phone.locator("#new-household")).to_be_visible(timeout=30_000)
    finally:
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
    phone.click("#outbox-button")
    item = phone.locator('.outbox-item[data-status="sent"]')
    expect(item).to_have_attribute("data-photos", "uploaded", timeout=30_000)
    (row,) = stored(sync_engine)
    filename = row["answers"]["photo"]
    assert re.fullmatch(r"photo-[0-9a-z]+\.jpg", filename)
    with sync_engine.connect() as connection:
        kept = connection.execute(
            text("SELECT filename FROM attachments WHERE submission_id = :id"), {"id": row["id"]}
        ).scalar_one()
    assert kept == filename
    shutil.rmtree(Settings().media_dir / row["id"], ignore_errors=True)


def test_back_goes_one_screen_back_after_the_survey_was_left_and_opened_again(
    phone: Page,
) -> None:
    """Exit keeps the survey's history entries; opened again (twice), the on-screen Back
    walked onto them: 4 -> 3 -> 4, or out to the home screen."""
    open_app(phone)
    phone.click("#new-household")
    expect(phone.locator(".gps")).to_have_attribute("data-state", "fix")
    for answers in HOUSEHOLD_SCREENS[:3]:
        next_screen(phone)
        fill_screen(phone, answers)
    on = phone.locator("#step").inner_text()
    for _ in range(2):
        phone.click("#exit-survey")
        expect(phone.locator("#app")).to_have_attribute("data-view", "home")
        phone.locator('.survey-card[data-status="draft"] button.edit').click()
        expect(phone.locator("#step")).to_have_text(on)
    steps = [on]
    for _ in range(3):
        phone.click("#back")
        expect(phone.locator("#step")).not_to_have_text(steps[-1])
        expect(phone.locator("#app")).to_have_attribute("data-view", "survey")
        steps.append(phone.locator("#step").inner_text())
    numbers = [int(step.split("/")[0].split()[-1]) for step in steps]
    assert numbers == sorted(numbers, reverse=True) and len(set(numbers)) == 4, steps


def test_back_opened_in_a_new_tab_goes_screen_by_screen_and_never_leaves_the_app(
    phone_context: BrowserContext, phone: Page
) -> None:
    """A draft left on screen 4 and opened from a new tab (whose history holds no entry of the
    survey's screens): the on-screen Back went 4 -> 3, then to the page before the app."""
    open_app(phone)
    phone.click("#new-household")
    expect(phone.locator(".gps")).to_have_attribute("data-state", "fix")
    for answers in HOUSEHOLD_SCREENS[:3]:
        next_screen(phone)
        fill_screen(phone, answers)
    expect(phone.locator("#step")).to_have_text("Phần 4/6")
    phone.click("#exit-survey")
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    tab = phone_context.new_page()  # about:blank, then the app
    tab.goto("/collect/")
    tab.locator('.survey-card[data-status="draft"] button.edit').click()
    expect(tab.locator("#step")).to_have_text("Phần 4/6")
    for step in ("Phần 3/6", "Phần 2/6", "Phần 1/6"):
        tab.click("#back")
        expect(tab.locator("#step")).to_have_text(step)
        expect(tab.locator("#app")).to_have_attribute("data-view", "survey")
        assert "/collect" in tab.url
    expect(tab.locator("#back")).to_be_disabled()
    # The phone's own Back still leaves the survey (saved) for the home screen, in the app.
    tab.go_back()
    expect(tab.locator("#app")).to_have_attribute("data-view", "home")
    assert "/collect" in tab.url
    expect(tab.locator('.survey-card[data-status="draft"]')).to_have_count(1)


def test_a_card_is_named_by_its_forms_instance_name_or_first_text_and_says_its_form(
    phone: Page,
) -> None:
    """Every card was titled by head_name: a settlement profile read "Chưa có tên"."""
    open_app(phone)
    phone.click("#new-household")  # instance_name: concat(${head_name}, ' - ', ${household_size})
    expect(phone.locator(".gps")).to_have_attribute("data-state", "fix")
    next_screen(phone)
    fill_screen(phone, {"head_name": "Lê Văn Tám", "household_size": "3"})
    phone.click("#exit-survey")
    phone.click("#new-settlement")  # none: its first text answer that is not personal
    expect(phone.locator("#app")).to_have_attribute("data-view", "survey")
    phone.fill("#q-leader_name", "Trần Văn Bảy")
    phone.fill("#q-settlement_name", "Tổ 5 Phước Hòa")
    phone.click("#exit-survey")
    expect(phone.locator(".survey-card")).to_have_count(2)
    settlement = phone.locator('.survey-card[data-form="settlement"]')
    household = phone.locator('.survey-card[data-form="household"]')
    expect(settlement.locator("strong")).to_have_text("Tổ 5 Phước Hòa")
    expect(settlement.locator(".form-title")).to_have_text("Hồ sơ khu dân cư / Settlement profile")
    expect(household.locator("strong")).to_have_text("Lê Văn Tám - 3")
    expect(household.locator(".form-title")).to_have_text("Khảo sát hộ gia đình / Household survey")
    settlement.locator("button.edit").click()
    phone.fill("#q-settlement_name", "")
    phone.click("#exit-survey")
    # With no text that is not personal, the maker's own list shows the personal one.
    expect(settlement.locator("strong")).to_have_text("Trần Văn Bảy")


PAGE_WIDTH = "() => document.documentElement.scrollWidth"


def test_a_long_answer_without_spaces_wraps_on_every_screen_of_a_phone(
    phone_context: BrowserContext, phone: Page
) -> None:
    """A 190-character address pasted as a name made the home screen 1814 px wide."""
    url = "https://example.org/?q=" + "KhaoSatHoGiaDinh" * 10 + "x" * 7
    assert len(url) == 190 and " " not in url
    open_app(phone)
    phone_context.set_offline(True)  # it waits: the outbox lists it, View shows it
    phone.click("#new-household")
    expect(phone.locator(".gps")).to_have_attribute("data-state", "fix")
    for answers in HOUSEHOLD_SCREENS:
        next_screen(phone)
        fill_screen(phone, {**answers, "head_name": url} if "head_name" in answers else answers)
    phone.click("#finish")
    expect(phone.locator(".survey-card")).to_contain_text(url)
    assert phone.evaluate(PAGE_WIDTH) == PHONE["width"]
    phone.click("#outbox-button")
    expect(phone.locator(".outbox-item")).to_contain_text(url)
    assert phone.evaluate(PAGE_WIDTH) == PHONE["width"]
    phone_context.set_offline(False)
    phone.click("#sync-now")
    phone.locator('.outbox-item[data-status="sent"] button.view').click()
    expect(phone.locator("#answers")).to_contain_text(url)
    assert phone.evaluate(PAGE_WIDTH) == PHONE["width"]
    phone.click("#view-back")
    phone.click("#home-button")
    phone.locator(".survey-card button.view").click()  # the title in the bar too
    expect(phone.locator(".bar h1")).to_contain_text(url)
    assert phone.evaluate(PAGE_WIDTH) == PHONE["width"]


def test_the_notice_after_finishing_follows_the_survey_and_the_language(
    phone_context: BrowserContext, phone: Page
) -> None:
    """The notice 'Saved. The survey will be sent when there is a connection.' stayed, in
    Vietnamese, after the survey was sent and the language switched."""
    open_app(phone)
    phone_context.set_offline(True)
    fill_household(phone)
    notice = phone.locator("#notice")
    expect(notice).to_have_text("Đã lưu. Khảo sát sẽ được gửi khi có mạng.")
    phone.click("#lang-toggle")
    expect(notice).to_have_text("Saved. The survey will be sent when there is a connection.")
    phone_context.set_offline(False)  # sent by itself
    expect(phone.locator('.survey-card[data-status="sent"]')).to_have_count(1)
    expect(notice).to_have_text("Saved and sent.")
    phone.click("#lang-toggle")
    expect(notice).to_have_text("Đã lưu và đã gửi khảo sát.")


def test_a_refusal_names_fields_by_words_in_the_language_shown_and_so_do_the_map_buttons(
    phone_context: BrowserContext, phone: Page
) -> None:
    """The outbox said "form_version: …" and "collected_at: …" (the server's field codes),
    and Leaflet's zoom buttons "Zoom in" / "Zoom out" in Vietnamese."""
    open_app(phone)
    phone.click("#new-household")
    expect(phone.locator(".gps")).to_have_attribute("data-state", "fix")
    zoom_in = phone.locator(".leaflet-control-zoom-in")
    expect(zoom_in).to_have_attribute("title", "Phóng to")
    expect(phone.locator(".leaflet-control-zoom-out")).to_have_attribute("title", "Thu nhỏ")
    phone.click("#lang-toggle")
    expect(zoom_in).to_have_attribute("title", "Zoom in")
    phone.click("#lang-toggle")
    phone.click("#exit-survey")
    phone_context.set_offline(True)
    phone.locator(".survey-card button.edit").click()
    for answers in HOUSEHOLD_SCREENS:
        next_screen(phone)
        fill_screen(phone, answers)
    phone.click("#finish")
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")

    def tamper(route: Route) -> None:
        body = json.loads(route.request.post_data or "{}")
        body["submissions"][0]["form_version"] = "1999"
        body["submissions"][0]["collected_at"] = "hôm qua"
        body["submissions"][0]["answers"]["household_size"] = 99
        route.continue_(post_data=json.dumps(body))

    phone.route("**/api/v1/submissions/batch", tamper)
    phone.click("#outbox-button")
    phone_context.set_offline(False)
    phone.click("#sync-now")
    errors = phone.locator('.outbox-item[data-status="failed"] .server-errors li')
    expect(errors).to_have_count(2)
    expect(errors.nth(0)).to_contain_text("Thời điểm hoàn thành: Thời điểm không hợp lệ")
    expect(errors.nth(1)).to_contain_text("Phiên bản biểu mẫu: Biểu mẫu 'household'")
    phone.click("#lang-toggle")  # the phone's words follow; the server's stay as they came
    expect(errors.nth(0)).to_contain_text("Time finished: Thời điểm không hợp lệ")
    expect(errors.nth(1)).to_contain_text("Form version: Biểu mẫu 'household'")
    expect(phone.locator(".server-errors")).not_to_contain_text("collected_at")
    expect(phone.locator(".server-errors")).not_to_contain_text("form_version")
