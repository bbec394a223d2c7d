"""CDF national report benchmark: 50 CDFs x 100 groups x 20 members x 36 monthly meetings.

The books (about 9 million journal lines at full size) are written with PostgreSQL COPY,
streamed a group at a time, in one transaction with every trigger of the ledger on (balance
checked at the commit, the reports' sums kept as for any posting): bench/cdf_books.py.

Measured, best of 3 (the machine is shared):
  app:      app.services.cdf_reports.national_report in-process (the API's JSON, as the page
            reads it: as of the books' last day, from the sums the database keeps)
  baseline: the same aggregates as one plain SQL statement over the journal
  pages:    GET /cdf/national (HTML with SVG charts, a row and two bars per city) and
            GET /cdf/bench-cdf-1 (one city's page, its 100 groups listed) through a real
            uvicorn server, as a national admin, as of the same day; against the plain
            statement for every fund and for that city's fund
  past day: the app's report a year before the last day (balances from the kept sums,
            arrears from the journal), one run; skipped with --no-past
Usage: python -m bench.cdf [--quick] [--keep] [--database NAME]
"""

from __future__ import annotations

import asyncio
import os
import time
from datetime import date, timedelta
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from app.db import cdf_reports as queries
from app.db.engine import make_engine
from app.db.migrate import create_database_if_missing, upgrade_to_head
from app.services import cdf_reports
from app.services.access import SYSTEM
from app.services.cdf_schedule import add_months
from app.settings import with_driver
from bench.cdf_books import START, Books, load_books
from bench.common import (
    bench_arguments,
    bench_database_url,
    bench_token,
    best_of,
    remove_database,
    uvicorn_server,
)

PAGE_CITY = "bench-cdf-1"


def plain_sql() -> str:
    """The report's aggregates, per fund, as one statement over the journal."""
    return f"""
WITH balances AS ({queries.BALANCES}),
lent AS ({queries.LENT}),
counts AS ({queries.COUNTS}),
arrears AS ({queries.ARREARS})
SELECT f.id AS fund_id,
  (SELECT -sum(total) FROM balances b WHERE b.fund_id = f.id AND b.kind = 'savings') AS savings,
  (SELECT sum(total) FROM balances b WHERE b.fund_id = f.id AND b.kind = 'loans_receivable')
    AS outstanding,
  (SELECT -sum(total) FROM balances b WHERE b.fund_id = f.id AND b.kind = 'capital') AS capital,
  (SELECT lent FROM lent WHERE lent.fund_id = f.id) AS lent,
  c.groups, c.members, a.at_risk_30, a.due_in_period, a.on_time_in_period, a.due_to_date,
  a.collected_to_date, a.aging_1_30, a.aging_31_60, a.aging_61_90, a.aging_over_90
FROM cdf_funds f LEFT JOIN counts c ON c.fund_id = f.id LEFT JOIN arrears a ON a.fund_id = f.id
WHERE f.id = ANY(:funds)
"""


def load(url: str, sizes: dict[str, int]) -> tuple[float, int]:
    """Write the books with COPY (bench.cdf_books); seconds and journal lines."""
    books = Books(sizes["F"], sizes["G"], sizes["M"], sizes["T"])
    started = time.perf_counter()
    load_books(url, books)
    generated = time.perf_counter() - started
    engine = create_engine(with_driver(url, "postgresql+psycopg"))
    try:
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT")
            connection.execute(text("VACUUM ANALYZE"))
            lines = int(connection.execute(text("SELECT count(*) FROM cdf_lines")).scalar_one())
    finally:
        engine.dispose()
    return generated, lines


def books_day(months: int) -> tuple[date, date]:
    """The last day of the generated books and the start of its on-time period (a year)."""
    as_of = add_months(START, months) - timedelta(days=1)
    return as_of, add_months(as_of, -12)


def measure(url: str, runs: int, months: int, past: bool) -> dict[str, Any]:
    """Best times of the app's national report and of the one plain SQL statement (for every
    fund, and for the page's city's fund), as of the last day of the generated books
    (on-time rate over their last 12 months); the app's time for a day a year earlier; the
    report and the statement's rows."""
    as_of, start = books_day(months)

    async def timed(run: Any) -> tuple[float, Any]:
        best, result = float("inf"), None
        for _ in range(runs):
            began = time.perf_counter()
            result = await run()
            best = min(best, time.perf_counter() - began)
        return best, result

    async def all_of_them() -> dict[str, Any]:
        engine = make_engine(with_driver(url, "postgresql+asyncpg"))
        figures: dict[str, Any] = {}
        try:
            figures["app"], figures["report"] = await timed(
                lambda: cdf_reports.national_report(engine, SYSTEM, as_of, start)
            )
            async with engine.connect() as connection:
                funds = await queries.funds(connection, None)

                async def statement(fund_ids: list[int]) -> list[Any]:
                    params = {"funds": fund_ids, "as_of": as_of, "start": start}
                    return list(await connection.execute(text(plain_sql()), params))

                figures["baseline"], figures["rows"] = await timed(
                    lambda: statement([f["fund_id"] for f in funds])
                )
                city_fund = [f["fund_id"] for f in funds if f["city"] == PAGE_CITY]
                figures["city_baseline"], _rows = await timed(lambda: statement(city_fund))
            figures["past"], figures["past_report"] = None, {}
            if past:
                began = time.perf_counter()
                earlier = add_months(as_of, -12)
                figures["past_report"] = await cdf_reports.national_report(
                    engine, SYSTEM, earlier, add_months(earlier, -12)
                )
                figures["past"] = time.perf_counter() - began
            return figures
        finally:
            await engine.dispose()

    return asyncio.run(all_of_them())


def measure_pages(url: str, runs: int, months: int) -> dict[str, tuple[float, int]]:
    """Best times (and sizes) of the national and one city's report pages through uvicorn,
    as a national admin, as of the books' last day (after one request that warms up)."""
    as_of, _start = books_day(months)
    token = bench_token(url, role="national_admin", username="bench-cdf")
    figures: dict[str, tuple[float, int]] = {}
    with (
        uvicorn_server("app.main:create_app", url) as (base, _pid),
        httpx.Client(
            base_url=base, timeout=600, headers={"Authorization": f"Bearer {token}"}
        ) as client,
    ):

        def get(path: str) -> int:
            response = client.get(path, params={"as_of": as_of.isoformat()})
            assert response.status_code == 200, (path, response.status_code)
            assert b"<svg" in response.content, path  # the charts are there
            return len(response.content)

        for name, path in (("national_page", "/cdf/national"), ("city_page", f"/cdf/{PAGE_CITY}")):
            get(path)
            figures[name] = best_of(runs, lambda path=path: get(path))
    return figures


def agree(total: dict[str, Any], rows: list[Any]) -> None:
    """The app's totals (from the kept sums) equal the plain statement's (the journal)."""

    def summed(name: str) -> int:
        return sum(int(getattr(row, name) or 0) for row in rows)

    pairs = {
        "savings": total["savings_balance"],
        "outstanding": total["loans_outstanding"],
        "capital": total["capital_total"],
        "lent": total["lent_to_date"],
        "groups": total["groups"],
        "members": total["members"],
        "at_risk_30": total["portfolio_at_risk"]["over_30"],
        "due_in_period": total["due_in_period"],
        "on_time_in_period": total["paid_on_time_in_period"],
        "due_to_date": total["due_to_date"],
        "collected_to_date": total["collected_to_date"],
        **{f"aging_{key}": value for key, value in total["aging"].items()},
    }
    for name, value in pairs.items():
        assert summed(name) == value, (name, summed(name), value)


def main() -> None:
    parser = bench_arguments(__doc__, "cdfmap_bench_cdf")
    parser.add_argument("--funds", type=int, default=50)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--no-past", action="store_true", help="skip the report of a past day")
    args = parser.parse_args()
    sizes = {"F": args.funds, "G": args.groups, "M": args.members, "T": args.months}
    if args.quick:
        sizes = {"F": 2, "G": 5, "M": 10, "T": 14}
    url = bench_database_url(args.database)
    sync_url = with_driver(url, "postgresql+psycopg")
    remove_database(url)
    create_database_if_missing(sync_url)
    print(f"load average at the start: {os.getloadavg()}")
    try:
        upgrade_to_head(sync_url)
        seconds, lines = load(url, sizes)
        print(
            f"sizes {sizes}: {lines} journal lines written with COPY in {seconds:.1f} s "
            "(every trigger of the ledger on, one transaction)"
        )
        runs = 1 if args.quick else 3
        figures = measure(url, runs, sizes["T"], not args.no_past)
        report, base_time = figures["report"], figures["baseline"]
        total = report["total"]
        print(
            f"national report app: {figures['app'] * 1000:.0f} ms ({len(report['cities'])} cities)"
        )
        print(f"national report baseline (one SQL statement): {base_time * 1000:.0f} ms")
        print(f"national report ratio: {figures['app'] / base_time:.4f}")
        pages = measure_pages(url, runs, sizes["T"])
        baselines = {"national_page": base_time, "city_page": figures["city_baseline"]}
        for name, (seconds, size) in pages.items():
            print(
                f"{name} over HTTP (uvicorn): {seconds * 1000:.0f} ms ({size} bytes); "
                f"baseline {baselines[name] * 1000:.0f} ms; ratio {seconds / baselines[name]:.4f}"
            )
        if figures["past"] is not None:
            print(
                f"national report a year earlier (arrears from the journal): "
                f"{figures['past']:.1f} s, loans_outstanding "
                f"{figures['past_report']['total']['loans_outstanding']}"
            )
        print(
            f"figures: loans_outstanding {total['loans_outstanding']}, par30 {total['par30']}, "
            f"on_time {total['on_time_repayment_rate']}, collection {total['collection_rate']}"
        )
        agree(total, figures["rows"])
        print("app and baseline agree on loans outstanding and every figure the baseline sums")
        print(f"load average at the end: {os.getloadavg()}")
    finally:
        if not args.keep:
            remove_database(url)


if __name__ == "__main__":
    main()
