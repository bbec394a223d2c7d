"""The phone app over HTTPS as deployed: the shipped Caddyfile with a certificate of Caddy's
own CA (`local_certs`, instead of Let's Encrypt) in front of the app under uvicorn with
ALLOWED_HOSTS set, and Chromium reaching the public name cdf.example.org through its
resolver (not localhost, which browsers trust without HTTPS). An admin makes an enrolment
link through the proxy, the phone opens it, its service worker takes control, a survey
filled on it is stored; the web sign-in's cookie is Secure, HttpOnly and SameSite=Lax."""

from __future__ import annotations

import base64
import hashlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, expect
from sqlalchemy import Engine

from app.services.auth import hash_password
from bench.common import uvicorn_server
from tests.auth import bearer, make_token, make_user
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE, TAM_KY, record_console_errors
from tests.browser.test_collect import fill_household, stored, wait_offline_ready
from tests.caddy import free_port, running_caddy, shipped_caddyfile

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("clean_surveys")]
CITY = "cdf.example.org"
PASSWORD = "mật-khẩu đủ dài 2026"


@dataclass(frozen=True)
class Site:
    """The HTTPS site: its address and the certificate Caddy serves for it."""

    base: str
    certificate: Path


@pytest.fixture(scope="module")
def site(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """https://cdf.example.org:PORT served by Caddy (shipped file, local CA) from the app."""
    port, http_port = free_port(), free_port()
    home = tmp_path_factory.mktemp("caddy-tls")
    with uvicorn_server("app.main:create_app", database_url, env={"ALLOWED_HOSTS": CITY}) as (
        upstream,
        _pid,
    ):
        options = (
            "\tlocal_certs\n"  # Caddy's own CA, no ACME: this name is not ours
            "\tskip_install_trust\n"  # nor its root in the machine's trust store
            f"\thttp_port {http_port}\n"  # the redirect to HTTPS, on a free port
            f"\thttps_port {port}\n"
        )
        config = shipped_caddyfile(
            f"https://{CITY}:{port}", upstream.removeprefix("http://"), options
        )
        base = f"https://{CITY}:{port}"

        def ready() -> bool:
            try:
                return https_get(base, "/healthz").status_code == 200
            except httpx.HTTPError:
                return False

        with running_caddy(config, home, ready):
            certificate = home / "caddy" / "certificates" / "local" / CITY / f"{CITY}.crt"
            assert certificate.is_file()
            yield Site(base, certificate)


def spki_sha256(certificate: Path) -> str:
    """base64 of the SHA-256 of a certificate's public key (what Chromium's
    --ignore-certificate-errors-spki-list takes)."""
    public_key = subprocess.run(
        ["openssl", "x509", "-in", str(certificate), "-noout", "-pubkey"],
        capture_output=True,
        check=True,
    ).stdout
    der = subprocess.run(
        ["openssl", "pkey", "-pubin", "-outform", "der"],
        input=public_key,
        capture_output=True,
        check=True,
    ).stdout
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def https_get(base: str, path: str, **kwargs: Any) -> httpx.Response:
    """GET through Caddy as a client of the public name (SNI and Host), at 127.0.0.1."""
    return https_request("GET", base, path, **kwargs)


def https_request(method: str, base: str, path: str, **kwargs: Any) -> httpx.Response:
    port = base.rsplit(":", 1)[1]
    headers = {"Host": f"{CITY}:{port}", **kwargs.pop("headers", {})}
    with httpx.Client(verify=False, timeout=30) as client:  # Caddy's local CA: trusted by none
        return client.request(
            method,
            f"https://127.0.0.1:{port}{path}",
            headers=headers,
            extensions={"sni_hostname": CITY},
            **kwargs,
        )


@pytest.fixture(scope="module")
def tls_browser(browser: Browser, site: Site) -> Iterator[Browser]:
    """A Chromium of its own whose resolver sends cdf.example.org to this machine and which
    takes Caddy's certificate as valid, as a phone takes Let's Encrypt's. Playwright's
    ignore_https_errors is not enough: the page loads, but Chromium registers no service
    worker ("An SSL certificate error occurred when fetching the script")."""
    launched = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=[
            *CHROMIUM_ARGS,
            f"--host-resolver-rules=MAP {CITY} 127.0.0.1",
            f"--ignore-certificate-errors-spki-list={spki_sha256(site.certificate)}",
        ],
    )
    yield launched
    launched.close()


@pytest.fixture
def https_phone(tls_browser: Browser, site: Site) -> Iterator[BrowserContext]:
    """A phone on the HTTPS site, GPS granted, never signed in."""
    context = tls_browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="vi-VN",
        geolocation=TAM_KY,
        permissions=["geolocation"],
        base_url=site.base,
        service_workers="allow",
    )
    yield context
    context.close()


def test_the_site_answers_over_https_only_under_its_name(site: Site) -> None:
    answer = https_get(site.base, "/healthz")
    assert answer.json() == {"status": "ok", "database": "ok"}
    assert answer.headers["strict-transport-security"] == "max-age=31536000"
    # Another name: Caddy has no site for it (an empty answer), the app never sees it.
    other = https_get(site.base, "/healthz", headers={"Host": "evil.example"})
    assert other.content == b"" and "content-security-policy" not in other.headers


def test_the_phone_enrols_works_offline_ready_and_sends_a_survey_over_https(
    https_phone: BrowserContext, site: Site, sync_engine: Engine
) -> None:
    base = site.base
    admin = make_token(sync_engine, make_user(sync_engine, "tls-admin", [("national_admin", None)]))
    volunteer = make_user(sync_engine, "tnv-tls", [("volunteer", ("ward", "W01"))])
    made = https_request(
        "POST",
        base,
        f"/api/v1/users/{volunteer}/enrolments",
        json={"device_name": "điện thoại <b>{{7*7}}</b>"},
        headers=bearer(admin),
    )
    assert made.status_code == 201, made.text
    link = made.json()["url"]
    # Built from what Caddy forwarded: the public name, and https (X-Forwarded-Proto).
    assert link.startswith(f"{base}/collect/#enrol=")

    phone = https_phone.new_page()
    errors = record_console_errors(phone)
    phone.goto(link)
    expect(phone.locator("#app")).to_have_attribute("data-view", "home")
    secure = phone.evaluate("[location.protocol, window.isSecureContext]")
    assert secure == ["https:", True]
    # The service worker registers and controls the page over HTTPS (offline use needs it).
    wait_offline_ready(phone)
    worker = phone.evaluate(
        "navigator.serviceWorker.ready.then(r => [r.active.scriptURL, r.scope,"
        " !!navigator.serviceWorker.controller])"
    )
    assert worker == [f"{base}/collect/sw.js", f"{base}/collect", True]

    fill_household(phone)
    phone.click("#outbox-button")
    expect(phone.locator('.outbox-item[data-status="sent"]')).to_have_count(1)
    (row,) = stored(sync_engine)
    assert row["collector_user_id"] == volunteer
    assert row["answers"]["head_name"] == "Nguyễn Thị Hoa"
    assert errors == []


def test_the_web_sign_in_cookie_is_secure_httponly_and_samesite_over_https(
    tls_browser: Browser, site: Site, sync_engine: Engine
) -> None:
    base = site.base
    make_user(
        sync_engine,
        "tls-planner",
        [("planner", ("city", "tam-ky"))],
        password_hash=hash_password(PASSWORD),
    )
    context = tls_browser.new_context(base_url=base)
    try:
        page = context.new_page()
        page.goto("/login")
        page.fill("#username", "tls-planner")
        page.fill("#password", PASSWORD)
        with page.expect_response(lambda r: r.url.startswith(f"{base}/login")) as answered:
            page.click("button[type=submit]")
        set_cookie = answered.value.all_headers()["set-cookie"]
        assert set_cookie.startswith("cdfmap_session=")
        attributes = {part.strip().lower() for part in set_cookie.split(";")[1:]}
        assert {"secure", "httponly", "samesite=lax", "path=/"} <= attributes
        (cookie,) = [c for c in context.cookies() if c["name"] == "cdfmap_session"]
        assert cookie["secure"] is True and cookie["httpOnly"] is True
        assert cookie["sameSite"] == "Lax" and cookie["domain"] == CITY
        # Signed in: the pages need the cookie, and scripts cannot read it.
        page.wait_for_url(f"{base}/?lang=en")  # in the sign-in page's language (the browser's)
        assert "cdfmap_session" not in page.evaluate("document.cookie")
        assert page.goto("/maps/cities/tam-ky").status == 200  # type: ignore[union-attr]
    finally:
        context.close()
