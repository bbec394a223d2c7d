"""The phone app's files on the wire: gzip for text, a year's caching for versioned vendor
folders, ETag / 304 for the rest, the form definitions and exports compressed."""

from __future__ import annotations

import gzip

from fastapi.testclient import TestClient

GZIP = {"accept-encoding": "gzip"}
IDENTITY = {"accept-encoding": "identity"}


def test_app_scripts_are_compressed_and_revalidated(client: TestClient) -> None:
    plain = client.get("/static/collect/app.js", headers=IDENTITY)
    packed = client.get("/static/collect/app.js", headers=GZIP)
    assert plain.status_code == packed.status_code == 200
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.headers["vary"] == "Accept-Encoding"
    assert packed.headers["cache-control"] == plain.headers["cache-control"] == "no-cache"
    assert packed.content == plain.content  # httpx undoes the gzip
    assert int(packed.headers["content-length"]) < len(plain.content) / 2
    assert packed.headers["etag"] != plain.headers["etag"]
    again = client.get(
        "/static/collect/app.js", headers={**GZIP, "if-none-match": packed.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""
    assert "javascript" in packed.headers["content-type"]
    # Security headers stay on every response.
    assert packed.headers["x-content-type-options"] == "nosniff"


def test_the_shell_worker_and_manifest_are_compressed(client: TestClient) -> None:
    for path in ("/collect", "/collect/sw.js", "/collect/manifest.webmanifest"):
        response = client.get(path, headers=GZIP)
        assert response.status_code == 200, path
        assert response.headers["content-encoding"] == "gzip", path
        assert response.headers["cache-control"] == "no-cache", path
    raw = client.get("/collect/sw.js", headers=GZIP, extensions={}).content
    assert b"collect-__ASSETS_VERSION__" not in raw


def test_versioned_vendor_files_are_immutable_and_images_not_recompressed(
    client: TestClient,
) -> None:
    leaflet = client.get("/static/vendor/leaflet-1.9.4/leaflet.js", headers=GZIP)
    assert leaflet.status_code == 200
    assert leaflet.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert leaflet.headers["content-encoding"] == "gzip"
    icon = client.get("/static/collect/icons/icon-192.png", headers=GZIP)
    assert icon.status_code == 200 and "content-encoding" not in icon.headers
    assert icon.headers["content-type"] == "image/png"


def test_no_way_out_of_the_static_folders(client: TestClient) -> None:
    for path in (
        "/static/collect/../../app/settings.py",
        "/static/collect/%2e%2e/%2e%2e/pyproject.toml",
        "/static/vendor/leaflet-1.9.4/%2e%2e/%2e%2e/collect/app.js",
        "/static/collect/nothing.js",
        "/static/collect/icons",
        "/static/vendor/leaflet-1.9.4/%00.js",
        # Names the system cannot hold (a segment past 255 bytes, a path past 4,096): 500s.
        "/static/" + "A" * 256,
        "/static/collect/" + "A" * 256,
        "/static/vendor/leaflet-1.9.4/" + "A" * 256,
        "/static/" + "a/" * 2100 + "x",
    ):
        response = client.get(path)
        assert response.status_code in (404, 400), path
        assert client.head(path).status_code in (404, 400), path


def test_the_form_definition_and_exports_are_compressed(client: TestClient) -> None:
    form = client.get("/api/v1/forms/household", headers=GZIP)
    assert form.status_code == 200 and form.headers["content-encoding"] == "gzip"
    # Exports too, streamed (tests/integration/test_compression.py).
    export = client.get("/api/v1/export/wards.geojson?city=tam-ky", headers=GZIP)
    assert export.status_code == 200
    assert export.headers["content-encoding"] == "gzip"


def test_gzip_bytes_are_stable(client: TestClient) -> None:
    first = client.get("/static/collect/sync.js", headers=GZIP)
    with client.stream("GET", "/static/collect/sync.js", headers=GZIP) as second:
        raw = b"".join(second.iter_raw())
    assert gzip.decompress(raw) == first.content


def test_the_pages_files_are_compressed_too(client: TestClient) -> None:
    script = client.get("/static/maps/cdfmap.js", headers=GZIP)
    assert script.status_code == 200 and script.headers["content-encoding"] == "gzip"
    assert script.headers["cache-control"] == "no-cache" and script.headers["etag"]
    swagger = client.get("/static/vendor/swagger-ui-5.32.0/swagger-ui.css", headers=GZIP)
    assert swagger.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert client.get("/static/%2e%2e/pyproject.toml").status_code == 404
    assert client.get("/static/nothing.css").status_code == 404
