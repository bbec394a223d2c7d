"""gzip for the JSON the phone app fetches on its first visit (the form definitions).

Only the paths named here are compressed: Starlette's GZipMiddleware buffers nothing but
recompresses every chunk of a streaming response, which the exports (app/services/exports.py,
many MB streamed from a server-side cursor) do not need on a LAN and would pay for in CPU,
and a survey's ingest would pay for the check on every request. A pure ASGI wrapper (like
app.api.limits) that hands the named paths to GZipMiddleware and the rest straight through.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send


class CompressSome:
    """gzip the responses of the paths that start with one of `prefixes`."""

    def __init__(self, app: ASGIApp, prefixes: Iterable[str], minimum_size: int = 1000) -> None:
        self.app = app
        self.prefixes = tuple(prefixes)
        self.gzip = GZipMiddleware(app, minimum_size=minimum_size, compresslevel=6)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.prefixes):
            await self.gzip(scope, receive, send)
        else:
            await self.app(scope, receive, send)
