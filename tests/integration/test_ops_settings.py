"""Settings an operator gets wrong, or writes in a form the code did not expect, said in one
line by the command line and by the server at start (operations testing): a database over
its Unix socket, a FORMS_DIR or HOUSEHOLD_FORM that names nothing, a missing PRIORITIES_PATH,
a role that may not create the database."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import make_url

from app.main import create_app
from app.settings import REPO_ROOT, SettingError, Settings, with_driver
from tests.scratch_db import cli, scratch_database

KEY = {"SECRET_KEY": "k" * 40}


def _socket_url(database_url: str) -> str:
    """The test database's URL over the server's Unix socket, as libpq writes it."""
    url = make_url(with_driver(database_url, "postgresql"))
    with psycopg.connect(url.render_as_string(hide_password=False)) as connection:
        folders = str(connection.execute("SHOW unix_socket_directories").fetchone()[0])  # type: ignore[index]
        port = int(connection.execute("SHOW port").fetchone()[0])  # type: ignore[index]
    folder = next(
        (f for f in folders.split(",") if Path(f.strip(), f".s.PGSQL.{port}").exists()), None
    )
    if folder is None:  # the test server is on another machine: no socket to connect to
        pytest.skip(f"the test database server has no Unix socket here ({folders})")
    return (
        f"postgresql:///{url.database}?host={folder.strip()}&port={port}"
        f"&user={url.username or 'postgres'}"
    )


def test_a_database_over_its_unix_socket_serves_the_cli_the_backup_and_the_app(
    database_url: str, tmp_path: Path
) -> None:
    """`postgresql:///cdfmap?host=/var/run/postgresql` (libpq's, psql's) was "Could not parse
    SQLAlchemy URL" and pg_dump's `invalid connection option "postgresql:/..."`."""
    url = _socket_url(database_url)
    env = {"DATABASE_URL": url, "MEDIA_DIR": str(tmp_path / "media"), **KEY}
    migrated = cli("migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert "schema is at head" in migrated.stdout
    listed = cli("user", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    backed_up = cli("backup", "--out", str(tmp_path / "backup"), env=env)
    assert backed_up.returncode == 0, backed_up.stderr
    assert (tmp_path / "backup" / "manifest.json").is_file()
    settings = Settings(database_url=url, media_dir=tmp_path / "media")
    with TestClient(create_app(settings)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["database"] == "ok", ready.text
        # The statement pools (surveys' ingest) connect with the libpq URL, over the socket.
        with psycopg.connect(settings.libpq_database_url) as connection:
            over = connection.execute("SELECT inet_server_addr()").fetchone()
        assert over == (None,)  # None: a Unix socket, not TCP


# --- forms -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({"FORMS_DIR": "/nonexistent"}, "FORMS_DIR /nonexistent is not a folder"),
        ({"HOUSEHOLD_FORM": "houshold"}, "HOUSEHOLD_FORM 'houshold' is no form in FORMS_DIR"),
    ],
)
def test_check_forms_refuses_a_forms_setting_that_names_nothing(
    database_url: str, env: dict[str, str], said: str
) -> None:
    """Both printed nothing and exited 0: a typo passed for a folder without forms."""
    done = cli("check-forms", "--lang", "en", env={"DATABASE_URL": database_url, **KEY, **env})
    assert done.returncode == 2
    assert said in done.stderr and len(done.stderr.splitlines()) == 1, done.stderr
    vietnamese = cli("check-forms", env={"DATABASE_URL": database_url, **KEY, **env})
    assert vietnamese.returncode == 2 and len(vietnamese.stderr.splitlines()) == 1
    assert next(iter(env)) in vietnamese.stderr and said not in vietnamese.stderr


def test_the_server_without_its_household_form_says_so_and_is_not_ready(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """FORMS_DIR=/nonexistent: the server started, /readyz 200, nothing logged, no forms."""
    settings = Settings(
        database_url=database_url, forms_dir=tmp_path / "nonexistent", media_dir=tmp_path / "m"
    )
    with TestClient(create_app(settings)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["forms"] == "missing" and ready.json()["database"] == "ok"
        assert str(tmp_path) not in ready.text  # the reason, with the path, is in the log
    assert any(
        record.levelname == "ERROR" and "is not a folder" in record.getMessage()
        for record in caplog.records
    ), caplog.text
    wrong_id = Settings(database_url=database_url, household_form="houshold")
    with TestClient(create_app(wrong_id)) as client:
        assert client.get("/readyz").json()["forms"] == "missing"


# --- start-up refusals -------------------------------------------------------------------


def test_a_missing_priorities_file_is_refused_at_start(database_url: str, tmp_path: Path) -> None:
    """It was a 500 with a FileNotFoundError traceback on every indicator and city map."""
    with pytest.raises(SettingError, match=r"PRIORITIES_PATH /nope\.yaml: No such file"):
        create_app(Settings(database_url=database_url, priorities_path=Path("/nope.yaml")))
    broken = tmp_path / "priorities.yaml"
    broken.write_text("weights: [1, 2\n")
    with pytest.raises(SettingError, match="PRIORITIES_PATH"):
        create_app(Settings(database_url=database_url, priorities_path=broken))
    done = cli(
        "print-maps",
        "--city",
        "tam-ky",
        "--out",
        str(tmp_path / "maps"),
        env={"DATABASE_URL": database_url, "PRIORITIES_PATH": "/nope.yaml", **KEY},
    )
    assert done.returncode == 2
    assert done.stderr == "PRIORITIES_PATH /nope.yaml: No such file or directory\n"


def _serve(env: dict[str, str], *workers: str) -> subprocess.CompletedProcess[str]:
    """The documented run command (Makefile `run`, deploy/cdfmap.service), until it exits."""
    import os

    return subprocess.run(
        [
            str(Path(sys.executable).with_name("uvicorn")),
            "app.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            *workers,
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({"SECRET_KEY": "short"}, "SECRET_KEY is shorter than 32 characters"),
        ({"SECRET_KEY": "change-me"}, "SECRET_KEY"),
        ({"DB_POOL_SIZE": "abc"}, "setting DB_POOL_SIZE: Input should be a valid integer"),
        ({"PRIORITIES_PATH": "/nope.yaml"}, "PRIORITIES_PATH /nope.yaml"),
        ({"TRUSTED_ORIGINS": "[https://a"}, "setting TRUSTED_ORIGINS"),
    ],
)
def test_the_server_refuses_a_bad_setting_in_one_line(
    database_url: str, env: dict[str, str], said: str
) -> None:
    """Each was a ~50-line traceback before the reason (the CLI said it in one line)."""
    done = _serve({"DATABASE_URL": database_url, **KEY, **env})
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if said in line]
    assert len(errors) == 1, done.stderr


def test_the_server_refuses_an_unmigrated_database_in_one_line(database_url: str) -> None:
    with scratch_database(database_url, "cdfmap_ops_unmigrated") as url:
        done = _serve({"DATABASE_URL": url, **KEY})
        assert done.returncode == 3, done.stderr
        assert "Traceback" not in done.stderr, done.stderr
        assert "the database has no schema" in done.stderr and "app.cli migrate" in done.stderr
        # Under systemd: one worker per core; each says it once, none a traceback.
        several = _serve({"DATABASE_URL": url, **KEY}, "--workers", "2")
        assert "Traceback" not in several.stderr, several.stderr
        assert "the database has no schema" in several.stderr


def test_settings_in_the_documented_format_are_read_by_the_cli(database_url: str) -> None:
    """TRUSTED_ORIGINS as ALLOWED_HOSTS (comma-separated) was a 14-frame traceback; an
    example line uncommented as shown (`DB_REPLICA_POOL_SIZE=`) "a valid integer"."""
    env = {
        "DATABASE_URL": database_url,
        "TRUSTED_ORIGINS": "https://a.example.org,https://b.example.org",
        "DB_REPLICA_POOL_SIZE": "",
        "EXPORT_CONCURRENCY": "",
        **KEY,
    }
    done = cli("user", "list", env=env)
    assert done.returncode == 0, done.stderr
    wrong = cli("user", "list", env={**env, "TRUSTED_ORIGINS": "a.example.org"})
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr
    assert wrong.stderr.startswith("setting TRUSTED_ORIGINS: TRUSTED_ORIGINS: 'a.example.org'")


# --- privileges --------------------------------------------------------------------------


@pytest.fixture
def plain_role(database_url: str) -> Iterator[str]:
    """A role that may sign in but not create databases (dropped afterwards)."""
    name = f"zz_ops1_{uuid.uuid4().hex[:8]}"
    admin = make_url(with_driver(database_url, "postgresql")).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"CREATE ROLE {name} LOGIN PASSWORD 'zz-ops1-pw'")
    try:
        yield name
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f"DROP ROLE IF EXISTS {name}")


@pytest.mark.parametrize("command", [("migrate",), ("restore", "--from", "/nonexistent")])
def test_a_role_that_may_not_create_the_database_is_told_whom_to_ask(
    database_url: str, plain_role: str, command: tuple[str, ...]
) -> None:
    """`--create-database` as such a role was a "permission denied to create database"
    traceback."""
    url = (
        make_url(with_driver(database_url, "postgresql"))
        .set(username=plain_role, password="zz-ops1-pw", database=f"{plain_role}_db")
        .render_as_string(hide_password=False)
    )
    done = cli(*command, "--create-database", env={"DATABASE_URL": url, **KEY})
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr == (
        f"the role {plain_role} may not create databases: ask the database superuser to "
        f"create {plain_role}_db owned by it (sudo -u postgres createdb -O {plain_role} "
        f"{plain_role}_db), then run this again without --create-database\n"
    )
