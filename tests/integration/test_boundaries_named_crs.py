"""A coordinate system named for an import fills in only for a file that names none, by the
service, the web API and the command line; and what an import used to do without a word.

Wards in a GeoPackage in UTM 48N, settlements in a Shapefile whose .prj was lost: the import
asked for the settlements' CRS ("Name it, e.g. EPSG:9210"), the admin named it, and the one
CRS was put over both files: the wards were stored some 80 km east, with no warning (found by
review). Also: a settlement whose ward code names no ward was given the ward it lies in
without a word, and pyogrio's own warnings were printed raw on the command line's stderr.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text

from app.main import create_app
from app.services.boundaries import import_city
from app.settings import Settings
from tests.auth import bearer
from tests.integration.test_boundaries import square, write_layer
from tests.integration.test_boundary_files import (
    SLUG,
    VN2000,
    cli,
    close_to_sample,
    sample,
    shapefile,
    stored,
    upload,
    zipped,
)

UTM48 = "EPSG:32648"
UTM48_NAME = "EPSG:32648 (WGS 84 / UTM zone 48N)"
VN2000_NAME = "EPSG:9210 (VN-2000 / TM-3 105-45)"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Wards in a GeoPackage in UTM 48N; settlements in a Shapefile in VN-2000 without .prj
    (plain, zipped, and with measures on its vertices)."""
    root = tmp_path_factory.mktemp("named-crs")
    wards = root / "wards.gpkg"
    sample("wards").to_crs(UTM48).to_file(wards, layer="phuong", engine="pyogrio")
    settlements = shapefile(sample("settlements").to_crs(VN2000), root / "khu", "khu", prj=False)
    measured = root / "measured" / "khu.shp"
    measured.parent.mkdir()
    subprocess.run(
        ["ogr2ogr", "-f", "ESRI Shapefile", str(measured), str(settlements), "-dim", "XYM"],
        check=True,
        capture_output=True,
    )
    assert not measured.with_suffix(".prj").exists()
    for part in (".dbf", ".cpg"):  # the table as written (ogr2ogr 3.6 writes it as Latin-1)
        shutil.copyfile(settlements.with_suffix(part), measured.with_suffix(part))
    return {
        "wards": wards,
        "settlements": settlements,
        "settlements_zip": zipped(settlements, root / "khu.zip"),
        "measured": measured,
    }


@pytest.fixture
def connection(sync_engine: Engine) -> Iterator[Connection]:
    """A connection whose transaction is rolled back at the end: nothing stays behind."""
    with sync_engine.connect() as connection:
        yield connection
        connection.rollback()


@pytest.fixture
def cleanup(sync_engine: Engine) -> Iterator[None]:
    yield
    with sync_engine.begin() as connection:
        connection.execute(text("DELETE FROM cities WHERE slug = :slug"), {"slug": SLUG})


def crs_not_applied(message: str) -> bool:
    """Whether a warning says the wards' own CRS was kept over the one named."""
    return "'wards.gpkg'" in message and UTM48_NAME in message and VN2000_NAME in message


def test_a_named_crs_fills_in_for_the_file_without_one_and_not_over_a_files_own(
    connection: Connection, files: dict[str, Path]
) -> None:
    summary = import_city(
        connection,
        slug=SLUG,
        name="Thành phố Tệp",
        province=None,
        wards_path=files["wards"],
        settlements_path=files["settlements"],
        crs=VN2000,
    )
    assert summary.crs == {"wards": UTM48_NAME, "settlements": VN2000_NAME}
    close_to_sample(stored(connection, "wards"), "wards")  # not 80 km east
    close_to_sample(stored(connection, "settlements"), "settlements")
    (warning,) = summary.warnings
    assert warning.code == "boundary_crs_not_applied" and warning.field == "wards"
    assert crs_not_applied(warning.message("en")) and crs_not_applied(warning.message("vi"))
    # The file's own CRS named again: nothing to say.
    again = import_city(
        connection,
        slug=SLUG,
        name=None,
        province=None,
        wards_path=files["wards"],
        settlements_path=None,
        crs=UTM48,
    )
    assert again.warnings == ()


def test_a_geojson_file_naming_its_crs_keeps_it_and_one_naming_none_takes_the_named(
    connection: Connection, tmp_path: Path
) -> None:
    """GDAL reads every GeoJSON file as WGS 84: one without a `crs` member names none."""
    declared = tmp_path / "declared.geojson"
    sample("wards").to_crs(UTM48).to_file(declared, driver="GeoJSON", engine="pyogrio")
    assert '"crs"' in declared.read_text()[:500]
    undeclared = tmp_path / "undeclared.geojson"
    collection = json.loads(declared.read_text())
    del collection["crs"]
    undeclared.write_text(json.dumps(collection))
    for path in (declared, undeclared):
        summary = import_city(
            connection,
            slug=SLUG,
            name="x",
            province=None,
            wards_path=path,
            settlements_path=None,
            crs=UTM48,
        )
        assert summary.crs == {"wards": UTM48_NAME} and summary.warnings == ()
        close_to_sample(stored(connection, "wards"), "wards")
    kept = import_city(
        connection,
        slug=SLUG,
        name="x",
        province=None,
        wards_path=declared,
        settlements_path=None,
        crs=VN2000,
    )
    assert kept.crs == {"wards": UTM48_NAME}
    assert [w.code for w in kept.warnings] == ["boundary_crs_not_applied"]
    close_to_sample(stored(connection, "wards"), "wards")


@pytest.fixture
def web(database_url: str, tmp_path: Path, cleanup: None) -> Iterator[TestClient]:
    settings = Settings(database_url=database_url, media_dir=tmp_path / "media")
    with TestClient(create_app(settings)) as client:
        yield client


def test_the_api_fills_in_the_named_crs_only_where_a_file_has_none(
    web: TestClient, sync_engine: Engine, files: dict[str, Path], admin_token: str
) -> None:
    created = upload(
        web,
        SLUG,
        {**bearer(admin_token), "Accept-Language": "en"},
        wards=("wards.gpkg", files["wards"].read_bytes(), "application/geopackage+sqlite3"),
        settlements=("khu.zip", files["settlements_zip"].read_bytes(), "application/zip"),
        name="Thành phố Tệp",
        crs=VN2000,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["crs"] == {"wards": UTM48_NAME, "settlements": VN2000_NAME}
    (warning,) = body["warnings"]
    assert warning["code"] == "boundary_crs_not_applied"
    assert crs_not_applied(warning["message"])
    with sync_engine.connect() as connection:
        close_to_sample(stored(connection, "wards"), "wards")
        close_to_sample(stored(connection, "settlements"), "settlements")
    schema = web.get("/openapi.json").json()
    help_text = json.dumps(schema["paths"]["/api/v1/cities/{slug}/boundaries"]["post"])
    assert "overrides" not in help_text and "keeps its own" in help_text


def test_the_command_line_fills_in_the_named_crs_and_prints_no_library_warning(
    database_url: str, sync_engine: Engine, files: dict[str, Path], cleanup: None
) -> None:
    done = cli(
        database_url,
        "--city",
        SLUG,
        "--name",
        "Tệp",
        "--wards",
        str(files["wards"]),
        "--settlements",
        str(files["measured"]),  # measures on every vertex: pyogrio warns of each
        "--crs",
        VN2000,
    )
    assert done.returncode == 0, done.stderr
    assert f"wards read in {UTM48_NAME}; settlements read in {VN2000_NAME}" in done.stdout
    said = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert len(said) == 1, done.stderr
    (warning,) = said
    assert crs_not_applied(warning)
    assert "Warning" not in done.stderr and "pyogrio" not in done.stderr, done.stderr
    with sync_engine.connect() as connection:
        close_to_sample(stored(connection, "wards"), "wards")
        close_to_sample(stored(connection, "settlements"), "settlements")
    help_text = " ".join(cli(database_url, "--help").stdout.split())
    assert "over a wrong one" not in help_text and "keeps its own" in help_text


def test_a_settlement_naming_a_ward_code_no_ward_has_is_named_in_a_warning(
    connection: Connection, tmp_path: Path
) -> None:
    wards = write_layer(
        tmp_path / "wards.geojson",
        [
            ({"code": "W1", "name": "Phường Một"}, square(108.40, 15.20, 0.01)),
            ({"code": "W2", "name": "Phường Hai"}, square(108.41, 15.20, 0.01)),
        ],
    )
    features: list[tuple[dict[str, Any], dict[str, Any]]] = [
        ({"code": "S1", "name": "Tổ Một", "ward_code": "W1"}, square(108.402, 15.202, 0.002)),
        ({"code": "S2", "name": "Tổ Hai", "ward_code": "W9"}, square(108.412, 15.202, 0.002)),
        ({"code": "S3", "name": "Tổ Ba"}, square(108.414, 15.204, 0.002)),  # no code: lies in W2
    ]
    settlements = write_layer(tmp_path / "settlements.geojson", features)
    summary = import_city(
        connection,
        slug=SLUG,
        name="x",
        province=None,
        wards_path=wards,
        settlements_path=settlements,
    )
    (warning,) = summary.warnings
    assert warning.code == "boundary_unknown_ward_code" and warning.field == "settlements"
    for language in ("en", "vi"):
        message = warning.message(language)
        assert "'settlements.geojson'" in message and "S2" in message and "W9" in message
        assert "S1" not in message and "S3" not in message
    rows = connection.execute(
        text(
            "SELECT s.code, w.code FROM settlements s JOIN wards w ON w.id = s.ward_id "
            "JOIN cities c ON c.id = s.city_id WHERE c.slug = :slug ORDER BY s.code"
        ),
        {"slug": SLUG},
    ).all()
    assert [tuple(r) for r in rows] == [("S1", "W1"), ("S2", "W2"), ("S3", "W2")]
