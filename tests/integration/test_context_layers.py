"""Streets and places under the maps: imported from real OpenStreetMap-format extracts (OSM XML,
PBF made by osmium, a GeoPackage made by GDAL's ogr2ogr), stored in PostGIS, served per map
view; hostile names stay data."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import LineString, Point
from sqlalchemy import Engine, text

from app.db.engine import make_engine
from app.errors import InvalidInput, NotFound
from app.geo import osm_context
from app.geo.osm_context import ContextFeature
from app.main import create_app
from app.services import context, maps
from app.settings import REPO_ROOT, Settings
from tests.aio import run
from tests.auth import bearer, make_token, make_user

HOSTILE = "{{ 7*7 }}</script><script>alert(1)</script> =cmd|'/c calc'!A1 Đường \"Ngõ\" 'x'"


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sample city's generated context (plus a street with a hostile name) written as an
    OSM XML extract, converted to PBF by osmium and to a GeoPackage by ogr2ogr."""
    directory = tmp_path_factory.mktemp("osm")
    features = context.sample_features()
    first_road = next(f for f in features if f.kind == "road")
    features.append(ContextFeature("road", "minor", HOSTILE, first_road.geometry))
    xml = directory / "city.osm"
    osm_context.write_osm_xml(features, xml)
    pbf = directory / "city.osm.pbf"
    subprocess.run(["osmium", "cat", str(xml), "-o", str(pbf), "--overwrite"], check=True)
    gpkg = directory / "city.gpkg"
    subprocess.run(["ogr2ogr", "-f", "GPKG", str(gpkg), str(xml)], check=True)
    return {"xml": xml, "pbf": pbf, "gpkg": gpkg}


@pytest.fixture(scope="module", autouse=True)
def leave_no_context(sync_engine: Engine) -> Iterator[None]:
    """The other tests' maps and prints are drawn without context layers: none is left."""
    yield
    with sync_engine.begin() as connection:
        connection.execute(text("DELETE FROM context_imports"))


def stored(engine: Engine) -> Counter[tuple[str, str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT kind, class, count(*) FROM context_features f JOIN cities c "
                "ON c.id = f.city_id WHERE c.slug = 'tam-ky' GROUP BY 1, 2"
            )
        ).all()
    return Counter({(r[0], r[1]): r[2] for r in rows})


def expected() -> Counter[tuple[str, str]]:
    found = Counter((f.kind, f.klass) for f in context.sample_features())
    found[("road", "minor")] += 1  # the hostile street
    # A water area read back carries OSM's water=* value; a way's class is what it was written.
    return found


@pytest.mark.parametrize("kind", ["xml", "pbf", "gpkg"])
def test_an_extract_in_each_format_gives_every_feature_once(
    kind: str, extract: dict[str, Path], sync_engine: Engine
) -> None:
    with sync_engine.begin() as connection:
        summary = context.import_extract(connection, "tam-ky", extract[kind])
    assert stored(sync_engine) == expected()
    assert sum(summary.counts.values()) == sum(expected().values())
    with sync_engine.connect() as connection:
        names = set(
            connection.execute(text("SELECT name FROM context_features WHERE kind = 'road'"))
            .scalars()
            .all()
        )
        source = connection.execute(
            text("SELECT source, attribution, license FROM context_imports")
        ).one()
    assert {"Phan Bội Châu", "Hùng Vương", HOSTILE} <= names
    assert source == (extract[kind].name, osm_context.OSM_ATTRIBUTION, "ODbL-1.0")


def test_a_second_import_replaces_the_first(extract: dict[str, Path], sync_engine: Engine) -> None:
    for _ in range(2):
        with sync_engine.begin() as connection:
            context.import_extract(connection, "tam-ky", extract["pbf"])
    assert stored(sync_engine) == expected()


def test_a_file_that_is_no_extract_changes_nothing(
    extract: dict[str, Path], sync_engine: Engine, tmp_path: Path
) -> None:
    with sync_engine.begin() as connection:
        context.import_extract(connection, "tam-ky", extract["xml"])
    before = stored(sync_engine)
    junk = tmp_path / "junk.osm.pbf"
    junk.write_bytes(b"\x00\x01 not protobuf {{ 7*7 }}")
    with pytest.raises(InvalidInput) as refused, sync_engine.begin() as connection:
        context.import_extract(connection, "tam-ky", junk)
    message = refused.value.problems[0].message("vi")
    assert "Không đọc được tệp 'junk.osm.pbf'" in message
    assert "could not be read" in refused.value.problems[0].message("en")
    with pytest.raises(NotFound), sync_engine.begin() as connection:
        context.import_extract(connection, "no-such-city", extract["xml"])
    # A readable file with nothing of the city (its wards file, by mistake): the import
    # used to replace every layer with nothing and say so with exit 0.
    wards = REPO_ROOT / "data" / "samples" / "tam-ky" / "wards.geojson"
    with pytest.raises(InvalidInput) as empty, sync_engine.begin() as connection:
        context.import_extract(connection, "tam-ky", wards)
    assert "the layers imported before are kept" in empty.value.problems[0].message("en")
    assert stored(sync_engine) == before


def test_the_cli_imports_with_progress_and_refuses_clearly(
    extract: dict[str, Path], database_url: str, sync_engine: Engine, tmp_path: Path
) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app.cli", "import-context", *args],
            cwd=REPO_ROOT,
            env={**os.environ, "DATABASE_URL": database_url},
            capture_output=True,
            text=True,
            timeout=300,
        )

    done = cli("tam-ky", str(extract["pbf"]))
    assert done.returncode == 0, done.stderr
    assert "lines:" in done.stderr and "points:" in done.stderr  # progress per layer
    assert "tam-ky:" in done.stdout and "road" in done.stdout
    (tmp_path / "empty.pbf").write_bytes(b"")
    refused = cli("tam-ky", str(tmp_path / "empty.pbf"), "--lang", "en")
    assert refused.returncode == 2
    assert "nothing was imported" in refused.stderr and "empty.pbf" in refused.stderr
    assert stored(sync_engine) == expected()


def test_the_sample_context_is_the_generated_one(sync_engine: Engine) -> None:
    with sync_engine.begin() as connection:
        city = connection.execute(text("SELECT id FROM cities WHERE slug = 'tam-ky'")).scalar_one()
        counts = context.load_sample_context(connection, city)
    generated = Counter(f.kind for f in context.sample_features())
    assert counts == dict(generated)
    assert {"road", "waterway", "water", "building", "landmark"} <= set(counts)
    with sync_engine.connect() as connection:
        attribution = connection.execute(text("SELECT attribution FROM context_imports")).scalar()
    assert attribution == osm_context.SAMPLE_ATTRIBUTION  # invented, not OSM's: no ODbL line


# --- The API a map view reads ----------------------------------------------------------------


def _bbox(features: list[ContextFeature]) -> str:
    west, south, east, north = osm_context.bounds_of(features)
    return f"{west},{south},{east},{north}"


@pytest.fixture
def imported(extract: dict[str, Path], sync_engine: Engine) -> None:
    with sync_engine.begin() as connection:
        context.import_extract(connection, "tam-ky", extract["xml"])


def test_a_view_gets_what_its_zoom_draws(imported: None, client: TestClient) -> None:
    bbox = _bbox(context.sample_features())
    far = client.get("/api/v1/context/tam-ky.geojson", params={"bbox": bbox, "zoom": 12})
    near = client.get("/api/v1/context/tam-ky.geojson", params={"bbox": bbox, "zoom": 17})
    assert far.status_code == near.status_code == 200
    assert far.headers["content-type"].startswith("application/geo+json")
    far_kinds = Counter(f["properties"]["kind"] for f in far.json()["features"])
    near_kinds = Counter(f["properties"]["kind"] for f in near.json()["features"])
    assert far_kinds["building"] == 0 and near_kinds["building"] == 120
    assert far_kinds["road"] < near_kinds["road"] == expected_roads()
    assert near.json()["attribution"] == osm_context.OSM_ATTRIBUTION
    # Drawn bottom to top: water first, landmarks last.
    kinds = [f["properties"]["kind"] for f in near.json()["features"]]
    assert kinds[0] == "water" and kinds[-1] == "landmark"
    hostile = [f for f in near.json()["features"] if f["properties"]["name"] == HOSTILE]
    assert len(hostile) == 1  # the name is data, returned exactly as stored


def expected_roads() -> int:
    return sum(n for (kind, _), n in expected().items() if kind == "road")


def test_a_small_view_gets_only_its_part(imported: None, client: TestClient) -> None:
    market = next(f for f in context.sample_features() if f.klass == "market")
    x, y = market.geometry.x, market.geometry.y
    answer = client.get(
        "/api/v1/context/tam-ky.geojson",
        params={"bbox": f"{x - 0.001},{y - 0.001},{x + 0.001},{y + 0.001}", "zoom": 17},
    )
    names = [f["properties"]["name"] for f in answer.json()["features"]]
    assert market.name in names
    assert len(names) < sum(expected().values()) / 3


@pytest.mark.parametrize(
    "bbox",
    [
        "",
        "1,2,3",
        "a,b,c,d",
        "108.5,15.5,108.4,15.6",
        "100,10,110,20",
        "nan,nan,nan,nan",
        "1e999,0,1,1",
    ],
)
def test_a_bad_view_is_a_422_in_both_languages(
    imported: None, client: TestClient, bbox: str
) -> None:
    for language, words in (("vi", "bốn số"), ("en", "four numbers")):
        answer = client.get(
            "/api/v1/context/tam-ky.geojson",
            params={"bbox": bbox, "lang": language},
            headers={"Accept-Language": language},
        )
        assert answer.status_code == 422, answer.text
        assert words in answer.text


def test_who_sees_the_streets(
    imported: None, settings: Settings, sync_engine: Engine, clean_surveys: None
) -> None:
    bbox = _bbox(context.sample_features())
    volunteer = make_token(
        sync_engine, make_user(sync_engine, "ctx-volunteer", [("volunteer", ("city", "tam-ky"))])
    )
    with TestClient(create_app(settings)) as anonymous:
        url = "/api/v1/context/tam-ky.geojson"
        with sync_engine.begin() as connection:
            connection.execute(text("UPDATE cities SET public_aggregates = false"))
        assert anonymous.get(url, params={"bbox": bbox}).status_code == 401
        assert (
            anonymous.get(url, params={"bbox": bbox}, headers=bearer(volunteer)).status_code == 200
        )
        nowhere = "/api/v1/context/nowhere.geojson"
        signed_in = bearer(volunteer)
        assert anonymous.get(nowhere, params={"bbox": bbox}, headers=signed_in).status_code == 404
        with sync_engine.begin() as connection:
            connection.execute(text("UPDATE cities SET public_aggregates = true"))
        try:
            assert anonymous.get(url, params={"bbox": bbox}).status_code == 200
        finally:
            with sync_engine.begin() as connection:
                connection.execute(text("UPDATE cities SET public_aggregates = false"))


def test_names_with_control_characters_and_lone_surrogates_are_stored_safely(
    sync_engine: Engine,
) -> None:
    name = "Kiệt\x00 5\ud800\x1b[31m" + "x" * 500
    cleaned = osm_context.clean_name(name)
    assert cleaned is not None and "\x00" not in cleaned and len(cleaned) == osm_context.NAME_MAX
    feature = ContextFeature(
        "road", "lane", cleaned, LineString([(108.47, 15.57), (108.48, 15.57)])
    )
    landmark = ContextFeature("landmark", "market", HOSTILE, Point(108.47, 15.57))
    with sync_engine.begin() as connection:
        from app.db.context import replace_city_context

        city = connection.execute(text("SELECT id FROM cities WHERE slug = 'tam-ky'")).scalar_one()
        replace_city_context(connection, city, "t", "", None, [feature, landmark])
        names = connection.execute(text("SELECT name FROM context_features ORDER BY id")).scalars()
        assert list(names) == [cleaned, HOSTILE]


def test_the_printed_ward_map_draws_the_streets_around_the_ward_and_credits_openstreetmap(
    imported: None, client: TestClient, sync_engine: Engine, tmp_path: Path, settings: Settings
) -> None:
    with sync_engine.connect() as connection:
        ward = connection.execute(
            text("SELECT id FROM wards ORDER BY code LIMIT 1 OFFSET 2")
        ).scalar_one()
    for language in ("vi", "en"):
        answer = client.get(f"/maps/wards/{ward}.pdf", params={"lang": language})
        assert answer.status_code == 200
        pdf = tmp_path / f"ward-{language}.pdf"
        pdf.write_bytes(answer.content)
        words = subprocess.run(
            ["pdftotext", "-raw", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        # The names on the map have a white halo, which the PDF draws as outlines (no text
        # to extract): the credit line is plain text; the names are tested in
        # tests/unit/test_context_print.py.
        # In drawing order (-raw) and whatever the line breaks: the credit line is whole.
        assert "".join(osm_context.OSM_ATTRIBUTION.split()) in "".join(words.split())
    with sync_engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT city_id, ST_XMin(geom) AS west, ST_YMin(geom) AS south, "
                "ST_XMax(geom) AS east, ST_YMax(geom) AS north FROM wards WHERE id = :id"
            ),
            {"id": ward},
        ).one()

    async def around() -> tuple[list[ContextFeature], str]:
        engine = make_engine(settings.async_database_url, 2, 0)
        try:
            return await maps._print_context(engine, row.city_id, dict(row._mapping))
        finally:
            await engine.dispose()

    features, attribution = run(around())
    kinds = Counter(f.kind for f in features)
    assert kinds["road"] > 5 and kinds["landmark"] >= 1
    assert attribution == osm_context.OSM_ATTRIBUTION
    assert "building" not in kinds  # houses are too small for a ward map
