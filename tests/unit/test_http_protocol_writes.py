"""app.http_protocol's cycle writes a response's head and body with one transport write."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.flow_control import FlowControl

from app.http_protocol import _Cycle
from tests.aio import run


class Transport(asyncio.Transport):
    """A transport that keeps what is written, one entry per write."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


def cycle(transport: Transport, method: str = "GET") -> _Cycle:
    scope: Any = {"type": "http", "method": method, "http_version": "1.1", "path": "/"}
    return _Cycle(
        scope=scope,
        transport=transport,
        flow=FlowControl(transport),
        logger=logging.getLogger("test"),
        access_logger=logging.getLogger("test.access"),
        access_log=False,
        default_headers=[],
        message_event=asyncio.Event(),
        expect_100_continue=False,
        keep_alive=True,
        on_response=lambda: None,
    )


def test_head_and_body_in_one_write() -> None:
    async def main() -> list[bytes]:
        transport = Transport()
        c = cycle(transport)
        headers = [(b"content-length", b"2")]
        await c.send({"type": "http.response.start", "status": 201, "headers": headers})
        await c.send({"type": "http.response.body", "body": b"{}"})
        await asyncio.sleep(0)  # the turn ends: nothing more leaves
        return transport.writes

    writes = run(main())
    assert writes == [b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\n{}"]


def test_a_head_alone_leaves_when_the_turn_ends() -> None:
    async def main() -> tuple[list[bytes], list[bytes]]:
        transport = Transport()
        c = cycle(transport)
        await c.send({"type": "http.response.start", "status": 200, "headers": []})
        before = list(transport.writes)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        await c.send({"type": "http.response.body", "body": b"abc", "more_body": True})
        await c.send({"type": "http.response.body", "body": b""})
        return before, transport.writes

    before, writes = run(main())
    assert before == []
    assert writes == [
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
        b"3\r\nabc\r\n",
        b"0\r\n\r\n",
    ]


def test_a_head_request_on_a_kept_connection_sends_its_head_at_once() -> None:
    async def main() -> list[bytes]:
        transport = Transport()
        c = cycle(transport, "HEAD")
        headers = [(b"content-length", b"2")]
        await c.send({"type": "http.response.start", "status": 200, "headers": headers})
        await c.send({"type": "http.response.body", "body": b""})
        return transport.writes

    assert run(main()) == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"]
