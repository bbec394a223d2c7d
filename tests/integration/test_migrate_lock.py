"""`migrate` runs once at a time (a PostgreSQL advisory lock) and says what it will do first."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psycopg

from app.db.migrate import MIGRATE_LOCK, head_revision, script_directory
from app.settings import REPO_ROOT
from tests.scratch_db import cli, scratch_database


def revisions_in_order() -> list[str]:
    return [script.revision for script in reversed(list(script_directory().walk_revisions()))]


def test_a_second_run_is_refused_while_one_holds_the_lock(database_url: str) -> None:
    with (
        scratch_database(database_url, "cdfmap_lock") as url,
        psycopg.connect(url, autocommit=True) as holder,
    ):
        holder.execute("SELECT pg_advisory_lock(%s)", (MIGRATE_LOCK,))
        refused = cli("migrate", env={"DATABASE_URL": url})
        assert refused.returncode == 3, refused.stdout
        assert "another migration of this database is running" in refused.stderr
        assert "--wait" in refused.stderr
        exists = holder.execute("SELECT to_regclass('alembic_version')").fetchone()
        assert exists == (None,)  # nothing was applied


def test_wait_waits_for_the_lock_then_prints_the_plan_and_applies_it(database_url: str) -> None:
    with scratch_database(database_url, "cdfmap_lock_wait") as url:
        with psycopg.connect(url, autocommit=True) as holder:
            holder.execute("SELECT pg_advisory_lock(%s)", (MIGRATE_LOCK,))
            waiting = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "migrate", "--wait"],
                cwd=REPO_ROOT,
                env={**os.environ, "DATABASE_URL": url},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            try:
                time.sleep(3)
                assert waiting.poll() is None, waiting.communicate()
                holder.execute("SELECT pg_advisory_unlock(%s)", (MIGRATE_LOCK,))
                stdout, stderr = waiting.communicate(timeout=120)
            finally:
                if waiting.poll() is None:
                    waiting.kill()
            assert waiting.returncode == 0, stderr
            revisions = revisions_in_order()
            head = head_revision()
            assert revisions[-1] == head
            lines = stdout.splitlines()
            assert (
                lines[0]
                == f"database schema (empty) -> {head}: {len(revisions)} migration(s) to apply"
            )
            assert [
                line.split(":")[0].strip() for line in lines[1 : 1 + len(revisions)]
            ] == revisions
            assert lines[-1] == f"database schema is at head ({head})"
            stored = holder.execute("SELECT version_num FROM alembic_version").fetchone()
            assert stored == (head,)

        again = cli("migrate", env={"DATABASE_URL": url})
        assert again.returncode == 0, again.stderr
        assert f"database schema is at {head} (head): nothing to do" in again.stdout


def test_two_runs_at_once_apply_each_migration_once(database_url: str) -> None:
    with scratch_database(database_url, "cdfmap_lock_race") as url:
        env = {**os.environ, "DATABASE_URL": url}
        runs = [
            subprocess.Popen(
                [sys.executable, "-m", "app.cli", "migrate", "--wait"],
                cwd=REPO_ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        outputs = [run.communicate(timeout=180) for run in runs]
        assert [run.returncode for run in runs] == [0, 0], outputs
        plans = sorted(stdout.splitlines()[0] for stdout, _ in outputs)
        # One applied everything; the other, after waiting, found nothing left to do.
        assert plans[0].startswith("database schema (empty) -> ")
        assert plans[1].endswith("(head): nothing to do")
