"""GDAL's OAPIF driver (what QGIS uses) against the app under uvicorn: layers, counts,
coordinates, Vietnamese text, paging, Basic and bearer sign-in."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pyogrio
import pytest
from sqlalchemy import Engine, text

from app.services.auth import hash_password
from tests.auth import make_token, make_user
from tests.integration import test_ogc
from tests.integration.test_ogc import PERSONAL

# The OGC tests' fixtures: the sample households (mostly approved), a planner's client.
surveys = test_ogc.surveys


PASSWORD = "Mật-khẩu 2026"


@pytest.fixture
def planner(sync_engine: Engine) -> str:
    """A planner of the sample city with a password (for Basic)."""
    make_user(
        sync_engine, "ogc-gdal-planner", [("planner", ("city", "tam-ky"))], hash_password(PASSWORD)
    )
    return "ogc-gdal-planner"


def gdal(*command: str, config: dict[str, str]) -> str:
    options = [part for key, value in config.items() for part in ("--config", key, value)]
    result = subprocess.run(
        [*command, *options], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout


def test_ogrinfo_and_ogr2ogr_read_every_layer(
    live_server: str,
    sync_engine: Engine,
    surveys: int,
    planner: str,
    tmp_path: Path,
) -> None:
    basic = {"GDAL_HTTP_AUTH": "BASIC", "GDAL_HTTP_USERPWD": f"{planner}:{PASSWORD}"}
    source = f"OAPIF:{live_server}/ogc"
    listing = gdal("ogrinfo", "-ro", "-q", source, config=basic)
    for layer in ("wards", "settlements", "households", "settlement"):
        assert f": {layer} (" in listing or f": {layer}\n" in listing, listing
    summary = gdal("ogrinfo", "-ro", "-so", source, "households", config=basic)
    assert f"Feature Count: {surveys}" in summary, summary

    # ogr2ogr pages through the layer (50 a page) by the next links
    target = tmp_path / "households.gpkg"
    gdal(
        "ogr2ogr",
        "-f",
        "GPKG",
        str(target),
        source,
        "households",
        "-oo",
        "PAGE_SIZE=50",
        config=basic,
    )
    frame = pyogrio.read_dataframe(target)
    assert len(frame) == surveys
    assert frame["id"].is_unique  # every feature once
    assert not set(PERSONAL) & set(frame.columns)
    assert str(pyogrio.read_info(target)["crs"]) in ("EPSG:4326", "OGC:CRS84")
    with sync_engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT h.id::text, ST_X(h.geom), ST_Y(h.geom), w.name FROM household_surveys h "
                "LEFT JOIN wards w ON w.id = h.ward_id WHERE h.status = 'approved' AND h.form_id = "
                "'household'"
            )
        ).all()
    assert set(frame["id"]) == {row[0] for row in rows}
    expected = {row[0]: row for row in rows}
    for _, feature in frame.head(20).iterrows():
        _, lon, lat, ward = expected[feature["id"]]
        assert feature.geometry.x == pytest.approx(lon, abs=1e-6)
        assert feature.geometry.y == pytest.approx(lat, abs=1e-6)
        if ward is not None:
            assert feature["ward"] == ward
    assert any(any(c in str(name) for c in "ăâđêôơưạảấầẩẫậắằẳẵặ") for name in frame["ward"])

    # the settlements with their scores, signed in with a bearer token header
    token = make_token(
        sync_engine, make_user(sync_engine, "ogc-gdal-token", [("planner", ("city", "tam-ky"))])
    )
    settlements = tmp_path / "settlements.gpkg"
    gdal(
        "ogr2ogr",
        "-f",
        "GPKG",
        str(settlements),
        source,
        "settlements",
        config={"GDAL_HTTP_HEADERS": f"Authorization: Bearer {token}"},
    )
    areas = pyogrio.read_dataframe(settlements)
    with sync_engine.connect() as connection:
        assert (
            len(areas) == connection.execute(text("SELECT count(*) FROM settlements")).scalar_one()
        )
    assert {"score", "rank_in_city", "rank_in_ward", "share_no_piped_water"} <= set(areas.columns)
    assert areas["score"].notna().any()


def test_gdal_without_credentials_is_refused(live_server: str) -> None:
    result = subprocess.run(
        ["ogrinfo", "-ro", "-q", f"OAPIF:{live_server}/ogc"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0 and "401" in result.stderr + result.stdout


def test_links_follow_the_proxy_scheme(live_server: str, planner: str) -> None:
    """Behind a TLS proxy, uvicorn --proxy-headers (its default for 127.0.0.1) reads
    X-Forwarded-Proto: every link the client follows is https."""
    import httpx

    auth = (planner, PASSWORD)
    plain = httpx.get(f"{live_server}/ogc", auth=auth, timeout=30).json()
    assert all(link["href"].startswith(live_server) for link in plain["links"])
    proxied = httpx.get(
        f"{live_server}/ogc/collections/households/items?limit=1",
        auth=auth,
        headers={"X-Forwarded-Proto": "https"},
        timeout=30,
    ).json()
    secure = live_server.replace("http://", "https://")
    hrefs = [link["href"] for link in proxied["links"]]
    assert hrefs and all(href.startswith(secure) for href in hrefs), hrefs
    tilejson = httpx.get(
        f"{live_server}/tiles/households.json",
        auth=auth,
        headers={"X-Forwarded-Proto": "https"},
        timeout=30,
    ).json()
    assert tilejson["tiles"] == [f"{secure}/tiles/households/{{z}}/{{x}}/{{y}}.pbf"]
