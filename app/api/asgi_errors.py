"""An error answered by a middleware before any route: the API's error shape (code, a
sentence in the person's language, no field errors), sent over raw ASGI."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from starlette.types import Send

from app.i18n import pick_language, translate


async def send_error(
    send: Send,
    request_headers: dict[bytes, bytes],
    status: int,
    code: str,
    headers: Iterable[tuple[bytes, bytes]] = (),
    **params: Any,
) -> None:
    """Answer `status` with `{"code", "detail", "errors": []}`, the detail translated into
    the request's Accept-Language; `headers` are added to the response's."""
    language = pick_language(request_headers.get(b"accept-language", b"").decode("latin-1"))
    body = orjson.dumps({"code": code, "detail": translate(code, language, **params), "errors": []})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
