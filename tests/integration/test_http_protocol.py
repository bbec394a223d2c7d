"""app.http_protocol under a real uvicorn: a response's head leaves with its body in one
write, and a head whose body is late leaves alone, on time."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from bench.common import uvicorn_server


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, int]]:
    with uvicorn_server("tests.http_app:create_app", "postgresql://unused/unused") as (base, _):
        host, port = base.removeprefix("http://").split(":")
        yield host, int(port)


def exchange(server: tuple[str, int], request: bytes) -> tuple[bytes, float, bytes, float]:
    """Send a request; (the first bytes received and when, everything and when)."""
    with socket.create_connection(server, timeout=5) as sock:
        started = time.perf_counter()
        sock.sendall(request)
        first = sock.recv(65536)
        first_at = time.perf_counter() - started
        data = first
        while True:
            more = sock.recv(65536)
            if not more:
                break
            data += more
        return first, first_at, data, time.perf_counter() - started


def get(path: str, method: str = "GET") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode()


def test_a_small_answer_comes_whole(server: tuple[str, int]) -> None:
    first, _, data, _ = exchange(server, get("/small"))
    assert first.startswith(b"HTTP/1.1 200 OK\r\n")
    assert data.endswith(b'\r\n\r\n{"status":"ok"}')
    assert b"content-length: 15\r\n" in data


def test_a_head_request_has_headers_and_no_body(server: tuple[str, int]) -> None:
    _, _, data, _ = exchange(server, get("/small", "HEAD"))
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and data.endswith(b"\r\n\r\n")


def test_one_date_header_the_apps_when_it_sends_one(server: tuple[str, int]) -> None:
    # uvicorn adds its Date to every answer, beside the one the /odk routes send (OpenRosa
    # asks for one): two Date headers.
    _, _, dated, _ = exchange(server, get("/dated"))
    dates = [line for line in dated.lower().split(b"\r\n") if line.startswith(b"date:")]
    assert dates == [b"date: sat, 05 dec 2026 02:00:00 gmt"]
    _, _, plain, _ = exchange(server, get("/small"))
    assert len([line for line in plain.lower().split(b"\r\n") if line.startswith(b"date:")]) == 1


def test_an_empty_answer_still_leaves(server: tuple[str, int]) -> None:
    _, _, data, _ = exchange(server, get("/empty"))
    assert data.startswith(b"HTTP/1.1 204 No Content\r\n") and data.endswith(b"\r\n\r\n")


def test_a_late_body_does_not_hold_back_the_head(server: tuple[str, int]) -> None:
    first, first_at, data, done_at = exchange(server, get("/slow-stream"))
    assert first.startswith(b"HTTP/1.1 200 OK\r\n")
    assert first_at < 0.4 <= done_at  # the head came at once, the body half a second later
    assert b"transfer-encoding: chunked" in data
    assert data.endswith(b"6\r\nfirst,\r\n7\r\nsecond,\r\n4\r\nlast\r\n0\r\n\r\n")


def test_an_app_error_after_the_head_closes_the_connection(server: tuple[str, int]) -> None:
    _, _, data, _ = exchange(server, get("/too-long"))
    assert b"too long" not in data
    # the next connection is served as usual
    assert exchange(server, get("/small"))[2].endswith(b'{"status":"ok"}')


def test_an_openrosa_answer_of_the_app_has_one_date(live_server: str) -> None:
    host, port = live_server.removeprefix("http://").split(":")
    _, _, data, _ = exchange((host, int(port)), get("/odk/formList"))  # 401, asking for Digest
    head = data.split(b"\r\n\r\n", 1)[0].lower().split(b"\r\n")
    assert b"x-openrosa-version: 1.0" in head
    assert len([line for line in head if line.startswith(b"date:")]) == 1
