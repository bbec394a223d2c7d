"""deploy/Caddyfile run for real in front of the app (plain HTTP on a free port instead of the
public name, everything else as shipped): headers added, the body limits of Caddy and of the
app, streaming, and /metrics never taken for a local request when it came through Caddy."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from app.settings import REPO_ROOT
from tests.auth import bearer, make_token, make_user

MiB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def proxy(live_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    caddy = shutil.which("caddy")
    assert caddy, "caddy is not installed: `bash scripts/system-deps.sh test` installs it"
    home = tmp_path_factory.mktemp("caddy")
    port = free_port()
    text = (REPO_ROOT / "deploy" / "Caddyfile").read_text()
    assert "cdf.example.org {" in text and "reverse_proxy 127.0.0.1:8000" in text
    text = text.replace("cdf.example.org {", f"http://127.0.0.1:{port} {{")
    text = text.replace("reverse_proxy 127.0.0.1:8000", f"reverse_proxy {live_server[7:]}")
    text = text.replace("{\n", "{\n\tadmin off\n", 1)  # no admin API on :2019 in a test
    config = home / "Caddyfile"
    config.write_text(text)
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home),
        "XDG_CONFIG_HOME": str(home),
    }
    process = subprocess.Popen(
        [caddy, "run", "--adapter", "caddyfile", "--config", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "caddy did not start"
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def admin(sync_engine: Engine) -> dict[str, str]:
    return bearer(
        make_token(sync_engine, make_user(sync_engine, "proxy-admin", [("national_admin", None)]))
    )


def test_headers_added_by_the_proxy_and_kept_from_the_app(proxy: str) -> None:
    response = httpx.get(f"{proxy}/healthz")
    assert response.status_code == 200
    assert response.headers["strict-transport-security"] == "max-age=31536000"
    assert "geolocation=(self)" in response.headers["permissions-policy"]
    assert "camera=(self)" in response.headers["permissions-policy"]
    assert "server" not in response.headers
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_metrics_through_the_proxy_need_an_admin(proxy: str, admin: dict[str, str]) -> None:
    assert httpx.get(f"{proxy}/metrics").status_code == 401
    spoofed = httpx.get(f"{proxy}/metrics", headers={"X-Forwarded-For": "127.0.0.1"})
    assert spoofed.status_code == 401
    allowed = httpx.get(f"{proxy}/metrics", headers=admin)
    assert allowed.status_code == 200
    assert "cdfmap_http_requests_total" in allowed.text


def test_body_limits_of_the_proxy_and_of_the_app(proxy: str, admin: dict[str, str]) -> None:
    json_headers = {**admin, "content-type": "application/json"}
    # Within Caddy's limit, over the app's 2 MiB for a survey: the app's own 413, explained.
    app_refused = httpx.post(
        f"{proxy}/api/v1/submissions", content=b" " * (3 * MiB), headers=json_headers, timeout=60
    )
    assert app_refused.status_code == 413
    assert app_refused.json()["code"] == "body_too_large"
    # Announced over Caddy's 64 MiB: refused at the door from the headers alone, before a
    # byte of the body is sent (a raw request: a client would still be sending it).
    host, port = proxy.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(
            b"POST /api/v1/submissions HTTP/1.1\r\nHost: " + host.encode() + b"\r\n"
            b"Content-Type: application/json\r\n"
            + f"Authorization: {admin['Authorization']}\r\n".encode()
            + f"Content-Length: {65 * MiB}\r\n\r\n".encode()
        )
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert "Dữ liệu gửi lên quá lớn".encode() in answer


def test_a_survey_goes_through(proxy: str, admin: dict[str, str], clean_surveys: None) -> None:
    from tests.factories import household_survey

    response = httpx.post(f"{proxy}/api/v1/submissions", json=household_survey(), headers=admin)
    assert response.status_code == 201, response.text


def test_exports_stream_through_the_proxy(proxy: str, admin: dict[str, str]) -> None:
    with httpx.stream(
        "GET", f"{proxy}/api/v1/export/wards.geojson?city=tam-ky", headers=admin, timeout=60
    ) as response:
        assert response.status_code == 200
        body = b"".join(response.iter_bytes())
    assert body.startswith(b'{"type":"FeatureCollection"')


def test_the_shipped_file_is_unchanged_by_the_test(tmp_path: Path) -> None:
    text = (REPO_ROOT / "deploy" / "Caddyfile").read_text()
    assert "admin off" not in text and "cdf.example.org {" in text
