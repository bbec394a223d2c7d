"""An operator's mistakes on the command line are a message and exit status 2, never a
traceback, and never a command run somewhere else than meant (operations testing)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import make_url

from app.settings import REPO_ROOT, with_driver
from tests.scratch_db import cli

KEY = {"SECRET_KEY": "k" * 40}


def _without_database(database_url: str) -> str:
    parts = urlsplit(with_driver(database_url, "postgresql"))
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def test_a_url_naming_no_database_is_refused_before_anything(database_url: str) -> None:
    # libpq took the user's name for it: the app's schema went into the `postgres` database.
    done = cli("migrate", env={"DATABASE_URL": _without_database(database_url)})
    assert done.returncode == 2
    assert "DATABASE_URL names no database" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DB_POOL_SIZE": "-1"}, "setting DB_POOL_SIZE"),
        ({"DB_POOL_SIZE": "abc"}, "setting DB_POOL_SIZE"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
    ],
)
def test_a_bad_setting_is_named(database_url: str, env: dict[str, str], message: str) -> None:
    done = cli("user", "list", env={"DATABASE_URL": database_url, **KEY, **env})
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("place", ["port", "database"])
def test_a_database_out_of_reach_is_named(database_url: str, place: str) -> None:
    url = make_url(with_driver(database_url, "postgresql"))
    url = url.set(port=1) if place == "port" else url.set(database="cdfmap_no_such_database")
    for command in (("user", "list"), ("migrate",)):
        done = cli(*command, env={"DATABASE_URL": url.render_as_string(hide_password=False), **KEY})
        assert done.returncode == 2, (command, done.stderr)
        assert "cannot reach the database" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr


def test_a_refused_user_command_names_the_field_and_why(database_url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "user", "add", "cli-short", "--password-stdin"],
        input="short\n",
        cwd=REPO_ROOT,
        env={**os.environ, "DATABASE_URL": database_url, **KEY},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "password: The password needs at least 8 characters" in done.stderr


def _run(database_url: str, *args: str, cwd: Path = REPO_ROOT, **env: str) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        stdin=subprocess.DEVNULL,  # as from cron: no terminal to type at
        cwd=cwd,
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "PYTHONPATH": str(REPO_ROOT),
            **KEY,
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_user_commands_refuse_what_they_cannot_do_with_a_message(database_url: str) -> None:
    """A ward id past the database's integers, a password asked with no terminal and a blank
    name were a traceback, an EOFError traceback and "too long"."""
    done = _run(database_url, "user", "grant", "anyone", "ward_leader", "--ward-id", "99999999999")
    assert done.returncode == 2 and "no ward has the id 99999999999" in done.stderr
    assert "Traceback" not in done.stderr
    added = _run(database_url, "user", "add", "cli-no-tty", "--name", "Lê Văn Đủ")
    assert added.returncode == 0, added.stderr
    asked = _run(database_url, "user", "password", "cli-no-tty")
    assert asked.returncode == 2 and "--password-stdin" in asked.stderr
    assert "Traceback" not in asked.stderr
    blank = _run(database_url, "user", "add", "cli-blank", "--name", "   ")
    assert blank.returncode == 2 and "display_name: This field is required" in blank.stderr


def test_the_wrapper_reads_relative_paths_from_where_it_is_typed(
    database_url: str, tmp_path: Path
) -> None:
    """deploy/cdfmap-cli changes to the code's folder: `backup --out nightly` went there and
    `restore --from bk1` typed beside the backup found no backup."""
    env_file = tmp_path / "cdfmap.env"
    env_file.write_text(f"DATABASE_URL={database_url}\nMEDIA_DIR={tmp_path / 'media'}\n")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({"CDFMAP_ENV": str(env_file), "PYTHON": sys.executable, **KEY})
    done = subprocess.run(
        [str(REPO_ROOT / "deploy" / "cdfmap-cli"), "backup", "--out", "nightly"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "nightly" / "manifest.json").is_file()
    assert not (REPO_ROOT / "nightly").exists()


def test_check_forms_names_each_refusal_in_the_chosen_language(
    database_url: str, tmp_path: Path
) -> None:
    """A form dropped into forms/ that the server will not use: the operator reads its
    sheet, rows, column and reason in Vietnamese (the default) or English, and status 2."""
    forms = tmp_path / "forms"
    forms.mkdir()
    shutil.copy(REPO_ROOT / "forms" / "settlement.xlsx", forms)
    shutil.copy(REPO_ROOT / "tests" / "forms" / "refused_duplicate_names.md", forms)
    # The household form is this folder's settlement form (a folder without the household
    # form is refused on its own: tests/integration/test_ops_settings.py).
    only = {"FORMS_DIR": str(forms), "HOUSEHOLD_FORM": "settlement"}
    said = _run(database_url, "check-forms", **only)
    assert said.returncode == 2, said.stderr
    assert said.stderr == (
        "refused_duplicate_names.md: biểu mẫu không được dùng, vì:\n"
        "  - trang tính survey, các hàng 3, 6, cột name: tên 'name' được dùng nhiều lần "
        "(câu trả lời được lưu theo tên câu hỏi)\n"
    )  # and not the registry's English log line as well
    assert said.stdout.startswith("settlement.xlsx: biểu mẫu settlement (phiên bản: ")
    english = _run(database_url, "check-forms", "--lang", "en", **only)
    assert english.returncode == 2
    assert english.stderr == (
        "refused_duplicate_names.md: the form is not used, because:\n"
        "  - survey sheet, rows 3, 6, column name: the name 'name' is used more than once "
        "(answers are keyed by name)\n"
    )
    (forms / "refused_duplicate_names.md").unlink()
    # A pattern the regex library cannot read for want of digits: named at its row too,
    # with no English traceback before it.
    (forms / "huge_count.md").write_text(
        "| survey |\n| | type | name | label | constraint |\n"
        f"| | text | code | Code | regex(., 'a{{{'9' * 5000}}}') |\n"
    )
    huge = _run(database_url, "check-forms", **only)
    assert huge.returncode == 2
    assert huge.stderr.startswith(
        "huge_count.md: biểu mẫu không được dùng, vì:\n"
        "  - trang tính survey, hàng 2, cột constraint"
    ), huge.stderr[:300]
    assert "Traceback" not in huge.stderr
    (forms / "huge_count.md").unlink()
    fine = _run(database_url, "check-forms", **only)
    assert (fine.returncode, fine.stderr) == (0, ""), fine.stderr


def test_password_and_enrol_say_what_they_did(database_url: str) -> None:
    """`user password` said "their sign-ins must be made again" when the password sent was
    the one the person had (nothing is revoked then; the answer must not tell which, or an
    operator could try passwords on someone); `user enrol` did not say that the person's
    earlier code, not yet used, stops working."""

    def run(*args: str, given: str | None = None) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            input=given,
            cwd=REPO_ROOT,
            env={**os.environ, "DATABASE_URL": database_url, **KEY},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done

    run("user", "add", "cli-twice", "--password-stdin", given="first-password-1\n")
    same = run("user", "password", "cli-twice", "--password-stdin", given="first-password-1\n")
    new = run("user", "password", "cli-twice", "--password-stdin", given="other-password-2\n")
    assert same.stdout == new.stdout  # nothing tells the operator which it was
    assert "password of cli-twice set" in same.stdout
    assert "if it is not the one they had" in same.stdout
    first = run("user", "enrol", "cli-twice").stdout
    second = run("user", "enrol", "cli-twice").stdout
    assert first.splitlines()[0] != second.splitlines()[0]
    assert "earlier codes of cli-twice not yet used no longer work" in second


def test_check_config_fails_what_the_server_would_refuse_in_one_line(database_url: str) -> None:
    """The unit runs it first (deploy/cdfmap.service): uvicorn's parent ended with status 0
    when its workers refused a setting, so systemd never showed the service failed."""
    settings = {"DATABASE_URL": database_url, **KEY}
    fine = cli("check-config", env=settings)
    assert (fine.returncode, fine.stdout.strip()) == (0, "settings ok"), fine.stderr
    for wrong, named in (
        ({"PRIORITIES_PATH": "/nowhere/priorities.yaml"}, "PRIORITIES_PATH /nowhere"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"TRUSTED_ORIGINS": "not an origin"}, "TRUSTED_ORIGINS"),
    ):
        done = cli("check-config", env={**settings, **wrong})
        assert done.returncode == 2, (wrong, done.stdout, done.stderr)
        assert named in done.stderr and "Traceback" not in done.stderr, done.stderr
    # A missing household form is said, but the server may start: it can be dropped in.
    missing = cli("check-config", env={**settings, "HOUSEHOLD_FORM": "nope"})
    assert missing.returncode == 0 and "HOUSEHOLD_FORM 'nope'" in missing.stderr
