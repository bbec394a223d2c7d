"""The deployment files: Caddy validates and formats the Caddyfile, its body limit and
upstream agree with the app and the systemd unit, the unit runs uvicorn as it must, the
settings example names every setting and its placeholder key is refused, and the nightly
backup script writes a backup and removes only old ones."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from app.services.attachments import MAX_UPLOAD_BYTES
from app.services.auth import secret_problem
from app.settings import REPO_ROOT, Settings
from tests.scratch_db import media_digests

DEPLOY = REPO_ROOT / "deploy"
CADDYFILE = DEPLOY / "Caddyfile"
UNIT = DEPLOY / "cdfmap.service"
ENV_EXAMPLE = DEPLOY / "cdfmap.env.example"
UNITS = {
    unit: unit.read_text()
    for unit in (UNIT, DEPLOY / "cdfmap-backup.service", DEPLOY / "cdfmap-backup.timer")
}
SIZES = {"": 1, "KB": 1000, "MB": 1000**2, "GB": 1000**3, "KIB": 1024, "MIB": 1024**2}


def caddy() -> str:
    found = shutil.which("caddy")
    assert found, "caddy is not installed: `bash scripts/system-deps.sh test` installs it"
    return found


def test_caddy_validates_the_caddyfile(tmp_path: Path) -> None:
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path)}
    done = subprocess.run(
        [caddy(), "validate", "--adapter", "caddyfile", "--config", str(CADDYFILE)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Valid configuration" in done.stdout + done.stderr
    formatted = subprocess.run(
        [caddy(), "fmt", str(CADDYFILE)], capture_output=True, text=True, timeout=60, check=True
    )
    assert formatted.stdout == CADDYFILE.read_text(), "run `caddy fmt --overwrite`"


def caddy_bytes(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)\s*([A-Za-z]*)", value).groups()  # type: ignore[union-attr]
    return int(number) * SIZES[unit.upper()]


def test_the_proxy_body_limit_is_above_every_limit_of_the_app() -> None:
    text = CADDYFILE.read_text()
    (limit,) = re.findall(r"max_size\s+(\S+)", text)
    settings = Settings()
    largest = max(settings.max_body_bytes, settings.max_boundary_upload_bytes, MAX_UPLOAD_BYTES)
    assert largest < caddy_bytes(limit) <= 2 * largest


def test_caddy_and_the_unit_agree_on_the_upstream() -> None:
    (upstream,) = re.findall(r"reverse_proxy\s+(\S+)", CADDYFILE.read_text())
    unit = UNITS[UNIT]
    host, port = upstream.rsplit(":", 1)
    assert f"--host {host}" in unit and f"--port {port}" in unit
    assert host == "127.0.0.1"  # never reachable around the proxy


def unit_values(text: str) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    logical = re.sub(r"\\\n\s*", " ", text)
    for line in logical.splitlines():
        if "=" in line and not line.lstrip().startswith(("#", "[")):
            key, value = line.split("=", 1)
            values.setdefault(key.strip(), []).append(value.strip())
    return values


def test_the_unit_runs_uvicorn_workers_behind_the_proxy_as_an_unprivileged_user() -> None:
    values = unit_values(UNITS[UNIT])
    assert values["User"] == ["cdfmap"] and values["Group"] == ["cdfmap"]
    assert values["EnvironmentFile"] == ["/etc/cdfmap/cdfmap.env"]
    # The settings are checked first: a wrong one fails the unit (uvicorn's parent exits 0).
    assert values["ExecStartPre"] == ["/opt/cdfmap/.venv/bin/python -m app.cli check-config"]
    (start,) = values["ExecStart"]
    for part in (
        "uvicorn app.main:create_app --factory",
        '--workers "$${WEB_CONCURRENCY:-$$(nproc)}"',  # one per core ($$: systemd's $)
        "--proxy-headers",
        "--forwarded-allow-ips 127.0.0.1",
        "--no-access-log",
    ):
        assert part in start, part
    assert values["NoNewPrivileges"] == ["true"] and values["ProtectSystem"] == ["strict"]
    assert values["StateDirectory"] == ["cdfmap"]  # /var/lib/cdfmap: MEDIA_DIR, VAR_DIR
    # The shell line systemd runs, with its $$ turned into $, starts: check its syntax.
    command = start.removeprefix("/bin/sh -c ").strip("'").replace("$$", "$")
    assert subprocess.run(["sh", "-n", "-c", command], check=False).returncode == 0


def test_the_backup_timer_runs_the_backup_service_nightly() -> None:
    timer = unit_values(UNITS[DEPLOY / "cdfmap-backup.timer"])
    service = unit_values(UNITS[DEPLOY / "cdfmap-backup.service"])
    assert timer["OnCalendar"] == ["*-*-* 01:30:00"] and timer["Persistent"] == ["true"]
    assert service["Type"] == ["oneshot"] and service["User"] == ["cdfmap"]
    assert service["ExecStart"] == ["/opt/cdfmap/deploy/backup-nightly.sh"]
    assert os.access(DEPLOY / "backup-nightly.sh", os.X_OK)


def env_example() -> tuple[dict[str, str], set[str]]:
    """The example's active KEY=value lines, and every key it names (commented ones too)."""
    active: dict[str, str] = {}
    named: set[str] = set()
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.fullmatch(r"(#?)([A-Z][A-Z0-9_]*)=(.*)", line)
        if match:
            named.add(match.group(2))
            if not match.group(1):
                active[match.group(2)] = match.group(3)
    return active, named


def test_the_settings_example_names_every_setting() -> None:
    _, named = env_example()
    missing = {name.upper() for name in Settings.model_fields} - named
    assert not missing, f"add these settings to deploy/cdfmap.env.example: {sorted(missing)}"
    assert named - {n.upper() for n in Settings.model_fields} == {"WEB_CONCURRENCY"}


def test_the_settings_example_loads_and_its_placeholder_key_is_refused(tmp_path: Path) -> None:
    active, _ = env_example()
    assert {"SECRET_KEY", "DATABASE_URL", "MEDIA_DIR", "ALLOWED_HOSTS"} <= set(active)
    settings = Settings(_env_file=ENV_EXAMPLE)  # type: ignore[call-arg]
    assert settings.demo is False and settings.request_log is True
    assert settings.media_dir == Path("/var/lib/cdfmap/media")
    # The app serves the name Caddy serves, and nothing else (app.api.hosts).
    (site,) = re.findall(r"^(\S+) \{$", CADDYFILE.read_text(), flags=re.MULTILINE)
    assert settings.allowed_hosts == [site] == ["cdf.example.org"]
    assert secret_problem(active["SECRET_KEY"]) is not None  # nobody runs with "change-me"


def test_the_nightly_script_backs_up_and_removes_only_old_backups(
    database_url: str, tmp_path: Path
) -> None:
    root = tmp_path / "backups"
    media = tmp_path / "media"
    (media / "survey").mkdir(parents=True)
    (media / "survey" / "house.jpg").write_bytes(b"\xff\xd8\xff photo")
    old = []
    for age_days in (40, 30, 20, 2):  # four earlier complete backups, and an unfinished one
        stamp = time.time() - age_days * 86400
        directory = root / time.strftime("%Y-%m-%dT%H%M%SZ", time.gmtime(stamp))
        directory.mkdir(parents=True)
        (directory / "manifest.json").write_text("{}")
        os.utime(directory / "manifest.json", (stamp, stamp))
        old.append(directory)
    unfinished = root / "2020-12-31T013000Z"
    unfinished.mkdir()
    manual = []  # a person's, named their way: sorted by name they counted as the newest
    for name in ("before-upgrade", "manual-1"):
        (root / name).mkdir()
        (root / name / "manifest.json").write_text("{}")
        stamp = time.time() - 60 * 86400
        os.utime(root / name / "manifest.json", (stamp, stamp))
        manual.append(root / name)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "MEDIA_DIR": str(media),
        "BACKUP_ROOT": str(root),
        "RETAIN_DAYS": "14",
        "KEEP_AT_LEAST": "3",
        "PYTHON": sys.executable,
    }
    done = subprocess.run(
        [str(DEPLOY / "backup-nightly.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    kept = sorted(path.name for path in root.iterdir())
    new = sorted(set(kept) - {path.name for path in old} - {unfinished.name, "before-upgrade"})
    new = [name for name in new if name != "manual-1"]
    assert len(new) == 1
    assert media_digests(root / new[0] / "media") == media_digests(media)
    # Tonight's, 2 and 20 days old are the newest three (kept whatever their age); of the
    # others, those older than 14 days go.
    assert old[0].name not in kept and old[1].name not in kept
    assert old[2].name in kept and old[3].name in kept
    assert unfinished.name in kept  # not a complete backup: left for a person to look at
    assert all(path.name in kept for path in manual)


def test_the_nightly_script_stops_when_the_backup_fails(tmp_path: Path) -> None:
    root = tmp_path / "backups"
    old = root / "2026-01-01T013000Z"
    old.mkdir(parents=True)
    (old / "manifest.json").write_text("{}")
    stamp = time.time() - 90 * 86400
    os.utime(old / "manifest.json", (stamp, stamp))
    env = {
        **os.environ,
        "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nowhere",
        "BACKUP_ROOT": str(root),
        "KEEP_AT_LEAST": "0",
        "PYTHON": sys.executable,
    }
    done = subprocess.run(
        [str(DEPLOY / "backup-nightly.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "backup failed" in done.stderr
    assert old.exists()  # nothing removed after a failed night
    assert [path.name for path in root.iterdir()] == [old.name]  # nor tonight's partial dump


def test_the_nightly_script_runs_from_its_own_folder(tmp_path: Path) -> None:
    # `cd deploy && ./backup-nightly.sh` looked for ./../.venv after changing directory.
    done = subprocess.run(
        ["./backup-nightly.sh"],
        cwd=DEPLOY,
        env={**os.environ, "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nowhere",
             "BACKUP_ROOT": str(tmp_path / "b")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert done.returncode == 1  # the backup failed (no database there), not 127
    assert "connection refused" in done.stderr.lower()  # the CLI ran: the venv was found


def test_the_cli_wrapper_reads_the_settings_file(database_url: str, tmp_path: Path) -> None:
    env_file = tmp_path / "cdfmap.env"
    env_file.write_text(
        f"DATABASE_URL={database_url}\nMEDIA_DIR={tmp_path / 'media'}\n"
        'BASEMAP_ATTRIBUTION="© OpenStreetMap contributors"\n'
    )
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({"CDFMAP_ENV": str(env_file), "PYTHON": sys.executable})
    done = subprocess.run(
        [str(DEPLOY / "cdfmap-cli"), "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "(head): nothing to do" in done.stdout
    env["CDFMAP_ENV"] = str(tmp_path / "missing.env")
    missing = subprocess.run(
        [str(DEPLOY / "cdfmap-cli"), "migrate"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 1
    assert "cannot read" in missing.stderr


def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing: `bash scripts/system-deps.sh test` installs it"
    paths = []
    for unit, text in UNITS.items():
        path = tmp_path / unit.name
        # The checkout stands where the units expect /opt/cdfmap (their programs must exist).
        path.write_text(text.replace("/opt/cdfmap", str(REPO_ROOT)))
        paths.append(str(path))
    done = subprocess.run(
        [analyze, "verify", "--man=no", *paths],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "SYSTEMD_LOG_LEVEL": "notice"},
    )
    assert done.returncode == 0, done.stderr
    assert not [line for line in done.stderr.splitlines() if "cdfmap" in line], done.stderr
