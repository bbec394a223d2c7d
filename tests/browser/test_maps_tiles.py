"""A large city's map draws its households from vector tiles, in real Chromium: no download of
every point, the right households in each tile (counted in PostGIS), a ward's page only its
own, and tiles seen before still drawn when the phone goes offline."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, Request
from sqlalchemy import Engine, text

from app.main import create_app
from app.settings import Settings
from bench.common import free_port
from tests.browser import test_maps
from tests.browser.conftest import record_console_errors, sign_in_browser
from tests.browser.test_maps_phone import MAP, PAINTED, ZOOM_TO_BUSIEST

pytestmark = pytest.mark.browser
households = test_maps.households  # 2,000 approved sample households (fixture)

# Every household tile drawn: its z/x/y, the households inside it that it drew.
DRAWN = """() => Array.from(document.querySelectorAll('canvas.cdf-households-tile[data-tile]'),
  (canvas) => [canvas.dataset.tile, Number(canvas.dataset.households)])"""
ANY_DRAWN = "() => document.querySelectorAll('canvas.cdf-households-tile[data-tile]').length > 0"
IN_TILE = text(
    "SELECT count(*) FROM household_surveys WHERE status = 'approved' "
    "AND ST_Intersects(ST_Transform(geom, 3857), ST_TileEnvelope(:z, :x, :y)) "
    "AND (CAST(:ward AS bigint) IS NULL OR ward_id = :ward)"
)


@pytest.fixture(scope="module")
def tiles_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app with a low threshold (the sample city and each of its wards are large), under
    uvicorn in a thread; yields its base URL."""
    settings = Settings(
        database_url=database_url,
        media_dir=tmp_path_factory.mktemp("tiles-media"),
        map_tiles_from_households=100,
    )
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=free_port(),
            log_level="warning",
            access_log=False,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "test server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{server.config.port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def phone(browser: Browser, tiles_server: str, sync_engine: Engine) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 360, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        base_url=tiles_server,
        locale="vi-VN",  # the map pages follow the browser's languages
    )
    sign_in_browser(context, sync_engine, tiles_server)
    page = context.new_page()
    record_console_errors(page)
    yield page
    context.close()


def check_tiles(page: Page, engine: Engine, ward: int | None) -> int:
    """Each drawn tile holds exactly the households PostGIS finds in it; their total."""
    drawn = page.evaluate(DRAWN)
    assert drawn, "household tiles drawn"
    total = 0
    with engine.connect() as connection:
        for key, count in drawn:
            z, x, y = (int(part) for part in key.split("/"))
            expected = connection.execute(IN_TILE, {"z": z, "x": x, "y": y, "ward": ward}).scalar()
            assert count == expected, (key, count, expected)
            total += count
    return total


def test_a_large_citys_households_come_from_tiles(
    phone: Page, sync_engine: Engine, households: list[dict[str, Any]]
) -> None:
    requests: list[str] = []

    def on_request(request: Request) -> None:
        requests.append(request.url)

    phone.on("request", on_request)
    response = phone.goto("/maps/cities/tam-ky")
    assert response is not None and response.status == 200
    phone.wait_for_load_state("networkidle")
    # The city's view (zoom < 14) fetches no household at all.
    assert not [url for url in requests if "households" in url]
    phone.evaluate(ZOOM_TO_BUSIEST, 15)
    phone.wait_for_function(ANY_DRAWN)
    phone.wait_for_load_state("networkidle")
    tiles = [url for url in requests if "/tiles/households/15/" in url]
    assert tiles and not [url for url in requests if "households.json" in url]
    assert check_tiles(phone, sync_engine, None) > 20
    assert phone.evaluate(PAINTED) > 100

    # Offline: another indicator and another zoom level, then back, from the tiles seen.
    phone.context.set_offline(True)
    phone.evaluate(
        "(label) => Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))"
        ".find((l) => l.textContent.indexOf(label) >= 0).querySelector('input').click()",
        "Nguồn nước",
    )
    phone.wait_for_timeout(300)
    phone.evaluate(MAP + ".setZoom(16, { animate: false })")
    phone.wait_for_timeout(300)
    phone.evaluate(MAP + ".setZoom(15, { animate: false })")
    phone.wait_for_function(ANY_DRAWN)
    phone.wait_for_timeout(300)
    assert check_tiles(phone, sync_engine, None) > 20
    assert "Nước máy vào nhà" in (phone.locator(".cdf-legend").text_content() or "")
    phone.context.set_offline(False)
    errors = [e for e in phone.console_errors if "household tile" not in e]  # type: ignore[attr-defined]
    # A tile never seen fails offline: the network's error, or the maps' service worker's
    # (static/maps/sw.js) when it has no copy either.
    offline = ("ERR_INTERNET_DISCONNECTED", "net::ERR_FAILED")
    assert [e for e in errors if not any(text in e for text in offline)] == []


def test_a_wards_page_draws_only_its_households(
    phone: Page, sync_engine: Engine, households: list[dict[str, Any]]
) -> None:
    with sync_engine.connect() as connection:
        ward = connection.execute(
            text(
                "SELECT ward_id FROM household_surveys WHERE status = 'approved' "
                "GROUP BY ward_id ORDER BY count(*) DESC LIMIT 1"
            )
        ).scalar_one()
    response = phone.goto(f"/maps/wards/{ward}")
    assert response is not None and response.status == 200
    phone.wait_for_load_state("networkidle")
    data = phone.evaluate("JSON.parse(document.getElementById('cdfmap-data').textContent)")
    assert data["households"]["tiles"] and data["households"]["ward"] == ward
    assert data["households"]["url"] == ""
    phone.evaluate(ZOOM_TO_BUSIEST, 15)
    phone.wait_for_function(ANY_DRAWN)
    phone.wait_for_load_state("networkidle")
    assert check_tiles(phone, sync_engine, ward) > 0
    assert phone.console_errors == []  # type: ignore[attr-defined]
