"""The savings groups on a ward map in real headless Chromium: a circle per settlement in their
own layer, sized by members, in the legend while shown, popups as text (hostile group names
too: nothing runs, nothing is parsed as markup)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Dialog, Page
from sqlalchemy import Engine, text

from tests.cdf_support import drop_cities, make_city
from tests.integration.test_cdf_groups_map import HOSTILE, books  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser


def test_ward_map_draws_the_savings_groups(
    signed_in_desktop: Page,
    books: dict[str, Any],  # noqa: F811
) -> None:
    page = signed_in_desktop
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    ward_id = books["ward_id"]
    response = page.goto(f"/maps/wards/{ward_id}?lang=vi")  # the browser asks for English
    assert response is not None and response.status == 200
    page.wait_for_load_state("networkidle")
    data = page.evaluate("JSON.parse(document.getElementById('cdfmap-data').textContent)")
    settlements = [f["properties"] for f in data["groups"]["features"]]
    circles = page.locator(".leaflet-cdfGroups-pane path.cdf-group-circle")
    assert circles.count() == len(settlements) >= 1
    # The more members, the larger the circle (the radius the server gave).
    sizes = circles.evaluate_all("(paths) => paths.map((p) => p.getBBox().width)")
    by_members = sorted(zip([s["members"] for s in settlements], sizes, strict=True))
    assert [size for _, size in by_members] == sorted(size for _, size in by_members)
    legend = page.locator(".cdf-legend")
    assert "Nhóm tiết kiệm theo khu dân cư, màu theo PAR30" in legend.inner_text()
    assert "PAR30 trên 10 %" in legend.inner_text()
    assert "Vòng tròn càng lớn, càng nhiều thành viên." in legend.inner_text()
    control = page.locator(
        ".leaflet-control-layers-overlays label", has_text="Nhóm tiết kiệm (Quỹ CDF)"
    )
    control.locator("input").uncheck()
    assert circles.count() == 0
    assert "màu theo PAR30" not in legend.inner_text()
    control.locator("input").check()
    assert circles.count() == len(settlements)
    # The popup of the settlement with the hostile names: every name as typed, as text.
    index = next(
        i for i, s in enumerate(settlements) if s["settlement_id"] == books["settlement_id"]
    )
    circles.nth(index).dispatch_event("click")
    popup = page.locator(".leaflet-popup-content .cdf-popup")
    popup.wait_for()
    cells = popup.locator("td").all_text_contents()
    assert cells[0] == books["settlement"]
    for name in HOSTILE:
        assert name in cells[1]
    assert "49" not in cells[1]
    assert popup.locator("script, img").count() == 0
    headings = popup.locator("th").all_text_contents()
    assert headings[:3] == ["Khu dân cư", "Nhóm tiết kiệm", "Số nhóm"]
    assert dialogs == []
    assert page.evaluate("window.__pwned") is None
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_a_city_whose_groups_have_no_settlement_says_so_in_the_legend(
    signed_in_desktop: Page, sync_engine: Engine
) -> None:
    """Every group registered without a settlement: no circle to draw, and the legend (drawn
    only beside the circles' layer) said nothing of them, though the CDF report counts them."""
    slug = "nhom-chua-gan"
    make_city(sync_engine, slug, "Thành phố Nhóm Chưa Gắn")
    try:
        with sync_engine.begin() as connection:
            group = connection.execute(
                text(
                    "WITH fund AS (INSERT INTO cdf_funds (city_id, name) SELECT id, 'Quỹ' "
                    "FROM cities WHERE slug = :slug RETURNING id) "
                    "INSERT INTO cdf_groups (fund_id, name, founded_on, meeting_frequency, "
                    "share_value) SELECT id, 'Nhóm không xóm', '2025-01-01', 'monthly', 20000 "
                    "FROM fund RETURNING id"
                ),
                {"slug": slug},
            ).scalar_one()
            connection.execute(
                text(
                    "INSERT INTO cdf_members (group_id, code, name, joined_on) "
                    "VALUES (:group, 'M1', 'Lê Văn C', '2025-01-01')"
                ),
                {"group": group},
            )
        page = signed_in_desktop
        response = page.goto(f"/maps/cities/{slug}?lang=vi")  # the browser asks for English
        assert response is not None and response.status == 200
        page.wait_for_load_state("networkidle")
        assert page.locator(".leaflet-cdfGroups-pane path").count() == 0
        note = page.locator(".cdf-legend .cdf-groups-unplaced")
        assert note.inner_text().startswith("Không có trên bản đồ: 1 nhóm")
        assert page.console_errors == []  # type: ignore[attr-defined]
    finally:
        drop_cities(sync_engine, slug)
