"""Map data, GeoJSON and CSV exports, indicators and tiles go out gzip-compressed when the
client accepts it, with the same content; exports still stream; tile ETags still revalidate."""

from __future__ import annotations

import gzip
import zlib

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.auth import bearer
from tests.integration import test_ogc
from tests.integration.test_tiles import busiest_point, tile_of

surveys = test_ogc.surveys  # the sample households, most approved (fixture)

GZIP = {"accept-encoding": "gzip"}
IDENTITY = {"accept-encoding": "identity"}


def both(client: TestClient, path: str) -> tuple[httpx.Response, httpx.Response, bytes]:
    """The identity response, the gzip response, and the gzip response's bytes on the wire."""
    plain = client.get(path, headers=IDENTITY)
    with client.stream("GET", path, headers=GZIP) as packed:
        raw = b"".join(packed.iter_raw())
    assert plain.status_code == packed.status_code == 200, (path, plain.text)
    assert "content-encoding" not in plain.headers, path
    assert packed.headers["content-encoding"] == "gzip", path
    for response in (plain, packed):
        assert "Accept-Encoding" in response.headers["vary"], path
    return plain, packed, raw


def test_map_data_exports_and_indicators_are_compressed(client: TestClient, surveys: int) -> None:
    for path, ratio in [
        ("/maps/data/cities/tam-ky/households.json?surveys=all", 0.6),
        ("/maps/cities/tam-ky", 0.4),
        ("/api/v1/export/households.geojson?city=tam-ky&surveys=all", 0.25),
        ("/api/v1/export/households.csv?city=tam-ky&surveys=all", 0.5),
        ("/api/v1/export/settlements.geojson?city=tam-ky", 0.5),
        ("/api/v1/cities/tam-ky/indicators", 0.5),
        ("/api/v1/cities/tam-ky/indicators.csv", 0.6),
    ]:
        plain, packed, raw = both(client, path)
        if "/maps/cities/" not in path:  # a map page carries its request's CSP nonce
            assert gzip.decompress(raw) == plain.content, path
        assert len(raw) < ratio * len(plain.content), (path, len(raw), len(plain.content))
    # Streamed exports stay streamed: no length known in advance.
    _, packed, _ = both(client, "/api/v1/export/households.geojson?city=tam-ky&surveys=all")
    assert "content-length" not in packed.headers


def test_binary_files_and_posts_are_left_alone(client: TestClient, surveys: int) -> None:
    for path in (
        "/api/v1/export/households.gpkg?city=tam-ky",
        "/api/v1/export/households.xlsx?city=tam-ky",
    ):
        response = client.get(path, headers=GZIP)
        assert response.status_code == 200, (path, response.text)
        assert "content-encoding" not in response.headers, path
    refused = client.post("/api/v1/submissions", headers=GZIP, content=b"{" * 5000)
    assert refused.status_code in (400, 415, 422)
    assert "content-encoding" not in refused.headers


def test_tile_etags_revalidate_with_and_without_gzip(
    client: TestClient, sync_engine: Engine, surveys: int
) -> None:
    lon, lat = busiest_point(sync_engine)
    x, y = tile_of(lon, lat, 14)
    path = f"/tiles/households/14/{x}/{y}.pbf"
    plain, packed, raw = both(client, path)
    assert gzip.decompress(raw) == plain.content
    strong = plain.headers["etag"]
    assert strong.startswith('"') and packed.headers["etag"] == f"W/{strong}"
    for headers, etag in ((GZIP, packed.headers["etag"]), (IDENTITY, strong), (GZIP, strong)):
        again = client.get(path, headers={**headers, "if-none-match": etag})
        assert again.status_code == 304, (headers, etag)
        assert again.content == b""
    assert client.get(path, headers={**GZIP, "if-none-match": 'W/"other"'}).status_code == 200


def test_an_export_streams_compressed_through_uvicorn(
    live_server: str, admin_token: str, surveys: int
) -> None:
    url = f"{live_server}/api/v1/export/households.geojson?city=tam-ky&surveys=all"
    headers = {**bearer(admin_token), **GZIP}
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    with httpx.stream("GET", url, headers=headers, timeout=60) as response:
        assert response.status_code == 200
        assert response.headers["content-encoding"] == "gzip"
        assert response.headers.get("transfer-encoding") == "chunked"
        chunks = response.iter_raw()
        first = decoder.decompress(next(chunks))
        assert first.startswith(b'{"type":"FeatureCollection"')
        rest = b"".join(decoder.decompress(chunk) for chunk in chunks) + decoder.flush()
    whole = httpx.get(url, headers={**bearer(admin_token), **IDENTITY}, timeout=60).content
    assert first + rest == whole
