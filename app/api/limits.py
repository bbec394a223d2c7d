"""Pure ASGI middleware refusing request bodies above a size, before they are stored, and
bodies that stall or take too long (408): a client that sends 2 MB of a body and then nothing
held the 2 MB in memory for as long as it kept the connection open (900 of them held 1.9 GB
for minutes, review). A body waits at most `idle_seconds` for each of its chunks and
`total_seconds` in all; once it is whole, a wait (for the client leaving) has no bound.

A body refused by its Content-Length is still read (and thrown away) before the 413, up to
DRAIN_MAX_BYTES: closing the connection with the client's bytes unread makes the kernel
reset it, and a client, or a proxy such as Caddy, that is still sending then sees a reset
instead of the 413 with its explanation (Caddy answered 502 for half of them). Beyond that
bound the proxy refuses first (deploy/Caddyfile).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.asgi_errors import scope_language, send_error

# A path's own 413 (its client reads no JSON: ODK Collect): the body and the headers to send,
# for the request's language.
Refusal = Callable[[str], tuple[bytes, list[tuple[bytes, bytes]]]]

# deploy/Caddyfile's request_body max_size: larger bodies never reach the app.
DRAIN_MAX_BYTES = 64 * 1024 * 1024


# A phone on a poor 3G line sends its 8 MB of photos at 20 KB/s (~7 min): a minute without
# a byte is a stalled client, a quarter of an hour a body that never ends.
BODY_IDLE_SECONDS = 60.0
BODY_TOTAL_SECONDS = 15 * 60.0


class BodyTimeout(Exception):
    """Raised inside receive() when a body stalls past its idle time or its total time."""


async def _within(receive: Receive, deadline: float, idle: float) -> Message:
    """The next message, waited for at most `idle` seconds and not past `deadline`
    (asyncio.timeout_at: a timer, no task; wait_for cost 18 us a chunk, this 7)."""
    until = min(deadline, asyncio.get_running_loop().time() + idle)
    try:
        async with asyncio.timeout_at(until):
            return await receive()
    except TimeoutError:
        raise BodyTimeout from None


async def _drain(receive: Receive, announced: int, deadline: float, idle: float) -> None:
    """Read and drop the rest of a refused body (bounded), so the 413 reaches the client."""
    if announced > DRAIN_MAX_BYTES:
        return
    while True:
        try:
            message = await _within(receive, deadline, idle)
        except BodyTimeout:
            return  # the 413 goes out anyway; the client stopped sending
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


class BodyTooLarge(Exception):
    """Raised inside receive() when a streamed body passes the limit."""


class BodySizeLimit:
    """Answer 413 when Content-Length (or the streamed body) exceeds `max_bytes`, or the
    larger limit of a path matching one of `larger` (pattern, bytes, and optionally the
    path's own Refusal): boundary uploads, Collect's submissions."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        larger: Iterable[tuple[str, int] | tuple[str, int, Refusal]] = (),
        idle_seconds: float = BODY_IDLE_SECONDS,
        total_seconds: float = BODY_TOTAL_SECONDS,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.idle_seconds = idle_seconds
        self.total_seconds = total_seconds
        self.larger = tuple(
            (re.compile(entry[0]), entry[1], entry[2] if len(entry) > 2 else None)
            for entry in larger
        )

    def _limit(self, scope: Scope) -> tuple[int, Refusal | None]:
        path = scope.get("path", "")
        return next(
            ((limit, own) for p, limit, own in self.larger if p.fullmatch(path)),
            (self.max_bytes, None),
        )

    async def _refuse(self, scope: Scope, send: Send, max_bytes: int, own: Refusal | None) -> None:
        headers = dict(scope.get("headers") or [])
        if own is None:
            await send_error(
                send,
                headers,
                413,
                "body_too_large",
                [(b"connection", b"close")],
                scope=scope,
                max=max_bytes,
            )
            return
        language = scope_language(scope)
        body, own_headers = own(language)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    *own_headers,
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes, own = self._limit(scope) if self.larger else (self.max_bytes, None)
        deadline = asyncio.get_running_loop().time() + self.total_seconds
        for name, value in scope.get("headers") or []:
            if name == b"content-length":
                try:
                    too_large = int(value) > max_bytes
                except ValueError:
                    too_large = True
                if too_large:
                    announced = int(value) if value.isdigit() else DRAIN_MAX_BYTES + 1
                    await _drain(receive, announced, deadline, self.idle_seconds)
                    await self._refuse(scope, send, max_bytes, own)
                    return
        received = 0
        response_started = False
        whole = False  # the body's last chunk came: later waits are for the client leaving

        async def limited_receive() -> Message:
            nonlocal received, whole
            message = (
                await receive() if whole else await _within(receive, deadline, self.idle_seconds)
            )
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise BodyTooLarge
                whole = not message.get("more_body", False)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not response_started:
                await self._refuse(scope, send, max_bytes, own)
        except BodyTimeout:
            if not response_started:
                headers = dict(scope.get("headers") or [])
                await send_error(
                    send, headers, 408, "body_timeout", [(b"connection", b"close")], scope=scope
                )
