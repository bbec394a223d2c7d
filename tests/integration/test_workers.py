"""More than one server process on one database: a form dropped into forms/ is served by
every process within FORMS_RELOAD_SECONDS, and a token revoked through one process is
refused by every other within TOKEN_CACHE_SECONDS (docs/deploy.md says so).

Two uvicorn servers on two ports are two processes with nothing shared but the database and
the forms directory, as `uvicorn --workers N` behind one port is; the last test runs the
latter, as the systemd unit does.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from app.settings import REPO_ROOT
from bench.common import uvicorn_server
from tests.auth import bearer, make_token, make_user

RELOAD_SECONDS = 0.5
CACHE_SECONDS = 2.0
SLACK_SECONDS = 2.0  # a loaded shared machine


@pytest.fixture
def forms_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "forms"
    directory.mkdir()
    shutil.copy(REPO_ROOT / "forms" / "household.xlsx", directory / "household.xlsx")
    return directory


@pytest.fixture
def server_env(forms_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("FORMS_DIR", str(forms_dir))
    monkeypatch.setenv("FORMS_RELOAD_SECONDS", str(RELOAD_SECONDS))
    monkeypatch.setenv("TOKEN_CACHE_SECONDS", str(CACHE_SECONDS))
    monkeypatch.setenv("MEDIA_DIR", str(tmp_path / "media"))
    yield


@pytest.fixture
def two_servers(database_url: str, server_env: None) -> Iterator[list[str]]:
    with ExitStack() as stack:
        bases = [
            stack.enter_context(uvicorn_server("app.main:create_app", database_url))[0]
            for _ in range(2)
        ]
        yield bases


def form_ids(base: str, token: str) -> list[str]:
    response = httpx.get(f"{base}/api/v1/forms", headers=bearer(token), timeout=30)
    assert response.status_code == 200, response.text
    return [form["form_id"] for form in response.json()["forms"]]


def admin(sync_engine: Engine, name: str) -> str:
    return make_token(sync_engine, make_user(sync_engine, name, [("national_admin", None)]))


def test_a_dropped_form_is_seen_by_every_process(
    two_servers: list[str], forms_dir: Path, sync_engine: Engine
) -> None:
    token = admin(sync_engine, "workers-forms")
    for base in two_servers:
        assert form_ids(base, token) == ["household"]
    shutil.copy(REPO_ROOT / "forms" / "settlement.xlsx", forms_dir / "settlement.xlsx")
    dropped = time.monotonic()
    waiting = set(two_servers)
    while waiting and time.monotonic() - dropped < RELOAD_SECONDS + SLACK_SECONDS + 5:
        for base in list(waiting):
            if form_ids(base, token) == ["household", "settlement"]:
                waiting.discard(base)
        time.sleep(0.1)
    assert not waiting, f"not seen by {waiting}"
    # Removed again: gone from every process too.
    (forms_dir / "settlement.xlsx").unlink()
    time.sleep(RELOAD_SECONDS + 0.2)
    for base in two_servers:
        assert form_ids(base, token) == ["household"]


def test_a_token_revoked_through_one_process_is_refused_by_every_process(
    two_servers: list[str], sync_engine: Engine
) -> None:
    first, second = two_servers
    token = admin(sync_engine, "workers-revoked")
    for base in two_servers:  # each process now holds the token in its cache
        assert httpx.get(f"{base}/api/v1/me", headers=bearer(token)).status_code == 200
    logout = httpx.post(f"{first}/api/v1/auth/logout", headers=bearer(token))
    assert logout.status_code in (200, 204), logout.text
    revoked = time.monotonic()
    assert httpx.get(f"{first}/api/v1/me", headers=bearer(token)).status_code == 401
    while httpx.get(f"{second}/api/v1/me", headers=bearer(token)).status_code == 200:
        assert time.monotonic() - revoked < CACHE_SECONDS + SLACK_SECONDS, "still accepted"
        time.sleep(0.1)
    for base in two_servers:
        response = httpx.get(f"{base}/api/v1/forms", headers=bearer(token))
        assert response.status_code == 401
    # Another person's token is untouched.
    other = admin(sync_engine, "workers-other")
    assert all(
        httpx.get(f"{base}/api/v1/me", headers=bearer(other)).status_code == 200
        for base in two_servers
    )


def metric(text: str, prefix: str) -> float:
    (line,) = [line for line in text.splitlines() if line.startswith(prefix)]
    return float(line.rsplit(" ", 1)[1])


def test_uvicorn_workers_behind_one_port(
    database_url: str,
    server_env: None,
    forms_dir: Path,
    sync_engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("METRICS_DIR", str(tmp_path / "metrics"))  # as the systemd unit does
    token = admin(sync_engine, "workers-port")
    with uvicorn_server("app.main:create_app", database_url, workers=2) as (base, _pid):
        pids: set[str] = set()
        deadline = time.monotonic() + 30
        while len(pids) < 2 and time.monotonic() < deadline:  # both workers answer
            text = httpx.get(f"{base}/metrics").text
            line = next(x for x in text.splitlines() if x.startswith("cdfmap_process_start"))
            pids.add(line.split('pid="')[1].split('"')[0])
        assert len(pids) == 2
        shutil.copy(REPO_ROOT / "forms" / "settlement.xlsx", forms_dir / "settlement.xlsx")
        time.sleep(RELOAD_SECONDS + 0.2)
        for _ in range(20):  # answered by either worker: both have the new form
            assert form_ids(base, token) == ["household", "settlement"]
        assert httpx.post(f"{base}/api/v1/auth/logout", headers=bearer(token)).status_code in (
            200,
            204,
        )
        time.sleep(CACHE_SECONDS + 0.2)
        for _ in range(20):
            assert httpx.get(f"{base}/api/v1/me", headers=bearer(token)).status_code == 401
        # Whichever worker answers /metrics, it counts the requests of both.
        time.sleep(1.5)  # each worker writes its counters within a second
        forms = 'cdfmap_http_requests_total{method="GET",route="/api/v1/forms",status="200"}'
        refused = 'cdfmap_http_requests_total{method="GET",route="/api/v1/me",status="401"}'
        answered_by = set()
        for _ in range(12):
            text = httpx.get(f"{base}/metrics").text
            assert metric(text, "cdfmap_workers ") == 2
            assert metric(text, forms) == 20
            assert metric(text, refused) == 20
            line = next(x for x in text.splitlines() if x.startswith("cdfmap_process_start"))
            answered_by.add(line.split('pid="')[1].split('"')[0])
        assert answered_by <= pids
