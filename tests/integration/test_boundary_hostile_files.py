"""Boundary uploads built to make GDAL act: each is refused before GDAL opens it.

GDAL opens a file by its content, whatever its name: a GDALG file (JSON) runs a command
pipeline (it read /etc/passwd into the 422's message), a VRT reads the files and URLs it
names, a GeoJSON `crs` link is fetched, and a GeoPackage layer that is a recursive view never
finishes counting (eight of them filled the thread pool and the server stopped answering).
"""

from __future__ import annotations

import http.server
import io
import json
import os
import signal
import sqlite3
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import geopandas as gpd
import httpx
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import box
from sqlalchemy import Engine, text

from app.main import create_app
from app.settings import Settings
from bench.common import uvicorn_server
from tests.auth import bearer

SLUG = "thu-doc"  # removed after each test
SECRET = "INTERNAL-ONLY-7f3a"  # what the internal URL answers


class Internal(http.server.BaseHTTPRequestHandler):
    """An internal service the server must never be made to fetch from."""

    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        Internal.requests.append(self.path)
        body = f"a,b\n{SECRET},1\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_HEAD(self) -> None:
        Internal.requests.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def internal() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Internal)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def cleanup(sync_engine: Engine) -> Iterator[None]:
    yield
    with sync_engine.begin() as connection:
        connection.execute(text("DELETE FROM cities WHERE slug = :slug"), {"slug": SLUG})


@pytest.fixture
def web(database_url: str, tmp_path: Path, cleanup: None) -> Iterator[TestClient]:
    settings = Settings(database_url=database_url, media_dir=tmp_path / "media")
    with TestClient(create_app(settings)) as client:
        yield client


def city_count(sync_engine: Engine) -> int:
    with sync_engine.connect() as connection:
        return int(
            connection.execute(
                text("SELECT count(*) FROM cities WHERE slug = :slug"), {"slug": SLUG}
            ).scalar_one()
        )


def gdalg(read: str) -> bytes:
    """A GDALG file whose pipeline reads `read` and puts it in an error message."""
    sql = "SELECT json_extract('{}',(SELECT group_concat(field_1,';') FROM passwd))"
    command = (
        f"gdal vector pipeline ! read --input-format CSV --oo HEADERS=NO {read} "
        f'! sql --dialect SQLITE --sql "{sql}"'
    )
    return json.dumps({"type": "gdal_streamed_alg", "command_line": command}).encode()


def vrt(source: str) -> bytes:
    return (
        f'<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>{source}</SrcDataSource>'
        "</OGRVRTLayer></OGRVRTDataSource>"
    ).encode()


def zipped_as_shapefile(content: bytes) -> bytes:
    """`content` as the .shp of a zip that holds a Shapefile's other parts too."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("wards.shp", content)
        archive.writestr("wards.shx", b"\x00\x00\x27\x0a" + b"\x00" * 96)
        archive.writestr("wards.dbf", b"\x03" + b"\x00" * 31 + b"\x0d")
        archive.writestr("wards.prj", 'GEOGCS["WGS 84"]')
    return buffer.getvalue()


def payloads(internal: str) -> dict[str, tuple[str, bytes, str]]:
    url = f"{internal}/passwd"
    links = {"type": "link", "properties": {"href": f"{internal}/crs", "type": "proj4"}}
    feature = {
        "type": "Feature",
        "properties": {"code": "W1", "name": "Một"},
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[108.4, 15.5], [108.5, 15.5], [108.5, 15.6], [108.4, 15.5]]],
        },
    }
    linked = {"type": "FeatureCollection", "crs": links, "features": [feature]}
    return {
        "gdalg-geojson": ("wards.geojson", gdalg("/etc/passwd"), "boundary_geojson_type"),
        "gdalg-vsicurl": ("wards.json", gdalg(f"/vsicurl/{url}"), "boundary_geojson_type"),
        "gdalg-in-zip": (
            "wards.zip",
            zipped_as_shapefile(gdalg("/etc/passwd")),
            "boundary_part_not_format",
        ),
        "vrt-in-zip": (
            "wards.zip",
            zipped_as_shapefile(vrt(f"/vsicurl/{url}")),
            "boundary_part_not_format",
        ),
        "vrt-passwd-in-zip": (
            "wards.zip",
            zipped_as_shapefile(vrt("CSV:/etc/passwd")),
            "boundary_part_not_format",
        ),
        "geojson-crs-link": (
            "wards.geojson",
            json.dumps(linked).encode(),
            "boundary_geojson_crs",
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "gdalg-geojson",
        "gdalg-vsicurl",
        "gdalg-in-zip",
        "vrt-in-zip",
        "vrt-passwd-in-zip",
        "geojson-crs-link",
    ],
)
def test_files_that_make_gdal_read_or_fetch_are_refused_unopened(
    web: TestClient, admin_token: str, sync_engine: Engine, internal: str, case: str
) -> None:
    name, content, code = payloads(internal)[case]
    Internal.requests.clear()
    for language, word in (("en", "'wards."), ("vi", "'wards.")):
        refused = web.post(
            f"/api/v1/cities/{SLUG}/boundaries",
            files={"wards": (name, content, "application/octet-stream")},
            data={"name": "Thử độc"},
            headers={**bearer(admin_token), "Accept-Language": language},
        )
        assert refused.status_code == 422, refused.text
        assert "root:" not in refused.text and SECRET not in refused.text
        assert "daemon:" not in refused.text
        errors = refused.json()["errors"]
        assert [e["code"] for e in errors] == [code], refused.text
        assert word in errors[0]["message"]
    assert Internal.requests == []
    assert city_count(sync_engine) == 0


# --- a GeoPackage whose layer never ends ---------------------------------------------------------


def endless_geopackage(path: Path) -> bytes:
    """A GeoPackage whose only feature layer is a recursive view with no end."""
    gpd.GeoDataFrame(
        {"code": ["W1"], "name": ["Một"]}, geometry=[box(108.4, 15.5, 108.5, 15.6)], crs=4326
    ).to_file(path, layer="wards", engine="pyogrio")
    with sqlite3.connect(path) as connection:
        connection.executescript(
            """
            CREATE VIEW endless AS
              WITH RECURSIVE n(fid) AS (SELECT 1 UNION ALL SELECT fid + 1 FROM n)
              SELECT n.fid AS fid, w.geom AS geom, w.code AS code, w.name AS name
              FROM n, wards w;
            UPDATE gpkg_contents SET table_name = 'endless', identifier = 'endless'
              WHERE table_name = 'wards';
            UPDATE gpkg_geometry_columns SET table_name = 'endless' WHERE table_name = 'wards';
            DELETE FROM gpkg_ogr_contents;
            """
        )
    return path.read_bytes()


@pytest.fixture(scope="module")
def own_server(database_url: str) -> Iterator[str]:
    """A uvicorn process of its own: before the fix, a stuck upload kept it from stopping."""
    with uvicorn_server("app.main:create_app", database_url) as (base, pid):
        try:
            yield base
        finally:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    break
                time.sleep(0.2)
            else:
                os.kill(pid, signal.SIGKILL)


def test_a_geopackage_whose_layer_is_an_endless_view_is_refused_quickly(
    own_server: str, admin_token: str, sync_engine: Engine, tmp_path: Path, cleanup: None
) -> None:
    content = endless_geopackage(tmp_path / "endless.gpkg")
    started = time.monotonic()
    refused = httpx.post(
        f"{own_server}/api/v1/cities/{SLUG}/boundaries",
        files={"wards": ("Ranh giới.gpkg", content, "application/geopackage+sqlite3")},
        data={"name": "Thử độc"},
        headers={**bearer(admin_token), "Accept-Language": "en"},
        timeout=20,
    )
    assert time.monotonic() - started < 20
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["code"] == "boundary_gpkg_not_table"
    assert refused.json()["errors"][0]["message"].startswith(
        "The GeoPackage 'Ranh giới.gpkg' holds 'endless', a view or virtual table"
    )
    assert httpx.get(f"{own_server}/readyz", timeout=5).status_code == 200
    assert city_count(sync_engine) == 0


def test_a_damaged_upload_is_told_in_the_admins_language(
    web: TestClient, admin_token: str, sync_engine: Engine, tmp_path: Path
) -> None:
    """A zip cut short (an upload over a poor connection) said "Không đọc được tệp
    'wards.zip' (File is not a zip file).": Python's English inside the Vietnamese sentence."""
    whole = zipped_as_shapefile(b"\x00\x00\x27\x0a" + b"\x00" * 96)
    gpkg = tmp_path / "wards.gpkg"
    gpd.GeoDataFrame(
        {"code": ["W1"], "name": ["Một"]}, geometry=[box(108.4, 15.5, 108.5, 15.6)], crs=4326
    ).to_file(gpkg, layer="wards", engine="pyogrio")
    damaged = gpkg.read_bytes()
    damaged = damaged[:100] + b"\xff" * 2000 + damaged[2100:]  # the schema's page overwritten
    cases = [
        ("wards.zip", whole[: len(whole) // 2], "boundary_bad_zip", "không phải là tệp ZIP"),
        ("wards.gpkg", damaged, "boundary_gpkg_damaged", "bị hỏng"),
    ]
    for name, content, code, vietnamese in cases:
        for language, words in (("vi", vietnamese), ("en", "")):
            refused = web.post(
                f"/api/v1/cities/{SLUG}/boundaries",
                files={"wards": (name, content, "application/octet-stream")},
                data={"name": "Thử hỏng"},
                headers={**bearer(admin_token), "Accept-Language": language},
            )
            assert refused.status_code == 422, refused.text
            (error,) = refused.json()["errors"]
            assert error["code"] == code, refused.text
            assert words in error["message"] and f"'{name}'" in error["message"]
            if language == "vi":
                assert "File is not a zip file" not in error["message"], error["message"]
    assert city_count(sync_engine) == 0
