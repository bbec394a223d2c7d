"""The admin page in real Chromium against a live server: a city admin signs in through /login
at a tablet's size, adds a volunteer, gives them a ward, makes a phone sign-in QR code whose
link signs a phone in, revokes that phone and publishes the city; a national admin adds a city
from a zipped Shapefile after a refused upload lists its bad features. Names stay text."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from playwright.sync_api import BrowserContext, Dialog, Page, expect
from shapely.geometry import Polygon
from sqlalchemy import Engine, text

from app.services.auth import hash_password
from app.services.indicators import read_weights
from app.settings import REPO_ROOT
from tests import hostile
from tests.auth import make_user
from tests.browser.conftest import SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_surveys")]

PASSWORD = "mật-khẩu-quản-trị"
TABLET = {"width": 768, "height": 1024}
VOLUNTEER = "tnv-trang-quan-tri"
VOLUNTEER_NAME = "Nguyễn Thị Hoa {{ 7*7 }} </script><b>"
PHONE_NAME = "điện thoại của Hoa"
NEW_CITY = "thu-trinh-duyet"
SAMPLE = REPO_ROOT / "data" / "samples" / "tam-ky"


@pytest.fixture
def phone_account() -> None:
    """The phone of these tests starts never signed in (the QR link signs it in)."""
    return None


@pytest.fixture
def city_admin(sync_engine: Engine) -> Iterator[str]:
    """A city admin of the sample city with a password; the volunteer of an earlier run gone;
    the city unpublished again (and back on the common weights) afterwards."""
    with sync_engine.begin() as connection:
        connection.execute(text("DELETE FROM sign_in_failures"))
        connection.execute(text("DELETE FROM users WHERE username = :u"), {"u": VOLUNTEER})
    make_user(
        sync_engine,
        "qt-tam-ky",
        [("city_admin", ("city", "tam-ky"))],
        password_hash=hash_password(PASSWORD),
    )
    yield "qt-tam-ky"
    with sync_engine.begin() as connection:
        connection.execute(
            text("UPDATE cities SET public_aggregates = false, priority_weights = NULL")
        )


def watch_dialogs(page: Page) -> list[str]:
    """Record (and dismiss) every JavaScript dialog: a name that runs code would open one."""
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return dialogs


def sign_in(page: Page, username: str) -> None:
    """Open the admin page in Vietnamese, be sent to the sign-in form, fill it, come back."""
    page.goto("/admin?lang=vi")
    expect(page).to_have_url(re.compile(r"/login\?next=/admin%3Flang%3Dvi&lang=vi$"))
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/admin\?lang=vi$"))


def person_card(page: Page, username: str) -> Any:
    return page.locator("li.person").filter(has=page.locator(".username", has_text=username))


def test_a_city_admin_adds_a_volunteer_enrols_and_revokes_a_phone_and_publishes(
    desktop: Page,
    phone_context: BrowserContext,
    live_server: str,
    sync_engine: Engine,
    city_admin: str,
) -> None:
    page = desktop
    dialogs = watch_dialogs(page)
    page.set_viewport_size(TABLET)
    sign_in(page, city_admin)
    expect(page.locator("h1")).to_have_text("Quản trị")
    expect(page.locator("#people-status")).to_be_hidden()  # the list has loaded
    expect(person_card(page, city_admin)).to_have_count(1)

    # Add a volunteer: no password (their phone is enrolled), a name that is only text.
    page.locator("#add-person-box summary").click()
    page.fill("#new-username", "Không hợp lệ")
    page.locator("#add-person button[type=submit]").click()
    expect(page.locator("#add-person .error")).to_contain_text("Tên đăng nhập chỉ gồm")
    page.fill("#new-username", VOLUNTEER)
    page.fill("#new-display-name", VOLUNTEER_NAME)
    page.locator("#add-person button[type=submit]").click()
    expect(page.locator("#toast")).to_have_text(
        f"Đã thêm {VOLUNTEER_NAME}. Hãy cấp vai trò cho người này."
    )
    card = person_card(page, VOLUNTEER)
    expect(page.locator("#add-person-box")).not_to_have_attribute("open", "")
    expect(card.locator(".person-name")).to_have_text(VOLUNTEER_NAME)
    expect(card.locator("details")).to_have_attribute("open", "")
    expect(card.locator(".grants")).to_have_text("Chưa có vai trò.")

    # A ward leader needs a ward; a volunteer of ward An Xuân it is.
    card.locator(".grant-role").select_option("volunteer")
    card.locator(".grant-ward").select_option(label="An Xuân (W03)")
    card.locator("button.give-role").click()
    expect(page.locator("#toast")).to_have_text("Đã cấp vai trò Tình nguyện viên.")
    card = person_card(page, VOLUNTEER)
    expect(card.locator(".grant-label")).to_have_text(["Tình nguyện viên · Tam Kỳ · An Xuân"])
    expect(card.locator(".badge.role")).to_have_text(["Tình nguyện viên · Tam Kỳ · An Xuân"])

    # A QR code that enrols one phone: our SVG as an image, and its link.
    card.locator(".device-name").fill(PHONE_NAME)
    card.locator("button.make-qr").click()
    qr = card.locator("img.qr")
    expect(qr).to_be_visible()
    expect(qr).to_have_attribute("src", re.compile(r"^data:image/svg\+xml;base64,"))
    expect(qr).to_have_attribute("alt", f"Mã QR đăng nhập điện thoại cho {VOLUNTEER_NAME}")
    assert qr.evaluate("image => image.complete && image.naturalWidth > 100")
    link = card.locator("a.enrol-link")
    url = link.get_attribute("href")
    assert url is not None and url.startswith(f"{live_server}/collect/#enrol=")
    expect(link).to_have_text(url)
    # Until when, as Vietnamese writes a time (static/pages/dates.js): 07/12/2026 10:05.
    expect(card.locator(".enrolment .hint")).to_contain_text(
        re.compile(r"Chỉ dùng được một lần, đến \d\d/\d\d/\d{4} \d\d:\d\d\.")
    )
    # Making a code cancels the person's earlier ones not yet used: the admin is told.
    expect(card.locator(".enrolment .hint")).to_contain_text(
        "Các mã trước đây của người này chưa dùng thì không còn dùng được nữa."
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.keyboard.press("Escape")  # the toast
    expect(page.locator("#toast")).to_be_hidden()
    page.locator("#people-title").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "admin-page.png"))

    # The volunteer's phone opens the link: signed in as them.
    phone = phone_context.new_page()
    phone.goto(url)
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    expect(phone.locator("#signed-in-as")).to_have_text(f"Đã đăng nhập: {VOLUNTEER_NAME}")

    # The admin sees the phone, and revokes it.
    card.locator("button.refresh-phones").click()
    device = card.locator("li.device")
    expect(device.locator(".device-name")).to_have_text(PHONE_NAME)
    expect(device).to_have_attribute("data-status", "active")
    device.locator("button.revoke").click()
    confirm = page.locator("dialog#confirm")
    expect(confirm.locator("#confirm-text")).to_have_text(
        f"Thu hồi điện thoại “{PHONE_NAME}”? Điện thoại sẽ phải đăng nhập lại; phiếu chưa gửi "
        "vẫn còn trên máy."
    )
    confirm.locator("#confirm-yes").click()
    expect(page.locator("#toast")).to_have_text(f"Đã thu hồi điện thoại “{PHONE_NAME}”.")
    card = person_card(page, VOLUNTEER)
    expect(card.locator("li.device")).to_have_attribute("data-status", "revoked")
    expect(card.locator("button.revoke")).to_have_count(0)
    with sync_engine.connect() as connection:
        revoked = connection.execute(
            text(
                "SELECT t.revoked_at IS NOT NULL FROM auth_tokens t JOIN users u ON u.id = "
                "t.user_id WHERE u.username = :u AND t.kind = 'device'"
            ),
            {"u": VOLUNTEER},
        ).scalar_one()
    assert revoked

    # Publish the city's settlement-level maps.
    city = page.locator('li.city[data-slug="tam-ky"]')
    city.locator("input.publish").check()
    expect(city.locator(".publish-status")).to_have_text("Đã công bố Tam Kỳ.")
    with sync_engine.connect() as connection:
        published = connection.execute(
            text("SELECT public_aggregates FROM cities WHERE slug = 'tam-ky'")
        ).scalar_one()
    assert published is True

    # The sample city's own files again, through the page: nothing moves.
    page.set_input_files("#wards-file", str(SAMPLE / "wards.geojson"))
    page.set_input_files("#settlements-file", str(SAMPLE / "settlements.geojson"))
    page.locator("#import-button").click()
    expect(page.locator("#import-result .result-heading").first).to_have_text(
        "Đã nhập Tam Kỳ: 10 phường/xã, 40 khu dân cư; 0 hộ đã khảo sát được xếp lại."
    )
    assert page.console_errors == []  # type: ignore[attr-defined]
    assert dialogs == []


def bad_and_good_files(directory: Path) -> tuple[Path, Path]:
    """The sample wards moved half a degree south (a new city may not lie on the sample
    city's wards) as a zipped Shapefile in UTM 49N, and settlements with a bow tie."""
    directory.mkdir(parents=True, exist_ok=True)
    wards = gpd.read_file(SAMPLE / "wards.geojson")
    wards.geometry = wards.geometry.translate(yoff=-0.5)
    wards = wards.to_crs("EPSG:32649")
    wards.to_file(directory / "phuong.shp", engine="pyogrio")
    archive = directory / "Ranh giới phường.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for part in directory.glob("phuong.*"):
            bundle.write(part, part.name)
    bow_tie = Polygon([(108.45, 15.05), (108.46, 15.06), (108.46, 15.05), (108.45, 15.06)])
    settlements = gpd.GeoDataFrame(
        [{"code": "S1", "name": hostile.HTML_ATTRIBUTE}], geometry=[bow_tie], crs="EPSG:4326"
    )
    bad = directory / "khu dân cư.geojson"
    settlements.to_file(bad, engine="pyogrio", driver="GeoJSON")
    return archive, bad


@pytest.fixture
def new_city(sync_engine: Engine) -> Iterator[str]:
    yield NEW_CITY
    with sync_engine.begin() as connection:
        connection.execute(text("DELETE FROM cities WHERE slug = :slug"), {"slug": NEW_CITY})


CDF_STAFF = "can-bo-quy-trang-quan-tri"
CDF_STAFF_NAME = hostile.HTML_ATTRIBUTE + " {{ 7*7 }}"


def test_a_city_admin_gives_and_takes_back_the_cdf_staff_role(
    desktop: Page, sync_engine: Engine, city_admin: str
) -> None:
    """CDF staff is a city role like the others: offered in words, no ward asked, given,
    shown on the person's card, taken back; the person's hostile name stays text."""
    # A planner already (a city admin lists the people of their cities).
    person = make_user(sync_engine, CDF_STAFF, [("planner", ("city", "tam-ky"))])
    with sync_engine.begin() as connection:
        connection.execute(
            text("UPDATE users SET display_name = :name WHERE id = :id"),
            {"name": CDF_STAFF_NAME, "id": person},
        )
    page = desktop
    dialogs = watch_dialogs(page)
    page.set_viewport_size(TABLET)
    sign_in(page, city_admin)
    card = person_card(page, CDF_STAFF)
    expect(card.locator(".person-name")).to_have_text(CDF_STAFF_NAME)
    card.locator("summary").first.click()
    role = card.locator(".grant-role")
    expect(role.locator("option[value=cdf_staff]")).to_have_text("Cán bộ quỹ CDF")
    role.select_option("cdf_staff")
    expect(card.locator(".grant-ward")).to_be_hidden()  # a city role: no ward to choose
    card.locator("button.give-role").click()
    expect(page.locator("#toast")).to_have_text("Đã cấp vai trò Cán bộ quỹ CDF.")
    card = person_card(page, CDF_STAFF)
    expect(card.locator(".grant-label")).to_have_text(
        ["Cán bộ quy hoạch · Tam Kỳ", "Cán bộ quỹ CDF · Tam Kỳ"]
    )
    with sync_engine.connect() as connection:
        held = connection.execute(
            text(
                "SELECT g.role, c.slug, g.ward_id FROM role_grants g JOIN cities c "
                "ON c.id = g.city_id WHERE g.user_id = :id ORDER BY g.id"
            ),
            {"id": person},
        ).all()
    assert [tuple(row) for row in held] == [
        ("planner", "tam-ky", None),
        ("cdf_staff", "tam-ky", None),
    ]
    card.locator("li.grant", has_text="Cán bộ quỹ CDF").locator("button.remove-role").click()
    expect(page.locator("#toast")).to_have_text("Đã bỏ vai trò Cán bộ quỹ CDF · Tam Kỳ.")
    card = person_card(page, CDF_STAFF)
    expect(card.locator(".grant-label")).to_have_text(["Cán bộ quy hoạch · Tam Kỳ"])
    assert dialogs == []


def test_a_city_admin_sets_the_citys_weights_and_goes_back_to_the_common_ones(
    desktop: Page, sync_engine: Engine, city_admin: str
) -> None:
    """The weights of the priority score, per city: the common ones shown first, a bad weight
    refused in Vietnamese with nothing stored, the city's own saved (its indicators follow),
    then the common ones again."""
    common = read_weights(REPO_ROOT / "forms" / "priorities.yaml")
    page = desktop
    dialogs = watch_dialogs(page)
    page.set_viewport_size(TABLET)
    sign_in(page, city_admin)
    city = page.locator("li.city[data-slug=tam-ky]")
    city.locator("details.weights summary").click()
    expect(city.locator(".weights-source")).to_have_text(
        "Thành phố đang dùng trọng số chung của hệ thống."
    )
    water = city.locator("input[name=no_piped_water]")
    expect(water).to_have_value(f"{common['no_piped_water']:g}")
    expect(page.get_by_label("Không có nước máy")).to_have_count(1)

    water.fill("-1")
    city.locator("form.weights-form button[type=submit]").click()
    status = city.locator(".weights-status")
    expect(status).to_have_text("Trọng số của no_piped_water phải là một số từ 0 đến 1000.")
    assert _stored_weights(sync_engine) is None

    water.fill("7.5")
    city.locator("input[name=insecure_tenure]").fill("0")
    city.locator("form.weights-form button[type=submit]").click()
    expect(status).to_have_text("Đã lưu trọng số của Tam Kỳ: điểm và bản đồ dùng chúng từ bây giờ.")
    expect(city.locator(".weights-source")).to_have_text("Thành phố đang dùng trọng số riêng.")
    own = {**common, "no_piped_water": 7.5, "insecure_tenure": 0.0}
    assert _stored_weights(sync_engine) == own
    report = page.request.get("/api/v1/cities/tam-ky/indicators").json()
    assert report["weights"] == "city"
    assert {d["key"]: d["weight"] for d in report["indicators"]} == own

    city.locator("button.weights-common").click()
    expect(status).to_have_text("Tam Kỳ dùng lại trọng số chung.")
    expect(water).to_have_value(f"{common['no_piped_water']:g}")
    expect(city.locator("input[name=insecure_tenure]")).to_have_value(
        f"{common['insecure_tenure']:g}"
    )
    assert _stored_weights(sync_engine) is None
    assert dialogs == []


def _stored_weights(engine: Engine) -> Any:
    with engine.connect() as connection:
        return connection.execute(
            text("SELECT priority_weights FROM cities WHERE slug = 'tam-ky'")
        ).scalar()


def test_a_national_admin_adds_a_city_after_a_refused_upload(
    signed_in_desktop: Page, tmp_path: Path, new_city: str, sync_engine: Engine
) -> None:
    page = signed_in_desktop
    dialogs = watch_dialogs(page)
    wards, bad_settlements = bad_and_good_files(tmp_path)
    page.goto("/admin?lang=en")
    expect(page.locator("h1")).to_have_text("Administration")
    page.locator("#boundary-city").select_option("")
    expect(page.locator("#new-city-fields")).to_be_visible()
    page.fill("#new-city-slug", new_city)
    page.fill("#new-city-name", "Thị xã Thử")
    page.locator("#import-button").click()
    expect(page.locator("#import-result")).to_have_text("Choose the ward boundaries file.")

    page.set_input_files("#wards-file", str(wards))
    page.set_input_files("#settlements-file", str(bad_settlements))
    page.locator("#import-button").click()
    result = page.locator("#import-result")
    expect(result.locator(".result-heading")).to_have_text(
        "Nothing was imported: fix these problems and try again."
    )
    expect(result.locator("li")).to_have_text(
        [
            "khu dân cư.geojson, row 1 (code S1): a settlement must be one polygon; this one has "
            "2 parts."
        ]
    )
    with sync_engine.connect() as connection:
        assert (
            connection.execute(
                text("SELECT count(*) FROM cities WHERE slug = :slug"), {"slug": new_city}
            ).scalar_one()
            == 0
        )

    page.set_input_files("#settlements-file", [])
    page.locator("#import-button").click()
    expect(result.locator(".result-heading").first).to_have_text(
        "Thị xã Thử imported: 10 wards, 0 settlements; 0 surveyed households placed again."
    )
    expect(result.locator("li").first).to_have_text("Ward file: EPSG:32649 (WGS 84 / UTM zone 49N)")
    expect(page.locator("#boundary-city")).to_have_value(new_city)
    with sync_engine.connect() as connection:
        wards_stored = connection.execute(
            text(
                "SELECT count(*) FROM wards w JOIN cities c ON c.id = w.city_id "
                "WHERE c.slug = :slug"
            ),
            {"slug": new_city},
        ).scalar_one()
    assert wards_stored == 10

    # The same wards where the sample city's are: refused, each naming the ward it lies on.
    page.set_input_files("#wards-file", str(SAMPLE / "wards.geojson"))
    page.locator("#import-button").click()
    expect(result.locator(".result-heading")).to_have_text(
        "Nothing was imported: fix these problems and try again."
    )
    expect(result.locator("li")).to_have_count(10)
    expect(result.locator("li").first).to_contain_text(
        "wards.geojson, row 1 (code W01): ward 'An Mỹ' overlaps ward 'An Mỹ' (code W01) of "
        "Tam Kỳ (tam-ky) by about "
    )
    unexpected = [
        error
        for error in page.console_errors  # type: ignore[attr-defined]
        if not error.startswith("Failed to load resource")  # the refused uploads' 422
    ]
    assert unexpected == []
    assert dialogs == []
