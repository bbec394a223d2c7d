"""Throw-away databases beside the session's, for the deployment tests (backup, restore,
migrations, several servers), and the command line run as an operator runs it."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import make_url

from app.db.migrate import create_database_if_missing, drop_database
from app.settings import REPO_ROOT, with_driver


def sibling_url(database_url: str, prefix: str) -> str:
    """A libpq URL of a new database name on the same server as `database_url`."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    return (
        make_url(with_driver(database_url, "postgresql"))
        .set(database=name)
        .render_as_string(hide_password=False)
    )


@contextlib.contextmanager
def scratch_database(database_url: str, prefix: str, create: bool = True) -> Iterator[str]:
    """A database of its own (created empty unless `create` is False), dropped afterwards."""
    url = sibling_url(database_url, prefix)
    sync_url = with_driver(url, "postgresql+psycopg")
    if create:
        create_database_if_missing(sync_url)
    try:
        yield url
    finally:
        drop_database(sync_url)


def cli(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`python -m app.cli ...` in a process of its own with these settings in its environment."""
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def media_digests(directory: Path) -> dict[str, str]:
    """relative path -> sha256 of every file under a directory."""
    import hashlib

    return {
        path.relative_to(directory).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }
