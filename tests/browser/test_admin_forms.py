"""The admin page's forms: the forms in use (title in the page's language, form id, version)
and, for each form file the server refused, why, each problem naming its sheet and rows, in
the page's language; a national admin on a phone, a city admin on a desktop. Names from the
forms (file names, titles, choice names in messages) stay text."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine

from app.settings import REPO_ROOT
from tests.browser.conftest import PHONE, record_console_errors, server_with_forms, sign_in_browser
from tests.browser.test_admin_page import watch_dialogs

pytestmark = [pytest.mark.browser]

HOSTILE = "{{7*7}}<img src=x onerror=alert(1)>"
GOOD_TITLE = f"Ghi chép chuyến thăm {HOSTILE}"
GOOD_FORM = f"""| survey |
| | type | name | label |
| | text | note | Ghi chú |
| settings |
| | form_id | version | title |
| | visit_note | 2026-05 | {GOOD_TITLE} |
"""
# Refused: a choice name that is not a safe name (the message quotes it as written).
HOSTILE_FORM = f"""| survey |
| | type | name | label |
| | select_one yn | answer | Trả lời |
| choices |
| | list_name | name | label |
| | yn | yes | Có |
| | yn | {HOSTILE} | Lạ |
| settings |
| | form_id | version |
| | hostile | 1 |
"""
HOSTILE_FILE = f"{HOSTILE}.md"
DUPLICATES = "refused_duplicate_names.md"


@pytest.fixture(scope="module")
def forms_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    forms_dir = tmp_path_factory.mktemp("admin-forms") / "forms"
    forms_dir.mkdir()
    (forms_dir / "visit_note.md").write_text(GOOD_FORM, encoding="utf-8")
    shutil.copy(REPO_ROOT / "tests" / "forms" / DUPLICATES, forms_dir / DUPLICATES)
    (forms_dir / HOSTILE_FILE).write_text(HOSTILE_FORM, encoding="utf-8")
    with server_with_forms(database_url, forms_dir) as base:
        yield base


def open_admin(
    browser: Browser, base: str, engine: Engine, viewport: dict[str, int], **sign_in: object
) -> Page:
    """A page of a browser that asks for Vietnamese, signed in (a national admin by default)."""
    context = browser.new_context(viewport=viewport, base_url=base, locale="vi-VN")
    sign_in_browser(context, engine, base, **sign_in)  # type: ignore[arg-type]
    page = context.new_page()
    record_console_errors(page)
    return page


def refused(page: Page, name: str) -> object:
    return page.locator("#form-problems li.form-file").filter(
        has=page.locator(".form-file-name", has_text=name)
    )


def test_a_national_admin_on_a_phone_reads_why_a_form_is_refused_in_vietnamese(
    browser: Browser, forms_server: str, sync_engine: Engine
) -> None:
    page = open_admin(browser, forms_server, sync_engine, PHONE)
    dialogs = watch_dialogs(page)
    page.goto("/admin")  # in the browser's language
    section = page.locator("section#forms-section")
    expect(section.locator("h2")).to_have_text("Biểu mẫu")
    expect(page.locator("#forms-status")).to_be_hidden()  # loaded
    good = section.locator("#forms li.form")
    expect(good).to_have_count(1)
    expect(good.locator(".form-title")).to_have_text(GOOD_TITLE)
    expect(good.locator(".form-id")).to_have_text("visit_note · phiên bản 2026-05")

    expect(section.locator("#form-problems li.form-file")).to_have_count(2)
    duplicates = refused(page, DUPLICATES)
    expect(duplicates.locator(".form-file-name")).to_have_text(DUPLICATES)
    expect(duplicates.locator(".form-problem")).to_have_text(
        [
            "trang tính survey, các hàng 3, 6, cột name: tên 'name' được dùng nhiều lần "
            "(câu trả lời được lưu theo tên câu hỏi)"
        ]
    )
    hostile = refused(page, HOSTILE_FILE)
    expect(hostile.locator(".form-file-name")).to_have_text(HOSTILE_FILE)
    expect(hostile.locator(".form-problem").first).to_contain_text(
        f"trang tính choices, hàng 3, cột name: danh sách 'yn': tên '{HOSTILE}' "
    )
    # Text, not markup: no image was made from any of it, nothing ran.
    assert section.locator("img").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert dialogs == []
    assert page.console_errors == []  # type: ignore[attr-defined]
    page.context.close()


def test_a_city_admin_on_a_desktop_reads_them_in_english(
    browser: Browser, forms_server: str, sync_engine: Engine
) -> None:
    page = open_admin(
        browser,
        forms_server,
        sync_engine,
        {"width": 1280, "height": 800},
        username="forms-city-admin",
        grants=(("city_admin", ("city", "tam-ky")),),
    )
    dialogs = watch_dialogs(page)
    page.goto("/admin?lang=en")
    section = page.locator("section#forms-section")
    expect(section.locator("h2")).to_have_text("Forms")
    good = section.locator("#forms li.form")
    expect(good.locator(".form-title")).to_have_text(GOOD_TITLE)
    expect(good.locator(".form-id")).to_have_text("visit_note · version 2026-05")
    expect(refused(page, DUPLICATES).locator(".form-problem")).to_have_text(
        [
            "survey sheet, rows 3, 6, column name: the name 'name' is used more than once "
            "(answers are keyed by name)"
        ]
    )
    expect(refused(page, HOSTILE_FILE).locator(".form-problem").first).to_contain_text(
        f"choices sheet, row 3, column name: list 'yn': the name '{HOSTILE}' "
    )
    assert section.locator("img").count() == 0
    assert dialogs == []
    assert page.console_errors == []  # type: ignore[attr-defined]
    page.context.close()
