"""The phone's form engine at 360 x 640 (real Chromium, real server, no mocks): a household
roster of 3 members (one added too many, removed after a confirmation), a cascading select, a
group that appears and disappears, ${name} outputs and markdown in labels with hostile text
shown as text, Android's Back between screens; all offline, then sent exactly once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import Engine, text

from tests.browser.conftest import (
    TAM_KY,
    PhoneAccount,
    server_with_forms,
    signed_in_phone,
)
from tests.browser.test_collect import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_surveys")]
expect.set_options(timeout=10_000)

FORM_ID = "roster_phone"
HOSTILE = "<img src=x onerror=alert(1)> {{7*7}}"
COLUMNS = [
    "type", "name", "label::Tiếng Việt (vi)", "label::English (en)", "required", "relevant",
    "constraint", "calculate", "choice_filter", "hint::Tiếng Việt (vi)", "hint::English (en)",
]  # fmt: skip


def row(kind: str, name: str = "", vi: str = "", en: str = "", **columns: str) -> list[str]:
    """A survey row: type, name, labels, then columns by name (hint_vi, hint_en...)."""
    named = {"hint::Tiếng Việt (vi)": columns.pop("hint_vi", ""),
             "hint::English (en)": columns.pop("hint_en", "")} | columns  # fmt: skip
    return [kind, name, vi, en] + [named.get(column, "") for column in COLUMNS[4:]]


SURVEY = [
    COLUMNS,
    row("geopoint", "location", "Vị trí", "Location", required="yes"),
    row("text", "head_name", "Tên chủ hộ", "Head of household", required="yes"),
    row(
        "select_one yes_no",
        "has_business",
        "Hộ có **kinh doanh**?",
        "Does the household run a *business*?",
        required="yes",
    ),
    row("begin_group", "business", "Kinh doanh", "Business", relevant="${has_business} = 'yes'"),
    row(
        "text",
        "business_kind",
        "Việc kinh doanh của ${head_name}",
        "Business of ${head_name}",
        required="yes",
        hint_vi="# Ví dụ\nbán hàng, _sửa xe_",
        hint_en="# Examples\nshop, _repairs_",
    ),
    row("end_group"),
    row("select_one province", "province", "Tỉnh", "Province", required="yes"),
    row(
        "select_one district",
        "district",
        "Huyện",
        "District",
        required="yes",
        choice_filter="province = ${province}",
    ),
    row("begin_repeat", "member", "Thành viên", "Member"),
    row("text", "member_name", "Tên", "Name", required="yes"),
    row(
        "integer",
        "age",
        "Tuổi của ${member_name}",
        "Age of ${member_name}",
        required="yes",
        constraint=". >= 0 and . < 120",
    ),
    row("select_one sex", "sex", "Giới tính", "Sex", required="yes"),
    row(
        "select_one yes_no",
        "disability",
        "Khuyết tật?",
        "Disability?",
        required="yes",
        relevant="${age} >= 5",
    ),
    row("end_repeat"),
    row("calculate", "member_total", calculate="count(${member})"),
    row("note", "summary", "Có **${member_total}** người", "**${member_total}** people"),
]
CHOICES = [
    ["list_name", "name", "label::Tiếng Việt (vi)", "label::English (en)", "province"],
    ["yes_no", "yes", "Có", "Yes", ""],
    ["yes_no", "no", "Không", "No", ""],
    ["sex", "female", "Nữ", "Female", ""],
    ["sex", "male", HOSTILE, HOSTILE, ""],
    ["province", "dn", "Đà Nẵng", "Da Nang", ""],
    ["province", "qn", "Quảng Nam", "Quang Nam", ""],
    ["district", "hc", "Hải Châu", "Hai Chau", "dn"],
    ["district", "st", "Sơn Trà", "Son Tra", "dn"],
    ["district", "ha", "Hội An", "Hoi An", "qn"],
]


def write_form(path: Path) -> None:
    book = openpyxl.Workbook()
    survey = book.active
    assert survey is not None
    survey.title = "survey"
    for row in SURVEY:
        survey.append(row)
    choices = book.create_sheet("choices")
    for row in CHOICES:
        choices.append(row)
    settings = book.create_sheet("settings")
    settings.append(["form_title", "form_id", "version", "default_language"])
    settings.append(["Hộ và thành viên / Roster", FORM_ID, "2026120201", "Tiếng Việt (vi)"])
    book.save(path)


@pytest.fixture(scope="module")
def roster_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app under uvicorn with the roster form only."""
    forms = tmp_path_factory.mktemp("roster-forms") / "forms"
    forms.mkdir()
    write_form(forms / f"{FORM_ID}.xlsx")
    with server_with_forms(database_url, forms) as base:
        yield base


@pytest.fixture
def roster_phone(
    browser: Browser, roster_server: str, volunteer: PhoneAccount
) -> Iterator[tuple[BrowserContext, Page]]:
    with signed_in_phone(
        browser,
        roster_server,
        volunteer,
        device_scale_factor=2,
        timezone_id="Asia/Ho_Chi_Minh",
        geolocation=TAM_KY,
        permissions=["geolocation"],
    ) as phone:
        yield phone


def stored(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id::text, form_id, answers FROM household_surveys WHERE form_id = :f"),
            {"f": FORM_ID},
        )
        return [dict(row) for row in rows.mappings()]


def question(page: Page, key: str) -> Any:
    return page.locator(f'section.question[data-key="{key}"]')


def next_screen(page: Page) -> None:
    step = page.locator("#step").inner_text()
    page.click("#next")
    expect(page.locator("#step")).not_to_have_text(step)


def test_roster_cascade_and_a_group_that_comes_and_goes_offline_then_sent_once(
    roster_phone: tuple[BrowserContext, Page], sync_engine: Engine
) -> None:
    context, page = roster_phone
    page.goto("/collect")
    expect(page.locator("#app")).to_have_attribute("data-view", re.compile("home|settings"))
    if page.locator("#app").get_attribute("data-view") == "settings":
        page.fill("#collector", "tnv-07")
        page.click("#save-settings")
    expect(page.locator("#new-survey")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("data-offline-ready", "yes", timeout=15000)
    context.set_offline(True)

    page.click("#new-survey")
    expect(page.locator(".gps")).to_have_attribute("data-state", "fix")
    # Markdown in a label: bold as an element, never as HTML from the form.
    expect(question(page, "has_business").locator(".question-label strong")).to_have_text(
        "kinh doanh"
    )
    question(page, "head_name").locator("input").fill(HOSTILE)
    page.check('input[name="has_business"][value="no"]')
    next_screen(page)
    # The business group does not apply: the next screen is the province's.
    expect(question(page, "province")).to_be_visible()
    expect(page.locator('section.question[data-key="business_kind"]')).to_have_count(0)

    # Android's Back goes to the previous screen, not out of the app.
    page.go_back()
    expect(question(page, "head_name").locator("input")).to_have_value(HOSTILE)
    page.check('input[name="has_business"][value="yes"]')
    next_screen(page)
    screenshot(page, "group-markdown")
    label = question(page, "business_kind").locator(".question-label")
    expect(label).to_contain_text(f"Việc kinh doanh của {HOSTILE}")  # ${head_name}, as text
    expect(label.locator("img")).to_have_count(0)
    hint = question(page, "business_kind").locator(".hint")
    expect(hint.locator("h3")).to_have_text("Ví dụ")
    expect(hint.locator("em")).to_have_text("sửa xe")
    page.click("#next")  # required inside the group that applies now
    required = page.locator('.error[data-for="business_kind"]')
    expect(required).to_have_text("Bắt buộc trả lời câu này.")
    question(page, "business_kind").locator("input").fill("bán tạp hoá")
    page.go_back()
    page.check('input[name="has_business"][value="no"]')  # the group goes, its answer too
    next_screen(page)
    expect(question(page, "province")).to_be_visible()

    # A cascading select: the districts follow the province.
    district = question(page, "district")
    page.check('input[name="province"][value="dn"]')
    expect(district.locator("input[type=radio]")).to_have_count(2)
    page.check('input[name="district"][value="st"]')
    page.check('input[name="province"][value="qn"]')
    expect(district.locator("input[type=radio]")).to_have_count(1)
    expect(district.locator('input[value="ha"]')).to_be_visible()
    page.check('input[name="district"][value="ha"]')
    next_screen(page)

    # The roster: four added, one removed after a confirmation, three left.
    roster = page.locator('section.repeat[data-key="member"]')
    expect(roster.locator(".repeat-count")).to_have_text("(0)")
    members = [
        ("Nguyễn Văn An", "3", "male"),
        ("Trần Thị Bình", "40", "female"),
        ("Lê Văn Cường", "70", "male"),
        ("Bỏ đi", "1", "female"),
    ]
    for index, (name, age, sex) in enumerate(members, start=1):
        roster.locator("button.add-instance").click()
        prefix = f"member[{index}]"
        question(page, f"{prefix}/member_name").locator("input").fill(name)
        question(page, f"{prefix}/age").locator("input").fill(age)
        page.check(f'input[name="{prefix}/sex"][value="{sex}"]')
        expect(question(page, f"{prefix}/age").locator(".question-label")).to_have_text(
            re.compile(f"^Tuổi của {name}")
        )
    expect(roster.locator(".repeat-count")).to_have_text("(4)")
    # Radio groups of the instances stay apart; the hostile choice label is text.
    expect(page.locator('input[name="member[1]/sex"]:checked')).to_have_value("male")
    expect(page.locator('input[name="member[2]/sex"]:checked')).to_have_value("female")
    expect(question(page, "member[1]/sex")).to_contain_text(HOSTILE)
    expect(roster.locator("img")).to_have_count(0)
    # Disability applies from 5 years old.
    expect(question(page, "member[1]/disability")).to_be_hidden()
    expect(question(page, "member[2]/disability")).to_be_visible()
    page.check('input[name="member[2]/disability"][value="yes"]')
    page.check('input[name="member[3]/disability"][value="no"]')
    page.locator('section.repeat-instance[data-key="member[4]"] button.remove-instance').click()
    expect(page.locator("#confirm-dialog")).to_be_visible()
    page.click("#confirm-cancel")
    expect(roster.locator(".repeat-count")).to_have_text("(4)")
    page.locator('section.repeat-instance[data-key="member[4]"] button.remove-instance').click()
    page.click("#confirm-ok")
    expect(roster.locator(".repeat-count")).to_have_text("(3)")
    expect(page.locator("section.repeat-instance")).to_have_count(3)
    roster.locator('section.repeat-instance[data-key="member[2]"]').scroll_into_view_if_needed()
    screenshot(page, "roster")
    next_screen(page)
    expect(question(page, "summary").locator("strong")).to_have_text("3")  # a calculate's output

    page.click("#finish")
    expect(page.locator("#app")).to_have_attribute("data-view", "home")
    expect(page.locator('.survey-card[data-status="pending"]')).to_have_count(1)
    # The editor's screens left the history with it: Back on the home screen leaves the app.
    page.wait_for_function("!history.state || history.state.collect !== 'survey'")
    assert stored(sync_engine) == []

    context.set_offline(False)
    page.click("#outbox-button")
    page.click("#sync-now")
    expect(page.locator('.outbox-item[data-status="sent"]')).to_have_count(1)
    page.click("#sync-now")  # a second sync sends nothing again
    expect(page.locator("#sync-status")).to_have_attribute("data-state", "idle")
    (row,) = stored(sync_engine)
    answers = row["answers"]
    assert answers["head_name"] == HOSTILE
    assert answers["has_business"] == "no"
    assert "business_kind" not in answers  # the group that went took its answer along
    assert (answers["province"], answers["district"]) == ("qn", "ha")
    assert answers["member"] == [
        {"member_name": "Nguyễn Văn An", "age": 3, "sex": "male"},
        {"member_name": "Trần Thị Bình", "age": 40, "sex": "female", "disability": "yes"},
        {"member_name": "Lê Văn Cường", "age": 70, "sex": "male", "disability": "no"},
    ]
    assert str(answers["member_total"]) == "3"
    # What was sent, read on the phone: the roster member by member.
    page.locator('.outbox-item[data-status="sent"] button.view').click()
    rows = page.locator("#answers")
    expect(rows).to_contain_text("Thành viên 2")
    expect(rows).to_contain_text("Trần Thị Bình")
    expect(rows).to_contain_text(HOSTILE)
    expect(rows.locator("img")).to_have_count(0)
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_android_back_on_the_first_screen_leaves_the_survey_as_a_draft_not_the_app(
    roster_phone: tuple[BrowserContext, Page],
) -> None:
    _context, page = roster_phone
    page.goto("/collect")
    if page.locator("#app").get_attribute("data-view") == "settings":
        page.fill("#collector", "tnv-07")
        page.click("#save-settings")
    page.click("#new-survey")
    expect(page.locator("#app")).to_have_attribute("data-view", "survey")
    question(page, "head_name").locator("input").fill("Phạm Thị Dung")
    page.check('input[name="has_business"][value="no"]')
    next_screen(page)
    page.click("#back")  # the app's own Back and Android's agree on the history
    expect(question(page, "head_name").locator("input")).to_have_value("Phạm Thị Dung")
    page.go_back()
    expect(page.locator("#app")).to_have_attribute("data-view", "home")
    assert page.url.endswith("/collect")
    card = page.locator('.survey-card[data-status="draft"]')
    expect(card).to_have_count(1)
    card.locator("button.edit").click()
    expect(question(page, "head_name").locator("input")).to_have_value("Phạm Thị Dung")
    next_screen(page)
    page.click("#exit-survey")
    expect(page.locator("#app")).to_have_attribute("data-view", "home")
    # One Back on the home screen passes the screens of the survey left with Exit.
    page.go_back()
    page.wait_for_function("!history.state || history.state.collect !== 'survey'")
    expect(page.locator("#app")).to_have_attribute("data-view", "home")
    assert page.console_errors == []  # type: ignore[attr-defined]
