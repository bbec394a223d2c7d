"""Savings groups layer benchmark: what the ward and city maps add to build the groups layer
for the sample city's CDF books (app.services.cdf_groups_map.map_groups: members, savings,
loans outstanding and PAR30 per settlement from the journal).

Measured, best of 5, in this process against PostgreSQL:
  app:      map_groups for the whole city, as a national admin (every group)
  baseline: one plain SQL statement summing only the savings lines per settlement (the least
            any per-settlement figure from the journal reads)
Usage: python -m bench.cdf_map [--quick] [--database NAME] [--keep]
"""

from __future__ import annotations

import asyncio
import time
from datetime import date
from typing import Any

from sqlalchemy import create_engine, text

from app.db.engine import make_engine
from app.services.access import SYSTEM
from app.services.cdf_groups_map import map_groups
from app.services.sample_cdf import load_sample_cdf
from app.settings import with_driver
from bench.common import bench_arguments, bench_database

BASELINE = """
SELECT g.settlement_id, -sum(l.amount) AS savings
FROM cdf_lines l JOIN cdf_accounts a ON a.id = l.account_id
JOIN cdf_groups g ON g.id = a.group_id JOIN cdf_funds f ON f.id = g.fund_id
WHERE f.city_id = :city AND a.kind = 'savings' AND g.settlement_id IS NOT NULL
GROUP BY g.settlement_id
"""


def load_books(sync_url: str) -> tuple[int, int]:
    """The sample city's CDF books (seed 2026, today); its id and journal lines."""
    engine = create_engine(sync_url)
    try:
        with engine.begin() as connection:
            city_id = connection.execute(
                text("SELECT id FROM cities WHERE slug = 'tam-ky'")
            ).scalar_one()
            load_sample_cdf(connection, city_id, seed=2026, today=date.today())
            connection.execute(text("ANALYZE"))
            lines = connection.execute(text("SELECT count(*) FROM cdf_lines")).scalar_one()
    finally:
        engine.dispose()
    return int(city_id), int(lines)


async def measure(url: str, city_id: int, runs: int) -> dict[str, Any]:
    """Best seconds of the app's layer and of the baseline statement."""
    engine = make_engine(with_driver(url, "postgresql+asyncpg"), pool_size=1, max_overflow=0)
    try:
        app_best = base_best = float("inf")
        shown: list[dict[str, Any]] = []
        savings = 0
        for _ in range(runs):
            started = time.perf_counter()
            placed, unplaced = await map_groups(engine, SYSTEM, city_id, None, "vi")
            shown = [*placed, *([unplaced] if unplaced else [])]
            app_best = min(app_best, time.perf_counter() - started)
            started = time.perf_counter()
            async with engine.connect() as connection:
                rows = (await connection.execute(text(BASELINE), {"city": city_id})).all()
            base_best = min(base_best, time.perf_counter() - started)
            savings = sum(int(row.savings) for row in rows)
    finally:
        await engine.dispose()
    return {"app": app_best, "baseline": base_best, "shown": shown, "savings": savings}


def main() -> None:
    parser = bench_arguments(__doc__, "cdfmap_bench_cdf_map")
    args = parser.parse_args()
    runs = 1 if args.quick else 5
    with bench_database(args.database, 0, keep=args.keep) as url:
        city_id, lines = load_books(with_driver(url, "postgresql+psycopg"))
        result = asyncio.run(measure(url, city_id, runs))
    shown = result["shown"]
    groups = sum(s["groups"] for s in shown)
    members = sum(s["members"] for s in shown)
    print(
        f"groups layer: {len(shown)} settlements, {groups} groups, {members} members, "
        f"{lines} journal lines"
    )
    agree = sum(s["savings_balance"] for s in shown) == result["savings"]
    print(f"app and baseline agree on savings: {'yes' if agree else 'NO'}")
    print(f"groups layer app: {result['app'] * 1000:.1f} ms")
    print(f"groups layer baseline (savings lines only): {result['baseline'] * 1000:.1f} ms")
    print(f"groups layer ratio: {result['app'] / result['baseline']:.2f}")
    if not agree:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
