"""The gzip wrapper on a real Starlette app: streaming kept, memory flat, types and methods."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from app.api.compression import Compress, accepts_gzip
from tests.aio import run

CHUNK = 256 * 1024


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("deflate, gzip;q=0.5", True),
        ("GZIP", True),
        ("x-gzip", True),
        ("*", True),
        ("", False),
        ("identity", False),
        ("br", False),
        ("gzip;q=0", False),
        ("gzip; q=0.0, deflate", False),
        ("*;q=0", False),
        ("*, gzip;q=0", False),
        ("gzip;q=bad", False),
    ],
)
def test_accept_encoding(header: str, expected: bool) -> None:
    assert accepts_gzip(header) is expected


def rows(n: int) -> list[bytes]:
    """JSON-ish rows, as compressible as an export's."""
    return [
        b'{"type":"Feature","properties":{"n":%d,"ward":"W%02d"}},\n' % (i, i % 10)
        for i in range(n)
    ]


async def call(
    app: Any, path: str, method: str = "GET", accept: str = "gzip", on_body: Any = None
) -> tuple[dict[str, Any], list[bytes]]:
    """Run one request through the app; the start message's headers and the body chunks
    (`on_body(chunks)` is awaited as each chunk is sent)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"accept-encoding", accept.encode()), (b"host", b"test")],
        "client": ("127.0.0.1", 1),
        "server": ("test", 80),
    }
    started: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        await anyio.sleep_forever()
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            started.update(
                status=message["status"],
                headers={k.decode().lower(): v.decode() for k, v in message["headers"]},
            )
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if on_body is not None:
                await on_body(chunks)

    await app(scope, receive, send)
    return started, chunks


def make_app(gate: anyio.Event | None = None, produced: list[int] | None = None) -> Compress:
    """A Starlette app with a streamed export (waiting on `gate` after its first chunk), a
    small JSON, a PNG, an export too big to hold and a POST."""

    async def export(request: Request) -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            for index, chunk in enumerate(
                [b"".join(rows(6000)), b"".join(rows(6000)[::-1]), b"]}"]
            ):
                if produced is not None:
                    produced.append(index)
                yield chunk
                if index == 0 and gate is not None:
                    await gate.wait()

        return StreamingResponse(body(), media_type="application/geo+json")

    async def big(request: Request) -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            block = b"".join(rows(5000))[:CHUNK]
            for _ in range(200):  # 50 MB
                yield block

        return StreamingResponse(body(), media_type="text/csv")

    async def small(request: Request) -> Response:
        return Response(b'{"a": 1}', media_type="application/json")

    async def page(request: Request) -> Response:
        return Response(b"".join(rows(500)), media_type="application/json")

    async def png(request: Request) -> Response:
        return Response(b"\x89PNG" + b"\0" * 5000, media_type="image/png")

    async def tile(request: Request) -> Response:
        return Response(
            b"\x1a" * 5000,
            media_type="application/vnd.mapbox-vector-tile",
            headers={"ETag": '"t1"'},
        )

    async def post(request: Request) -> Response:
        return Response(b"".join(rows(500)), media_type="application/json")

    starlette = Starlette(
        routes=[
            Route("/x/export", export),
            Route("/x/big", big),
            Route("/x/small", small),
            Route("/x/page", page),
            Route("/x/png", png),
            Route("/x/tile", tile),
            Route("/x/post", post, methods=["POST"]),
            Route("/other/page", page),
        ]
    )
    return Compress(starlette, [("/x/", 1)])


def test_a_streamed_export_is_compressed_chunk_by_chunk() -> None:
    gate = anyio.Event()
    produced: list[int] = []
    app = make_app(gate, produced)
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    seen: list[bytes] = []

    async def on_body(chunks: list[bytes]) -> None:
        seen.append(decoder.decompress(chunks[-1]))
        if len(chunks) == 1:
            # The first chunk is out and decodes to the export's first rows while the export
            # still waits to make its second: the client reads before the server finishes.
            assert produced == [0]
            assert seen[0] == b"".join(rows(6000))
            gate.set()

    head, chunks = run(call(app, "/x/export", on_body=on_body))
    assert head["status"] == 200
    assert head["headers"]["content-encoding"] == "gzip"
    assert head["headers"]["vary"] == "Accept-Encoding"
    assert "content-length" not in head["headers"]
    assert len(chunks) == 4 and produced == [0, 1, 2]  # and the empty last body
    whole = b"".join(rows(6000)) + b"".join(rows(6000)[::-1]) + b"]}"
    assert b"".join(seen) + decoder.flush() == whole
    assert gzip.decompress(b"".join(chunks)) == whole
    assert sum(map(len, chunks)) < len(whole) / 4


def test_memory_stays_flat_while_50_mb_stream() -> None:
    app = make_app()
    total = 0

    async def on_body(chunks: list[bytes]) -> None:
        nonlocal total
        total += len(chunks[-1])
        chunks.clear()  # the client has read it

    tracemalloc.start()
    try:
        head, _ = run(call(app, "/x/big", on_body=on_body))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert head["headers"]["content-encoding"] == "gzip"
    assert 0 < total < 200 * CHUNK / 4
    assert peak < 8 * CHUNK, f"peak {peak / 1e6:.1f} MB while streaming 50 MB"


def test_what_is_left_alone() -> None:
    app = make_app()
    # Small responses, images, POSTs, paths outside the rules, clients without gzip.
    head, body = run(call(app, "/x/small"))
    assert "content-encoding" not in head["headers"] and body == [b'{"a": 1}']
    assert head["headers"]["vary"] == "Accept-Encoding"
    head, _ = run(call(app, "/x/png"))
    assert "content-encoding" not in head["headers"] and "vary" not in head["headers"]
    head, body = run(call(app, "/x/post", method="POST"))
    assert "content-encoding" not in head["headers"] and b"".join(body) == b"".join(rows(500))
    head, _ = run(call(app, "/other/page"))
    assert "content-encoding" not in head["headers"]
    for accept in ("identity", "gzip;q=0", ""):
        head, body = run(call(app, "/x/page", accept=accept))
        assert "content-encoding" not in head["headers"], accept
        assert head["headers"]["vary"] == "Accept-Encoding"
        assert b"".join(body) == b"".join(rows(500))
    head, body = run(call(app, "/x/page"))
    assert head["headers"]["content-encoding"] == "gzip"
    assert int(head["headers"]["content-length"]) == len(body[0])
    assert gzip.decompress(body[0]) == b"".join(rows(500))


def test_a_compressed_tile_has_a_weak_etag() -> None:
    app = make_app()
    head, body = run(call(app, "/x/tile"))
    assert head["headers"]["content-encoding"] == "gzip"
    assert head["headers"]["etag"] == 'W/"t1"'
    assert gzip.decompress(body[0]) == b"\x1a" * 5000
    head, _ = run(call(app, "/x/tile", accept="identity"))
    assert head["headers"]["etag"] == '"t1"' and "content-encoding" not in head["headers"]


def test_levels_are_checked() -> None:
    with pytest.raises(ValueError):
        Compress(make_app(), [("/x/", 0)])
