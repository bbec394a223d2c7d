"""The phone survey app: its shell page, its service worker (scope /collect) and its assets.

The app's own files say `Cache-Control: no-cache`: the browser may keep a copy but must ask
the server (an ETag round trip, 304 when unchanged) before using it. Offline use and repeat
visits are the service worker's business (it answers the assets from its cache), and its
cache is refreshed whenever any asset changes: sw.js is served with a hash of every file
under static/collect/ as its VERSION. Vendored libraries live in folders named with their
version (`static/vendor/leaflet-1.9.4/`): they never change under one URL, so they are
cached for a year, `immutable`.

Volunteers open the app on 3G: text files (scripts, styles, the page) go gzip-compressed to
a client that accepts it, about a quarter of their size. Each file is compressed once (level
9, ~5 ms for the largest) and kept in memory by path, size and modification time; a file
changed on disk is compressed again. Measured in docs/benchmarks.md (bench/phone.py).
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import re
from email.utils import formatdate
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from starlette.concurrency import run_in_threadpool

from app.api.deps import SettingsDep
from app.errors import NotFound

router = APIRouter(tags=["collect"], include_in_schema=False)
NO_CACHE = {"Cache-Control": "no-cache"}
# On every file served here: the survey app's service worker keeps only answers carrying it,
# never a page that someone in between answered with (a captive portal's 200 login page).
OUR_FILE = {"X-App-File": "1"}
IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}
VERSION_PLACEHOLDER = "__ASSETS_VERSION__"
# Worth compressing: text. Images (PNG, JPEG) are compressed already.
COMPRESSIBLE = frozenset({".js", ".mjs", ".css", ".html", ".json", ".webmanifest", ".svg", ".txt"})
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
    ".map": "application/json",
}
# A vendored library's folder carries its version: leaflet-1.9.4, openrosa-xpath-evaluator-3.1.0-p1.
VERSIONED_FOLDER = re.compile(r"^[A-Za-z0-9_.-]+-\d+(\.\d+)+[A-Za-z0-9.-]*$")


@lru_cache(maxsize=256)
def _gzipped(path: Path, size: int, mtime_ns: int) -> bytes:
    """The gzip bytes of a file as it is now (size and mtime are the cache key)."""
    # mtime=0: the same bytes give the same compressed bytes, whatever the time.
    return gzip.compress(path.read_bytes(), compresslevel=9, mtime=0)


def _accepts_gzip(request: Request) -> bool:
    accepted = request.headers.get("accept-encoding", "")
    return any(
        part.split(";")[0].strip() == "gzip" and not part.replace(" ", "").endswith(";q=0")
        for part in accepted.split(",")
    )


def _inside(directory: Path, path: str) -> Path | None:
    """The file `path` names under `directory`, or None (absent, a folder, or a way out)."""
    if "\x00" in path or "\\" in path:
        return None
    base = directory.resolve()
    try:
        full = (base / path).resolve()
        # is_file() answers False for a file that is not there, but raises for a name the
        # system cannot hold (a segment past 255 bytes, a path past 4,096): a 404 too.
        if not full.is_relative_to(base) or not full.is_file():
            return None
    except (OSError, ValueError):
        return None
    return full


async def static_file(
    request: Request, path: Path, cache: dict[str, str], media_type: str | None = None
) -> Response:
    """A file with an ETag (304 when the client has it), gzip-compressed when the client
    accepts it and the file is text."""
    stat = await run_in_threadpool(path.stat)
    suffix = path.suffix.lower()
    compress = suffix in COMPRESSIBLE and _accepts_gzip(request)
    tag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}{"-gz" if compress else ""}"'
    headers = {
        **cache,
        **OUR_FILE,
        "ETag": tag,
        "Last-Modified": formatdate(stat.st_mtime, usegmt=True),
        "Vary": "Accept-Encoding",
    }
    media = (
        media_type
        or MEDIA_TYPES.get(suffix)
        or mimetypes.guess_type(path.name)[0]
        or "application/octet-stream"
    )
    wanted = [t.strip() for t in request.headers.get("if-none-match", "").split(",")]
    if tag in wanted or f"W/{tag}" in wanted:
        return Response(status_code=304, headers=headers)
    if not compress:
        return FileResponse(path, media_type=media, headers=headers, stat_result=stat)
    body = await run_in_threadpool(_gzipped, path, stat.st_size, stat.st_mtime_ns)
    headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=media, headers=headers)


def _shell_file(settings: SettingsDep, name: str) -> Path:
    path = settings.static_dir / "collect" / name
    if not path.is_file():
        raise NotFound(what=f"collect/{name}")
    return path


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


@router.get("/collect")
@router.get("/collect/")
async def collect_shell(request: Request, settings: SettingsDep) -> Response:
    """The app shell of the offline survey app."""
    return await static_file(request, _shell_file(settings, "index.html"), NO_CACHE)


@router.get("/collect/sw.js")
async def collect_service_worker(request: Request, settings: SettingsDep) -> Response:
    """The service worker, served from /collect so its scope covers the app."""
    directory = settings.static_dir / "collect"
    if not (directory / "sw.js").is_file():
        raise NotFound(what="collect/sw.js")
    # About a hundred kB read and hashed: off the event loop.
    body = await run_in_threadpool(_service_worker, directory)
    headers = {**NO_CACHE, "Service-Worker-Allowed": "/collect", "Vary": "Accept-Encoding"}
    if _accepts_gzip(request):
        body = await run_in_threadpool(gzip.compress, body, 9, mtime=0)
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)


@router.get("/collect/manifest.webmanifest")
async def collect_manifest(request: Request, settings: SettingsDep) -> Response:
    """The web app manifest (installable app)."""
    return await static_file(request, _shell_file(settings, "manifest.webmanifest"), NO_CACHE)


@router.api_route("/static/collect/{path:path}", methods=["GET", "HEAD"])
async def collect_asset(path: str, request: Request, settings: SettingsDep) -> Response:
    """A script, style or icon of the app, always revalidated (ETag / 304)."""
    found = _inside(settings.static_dir / "collect", path)
    if found is None:
        raise NotFound(what=f"static/collect/{path}")
    return await static_file(request, found, NO_CACHE)


@router.api_route("/static/vendor/{path:path}", methods=["GET", "HEAD"])
async def vendor_asset(path: str, request: Request, settings: SettingsDep) -> Response:
    """A vendored library's file: cached for a year when its folder names its version."""
    found = _inside(settings.static_dir / "vendor", path)
    if found is None:
        raise NotFound(what=f"static/vendor/{path}")
    folder = path.split("/", 1)[0]
    cache = IMMUTABLE if VERSIONED_FOLDER.match(folder) else NO_CACHE
    return await static_file(request, found, cache)


@router.api_route("/static/{path:path}", methods=["GET", "HEAD"])
async def other_static(path: str, request: Request, settings: SettingsDep) -> Response:
    """The pages' own scripts and styles (maps, review, admin): compressed, revalidated."""
    found = _inside(settings.static_dir, path)
    if found is None:
        raise NotFound(what=f"static/{path}")
    return await static_file(request, found, NO_CACHE)
