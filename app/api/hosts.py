"""Requests for a server name that is not this city's are refused (400) before any route.

The app builds absolute addresses from the request's Host header (the enrolment links and QR
codes, ODK Collect's form list and submission URL, the maps' OGC links): a request that
reached the server under another name would get addresses pointing elsewhere, and a page
cached under that name. Caddy serves only the name in its site address, but a second site
added there, a catch-all, or uvicorn reached around the proxy would pass any name on; the
app refuses them itself (ALLOWED_HOSTS, app/settings.py).

Starlette's TrustedHostMiddleware does the matching, but answers in English only and has no
way to let the machine's own health checks through: `curl http://127.0.0.1:8000/readyz` on
the server (docs/deploy.md), Prometheus scraping 127.0.0.1:8000/metrics, the tests' and the
benchmarks' servers asked at 127.0.0.1. So: a request from this machine that no proxy
forwarded (`app.api.health.is_local`) may name the loopback (127.0.0.1, ::1, localhost);
through Caddy, a request naming the loopback is refused like any other unknown name.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.asgi_errors import send_error
from app.api.health import LOOPBACK, PROXY_HEADERS

LOOPBACK_NAMES = frozenset({*LOOPBACK, "localhost"})
FORWARDED = tuple(header.encode() for header in PROXY_HEADERS)


def host_name(header: str) -> str:
    """The name of a Host header, without its port, lower-case: `[::1]:8000` -> `::1`. A
    value that is no name with an optional port (`cdf.example.org:@evil.example`) comes back
    whole: it matches no allowed name."""
    value = header.strip().lower()
    if value.startswith("["):  # an IPv6 address: [::1] or [::1]:8000
        end = value.find("]")
        rest = value[end + 1 :] if end > 0 else ":x"
        if ":" not in value[1:end] or (rest and not (rest[0] == ":" and rest[1:].isdigit())):
            return value
        return value[1:end]
    if value.count(":") > 1:  # an IPv6 address without brackets (no port then)
        return value
    name, colon, port = value.partition(":")
    if colon and not port.isdigit():
        return value
    return name.rstrip(".")


def host_allowed(name: str, allowed: Iterable[str]) -> bool:
    """Whether `name` matches one of `allowed`: `*` (any), `*.example.org` (a subdomain),
    or the exact name."""
    for pattern in allowed:
        if pattern == "*" or pattern == name:
            return True
        if pattern.startswith("*.") and name.endswith(pattern[1:]):
            return True
    return False


class AllowedHosts:
    """Answer 400 to a request whose Host header is not one of `allowed` (app/settings.py's
    ALLOWED_HOSTS); `*` among them turns the check off."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str]) -> None:
        self.app = app
        self.allowed = tuple(host_name(pattern) for pattern in allowed)
        self.any_host = "*" in self.allowed

    def _local(self, scope: Scope, headers: dict[bytes, bytes]) -> bool:
        client = scope.get("client")
        address = client[0] if client else None
        return address in LOOPBACK and not any(header in headers for header in FORWARDED)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.any_host or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = scope.get("headers") or []
        headers = dict(raw)
        # One Host header, or none is served: with two, the check and the app's links could
        # read different ones (the server's HTTP parser passes both on).
        hosts = [value for key, value in raw if key == b"host"]
        name = host_name(hosts[0].decode("latin-1")) if len(hosts) == 1 else ""
        if host_allowed(name, self.allowed) or (
            name in LOOPBACK_NAMES and self._local(scope, headers)
        ):
            await self.app(scope, receive, send)
            return
        await send_error(send, headers, 400, "unknown_host", [(b"cache-control", b"no-store")])
