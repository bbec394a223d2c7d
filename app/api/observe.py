"""Every request counted for /metrics and, when asked for, logged as one JSON line.

A pure ASGI middleware (like app.api.limits): BaseHTTPMiddleware would cost every survey's
ingest an extra task. The log line holds what an operator needs and nothing a person could
be found by: the method, the route *template* (never the raw path, whose ids and enrolment
codes identify people), the status, the duration and the bytes sent. No query string (a
search by name would carry the name), no client address, no user, no header.
"""

from __future__ import annotations

import logging
import sys
import time
from datetime import UTC, datetime

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.services.metrics import Metrics

LOGGER = "cdfmap.requests"
UNMATCHED = "(unmatched)"  # a path no route knows: counted together, whatever it was


def request_logger() -> logging.Logger:
    """The JSON lines logger: to stderr (journald keeps it under systemd), set up once."""
    logger = logging.getLogger(LOGGER)
    if not any(getattr(h, "cdfmap_requests", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler.cdfmap_requests = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


def route_template(scope: Scope, outer_root_path: str) -> str:
    """The matched route's path template (FastAPI puts the route in the scope), or a mount's
    path (static files: the mount lengthens root_path); UNMATCHED for a path no route knows."""
    route = scope.get("route")
    # path_format: the template without its convertors ({submission_id}, not {...:uuid}).
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    if isinstance(path, str) and path:
        return path
    root_path = scope.get("root_path", "")
    if root_path != outer_root_path and root_path.startswith(outer_root_path):
        return root_path[len(outer_root_path) :] + "/{path}"
    return UNMATCHED


class RequestObserver:
    """Count each HTTP request into `metrics`; log it as a JSON line when `log_requests`."""

    def __init__(self, app: ASGIApp, metrics: Metrics, log_requests: bool) -> None:
        self.app = app
        self.metrics = metrics
        self.logger = request_logger() if log_requests else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        outer_root_path = scope.get("root_path", "")
        status = 500  # an exception before any answer is what the client sees as a 500
        sent = 0

        async def observe(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope, outer_root_path)
            self.metrics.observe(scope["method"], route, status, seconds)
            if self.logger is not None:
                self.logger.info(
                    orjson.dumps(
                        {
                            "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
                            "method": scope["method"],
                            "route": route,
                            "status": status,
                            "ms": round(seconds * 1000, 2),
                            "bytes": sent,
                        }
                    ).decode()
                )
