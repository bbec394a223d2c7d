"""Survey list benchmark: the first page vs a page 900,000 rows deep, by cursor and by offset.

The sample city is loaded with a few generated households, then copied inside PostgreSQL
(INSERT ... SELECT over generate_series, new ids and collected_at one second apart) up to
--rows surveys. Through uvicorn with a planner's token (the city-wide scope a planner or
city admin reads), best of --runs (the machine is shared):
  first page:      GET /api/v1/submissions?limit=100 (with the total count)
  deep by cursor:  GET /api/v1/submissions?limit=100&after=<cursor of row --deep>
  deep by offset:  GET /api/v1/submissions?limit=100&offset=<--deep> (the old way)
Target: the deep page by cursor within 1.5x of the first page.
Usage: python -m bench.lists [--quick] [--rows N] [--deep N] [--keep] [--database NAME]
"""

from __future__ import annotations

import time
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from app.services.submissions import page_cursor
from bench.common import bench_arguments, bench_database, bench_token, uvicorn_server

PAGE = 100

COPY = """
WITH sample AS MATERIALIZED (
  -- Read once: a subquery per row would scan the table as it grows (every new row, invisible
  -- to the statement's snapshot, is still read), which made the fill quadratic.
  SELECT row_number() OVER (ORDER BY id) - 1 AS k, *
  FROM household_surveys WHERE form_id = 'household' ORDER BY id LIMIT :sample
)
INSERT INTO household_surveys (id, city_id, ward_id, settlement_id, form_id, form_version,
  collector, collected_at, received_at, status, flags, gps_accuracy_m, answers, content_hash,
  geom)
SELECT gen_random_uuid(), h.city_id, h.ward_id, h.settlement_id, h.form_id, h.form_version,
  h.collector, timestamptz '2026-01-01 00:00:00+07' + make_interval(secs => n),
  now(), h.status, h.flags, h.gps_accuracy_m, h.answers, md5(n::text || ':' || h.id::text),
  h.geom
FROM generate_series(1, :count) n
JOIN sample h ON h.k = n % :sample
"""


def fill(url: str, rows: int) -> int:
    """Copy the stored surveys up to `rows` surveys in all; return how many there are."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.begin() as connection:
            stored = connection.execute(text("SELECT count(*) FROM household_surveys")).scalar()
            sample = min(int(stored or 0), 50)
            missing = rows - int(stored or 0)
            if missing > 0:
                connection.execute(text(COPY), {"count": missing, "sample": sample})
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                text("VACUUM ANALYZE household_surveys")
            )
            return int(connection.execute(text("SELECT count(*) FROM household_surveys")).scalar())
    finally:
        engine.dispose()


def cursor_at(url: str, row: int) -> str:
    """The cursor that starts the list (newest first) right after row number `row`."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            found = connection.execute(
                text(
                    "SELECT collected_at, id FROM household_surveys "
                    "ORDER BY collected_at DESC, id DESC OFFSET :row LIMIT 1"
                ),
                {"row": row - 1},
            ).one()
    finally:
        engine.dispose()
    return page_cursor({"collected_at": found.collected_at, "id": found.id})


def count_seconds(url: str, runs: int) -> float:
    """The first page's total alone: count(*) with a planner's scope, best of runs."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            statement = text(
                "SELECT count(*) FROM household_surveys h WHERE (h.collector_user_id = 0 OR "
                "h.city_id = ANY(ARRAY(SELECT id FROM cities WHERE slug = 'tam-ky')))"
            )
            times = []
            for _ in range(runs):
                began = time.perf_counter()
                connection.execute(statement).scalar_one()
                times.append(time.perf_counter() - began)
    finally:
        engine.dispose()
    return min(times)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; return the figures."""
    parser = bench_arguments(__doc__, "cdfmap_bench_lists")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--deep", type=int, default=900_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    rows, deep, runs = (3000, 2700, 3) if args.quick else (args.rows, args.deep, args.runs)
    with bench_database(args.database, 200, args.keep) as url:
        started = time.perf_counter()
        total_rows = fill(url, rows)
        fill_seconds = time.perf_counter() - started
        token = bench_token(url, "planner")
        cursor = cursor_at(url, deep)
        with (
            uvicorn_server("app.main:create_app", url) as (base, _pid),
            httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120
            ) as client,
        ):
            requests = {
                "first page": {"limit": PAGE},
                "deep by cursor": {"limit": PAGE, "after": cursor},
                "deep by offset": {"limit": PAGE, "offset": deep},
            }
            answers: dict[str, Any] = {}
            for name, params in requests.items():  # warm the caches and the pools
                answers[name] = client.get("/api/v1/submissions", params=params)
                assert answers[name].status_code == 200, answers[name].text
            times: dict[str, list[float]] = {name: [] for name in requests}
            for _ in range(runs):  # alternated: the shared machine's load hits each alike
                for name, params in requests.items():
                    began = time.perf_counter()
                    answer = client.get("/api/v1/submissions", params=params)
                    times[name].append(time.perf_counter() - began)
                    assert answer.status_code == 200
        counting = count_seconds(url, runs)
    best = {name: min(values) for name, values in times.items()}
    by_cursor = [item["id"] for item in answers["deep by cursor"].json()["items"]]
    by_offset = [item["id"] for item in answers["deep by offset"].json()["items"]]
    assert by_cursor == by_offset and len(by_cursor) == PAGE, "cursor and offset disagree"
    assert answers["first page"].json()["total"] == total_rows
    ratio = best["deep by cursor"] / best["first page"]
    print(f"surveys: {total_rows} (filled in {fill_seconds:.1f} s); page of {PAGE}, row {deep}")
    for name, seconds in best.items():
        print(f"{name:15}: {seconds * 1000:8.1f} ms")
    print(f"of the first page, its total (count(*) alone): {counting * 1000:8.1f} ms")
    print("the deep page by cursor and by offset hold the same surveys")
    print(f"deep page ratio: {ratio:.2f} x the first page (target <= 1.5)")
    print(f"offset ratio: {best['deep by offset'] / best['first page']:.2f} x the first page")
    return {"rows": total_rows, "ratio": ratio, "count": counting, **best}


if __name__ == "__main__":
    main()
