"""bench/scale.py in quick mode (two small steps), so that it cannot rot: every figure of
docs/scale.md is printed at each step with its ratio to the first step's."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from app.settings import REPO_ROOT

LABELS = (
    "ingest, single POSTs",
    "ingest, batches of 500",
    "city indicators",
    "ward indicators",
    "ward map page",
    "ward PDF",
    "list first page",
    "list deep page (cursor)",
    "densest z15 tile",
    "GeoJSON export (city)",
)


@pytest.mark.slow
def test_scale_bench_quick(database_url: str) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.scale",
            "--quick",
            "--database",
            f"cdfmap_bench_scale_q{os.getpid()}",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = result.stdout.split("=== all steps", 1)[1]
    steps = re.findall(r"^--- ([\d,]+) households \(load average", summary, re.MULTILINE)
    sizes = [int(step.replace(",", "")) for step in steps]
    assert len(sizes) == 2 and 1000 <= sizes[0] < 4000 <= sizes[1], summary
    last = summary.rsplit("--- ", 1)[1]
    for label in LABELS:
        line = next(line for line in last.splitlines() if line.startswith(label))
        figure, ratio = re.findall(r"([\d,.]+) (?:s|surveys/s) +=\s+([\d.]+) x", line)[0]
        assert float(figure.replace(",", "")) > 0 and float(ratio) > 0, line
    fill = next(line for line in last.splitlines() if line.startswith("fill"))
    assert "households/s" in fill and float(fill.split(":")[1].split()[0].replace(",", "")) > 0
