"""The CDF's upgrading projects on a ward map in real headless Chromium: drawn in their own
layer above the households, in the legend while shown, popups as text (hostile names too)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Dialog, Page
from sqlalchemy import Engine, text

from app.services.cdf_projects_sample import load_sample_projects
from tests.hostile import HTML_ATTRIBUTE, HTML_SCRIPT

pytestmark = pytest.mark.browser


@pytest.fixture
def projects(sync_engine: Engine) -> Iterator[dict[str, Any]]:
    """The sample projects, and a hostile-named one at the first ward's first settlement."""
    with sync_engine.begin() as connection:
        connection.execute(text("DELETE FROM cdf_projects"))
        city_id = connection.execute(
            text("SELECT id FROM cities WHERE slug = 'tam-ky'")
        ).scalar_one()
        load_sample_projects(connection, city_id)
        ward_id = connection.execute(
            text("SELECT id FROM wards WHERE city_id = :city ORDER BY code LIMIT 1"),
            {"city": city_id},
        ).scalar_one()
        connection.execute(
            text(
                "INSERT INTO cdf_projects (city_id, settlement_id, name, kind, status, geom) "
                "SELECT s.city_id, s.id, :name, 'toilets', 'approved', "
                "ST_Centroid(ST_Envelope(s.geom)) FROM settlements s "
                "WHERE s.ward_id = :ward ORDER BY s.code DESC LIMIT 1"
            ),
            {"name": HTML_ATTRIBUTE + HTML_SCRIPT, "ward": ward_id},
        )
        names = (
            connection.execute(
                text(
                    "SELECT p.name FROM cdf_projects p "
                    "JOIN settlements s ON s.id = p.settlement_id "
                    "WHERE s.ward_id = :ward"
                ),
                {"ward": ward_id},
            )
            .scalars()
            .all()
        )
    yield {"ward_id": ward_id, "names": names}
    with sync_engine.begin() as connection:
        connection.execute(text("DELETE FROM cdf_projects"))


def test_ward_map_draws_the_projects(signed_in_desktop: Page, projects: dict[str, Any]) -> None:
    page = signed_in_desktop
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    response = page.goto(f"/maps/wards/{projects['ward_id']}?lang=vi")  # the browser: English
    assert response is not None and response.status == 200
    page.wait_for_load_state("networkidle")
    shapes = page.locator(".leaflet-cdfProjects-pane path.leaflet-interactive")
    assert shapes.count() == len(projects["names"]) == 3
    legend = page.locator(".cdf-legend")
    assert "Dự án nâng cấp, theo tình trạng" in legend.inner_text()
    assert "Đang thi công" in legend.inner_text()
    # The layer control names the layer; hiding it takes it out of the legend.
    control = page.locator(
        ".leaflet-control-layers-overlays label", has_text="Dự án nâng cấp (Quỹ CDF)"
    )
    control.locator("input").uncheck()
    assert shapes.count() == 0
    assert "Dự án nâng cấp, theo tình trạng" not in legend.inner_text()
    control.locator("input").check()
    # Each popup shows the project's name as typed, never as markup.
    shown = []
    for index in range(shapes.count()):
        # A shape may lie under the title box: the click goes to the shape itself.
        shapes.nth(index).dispatch_event("click")
        popup = page.locator(".leaflet-popup-content .cdf-popup")
        popup.wait_for()
        shown.append(popup.locator("td").first.text_content())
        assert popup.locator("img, script").count() == 0
        page.locator(".leaflet-popup-close-button").click()
        # A closed popup fades out before it leaves the page.
        page.locator(".leaflet-popup").wait_for(state="detached")
    assert sorted(shown) == sorted(projects["names"])
    assert page.locator("img[src=x]").count() == 0
    assert dialogs == []
    assert page.console_errors == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("language", "label", "dates"),
    [
        ("vi", "Thời gian", "01/03/2025 – 20/05/2025"),
        ("en", "Dates", "1 Mar 2025 – 20 May 2025"),
    ],
)
def test_the_popups_write_days_as_the_page_does(
    signed_in_desktop: Page, projects: dict[str, Any], language: str, label: str, dates: str
) -> None:
    """A project's popup said 2025-03-01 – 2025-05-20 on both pages: 01/03/2025 in Vietnamese,
    1 Mar 2025 in English."""
    page = signed_in_desktop
    response = page.goto(f"/maps/wards/{projects['ward_id']}?lang={language}")
    assert response is not None and response.status == 200
    page.wait_for_load_state("networkidle")
    shapes = page.locator(".leaflet-cdfProjects-pane path.leaflet-interactive")
    shown = []
    for index in range(shapes.count()):
        shapes.nth(index).dispatch_event("click")
        popup = page.locator(".leaflet-popup-content .cdf-popup")
        popup.wait_for()
        row = popup.locator("tr", has=page.locator("th", has_text=label))
        shown.append(row.locator("td").text_content())
        page.locator(".leaflet-popup-close-button").click()
        page.locator(".leaflet-popup").wait_for(state="detached")
    assert dates in shown, shown
    assert not [text for text in shown if text and re.search(r"\d{4}-\d{2}-\d{2}", text)]
    assert page.console_errors == []  # type: ignore[attr-defined]
