"""GeoJSON export benchmark at 100k households.

Our streamed endpoint (through uvicorn, read to the end by a client) vs, on the same table:
  ogr2ogr -f GeoJSON /vsistdout/ PG:... household_surveys
  the floor: COPY (SELECT ST_AsGeoJSON(t.*) FROM household_surveys t) TO STDOUT
and the server's peak memory growth during the export, then while 20 clients start the export
and never read (their rows wait on disk, not in memory nor in a database connection).
Usage: python bench/export.py [--quick] [--households N] [--keep]
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import pyogrio
from sqlalchemy import make_url

from bench.common import (
    bench_arguments,
    bench_database,
    bench_token,
    best_of,
    peak_rss_mb,
    run_quietly,
    uvicorn_server,
)


def pg_connection_string(url: str) -> str:
    """GDAL's PG: connection string for a libpq URL."""
    parts = make_url(url)
    fields = {
        "dbname": parts.database,
        "host": parts.host or "127.0.0.1",
        "port": parts.port or 5432,
        "user": parts.username,
        "password": parts.password,
    }
    return "PG:" + " ".join(f"{k}={v}" for k, v in fields.items() if v)


def stalled_readers(
    base: str, pid: int, clients: int, seconds: float, token: str
) -> tuple[float, float]:
    """Start `clients` exports that never read; the server's peak memory growth (MB) and
    the slowest /healthz (s) meanwhile."""
    url = httpx.URL(base)
    memory_before = peak_rss_mb(pid)
    sockets = []
    slowest = 0.0
    try:
        for _ in range(clients):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect((url.host, url.port or 80))
            path = "/api/v1/export/households.geojson?city=tam-ky"
            sock.sendall(
                f"GET {path} HTTP/1.1\r\nHost: {url.host}\r\n"
                f"Authorization: Bearer {token}\r\n\r\n".encode()
            )
            sockets.append(sock)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            started = time.perf_counter()
            httpx.get(f"{base}/healthz", timeout=60).raise_for_status()
            slowest = max(slowest, time.perf_counter() - started)
            time.sleep(0.2)
    finally:
        for sock in sockets:
            sock.close()
    return peak_rss_mb(pid) - memory_before, slowest


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run the benchmark; return the figures."""
    parser = bench_arguments(__doc__, "cdfmap_bench_export")
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    households, runs = (2000, 1) if args.quick else (args.households, args.runs)
    with bench_database(args.database, households, args.keep) as url:
        token = bench_token(url, "planner")
        auth = ["-H", f"Authorization: Bearer {token}"]
        with uvicorn_server("app.main:create_app", url) as (base, pid):
            httpx.get(
                f"{base}/api/v1/cities", timeout=30, headers={"Authorization": f"Bearer {token}"}
            )
            memory_before = peak_rss_mb(pid)
            count = 0

            export_url = f"{base}/api/v1/export/households.geojson?city=tam-ky"
            target = Path(tempfile.gettempdir()) / f"cdfmap-bench-{os.getpid()}.geojson"

            # curl, a C client like ogr2ogr and psql, so the client is not what is measured;
            # like theirs, its output goes to /dev/null.
            ours_seconds, _ = best_of(
                runs, lambda: run_quietly(["curl", "-sf", *auth, "-o", "/dev/null", export_url])
            )
            memory_growth = peak_rss_mb(pid) - memory_before
            subprocess.run(["curl", "-sf", *auth, "-o", str(target), export_url], check=True)
            count = target.stat().st_size
            features = (
                len(pyogrio.read_info(target)["fields"]) and pyogrio.read_info(target)["features"]
            )
            target.unlink()
            stalled_growth, healthz_seconds = stalled_readers(
                base, pid, 20, 2 if args.quick else 8, token
            )
        ogr_seconds, _ = best_of(
            runs,
            lambda: run_quietly(
                [
                    "ogr2ogr",
                    "-f",
                    "GeoJSON",
                    "/vsistdout/",
                    pg_connection_string(url),
                    "household_surveys",
                ]
            ),
        )
        floor_seconds, _ = best_of(
            runs,
            lambda: run_quietly(
                [
                    "psql",
                    "-X",
                    "-q",
                    url,
                    "-c",
                    "COPY (SELECT ST_AsGeoJSON(t.*) FROM household_surveys t) TO STDOUT",
                ]
            ),
        )
    print(
        f"export ours    : {ours_seconds:6.2f} s for {households} households "
        f"({count / 1e6:.1f} MB, {features} features read back by GDAL)"
    )
    print(f"export ogr2ogr : {ogr_seconds:6.2f} s")
    print(f"export floor   : {floor_seconds:6.2f} s (COPY ST_AsGeoJSON)")
    print(
        f"export ratio: {ours_seconds / ogr_seconds:.2f} x ogr2ogr (target <= 0.5), "
        f"{ours_seconds / floor_seconds:.2f} x floor (target <= 1.5)"
    )
    print(f"export server peak memory growth: {memory_growth:.1f} MB (target < 50)")
    print(
        f"export with 20 readers that never read: server peak memory growth "
        f"{stalled_growth:.1f} MB (target < 50), slowest /healthz {healthz_seconds:.2f} s"
    )
    return {
        "ours": ours_seconds,
        "ogr2ogr": ogr_seconds,
        "floor": floor_seconds,
        "memory_growth_mb": memory_growth,
        "stalled_memory_growth_mb": stalled_growth,
        "stalled_healthz_seconds": healthz_seconds,
    }


if __name__ == "__main__":
    main()
