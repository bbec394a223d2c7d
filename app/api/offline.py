"""The map pages offline: their service worker, and who each kept response belongs to.

A ward leader opens the ward map at the office and reloads it at the meeting with no network:
static/maps/sw.js (served here at /maps/sw.js, registered by static/maps/offline.js for the
scopes /maps/ and /progress/) keeps the last copy of each map page, of the data it fetched
(household points, context layers, vector tiles) and of the scripts and styles, and answers
from them when the network fails; online it always asks the network first.

Those pages and data are the signed-in person's. `OfflineViewer` marks the responses of
`KEPT_PATHS` that went to a web session with `X-Offline-Viewer`, an opaque key of that
session (a hash of the token's id, never the token); the worker keeps nothing else, keeps one
session's responses at a time (another key empties the cache first), and forgets them all as
soon as a response shows nobody signed in (a 401, a redirect to sign in, an anonymous page).
The sign-in page, shown after every sign-out, deletes the map caches (static/pages/signed-out.js).

`KEPT_PATHS` is the one list of what may be kept: the worker gets it from this module (its
source says `__KEPT_PATHS__`), so no POST, print, export, CSV or admin page can be kept.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path

import orjson
from fastapi import APIRouter
from fastapi.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.deps import SettingsDep
from app.errors import NotFound
from app.services.access import Principal

router = APIRouter(tags=["maps"], include_in_schema=False)
VIEWER_HEADER = b"x-offline-viewer"
# Map pages, the progress dashboard and the data their pages fetch (GET only). Python and
# JavaScript read these patterns alike (no lookbehind, no named groups).
KEPT_PATHS = (
    r"^/maps/cities/[a-z0-9][a-z0-9-]{0,63}$",
    r"^/maps/wards/[0-9]{1,10}$",
    r"^/maps/national$",
    r"^/progress/[a-z0-9][a-z0-9-]{0,63}$",
    r"^/maps/data/cities/[a-z0-9][a-z0-9-]{0,63}/households\.json$",
    r"^/api/v1/context/[a-z0-9][a-z0-9-]{0,63}\.geojson$",
    r"^/tiles/[a-z_]{1,64}/[0-9]{1,9}/[0-9]{1,9}/[0-9]{1,9}\.pbf$",
)
KEPT = re.compile("|".join(f"(?:{pattern})" for pattern in KEPT_PATHS))
PLACEHOLDER = b"__KEPT_PATHS__"


def viewer_key(principal: Principal | None) -> str | None:
    """The opaque key of a web session (None for anyone else: anonymous, phones, API tokens)."""
    if principal is None or principal.token_kind != "session" or not principal.token_id:
        return None
    return hashlib.sha256(f"offline-viewer:{principal.token_id}".encode()).hexdigest()[:32]


class OfflineViewer:
    """Mark the responses a map page's worker may keep with the session they were made for.

    The routes resolve the person once and leave them in the request's scope
    (`cdfmap.principal`, app.api.deps.get_principal), which this reads when the response
    starts: no route needs to know about offline use, and nothing is looked up twice.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or not KEPT.match(scope["path"])
        ):
            await self.app(scope, receive, send)
            return

        async def send_marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                key = viewer_key(scope.get("cdfmap.principal"))
                if key is not None:
                    headers = [*message.get("headers", []), (VIEWER_HEADER, key.encode())]
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_marked)


@lru_cache(maxsize=4)
def _worker(path: Path, mtime_ns: int) -> bytes:
    source = path.read_bytes()
    assert source.count(PLACEHOLDER) == 1, "static/maps/sw.js names __KEPT_PATHS__ once"
    return source.replace(PLACEHOLDER, orjson.dumps(list(KEPT_PATHS)))


@router.get("/maps/sw.js")
async def maps_service_worker(settings: SettingsDep) -> Response:
    """The map pages' service worker: it may control /maps/ and /progress/ (hence the
    Service-Worker-Allowed header: the script lives under /maps/)."""
    path = settings.static_dir / "maps" / "sw.js"
    if not path.is_file():
        raise NotFound(what="maps/sw.js")
    return Response(
        _worker(path, path.stat().st_mtime_ns),
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
    )
