"""The database side of backups: pg_dump / pg_restore, a snapshot to count rows in, emptiness.

A backup's dump and its counts come from one exported snapshot (`pg_export_snapshot`): the
counts in the manifest are those of the dump, even while phones keep sending surveys. The
PostgreSQL tools are run as processes (no shell); the password, when the URL has one, goes
to them in PGPASSWORD, never on their command line where `ps` would show it.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

# Tables the extensions own (PostGIS's spatial_ref_sys) are theirs to fill, not ours.
USER_TABLES = """
SELECT n.nspname, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%'
  AND NOT EXISTS (
    SELECT 1 FROM pg_depend d
    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
  )
ORDER BY 1, 2
"""
# What pg_restore leaves out: the comment on an extension can only be set by its owner, and
# PostGIS's own table of coordinate systems is filled by CREATE EXTENSION and writable only by
# its owner (the dump holds its COPY, even empty): a restore by the app's (non-superuser) role,
# as docs/deploy.md sets it up, would stop at either ("permission denied for table
# spatial_ref_sys"). The app adds no coordinate system of its own.
SKIPPED_TOC = re.compile(r"\bCOMMENT - EXTENSION\b|\bTABLE DATA public spatial_ref_sys\b")


class DatabaseToolError(RuntimeError):
    """pg_dump / pg_restore is missing, too old for the server, or failed."""


@dataclass(frozen=True)
class Snapshot:
    """What a backup reads in its snapshot: row counts, the schema revision, the files."""

    name: str
    server_version: str
    revision: str | None
    tables: dict[str, int]
    attachments: list[tuple[str, str, str]]  # (survey id, file name, sha256)
    # (project id, phase, file name, sha256): a CDF project's photos
    project_photos: list[tuple[str, str, str, str]] = field(default_factory=list)


def _connection_parts(libpq_url: str) -> tuple[str, dict[str, str]]:
    """The URL without its password, and the environment that carries the password."""
    parts = urlsplit(libpq_url)
    env = dict(os.environ)
    if parts.password is None:
        return libpq_url, env
    env["PGPASSWORD"] = unquote(parts.password)
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}@{host}" if user else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc)), env


def _server_major(connection: psycopg.Connection) -> tuple[int, str]:
    number = int(connection.execute("SHOW server_version_num").fetchone()[0])  # type: ignore[index]
    version = str(connection.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
    return number // 10000, version.split()[0]


def tool(name: str, server_major: int) -> Path:
    """The pg_dump / pg_restore for this server: the server's own version when installed
    (Debian keeps each in /usr/lib/postgresql/N/bin), else the one on PATH if not older."""
    own = Path(f"/usr/lib/postgresql/{server_major}/bin/{name}")
    if own.is_file():
        return own
    found = shutil.which(name)
    if found is None:
        raise DatabaseToolError(
            f"{name} is not installed: install postgresql-client-{server_major} "
            "(apt-get install postgresql-client)"
        )
    output = subprocess.run([found, "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"(\d+)(?:\.\d+)?", output.stdout)
    if match is None or int(match.group(1)) < server_major:
        raise DatabaseToolError(
            f"{found} ({output.stdout.strip() or 'unknown version'}) is older than the "
            f"PostgreSQL {server_major} server: install postgresql-client-{server_major}"
        )
    return Path(found)


def _run(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise DatabaseToolError(f"{Path(command[0]).name} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout


def user_tables(connection: psycopg.Connection) -> list[tuple[str, str]]:
    """(schema, table) of every table that is not an extension's."""
    return [(str(s), str(t)) for s, t in connection.execute(USER_TABLES).fetchall()]


def _counts(connection: psycopg.Connection) -> dict[str, int]:
    counts = {}
    for schema, table in user_tables(connection):
        query = sql.SQL("SELECT count(*) FROM {}.{}").format(
            sql.Identifier(schema), sql.Identifier(table)
        )
        counts[f"{schema}.{table}"] = int(connection.execute(query).fetchone()[0])  # type: ignore[index]
    return counts


def _revision(connection: psycopg.Connection) -> str | None:
    if connection.execute("SELECT to_regclass('alembic_version')").fetchone()[0] is None:  # type: ignore[index]
        return None
    row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    return None if row is None else str(row[0])


@contextlib.contextmanager
def snapshot(libpq_url: str) -> Iterator[Snapshot]:
    """Hold a read-only snapshot (exported, for pg_dump --snapshot) and what it holds."""
    with psycopg.connect(libpq_url) as connection:
        connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        name = str(connection.execute("SELECT pg_export_snapshot()").fetchone()[0])  # type: ignore[index]
        _, version = _server_major(connection)
        tables = _counts(connection)
        attachments: list[tuple[str, str, str]] = []
        if "public.attachments" in tables:
            attachments = [
                (str(survey), str(filename), str(digest))
                for survey, filename, digest in connection.execute(
                    "SELECT submission_id, filename, sha256 FROM attachments ORDER BY 1, 2"
                ).fetchall()
            ]
        project_photos: list[tuple[str, str, str, str]] = []
        if "public.cdf_project_photos" in tables:
            project_photos = [
                (str(project), str(phase), str(filename), str(digest))
                for project, phase, filename, digest in connection.execute(
                    "SELECT project_id, phase, filename, sha256 FROM cdf_project_photos "
                    "ORDER BY 1, 2, 3"
                ).fetchall()
            ]
        try:
            yield Snapshot(
                name, version, _revision(connection), tables, attachments, project_photos
            )
        finally:
            connection.rollback()


def dump(libpq_url: str, snapshot_name: str, target: Path) -> str:
    """pg_dump (custom format) of the database as the snapshot sees it; the tool's version."""
    with psycopg.connect(libpq_url) as connection:
        major, _ = _server_major(connection)
    pg_dump = tool("pg_dump", major)
    url, env = _connection_parts(libpq_url)
    _run(
        [
            str(pg_dump),
            "--format=custom",
            f"--snapshot={snapshot_name}",
            f"--file={target}",
            f"--dbname={url}",
        ],
        env,
    )
    return _run([str(pg_dump), "--version"], env).strip()


def table_counts(libpq_url: str) -> dict[str, int]:
    """Rows in every table (not the extensions')."""
    with psycopg.connect(libpq_url) as connection:
        return _counts(connection)


def restore(libpq_url: str, source: Path, scratch: Path) -> None:
    """pg_restore a custom-format dump into the database in one transaction (all or nothing)."""
    with psycopg.connect(libpq_url) as connection:
        major, _ = _server_major(connection)
    pg_restore = tool("pg_restore", major)
    url, env = _connection_parts(libpq_url)
    listing = _run([str(pg_restore), "--list", str(source)], env)
    kept = [line for line in listing.splitlines() if not SKIPPED_TOC.search(line)]
    scratch.write_text("\n".join(kept) + "\n")
    _run(
        [
            str(pg_restore),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--use-list={scratch}",
            f"--dbname={url}",
            str(source),
        ],
        env,
    )
