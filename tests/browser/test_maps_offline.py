"""The map pages offline, in real Chromium (issue 14): a ward leader opens the ward map once,
loses the network, reloads, and sees the map with its settlements, households, streets (with
their ODbL credit) and legend and a note that the data is from the time it was kept; online
again, fresh data and no note.
Signing out (or another person's session) leaves nothing of theirs in the browser."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Error, Page, expect
from sqlalchemy import Engine, text

from tests.browser import test_context_map, test_maps, test_maps_tiles
from tests.browser.conftest import SCREENSHOTS, record_console_errors, sign_in_browser
from tests.browser.test_maps import PAINTED
from tests.browser.test_maps_phone import ZOOM_TO_BUSIEST
from tests.browser.test_maps_tiles import ANY_DRAWN, DRAWN

pytestmark = pytest.mark.browser
households = test_maps.households  # 2,000 approved sample households (fixture)
tiles_server = test_maps_tiles.tiles_server  # households from vector tiles from 100 (fixture)
streets = test_context_map.streets  # the sample city's streets, imported (fixture)

# Every URL kept by the maps' service worker, by cache ("maps-user-<session>", "maps-static").
KEPT = """async () => {
  const kept = {};
  for (const name of await caches.keys()) {
    if (!name.startsWith("maps-")) continue;
    const requests = await (await caches.open(name)).keys();
    kept[name] = requests.map((request) => new URL(request.url).pathname);
  }
  return kept;
}"""

# Whether the browser's HTTP cache holds a URL (asked without the network).
IN_HTTP_CACHE = """(url) => fetch(url, { cache: "only-if-cached", mode: "same-origin" })
  .then((response) => response.ok, () => false)"""


def kept(page: Page) -> dict[str, list[str]]:
    """The maps' caches of the page's browser: cache name -> paths kept."""
    found: dict[str, list[str]] = page.evaluate(KEPT)
    return found


def wait_kept(page: Page, *patterns: str, timeout: float = 20) -> dict[str, list[str]]:
    """Wait until the one user cache holds a path matching each pattern."""
    deadline = time.monotonic() + timeout
    while True:
        found = kept(page)
        users = [paths for name, paths in found.items() if name.startswith("maps-user-")]
        if len(users) == 1 and all(
            any(re.search(pattern, path) for path in users[0]) for pattern in patterns
        ):
            return found
        assert time.monotonic() < deadline, f"not kept: {patterns} in {found}"
        page.wait_for_timeout(200)


def ward_id(engine: Engine, code: str) -> int:
    with engine.connect() as connection:
        found: int = connection.execute(
            text(
                "SELECT w.id FROM wards w JOIN cities c ON c.id = w.city_id "
                "WHERE c.slug = 'tam-ky' AND w.code = :code"
            ),
            {"code": code},
        ).scalar_one()
    return found


@pytest.fixture
def leader_context(
    browser: Browser, live_server: str, sync_engine: Engine
) -> Iterator[BrowserContext]:
    """A desktop browser signed in as the leader of ward W01 (service workers allowed)."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 800},
        base_url=live_server,
        service_workers="allow",
        locale="vi-VN",
    )
    sign_in_browser(
        context, sync_engine, live_server, "lead-offline", (("ward_leader", ("ward", "W01")),)
    )
    yield context
    context.close()


def open_ward_map(page: Page, ward: int) -> None:
    """Open the ward's map and wait until its page and data are kept."""
    response = page.goto(f"/maps/wards/{ward}")
    assert response is not None and response.status == 200
    expect(page.locator("html")).to_have_attribute("data-offline-ready", "yes", timeout=15000)
    page.wait_for_load_state("networkidle")
    page.wait_for_function("document.querySelectorAll('canvas.cdf-households-tile').length > 0")


def test_a_ward_map_opened_once_reloads_offline_with_its_last_data(
    leader_context: BrowserContext, sync_engine: Engine, households: list[dict[str, Any]]
) -> None:
    page = leader_context.new_page()
    errors = record_console_errors(page)
    ward = ward_id(sync_engine, "W01")
    open_ward_map(page, ward)
    page.wait_for_timeout(300)
    painted = page.evaluate(PAINTED)
    assert painted > 100, "the ward's households are drawn"
    settlements = page.locator("path.leaflet-interactive").count()
    assert settlements > 0
    title = page.locator(".cdf-title-main").inner_text()
    found = wait_kept(page, rf"^/maps/wards/{ward}$", r"/households\.json$")
    assert page.locator("#cdfmap-offline-note").count() == 0  # fresh: no note
    # Leaflet and the page's scripts are kept too (not the user's: in the static cache).
    assert "/static/vendor/leaflet-1.9.4/leaflet.js" in found["maps-static"]
    assert "/static/maps/cdfmap.js" in found["maps-static"]
    # Nothing but the pages and their data in the user's cache.
    (user_paths,) = [paths for name, paths in found.items() if name.startswith("maps-user-")]
    assert all(
        re.match(r"^/(maps/wards/\d+|maps/data/cities/[a-z-]+/households\.json|api/v1/context/)", p)
        for p in user_paths
    ), user_paths

    leader_context.set_offline(True)
    page.reload()
    expect(page.locator(".cdf-title-main")).to_have_text(title)
    page.wait_for_function("document.querySelectorAll('canvas.cdf-households-tile').length > 0")
    page.wait_for_timeout(500)
    assert page.locator("path.leaflet-interactive").count() == settlements
    assert page.evaluate(PAINTED) > 100, "households drawn from the kept points"
    legend = page.locator(".cdf-legend").inner_text()
    assert "Điểm ưu tiên nâng cấp" in legend and "Giấy tờ nhà đất" in legend
    note = page.locator("#cdfmap-offline-note")
    expect(note).to_be_visible()
    # The time as Vietnamese writes it (static/pages/dates.js): 07/12/2026 10:05.
    assert re.fullmatch(
        r"Không có mạng: dữ liệu đã lưu lúc \d\d/\d\d/\d{4} \d\d:\d\d", note.inner_text()
    ), note.inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "ward-map-offline.png"))
    # Never opened before: the browser's own offline error, nothing made up.
    with pytest.raises(Error):
        page.goto(f"/maps/wards/{ward}?lang=en")

    # Online again: the network first, so a ward renamed meanwhile shows its new name.
    leader_context.set_offline(False)
    with sync_engine.begin() as connection:
        name = connection.execute(
            text("UPDATE wards SET name = name || ' (mới)' WHERE id = :id RETURNING name"),
            {"id": ward},
        ).scalar_one()
    try:
        page.reload()
        expect(page.locator(".cdf-title-main")).to_contain_text(name)
        assert page.locator("#cdfmap-offline-note").count() == 0  # fresh: no note
        page.goto(f"/maps/wards/{ward}?lang=en")
        page.wait_for_load_state("networkidle")
        assert page.locator("#cdfmap-offline-note").count() == 0
    finally:
        with sync_engine.begin() as connection:
            connection.execute(
                text("UPDATE wards SET name = left(name, -6) WHERE id = :id"), {"id": ward}
            )
    leftover = [e for e in errors if "ERR_INTERNET_DISCONNECTED" not in e]
    assert leftover == [], leftover


def test_signing_out_empties_the_map_caches_and_another_session_never_sees_them(
    browser: Browser,
    live_server: str,
    sync_engine: Engine,
    leader_context: BrowserContext,
    households: list[dict[str, Any]],
) -> None:
    page = leader_context.new_page()
    ward = ward_id(sync_engine, "W01")
    open_ward_map(page, ward)
    first = wait_kept(page, rf"^/maps/wards/{ward}$")
    (first_cache,) = [name for name in first if name.startswith("maps-user-")]

    # Another person signs in in this browser without the first signing out: the first
    # person's copies go before the second's are kept.
    sign_in_browser(
        leader_context,
        sync_engine,
        live_server,
        "admin-offline",
        (("city_admin", ("city", "tam-ky")),),
    )
    response = page.goto("/progress/tam-ky")
    assert response is not None and response.status == 200
    expect(page.locator("html")).to_have_attribute("data-offline-ready", "yes", timeout=15000)
    second = wait_kept(page, r"^/progress/tam-ky$")
    (second_cache,) = [name for name in second if name.startswith("maps-user-")]
    assert second_cache != first_cache
    assert not any(path.startswith("/maps/wards/") for path in second[second_cache])

    # The progress dashboard offline, with its note (English this time).
    page.goto("/progress/tam-ky?lang=en")
    wait_kept(page, r"^/progress/tam-ky$")
    leader_context.set_offline(True)
    page.reload()
    expect(page.locator("#cdfmap-offline-note")).to_have_text(
        re.compile(r"No network: data saved at \d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d")
    )
    assert page.locator("#total-households").count() == 1
    leader_context.set_offline(False)

    # The national view likewise: its table, its map drawn with the kept Leaflet.
    page.goto("/maps/national")
    wait_kept(page, r"^/maps/national$")
    leader_context.set_offline(True)
    page.reload()
    expect(page.locator("#cdfmap-offline-note")).to_contain_text("Không có mạng")
    assert page.locator("#national-table tbody tr").count() >= 1
    assert page.locator("#national-map .leaflet-interactive").count() >= 1
    leader_context.set_offline(False)

    # Signing out (the page's own button) lands on the sign-in page, which empties the caches;
    # the browser's HTTP cache of the site goes too (Clear-Site-Data), with the data in it.
    page.goto(f"/maps/wards/{ward}")
    page.wait_for_load_state("networkidle")
    (points,) = [
        name
        for name in page.evaluate(
            "performance.getEntriesByType('resource').map((entry) => entry.name)"
        )
        if name.endswith("households.json") or "households.json?" in name
    ]
    page.goto("/")  # a page the worker does not control: asked here, only the HTTP cache answers
    assert page.evaluate(IN_HTTP_CACHE, points)
    page.locator("form[action^='/logout'] button").click()
    page.wait_for_url(re.compile(r"/login"))
    expect(page.locator("html")).to_have_attribute("data-map-caches", "cleared")
    assert kept(page) == {}
    assert not page.evaluate(IN_HTTP_CACHE, points)
    leader_context.set_offline(True)
    with pytest.raises(Error):
        page.goto("/progress/tam-ky?lang=en")
    leader_context.set_offline(False)


@pytest.fixture
def tiles_phone(browser: Browser, tiles_server: str, sync_engine: Engine) -> Iterator[Page]:
    """A phone signed in on the server whose map pages draw households from vector tiles."""
    context = browser.new_context(
        viewport={"width": 360, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        base_url=tiles_server,
        service_workers="allow",
        locale="vi-VN",
    )
    sign_in_browser(context, sync_engine, tiles_server, "tiles-offline")
    page = context.new_page()
    record_console_errors(page)
    yield page
    context.close()


def test_the_vector_tiles_seen_are_drawn_again_after_an_offline_reload(
    tiles_phone: Page, sync_engine: Engine, households: list[dict[str, Any]]
) -> None:
    page = tiles_phone
    with sync_engine.connect() as connection:
        ward = connection.execute(
            text(
                "SELECT ward_id FROM household_surveys WHERE status = 'approved' "
                "GROUP BY ward_id ORDER BY count(*) DESC LIMIT 1"
            )
        ).scalar_one()
    response = page.goto(f"/maps/wards/{ward}")
    assert response is not None and response.status == 200
    expect(page.locator("html")).to_have_attribute("data-offline-ready", "yes", timeout=15000)
    page.evaluate(ZOOM_TO_BUSIEST, 15)
    page.wait_for_function(ANY_DRAWN)
    page.wait_for_load_state("networkidle")
    online = sorted(page.evaluate(DRAWN))
    assert sum(count for _, count in online) > 0
    found = wait_kept(page, rf"^/maps/wards/{ward}$", r"^/tiles/households/15/")
    (kept_paths,) = [paths for name, paths in found.items() if name.startswith("maps-user-")]

    page.context.set_offline(True)
    page.reload()
    expect(page.locator("#cdfmap-offline-note")).to_be_visible()
    page.evaluate(ZOOM_TO_BUSIEST, 15)
    page.wait_for_function(ANY_DRAWN)
    page.wait_for_timeout(500)
    # The same tiles with the same households, every one from the worker's copy: no request
    # failed (the browser's HTTP cache was never needed).
    assert sorted(page.evaluate(DRAWN)) == online
    assert page.console_errors == []  # type: ignore[attr-defined]

    # A page opened online whose network goes: a tile it asks for comes from the worker's
    # copy, and the worker tells the page, which shows the note. (The map's own tiles of
    # this view are in the page's memory already: the request is made here.)
    page.context.set_offline(False)
    page.reload()
    page.wait_for_load_state("networkidle")
    assert page.locator("#cdfmap-offline-note").count() == 0
    tile = next(p for p in kept_paths if p.startswith("/tiles/households/15/"))
    page.context.set_offline(True)
    status = page.evaluate("(url) => fetch(url).then((response) => response.status)", tile)
    assert status in (200, 204)
    expect(page.locator("#cdfmap-offline-note")).to_contain_text("Không có mạng")
    page.context.set_offline(False)


# The streets drawn in the context pane: stroke colour -> count of paths (cdfcontext.js draws
# roads in greys, waterways in blues, landmarks as circles with class cdf-landmark).
CONTEXT_DRAWN = """() => {
  const drawn = {};
  for (const path of document.querySelectorAll('.leaflet-cdfContext-pane path')) {
    const key = path.getAttribute('stroke') || '';
    drawn[key] = (drawn[key] || 0) + 1;
  }
  return drawn;
}"""
STREET_GREYS = ("#9a9a9a", "#b4b4b4", "#c8c8c8")
ODBL = "© OpenStreetMap contributors (ODbL)"


def test_the_streets_of_a_ward_map_are_drawn_again_after_an_offline_reload(
    leader_context: BrowserContext,
    sync_engine: Engine,
    households: list[dict[str, Any]],
    streets: None,
) -> None:
    page = leader_context.new_page()
    errors = record_console_errors(page)
    ward = ward_id(sync_engine, "W01")
    open_ward_map(page, ward)
    page.locator(".leaflet-cdfContext-pane path").nth(10).wait_for(state="attached")
    page.wait_for_load_state("networkidle")
    online = page.evaluate(CONTEXT_DRAWN)
    assert sum(online.get(grey, 0) for grey in STREET_GREYS) > 10, online
    assert ODBL in page.locator(".leaflet-control-attribution").inner_text()
    wait_kept(page, rf"^/maps/wards/{ward}$", r"^/api/v1/context/tam-ky\.geojson$")

    # Only the worker's copies may answer: the streets are private, max-age=300 in the
    # browser's HTTP cache, which would otherwise draw them offline without the worker.
    leader_context.new_cdp_session(page).send("Network.clearBrowserCache")
    fetched: list[str] = []
    page.on(
        "requestfinished",
        lambda request: fetched.append(request.url) if "/api/v1/context/" in request.url else None,
    )
    leader_context.set_offline(True)
    page.reload()
    expect(page.locator("#cdfmap-offline-note")).to_be_visible()
    page.locator(".leaflet-cdfContext-pane path").nth(10).wait_for(state="attached", timeout=10000)
    page.wait_for_timeout(500)
    # The same streets, water and landmarks as online, from the worker's copy.
    assert page.evaluate(CONTEXT_DRAWN) == online
    expect(page.locator(".leaflet-control-attribution")).to_contain_text(ODBL)
    assert len(fetched) == 1
    # A view never seen online (closer in): the streets of the city's view kept stay drawn
    # (sw.js answers a context request with another view's copy rather than nothing).
    page.mouse.move(640, 400)
    page.mouse.wheel(0, -300)
    page.wait_for_timeout(1500)
    assert len(fetched) >= 2 and fetched[-1] != fetched[0]
    closer = page.evaluate(CONTEXT_DRAWN)
    assert sum(closer.get(grey, 0) for grey in STREET_GREYS) > 10, closer
    expect(page.locator(".leaflet-control-attribution")).to_contain_text(ODBL)
    leader_context.set_offline(False)
    leftover = [e for e in errors if "ERR_INTERNET_DISCONNECTED" not in e]
    assert leftover == [], leftover


KEPT_SCRIPT = """async (path) => {
  const found = await (await caches.open("maps-static")).match(path, { ignoreVary: true });
  return found ? (await found.text()).slice(0, 200) : null;
}"""


def test_a_captive_portals_page_never_replaces_a_kept_script(
    leader_context: BrowserContext, sync_engine: Engine, households: list[dict[str, Any]]
) -> None:
    """A Wi-Fi's captive portal answering the page's scripts 200 with its login page: the
    service worker kept that page as cdfmap.js, and the map never drew offline again."""
    page = leader_context.new_page()
    ward = ward_id(sync_engine, "W01")
    open_ward_map(page, ward)
    wait_kept(page, rf"^/maps/wards/{ward}$")
    assert "CDF map" in (page.evaluate(KEPT_SCRIPT, "/static/maps/cdfmap.js") or "")
    seen: list[str] = []

    def portal(route: Any) -> None:
        seen.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<h1>Wi-Fi login</h1>")

    leader_context.route("**/static/maps/**", portal)
    page.reload()
    page.wait_for_load_state("networkidle")
    assert any(url.endswith("/static/maps/cdfmap.js") for url in seen)
    leader_context.unroute("**/static/maps/**", portal)
    kept_script = page.evaluate(KEPT_SCRIPT, "/static/maps/cdfmap.js")
    assert kept_script is not None and "Wi-Fi login" not in kept_script
    leader_context.set_offline(True)
    page.reload()
    page.wait_for_function("document.querySelectorAll('canvas.cdf-households-tile').length > 0")
