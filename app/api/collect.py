"""The phone survey app: its shell page and its service worker (scope /collect)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from app.api.deps import SettingsDep
from app.errors import NotFound

router = APIRouter(tags=["collect"], include_in_schema=False)
NO_CACHE = {"Cache-Control": "no-cache"}


def _shell_file(settings: SettingsDep, name: str, media_type: str) -> FileResponse:
    path = settings.static_dir / "collect" / name
    if not path.is_file():
        raise NotFound(what=f"collect/{name}")
    headers = dict(NO_CACHE)
    if name == "sw.js":
        # Served under /collect so that it may control /collect (the page) itself.
        headers["Service-Worker-Allowed"] = "/collect"
    return FileResponse(path, media_type=media_type, headers=headers)


@router.get("/collect")
@router.get("/collect/")
async def collect_shell(settings: SettingsDep) -> FileResponse:
    """The app shell of the offline survey app."""
    return _shell_file(settings, "index.html", "text/html; charset=utf-8")


@router.get("/collect/sw.js")
async def collect_service_worker(settings: SettingsDep) -> FileResponse:
    """The service worker, served from /collect so its scope covers the app."""
    return _shell_file(settings, "sw.js", "text/javascript; charset=utf-8")


@router.get("/collect/manifest.webmanifest")
async def collect_manifest(settings: SettingsDep) -> FileResponse:
    """The web app manifest (installable app)."""
    return _shell_file(settings, "manifest.webmanifest", "application/manifest+json")
