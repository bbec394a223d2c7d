"""What sending reads to a read replica costs each read (app.db.replica).

With DATABASE_REPLICA_URL set, every read that may lag first checks out a connection of the
replica's pool (and gives it back) to learn whether the replica answers; without it the
choice is a plain return. Measured: that choice alone, and a whole small read (the choice,
then `SELECT 1` on the chosen engine) against the same read with no replica configured (the
baseline, same run, same server). The replica is `--replica-url` when given, else the same
server again (the cost of the choice does not depend on which server answers).
Usage: python -m bench.replica [--quick] [--database postgres] [--replica-url URL]
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import text

from app.db.engine import make_engine
from app.db.replica import ReplicaReads
from app.settings import asyncpg_url
from bench.common import bench_arguments, bench_database_url

ROUNDS = 3


async def _per_read_us(reads: ReplicaReads, count: int, query: bool) -> float:
    """Microseconds per read: the engine choice, and with `query` a SELECT 1 on it."""
    started = time.perf_counter()
    for _ in range(count):
        engine = await reads.engine()
        if query:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    return (time.perf_counter() - started) / count * 1e6


async def measure(primary_url: str, replica_url: str, count: int) -> dict[str, float]:
    """Best of a few rounds of each figure (a shared machine is noisy)."""
    primary = make_engine(asyncpg_url(primary_url), 2, 0)
    replica = make_engine(
        asyncpg_url(replica_url), 2, 0, application_name="cdfmap-replica", connect_seconds=2
    )
    plain, routed = ReplicaReads(primary, None), ReplicaReads(primary, replica)
    figures: dict[str, float] = {}
    try:
        for reads in (plain, routed):  # open the pools' connections first
            await _per_read_us(reads, 50, query=True)
        assert routed.replica_up, "the replica does not answer"
        for _ in range(ROUNDS):
            for name, reads in (("without", plain), ("with", routed)):
                for kind, query in (("choice", False), ("read", True)):
                    value = await _per_read_us(reads, count, query)
                    key = f"{kind} {name}"
                    figures[key] = min(figures.get(key, value), value)
    finally:
        await replica.dispose()
        await primary.dispose()
    return figures


def main() -> None:
    parser = bench_arguments(__doc__, "postgres")
    parser.add_argument("--replica-url", default=None, help="libpq URL of a real replica")
    args = parser.parse_args()
    primary_url = bench_database_url(args.database)
    count = 300 if args.quick else 3000
    figures = asyncio.run(measure(primary_url, args.replica_url or primary_url, count))
    print(f"reads per figure: {count}, best of {ROUNDS}")
    print(f"engine choice without a replica: {figures['choice without']:.1f} us")
    print(f"engine choice with a replica: {figures['choice with']:.1f} us")
    print(f"read (choice + SELECT 1) without a replica: {figures['read without']:.1f} us")
    print(f"read (choice + SELECT 1) with a replica: {figures['read with']:.1f} us")
    ratio = figures["read with"] / figures["read without"]
    print(f"replica read ratio: {ratio:.2f} (with / without a replica)")


if __name__ == "__main__":
    main()
