"""One PostgreSQL at a city's and a country's size: the read and write paths at growing
numbers of households (docs/scale.md).

The sample city is loaded with --sample generated households, then grown inside PostgreSQL
(INSERT ... SELECT over generate_series, as bench/lists.py) to each of --steps households:
copies of the sample surveys with new ids, collected_at one second apart and each point moved
at random by up to ~25 m, so that maps and tiles see a denser city, not stacked points. At each
step, through uvicorn (one worker) with a planner's token, best of --runs:
  fill:            households added per second by the INSERT ... SELECT (indexes kept)
  ingest:          single POST /api/v1/submissions (16 connections) and 500-survey batches
  indicators:      GET /api/v1/cities/tam-ky/indicators, /api/v1/wards/{busiest}/indicators
  ward map page:   GET /maps/wards/{busiest} + its points JSON
  ward PDF:        GET /maps/wards/{busiest}.pdf
  survey list:     the first page (with its total) and a page 90 % deep by cursor
  densest z15:     GET /tiles/households/15/{x}/{y}.pbf of the tile with most households
  GeoJSON export:  the whole city, GET /api/v1/export/households.geojson (curl, to the end)
  size:            the database and household_surveys with its indexes
Each figure is printed with its ratio to the first step's (the baseline, measured in the same
run), and the load average of the machine (shared: figures vary with it).
Usage: python -m bench.scale [--quick] [--steps 100000,1000000,5000000] [--keep]
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson
from sqlalchemy import create_engine, text

from app.services.submissions import page_cursor
from app.settings import with_driver
from bench.common import bench_arguments, bench_database, bench_token, best_of, uvicorn_server
from bench.ingest import hammer, surveys
from bench.tiles import tiles_with_households

GROW = """
WITH sample AS MATERIALIZED (
  -- Read once (a subquery per row would read the growing table again: quadratic).
  SELECT row_number() OVER (ORDER BY id) - 1 AS k, *
  FROM household_surveys WHERE form_id = 'household'
  ORDER BY id LIMIT :sample
)
INSERT INTO household_surveys (id, city_id, ward_id, settlement_id, form_id, form_version,
  collector, collected_at, received_at, status, flags, gps_accuracy_m, answers, content_hash,
  geom)
SELECT gen_random_uuid(), h.city_id, h.ward_id, h.settlement_id, h.form_id, h.form_version,
  h.collector, timestamptz '2025-01-01 00:00:00+07' + make_interval(secs => :start + n),
  now(), h.status, h.flags, h.gps_accuracy_m, h.answers, md5(n::text || ':' || h.id::text),
  ST_Translate(h.geom, (random() - 0.5) * 0.0005, (random() - 0.5) * 0.0005)
FROM generate_series(1, :count) n
JOIN sample h ON h.k = n % :sample
"""


def _engine(url: str, **options: Any) -> Any:
    return create_engine(with_driver(url, "postgresql+psycopg"), **options)


def grow(url: str, households: int, sample: int) -> tuple[int, float]:
    """Copy sample surveys up to `households` in all, then VACUUM ANALYZE; (rows, seconds of
    the INSERT alone)."""
    engine = _engine(url)
    try:
        with engine.begin() as connection:
            stored = int(
                connection.execute(text("SELECT count(*) FROM household_surveys")).scalar_one()
            )
            missing = households - stored
            started = time.perf_counter()
            if missing > 0:
                connection.execute(
                    text(GROW), {"count": missing, "sample": sample, "start": stored}
                )
            seconds = time.perf_counter() - started
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                text("VACUUM ANALYZE household_surveys")
            )
        return max(missing, 0), seconds
    finally:
        engine.dispose()


def facts(url: str, deep_fraction: float) -> dict[str, Any]:
    """Rows, sizes, the busiest ward and the cursor of the deep page."""
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            one = connection.execute(
                text(
                    "SELECT (SELECT count(*) FROM household_surveys) AS rows, "
                    "pg_database_size(current_database()) AS database_bytes, "
                    "pg_total_relation_size('household_surveys') AS table_bytes, "
                    "pg_indexes_size('household_surveys') AS index_bytes"
                )
            ).one()
            ward = connection.execute(
                text(
                    "SELECT ward_id, count(*) FROM household_surveys WHERE ward_id IS NOT NULL "
                    "GROUP BY ward_id ORDER BY count(*) DESC LIMIT 1"
                )
            ).one()
            deep = int(one.rows * deep_fraction)
            row = connection.execute(
                text(
                    "SELECT collected_at, id FROM household_surveys "
                    "ORDER BY collected_at DESC, id DESC OFFSET :row LIMIT 1"
                ),
                {"row": deep - 1},
            ).one()
    finally:
        engine.dispose()
    return {
        "rows": int(one.rows),
        "database_bytes": int(one.database_bytes),
        "table_bytes": int(one.table_bytes),
        "index_bytes": int(one.index_bytes),
        "ward_id": int(ward[0]),
        "ward_households": int(ward[1]),
        "deep": deep,
        "cursor": page_cursor({"collected_at": row.collected_at, "id": row.id}),
    }


def ingest(base: str, volunteer: str, planner_client: httpx.Client, singles: int) -> dict:
    """Surveys per second: single POSTs from 16 connections, then 500-survey batches."""
    bodies = [orjson.dumps(item) for item in surveys(singles, seed=int(time.time()))]
    seconds, _latencies, errors = asyncio.run(hammer(base, bodies, 16, volunteer))
    assert errors == 0, f"{errors} single POSTs failed"
    items = surveys(max(500, singles // 500 * 500), seed=int(time.time()) + 1)
    headers = {"Authorization": f"Bearer {volunteer}", "Content-Type": "application/json"}
    started = time.perf_counter()
    for start in range(0, len(items), 500):
        answer = planner_client.post(
            "/api/v1/submissions/batch",
            content=orjson.dumps({"submissions": items[start : start + 500]}),
            headers=headers,
        )
        assert answer.status_code == 200, answer.text[:300]
        assert orjson.loads(answer.content)["summary"]["created"] == 500
    batch_seconds = time.perf_counter() - started
    return {"single_per_s": singles / seconds, "batch_per_s": len(items) / batch_seconds}


def curl_seconds(base: str, path: str, token: str) -> tuple[float, int]:
    """Seconds and bytes of one download by curl (a C client: the client is not measured)."""
    started = time.perf_counter()
    written = subprocess.run(
        [
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{size_download}",
            "-H",
            f"Authorization: Bearer {token}",
            f"{base}{path}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - started
    code, size = written.stdout.split()
    assert code == "200", (path, code)
    return seconds, int(size)


def measure_step(url: str, runs: int, singles: int) -> dict[str, Any]:
    """Every figure at the database's present size."""
    found = facts(url, 0.9)
    x, y, tile_households = tiles_with_households(url, 15)[0]
    planner = bench_token(url, "planner")
    volunteer = bench_token(url, "volunteer")
    ward = found["ward_id"]
    figures: dict[str, Any] = {**found, "tile_households": tile_households}
    with (
        uvicorn_server("app.main:create_app", url) as (base, _pid),
        httpx.Client(
            base_url=base, timeout=900, headers={"Authorization": f"Bearer {planner}"}
        ) as client,
    ):

        def get(path: str, **params: Any) -> Callable[[], bytes]:
            def run() -> bytes:
                answer = client.get(path, params=params)
                assert answer.status_code == 200, (path, answer.status_code, answer.text[:200])
                return answer.content

            return run

        def ward_page() -> int:
            html = get(f"/maps/wards/{ward}")()
            points = get("/maps/data/cities/tam-ky/households.json", ward=ward)()
            return len(html) + len(points)

        reads: dict[str, Callable[[], Any]] = {
            "city indicators": get("/api/v1/cities/tam-ky/indicators"),
            "ward indicators": get(f"/api/v1/wards/{ward}/indicators"),
            "ward map page": ward_page,
            "ward PDF": get(f"/maps/wards/{ward}.pdf"),
            "list first page": get("/api/v1/submissions", limit=100),
            "list deep page": get("/api/v1/submissions", limit=100, after=found["cursor"]),
            "densest z15 tile": get(f"/tiles/households/15/{x}/{y}.pbf"),
        }
        for run in reads.values():  # warm the imports, caches and pools
            run()
        for name, run in reads.items():
            seconds, result = best_of(runs, run)
            figures[name] = seconds
            figures[f"{name} bytes"] = result if isinstance(result, int) else len(result)
        export_path = "/api/v1/export/households.geojson?city=tam-ky"
        figures["GeoJSON export"], figures["GeoJSON export bytes"] = curl_seconds(
            base, export_path, planner
        )
        figures.update(ingest(base, volunteer, client, singles))
    figures["load"] = os.getloadavg()[0]
    return figures


ROWS = [
    ("fill", "fill_per_s", "households/s", True),
    ("ingest, single POSTs", "single_per_s", "surveys/s", True),
    ("ingest, batches of 500", "batch_per_s", "surveys/s", True),
    ("city indicators", "city indicators", "s", False),
    ("ward indicators", "ward indicators", "s", False),
    ("ward map page", "ward map page", "s", False),
    ("ward PDF", "ward PDF", "s", False),
    ("list first page", "list first page", "s", False),
    ("list deep page (cursor)", "list deep page", "s", False),
    ("densest z15 tile", "densest z15 tile", "s", False),
    ("GeoJSON export (city)", "GeoJSON export", "s", False),
]


def report(steps: list[dict[str, Any]]) -> None:
    """Every figure of every step, with the ratio to the first step's."""
    first = steps[0]
    for step in steps:
        print(
            f"--- {step['rows']:,} households (load average {step['load']:.1f}; "
            f"database {step['database_bytes'] / 1e9:.2f} GB, household_surveys "
            f"{step['table_bytes'] / 1e9:.2f} GB, of which indexes "
            f"{step['index_bytes'] / 1e9:.2f} GB)"
        )
        print(
            f"busiest ward: {step['ward_households']:,} households; densest z15 tile: "
            f"{step['tile_households']:,} households, "
            f"{step['densest z15 tile bytes'] / 1e3:,.0f} kB; "
            f"export {step['GeoJSON export bytes'] / 1e6:,.0f} MB; ward PDF "
            f"{step['ward PDF bytes'] / 1e3:,.0f} kB; ward page "
            f"{step['ward map page bytes'] / 1e6:,.1f} MB"
        )
        for label, key, unit, is_rate in ROWS:
            if key not in step or key not in first or not first[key]:
                continue
            ratio = step[key] / first[key]
            print(
                f"{label:26}: {step[key]:12,.3f} {unit:13} = {ratio:6.2f} x at "
                f"{first['rows']:,} ({'higher is better' if is_rate else 'lower is better'})"
            )


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Run the benchmark; print and return the figures of each step."""
    parser = bench_arguments(__doc__, "cdfmap_bench_scale")
    parser.add_argument("--steps", default="100000,1000000,5000000")
    parser.add_argument("--sample", type=int, default=5000, help="generated households copied")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--singles", type=int, default=2000, help="single POSTs per step")
    args = parser.parse_args(argv)
    if args.quick:
        targets, sample, runs, singles = [1000, 4000], 300, 1, 100
    else:
        targets = [int(step) for step in args.steps.split(",")]
        sample, runs, singles = args.sample, args.runs, args.singles
    steps: list[dict[str, Any]] = []
    with bench_database(args.database, sample, args.keep) as url:
        for target in targets:
            added, seconds = grow(url, target, sample)
            figures = measure_step(url, runs, singles)
            figures["fill_per_s"] = added / seconds if added else 0.0
            steps.append(figures)
            report([steps[0], figures] if len(steps) > 1 else steps)
            print(flush=True)
    print("=== all steps")
    report(steps)
    return steps


if __name__ == "__main__":
    main()
