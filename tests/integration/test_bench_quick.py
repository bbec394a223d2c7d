"""Each benchmark runs in quick mode so it cannot rot (figures are printed, not asserted).

They run as their own processes, as a developer runs them (and away from the event loop
that the browser tests' Playwright keeps in this one).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from app.db.migrate import upgrade_to_head
from app.settings import REPO_ROOT, with_driver
from bench.cdf_books import Books, load_books
from tests.scratch_db import scratch_database


def run_bench(module: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", module, "--quick", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    print(result.stdout)
    return result.stdout


@pytest.mark.slow
def test_ingest_bench_quick(database_url: str) -> None:
    output = run_bench("bench.ingest", "--database", f"cdfmap_bench_ingest_q{os.getpid()}")
    for name in ("baseline", "app"):
        line = next(line for line in output.splitlines() if line.startswith(f"single {name}"))
        assert "errors 0" in line and "duplicates 0" in line and "missing 0" in line
    assert "single ratio:" in output and "batch ratio:" in output
    assert "batch duplicate checks: done" in output


@pytest.mark.slow
def test_export_bench_quick(database_url: str) -> None:
    output = run_bench("bench.export", "--database", f"cdfmap_bench_export_q{os.getpid()}")
    assert "export ratio:" in output and "peak memory growth" in output


@pytest.mark.slow
def test_boundary_moves_bench_quick(database_url: str) -> None:
    output = run_bench("bench.boundary_moves", "--database", f"cdfmap_bench_moves_q{os.getpid()}")
    assert "ratio now/before" in output
    assert "check of 25 wards of 2,400 vertices" in output


@pytest.mark.slow
def test_boundary_import_bench_quick(database_url: str) -> None:
    """1,000 features stored as a new city and again, beside a COPY of them."""
    output = run_bench("bench.boundary_import", "--database", f"cdfmap_bench_import_q{os.getpid()}")
    assert "COPY baseline:" in output
    for label in ("command line, new city", "web upload, imported again"):
        line = next(line for line in output.splitlines() if f"{label}:" in line)
        assert "ratio to COPY" in line and "FOR SHARE waited" in line, output


@pytest.mark.slow
def test_maps_bench_quick(database_url: str) -> None:
    output = run_bench("bench.maps", "--database", f"cdfmap_bench_maps_q{os.getpid()}")
    assert "map bytes growing with households (points JSON)" in output
    assert "ward PDF time" in output and "ward PDF size" in output
    assert "settlement PDF time" in output and "settlement PDF size" in output
    assert "settlement PDF with names time" in output and "settlement PNG time" in output


@pytest.mark.slow
def test_phone_bench_quick_keeps_the_first_visit_under_budget(database_url: str) -> None:
    """The phone's first visit (page, scripts, styles, the household form) stays under
    500 kB on the wire: a new vendored library or widget that breaks the budget fails here."""
    output = run_bench("bench.phone", "--database", f"cdfmap_bench_phone_q{os.getpid()}")
    assert "first visit bytes ratio:" in output and "first visit time ratio at 3G:" in output
    for name in ("first visit kB:", "first visit total kB"):
        line = next(line for line in output.splitlines() if line.startswith(name))
        assert 0 < float(line.rsplit(":", 1)[1]) < 500, output


@pytest.mark.slow
def test_tiles_bench_quick(database_url: str) -> None:
    """The tile endpoint and the raw ST_AsMVT statement give the same bytes for the same
    tiles (the bench asserts it); the densest z15 tile stays under 500 kB."""
    output = run_bench("bench.tiles", "--database", f"cdfmap_bench_tiles_q{os.getpid()}")
    assert "tile ratio:" in output
    line = next(line for line in output.splitlines() if line.startswith("densest z15 tile:"))
    assert 0 < float(line.split(" households, ")[1].split(" kB")[0]) < 500, output


@pytest.mark.slow
def test_cdf_bench_quick(database_url: str) -> None:
    output = run_bench("bench.cdf", "--database", f"cdfmap_bench_cdf_q{os.getpid()}")
    assert "national report ratio:" in output
    assert "app and baseline agree on loans outstanding" in output


@pytest.mark.slow
def test_cdf_statement_bench_quick() -> None:
    output = run_bench("bench.cdf_statement")
    assert "statement pdf ratio (cpu):" in output and "10 pages" in output


@pytest.mark.slow
def test_lists_bench_quick(database_url: str) -> None:
    """A page deep in the survey list by cursor holds what the offset page holds."""
    output = run_bench("bench.lists", "--database", f"cdfmap_bench_lists_q{os.getpid()}")
    assert "the deep page by cursor and by offset hold the same surveys" in output
    assert "deep page ratio:" in output


@pytest.mark.slow
def test_soak_quick_loses_nothing_through_a_database_restart() -> None:
    """45 s of phones, ODK Collect, ward leaders and planners on two workers while a
    PostgreSQL cluster of the test's own is restarted as after a crash: every acknowledged
    survey stored once with its answers, every photo with its checksum, resends answered
    `duplicate`, and no 5xx but the documented 503s (the script exits 1 otherwise)."""
    output = run_bench("bench.soak", "--cluster", f"soak_q{os.getpid()}")
    assert "soak restart 1: at" in output and "restart -m immediate" in output
    acknowledged = next(
        line for line in output.splitlines() if line.startswith("soak surveys acknowledged:")
    )
    assert int(acknowledged.split(":")[1].split()[0]) > 0, output
    assert "missing 0, doubled 0, answers changed 0" in output
    assert "soak undocumented 5xx: 0" in output
    assert "soak invariants: ok" in output


@pytest.mark.slow
def test_cdf_map_bench_quick(database_url: str) -> None:
    """The groups layer and the plain statement agree on the city's savings."""
    output = run_bench("bench.cdf_map", "--database", f"cdfmap_bench_cdf_map_q{os.getpid()}")
    assert "app and baseline agree on savings: yes" in output
    assert "groups layer ratio:" in output


def test_national_bench_quick(database_url: str) -> None:
    """Three cities: the national indicators, page and a ward PDF with its streets."""
    output = run_bench("bench.national", "--database", f"cdfmap_bench_national_q{os.getpid()}")
    assert "national: 3 cities x 300 households" in output
    assert "national ratio: indicators" in output and "ward PDF with context layers" in output


class UnbalancedBooks(Books):
    """The bench's books with one member's line missing from the first savings sheet."""

    def lines(self) -> Iterator[tuple[Any, ...]]:
        dropped = False
        for line in super().lines():
            if not dropped and line[0] == 1_000_000 and line[2] < 0:
                dropped = True
                continue
            yield line


@pytest.mark.slow
def test_cdf_bench_books_keep_the_ledgers_rules(database_url: str) -> None:
    """The bench's COPY leaves every trigger of the ledger on: its books balance and keep
    their sums, and one unbalanced entry fails the whole load (nothing of it stays)."""
    with scratch_database(database_url, "bench_cdf_books") as url:
        sync_url = with_driver(url, "postgresql+psycopg")
        upgrade_to_head(sync_url)
        with pytest.raises(psycopg.errors.RaiseException, match="cdf_unbalanced"):
            load_books(url, UnbalancedBooks(1, 2, 4, 14), report=lambda _line: None)
        with psycopg.connect(url) as connection:
            left = connection.execute(
                "SELECT (SELECT count(*) FROM cdf_entries) + (SELECT count(*) FROM cdf_lines)"
                " + (SELECT count(*) FROM cdf_sum_balances) + (SELECT count(*) FROM cities)"
            ).fetchone()
        assert left == (0,)
        load_books(url, Books(1, 2, 4, 14), report=lambda _line: None)
        with psycopg.connect(url) as connection:
            # The sums kept by the triggers during the COPY are those of the journal.
            kept, journal, disabled = connection.execute(
                "SELECT (SELECT sum(amount) FROM cdf_sum_balances WHERE kind = 'savings'),"
                " (SELECT sum(l.amount) FROM cdf_lines l JOIN cdf_accounts a"
                "   ON a.id = l.account_id WHERE a.kind = 'savings'),"
                " (SELECT count(*) FROM pg_trigger WHERE tgenabled = 'D')"
            ).fetchone() or (None, None, None)
            assert kept == journal and kept is not None and kept < 0
            assert disabled == 0
            with pytest.raises(psycopg.errors.RaiseException, match="cdf_posted_immutable"):
                connection.execute("UPDATE cdf_lines SET amount = amount + 1")
