"""Faults a live server meets in the field: readers that stop, downloads cut off, a database
restart. Afterwards every request must succeed and nothing acknowledged may be lost."""

from __future__ import annotations

import logging
import os
import random
import socket
import struct
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, make_url, text

from app.forms.registry import FormRegistry
from app.geo import sample_city
from app.main import create_app
from app.services.samples import insert_submissions
from app.settings import Settings
from bench.common import uvicorn_server
from tests.factories import household_survey

HOUSEHOLDS = 20_000  # ~17 MB of GeoJSON: more than every buffer between COPY and a client
STALL_SECONDS = 3
EXPORT = "/api/v1/export/households.geojson?city=tam-ky&surveys=all"
READS = ("/healthz", "/api/v1/cities", "/api/v1/cities/tam-ky/wards", "/api/v1/submissions?limit=5")
APP_BACKENDS = (
    "FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'cdfmap'"
)


@pytest.fixture(scope="module")
def households(sync_engine: Engine, forms: FormRegistry) -> Iterator[int]:
    """The sample city's households, enough that an export outgrows every socket buffer."""
    with sync_engine.begin() as connection:
        connection.execute(text("TRUNCATE household_surveys CASCADE"))
        city = sample_city.generate_city()
        count = insert_submissions(
            connection, forms, sample_city.generate_households(city, HOUSEHOLDS)
        )
    yield count
    with sync_engine.begin() as connection:
        connection.execute(text("TRUNCATE household_surveys CASCADE"))


@dataclass(frozen=True)
class Live:
    """A server under uvicorn, and how to call it signed in."""

    base: str
    pid: int
    token: str

    def client(self, timeout: float = 30) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.Client(base_url=self.base, timeout=timeout, headers=headers)


@pytest.fixture(scope="module")
def server(database_url: str, households: int, admin_token: str) -> Iterator[Live]:
    """A live uvicorn whose exports give up on a silent client after a few seconds."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EXPORT_STALL_SECONDS", str(STALL_SECONDS))
        with uvicorn_server("app.main:create_app", database_url) as (base, pid):
            yield Live(base, pid, admin_token)


@pytest.fixture(scope="module")
def small_pool_server(database_url: str, households: int, admin_token: str) -> Iterator[Live]:
    """A live uvicorn with a pool of 4: a connection given back broken is met again soon."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DB_POOL_SIZE", "4")
        with uvicorn_server("app.main:create_app", database_url) as (base, pid):
            yield Live(base, pid, admin_token)


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        time.sleep(0.1)


def busy_backends(sync_engine: Engine) -> int:
    """The app's database sessions that are doing something (not idle in the pool)."""
    with sync_engine.connect() as connection:
        return int(connection.scalar(text(f"SELECT count(*) {APP_BACKENDS} AND state <> 'idle'")))


def spool_files(pid: int) -> int:
    """Unnamed temporary files the server holds open (but stdout and stderr: pytest's capture)."""
    prefix = tempfile.gettempdir()
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        if int(fd) <= 2:
            continue
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            continue
        count += target.startswith(prefix) and target.endswith("(deleted)")
    return count


def start_download(live: Live, path: str, receive_buffer: int = 4096) -> socket.socket:
    """A raw client that sends the GET of `path` with a small receive buffer."""
    url = httpx.URL(live.base)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.connect((url.host, url.port or 80))
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {url.host}\r\nAuthorization: Bearer {live.token}\r\n\r\n"
    )
    sock.sendall(request.encode())
    return sock


def reset(sock: socket.socket) -> None:
    """Close abruptly: a reset, as when a phone loses its network."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def assert_reads_answer(live: Live, seconds: float = 5.0) -> None:
    with live.client(seconds) as http:
        for path in READS:
            response = http.get(path)
            assert response.status_code == 200, (path, response.status_code, response.text)


def full_export(http: httpx.Client) -> int:
    response = http.get(EXPORT)
    assert response.status_code == 200, response.text
    return len(orjson.loads(response.content)["features"])


def test_readers_that_never_read_do_not_hold_the_database(
    server: Live, sync_engine: Engine, households: int
) -> None:
    stalled = [start_download(server, EXPORT) for _ in range(24)]
    try:
        time.sleep(1.0)  # every export has started and filled what buffers it can
        started = time.monotonic()
        assert_reads_answer(server)
        assert time.monotonic() - started < 5
        wait_until(lambda: busy_backends(sync_engine) == 0, 15, "the app's sessions idle")
        # A client that accepts nothing for the stall time loses its download, and the
        # server what it kept for it.
        wait_until(lambda: spool_files(server.pid) == 0, STALL_SECONDS + 15, "spool files closed")
    finally:
        for sock in stalled:
            sock.close()
    with server.client() as http:
        assert full_export(http) == households


def test_downloads_cut_off_leave_no_broken_connection(
    small_pool_server: Live, households: int
) -> None:
    live = small_pool_server
    chance = random.Random(4)
    cutting = threading.Event()
    answers: list[tuple[str, int]] = []

    def cut_off(_: int) -> None:
        sock = start_download(live, EXPORT, receive_buffer=65536)
        try:
            sock.recv(chance.choice((1, 1000, 65536)))
            time.sleep(chance.choice((0, 0.005, 0.02, 0.1)))
        finally:
            reset(sock)
        with live.client() as http:  # the next person's request
            for path in READS:
                answers.append((path, http.get(path).status_code))

    def read_meanwhile() -> None:
        with live.client() as http:
            while cutting.is_set():
                for path in READS:
                    answers.append((path, http.get(path).status_code))

    cutting.set()
    with ThreadPoolExecutor(10) as threads:
        readers = [threads.submit(read_meanwhile) for _ in range(2)]
        list(threads.map(cut_off, range(80)))
        cutting.clear()
        for reader in readers:
            reader.result()
    with live.client() as http:
        for _ in range(10):
            for path in READS:
                answers.append((path, http.get(path).status_code))
        assert full_export(http) == households
    assert {status for _, status in answers} == {200}, [a for a in answers if a[1] != 200]


def test_a_database_restart_during_reads_and_writes_loses_nothing(
    server: Live, sync_engine: Engine
) -> None:
    stop = threading.Event()
    acknowledged: list[str] = []
    answers: list[tuple[str, int]] = []

    def post_batches(http: httpx.Client) -> None:
        pending = [household_survey() for _ in range(20)]
        response = http.post("/api/v1/submissions/batch", json={"submissions": pending})
        answers.append(("batch", response.status_code))
        if response.status_code == 200:
            for item in response.json()["results"]:
                if item["outcome"] in ("created", "duplicate"):
                    acknowledged.append(item["id"])

    def load(work: Callable[[httpx.Client], None]) -> None:
        with server.client() as http:
            while not stop.is_set():
                work(http)

    def read(http: httpx.Client) -> None:
        for path in READS:
            answers.append((path, http.get(path).status_code))

    with ThreadPoolExecutor(4) as threads:
        running = [threads.submit(load, post_batches) for _ in range(2)]
        running += [threads.submit(load, read) for _ in range(2)]
        time.sleep(0.5)
        terminate_app_backends(sync_engine)
        time.sleep(0.5)
        terminate_app_backends(sync_engine)
        time.sleep(0.5)
        stop.set()
        for future in running:
            future.result()
    assert answers and not [a for a in answers if a[1] == 500], answers

    # Afterwards: everything answers, and every survey acknowledged is stored once.
    answers.clear()
    with server.client() as http:
        for _ in range(5):
            read(http)
            post_batches(http)
    assert {status for _, status in answers} == {200}, answers
    with sync_engine.connect() as connection:
        stored = connection.execute(
            text(
                "SELECT id::text, count(*) FROM household_surveys "
                "WHERE id = ANY(CAST(:ids AS uuid[])) GROUP BY id"
            ),
            {"ids": acknowledged},
        ).all()
    assert len(stored) == len(set(acknowledged)) and {n for _, n in stored} == {1}
    with sync_engine.begin() as connection:
        connection.execute(
            text("DELETE FROM household_surveys WHERE id = ANY(CAST(:ids AS uuid[]))"),
            {"ids": acknowledged},
        )


def terminate_app_backends(sync_engine: Engine) -> None:
    """What a restart does to the app's sessions: the server ends each one."""
    with sync_engine.connect() as connection:
        pids = list(connection.scalars(text(f"SELECT pid {APP_BACKENDS}")))
        assert pids, "the app has no session to end"
        connection.execute(
            text("SELECT pg_terminate_backend(pid) FROM unnest(:pids) pid"), {"pids": pids}
        )
        connection.commit()

    def ended() -> bool:
        with sync_engine.connect() as connection:
            query = text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)")
            return connection.scalar(query, {"pids": pids}) == 0

    wait_until(ended, 10, "the app's sessions ended")


def test_health_check_does_not_leak_the_database_error(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    missing = make_url(database_url).set(database=f"cdfmap_missing_{uuid.uuid4().hex[:6]}")
    settings = Settings(database_url=missing.render_as_string(hide_password=False))
    with caplog.at_level(logging.WARNING), TestClient(create_app(settings)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unavailable"}
    assert "does not exist" in caplog.text  # the detail goes to the log, not to the client
