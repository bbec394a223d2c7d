"""Headers every response carries, cross-site writes refused, the API docs served offline."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.main import create_app
from app.settings import Settings
from tests.auth import bearer
from tests.factories import household_survey

URL = "/api/v1/submissions"


def assert_hardened(response: httpx.Response) -> None:
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff", response.request.url
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"
    policy = headers["content-security-policy"]
    assert "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "base-uri 'none'" in policy
    script_src = re.search(r"script-src ([^;]*)", policy)
    assert script_src is not None
    sources = script_src.group(1).split()
    assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources
    assert "*" not in sources and not any(s.startswith("http") for s in sources)
    assert "server" not in headers or "uvicorn" not in headers["server"]


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/api/v1/cities", {}),
        ("GET", "/api/v1/forms", {}),
        ("GET", "/docs", {}),
        ("GET", "/openapi.json", {}),
        ("GET", "/collect", {}),
        ("GET", "/static/collect/app.js", {}),
        ("GET", "/maps/cities/tam-ky", {}),
        ("GET", "/nowhere", {}),
        ("GET", f"{URL}?limit=0", {}),
        ("POST", URL, {"content": b"{", "headers": {"content-type": "application/json"}}),
        ("POST", URL, {"content": b"x" * (3 * 1024 * 1024)}),
    ],
)
def test_every_response_carries_the_security_headers(
    client: TestClient, method: str, path: str, kwargs: dict
) -> None:
    response = client.request(method, path, **kwargs)
    assert response.status_code < 500
    assert_hardened(response)


def test_each_page_has_its_own_nonce(client: TestClient) -> None:
    nonces = set()
    for _ in range(3):
        policy = client.get("/docs").headers["content-security-policy"]
        match = re.search(r"'nonce-([A-Za-z0-9_-]{16,})'", policy)
        assert match is not None
        nonces.add(match.group(1))
    assert len(nonces) == 3
    page = client.get("/docs")
    nonce = re.search(r"'nonce-([^']+)'", page.headers["content-security-policy"])
    assert nonce is not None
    scripts = re.findall(r"<script[^>]*>", page.text)
    assert scripts and all(
        f'nonce="{nonce.group(1)}"' in tag or "src=" in tag for tag in scripts
    ), scripts


def test_the_docs_load_nothing_from_another_host(client: TestClient) -> None:
    page = client.get("/docs").text
    assert "cdn" not in page.lower()
    for url in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert url.startswith("/"), url
        assert client.get(url).status_code == 200, url
    assert client.get("/redoc").status_code == 404


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "http://evil.example"},
        {"origin": "null"},
        {"origin": "http://testserver.evil.example"},
        {"sec-fetch-site": "cross-site"},
    ],
)
def test_writes_from_another_site_are_refused(client: TestClient, headers: dict) -> None:
    body = household_survey()
    for path, payload in ((URL, body), (f"{URL}/batch", {"submissions": [body]})):
        response = client.post(path, json=payload, headers={**headers, "accept-language": "en"})
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "cross_origin"
        assert "another website" in response.json()["detail"]
        assert_hardened(response)
    assert client.get(f"{URL}/{body['id']}").status_code == 404


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"origin": "http://testserver"},
        {"origin": "https://testserver", "sec-fetch-site": "same-origin"},
    ],
)
def test_writes_from_our_pages_phones_and_tools_pass(client: TestClient, headers: dict) -> None:
    response = client.post(URL, json=household_survey(), headers=headers)
    assert response.status_code == 201, response.text


def test_a_trusted_origin_may_write(
    database_url: str, clean_surveys: None, admin_token: str
) -> None:
    settings = Settings(database_url=database_url, trusted_origins=["https://cdf.example.org"])
    with TestClient(create_app(settings), headers=bearer(admin_token)) as client:
        ok = client.post(
            URL, json=household_survey(), headers={"origin": "https://cdf.example.org"}
        )
        assert ok.status_code == 201
        other = client.post(URL, json=household_survey(), headers={"origin": "https://x.example"})
        assert other.status_code == 403


def test_a_basemap_host_is_allowed_for_images_only(database_url: str, admin_token: str) -> None:
    settings = Settings(
        database_url=database_url,
        basemap_tiles_url="https://{s}.tile.example.org/{z}/{x}/{y}.png",
    )
    with TestClient(create_app(settings), headers=bearer(admin_token)) as client:
        policy = client.get("/api/v1/cities").headers["content-security-policy"]
    assert "img-src 'self' data: blob: https://*.tile.example.org;" in policy
    assert policy.count("tile.example.org") == 1


def test_the_live_server_does_not_name_itself(live_server: str) -> None:
    response = httpx.get(f"{live_server}/healthz")
    assert "server" not in response.headers
    assert_hardened(response)


def test_openapi_documents_the_real_error_shape(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    assert "HTTPValidationError" not in components
    assert set(components["ErrorOut"]["properties"]) == {"code", "detail", "errors"}
    documented = 0
    for path in schema["paths"].values():
        for operation in path.values():
            answer = operation["responses"].get("422")
            if answer:
                documented += 1
                ref = answer["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/ErrorOut"
    assert documented >= 10


def test_the_apis_answers_with_household_data_are_kept_by_no_cache(
    client: TestClient, sync_engine: Engine
) -> None:
    """An export with names and phones, a survey, a list: `private, no-store` (found by
    review: exports said nothing, so a shared browser or proxy could keep them); what says
    otherwise keeps its own (the app's context for 5 minutes)."""
    body = household_survey()
    assert client.post(URL, json=body).status_code == 201
    for path in (
        "/api/v1/export/households.csv?city=tam-ky&personal=true&surveys=all",
        f"{URL}/{body['id']}",
        f"{URL}?limit=5",
        "/api/v1/nowhere",
    ):
        response = client.get(path)
        assert response.status_code < 500, (path, response.status_code)
        assert response.headers["cache-control"] == "private, no-store", path
    assert client.get("/healthz").headers.get("cache-control") != "private, no-store"
    streets = client.get("/api/v1/context/tam-ky.geojson?bbox=108.4,15.5,108.5,15.6&zoom=15")
    assert streets.status_code == 200, streets.text
    assert streets.headers["cache-control"] == "private, max-age=300"
