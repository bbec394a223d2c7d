"""Storing a large boundary import, and how long a survey upload waits for it.

A city of N features (half wards, half settlements: a grid of square wards of --vertices
vertices, a settlement inside each naming its ward by code, with a profile) is stored by
app.services.boundaries.store_boundaries, as a new city and again (every feature updated),
each committed, by both paths that call it: the command line (psycopg, the database's
default settings) and a web upload (asyncpg with the app's engine: generic plans, no JIT).
The baseline, in the same run and on the same database: a plain COPY of the same polygons
and fields into scratch tables with the same indexes (unique code, GiST), rolled back: the
least the database does to store them.

While each import runs, another session asks for the boundary generation's row FOR SHARE
(as every survey upload does, app/db/submissions.py `_AT_GENERATION`) as soon as the import
holds it: how long it waits is printed beside the import's time, with how far the import
moved the generation (once a transaction that changes boundaries, migration 0026).
Usage: python -m bench.boundary_import [--quick] [--sizes 10000,50000] [--rounds 1]
       [--vertices 20] [--paths "command line,web upload"] [--keep]
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
import shapely
from sqlalchemy import Connection, text

from app.db.engine import make_engine
from app.geo.boundary_files import Feature, Layer
from app.services import boundaries as service
from app.settings import with_driver
from bench.common import bench_arguments, bench_database
from bench.scale import _engine

SLUG = "bench-import"
WEST, SOUTH, CELL = 106.0, 10.5, 0.002  # far from the sample city: no reach into it
# The import's FOR UPDATE (its plain reads of the row take AccessShareLock).
LOCK_HELD = text(
    "SELECT count(*) FROM pg_locks WHERE pid = :pid AND mode = 'RowShareLock' "
    "AND relation = CAST('boundary_generation' AS regclass)"
)
GENERATION = text("SELECT generation FROM boundary_generation")


def city(features: int, vertices: int) -> service.Boundaries:
    """`features` / 2 square wards in a grid and a settlement inside each."""
    count = max(1, features // 2)
    columns = int(count**0.5) + 1
    wards, settlements = [], []
    for index in range(count):
        x0 = WEST + (index % columns) * CELL
        y0 = SOUTH + (index // columns) * CELL
        square = shapely.box(x0, y0, x0 + CELL, y0 + CELL)
        outline = shapely.segmentize(square, 4 * CELL / vertices)
        code = f"W{index:06d}"
        wards.append(
            Feature(index + 1, code, f"Phường {index}", shapely.MultiPolygon([outline]), {})
        )
        inner = shapely.box(x0 + CELL / 4, y0 + CELL / 4, x0 + CELL / 2, y0 + CELL / 2)
        fields = {
            "ward_code": code,
            "households_estimate": 50 + index % 200,
            "year_settled": 1960 + index % 60,
            "land_type": "public",
            "threats": ["flood", "eviction"][: index % 3],
        }
        settlements.append(
            Feature(
                index + 1,
                f"S{index:06d}",
                f"Xóm {index}",
                inner,
                {"code": f"S{index:06d}", "ward_code": code, "ghi_chu": "bên sông"},
                fields,
            )
        )
    return service.Boundaries(
        Layer("wards", "wards.geojson", "EPSG:4326", tuple(wards)),
        Layer("settlements", "settlements.geojson", "EPSG:4326", tuple(settlements)),
    )


def copy_seconds(url: str, boundaries: service.Boundaries) -> float:
    """Seconds of a plain COPY of the same wards and settlements into scratch tables with
    the stored tables' indexes (rolled back)."""
    assert boundaries.settlements is not None
    with psycopg.connect(url) as connection:
        connection.execute(
            "CREATE TEMP TABLE scratch_wards (city_id int, code varchar(32), name text, "
            "geom geometry(MultiPolygon, 4326), UNIQUE (city_id, code));"
            "CREATE INDEX ON scratch_wards USING gist (geom);"
            "CREATE TEMP TABLE scratch_settlements (city_id int, ward_code text, "
            "code varchar(32), name text, households_estimate int, year_settled int, "
            "land_type text, threats text[], profile jsonb, geom geometry(Polygon, 4326), "
            "UNIQUE (city_id, code));"
            "CREATE INDEX ON scratch_settlements USING gist (geom)"
        )
        started = time.perf_counter()
        cursor = connection.cursor()
        with cursor.copy("COPY scratch_wards FROM STDIN") as copy:
            for feature in boundaries.wards.features:
                wkb = shapely.to_wkb(feature.geometry, hex=True, include_srid=False)
                copy.write_row((1, feature.code, feature.name, f"SRID=4326;{wkb}"))
        with cursor.copy("COPY scratch_settlements FROM STDIN") as copy:
            for feature in boundaries.settlements.features:
                fields = feature.settlement
                wkb = shapely.to_wkb(feature.geometry, hex=True)
                copy.write_row(
                    (
                        1,
                        fields["ward_code"],
                        feature.code,
                        feature.name,
                        fields["households_estimate"],
                        fields["year_settled"],
                        fields["land_type"],
                        fields["threats"],
                        psycopg.types.json.Jsonb(feature.properties),
                        f"SRID=4326;{wkb}",
                    )
                )
        seconds = time.perf_counter() - started
        connection.rollback()
    return seconds


def _store(connection: Connection, boundaries: service.Boundaries) -> int:
    """Store the city in the connection's transaction (not committed); generation moves."""
    before = int(connection.execute(GENERATION).scalar_one())
    service.store_boundaries(
        connection, slug=SLUG, name="Bench", province=None, boundaries=boundaries
    )
    return int(connection.execute(GENERATION).scalar_one()) - before


def store_command_line(url: str, boundaries: service.Boundaries, pid: Callable[[int], None]) -> int:
    """As `cli import-boundaries` stores: psycopg, the database's defaults (committed)."""
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            pid(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())
            connection.commit()
            moves = _store(connection, boundaries)
            connection.commit()
    finally:
        engine.dispose()
    return moves


def store_web(url: str, boundaries: service.Boundaries, pid: Callable[[int], None]) -> int:
    """As an upload to the web app stores (app.services.boundaries.import_upload): asyncpg
    and the app's engine settings (generic plans, no JIT), committed."""

    async def run() -> int:
        engine = make_engine(with_driver(url, "postgresql+asyncpg"), pool_size=1)
        try:
            async with engine.connect() as connection:
                pid((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())
                await connection.commit()
                moves = await connection.run_sync(lambda sync: _store(sync, boundaries))
                await connection.commit()
        finally:
            await engine.dispose()
        return int(moves)

    return asyncio.run(run())


Store = Callable[[str, service.Boundaries, Callable[[int], None]], int]


def timed_import(url: str, store: Store, boundaries: service.Boundaries) -> dict[str, Any]:
    """Store the city (committed) in a thread while this one asks for the generation's row
    FOR SHARE once the import holds it: the import's seconds, the wait, generation moves."""
    result: dict[str, Any] = {}
    pids: list[int] = []

    def run() -> None:
        try:
            started = time.perf_counter()
            result["moves"] = store(url, boundaries, pids.append)
            result["import"] = time.perf_counter() - started
        except BaseException as exc:
            result["error"] = exc
            raise

    engine = _engine(url)
    try:
        with engine.connect() as uploading:
            thread = threading.Thread(target=run)
            thread.start()
            while thread.is_alive() and not (
                pids and uploading.execute(LOCK_HELD, {"pid": pids[0]}).scalar()
            ):
                uploading.rollback()
                time.sleep(0.005)
            uploading.rollback()
            started = time.perf_counter()
            uploading.execute(text("SELECT generation FROM boundary_generation FOR SHARE"))
            result["wait"] = time.perf_counter() - started
            uploading.rollback()
            thread.join()
    finally:
        engine.dispose()
    if "error" in result:
        raise result["error"]
    return result


PATHS: dict[str, Store] = {"command line": store_command_line, "web upload": store_web}


def main() -> None:
    parser = bench_arguments(__doc__, "cdfmap_bench_boundary_import")
    parser.add_argument("--sizes", default="10000,50000")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--vertices", type=int, default=20)
    parser.add_argument("--paths", default=",".join(PATHS), help="command line, web upload")
    args = parser.parse_args()
    sizes = [1000] if args.quick else [int(size) for size in args.sizes.split(",")]
    paths = [path.strip() for path in args.paths.split(",")]
    with bench_database(args.database, 50, keep=args.keep) as url:
        engine = _engine(url)
        try:
            for size in sizes:
                boundaries = city(size, args.vertices)
                copy = min(copy_seconds(url, boundaries) for _ in range(args.rounds))
                print(f"{size} features ({size // 2} wards, {size // 2} settlements):")
                print(f"  COPY baseline: {copy:.2f} s")
                for path in paths:
                    rounds: dict[str, list[dict[str, Any]]] = {"new": [], "again": []}
                    for _ in range(args.rounds):
                        rounds["new"].append(timed_import(url, PATHS[path], boundaries))
                        rounds["again"].append(timed_import(url, PATHS[path], boundaries))
                        with engine.begin() as connection:
                            connection.execute(
                                text("DELETE FROM cities WHERE slug = :s"), {"s": SLUG}
                            )
                    for name, label in (("new", "new city"), ("again", "imported again")):
                        best = min(rounds[name], key=lambda r: r["import"])
                        print(
                            f"  {path}, {label}: {best['import']:.2f} s, ratio to COPY "
                            f"{best['import'] / copy:.1f}; FOR SHARE waited "
                            f"{best['wait']:.2f} s; generation moves {best['moves']}",
                            flush=True,
                        )
        finally:
            engine.dispose()


if __name__ == "__main__":
    main()
