"""The admin commands `make run` relies on, run as a user runs them: twice is safe."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine, text

from app.settings import REPO_ROOT


def cli(database_url: str, *args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=REPO_ROOT,
        env={**os.environ, "DATABASE_URL": database_url, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def counts(engine: Engine) -> tuple[int, int, int, int]:
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT (SELECT count(*) FROM cities), (SELECT count(*) FROM wards), "
                "(SELECT count(*) FROM settlements), (SELECT count(*) FROM household_surveys)"
            )
        ).one()
    return tuple(row)  # type: ignore[return-value]


def test_migrate_and_load_sample_twice_add_nothing_the_second_time(
    database_url: str, sync_engine: Engine, clean_surveys: None
) -> None:
    assert "schema is at head" in cli(database_url, "migrate", "--create-database")
    first = cli(database_url, "load-sample", "--households", "300")
    assert "10 wards, 40 settlements, 300 new household surveys" in first
    assert counts(sync_engine) == (1, 10, 40, 300)
    second = cli(database_url, "load-sample", "--households", "300")
    assert "0 new household surveys" in second
    assert counts(sync_engine) == (1, 10, 40, 300)
    with sync_engine.connect() as connection:
        placed = connection.execute(
            text("SELECT count(ward_id), count(settlement_id) FROM household_surveys")
        ).one()
    assert placed[0] >= 290 and placed[1] >= 200  # most points fall in a ward and a settlement


def test_load_sample_says_its_demo_accounts_sign_in_only_in_demo_mode(
    database_url: str, clean_surveys: None
) -> None:
    # `make db` loads the sample without DEMO; `make run` then starts the server with it. An
    # operator who loads the sample on a server of their own tried demo-admin/demo and got
    # "wrong password" without a word why.
    outside = cli(database_url, "load-sample", "--households", "20", env={"DEMO": "false"})
    notice = [line for line in outside.splitlines() if "DEMO=true" in line]
    assert len(notice) == 2, outside  # in Vietnamese, then in English
    vietnamese, english = notice
    assert "mật khẩu: demo) chỉ đăng nhập được khi máy chủ chạy với DEMO=true" in vietnamese
    assert "password: demo) sign in only while the server runs with DEMO=true" in english
    for line in notice:
        assert "demo-volunteer, demo-ward-leader, demo-planner, demo-admin" in line
    inside = cli(database_url, "load-sample", "--households", "20", env={"DEMO": "true"})
    assert "DEMO=true" not in inside, inside


def test_write_boundaries_reproduces_the_committed_files(tmp_path: Path, database_url: str) -> None:
    cli(database_url, "sample", "write-boundaries", "--directory", str(tmp_path))
    committed = REPO_ROOT / "data" / "samples" / "tam-ky"
    for name in ("wards.geojson", "settlements.geojson"):
        assert (tmp_path / name).read_bytes() == (committed / name).read_bytes()
