"""The phone settles a survey as the server does, through its real screens (real Chromium, real
server): what a volunteer types is sent and accepted, never dropped because a first pass saw
its question as hidden (tests/forms/parity_phone_*.md, whose verdicts are in cases.yaml)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import Engine, text

from app.settings import REPO_ROOT
from tests.browser.conftest import (
    PhoneAccount,
    server_with_forms,
    signed_in_phone,
)
from tests.browser.test_collect import open_app

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_surveys")]
expect.set_options(timeout=10_000)

CORPUS = REPO_ROOT / "tests" / "forms"
FORMS = (
    "parity_phone_later",
    "parity_phone_repeat",
    "parity_phone_steps",
    "parity_phone_repeat_defaults",
    "parity_phone_choice_language",
    "parity_phone_format_date",
    "parity_phone_once",
    "parity_phone_choice_name_repeat",
    "parity_repeat_count_instances",
)


@pytest.fixture(scope="module")
def parity_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app under uvicorn with the parity forms of the corpus."""
    forms_dir = tmp_path_factory.mktemp("parity-forms") / "forms"
    forms_dir.mkdir()
    for name in FORMS:
        shutil.copy(CORPUS / f"{name}.md", forms_dir / f"{name}.md")
    with server_with_forms(database_url, forms_dir) as base:
        yield base


@pytest.fixture
def parity_phone(
    browser: Browser, parity_server: str, volunteer: PhoneAccount
) -> Iterator[tuple[BrowserContext, Page]]:
    with signed_in_phone(
        browser, parity_server, volunteer, timezone_id="Asia/Ho_Chi_Minh"
    ) as phone:
        yield phone


def stored(engine: Engine, form_id: str) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT answers FROM household_surveys WHERE form_id = :f"), {"f": form_id}
        )
        return [row[0] for row in rows]


def answer(page: Page, key: str, value: str) -> None:
    page.locator(f'section.question[data-key="{key}"]').locator("input, textarea").fill(value)


def send(page: Page) -> None:
    """Finish the survey on screen and send the outbox."""
    page.click("#finish")
    expect(page.locator("#app")).to_have_attribute("data-view", "home")
    page.click("#outbox-button")
    expect(page.locator('.outbox-item[data-status="sent"]')).to_have_count(1)


def test_an_answer_shown_by_a_calculation_after_it_is_kept_and_sent(
    parity_phone: tuple[BrowserContext, Page], sync_engine: Engine
) -> None:
    """c applies when `later` (n + 1, placed after it) is over 10: a first pass, before
    `later` is computed, saw c hidden and blanked it for good, so the phone said "required"
    for ever under the answer typed, and the group g lost its default."""
    _context, page = parity_phone
    open_app(page)
    page.click("#new-parity_phone_later")
    expect(page.locator("#app")).to_have_attribute("data-view", "survey")
    answer(page, "n", "10")
    expect(page.locator('section.question[data-key="c"]')).to_be_visible()
    answer(page, "c", "ok")
    answer(page, "c2", "ok too")
    expect(page.locator(".error:not([hidden])")).to_have_count(0)
    page.click("#next")  # the group g applies now, with d's default
    expect(page.locator('section.question[data-key="d"] input')).to_have_value("x")
    send(page)
    assert stored(sync_engine, "parity_phone_later") == [
        {"n": 10, "c": "ok", "twice": "22", "c2": "ok too", "d": "x", "later": "11"}
    ]
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_a_repeats_relevance_is_read_in_each_instance_on_screen(
    parity_phone: tuple[BrowserContext, Page], sync_engine: Engine
) -> None:
    """r2 applies while count(../r2) < 3: read once on an empty third instance and applied to
    all, it hid the roster once its second helper was added and dropped both names. Each
    instance is read in its place; "add" is offered only where one more would apply."""
    _context, page = parity_phone
    open_app(page)
    page.click("#new-parity_phone_repeat")
    expect(page.locator("#app")).to_have_attribute("data-view", "survey")
    visits = page.locator('section.repeat[data-key="r"]')
    visits.locator("button.add-instance").click()
    answer(page, "r[1]/s", "Nhà văn hoá")
    expect(visits.locator("button.add-instance")).to_be_hidden()  # a second r would not apply
    page.click("#next")
    helpers = page.locator('section.repeat[data-key="r2"]')
    for index, name in enumerate(["Lan", "Bảo"], start=1):
        helpers.locator("button.add-instance").click()
        answer(page, f"r2[{index}]/s2", name)
    expect(helpers.locator("section.repeat-instance:visible")).to_have_count(2)
    expect(helpers.locator("button.add-instance")).to_be_hidden()  # a third would not apply
    send(page)
    assert stored(sync_engine, "parity_phone_repeat") == [
        {"r": [{"s": "Nhà văn hoá"}], "r2": [{"s2": "Lan"}, {"s2": "Bảo"}]}
    ]
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_the_step_and_the_buttons_follow_an_answer_that_brings_a_later_screen(
    parity_phone: tuple[BrowserContext, Page], sync_engine: Engine
) -> None:
    """The business screen applies once the household says it runs one: the step ("Phần 1/2")
    and Next in place of Finish follow the answer at once, not only the next screen shown
    (the volunteer saw "1/1" and Finish, and Finish then asked for the business)."""
    _context, page = parity_phone
    open_app(page)
    page.click("#new-parity_phone_steps")
    expect(page.locator("#app")).to_have_attribute("data-view", "survey")
    step = page.locator("#step")
    expect(step).to_have_text("Phần 1/1")
    expect(page.locator("#finish")).to_be_visible()
    page.check('input[name="has_business"][value="yes"]')
    expect(step).to_have_text("Phần 1/2")
    expect(page.locator("#next")).to_be_visible()
    expect(page.locator("#finish")).to_have_count(0)
    page.check('input[name="has_business"][value="no"]')
    expect(step).to_have_text("Phần 1/1")
    expect(page.locator("#finish")).to_be_visible()
    expect(page.locator("#next")).to_have_count(0)
    page.check('input[name="has_business"][value="yes"]')
    page.click("#next")
    expect(step).to_have_text("Phần 2/2")
    expect(page.locator("#back")).to_be_enabled()
    answer(page, "business_kind", "bán tạp hoá")
    send(page)
    assert stored(sync_engine, "parity_phone_steps") == [
        {"has_business": "yes", "business_kind": "bán tạp hoá"}
    ]
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_a_member_added_on_the_phone_takes_the_forms_defaults(
    parity_phone: tuple[BrowserContext, Page], sync_engine: Engine
) -> None:
    """Each member added gets the defaults of the form (age 30, lives here, the village typed
    above, and the school once a child's age makes it apply), as the server fills them for a
    member sent without them: nothing is asked twice, nothing is flagged as missing."""
    _context, page = parity_phone
    open_app(page)
    page.click("#new-parity_phone_repeat_defaults")
    expect(page.locator("#app")).to_have_attribute("data-view", "survey")
    answer(page, "village", "Thôn 5")
    page.click("#next")
    roster = page.locator('section.repeat[data-key="member"]')
    for index, name in enumerate(["Lan", "Bảo"], start=1):
        roster.locator("button.add-instance").click()
        member = f"member[{index}]"
        answer(page, f"{member}/member_name", name)
        expect(page.locator(f'section.question[data-key="{member}/age"] input')).to_have_value("30")
        expect(page.locator(f'input[name="{member}/lives_here"][value="yes"]')).to_be_checked()
        expect(
            page.locator(f'section.question[data-key="{member}/member_village"] input')
        ).to_have_value("Thôn 5")
    answer(page, "member[2]/age", "9")
    school = page.locator('section.question[data-key="member[2]/school"]')
    expect(school).to_be_visible()
    expect(school.locator("input")).to_have_value("Trường làng")
    expect(page.locator(".error:not([hidden])")).to_have_count(0)
    # Cleared by the volunteer while shown, it stays empty through the next answers.
    answer(page, "member[2]/school", "")
    answer(page, "member[2]/member_name", "Bảo An")
    expect(school.locator("input")).to_have_value("")
    answer(page, "member[2]/school", "Trường xã")
    send(page)
    member = {"lives_here": "yes", "member_village": "Thôn 5"}
    assert stored(sync_engine, "parity_phone_repeat_defaults") == [
        {
            "village": "Thôn 5",
            "member": [
                {"member_name": "Lan", "age": 30, **member},
                {"member_name": "Bảo An", "age": 9, **member, "school": "Trường xã"},
            ],
        }
    ]
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_removing_a_member_leaves_the_others_cleared_answers_cleared(
    parity_phone: tuple[BrowserContext, Page],
) -> None:
    """A default the volunteer cleared while it was shown stays cleared when another member is
    removed: in the members before it, and in those after it, which move up a place (the phone
    gave every member's defaults back: all of them were taken for questions just shown)."""
    _context, page = parity_phone
    open_app(page)
    page.click("#new-parity_phone_repeat_defaults")
    expect(page.locator("#app")).to_have_attribute("data-view", "survey")
    answer(page, "village", "Thôn 5")
    page.click("#next")
    roster = page.locator('section.repeat[data-key="member"]')
    for index, name in enumerate(["Lan", "Bảo", "Cúc"], start=1):
        roster.locator("button.add-instance").click()
        answer(page, f"member[{index}]/member_name", name)
    for index in (1, 3):
        village = page.locator(f'section.question[data-key="member[{index}]/member_village"] input')
        expect(village).to_have_value("Thôn 5")
        answer(page, f"member[{index}]/member_village", "")  # cleared while shown
    page.locator('section.repeat-instance[data-key="member[2]"] button.remove-instance').click()
    page.click("#confirm-ok")
    expect(page.locator('section.repeat-instance[data-key="member[3]"]')).to_have_count(0)
    moved = page.locator('section.question[data-key="member[2]/member_name"] input')
    expect(moved).to_have_value("Cúc")
    for index in (1, 2):
        village = page.locator(f'section.question[data-key="member[{index}]/member_village"] input')
        expect(village).to_have_value("")


def test_choice_names_read_the_forms_language_while_the_screen_shows_english(
    parity_phone: tuple[BrowserContext, Page], sync_engine: Engine
) -> None:
    """The app in English: the roof's choices read "Tin" and "Tile" on screen, and
    jr:choice-name() reads the form's default language (vi) as the server does, so "Tôn" is
    refused on the phone. The phone read "Tin", let it through, and the server refused the
    survey, which stayed in the outbox for ever."""
    _context, page = parity_phone
    open_app(page)
    page.click("#lang-toggle")
    expect(page.locator("#lang-toggle")).to_have_text("Tiếng Việt")  # the app is in English
    page.click("#new-parity_phone_choice_language")
    expect(page.locator("#app")).to_have_attribute("data-view", "survey")
    roof = page.locator('section.question[data-key="roof"]')
    expect(roof).to_contain_text("Tin")
    expect(roof).to_contain_text("Tile")
    page.check('input[name="roof"][value="tin"]')
    page.click("#finish")
    expect(page.locator('.error[data-for="roof"]')).to_be_visible()
    expect(page.locator("#app")).to_have_attribute("data-view", "survey")
    page.check('input[name="roof"][value="tile"]')
    answer(page, "roof_again", "Ngói")
    page.check('input[name="wall"][value="tile"]')
    expect(page.locator(".error[data-for]:not([hidden])")).to_have_count(0)
    send(page)
    assert stored(sync_engine, "parity_phone_choice_language") == [
        {"roof": "tile", "roof_label": "Ngói", "roof_again": "Ngói", "wall": "tile"}
    ]
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_format_date_writes_english_names_on_a_vietnamese_phone(
    parity_phone: tuple[BrowserContext, Page], sync_engine: Engine
) -> None:
    """On a vi-VN phone format-date(., '%a') of a Sunday was "CN", so "not on a Sunday"
    passed on the phone and the server (English: "Sun") refused the survey once sent."""
    _context, page = parity_phone
    open_app(page)
    page.click("#new-parity_phone_format_date")
    expect(page.locator("#app")).to_have_attribute("data-view", "survey")
    answer(page, "visit_day", "2026-12-06")  # a Sunday
    page.click("#finish")
    expect(page.locator('.error[data-for="visit_day"]')).to_be_visible()
    answer(page, "visit_day", "2026-12-07")
    answer(page, "paid_on", "2026-09-15")
    answer(page, "stamp", "2026-12-07")
    expect(page.locator(".error[data-for]:not([hidden])")).to_have_count(0)
    send(page)
    assert stored(sync_engine, "parity_phone_format_date") == [
        {"visit_day": "2026-12-07", "paid_on": "2026-09-15", "stamp": "2026-12-07"}
    ]
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_once_keeps_its_first_draw_while_the_volunteer_types(
    parity_phone: tuple[BrowserContext, Page], sync_engine: Engine
) -> None:
    """r = once(random()) decides whether `treat` is asked. Every answer typed drew r again on
    the phone: treat came and went, and its answer was dropped when it went (4 rounds in 10).
    As in ODK Collect the first draw holds, and it is the one sent."""
    _context, page = parity_phone
    open_app(page)
    page.click("#new-parity_phone_once")
    expect(page.locator("#app")).to_have_attribute("data-view", "survey")
    treat = page.locator('section.question[data-key="treat"]')
    shown = treat.is_visible()
    if shown:
        answer(page, "treat", "có")
    for round_ in range(10):
        answer(page, "other", f"ghi chú {round_}")
        if shown:
            expect(treat).to_be_visible()
            expect(treat.locator("input, textarea")).to_have_value("có")
        else:
            expect(treat).to_be_hidden()
    send(page)
    [answers] = stored(sync_engine, "parity_phone_once")
    assert (float(answers["r"]) < 0.5) == shown
    assert answers.get("treat") == ("có" if shown else None)
    assert answers["other"] == "ghi chú 9"
    assert float(answers["twice_r"]) == float(answers["r"]) * 2
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_a_district_picked_in_a_roster_is_named_and_asks_its_follow_up(
    parity_phone: tuple[BrowserContext, Page], sync_engine: Engine
) -> None:
    """jr:choice-name(${dist}, '${dist}') in a repeat: pyxform writes the path relative to
    the calculate (' ../dist '), which the phone looked up as it was and named nothing, so
    `why` stayed hidden and its label blank; the server named "Tam Kỳ", required `why` and
    refused the survey (422) for ever. The path is read from the calculate, on both sides."""
    _context, page = parity_phone
    open_app(page)
    page.click("#new-parity_phone_choice_name_repeat")
    expect(page.locator("#app")).to_have_attribute("data-view", "survey")
    page.locator('section.repeat[data-key="m"] button.add-instance').click()
    why = page.locator('section.question[data-key="m[1]/why"]')
    expect(why).to_be_hidden()
    page.check('input[name="m[1]/dist"][value="tk"]')
    expect(why).to_be_visible()
    expect(why).to_contain_text("Why Tam Kỳ?")
    answer(page, "m[1]/why", "gần nhà")
    # The work district, in a group of the roster: read from the group (../wdist) and from
    # the roster around it (../g/wdist).
    page.check('input[name="m[1]/wdist"][value="ha"]')
    wwhy = page.locator('section.question[data-key="m[1]/wwhy"]')
    expect(wwhy).to_contain_text("Work in Hội An: why?")
    answer(page, "m[1]/wwhy", "chợ")
    gwhy = page.locator('section.question[data-key="m[1]/gwhy"]')
    expect(gwhy).to_contain_text("Why work in Hội An?")
    answer(page, "m[1]/gwhy", "gần")
    expect(page.locator(".error[data-for]:not([hidden])")).to_have_count(0)
    send(page)
    assert stored(sync_engine, "parity_phone_choice_name_repeat") == [
        {
            "m": [
                {
                    "dist": "tk",
                    "dname": "Tam Kỳ",
                    "why": "gần nhà",
                    "wdist": "ha",
                    "wname": "Hội An",
                    "wwhy": "chợ",
                    "gname": "Hội An",
                    "gwhy": "gần",
                }
            ]
        }
    ]
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_a_repeat_count_makes_its_instances_on_screen_and_the_server_counts_them(
    parity_phone: tuple[BrowserContext, Page], sync_engine: Engine
) -> None:
    """n = 3 makes three instances on the phone, of which one is answered; count(${r}) is 3 on
    the phone and on the server, which holds the survey as the phone made it."""
    _context, page = parity_phone
    open_app(page)
    page.click("#new-parity_repeat_count_instances")
    expect(page.locator("#app")).to_have_attribute("data-view", "survey")
    answer(page, "n", "3")
    page.click("#next")
    instances = page.locator('section.repeat[data-key="r"] section.repeat-instance')
    expect(instances).to_have_count(3)
    answer(page, "r[1]/x", "a")
    page.click("#next")
    answer(page, "check", "2")
    page.click("#finish")
    expect(page.locator('.error[data-for="check"]')).to_be_visible()
    answer(page, "check", "3")
    expect(page.locator(".error[data-for]:not([hidden])")).to_have_count(0)
    send(page)
    assert stored(sync_engine, "parity_repeat_count_instances") == [
        {"n": 3, "r": [{"x": "a"}, {}, {}], "check": 3}
    ]
    assert page.console_errors == []  # type: ignore[attr-defined]
