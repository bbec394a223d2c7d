"""Map pages in real Chromium with a name that turns text right to left (U+202E RIGHT-TO-LEFT
OVERRIDE, right-to-left letters): only the name itself may be reordered, never the sentence
it is put in (the title box, the tab's <title>); and a map that does not exist leaves a way
back to the start page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, text

from app.text import isolated
from tests.auth import ward_id

pytestmark = pytest.mark.browser

OVERRIDE_NAME = "\u202eXóm Cồn Đảo ngược phường"
HEBREW_CITY = "עיר Tam Kỳ 2"
# The left edges of the characters of a text node, on screen (the title's first text node).
CHARACTER_LEFTS = """(selector) => {
  const node = document.querySelector(selector).firstChild;
  const range = document.createRange();
  return Array.from(node.data, (_, index) => {
    range.setStart(node, index);
    range.setEnd(node, index + 1);
    return range.getBoundingClientRect().left;
  });
}"""


@pytest.fixture
def renamed_ward(sync_engine: Engine) -> Iterator[int]:
    """Ward W03 of Tam Kỳ renamed to a name that overrides the text's direction."""
    ward = ward_id(sync_engine, "W03")
    with sync_engine.begin() as connection:
        original = connection.execute(
            text("SELECT name FROM wards WHERE id = :id"), {"id": ward}
        ).scalar_one()
        connection.execute(
            text("UPDATE wards SET name = :name WHERE id = :id"),
            {"name": OVERRIDE_NAME, "id": ward},
        )
    try:
        yield ward
    finally:
        with sync_engine.begin() as connection:
            connection.execute(
                text("UPDATE wards SET name = :name WHERE id = :id"),
                {"name": original, "id": ward},
            )


def assert_in_order(page: Page, selector: str, before: str, name: str, after: str) -> None:
    """`before`, the name and `after` are shown left to right, each of `before` and `after`
    in its own order (the name may be drawn in any order inside its place)."""
    shown = page.locator(selector).evaluate("(element) => element.firstChild.data")
    lefts = page.evaluate(CHARACTER_LEFTS, selector)
    start = shown.index(name)
    head, body, tail = lefts[: len(before)], lefts[start : start + len(name)], lefts[-len(after) :]
    visible = [left for character, left in zip(before, head, strict=True) if character != " "]
    assert visible == sorted(visible), f"{before!r} is drawn out of order"
    visible = [left for character, left in zip(after, tail, strict=True) if character != " "]
    assert visible == sorted(visible), f"{after!r} is drawn out of order: {tail}"
    # The name in an isolate (FSI ... PDI): its direction ends with it.
    assert shown == f"{before}{isolated(name)}{after}"
    assert max(head) < min(body) and max(body) < min(tail), (head, body, tail)


def test_a_ward_name_that_overrides_direction_reverses_only_itself(
    signed_in_desktop: Page, renamed_ward: int
) -> None:
    page = signed_in_desktop
    page.goto(f"/maps/wards/{renamed_ward}?lang=vi")
    expect(page.locator(".cdf-title-main")).to_be_visible()
    assert_in_order(
        page, ".cdf-title-main", "Bản đồ nâng cấp khu dân cư: ", OVERRIDE_NAME, ", Tam Kỳ"
    )
    # The tab's title: the same sentence, the name isolated in it.
    assert page.title() == f"Bản đồ nâng cấp khu dân cư: {isolated(OVERRIDE_NAME)}, Tam Kỳ"

    page.goto(f"/maps/wards/{renamed_ward}?lang=en")
    assert_in_order(
        page, ".cdf-title-main", "Settlement upgrading map: ", OVERRIDE_NAME, ", Tam Kỳ"
    )
    assert page.title() == f"Settlement upgrading map: {isolated(OVERRIDE_NAME)}, Tam Kỳ"
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_a_city_name_with_right_to_left_letters_is_isolated(
    signed_in_desktop: Page, sync_engine: Engine
) -> None:
    with sync_engine.begin() as connection:
        original = connection.execute(
            text("SELECT name FROM cities WHERE slug = 'tam-ky'")
        ).scalar_one()
        connection.execute(
            text("UPDATE cities SET name = :name WHERE slug = 'tam-ky'"), {"name": HEBREW_CITY}
        )
    try:
        page = signed_in_desktop
        page.goto("/maps/cities/tam-ky?lang=vi")
        expect(page.locator(".cdf-title-main")).to_have_text(
            f"Bản đồ nâng cấp khu dân cư: {isolated(HEBREW_CITY)}"
        )
        assert page.title() == f"Bản đồ nâng cấp khu dân cư: {isolated(HEBREW_CITY)}"
    finally:
        with sync_engine.begin() as connection:
            connection.execute(
                text("UPDATE cities SET name = :name WHERE slug = 'tam-ky'"), {"name": original}
            )


@pytest.mark.parametrize(
    ("language", "home"), [("vi", "Về trang chủ"), ("en", "Back to the start page")]
)
@pytest.mark.parametrize("address", ["/maps/wards/999999", "/maps/cities/nope"])
def test_a_map_that_does_not_exist_links_to_the_start_page(
    signed_in_desktop: Page, address: str, language: str, home: str
) -> None:
    page = signed_in_desktop
    response = page.goto(f"{address}?lang={language}")
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text(
        "Không tìm thấy bản đồ" if language == "vi" else "Map not found"
    )
    link = page.get_by_role("link", name=home)
    expect(link).to_have_attribute("href", f"/?lang={language}")
    link.click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/?lang={language}")
    assert page.locator("html").get_attribute("lang") == language
