"""What the maps' service worker may keep (app/api/offline.py): responses made for a web
session carry its opaque key, nothing else does; the worker is served with its scope and the
server's list of kept paths."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.api.offline import KEPT, viewer_key
from app.services.access import Principal
from tests.auth import bearer, make_token, make_user

HEADER = "x-offline-viewer"


def _ward(engine: Engine) -> int:
    with engine.connect() as connection:
        found: int = connection.execute(
            text(
                "SELECT w.id FROM wards w JOIN cities c ON c.id = w.city_id "
                "WHERE c.slug = 'tam-ky' AND w.code = 'W01'"
            )
        ).scalar_one()
    return found


def test_only_a_web_sessions_map_responses_are_marked(
    anonymous: TestClient, sync_engine: Engine
) -> None:
    user = make_user(sync_engine, "offline-admin", [("city_admin", ("city", "tam-ky"))])
    session = make_token(sync_engine, user, kind="session", lifetime=timedelta(hours=1))
    other = make_token(sync_engine, user, kind="session", lifetime=timedelta(hours=1))
    api = make_token(sync_engine, user, kind="api", lifetime=timedelta(hours=1))
    ward = _ward(sync_engine)
    kept = [
        "/maps/cities/tam-ky",
        f"/maps/wards/{ward}?lang=en",
        "/maps/national",
        "/progress/tam-ky",
        "/maps/data/cities/tam-ky/households.json",
        "/api/v1/context/tam-ky.geojson?bbox=108.44,15.54,108.50,15.60&zoom=15",
        "/tiles/households/14/13128/7582.pbf",
    ]
    cookie = {"cookie": f"cdfmap_session={session}"}
    keys = set()
    for path in kept:
        response = anonymous.get(path, headers=cookie)
        assert response.status_code in (200, 204), (path, response.text[:300])
        keys.add(response.headers[HEADER])
        # The same paths for nobody, or for an API token: nothing to keep.
        assert HEADER not in anonymous.get(path, headers=bearer(api)).headers
        assert HEADER not in anonymous.get(path, follow_redirects=False).headers
    assert len(keys) == 1
    (key,) = keys
    assert re.fullmatch(r"[0-9a-f]{32}", key) and session not in key
    # Another session of the same person: another key (its copies replace the first's).
    again = anonymous.get("/maps/national", headers={"cookie": f"cdfmap_session={other}"})
    assert again.headers[HEADER] != key
    # Prints, exports, the admin page and writes are never marked.
    for path in (
        f"/maps/wards/{ward}.png",
        "/maps/national.pdf",
        "/api/v1/national/indicators.csv",
        "/api/v1/progress/tam-ky?format=csv",
        "/admin",
        "/",
    ):
        response = anonymous.get(path, headers=cookie)
        assert HEADER not in response.headers, path
    logout = anonymous.post("/logout", headers=cookie, follow_redirects=False)
    assert HEADER not in logout.headers


def test_the_worker_knows_the_kept_paths_and_may_control_maps_and_progress(
    anonymous: TestClient,
) -> None:
    response = anonymous.get("/maps/sw.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["service-worker-allowed"] == "/"
    assert response.headers["cache-control"] == "no-cache"
    assert "__KEPT_PATHS__" not in response.text
    listed = re.search(r"const KEPT = (\[.*?\])\.map", response.text)
    assert listed is not None
    patterns = [re.compile(source) for source in json.loads(listed.group(1))]
    for path in ("/maps/wards/12", "/progress/tam-ky", "/tiles/households/1/2/3.pbf"):
        assert any(p.match(path) for p in patterns) and KEPT.match(path)
    for path in (
        "/maps/wards/12.pdf",
        "/maps/national.pdf",
        "/api/v1/export/households.csv",
        "/admin",
        "/login",
        "/api/v1/progress/tam-ky",
        "/maps/cities/tam-ky/extra",
    ):
        assert not any(p.match(path) for p in patterns) and not KEPT.match(path), path


def test_the_viewer_key_is_a_web_sessions_only() -> None:
    person = Principal(1, "a", "A", (), token_id="0f0e", token_kind="session")
    assert viewer_key(person) == viewer_key(person) and viewer_key(person) is not None
    assert viewer_key(Principal(1, "a", "A", (), token_id="0f0e", token_kind="api")) is None
    assert viewer_key(Principal(1, "a", "A", (), token_id=None, token_kind="session")) is None
    assert viewer_key(None) is None
