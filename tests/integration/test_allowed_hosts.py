"""ALLOWED_HOSTS: a request naming another host is answered 400 (in the person's language)
before any route reads it; the city's name is served, with or without a port; the machine's
own health checks at 127.0.0.1 still answer, but not when a proxy forwarded them; unset, any
name is served (`make run`). The same through Caddy: tests/integration/test_deploy_proxy.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from app.api.hosts import host_allowed, host_name
from app.i18n import translate
from app.main import create_app
from app.settings import Settings

CITY = "cdf.example.org"
REMOTE = ("203.0.113.7", 50000)  # a phone, as uvicorn --proxy-headers reports it
LOCAL = ("127.0.0.1", 50000)


@pytest.fixture
def city_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"allowed_hosts": [CITY, "*.cdf.example.net"]})


@pytest.fixture
def phone(city_settings: Settings, clean_surveys: None) -> Iterator[TestClient]:
    """The app restricted to the city's names, asked from a phone's address."""
    with TestClient(create_app(city_settings), client=REMOTE) as client:
        yield client


@pytest.fixture
def on_the_server(city_settings: Settings) -> Iterator[TestClient]:
    """The same app asked from the server itself (curl, Prometheus)."""
    with TestClient(create_app(city_settings), client=LOCAL) as client:
        yield client


@pytest.mark.parametrize(
    "host",
    [CITY, f"{CITY}:443", "CDF.Example.ORG", f"{CITY}.", "ward.cdf.example.net:8443"],
)
def test_the_citys_names_are_served(phone: TestClient, host: str) -> None:
    response = phone.get("/healthz", headers={"Host": host})
    assert response.status_code == 200, response.text
    assert phone.get("/collect/", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "cdf.example.org.evil.example",
        "evilcdf.example.org",
        "cdf.example.net",  # the wildcard is for subdomains only
        "127.0.0.1:8000",  # from a phone's address: not the server's own check
        "localhost",
        "",
        "{{7*7}}<script>",
    ],
)
def test_any_other_name_is_refused_before_a_route(phone: TestClient, host: str) -> None:
    response = phone.get("/healthz", headers={"Host": host})
    assert response.status_code == 400
    assert response.json() == {
        "code": "unknown_host",
        "detail": translate("unknown_host", "vi"),
        "errors": [],
    }
    assert "<script>" not in response.text
    # Before authentication and body checks: a write is refused the same way, not 401/413.
    write = phone.post(
        "/api/v1/submissions",
        content=b"{}",
        headers={"Host": host, "Content-Type": "application/json"},
    )
    assert write.status_code == 400 and write.json()["code"] == "unknown_host"


def test_the_refusal_speaks_the_persons_language(phone: TestClient) -> None:
    english = phone.get("/healthz", headers={"Host": "evil.example", "Accept-Language": "en"})
    assert english.json()["detail"] == (
        "This server does not answer to that name: open the address of the city's server."
    )
    vietnamese = phone.get("/healthz", headers={"Host": "evil.example", "Accept-Language": "vi"})
    assert vietnamese.json()["detail"].startswith("Máy chủ này không phục vụ tên miền đó")


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "[::1]:8000", "127.0.0.1"])
def test_the_servers_own_checks_at_the_loopback_answer(
    on_the_server: TestClient, host: str
) -> None:
    assert on_the_server.get("/healthz", headers={"Host": host}).status_code == 200
    assert on_the_server.get("/readyz", headers={"Host": host}).status_code == 200
    metrics = on_the_server.get("/metrics", headers={"Host": host})
    assert metrics.status_code == 200
    # The refusals are counted there too (the observer sits outside the check).
    on_the_server.get("/healthz", headers={"Host": "evil.example"})
    counted = on_the_server.get("/metrics", headers={"Host": host}).text
    assert 'status="400"' in counted


@pytest.mark.parametrize("header", ["X-Forwarded-For", "Forwarded", "X-Real-IP"])
def test_a_forwarded_request_naming_the_loopback_is_refused(
    on_the_server: TestClient, header: str
) -> None:
    """Caddy connects from 127.0.0.1 too: what it forwards is not the server's own check."""
    response = on_the_server.get(
        "/healthz", headers={"Host": "127.0.0.1:8000", header: "203.0.113.7"}
    )
    assert response.status_code == 400
    assert on_the_server.get("/healthz", headers={"Host": "evil.example"}).status_code == 400


def test_unset_any_name_is_served(settings: Settings) -> None:
    assert settings.allowed_hosts == ["*"]
    with TestClient(create_app(settings), client=REMOTE) as client:
        for host in ("evil.example", "192.168.1.20:8000", "localhost"):
            assert client.get("/healthz", headers={"Host": host}).status_code == 200


def test_the_setting_is_comma_separated_and_refuses_what_is_not_a_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALLOWED_HOSTS", " cdf.example.org, *.Example.NET ,")
    assert Settings().allowed_hosts == ["cdf.example.org", "*.example.net"]
    for wrong in ("", " , ", "https://cdf.example.org", "cdf.example.org/maps", "cdf*.org"):
        monkeypatch.setenv("ALLOWED_HOSTS", wrong)
        with pytest.raises(ValidationError, match="ALLOWED_HOSTS"):
            Settings()


def test_two_host_headers_or_a_host_that_is_no_name_are_refused(phone: TestClient) -> None:
    """The app's links are made from the first Host header: a check of another one, or of a
    name with something else in its port, would let another name through."""
    for hosts in ([("Host", "evil.example"), ("Host", CITY)], [("Host", CITY), ("Host", CITY)]):
        assert phone.get("/healthz", headers=hosts).status_code == 400
    for host in (f"{CITY}:@evil.example", f"{CITY}:80:80", f"{CITY}:", f"[{CITY}]"):
        assert phone.get("/healthz", headers={"Host": host}).status_code == 400, host
    assert phone.get("/healthz", headers={"Host": f"{CITY}:8443"}).status_code == 200


def test_host_names_and_patterns() -> None:
    assert host_name("cdf.example.org:@evil.example") == "cdf.example.org:@evil.example"
    assert host_name("[::1]x") == "[::1]x" and host_name("::1") == "::1"
    assert host_name("CDF.example.org:443") == "cdf.example.org"
    assert host_name("[::1]:8000") == "::1" and host_name("[::1]") == "::1"
    assert host_name("cdf.example.org.") == "cdf.example.org"
    assert host_allowed("a.b.example.org", ["*.example.org"])
    assert not host_allowed("example.org", ["*.example.org"])
    assert not host_allowed("badexample.org", ["*.example.org"])
    assert host_allowed("anything", ["*"])
