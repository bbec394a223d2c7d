"""The survey progress page in real Chromium: a city admin's dashboard on a phone and a
desktop, its SVG charts readable, hostile names shown as text (no script runs), and the page
no wider than the phone."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import Browser, Dialog
from sqlalchemy import Engine, text

from tests.browser.conftest import SCREENSHOTS, record_console_errors, sign_in_browser

pytestmark = pytest.mark.browser

HOSTILE = "</title><script>alert(1)</script>{{7*7}}"
DAY = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


@pytest.fixture
def renamed(sync_engine: Engine, clean_surveys: None) -> Iterator[dict[str, Any]]:
    """The sample city's first settlement renamed to a hostile name, with a few surveys of
    every status in it; restored afterwards."""
    with sync_engine.begin() as connection:
        row = connection.execute(
            text(
                "SELECT s.id, s.name, s.ward_id, s.city_id, s.households_estimate "
                "FROM settlements s JOIN cities c ON c.id = s.city_id "
                "WHERE c.slug = 'tam-ky' ORDER BY s.code LIMIT 1"
            )
        ).one()
        connection.execute(
            text("UPDATE settlements SET name = :n, households_estimate = 8 WHERE id = :id"),
            {"n": HOSTILE, "id": row.id},
        )
        for status in ("approved", "approved", "received", "needs_correction", "rejected"):
            connection.execute(
                text(
                    "INSERT INTO household_surveys (id, city_id, ward_id, settlement_id, form_id, "
                    "form_version, collector, collected_at, status, answers, content_hash) "
                    "VALUES (:id, :c, :w, :s, 'household', '1', :who, :at, :status, '{}', 'x')"
                ),
                {
                    "id": uuid.uuid4(),
                    "c": row.city_id,
                    "w": row.ward_id,
                    "s": row.id,
                    "who": "=cmd|' /C calc'!A0",
                    "at": DAY,
                    "status": status,
                },
            )
    yield {"settlement_id": row.id}
    with sync_engine.begin() as connection:
        connection.execute(
            text("UPDATE settlements SET name = :n, households_estimate = :e WHERE id = :id"),
            {"n": row.name, "e": row.households_estimate, "id": row.id},
        )


@pytest.mark.parametrize("width", [360, 1280])
def test_a_city_admin_reads_the_dashboard(
    browser: Browser,
    live_server: str,
    sync_engine: Engine,
    renamed: dict[str, Any],
    width: int,
) -> None:
    context = browser.new_context(
        viewport={"width": width, "height": 800}, base_url=live_server, locale="vi-VN"
    )
    sign_in_browser(
        context, sync_engine, live_server, "progress-admin", (("city_admin", ("city", "tam-ky")),)
    )
    page = context.new_page()
    errors = record_console_errors(page)
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    try:
        answer = page.goto("/progress/tam-ky?from=2026-11-20&to=2026-11-30")
        assert answer is not None and answer.status == 200
        assert page.title().startswith("Tiến độ khảo sát")
        # The hostile name is a label of the chart and a cell of the table, as text.
        labels = page.locator("svg.chart text.label").all_text_contents()
        assert any(label.startswith(HOSTILE[:29]) for label in labels), labels  # cut at 30
        titles = page.locator("svg.chart g.bar-row > title").all_text_contents()
        assert HOSTILE in titles  # the whole name on hover
        assert page.locator("#settlements td", has_text="{{7*7}}").count() == 1
        # No script but the one that keeps the page for offline use (static/maps/offline.js)
        # and the one writing its note's time as the page's language does.
        scripts = page.locator("script").evaluate_all("(all) => all.map((s) => s.src)")
        assert scripts == [
            f"{live_server}/static/pages/dates.js",
            f"{live_server}/static/maps/offline.js",
        ]
        assert dialogs == []
        # 5 surveys, 4 of them households (one rejected), estimate 8: half surveyed.
        row = page.locator("#settlements tr", has_text="{{7*7}}")
        assert "50 %" in row.inner_text()
        # The day chart has a column for each of the 11 days, stacked by status.
        day_columns = page.locator("svg.chart").nth(1).locator("g > title")
        assert day_columns.count() == 11
        assert page.locator("svg.chart rect.status-rejected").count() >= 1
        # Readable on a phone: the charts scroll sideways inside their card, the page does not.
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        label_height = page.locator("svg.chart text.label").first.bounding_box()
        assert label_height is not None and label_height["height"] >= 10
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"progress-{width}.png"), full_page=False)
        assert errors == []
    finally:
        context.close()
