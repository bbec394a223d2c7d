"""Vector tiles decoded by GDAL's MVT driver: the right features, no personal field, empty
tiles, ETags, bad coordinates, TileJSON and roles."""

from __future__ import annotations

import math
import uuid
from pathlib import Path

import pyogrio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.main import create_app
from app.settings import Settings
from tests.auth import bearer, make_token, make_user, ward_id
from tests.integration import test_ogc
from tests.integration.test_ogc import PERSONAL, SAMPLE

# The OGC tests' fixtures: the sample households (mostly approved), a planner's client.
as_planner = test_ogc.as_planner
surveys = test_ogc.surveys


MVT = "application/vnd.mapbox-vector-tile"


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The x, y of the Web Mercator tile holding a point."""
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def decode(content: bytes, layer: str, z: int, x: int, y: int, tmp_path: Path) -> object:
    path = tmp_path / f"{layer}-{z}-{x}-{y}.pbf"
    path.write_bytes(content)
    # CLIP=NO: the points in the tile's buffer too (GDAL drops them by default)
    return pyogrio.read_dataframe(path, layer=layer, X=str(x), Y=str(y), Z=str(z), CLIP="NO")


def in_tile(engine: Engine, z: int, x: int, y: int, where: str = "TRUE", **params: object) -> int:
    """Approved households within a tile and its 64-pixel buffer."""
    with engine.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT count(*) FROM household_surveys h WHERE h.status = 'approved' "
                    "AND h.form_id = 'household' AND ST_Intersects(ST_Transform(h.geom, 3857), "
                    f"ST_TileEnvelope(:z, :x, :y, margin => 64.0 / 4096)) AND {where}"
                ),
                {"z": z, "x": x, "y": y, **params},
            ).scalar_one()
        )


def busiest_point(engine: Engine) -> tuple[float, float]:
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT ST_X(geom), ST_Y(geom) FROM household_surveys "
                "WHERE status = 'approved' ORDER BY id LIMIT 1"
            )
        ).one()
    return float(row[0]), float(row[1])


def test_household_tiles_hold_the_right_features_and_no_personal_field(
    client: TestClient, sync_engine: Engine, surveys: int, tmp_path: Path
) -> None:
    lon, lat = busiest_point(sync_engine)
    for z in (10, 14, 16):
        x, y = tile_of(lon, lat, z)
        response = client.get(f"/tiles/households/{z}/{x}/{y}.pbf")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == MVT
        frame = decode(response.content, "households", z, x, y, tmp_path)
        assert len(frame) == in_tile(sync_engine, z, x, y) > 0
        # the national admin asks, and still: a tile is a map layer, never personal data
        assert not set(PERSONAL) & set(frame.columns)
        assert {"tenure", "water_source", "ward_id", "settlement_id"} <= set(frame.columns)
        assert "household_size" in frame.columns and "id" not in frame.columns
    for survey in SAMPLE:
        assert survey["answers"]["head_name"].encode() not in response.content
    # each point is where a survey is, with that survey's answers
    with sync_engine.connect() as connection:
        stored = {
            (round(row[0], 4), round(row[1], 4)): row[2]
            for row in connection.execute(
                text(
                    "SELECT ST_X(geom), ST_Y(geom), answers->>'tenure' FROM household_surveys "
                    "WHERE status = 'approved'"
                )
            )
        }
    projected = frame.to_crs(4326)
    matched = 0
    for _, feature in projected.iterrows():
        key = (round(feature.geometry.x, 4), round(feature.geometry.y, 4))
        if key in stored:  # (a point on a rounding edge is looked up no further)
            assert stored[key] == feature["tenure"]
            matched += 1
    assert matched >= len(frame) * 0.8


def test_area_tiles_carry_their_names(
    client: TestClient, sync_engine: Engine, tmp_path: Path
) -> None:
    with sync_engine.connect() as connection:
        name, lon, lat = connection.execute(
            text(
                "SELECT name, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
                "FROM wards ORDER BY id LIMIT 1"
            )
        ).one()
    x, y = tile_of(lon, lat, 13)
    for layer in ("wards", "settlements"):
        response = client.get(f"/tiles/{layer}/13/{x}/{y}.pbf")
        assert response.status_code == 200
        frame = decode(response.content, layer, 13, x, y, tmp_path)
        assert len(frame) > 0 and "name" in frame.columns
    wards = decode(client.get(f"/tiles/wards/13/{x}/{y}.pbf").content, "wards", 13, x, y, tmp_path)
    assert name in set(wards["name"])  # Vietnamese, intact


def test_empty_tiles_etags_and_bad_coordinates(
    client: TestClient, sync_engine: Engine, surveys: int
) -> None:
    assert client.get("/tiles/households/5/0/0.pbf").status_code == 204  # the Arctic sea
    lon, lat = busiest_point(sync_engine)
    x, y = tile_of(lon, lat, 15)
    url = f"/tiles/households/15/{x}/{y}.pbf"
    # The tile's own tag (gzip-compressed, it is the weak W/"..." of it: test_compression).
    plain = {"Accept-Encoding": "identity"}
    first = client.get(url, headers=plain)
    etag = first.headers["etag"]
    assert first.status_code == 200 and etag.startswith('"')
    assert "private" in first.headers["cache-control"]
    again = client.get(url, headers={**plain, "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert client.get(url, headers={"If-None-Match": f'"other", W/{etag}'}).status_code == 304
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    # the data in the tile changes: a new tile, a new tag
    with sync_engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE household_surveys SET status = 'rejected' WHERE id = "
                "(SELECT id FROM household_surveys WHERE status = 'approved' ORDER BY id LIMIT 1)"
            )
        )
    changed = client.get(url, headers={**plain, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    # 01/0/0 was another address of 1/0/0 (one tile, two cache entries).
    for bad in ("a/b/c", "1/0/x", "-1/0/0", "1.5/0/0", "99999999999/0/0", "01/0/0", "1/00/0"):
        response = client.get(f"/tiles/households/{bad}.pbf")
        assert response.status_code in (400, 404), (bad, response.status_code)
        assert response.json()["detail"]
    assert client.get("/tiles/households/a/0/0.pbf").status_code == 400
    for missing in ("23/0/0", "3/8/0", "3/0/8", "0/1/0"):
        assert client.get(f"/tiles/households/{missing}.pbf").status_code == 404
    assert client.get("/tiles/people/1/0/0.pbf").status_code == 404
    assert client.get("/tiles/people.json").status_code == 404


def test_tilejson_and_roles(
    settings: Settings,
    sync_engine: Engine,
    surveys: int,
    as_planner: TestClient,
    tmp_path: Path,
) -> None:
    document = as_planner.get("/tiles/households.json").json()
    assert document["tiles"] == ["http://testserver/tiles/households/{z}/{x}/{y}.pbf"]
    assert document["minzoom"] == 0 and document["maxzoom"] == 22
    west, south, east, north = document["bounds"]
    assert 108 < west < east < 109 and 15 < south < north < 16
    fields = document["vector_layers"][0]["fields"]
    assert fields["household_size"] == "Number" and fields["tenure"] == "String"
    assert not set(PERSONAL) & set(fields)
    with TestClient(create_app(settings)) as anonymous:
        assert anonymous.get("/tiles/households.json").status_code == 401
        refused = anonymous.get("/tiles/households/10/0/0.pbf")
        assert refused.status_code == 401 and "Basic" in refused.headers["www-authenticate"]
    # a ward leader's tiles hold their ward's households only
    ward = ward_id(sync_engine, "W01")
    token = make_token(
        sync_engine,
        make_user(
            sync_engine, f"tile-leader-{uuid.uuid4().hex[:6]}", [("ward_leader", ("ward", "W01"))]
        ),
    )
    lon, lat = busiest_point(sync_engine)
    x, y = tile_of(lon, lat, 10)
    with TestClient(create_app(settings), headers=bearer(token)) as leader:
        response = leader.get(f"/tiles/households/10/{x}/{y}.pbf")
        assert response.status_code == 200
        frame = decode(response.content, "households", 10, x, y, tmp_path)
        assert set(frame["ward_id"]) == {ward}
        assert len(frame) == in_tile(sync_engine, 10, x, y, "h.ward_id = :w", w=ward)
        bounds = leader.get("/tiles/households.json").json()["bounds"]
        assert bounds != document["bounds"]


# The attributes of the area tile layers, as their TileJSON documents list them.
AREA_FIELDS = {
    "wards": {"id": "Number", "code": "String", "name": "String", "city": "String"},
    "settlements": {
        "id": "Number",
        "code": "String",
        "name": "String",
        "city": "String",
        "ward_id": "Number",
        "ward": "String",
        "households_estimate": "Number",
        "year_settled": "Number",
        "land_type": "String",
        "threats": "String",
    },
}


def areas(
    engine: Engine, layer: str, ward: int | None = None, tile: tuple[int, int, int] | None = None
) -> tuple[list[float], dict[int, str]]:
    """The extent of the sample city's wards or settlements (of one ward), and the names of
    those in a tile and its 64-pixel buffer (all of them without a tile) by id."""
    ward_column = "a.id" if layer == "wards" else "a.ward_id"
    where = f"c.slug = 'tam-ky' AND (CAST(:ward AS integer) IS NULL OR {ward_column} = :ward)"
    z, x, y = tile or (0, 0, 0)
    within = (
        "ST_Intersects(ST_Transform(a.geom, 3857), "
        "ST_TileEnvelope(:z, :x, :y, margin => 64.0 / 4096))"
        if tile
        else "TRUE"
    )
    source = f"{layer} a JOIN cities c ON c.id = a.city_id"
    with engine.connect() as connection:
        extent = connection.execute(
            text(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                f"(SELECT ST_Extent(a.geom) AS e FROM {source} WHERE {where}) x"
            ),
            {"ward": ward},
        ).one()
        names = connection.execute(
            text(f"SELECT a.id, a.name FROM {source} WHERE {where} AND {within}"),
            {"ward": ward, "z": z, "x": x, "y": y},
        ).all()
    return [float(v) for v in extent], {int(i): str(name) for i, name in names}


def test_area_tilejson_documents_and_a_tile_of_each(
    settings: Settings, sync_engine: Engine, as_planner: TestClient, tmp_path: Path
) -> None:
    """wards.json and settlements.json: the tiles' URL, zooms, the bounds of what the reader
    may read (the city for a planner, their ward for its leader) and the attributes; one
    tile of each holds exactly the areas of the reader's scope there, names intact."""
    w03 = ward_id(sync_engine, "W03")
    token = make_token(
        sync_engine,
        make_user(
            sync_engine, f"tile-leader-{uuid.uuid4().hex[:6]}", [("ward_leader", ("ward", "W03"))]
        ),
    )
    with sync_engine.connect() as connection:
        lon, lat = connection.execute(
            text("SELECT ST_X(p), ST_Y(p) FROM wards, ST_PointOnSurface(geom) p WHERE id = :id"),
            {"id": w03},
        ).one()
    z = 14
    x, y = tile_of(lon, lat, z)
    with (
        TestClient(create_app(settings), headers=bearer(token)) as leader,
        TestClient(create_app(settings)) as anonymous,
    ):
        for layer, fields in AREA_FIELDS.items():
            counts = []
            for reader, scope in ((as_planner, None), (leader, w03)):
                response = reader.get(f"/tiles/{layer}.json")
                assert response.status_code == 200, response.text
                assert "no-store" in response.headers["cache-control"]
                document = response.json()
                assert document["tilejson"] == "3.0.0" and document["name"] == layer
                assert document["description"] and document["scheme"] == "xyz"
                assert document["tiles"] == [
                    f"http://testserver/tiles/{layer}/{{z}}/{{x}}/{{y}}.pbf"
                ]
                assert document["minzoom"] == 0 and document["maxzoom"] == 22
                bounds, every = areas(sync_engine, layer, scope)
                assert document["bounds"] == pytest.approx(bounds, abs=1e-6)
                west, south, east, north = bounds
                assert 108 < west < east < 109 and 15 < south < north < 16
                assert document["center"] == pytest.approx(
                    [(west + east) / 2, (south + north) / 2, 14], abs=1e-6
                )
                (vector_layer,) = document["vector_layers"]
                assert vector_layer["id"] == layer and vector_layer["fields"] == fields
                assert vector_layer["minzoom"] == 0 and vector_layer["maxzoom"] == 22
                # the tile at the ward's heart: the areas there the reader may read
                tile = reader.get(f"/tiles/{layer}/{z}/{x}/{y}.pbf")
                assert tile.status_code == 200 and tile.headers["content-type"] == MVT
                frame = decode(tile.content, layer, z, x, y, tmp_path)
                _, expected = areas(sync_engine, layer, scope, (z, x, y))
                assert expected and set(expected) <= set(every)
                got = {int(i): name for i, name in zip(frame["id"], frame["name"], strict=True)}
                assert got == expected, (layer, scope)
                counts.append(len(got))
                assert set(frame.columns) - {"geometry", "mvt_id"} == set(fields)  # GDAL's mvt_id
                if scope is not None:
                    column = "id" if layer == "wards" else "ward_id"
                    assert set(frame[column].astype(int)) == {w03}
            assert counts[0] > counts[1], counts  # the planner's tile: neighbours too
            assert anonymous.get(f"/tiles/{layer}.json").status_code == 401
            assert anonymous.get(f"/tiles/{layer}/{z}/{x}/{y}.pbf").status_code == 401
