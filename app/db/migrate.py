"""Programmatic Alembic: create the PostGIS extension and upgrade to head, one run at a time.

`upgrade_to_head` takes a PostgreSQL advisory lock (`MIGRATE_LOCK`) inside the migration's
transaction, so two `migrate` commands (two servers started at once by a deploy script, an
impatient person running it twice) never run the same migration twice: the second waits or,
with `wait=False`, is refused with `MigrationBusy`. The app compares the database's revision
with the revisions it ships (`schema_problem`) and refuses to start against one it does not
know (newer code wrote it) or one older than its head (run `migrate` first).

`migrate` may run while the service still serves (docs/deploy.md, Upgrades). An ALTER TABLE
waits for the table's readers (a 25 s export), and every query after it, uploads and maps
included, queues behind the ALTER: a plain count waited 22 s. So each statement waits at
most `lock_timeout` for its lock; then the attempt, which is one transaction for every step,
is undone whole and tried again after a pause, and after a few attempts `DatabaseBusy` says
to try later or stop the service. The app's queries wait at most that long, once per attempt.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, make_url, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# pg_advisory_xact_lock's key for migrations: "cdfmap" in ASCII (any fixed bigint would do).
MIGRATE_LOCK = 0x6364666D6170
# How long the app waits for the database when it checks the schema at start-up.
START_CHECK_SECONDS = 10.0
# How long one migration statement waits for a lock the running app holds before its attempt
# is undone (the app's queries on that table queue behind it meanwhile), how many attempts,
# and the pause between them: at worst about 35 s of trying, no query delayed over 5 s.
LOCK_TIMEOUT_SECONDS = 5.0
LOCK_ATTEMPTS = 3
LOCK_RETRY_PAUSE_SECONDS = 10.0

log = logging.getLogger(__name__)


class MigrationBusy(RuntimeError):
    """Another migration run holds the lock on this database."""


class DatabaseBusy(MigrationBusy):
    """Sessions of the running app kept a table the migration alters: every attempt gave up."""


class SchemaMismatch(RuntimeError):
    """The database's schema revision is not the one this code was written for."""


class PostgisMissing(SchemaMismatch):
    """The schema needs PostGIS, which the server lacks or this role may not create."""


@dataclass(frozen=True)
class MigrationPlan:
    """Where the database is, where the code is, and the migrations between them in order."""

    current: str | None
    head: str
    steps: tuple[tuple[str, str], ...]  # (revision, its one-line description)

    def describe(self) -> str:
        """What `migrate` is about to do, for a person."""
        if not self.steps:
            return f"database schema is at {self.head} (head): nothing to do"
        lines = [
            f"database schema {self.current or '(empty)'} -> {self.head}: "
            f"{len(self.steps)} migration(s) to apply"
        ]
        lines += [f"  {revision}: {doc}" for revision, doc in self.steps]
        return "\n".join(lines)


def alembic_config(sync_url: str) -> Config:
    """An Alembic config pointing at our migrations and the given psycopg URL."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", sync_url.replace("%", "%%"))
    return config


@lru_cache(maxsize=1)
def script_directory() -> ScriptDirectory:
    """The migrations this code ships (read once per process)."""
    return ScriptDirectory.from_config(alembic_config("postgresql+psycopg:///unused"))


def head_revision() -> str:
    """The newest revision this code knows (the chain is kept linear)."""
    heads = script_directory().get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads ({heads}): merge them")
    return heads[0]


def known_revision(revision: str) -> bool:
    """Whether this code ships the revision (a newer release's is unknown)."""
    return revision in {script.revision for script in script_directory().walk_revisions()}


def schema_problem(current: str | None) -> str | None:
    """Why this code must not run against a database at `current`; None when it may."""
    head = head_revision()
    if current == head:
        return None
    if current is None:
        return (
            f"the database has no schema (this app needs revision {head}): "
            "run `python -m app.cli migrate` first"
        )
    if not known_revision(current):
        return (
            f"the database schema is at revision {current}, which this app does not know "
            f"(its newest is {head}): a newer release migrated it. Run that release, or "
            "restore the backup taken before the upgrade (docs/deploy.md, Upgrades)"
        )
    return (
        f"the database schema is at revision {current}, older than this app's {head}: "
        "run `python -m app.cli migrate` (take a backup first) and start again"
    )


def migration_plan(connection: Connection) -> MigrationPlan:
    """The migrations from the connection's database revision up to head."""
    current = MigrationContext.configure(connection).get_current_revision()
    head = head_revision()
    if current is not None and not known_revision(current):
        raise SchemaMismatch(schema_problem(current))
    scripts = list(script_directory().iterate_revisions(head, current))
    steps = tuple((s.revision, (s.doc or "").strip()) for s in reversed(scripts))
    return MigrationPlan(current, head, steps)


def upgrade_to_head(
    sync_url: str,
    *,
    wait: bool = True,
    report: Callable[[MigrationPlan], None] | None = None,
    lock_timeout: float = LOCK_TIMEOUT_SECONDS,
    attempts: int = LOCK_ATTEMPTS,
    pause: float = LOCK_RETRY_PAUSE_SECONDS,
) -> MigrationPlan:
    """Ensure PostGIS exists, then run every migration up to head (safe to repeat).

    Under the advisory lock: another run in progress is waited for, or with `wait=False`
    refused (MigrationBusy). `report` is shown the plan before anything is applied. Each
    statement waits at most `lock_timeout` seconds (0: no limit) for a table the running
    app is using; then the attempt is undone, and after `attempts` of them, `pause` seconds
    apart, DatabaseBusy says so (see LOCK_TIMEOUT_SECONDS).
    """
    reported: MigrationPlan | None = None

    def report_once(plan: MigrationPlan) -> None:
        nonlocal reported
        if report is not None and plan != reported:
            report(plan)
        reported = plan

    engine = create_engine(sync_url)
    try:
        for attempt in range(1, max(attempts, 1) + 1):
            try:
                return _upgrade_once(engine, sync_url, wait, report_once, lock_timeout)
            except DBAPIError as exc:
                if getattr(exc.orig, "sqlstate", None) not in _LOCK_TIMED_OUT:
                    raise
                waiting_for = _statement_line(exc.statement)
                if attempt >= max(attempts, 1):
                    raise DatabaseBusy(
                        _busy_message(waiting_for, lock_timeout, attempt, reported)
                    ) from exc
                log.warning(
                    "the database is busy: %s waited %g s for a table in use and was undone "
                    "(attempt %d of %d); trying again in %g s",
                    waiting_for,
                    lock_timeout,
                    attempt,
                    attempts,
                    pause,
                )
                time.sleep(pause)
        raise AssertionError("unreachable")  # the loop returns or raises
    finally:
        engine.dispose()


# lock_not_available (lock_timeout ran out), deadlock_detected (the app's writers and a
# migration's ALTERs met in opposite orders): both undo the attempt, and a later one may pass.
_LOCK_TIMED_OUT = ("55P03", "40P01")


def _upgrade_once(
    engine: Engine,
    sync_url: str,
    wait: bool,
    report: Callable[[MigrationPlan], None],
    lock_timeout: float,
) -> MigrationPlan:
    """One attempt: every step in the one transaction of `engine.begin()` (Alembic runs in
    the caller's transaction and opens none of its own), so a failed attempt leaves nothing."""
    with engine.begin() as connection:
        if wait:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATE_LOCK})
        elif not connection.execute(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": MIGRATE_LOCK}
        ).scalar_one():
            raise MigrationBusy(
                "another migration of this database is running (it holds the migration "
                "lock): wait for it to finish, or run `migrate --wait`"
            )
        # After the advisory lock: waiting for another `migrate` (--wait) has no limit.
        connection.execute(
            text("SELECT set_config('lock_timeout', :value, true)"),
            {"value": f"{max(round(lock_timeout * 1000), 0)}ms"},
        )
        _ensure_postgis(connection)
        plan = migration_plan(connection)
        report(plan)
        config = alembic_config(sync_url)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return plan


def _ensure_postgis(connection: Connection) -> None:
    """CREATE EXTENSION postgis unless it exists; PostgisMissing when the server lacks the
    package or the role may not create it (it is not a trusted extension: a superuser's)."""
    if connection.execute(
        text("SELECT count(*) FROM pg_extension WHERE extname = 'postgis'")
    ).scalar_one():
        return
    available = connection.execute(
        text("SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'")
    ).scalar_one()
    if not available:
        version = connection.execute(text("SHOW server_version_num")).scalar_one()
        raise PostgisMissing(
            "PostGIS is not installed on the database server: install "
            f"postgresql-{str(version)[:2]}-postgis-3 (Debian/Ubuntu) and run again"
        )
    try:
        with connection.begin_nested():
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != "42501":  # insufficient_privilege
            raise
        database, role = connection.execute(text("SELECT current_database(), current_user")).one()
        raise PostgisMissing(
            f"PostGIS is not enabled in the database {database} and the role {role} may not "
            "enable it (only a superuser may): ask the database superuser to run "
            f"CREATE EXTENSION postgis in {database} "
            f"(sudo -u postgres psql -d {database} -c 'CREATE EXTENSION postgis'), "
            "then run migrate again"
        ) from None


def _statement_line(statement: str | None) -> str:
    """The statement that waited, on one short line for a person."""
    words = " ".join((statement or "a migration statement").split())
    return f"`{words[:97]}...`" if len(words) > 100 else f"`{words}`"


def _busy_message(
    waiting_for: str, lock_timeout: float, attempts: int, plan: MigrationPlan | None
) -> str:
    at = plan.current if plan is not None and plan.current else "(empty)"
    return (
        f"the database is busy: {waiting_for} waited {lock_timeout:g} s for a table that "
        f"other sessions are using (a long export or map of the running service) "
        f"{attempts} time(s), and gave up each time so that their queries do not queue "
        f"behind it. Nothing was changed: the schema is still at {at}. Try again in a "
        "quieter moment, or stop the service (sudo systemctl stop cdfmap), run migrate, "
        "and start it again"
    )


async def database_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at (None: never migrated)."""
    async with engine.connect() as connection:
        exists = (
            await connection.execute(text("SELECT to_regclass('alembic_version') IS NOT NULL"))
        ).scalar_one()
        if not exists:
            return None
        revision = (
            await connection.execute(text("SELECT version_num FROM alembic_version"))
        ).scalar()
        return str(revision) if revision is not None else None


async def verify_schema(engine: AsyncEngine) -> None:
    """At start-up: SchemaMismatch when the database is at another revision than head.

    A database that does not answer yet is let through (with a warning): the server starts,
    answers 503 on /readyz, and /readyz checks the revision again once the database is back.
    """
    try:
        current = await asyncio.wait_for(database_revision(engine), START_CHECK_SECONDS)
    except Exception as exc:  # unreachable or refusing: the check waits for /readyz
        log.warning("schema check skipped: the database does not answer: %r", exc)
        return
    problem = schema_problem(current)
    if problem is not None:
        raise SchemaMismatch(problem)


def create_database_if_missing(sync_url: str) -> bool:
    """Create the URL's database on its server when it does not exist; True if created."""
    url = make_url(sync_url)
    name = url.database
    if not name:
        raise ValueError("DATABASE_URL names no database")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
            if exists:
                return False
            quoted = connection.dialect.identifier_preparer.quote(name)
            try:
                connection.execute(text(f"CREATE DATABASE {quoted}"))
            except DBAPIError as exc:
                # Another run (a second `migrate --create-database` at the same moment) made
                # it between the question and the CREATE: it exists, which is what was asked.
                if getattr(exc.orig, "sqlstate", None) in _CREATED_MEANWHILE:
                    return False
                raise
            return True
    finally:
        admin.dispose()


# duplicate_database, and unique_violation (two CREATE DATABASE racing on the catalogue)
_CREATED_MEANWHILE = ("42P04", "23505")


def drop_database(sync_url: str) -> None:
    """Drop the URL's database (tests), closing its other connections first."""
    url = make_url(sync_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            quoted = connection.dialect.identifier_preparer.quote(str(url.database))
            connection.execute(text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
    finally:
        admin.dispose()
