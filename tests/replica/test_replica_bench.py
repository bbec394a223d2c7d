"""bench.replica in quick mode against the real replica (figures printed, not asserted)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from app.settings import REPO_ROOT
from tests.replica.conftest import Replica

pytestmark = pytest.mark.slow


def test_replica_bench_quick(database_url: str, replica: Replica) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.replica",
            "--quick",
            "--database",
            database_url.rsplit("/", 1)[1],
            "--replica-url",
            replica.url(database_url),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "DATABASE_URL": database_url},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    print(result.stdout)
    assert "engine choice with a replica:" in result.stdout
    assert "replica read ratio:" in result.stdout
