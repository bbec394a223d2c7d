"""gzip for what is read as text over slow links: map data, GeoJSON and CSV exports, forms.

A pure ASGI wrapper (like app.api.limits). Only GET responses of the path prefixes named
here are considered, each prefix with its own compression level, and of those only the
media types that compress (JSON, GeoJSON, CSV, HTML, KML, vector tiles): a GeoPackage, a
zipped Shapefile, an XLSX, a PDF or a PNG goes out as it is, and a survey's ingest (a POST)
pays for nothing but the method check.

Streaming stays streaming: each chunk the app sends is compressed and sent on at once
(Z_SYNC_FLUSH), so the first bytes of a large export reach the client while the database is
still reading, and memory holds one chunk (the exports send 256 KB chunks, so the flushes cost
next to nothing in size). Chunks of 128 KB or more are compressed in a worker thread (zlib
releases the GIL), so the event loop goes on serving other requests meanwhile.

`Vary: Accept-Encoding` goes on every response of a compressible type on those paths,
compressed or not, so a cache never hands gzip to a client that did not ask for it. A strong
ETag on a compressed response is weakened (`W/"…"`, as nginx does): the gzip bytes differ
from the identity bytes, and the routes compare If-None-Match weakly, so a revalidation still
answers 304.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

import anyio.to_thread
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Media types worth compressing (text, or uncompressed binary such as Mapbox Vector Tiles).
COMPRESSIBLE = frozenset(
    {
        "application/json",
        "application/geo+json",
        "application/schema+json",
        "text/csv",
        "text/html",
        "text/plain",
        "application/vnd.google-earth.kml+xml",
        "application/vnd.mapbox-vector-tile",
    }
)
THREAD_MINIMUM = 128 * 1024


def accepts_gzip(header: str) -> bool:
    """Whether an Accept-Encoding header allows gzip (q > 0, by name or by `*`)."""
    named: float | None = None
    star: float | None = None
    for part in header.split(","):
        coding, _, parameters = part.partition(";")
        coding = coding.strip().lower()
        quality = 1.0
        name, _, value = parameters.partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value.strip())
            except ValueError:
                quality = 0.0
        if coding in ("gzip", "x-gzip"):
            named = quality if named is None else max(named, quality)
        elif coding == "*":
            star = quality
    if named is not None:
        return named > 0
    return star is not None and star > 0


def _media_type(headers: Headers) -> str:
    return headers.get("content-type", "").partition(";")[0].strip().lower()


def _weak(etag: str) -> str:
    return etag if etag.startswith("W/") else f"W/{etag}"


class Compress:
    """gzip the compressible GET responses of the paths that start with one of the prefixes,
    at that prefix's level (the first prefix that matches wins)."""

    def __init__(
        self, app: ASGIApp, rules: Iterable[tuple[str, int]], minimum_size: int = 1000
    ) -> None:
        self.app = app
        self.rules = tuple(rules)
        for _, level in self.rules:
            if not 1 <= level <= 9:
                raise ValueError("a gzip level is 1 to 9")
        self.prefixes = tuple(prefix for prefix, _ in self.rules)
        self.minimum_size = minimum_size

    def level(self, path: str) -> int | None:
        """The compression level for a path, None when it is never compressed."""
        for prefix, level in self.rules:
            if path.startswith(prefix):
                return level
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not scope["path"].startswith(self.prefixes)
        ):
            await self.app(scope, receive, send)
            return
        level = self.level(scope["path"])
        assert level is not None
        gzip = accepts_gzip(Headers(scope=scope).get("accept-encoding", ""))
        await _Responder(self.app, level if gzip else None, self.minimum_size)(scope, receive, send)


class _Responder:
    """One response: passed through, or gzip-compressed chunk by chunk."""

    def __init__(self, app: ASGIApp, level: int | None, minimum_size: int) -> None:
        self.app = app
        self.level = level  # None: the client does not accept gzip
        self.minimum_size = minimum_size
        self.send: Send
        self.start: Message | None = None  # held until the first body says what to do
        self.compressor: zlib._Compress | None = None
        self.passing = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.send = send
        await self.app(scope, receive, self.on_send)

    async def on_send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            await self.on_start(message)
        elif kind == "http.response.body" and not self.passing:
            await self.on_body(message)
        else:
            await self.send(message)

    async def on_start(self, message: Message) -> None:
        headers = MutableHeaders(raw=message.setdefault("headers", []))
        compressible = _media_type(headers) in COMPRESSIBLE
        if compressible:
            headers.add_vary_header("Accept-Encoding")
        status = message["status"]
        if status == 304 and compressible and self.level is not None and "etag" in headers:
            # The same tag as the compressed 200 this revalidates.
            headers["ETag"] = _weak(headers["etag"])
        if (
            self.level is None
            or not compressible
            or status in (204, 206, 304)
            or "content-encoding" in headers
        ):
            self.passing = True
            await self.send(message)
            return
        self.start = message

    async def on_body(self, message: Message) -> None:
        body: bytes = message.get("body", b"")
        more = bool(message.get("more_body", False))
        if self.start is not None:
            start, self.start = self.start, None
            headers = MutableHeaders(raw=start["headers"])
            if not more and len(body) < self.minimum_size:
                self.passing = True  # too small to gain anything
                await self.send(start)
                await self.send(message)
                return
            assert self.level is not None
            self.compressor = zlib.compressobj(self.level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
            body = await self.compress(body, more)
            headers["Content-Encoding"] = "gzip"
            if "etag" in headers:
                headers["ETag"] = _weak(headers["etag"])
            if more:
                del headers["Content-Length"]
            else:
                headers["Content-Length"] = str(len(body))
            await self.send(start)
        else:
            body = await self.compress(body, more)
        await self.send({"type": "http.response.body", "body": body, "more_body": more})

    async def compress(self, body: bytes, more: bool) -> bytes:
        if len(body) >= THREAD_MINIMUM:
            return await anyio.to_thread.run_sync(self._compress, body, more)
        return self._compress(body, more)

    def _compress(self, body: bytes, more: bool) -> bytes:
        assert self.compressor is not None
        data = self.compressor.compress(body)
        return data + self.compressor.flush(zlib.Z_SYNC_FLUSH if more else zlib.Z_FINISH)
