"""The settings file is read as systemd reads it (EnvironmentFile=), by deploy/envfile.py, for
deploy/cdfmap-cli and the cron line of docs/deploy.md: a `$`, `;`, `&` or backtick in a value
reaches the program as written and runs nothing. A shell (`set -a; . file`) stopped at
`pa$word1` (`word1: parameter not set`) and ran what followed a `;`."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from app.settings import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
# Each command would make a file in the folder it runs in (the test's empty `markers`).
HOSTILE = "pa$word1;touch s&touch a `touch t` $(touch d)"


def envfile() -> ModuleType:
    spec = importlib.util.spec_from_file_location("envfile", DEPLOY / "envfile.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_values_are_read_by_systemds_rules() -> None:
    """systemd.exec(5), EnvironmentFile=, case by case."""
    text = (
        "# a comment: X=1\n"
        "  ; another: Y=2\n"
        "\n"
        "PLAIN=pa$word1\n"
        "  SPACED =   interior  kept  \n"
        "SINGLE='verbatim $HOME \\n \"q\" ; `x`'\n"
        'DOUBLE="a \\" b \\$ c \\\\ d \\` e \\n f ${HOME}"\n'
        "UNQUOTED=back\\slash 'quotes' \"kept\"\n"
        "CONTINUED=one\\\ntwo\n"
        'MULTI="first\nsecond"\n'
        "EMPTY=\n"
        "no equals sign here\n"
        "1BAD=not a name\n"
        "LAST=first\n"
        "LAST=second"
    )
    assert envfile().parse(text) == {
        "PLAIN": "pa$word1",
        "SPACED": "interior  kept",
        "SINGLE": 'verbatim $HOME \\n "q" ; `x`',
        "DOUBLE": 'a " b $ c \\ d ` e \\n f ${HOME}',
        "UNQUOTED": "backslash 'quotes' \"kept\"",
        "CONTINUED": "onetwo",
        "MULTI": "first\nsecond",
        "EMPTY": "",
        "LAST": "second",
    }


def test_the_example_settings_read_as_the_app_reads_them() -> None:
    """Every active line of deploy/cdfmap.env.example, as pydantic-settings reads the file."""
    from dotenv import dotenv_values

    example = DEPLOY / "cdfmap.env.example"
    assert envfile().parse(example.read_text()) == dotenv_values(example)


def test_a_hostile_value_reaches_the_command_as_written(tmp_path: Path) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    value = HOSTILE
    env_file = tmp_path / "cdfmap.env"
    env_file.write_text(f"PLAIN={value}\nDOUBLE=\"{value}\"\nSINGLE='{value}'\n", encoding="utf-8")
    dump = "import json, os; print(json.dumps(dict(os.environ)))"
    done = subprocess.run(
        [sys.executable, str(DEPLOY / "envfile.py"), str(env_file), sys.executable, "-c", dump],
        cwd=markers,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert [seen["PLAIN"], seen["DOUBLE"], seen["SINGLE"]] == [value] * 3
    assert list(markers.iterdir()) == []  # nothing ran


def test_the_cli_wrapper_passes_a_hostile_setting_literally(tmp_path: Path) -> None:
    """deploy/cdfmap-cli: the database name (which the refusal prints back) carries every
    character a shell would have acted on; a `$` in the password is kept too."""
    markers = tmp_path / "markers"
    markers.mkdir()
    name = "zz_ops2_" + HOSTILE  # under PostgreSQL's 63 characters: printed back whole
    env_file = tmp_path / "cdfmap.env"
    env_file.write_text(
        "# as in /etc/cdfmap/cdfmap.env\n"
        f"DATABASE_URL=postgresql://postgres:pa$word1@127.0.0.1:5432/{name}\n"
        f"MEDIA_DIR={tmp_path / 'media'}\n"
        'BASEMAP_ATTRIBUTION="© OpenStreetMap; `touch b`"\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({"CDFMAP_ENV": str(env_file), "PYTHON": sys.executable})
    done = subprocess.run(
        [str(DEPLOY / "cdfmap-cli"), "migrate"],
        cwd=markers,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "parameter not set" not in done.stderr
    (said,) = re.findall(r'database "(.*)" does not exist', done.stderr)
    assert said == name
    assert list(markers.iterdir()) == []


def test_the_documented_cron_line_takes_a_backup(database_url: str, tmp_path: Path) -> None:
    """docs/deploy.md's cron line, run by a shell as cron runs it, with paths moved here."""
    (line,) = [
        line
        for line in (REPO_ROOT / "docs" / "deploy.md").read_text().splitlines()
        if line.startswith("30 1 * * * cdfmap ")
    ]
    command = line.removeprefix("30 1 * * * cdfmap ")
    assert ". /etc/cdfmap/cdfmap.env" not in command  # never a shell reading the settings
    env_file = tmp_path / "cdfmap.env"
    env_file.write_text(
        f"DATABASE_URL={database_url}\nMEDIA_DIR={tmp_path / 'media'}\n"
        f"PYTHON={sys.executable}\n"
        "SECRET_KEY='a$b;c`d`&e $(f) and more than thirty-two characters'\n",
        encoding="utf-8",
    )
    command = (
        command.replace("/opt/cdfmap/.venv/bin/python", sys.executable)
        .replace("/opt/cdfmap", str(REPO_ROOT))
        .replace("/etc/cdfmap/cdfmap.env", str(env_file))
        .replace("/var/backups/cdfmap", str(tmp_path / "backups"))
    )
    done = subprocess.run(
        ["/bin/sh", "-c", command],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},  # cron's bare environment
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (night,) = (tmp_path / "backups").iterdir()
    assert (night / "manifest.json").is_file()
