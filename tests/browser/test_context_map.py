"""Streets, water and landmarks under the city map in Chromium: fetched for the view, drawn
under the settlements, more of them as the map zooms in, names as text, the ODbL credit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Dialog, Page
from shapely.geometry import LineString
from sqlalchemy import Engine, text

from app.geo import osm_context
from app.geo.osm_context import ContextFeature
from app.services import context

pytestmark = pytest.mark.browser
HOSTILE = "</script><img src=x onerror=alert(1)>{{ 7*7 }}"


@pytest.fixture
def streets(sync_engine: Engine, tmp_path: Path) -> Iterator[None]:
    """The sample city's context imported from an OSM extract, one street with a hostile
    name; removed afterwards (the other map tests draw none)."""
    features = context.sample_features()
    centre = next(f for f in features if f.kind == "landmark").geometry
    features.append(
        ContextFeature(
            "road",
            "major",
            HOSTILE,
            LineString([(centre.x - 0.01, centre.y), (centre.x + 0.01, centre.y)]),
        )
    )
    extract = tmp_path / "city.osm"
    osm_context.write_osm_xml(features, extract)
    with sync_engine.begin() as connection:
        context.import_extract(connection, "tam-ky", extract)
    yield
    with sync_engine.begin() as connection:
        connection.execute(text("DELETE FROM context_imports"))


def test_the_streets_come_with_the_view_under_the_settlements(
    signed_in_desktop: Page, streets: None
) -> None:
    page = signed_in_desktop
    dialogs: list[Dialog] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog), dialog.dismiss()))
    fetched: list[str] = []
    page.on(
        "response",
        lambda response: (
            fetched.append(response.url) if "/api/v1/context/" in response.url else None
        ),
    )
    page.goto("/maps/cities/tam-ky?lang=vi")
    page.locator(".leaflet-cdfContext-pane path").nth(10).wait_for(state="attached")
    far = page.locator(".leaflet-cdfContext-pane path").count()
    classes = page.locator(".leaflet-cdfContext-pane path").evaluate_all(
        "paths => paths.map(p => p.getAttribute('class'))"
    )
    assert any("cdf-landmark" in (c or "") for c in classes), classes[:5]
    pane_z = page.evaluate(
        "Number(getComputedStyle(document.querySelector('.leaflet-cdfContext-pane')).zIndex)"
    )
    overlay_z = page.evaluate(
        "Number(getComputedStyle(document.querySelector('.leaflet-overlay-pane')).zIndex)"
    )
    assert pane_z < overlay_z  # under the settlements' colours
    assert (
        "© OpenStreetMap contributors (ODbL)"
        in page.locator(".leaflet-control-attribution").all_inner_texts()[-1]
    )
    assert "Đường phố" in page.locator(".leaflet-control-layers").inner_text()
    # Closer in: the lanes, buildings and landmarks of the view come too.
    page.mouse.move(640, 400)
    page.mouse.wheel(0, -300)
    page.wait_for_timeout(1500)
    assert len(fetched) >= 2 and all("zoom=" in url and "bbox=" in url for url in fetched)
    zooms = [int(url.rsplit("zoom=", 1)[1]) for url in fetched]
    assert zooms[-1] > zooms[0]
    assert page.locator(".leaflet-cdfContext-pane path").count() != far
    assert dialogs == []
    assert page.console_errors == []  # type: ignore[attr-defined]
