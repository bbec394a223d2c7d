"""Shared bench plumbing: a bench database, app servers under uvicorn, timing helpers."""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, make_url, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.db.migrate import create_database_if_missing, drop_database, upgrade_to_head  # noqa: E402
from app.forms.registry import load_registry  # noqa: E402
from app.services.samples import load_sample_city  # noqa: E402
from app.settings import DEFAULT_DATABASE_URL, with_driver  # noqa: E402

# The servers started here and the tokens made here share one key.
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))


def bench_token(
    url: str, role: str = "volunteer", username: str = "bench-user", city: str = "tam-ky"
) -> str:
    """A token of a person with a role on a city (the sample city unless told; national
    admin: everywhere), made as the server makes them, for the benchmarks' requests."""
    import hashlib
    import hmac
    import uuid
    from datetime import UTC, datetime, timedelta

    token = secrets.token_urlsafe(32)
    digest = hmac.new(os.environ["SECRET_KEY"].encode(), token.encode(), hashlib.sha256).digest()
    engine = create_engine(with_driver(url, "postgresql+psycopg"))
    try:
        with engine.begin() as connection:
            user_id = connection.execute(
                text(
                    "INSERT INTO users (username, display_name) VALUES (:u, :name) "
                    "ON CONFLICT (username) DO UPDATE SET is_active = true RETURNING id"
                ),
                {"u": f"{username}-{role}", "name": username},
            ).scalar_one()
            connection.execute(text("DELETE FROM role_grants WHERE user_id = :id"), {"id": user_id})
            if role == "national_admin":  # no place: also where there is no sample city
                connection.execute(
                    text("INSERT INTO role_grants (user_id, role) VALUES (:id, :role)"),
                    {"id": user_id, "role": role},
                )
            else:
                connection.execute(
                    text(
                        "INSERT INTO role_grants (user_id, role, city_id) "
                        "SELECT :id, :role, c.id FROM cities c WHERE c.slug = :city"
                    ),
                    {"id": user_id, "role": role, "city": city},
                )
            connection.execute(
                text(
                    "INSERT INTO auth_tokens (id, user_id, kind, token_hash, expires_at) "
                    "VALUES (:id, :user_id, 'api', :hash, :expires)"
                ),
                {
                    "id": uuid.uuid4(),
                    "user_id": user_id,
                    "hash": digest,
                    "expires": datetime.now(UTC) + timedelta(days=1),
                },
            )
    finally:
        engine.dispose()
    return token


def bench_database_url(name: str) -> str:
    """libpq URL of a bench database on the configured server."""
    server = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    return (
        make_url(with_driver(server, "postgresql"))
        .set(database=name)
        .render_as_string(hide_password=False)
    )


def prepare_database(name: str, households: int) -> str:
    """Create (if needed) and fill a bench database with the sample city; return its URL."""
    url = bench_database_url(name)
    sync_url = with_driver(url, "postgresql+psycopg")
    create_database_if_missing(sync_url)
    upgrade_to_head(sync_url)
    engine = create_engine(sync_url)
    try:
        with engine.begin() as connection:
            load_sample_city(
                connection, load_registry(ROOT / "forms"), ROOT / "data" / "samples", households
            )
    finally:
        engine.dispose()
    return url


def remove_database(url: str) -> None:
    """Drop a bench database."""
    drop_database(with_driver(url, "postgresql+psycopg"))


@contextlib.contextmanager
def bench_database(name: str, households: int, keep: bool = False) -> Iterator[str]:
    """A filled bench database for the length of a run (dropped afterwards unless `keep`)."""
    url = prepare_database(name, households)
    try:
        yield url
    finally:
        if not keep:
            remove_database(url)


def bench_arguments(description: str | None, database: str) -> argparse.ArgumentParser:
    """The options every bench script takes: --quick, --database, --keep."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="small N, for the test suite")
    parser.add_argument("--database", default=database)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    return parser


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def uvicorn_server(
    app: str,
    database_url: str,
    factory: bool = True,
    workers: int = 1,
    start_seconds: float = 30,
    http: str = "app.http_protocol:HttpProtocol",
    env: dict[str, str] | None = None,
) -> Iterator[tuple[str, int]]:
    """Run an ASGI app under uvicorn (uvloop + httptools) on a free port, for the benchmarks
    and the tests' live server; yield (base URL, pid) once /healthz answers 200 (within
    `start_seconds`). `env`: settings of this server on top of the environment's."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--loop",
        "uvloop",
        "--http",
        http,
        "--no-access-log",
        "--no-server-header",
    ]
    if factory:
        command.append("--factory")
    if workers > 1:
        command += ["--workers", str(workers)]
    environment = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}
    environment.setdefault("REQUEST_LOG", "false")  # quiet, as --no-access-log (app.api.observe)
    environment.update(env or {})
    process = subprocess.Popen(command, cwd=ROOT, env=environment)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_seconds
        while True:  # up, and its database answers
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None:
                raise RuntimeError(f"{app} exited at start-up")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{app} did not answer /healthz within {start_seconds} s")
            time.sleep(0.2)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], fraction: float) -> float:
    """The value at a fraction (0..1) of the sorted values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def best_of(runs: int, run: Callable[[], Any]) -> tuple[float, Any]:
    """The fastest of several runs (the machine is shared and noisy) and its result."""
    best: tuple[float, Any] | None = None
    for _ in range(runs):
        started = time.perf_counter()
        result = run()
        elapsed = time.perf_counter() - started
        if best is None or elapsed < best[0]:
            best = (elapsed, result)
    assert best is not None
    return best


def run_quietly(command: list[str]) -> None:
    """Run a command with its output thrown away (like writing to /dev/null)."""
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
