"""Vector tile benchmark at 100k households.

Our endpoint (GET /tiles/households/{z}/{x}/{y}.pbf through uvicorn, a planner's token,
fetched by curl on one kept-alive connection) vs the raw ST_AsMVT statement the
endpoint runs (the same SQL with the same scope and attributes, sent straight to PostgreSQL)
for the same tiles: every z13 tile with households and the 20 densest z15 tiles. Also the
size of the densest z15 tile, an empty tile (204) and a revalidated tile (304).
Usage: python -m bench.tiles [--quick] [--households N] [--keep]
"""

from __future__ import annotations

import subprocess
import time
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from bench.common import bench_arguments, bench_database, bench_token, uvicorn_server

DENSE_TILES = 20


def tiles_with_households(url: str, z: int) -> list[tuple[int, int, int]]:
    """(x, y, households) of every tile of zoom z holding approved households, densest first."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT floor((ST_X(geom) + 180) / 360 * 2 ^ :z)::int AS x, "
                    "floor((1 - ln(tan(radians(ST_Y(geom))) + 1 / cos(radians(ST_Y(geom)))) "
                    "/ pi()) / 2 * 2 ^ :z)::int AS y, count(*) AS n "
                    "FROM household_surveys WHERE status = 'approved' AND geom IS NOT NULL "
                    "AND form_id = 'household' GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2"
                ),
                {"z": z},
            ).all()
    finally:
        engine.dispose()
    return [(int(r[0]), int(r[1]), int(r[2])) for r in rows]


def raw_statement(url: str, username: str) -> tuple[str, dict[str, Any]]:
    """The endpoint's own ST_AsMVT statement and parameters for the bench planner."""
    from app.db.tiles import tile_sql
    from app.forms.registry import load_registry
    from app.services.access import Grant, Principal
    from app.services.tiles import tile_layer
    from app.settings import REPO_ROOT, Settings

    sync = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with sync.connect() as connection:
        user_id = connection.execute(
            text("SELECT id FROM users WHERE username = :u"), {"u": username}
        ).scalar_one()
        city_id = connection.execute(
            text("SELECT id FROM cities WHERE slug = 'tam-ky'")
        ).scalar_one()
    sync.dispose()
    planner = Principal(user_id, username, username, (Grant("planner", city_id, None, "tam-ky"),))
    settings = Settings(database_url=url)

    layer = tile_layer(
        load_registry(REPO_ROOT / "forms"), planner, "households", settings.household_form
    )
    return tile_sql(layer.source, layer.columns), {**layer.source.params, "layer": "households"}


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run the benchmark; return the figures."""
    parser = bench_arguments(__doc__, "cdfmap_bench_tiles")
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    households, runs = (2000, 1) if args.quick else (args.households, args.runs)
    with bench_database(args.database, households, args.keep) as url:
        token = bench_token(url, "planner")
        z13 = [(13, x, y) for x, y, _ in tiles_with_households(url, 13)]
        dense = tiles_with_households(url, 15)[:DENSE_TILES]
        tiles = z13 + [(15, x, y) for x, y, _ in dense]
        densest_z15 = dense[0]
        sql, params = raw_statement(url, "bench-user-planner")

        sync = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with (
            uvicorn_server("app.main:create_app", url) as (base, _pid),
            sync.connect() as connection,
        ):
            statement = text(sql)

            def raw_run() -> int:
                size = 0
                for z, x, y in tiles:
                    found = connection.execute(statement, {**params, "z": z, "x": x, "y": y})
                    size += len(found.scalar_one() or b"")
                return size

            # curl, a C client like psycopg's libpq, fetching every tile on one kept-alive
            # connection, so that the client is not what is measured.
            command = [
                "curl",
                "-s",
                "-H",
                f"Authorization: Bearer {token}",
                "-w",
                "%{http_code} %{size_download}\\n",
            ]
            for z, x, y in tiles:
                command += ["-o", "/dev/null", f"{base}/tiles/households/{z}/{x}/{y}.pbf"]

            def ours_run() -> int:
                written = subprocess.run(command, capture_output=True, text=True, check=True)
                lines = [line.split() for line in written.stdout.splitlines()]
                assert all(code == "200" for code, _ in lines), written.stdout
                return sum(int(size) for _, size in lines)

            raw_run(), ours_run()  # warm the caches and the connection pools
            raw_times, ours_times = [], []
            for _ in range(runs):  # alternated: the shared machine's load hits both alike
                started = time.perf_counter()
                raw_bytes = raw_run()
                raw_times.append(time.perf_counter() - started)
                started = time.perf_counter()
                ours_bytes = ours_run()
                ours_times.append(time.perf_counter() - started)
            raw_seconds, ours_seconds = min(raw_times), min(ours_times)
            with httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60
            ) as client:
                z, (x, y, count) = 15, densest_z15
                densest = client.get(f"/tiles/households/{z}/{x}/{y}.pbf")
                etag = densest.headers["etag"]
                started = time.perf_counter()
                revalidated = client.get(
                    f"/tiles/households/{z}/{x}/{y}.pbf", headers={"If-None-Match": etag}
                )
                revalidate_ms = (time.perf_counter() - started) * 1000
                started = time.perf_counter()
                empty = client.get("/tiles/households/15/0/0.pbf")
                empty_ms = (time.perf_counter() - started) * 1000
        sync.dispose()
    assert ours_bytes == raw_bytes, (ours_bytes, raw_bytes)  # the same tiles, byte for byte
    assert revalidated.status_code == 304 and empty.status_code == 204
    densest_kb = len(densest.content) / 1000
    ratio = ours_seconds / raw_seconds
    print(
        f"tiles ours   : {ours_seconds:6.3f} s for {len(tiles)} tiles "
        f"({len(z13)} z13 with households, {len(dense)} densest z15; {households} households; "
        f"{ours_bytes / 1e6:.2f} MB)"
    )
    print(
        f"tiles raw SQL: {raw_seconds:6.3f} s (the same ST_AsMVT statement, straight to PostgreSQL)"
    )
    print(f"tile ratio: {ratio:.2f} x raw ST_AsMVT (target <= 1.3)")
    print(
        f"densest z15 tile: {count} households, {densest_kb:.1f} kB (target < 500); "
        f"304 revalidation {revalidate_ms:.1f} ms, empty tile 204 in {empty_ms:.1f} ms"
    )
    return {
        "ours_seconds": ours_seconds,
        "raw_seconds": raw_seconds,
        "ratio": ratio,
        "densest_kb": densest_kb,
        "densest_households": count,
    }


if __name__ == "__main__":
    main()
