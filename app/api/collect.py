"""The phone survey app: its shell page, its service worker (scope /collect) and its assets.

Every response here says `Cache-Control: no-cache`: the browser may keep a copy but must ask
the server (an ETag round trip, 304 when unchanged) before using it. Offline use is the
service worker's business, and its cache is refreshed whenever any asset changes: sw.js is
served with a hash of every file under static/collect/ as its VERSION.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.staticfiles import StaticFiles

from app.api.deps import SettingsDep
from app.errors import NotFound

router = APIRouter(tags=["collect"], include_in_schema=False)
NO_CACHE = {"Cache-Control": "no-cache"}
VERSION_PLACEHOLDER = "__ASSETS_VERSION__"


def _shell_file(settings: SettingsDep, name: str, media_type: str) -> FileResponse:
    path = settings.static_dir / "collect" / name
    if not path.is_file():
        raise NotFound(what=f"collect/{name}")
    return FileResponse(path, media_type=media_type, headers=NO_CACHE)


def assets_version(directory: Path) -> str:
    """A short hash of the names and bytes of every file under `directory`."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _service_worker(directory: Path) -> bytes:
    source = (directory / "sw.js").read_bytes()
    return source.replace(VERSION_PLACEHOLDER.encode(), assets_version(directory).encode())


@lru_cache(maxsize=4)
def _assets(directory: Path) -> StaticFiles:
    return StaticFiles(directory=directory, check_dir=False)


@router.get("/collect")
@router.get("/collect/")
async def collect_shell(settings: SettingsDep) -> FileResponse:
    """The app shell of the offline survey app."""
    return _shell_file(settings, "index.html", "text/html; charset=utf-8")


@router.get("/collect/sw.js")
async def collect_service_worker(settings: SettingsDep) -> Response:
    """The service worker, served from /collect so its scope covers the app."""
    directory = settings.static_dir / "collect"
    if not (directory / "sw.js").is_file():
        raise NotFound(what="collect/sw.js")
    # About a hundred kB read and hashed: off the event loop.
    body = await run_in_threadpool(_service_worker, directory)
    headers = {**NO_CACHE, "Service-Worker-Allowed": "/collect"}
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)


@router.get("/collect/manifest.webmanifest")
async def collect_manifest(settings: SettingsDep) -> FileResponse:
    """The web app manifest (installable app)."""
    return _shell_file(settings, "manifest.webmanifest", "application/manifest+json")


@router.api_route("/static/collect/{path:path}", methods=["GET", "HEAD"])
async def collect_asset(path: str, request: Request, settings: SettingsDep) -> Response:
    """A script, style or icon of the app, always revalidated (ETag / 304)."""
    files = _assets(settings.static_dir / "collect")
    response = await files.get_response(path, request.scope)  # it refuses a way out
    response.headers.update(NO_CACHE)
    return response
