"""uvicorn's httptools protocol, sending a response's head and body in one write.

Stock uvicorn writes the status line and headers (`http.response.start`) and then the body
(`http.response.body`) as two writes: two system calls and, on a keep-alive connection, two
TCP segments and two wake-ups of the client for every answer. Most answers here are one small
JSON body sent right after its head (every phone's survey POST), so the head is held for the
moment it takes the app to send the body and leaves with it. A head whose body is not sent
in the same turn of the event loop (a streamed export still reading its first rows) leaves on
its own at the end of that turn, as before: nobody waits longer for the headers.

An answer with a Date header of its own (OpenRosa's) gets no second one from uvicorn.

Run with `uvicorn --http app.http_protocol:HttpProtocol` (Makefile, deploy, bench).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle


class _Capture:
    """Stands in for the transport while uvicorn writes a response head: keeps the bytes."""

    __slots__ = ("data",)

    def __init__(self) -> None:
        self.data = b""

    def write(self, data: bytes) -> None:
        self.data += data


class _Prefixed:
    """Stands in for the transport while uvicorn writes a body: the held head goes first, in
    the same write."""

    __slots__ = ("head", "transport")

    def __init__(self, transport: asyncio.Transport, head: bytes) -> None:
        self.transport = transport
        self.head = head

    def write(self, data: bytes) -> None:
        head, self.head = self.head, b""
        self.transport.write(head + data if head else data)

    def close(self) -> None:
        """A response with no body bytes (HEAD) ends its connection: its head first."""
        self.write(b"")
        self.transport.close()

    def __getattr__(self, name: str) -> Any:  # is_closing() and others: the real transport's
        return getattr(self.transport, name)


def _dated(message: Any) -> bool:
    """Whether a response start carries its own Date header."""
    return any(name.lower() == b"date" for name, _value in message.get("headers", ()))


class _Cycle(RequestResponseCycle):
    """A request-response cycle that holds its head until its body (or the loop's turn end)."""

    _head: bytes = b""

    async def send(self, message: Any) -> None:
        transport = self.transport
        if not self.response_started:
            if message.get("type") == "http.response.start" and _dated(message):
                # uvicorn puts its Date before the app's headers without looking at them: an
                # answer dating itself (OpenRosa's, app.api.odk) would carry two.
                self.default_headers = [h for h in self.default_headers if h[0] != b"date"]
            capture = _Capture()
            self.transport = capture  # type: ignore[assignment]
            try:
                await super().send(message)
            finally:
                self.transport = transport
            if capture.data:
                self._head = capture.data
                asyncio.get_running_loop().call_soon(self._flush_head)
            return
        if self._head:
            prefixed = _Prefixed(transport, self._head)
            self._head = b""
            self.transport = prefixed  # type: ignore[assignment]
            try:
                await super().send(message)
            finally:
                self.transport = transport
                if prefixed.head:  # no body bytes (HEAD), or the body refused (an app error)
                    self._head = prefixed.head
                    self._flush_head()
            return
        await super().send(message)

    def _flush_head(self) -> None:
        """The body did not come in the same turn: the head leaves alone."""
        head, self._head = self._head, b""
        if head and not self.transport.is_closing():
            self.transport.write(head)


class HttpProtocol(HttpToolsProtocol):
    """httptools protocol whose cycles write a response's head together with its body."""

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        if type(self.cycle) is RequestResponseCycle:
            self.cycle.__class__ = _Cycle
