"""deploy/Caddyfile run for real in front of the app (plain HTTP on a free port instead of
HTTPS, everything else as shipped), the app with ALLOWED_HOSTS set to the Caddyfile's name as
deploy/cdfmap.env.example says: headers added, the body limits of Caddy and of the app,
streaming, /metrics never taken for a local request when it came through Caddy, the city's
name served and any other refused, by Caddy and by the app behind it. The same over HTTPS
with the phone app: tests/browser/test_https_phone.py."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from bench.common import uvicorn_server
from tests.auth import bearer, make_token, make_user
from tests.caddy import CADDYFILE, free_port, running_caddy, shipped_caddyfile

MiB = 1024 * 1024
CITY = "cdf.example.org"


@pytest.fixture(scope="module")
def app_server(database_url: str) -> Iterator[str]:
    """The app under uvicorn serving only the city's name (host:port of it)."""
    with uvicorn_server("app.main:create_app", database_url, env={"ALLOWED_HOSTS": CITY}) as (
        base,
        _pid,
    ):
        yield base.removeprefix("http://")


@pytest.fixture(scope="module")
def caddy_ports(
    app_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[int, int]]:
    """Caddy running the shipped file for the city's name on one port, and on another a site
    forwarding any name (not shipped: a mistaken edit of the file, which the app must
    survive)."""
    port, loose = free_port(), free_port()
    config = shipped_caddyfile(f"http://{CITY}:{port}", app_server)
    config += f"\nhttp://:{loose} {{\n\treverse_proxy {app_server}\n}}\n"

    def ready() -> bool:
        try:
            answer = httpx.get(
                f"http://127.0.0.1:{port}/healthz", headers={"Host": f"{CITY}:{port}"}, timeout=2
            )
        except httpx.HTTPError:
            return False
        return answer.status_code == 200

    with running_caddy(config, tmp_path_factory.mktemp("caddy"), ready):
        yield port, loose


@pytest.fixture(scope="module")
def proxy(caddy_ports: tuple[int, int]) -> Iterator[httpx.Client]:
    """A client of the city's site through Caddy (the name as a phone sends it)."""
    port, _ = caddy_ports
    with httpx.Client(
        base_url=f"http://127.0.0.1:{port}", headers={"Host": f"{CITY}:{port}"}, timeout=60
    ) as client:
        yield client


@pytest.fixture(scope="module")
def admin(sync_engine: Engine) -> dict[str, str]:
    return bearer(
        make_token(sync_engine, make_user(sync_engine, "proxy-admin", [("national_admin", None)]))
    )


def test_headers_added_by_the_proxy_and_kept_from_the_app(proxy: httpx.Client) -> None:
    response = proxy.get("/healthz")
    assert response.status_code == 200
    assert response.headers["strict-transport-security"] == "max-age=31536000"
    assert "geolocation=(self)" in response.headers["permissions-policy"]
    assert "camera=(self)" in response.headers["permissions-policy"]
    assert "server" not in response.headers
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_metrics_through_the_proxy_need_an_admin(
    proxy: httpx.Client, admin: dict[str, str]
) -> None:
    assert proxy.get("/metrics").status_code == 401
    spoofed = proxy.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"})
    assert spoofed.status_code == 401
    allowed = proxy.get("/metrics", headers=admin)
    assert allowed.status_code == 200
    assert "cdfmap_http_requests_total" in allowed.text


def test_body_limits_of_the_proxy_and_of_the_app(
    proxy: httpx.Client, admin: dict[str, str]
) -> None:
    json_headers = {**admin, "content-type": "application/json"}
    # Within Caddy's limit, over the app's 2 MiB for a survey: the app's own 413, explained.
    app_refused = proxy.post("/api/v1/submissions", content=b" " * (3 * MiB), headers=json_headers)
    assert app_refused.status_code == 413
    assert app_refused.json()["code"] == "body_too_large"
    # Announced over Caddy's 64 MiB: refused at the door from the headers alone, before a
    # byte of the body is sent (a raw request: a client would still be sending it).
    with socket.create_connection(
        (proxy.base_url.host, proxy.base_url.port), timeout=30
    ) as connection:
        connection.sendall(
            b"POST /api/v1/submissions HTTP/1.1\r\nHost: "
            + proxy.headers["host"].encode()
            + b"\r\n"
            b"Content-Type: application/json\r\n"
            + f"Authorization: {admin['Authorization']}\r\n".encode()
            + f"Content-Length: {65 * MiB}\r\n\r\n".encode()
        )
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert "Dữ liệu gửi lên quá lớn".encode() in answer


def test_a_survey_goes_through(
    proxy: httpx.Client, admin: dict[str, str], clean_surveys: None
) -> None:
    from tests.factories import household_survey

    response = proxy.post("/api/v1/submissions", json=household_survey(), headers=admin)
    assert response.status_code == 201, response.text


def test_exports_stream_through_the_proxy(proxy: httpx.Client, admin: dict[str, str]) -> None:
    with proxy.stream("GET", "/api/v1/export/wards.geojson?city=tam-ky", headers=admin) as response:
        assert response.status_code == 200
        body = b"".join(response.iter_bytes())
    assert body.startswith(b'{"type":"FeatureCollection"')


def test_the_citys_name_is_served_and_any_other_refused(
    proxy: httpx.Client, caddy_ports: tuple[int, int]
) -> None:
    port, loose = caddy_ports
    assert proxy.get("/healthz").json() == {"status": "ok", "database": "ok"}
    # Another name on the shipped site: Caddy has no site for it, the app never sees it.
    other = proxy.get("/healthz", headers={"Host": f"evil.example:{port}"})
    # (Caddy 2.6 answers an empty 200; nothing of the app's, not even its headers.)
    assert other.content == b"" and "content-security-policy" not in other.headers
    # A site forwarding every name (a mistaken edit): the app refuses all but the city's,
    # the loopback too (Caddy connects from 127.0.0.1, but it forwarded the request).
    base = f"http://127.0.0.1:{loose}"
    served = httpx.get(f"{base}/healthz", headers={"Host": CITY})
    assert served.status_code == 200
    for host in ("evil.example", f"127.0.0.1:{loose}", "localhost"):
        refused = httpx.get(f"{base}/healthz", headers={"Host": host, "Accept-Language": "en"})
        assert refused.status_code == 400, host
        assert refused.json()["code"] == "unknown_host"
        assert "does not answer to that name" in refused.json()["detail"]


def test_the_servers_own_health_checks_answer_at_the_loopback(app_server: str) -> None:
    """What docs/deploy.md runs on the server: curl http://127.0.0.1:8000/readyz."""
    assert httpx.get(f"http://{app_server}/healthz").status_code == 200
    port = app_server.rsplit(":", 1)[1]
    ready = httpx.get(f"http://{app_server}/readyz", headers={"Host": f"localhost:{port}"})
    assert ready.status_code == 200 and ready.json()["database"] == "ok"
    assert httpx.get(f"http://{app_server}/metrics").status_code == 200
    # Around the proxy under another name: refused.
    assert (
        httpx.get(f"http://{app_server}/healthz", headers={"Host": "evil.example"}).status_code
        == 400
    )


def test_the_shipped_file_is_unchanged_by_the_test(tmp_path: Path) -> None:
    text = CADDYFILE.read_text()
    assert "admin off" not in text and "cdf.example.org {" in text
