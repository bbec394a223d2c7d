"""`migrate` while the service still serves (docs/deploy.md, Upgrades): a step that alters a
table the app is reading (a long export) waits at most its lock timeout, so the app's other
queries on that table, which queue behind the waiting ALTER, wait no longer; after its
attempts it gives up with a message and leaves the schema where it was, and passes once the
table is free. And a role that may not create PostGIS is told who can.

No timing assertions: a reader that arrived behind the waiting ALTER finishes while the
export still holds its lock, which it could not do if the migration kept waiting.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from alembic import command
from sqlalchemy import make_url

from app.db.migrate import (
    DatabaseBusy,
    alembic_config,
    head_revision,
    script_directory,
    upgrade_to_head,
)
from app.settings import with_driver
from tests.scratch_db import cli, scratch_database

# The revision before 0024_manual_points, whose ALTER TABLE household_surveys is the one
# that waits here.
BEFORE_ALTER = "0023_city_priority_weights"


def at_revision(url: str, revision: str) -> str:
    """Migrate a new database up to `revision`; its psycopg URL for upgrade_to_head."""
    assert script_directory().get_revision(revision).nextrev, "pick a revision before head"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    sync_url = with_driver(url, "postgresql+psycopg")
    command.upgrade(alembic_config(sync_url), revision)
    return sync_url


def one(connection: psycopg.Connection, query: str) -> Any:
    """The single value a query answers."""
    row = connection.execute(query).fetchone()
    assert row is not None
    return row[0]


def revision_and_column(url: str) -> tuple[str, bool]:
    """The schema's revision, and whether 0024's column is there."""
    with psycopg.connect(url) as connection:
        return one(connection, "SELECT version_num FROM alembic_version"), one(
            connection,
            "SELECT count(*) > 0 FROM information_schema.columns "
            "WHERE table_name = 'household_surveys' AND column_name = 'manual_points'",
        )


def wait_for_a_waiting_lock(url: str) -> None:
    """Until a session waits for a lock on household_surveys (the migration's ALTER)."""
    with psycopg.connect(url, autocommit=True) as watcher:
        for _ in range(600):
            if one(
                watcher,
                "SELECT count(*) FROM pg_locks "
                "WHERE relation = 'household_surveys'::regclass AND NOT granted",
            ):
                return
            time.sleep(0.1)
    raise AssertionError("the migration never waited for household_surveys")


def count_surveys(url: str) -> int:
    """A map or an upload's plain read of the table."""
    with psycopg.connect(url) as connection:
        return int(one(connection, "SELECT count(*) FROM household_surveys"))


def test_a_migration_gives_up_on_a_table_in_use_and_does_not_hold_up_its_readers(
    database_url: str,
) -> None:
    with scratch_database(database_url, "zz_ops2_busy") as url:
        sync_url = at_revision(url, BEFORE_ALTER)
        with ThreadPoolExecutor(max_workers=2) as pool, psycopg.connect(url) as export:
            # A long export: ACCESS SHARE on the table until its transaction ends.
            export.execute("SELECT count(*) FROM household_surveys")
            attempt = pool.submit(upgrade_to_head, sync_url, lock_timeout=3, attempts=2, pause=1)
            wait_for_a_waiting_lock(url)
            # This read queues behind the waiting ALTER (or passes between attempts): it
            # ends while the export still holds its lock, as the ALTER gave up.
            assert pool.submit(count_surveys, url).result(timeout=120) == 0
            with pytest.raises(DatabaseBusy) as busy:
                attempt.result(timeout=120)
            assert revision_and_column(url) == (BEFORE_ALTER, False)  # nothing half-done
            # The migration neither holds nor waits for anything any more.
            assert not one(
                export,
                "SELECT count(*) FROM pg_locks WHERE relation = "
                "'household_surveys'::regclass AND pid <> pg_backend_pid()",
            )
        message = str(busy.value)
        assert message.startswith("the database is busy: `ALTER TABLE household_surveys")
        assert f"the schema is still at {BEFORE_ALTER}" in message
        assert "stop the service" in message and "2 time(s)" in message

        # The export has ended: the same migration passes.
        plan = upgrade_to_head(sync_url, lock_timeout=3, attempts=1)
        assert plan.current == BEFORE_ALTER and plan.head == head_revision()
        assert revision_and_column(url) == (head_revision(), True)


def test_the_command_says_the_database_is_busy_and_what_to_do(database_url: str) -> None:
    with scratch_database(database_url, "zz_ops2_busy_cli") as url:
        at_revision(url, BEFORE_ALTER)
        with psycopg.connect(url) as export:
            export.execute("SELECT count(*) FROM household_surveys")
            done = cli("migrate", env={"DATABASE_URL": url})  # the defaults: 3 attempts
        assert done.returncode == 3, done.stderr
        assert "Traceback" not in done.stderr
        last = done.stderr.strip().splitlines()[-1]
        assert last.startswith("the database is busy: `ALTER TABLE household_surveys")
        assert "try again" in last.lower() and "sudo systemctl stop cdfmap" in last
        assert done.stderr.count("trying again in") == 2  # attempts 1 and 2 of 3
        assert revision_and_column(url) == (BEFORE_ALTER, False)


def test_a_role_that_may_not_create_postgis_is_told_who_can(database_url: str) -> None:
    """The app's role owns its database but is no superuser (docs/deploy.md, step 2): when
    the superuser's CREATE EXTENSION postgis was forgotten, migrate says so in one line."""
    role = f"zz_ops2_owner_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database_url, autocommit=True) as server:
        server.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'pa$word1'")
        try:
            with scratch_database(database_url, "zz_ops2_nopostgis") as url:
                name = make_url(url).database
                server.execute(f'ALTER DATABASE "{name}" OWNER TO {role}')
                as_owner = (
                    make_url(url)
                    .set(username=role, password="pa$word1")
                    .render_as_string(hide_password=False)
                )
                refused = cli("migrate", env={"DATABASE_URL": as_owner})
                assert refused.returncode == 3, refused.stderr
                assert refused.stderr.strip().splitlines() == [
                    f"PostGIS is not enabled in the database {name} and the role {role} may "
                    "not enable it (only a superuser may): ask the database superuser to run "
                    f"CREATE EXTENSION postgis in {name} (sudo -u postgres psql -d {name} -c "
                    "'CREATE EXTENSION postgis'), then run migrate again"
                ]
                with psycopg.connect(url, autocommit=True) as superuser:
                    assert one(superuser, "SELECT to_regclass('alembic_version')") is None
                    superuser.execute("CREATE EXTENSION postgis")  # what they are asked to do
                done = cli("migrate", env={"DATABASE_URL": as_owner})
                assert done.returncode == 0, done.stderr
                assert f"database schema is at head ({head_revision()})" in done.stdout
        finally:
            server.execute(f"DROP ROLE {role}")  # its database (all it owned) is dropped
