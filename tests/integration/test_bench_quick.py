"""Each benchmark runs in quick mode so it cannot rot (figures are printed, not asserted)."""

from __future__ import annotations

import pytest

from bench import export, ingest


@pytest.mark.slow
def test_ingest_bench_quick(database_url: str) -> None:
    figures = ingest.main(["--quick", "--database", "cdfmap_bench_ingest_quick"])
    assert figures["app_errors"] == 0 and figures["baseline_errors"] == 0
    assert figures["app_duplicates"] == 0 and figures["app_missing"] == 0
    assert figures["batch_app_rate"] > 0


@pytest.mark.slow
def test_export_bench_quick(database_url: str) -> None:
    figures = export.main(["--quick", "--database", "cdfmap_bench_export_quick"])
    assert figures["ours"] > 0 and figures["ogr2ogr"] > 0 and figures["floor"] > 0
