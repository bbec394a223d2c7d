"""Indicators from household_tallies (migration 0013) against the full recomputation.

The sample city is grown inside PostgreSQL to --households (bench/scale.py's INSERT ...
SELECT: the tallies are kept by their triggers as it runs), then, best of --runs:
  SQL:   the city's indicators statement summed from every survey's answers (the baseline,
         as every read did before the tallies), and from the tallies; the ratio of the two
  HTTP:  through uvicorn (one worker) with a planner's token: city indicators, ward
         indicators (the busiest ward), the city and ward map pages, the ward's household
         points JSON (separately: it reads every household, not the tallies), the ward PDF
  write: backend CPU (from /proc/<pid>/stat) and wall time per single-survey insert
         (app/db/submissions.py's statement, the API's hot path) with the tally triggers on
         and off, alternating rounds on one connection; the ratio on/off; and single POSTs
         per second through uvicorn from 16 connections, trigger on and off
Usage: python -m bench.tallies [--quick] [--households 1000000] [--keep]
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from sqlalchemy import text

from app.db import submissions
from app.db.indicators import indicators_sql, surveys_indicators_sql
from app.services.indicators import INDICATORS
from bench.common import bench_arguments, bench_database, bench_token, best_of, uvicorn_server
from bench.ingest import hammer, surveys
from bench.scale import _engine, grow

RULES = [indicator.rule for indicator in INDICATORS]
TRIGGER = "household_tallies_inserted"


def sql_figures(url: str, runs: int) -> dict[str, float]:
    """Seconds of the city's indicators statement: from the surveys, from the tallies."""
    params: dict[str, Any] = {f"w_{rule.key}": 1.0 for rule in RULES}
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            params["city_id"] = connection.execute(
                text("SELECT id FROM cities WHERE slug = 'tam-ky'")
            ).scalar_one()
            figures = {}
            results = {}
            for name, sql in (
                ("surveys", surveys_indicators_sql(RULES)),
                ("tallies", indicators_sql(RULES)),
            ):
                statement = text(sql)

                def run(statement: Any = statement) -> list[Any]:
                    return [tuple(row) for row in connection.execute(statement, params)]

                run()
                figures[name], results[name] = best_of(runs, run)
            assert results["surveys"] == results["tallies"], "the two paths disagree"
    finally:
        engine.dispose()
    return figures


def _insert_params(item: dict[str, Any], user_id: int) -> list[Any]:
    """The single-survey statement's parameters, in the order it names them."""
    location = item["location"]
    row = {
        "id": uuid.UUID(item["id"]),
        "form_id": item["form_id"],
        "form_version": item["form_version"],
        "collector": item["collector"],
        "collected_at": datetime.fromisoformat(item["collected_at"]),
        "city": None,
        "lat": location["lat"],
        "lon": location["lon"],
        "accuracy_m": location["accuracy_m"],
        "altitude_m": location["altitude_m"],
        "answers": orjson.dumps(item["answers"]).decode(),
        "flags": [],
        "content_hash": "x" * 64,
        "collector_user_id": user_id,
        "assigned_wards": [],
        "location_manual": False,
        "assigned_cities": [],
        "manual_points": None,
    }
    return [row[key] for key in submissions.SINGLE_ROW_KEYS]


def _backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def insert_cost(url: str, per_round: int, rounds: int) -> dict[str, float]:
    """Backend CPU and wall ms per single-survey insert, tally triggers on and off."""
    connection = await asyncpg.connect(url)
    try:
        pid = await connection.fetchval("SELECT pg_backend_pid()")
        user_id = await connection.fetchval("SELECT id FROM users ORDER BY id LIMIT 1")
        cpu = {"on": 0.0, "off": 0.0}
        wall = {"on": 0.0, "off": 0.0}
        items = surveys(per_round * rounds * 2 + 20, seed=int(time.time()))
        for item in items[:20]:  # warm the plan and caches
            await connection.fetch(submissions._INSERT_ONE, *_insert_params(item, user_id))
        at = 20
        try:
            for _ in range(rounds):
                for state in ("off", "on"):
                    action = "DISABLE" if state == "off" else "ENABLE"
                    await connection.execute(
                        f"ALTER TABLE household_surveys {action} TRIGGER {TRIGGER}"
                    )
                    cpu0, wall0 = _backend_cpu(pid), time.perf_counter()
                    for item in items[at : at + per_round]:
                        await connection.fetch(
                            submissions._INSERT_ONE, *_insert_params(item, user_id)
                        )
                    cpu[state] += _backend_cpu(pid) - cpu0
                    wall[state] += time.perf_counter() - wall0
                    at += per_round
        finally:
            await connection.execute(f"ALTER TABLE household_surveys ENABLE TRIGGER {TRIGGER}")
            # The rows inserted with the trigger off are not in the tallies: count them again.
            await connection.execute("SELECT household_tallies_rebuild()")
    finally:
        await connection.close()
    count = per_round * rounds
    return {
        f"{kind} {state}": 1e3 * figures[state] / count
        for kind, figures in (("cpu", cpu), ("wall", wall))
        for state in ("on", "off")
    }


def ingest_rates(url: str, singles: int, rounds: int) -> dict[str, float]:
    """Single POSTs per second from 16 connections through uvicorn, tally trigger on and off
    (alternating rounds): what phones see, row locks on the tallies included."""
    volunteer = bench_token(url, "volunteer")
    seconds = {"on": 0.0, "off": 0.0}
    engine = _engine(url)
    try:
        with uvicorn_server("app.main:create_app", url) as (base, _pid):
            for round_ in range(rounds):
                for state in ("off", "on"):
                    action = "DISABLE" if state == "off" else "ENABLE"
                    with engine.begin() as connection:
                        connection.execute(
                            text(f"ALTER TABLE household_surveys {action} TRIGGER {TRIGGER}")
                        )
                    seed = int(time.time()) + round_ * 2 + (state == "on")
                    bodies = [orjson.dumps(item) for item in surveys(singles, seed=seed)]
                    elapsed, _latencies, errors = asyncio.run(hammer(base, bodies, 16, volunteer))
                    assert errors == 0, f"{errors} single POSTs failed"
                    seconds[state] += elapsed
    finally:
        with engine.begin() as connection:
            connection.execute(text(f"ALTER TABLE household_surveys ENABLE TRIGGER {TRIGGER}"))
            connection.execute(text("SELECT household_tallies_rebuild()"))
        engine.dispose()
    return {state: singles * rounds / seconds[state] for state in ("on", "off")}


def http_figures(url: str, runs: int) -> dict[str, float]:
    """Seconds of the read routes through uvicorn, best of `runs`."""
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            ward = connection.execute(
                text(
                    "SELECT ward_id FROM household_surveys WHERE ward_id IS NOT NULL "
                    "GROUP BY ward_id ORDER BY count(*) DESC LIMIT 1"
                )
            ).scalar_one()
    finally:
        engine.dispose()
    planner = bench_token(url, "planner")
    figures: dict[str, float] = {}
    with (
        uvicorn_server("app.main:create_app", url) as (base, _pid),
        httpx.Client(
            base_url=base, timeout=900, headers={"Authorization": f"Bearer {planner}"}
        ) as client,
    ):

        def get(path: str, **params: Any) -> Callable[[], int]:
            def run() -> int:
                answer = client.get(path, params=params)
                assert answer.status_code == 200, (path, answer.status_code, answer.text[:200])
                return len(answer.content)

            return run

        reads: dict[str, Callable[[], int]] = {
            "city indicators": get("/api/v1/cities/tam-ky/indicators"),
            "ward indicators": get(f"/api/v1/wards/{ward}/indicators"),
            "city map page": get("/maps/cities/tam-ky"),
            "ward map page": get(f"/maps/wards/{ward}"),
            # Every household of the ward as points: not indicators (vector tiles' part).
            "ward points JSON": get("/maps/data/cities/tam-ky/households.json", ward=ward),
            "ward PDF": get(f"/maps/wards/{ward}.pdf"),
        }
        for run in reads.values():  # warm the imports, caches and pools
            run()
        for name, run in reads.items():
            figures[name] = best_of(runs, run)[0]
    return figures


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; print and return its figures."""
    parser = bench_arguments(__doc__, "cdfmap_bench_tallies")
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=5000, help="generated households copied")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--inserts", type=int, default=300, help="single inserts per round")
    parser.add_argument("--posts", type=int, default=1000, help="single POSTs per round")
    args = parser.parse_args(argv)
    if args.quick:
        households, sample, runs, per_round, rounds, posts = 3000, 300, 1, 20, 2, 40
    else:
        households, sample, runs, per_round, rounds, posts = (
            args.households,
            args.sample,
            args.runs,
            args.inserts,
            4,
            args.posts,
        )
    with bench_database(args.database, sample, args.keep) as url:
        grow(url, households, sample)
        sql = sql_figures(url, runs)
        http = http_figures(url, runs)
        cost = asyncio.run(insert_cost(url, per_round, rounds))
        rates = ingest_rates(url, posts, 2)
    load = os.getloadavg()[0]
    print(f"--- {households:,} households in one city (load average {load:.1f})")
    print(
        f"indicators SQL, from the surveys (baseline): {sql['surveys']:8.3f} s\n"
        f"indicators SQL, from the tallies:            {sql['tallies']:8.3f} s\n"
        f"indicators ratio: {sql['tallies'] / sql['surveys']:.3f} x the baseline"
    )
    for name, seconds in http.items():
        print(f"{name:16}: {seconds:8.3f} s (HTTP, best of {runs})")
    print(
        f"single insert, backend CPU: {cost['cpu on']:.3f} ms with the tally trigger, "
        f"{cost['cpu off']:.3f} ms without; wall {cost['wall on']:.3f} / "
        f"{cost['wall off']:.3f} ms\n"
        f"insert ratio: {cost['cpu on'] / max(cost['cpu off'], 1e-9):.2f} x CPU without\n"
        f"single POSTs (16 connections): {rates['on']:.0f}/s with the tally trigger, "
        f"{rates['off']:.0f}/s without = {rates['on'] / rates['off']:.2f} x"
    )
    return {"sql": sql, "http": http, "insert": cost, "ingest": rates, "load": load}


if __name__ == "__main__":
    main()
