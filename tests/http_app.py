"""A bare ASGI app for the HTTP protocol tests (tests/integration/test_http_protocol.py)."""

from __future__ import annotations

import asyncio
from typing import Any

Scope = dict[str, Any]


async def _app(scope: Scope, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path in ("/healthz", "/small"):
        body = b'{"status":"ok"}'
        headers = [(b"content-type", b"application/json"), (b"content-length", b"15")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
    elif path == "/slow-stream":  # headers, then the first chunk 0.5 s later
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await asyncio.sleep(0.5)
        for chunk in (b"first,", b"second,", b"last"):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/dated":  # a Date of its own (OpenRosa's): uvicorn's is not added beside it
        headers = [(b"date", b"Sat, 05 Dec 2026 02:00:00 GMT"), (b"content-length", b"0")]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/empty":
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/too-long":  # an app error after its head: the connection is closed
        headers = [(b"content-length", b"2")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"too long"})


def create_app() -> Any:
    """The app (a factory, as uvicorn_server starts apps)."""
    return _app
