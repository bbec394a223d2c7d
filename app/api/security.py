"""Headers every response carries, and writes refused when a page on another site makes them.

A pure ASGI middleware (like app.api.limits): Starlette's BaseHTTPMiddleware would run every
request, the survey ingest included, through an extra task and memory streams.

- Content-Security-Policy: scripts only from this server, plus the inline scripts of our own
  pages, which carry the request's nonce (`request.state.csp_nonce`); no plugins, no framing,
  no <base>. Data never becomes script (see app/geo/web_map.py), and the policy stops what
  an escaping mistake would let through.
- X-Content-Type-Options, X-Frame-Options, Referrer-Policy; `Cache-Control: private,
  no-store` on the API's answers that say nothing of caching.
- A POST, PUT, PATCH or DELETE sent by a page of another origin is refused (403) before it
  reaches a route: browsers send `Origin` (and `Sec-Fetch-Site`) with such requests, while
  phones, ODK Collect, curl and QGIS either send our own origin or none. Together with
  accepting JSON only as application/json, which no page can send to us without a CORS
  preflight we never grant, no other site can write through a visitor's browser.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.asgi_errors import send_error

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Responses a browser shows with a plugin or viewer of its own, which a policy would block.
NO_POLICY_TYPES = (b"application/pdf",)
# The API's answers (households with their names and phones, exports, PDFs) are kept by no
# browser or proxy cache unless the route says otherwise (tiles, the app's context).
API_PREFIX = "/api/"
NO_STORE = (b"cache-control", b"private, no-store")


def page_policy(nonce: str | None, image_sources: Iterable[str] = ()) -> str:
    """The Content-Security-Policy of a response whose inline scripts carry `nonce` (none:
    scripts from this server only)."""
    images = " ".join(["'self'", "data:", "blob:", *image_sources])
    scripts = f"'self' 'nonce-{nonce}'" if nonce else "'self'"
    return (
        "default-src 'self'; "
        f"script-src {scripts}; "
        "style-src 'self' 'unsafe-inline'; "
        f"img-src {images}; "
        # The phone plays a recording it keeps before sending it (an object URL of its blob).
        "media-src 'self' blob:; "
        "connect-src 'self'; "
        "worker-src 'self'; "
        "object-src 'none'; "
        "base-uri 'none'; "
        "frame-ancestors 'none'; "
        "form-action 'self'"
    )


def origin_of(url: str | None) -> str | None:
    """scheme://host[:port] of a URL template (e.g. a basemap's), as a policy source; else None.

    A `{s}` subdomain placeholder becomes the policy's `*.` wildcard.
    """
    if not url:
        return None
    parts = urlsplit(url)
    netloc = parts.netloc.replace("{s}", "*")
    if parts.scheme not in ("http", "https") or not netloc or "{" in netloc:
        return None
    return f"{parts.scheme}://{netloc}"


class SecurityHeaders:
    """Add the security headers to every response; refuse cross-site writes with 403."""

    def __init__(
        self,
        app: ASGIApp,
        image_sources: Iterable[str] = (),
        trusted_origins: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.image_sources = tuple(image_sources)
        self.trusted_origins = frozenset(o.rstrip("/").lower() for o in trusted_origins)
        self._static = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"same-origin"),
        ]
        self._plain_policy = page_policy(None, self.image_sources).encode()

    def _cross_site(self, headers: dict[bytes, bytes]) -> bool:
        origin = headers.get(b"origin")
        if origin is None:
            return headers.get(b"sec-fetch-site") == b"cross-site"
        text = origin.decode("latin-1").strip().lower()
        if text in self.trusted_origins:
            return False
        parts = urlsplit(text)
        host = headers.get(b"host", b"").decode("latin-1").strip().lower()
        # The scheme is not compared: behind a TLS proxy the browser's https origin reaches
        # us over http. The host (and port) is what tells another site from ours.
        return text == "null" or not parts.netloc or parts.netloc != host

    async def _refuse(self, headers: dict[bytes, bytes], send: Send, policy: bytes) -> None:
        await send_error(
            send,
            headers,
            403,
            "cross_origin",
            [*self._static, (b"content-security-policy", policy)],
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] in UNSAFE_METHODS:
            # Writes (every phone's survey) render no page with inline scripts: a fixed
            # policy, no nonce to make.
            policy = self._plain_policy
            headers = dict(scope.get("headers") or [])
            if self._cross_site(headers):
                await self._refuse(headers, send, policy)
                return
        else:
            nonce = secrets.token_urlsafe(16)
            policy = page_policy(nonce, self.image_sources).encode()
            scope.setdefault("state", {})["csp_nonce"] = nonce
        extra = [*self._static, (b"content-security-policy", policy)]
        api = scope["path"].startswith(API_PREFIX)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                if api and not any(name == b"cache-control" for name, _ in headers):
                    headers.append(NO_STORE)
                for name, value in headers:
                    if name == b"content-type" and value.startswith(NO_POLICY_TYPES):
                        headers.extend(self._static)
                        break
                else:
                    headers.extend(extra)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
