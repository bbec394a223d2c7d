"""deploy/Caddyfile run for real in the tests: the shipped file with its public name replaced
by an address on this machine and its upstream by a test server, under a Caddy of its own
(no admin API, its certificates and state in a temporary home)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from app.settings import REPO_ROOT

CADDYFILE = REPO_ROOT / "deploy" / "Caddyfile"
SHIPPED_SITE = "cdf.example.org {"
SHIPPED_UPSTREAM = "reverse_proxy 127.0.0.1:8000"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def caddy_binary() -> str:
    found = shutil.which("caddy")
    assert found, "caddy is not installed: `bash scripts/system-deps.sh test` installs it"
    return found


def shipped_caddyfile(site: str, upstream: str, options: str = "") -> str:
    """deploy/Caddyfile serving `site` (a Caddy site address) from `upstream` (host:port),
    with `options` added to its global options (and the admin API off)."""
    text = CADDYFILE.read_text()
    assert SHIPPED_SITE in text and SHIPPED_UPSTREAM in text
    text = text.replace(SHIPPED_SITE, f"{site} {{")
    text = text.replace(SHIPPED_UPSTREAM, f"reverse_proxy {upstream}")
    return text.replace("{\n", "{\n\tadmin off\n" + options, 1)


@contextlib.contextmanager
def running_caddy(config: str, home: Path, ready: Callable[[], bool]) -> Iterator[None]:
    """Caddy running `config` until the block ends, once `ready()` is true (within 30 s)."""
    path = home / "Caddyfile"
    path.write_text(config)
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home),
        "XDG_CONFIG_HOME": str(home),
    }
    log = home / "caddy.log"  # a file, not a pipe nobody reads (a full pipe stops Caddy)
    with log.open("wb") as output:
        process = subprocess.Popen(
            [caddy_binary(), "run", "--adapter", "caddyfile", "--config", str(path)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=output,
        )
    try:
        deadline = time.monotonic() + 30
        while not ready():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "caddy did not start: " + log.read_text()
            time.sleep(0.2)
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)
