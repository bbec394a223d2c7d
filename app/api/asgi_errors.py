"""An error answered by a middleware before any route: the API's error shape (code, a
sentence in the person's language, no field errors), sent over raw ASGI; or, given the
request's scope, a small page when a browser navigated there (app.api.error_pages)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs

import orjson
from starlette.types import Scope, Send

from app.api.error_pages import error_page, wants_page
from app.i18n import accepted_language, pick_language, translate


def scope_language(scope: Scope) -> str:
    """vi or en for a request not yet routed: ?lang= first, then Accept-Language (as
    app.api.errors.request_language chooses for the routes)."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    headers = dict(scope.get("headers") or [])
    return accepted_language((query.get("lang") or [None])[-1]) or pick_language(
        headers.get(b"accept-language", b"").decode("latin-1")
    )


async def send_error(
    send: Send,
    request_headers: dict[bytes, bytes],
    status: int,
    code: str,
    headers: Iterable[tuple[bytes, bytes]] = (),
    scope: Scope | None = None,
    **params: Any,
) -> None:
    """Answer `status` with `{"code", "detail", "errors": []}`, the detail translated into
    the request's language (with `scope`: its ?lang=, else its Accept-Language); with `scope`,
    a browser's navigation gets the sentence as a page. `headers` are added to the response's."""
    if scope is None:
        language = pick_language(request_headers.get(b"accept-language", b"").decode("latin-1"))
    else:
        language = scope_language(scope)
    detail = translate(code, language, **params)
    accept = request_headers.get(b"accept", b"").decode("latin-1")
    if scope is not None and wants_page(scope.get("path", ""), accept):
        body = error_page(status, detail, language).encode()
        content_type = [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"cache-control", b"no-store"),
        ]
    else:
        body = orjson.dumps({"code": code, "detail": detail, "errors": []})
        content_type = [(b"content-type", b"application/json")]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                *content_type,
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
