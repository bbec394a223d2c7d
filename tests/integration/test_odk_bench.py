"""The Collect-shaped ingest run works in quick mode (figures are printed, not asserted)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from app.settings import REPO_ROOT


@pytest.mark.slow
def test_collect_ingest_bench_quick(database_url: str) -> None:
    database = f"cdfmap_bench_odk_q{os.getpid()}"
    result = subprocess.run(
        [sys.executable, "-m", "bench.ingest", "--quick", "--collect-only", "--database", database],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    for name in ("json", "collect"):
        line = next(line for line in lines if line.startswith(f"odk {name}"))
        assert "errors 0" in line and "duplicates 0" in line and "missing 0" in line, line
    assert any(line.startswith("odk ratio:") for line in lines)
