"""Boundary files as cities really send them: GeoPackage and Shapefile (plain or zipped) in
VN-2000 or UTM, a Shapefile without its .prj, a self-intersecting polygon, a point layer,
duplicate codes, hostile names; imported by the service, the command line and the web API.

Every file is generated here from the sample city's GeoJSON (data/samples/tam-ky), so that
what is stored can be compared with where the lines really are. A refused import changes
nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import MultiPolygon, Point, Polygon, box
from sqlalchemy import Connection, Engine, text

from app.errors import InvalidInput
from app.main import create_app
from app.services.boundaries import LayerOptions, import_city
from app.settings import REPO_ROOT, Settings
from tests import hostile
from tests.auth import bearer, make_token, make_user

SAMPLE = REPO_ROOT / "data" / "samples" / "tam-ky"
SLUG = "thu-tep"  # every city of these tests; removed after each
VN2000 = "EPSG:9210"  # VN-2000 / TM-3 105-45
VN2000_UTM48 = "EPSG:3405"
UTM49 = "EPSG:32649"


# The files' city lies this far south of the sample city, which the test database holds: a
# city may not be drawn over another's wards (test_boundaries_other_cities.py). Half a degree
# keeps it in Quảng Nam's VN-2000 zone and UTM 49N, on land, clear of the other tests' towns.
SOUTH_OF_SAMPLE = 0.5


def sample(name: str) -> gpd.GeoDataFrame:
    """The sample city's wards or settlements moved SOUTH_OF_SAMPLE degrees south, in
    EPSG:4326; threats as text (no list columns in GeoPackage or Shapefile)."""
    frame = gpd.read_file(SAMPLE / f"{name}.geojson")
    frame.geometry = frame.geometry.translate(yoff=-SOUTH_OF_SAMPLE)
    if "threats" in frame:
        frame["threats"] = frame["threats"].apply(lambda v: ",".join(v))
    return frame


def shapefile(frame: gpd.GeoDataFrame, directory: Path, stem: str, prj: bool = True) -> Path:
    """A Shapefile (.shp, .shx, .dbf, .cpg and, unless told, .prj); its .shp."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{stem}.shp"
    frame.to_file(path, engine="pyogrio")
    if not prj:
        (directory / f"{stem}.prj").unlink()
    return path


def zipped(shp: Path, target: Path, folder: str = "") -> Path:
    """The Shapefile's files in one zip (in a folder inside it, when given)."""
    with zipfile.ZipFile(target, "w") as archive:
        for part in shp.parent.glob(f"{shp.stem}.*"):
            archive.write(part, f"{folder}{part.name}")
    return target


def layer(rows: list[tuple[dict[str, Any], Any]], crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        [props for props, _ in rows], geometry=[geometry for _, geometry in rows], crs=crs
    )


def stored(connection: Connection, table: str, slug: str = SLUG) -> dict[str, Any]:
    """code -> (name, geometry) of a city's wards or settlements."""
    rows = connection.execute(
        text(
            f"SELECT t.code, t.name, ST_AsText(t.geom) FROM {table} t "
            "JOIN cities c ON c.id = t.city_id WHERE c.slug = :slug"
        ),
        {"slug": slug},
    ).all()
    from shapely import wkt

    return {code: (name, wkt.loads(geometry)) for code, name, geometry in rows}


def city_count(connection: Connection, slug: str = SLUG) -> int:
    return int(
        connection.execute(
            text("SELECT count(*) FROM cities WHERE slug = :slug"), {"slug": slug}
        ).scalar_one()
    )


def messages(exc: pytest.ExceptionInfo[InvalidInput], language: str = "en") -> list[str]:
    return [problem.message(language) for problem in exc.value.problems]


@pytest.fixture
def connection(sync_engine: Engine) -> Iterator[Connection]:
    """A connection whose transaction is rolled back at the end: nothing stays behind."""
    with sync_engine.connect() as connection:
        yield connection
        connection.rollback()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sample city as others send it."""
    root = tmp_path_factory.mktemp("boundary-files")
    wards, settlements = sample("wards"), sample("settlements")
    both = root / "tam-ky.gpkg"  # wards in UTM 49N, settlements in VN-2000, one file
    wards.to_crs(UTM49).to_file(both, layer="phuong", engine="pyogrio")
    settlements.to_crs(VN2000).to_file(both, layer="khu_dan_cu", engine="pyogrio")
    official = wards.rename(columns={"code": "MA_PX", "name": "TEN_PX"}).to_crs(VN2000_UTM48)
    return {
        "gpkg": both,
        "shp": shapefile(wards.to_crs(UTM49), root / "shp", "wards"),
        "zip": zipped(
            shapefile(official, root / "official", "ranh_gioi_phuong"),
            root / "ranh_gioi_phuong.zip",
            folder="RanhGioi/",
        ),
        "no_prj": shapefile(wards.to_crs(VN2000), root / "no-prj", "wards", prj=False),
    }


def close_to_sample(found: dict[str, Any], name: str) -> None:
    """Stored geometries where the sample's are (each vertex within a centimetre: 1e-7
    degrees; reprojecting there and back is not exact)."""
    original = {row["code"]: row for _, row in sample(name).iterrows()}
    assert set(found) == set(original)
    for code, (stored_name, geometry) in found.items():
        assert stored_name == original[code]["name"]
        expected = original[code].geometry
        assert geometry.hausdorff_distance(expected) < 1e-7, code


def test_a_geopackage_in_utm_and_vn2000_lands_where_the_sample_is(
    connection: Connection, files: dict[str, Path]
) -> None:
    steps: list[tuple[str, int, int]] = []
    summary = import_city(
        connection,
        slug=SLUG,
        name="Thành phố Tệp",
        province="Quảng Nam",
        wards_path=files["gpkg"],
        settlements_path=files["gpkg"],
        wards_options=LayerOptions(layer="phuong"),
        settlements_options=LayerOptions(layer="khu_dan_cu"),
        progress=lambda what, done, total: steps.append((what, done, total)),
    )
    assert (summary.wards, summary.settlements, summary.created) == (10, 40, True)
    assert summary.crs == {
        "wards": "EPSG:32649 (WGS 84 / UTM zone 49N)",
        "settlements": "EPSG:9210 (VN-2000 / TM-3 105-45)",
    }
    close_to_sample(stored(connection, "wards"), "wards")
    close_to_sample(stored(connection, "settlements"), "settlements")
    # Settlements keep their ward (by ward_code) and their profile.
    row = connection.execute(
        text(
            "SELECT w.code, s.households_estimate, s.year_settled, s.threats, "
            "s.profile->>'land_type' FROM settlements s JOIN wards w ON w.id = s.ward_id "
            "JOIN cities c ON c.id = s.city_id WHERE c.slug = :slug AND s.code = 'S001'"
        ),
        {"slug": SLUG},
    ).one()
    assert row[:3] == ("W01", 116, 1968) and row[4] == "mixed"
    # Progress: the last step of each stage is the whole layer.
    assert ("checking wards", 10, 10) in steps and ("storing settlements", 40, 40) in steps
    assert summary.warnings == ()

    again = import_city(
        connection,
        slug=SLUG,
        name="Thành phố Tệp",
        province=None,
        wards_path=files["gpkg"],
        settlements_path=None,
        wards_options=LayerOptions(layer="phuong"),
    )
    assert (again.created, again.wards, again.households_replaced) == (False, 10, 0)


def test_a_geopackage_with_several_layers_needs_one_named(
    connection: Connection, files: dict[str, Path]
) -> None:
    with pytest.raises(InvalidInput) as refused:
        import_city(
            connection,
            slug=SLUG,
            name="x",
            province=None,
            wards_path=files["gpkg"],
            settlements_path=None,
        )
    assert messages(refused) == [
        "'tam-ky.gpkg' has several layers: phuong, khu_dan_cu. Choose one."
    ]
    with pytest.raises(InvalidInput) as unknown:
        import_city(
            connection,
            slug=SLUG,
            name="x",
            province=None,
            wards_path=files["gpkg"],
            settlements_path=None,
            wards_options=LayerOptions(layer="wards"),
        )
    assert "Tệp 'tam-ky.gpkg' không có lớp 'wards'" in messages(unknown, "vi")[0]
    assert city_count(connection) == 0


def test_shapefiles_plain_and_zipped_with_their_own_column_names(
    connection: Connection, files: dict[str, Path]
) -> None:
    plain = import_city(
        connection,
        slug=SLUG,
        name="x",
        province=None,
        wards_path=files["shp"],
        settlements_path=None,
    )
    assert plain.crs == {"wards": "EPSG:32649 (WGS 84 / UTM zone 49N)"}
    with pytest.raises(InvalidInput) as columns:
        import_city(
            connection,
            slug=SLUG,
            name="x",
            province=None,
            wards_path=files["zip"],
            settlements_path=None,
        )
    assert messages(columns) == [
        "'ranh_gioi_phuong.zip' has no code column 'code'. Its columns: id, MA_PX, TEN_PX, city, "
        "synthetic. Choose the code column.",
        "'ranh_gioi_phuong.zip' has no name column 'name'. Its columns: id, MA_PX, TEN_PX, city, "
        "synthetic. Choose the name column.",
    ]
    official = import_city(
        connection,
        slug=SLUG,
        name="x",
        province=None,
        wards_path=files["zip"],
        settlements_path=None,
        wards_options=LayerOptions(code_field="ma_px", name_field="TEN_PX"),  # any case
    )
    assert official.crs == {"wards": "EPSG:3405 (VN-2000 / UTM zone 48N)"}
    close_to_sample(stored(connection, "wards"), "wards")


def test_a_shapefile_without_its_prj_needs_a_crs_and_a_wrong_one_is_named(
    connection: Connection, files: dict[str, Path]
) -> None:
    def attempt(crs: str | None) -> Any:
        return import_city(
            connection,
            slug=SLUG,
            name="x",
            province=None,
            wards_path=files["no_prj"],
            settlements_path=None,
            crs=crs,
        )

    with pytest.raises(InvalidInput) as missing:
        attempt(None)
    assert messages(missing, "vi") == [
        "Tệp 'wards.shp' không ghi hệ tọa độ (Shapefile thiếu tệp .prj?). Hãy cho biết hệ tọa "
        "độ, ví dụ EPSG:9210 (VN-2000), EPSG:32648 hoặc EPSG:32649 (UTM 48N/49N), EPSG:4326 "
        "(kinh độ, vĩ độ)."
    ]
    with pytest.raises(InvalidInput) as degrees:
        attempt("EPSG:4326")  # metres read as degrees
    (problem,) = messages(degrees)
    assert "beyond longitude -180…180" in problem and "EPSG:4326 (WGS 84)" in problem
    with pytest.raises(InvalidInput) as mercator:
        attempt("EPSG:3857")  # metres, but the wrong ones: the Gulf of Guinea
    (problem,) = messages(mercator)
    assert problem.startswith("'wards.shp' lies far from Vietnam (longitude ")
    assert "read in EPSG:3857 (WGS 84 / Pseudo-Mercator)" in problem
    with pytest.raises(InvalidInput) as unknown:
        attempt("EPSG:999999")
    assert messages(unknown) == [
        "Unknown coordinate system 'EPSG:999999'. Use an EPSG code, e.g. EPSG:9210 or EPSG:32649."
    ]
    assert city_count(connection) == 0
    # Another VN-2000 zone puts Tam Kỳ in the sea near the Paracels: still Vietnam, but far
    # from where that zone is used, which the import says.
    wrong_zone = attempt("EPSG:3406")
    (warning,) = wrong_zone.warnings
    assert warning.message("en") == (
        "'wards.shp' lies outside the area EPSG:3406 (VN-2000 / UTM zone 49N) is meant for "
        "(Vietnam - onshore east of 108°E); if the boundaries look shifted on the map, name "
        "the right VN-2000 or UTM zone."
    )
    summary = attempt(VN2000)
    assert (summary.wards, summary.warnings) == (10, ())
    close_to_sample(stored(connection, "wards"), "wards")


BOW_TIE = Polygon([(108.40, 15.20), (108.42, 15.22), (108.42, 15.20), (108.40, 15.22)])
FLAT = Polygon([(108.40, 15.20), (108.41, 15.21), (108.42, 15.22), (108.40, 15.20)])
SPIKE = Polygon([(108.40, 15.20), (108.41, 15.21), (108.42, 15.22), (108.41, 15.21)])


def test_a_bow_tie_ward_is_repaired_and_a_bow_tie_settlement_refused(
    connection: Connection, tmp_path: Path
) -> None:
    wards = tmp_path / "wards.gpkg"
    layer(
        [
            ({"code": "W1", "name": "Phường Nơ"}, BOW_TIE),
            ({"code": "W2", "name": "Phường Vuông"}, box(108.43, 15.20, 108.45, 15.22)),
        ],
    ).to_file(wards, engine="pyogrio")
    summary = import_city(
        connection, slug=SLUG, name="x", province=None, wards_path=wards, settlements_path=None
    )
    (warning,) = summary.warnings
    assert warning.message("vi") == (
        "wards.gpkg, dòng 1 (mã W1): hình học không hợp lệ (Self-intersection[108.41 15.21]) đã "
        "được sửa tự động; hãy xem lại trên bản đồ."
    )
    repaired = stored(connection, "wards")["W1"][1]
    assert isinstance(repaired, MultiPolygon) and len(repaired.geoms) == 2
    assert repaired.area == pytest.approx(BOW_TIE.buffer(0).area * 2)

    settlements = tmp_path / "settlements.geojson"
    layer(
        [
            ({"code": "S1", "name": "Xóm Nơ", "ward_code": "W1"}, BOW_TIE),
            ({"code": "S2", "name": "Xóm Thẳng", "ward_code": "W2"}, FLAT),
            ({"code": "S4", "name": "Xóm Gai", "ward_code": "W2"}, SPIKE),
            (
                {"code": "S3", "name": "Xóm Tốt", "ward_code": "W2"},
                box(108.43, 15.2, 108.44, 15.21),
            ),
        ]
    ).to_file(settlements, engine="pyogrio", driver="GeoJSON")
    with pytest.raises(InvalidInput) as refused:
        import_city(
            connection,
            slug=SLUG,
            name="x",
            province=None,
            wards_path=wards,
            settlements_path=settlements,
        )
    assert messages(refused) == [
        "settlements.geojson, row 1 (code S1): a settlement must be one polygon; this one has "
        "2 parts.",
        "settlements.geojson, row 2 (code S2): the polygon has no area.",
        "settlements.geojson, row 3 (code S4): an invalid geometry (Ring Self-intersection[108.41 "
        "15.21]) that cannot be repaired into a polygon.",
    ]
    fields = [p.field for p in refused.value.problems]
    assert fields == ["settlements[1]", "settlements[2]", "settlements[3]"]
    assert set(stored(connection, "settlements")) == set()  # nothing of the refused import


def test_points_duplicates_and_empty_values_are_listed_feature_by_feature(
    connection: Connection, tmp_path: Path
) -> None:
    points = tmp_path / "points.gpkg"
    layer(
        [({"code": f"P{i}", "name": "Điểm"}, Point(108.4 + i / 100, 15.2)) for i in range(2)]
    ).to_file(points, engine="pyogrio")
    with pytest.raises(InvalidInput) as refused:
        import_city(
            connection,
            slug=SLUG,
            name="x",
            province=None,
            wards_path=points,
            settlements_path=None,
        )
    assert messages(refused) == [
        f"points.gpkg, row {i + 1} (code P{i}): a polygon is needed, this is a Point."
        for i in range(2)
    ]
    square = box(108.40, 15.20, 108.41, 15.21)
    messy = tmp_path / "messy.geojson"
    layer(
        [
            ({"code": "W1", "name": "Một"}, square),
            ({"code": "W2", "name": "Hai"}, square),
            ({"code": "W1", "name": "Một lần nữa"}, square),
            ({"code": " ", "name": "Không mã"}, square),
            ({"code": "W5", "name": "  "}, square),
            ({"code": "W6", "name": "Không hình"}, None),
            ({"code": "W" * 40, "name": "Mã dài"}, square),
        ]
    ).to_file(messy, engine="pyogrio", driver="GeoJSON")
    with pytest.raises(InvalidInput) as listed:
        import_city(
            connection,
            slug=SLUG,
            name="x",
            province=None,
            wards_path=messy,
            settlements_path=None,
        )
    assert messages(listed, "vi") == [
        "messy.geojson, dòng 3 (mã W1): mã này trùng với dòng 1; mỗi mã chỉ được dùng một lần.",
        "messy.geojson, dòng 4 (mã —): thiếu mã (cột code).",
        "messy.geojson, dòng 5 (mã W5): thiếu tên (cột name).",
        "messy.geojson, dòng 6 (mã W6): không có hình học.",
        f"messy.geojson, dòng 7 (mã {'W' * 40}): mã (cột code) dài quá 32 ký tự hoặc có ký tự "
        "không hợp lệ.",
    ]
    assert city_count(connection) == 0


@pytest.mark.parametrize(("slug", "name"), [("Tam Kỳ", "x"), ("a/b", "x"), ("", "x"), ("ok", " ")])
def test_a_city_code_no_route_takes_is_refused(
    connection: Connection, tmp_path: Path, slug: str, name: str
) -> None:
    # They made cities that every page answered 422 for, and nothing could delete.
    with pytest.raises(InvalidInput) as refused:
        import_city(
            connection,
            slug=slug,
            name=name,
            province=None,
            wards_path=tmp_path / "never-read.geojson",
            settlements_path=None,
        )
    assert {p.code for p in refused.value.problems} <= {"city_bad_slug", "city_bad_name"}
    assert city_count(connection, slug) == 0


def test_hostile_names_are_stored_as_they_are(connection: Connection, tmp_path: Path) -> None:
    names = [name for name in hostile.NAMES if name.strip()]
    wards = tmp_path / "hostile.gpkg"
    squares = [box(108.40 + i / 100, 15.2, 108.405 + i / 100, 15.21) for i in range(len(names))]
    layer([({"code": f"H{i}", "name": name}, squares[i]) for i, name in enumerate(names)]).to_file(
        wards, engine="pyogrio"
    )
    summary = import_city(
        connection,
        slug=SLUG,
        name=hostile.TEMPLATE_CODE,
        province=hostile.FORMAT,
        wards_path=wards,
        settlements_path=None,
    )
    assert summary.wards == len(names)
    found = stored(connection, "wards")
    assert {code: name for code, (name, _) in found.items()} == {
        f"H{i}": name for i, name in enumerate(names)
    }
    assert connection.execute(
        text("SELECT name, province FROM cities WHERE slug = :slug"), {"slug": SLUG}
    ).one() == (hostile.TEMPLATE_CODE, hostile.FORMAT)


def test_files_that_are_not_what_they_say_are_refused_before_gdal_reads_them(
    connection: Connection, tmp_path: Path
) -> None:
    vrt = tmp_path / "wards.geojson"  # GDAL would read the files a VRT names
    vrt.write_text(
        '<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>/etc/passwd'
        "</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>"
    )
    kml = tmp_path / "wards.kml"
    kml.write_text("<kml/>")
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("readme.txt", "no shapefile here")
    broken = tmp_path / "broken.gpkg"
    broken.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    unclosed = tmp_path / "unclosed.geojson"  # a ring that does not end where it starts
    unclosed.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
        '{"code": "W1", "name": "Một"}, "geometry": {"type": "Polygon", "coordinates": '
        "[[[108.4, 15.5], [108.5, 15.6], [108.5, 15.5]]]}}]}"
    )
    expected = {
        vrt: "'wards.geojson' is not a GeoJSON file, as its name says.",
        kml: "Cannot read 'wards.kml': only GeoJSON (.geojson, .json), GeoPackage (.gpkg) or "
        "Shapefile (.shp with its .shx, .dbf, .prj; or all of them in one .zip) are accepted.",
        empty: "The zip 'empty.zip' holds no Shapefile (.shp).",
        tmp_path / "missing.gpkg": "There is no file 'missing.gpkg'.",
    }
    for path, message in expected.items():
        with pytest.raises(InvalidInput) as refused:
            import_city(
                connection,
                slug=SLUG,
                name="x",
                province=None,
                wards_path=path,
                settlements_path=None,
            )
        assert messages(refused) == [message]
    with pytest.raises(InvalidInput) as unreadable:
        import_city(
            connection,
            slug=SLUG,
            name="x",
            province=None,
            wards_path=broken,
            settlements_path=None,
        )
    assert messages(unreadable)[0].startswith("The GeoPackage 'broken.gpkg' is damaged")
    with pytest.raises(InvalidInput) as not_closed:
        import_city(
            connection,
            slug=SLUG,
            name="x",
            province=None,
            wards_path=unclosed,
            settlements_path=None,
        )
    assert messages(not_closed)[0].startswith("Cannot read 'unclosed.geojson': the file is")
    nul = tmp_path / "nul.geojson"  # GDAL would read the name up to the NUL: "Ph"
    nul.write_text(unclosed.read_text().replace('"Một"', '"Ph\\u0000ường"'))
    with pytest.raises(InvalidInput) as cut:
        import_city(
            connection, slug=SLUG, name="x", province=None, wards_path=nul, settlements_path=None
        )
    assert messages(cut) == [
        "'nul.geojson' holds a NUL character (\\u0000) in a name or value; remove it."
    ]
    assert "closed linestring" in messages(not_closed)[0]
    assert city_count(connection) == 0


def test_a_little_outside_vietnam_is_a_warning(connection: Connection, tmp_path: Path) -> None:
    wards = tmp_path / "border.geojson"
    layer([({"code": "W1", "name": "Biên giới"}, box(100.0, 15.0, 100.01, 15.01))]).to_file(
        wards, engine="pyogrio", driver="GeoJSON"
    )
    summary = import_city(
        connection, slug=SLUG, name="x", province=None, wards_path=wards, settlements_path=None
    )
    (warning,) = summary.warnings
    assert warning.message("en") == (
        "Part of 'border.geojson' lies outside Vietnam (longitude 100.0…100.01, latitude "
        "15.0…15.01, read in EPSG:4326 (WGS 84)); check it on the map."
    )


def test_wards_missing_from_a_new_file_are_kept_and_named(
    connection: Connection, tmp_path: Path
) -> None:
    every = tmp_path / "wards.geojson"
    sample("wards").to_file(every, engine="pyogrio", driver="GeoJSON")
    import_city(
        connection,
        slug=SLUG,
        name="x",
        province=None,
        wards_path=every,
        settlements_path=None,
    )
    one = tmp_path / "mot-phuong.geojson"
    sample("wards").head(1).to_file(one, engine="pyogrio", driver="GeoJSON")
    summary = import_city(
        connection, slug=SLUG, name="x", province=None, wards_path=one, settlements_path=None
    )
    assert [w.message("vi") for w in summary.warnings] == [
        "9 phường/xã đã lưu trước đây không có trong tệp 'mot-phuong.geojson' và được giữ lại: "
        "W02, W03, W04, W05, W06, W07, W08, W09, W10."
    ]
    assert len(stored(connection, "wards")) == 10


# --- the command line ------------------------------------------------------------------------


def cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "import-boundaries", *args],
        cwd=REPO_ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def cleanup(sync_engine: Engine) -> Iterator[None]:
    yield
    with sync_engine.begin() as connection:
        connection.execute(text("DELETE FROM cities WHERE slug = :slug"), {"slug": SLUG})


def test_the_command_line_imports_a_geopackage_and_explains_a_refusal(
    database_url: str, sync_engine: Engine, files: dict[str, Path], cleanup: None
) -> None:
    refused = cli(
        database_url,
        "--city",
        SLUG,
        "--name",
        "Tệp",
        "--wards",
        str(files["no_prj"]),
        "--lang",
        "vi",
    )
    assert refused.returncode == 2
    assert "không ghi hệ tọa độ" in refused.stderr and refused.stdout == ""
    with sync_engine.connect() as connection:
        assert city_count(connection) == 0
    done = cli(
        database_url,
        "--city",
        SLUG,
        "--name",
        "Tệp",
        "--wards",
        str(files["zip"]),
        "--code-field",
        "MA_PX",
        "--name-field",
        "TEN_PX",
        "--settlements",
        str(files["gpkg"]),
        "--settlements-layer",
        "khu_dan_cu",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        f"{SLUG}: 10 wards, 40 settlements, 0 stored households placed again (wards read in "
        "EPSG:3405 (VN-2000 / UTM zone 48N); settlements read in EPSG:9210 (VN-2000 / TM-3 "
        "105-45))"
    )
    assert "storing settlements [##############################] 40/40" in done.stderr


# --- the web API -------------------------------------------------------------------------------


@pytest.fixture
def web(database_url: str, tmp_path: Path, cleanup: None) -> Iterator[TestClient]:
    settings = Settings(
        database_url=database_url,
        media_dir=tmp_path / "media",
        max_body_bytes=2000,  # a boundary file is larger: only its own route takes it
        max_boundary_upload_bytes=400_000,
    )
    with TestClient(create_app(settings)) as client:
        yield client


def upload(client: TestClient, slug: str, headers: dict[str, str], **parts: Any) -> Any:
    files = {k: v for k, v in parts.items() if isinstance(v, tuple)}
    data = {k: v for k, v in parts.items() if isinstance(v, str)}
    return client.post(f"/api/v1/cities/{slug}/boundaries", files=files, data=data, headers=headers)


def test_the_api_creates_a_city_from_a_zipped_shapefile(
    web: TestClient, sync_engine: Engine, files: dict[str, Path], admin_token: str
) -> None:
    national = bearer(admin_token)
    city_admin = bearer(
        make_token(
            sync_engine, make_user(sync_engine, "tep-admin", [("city_admin", ("city", "tam-ky"))])
        )
    )
    zipped_wards = ("Ranh giới phường.zip", files["zip"].read_bytes(), "application/zip")
    # Only national admins add a city; a city admin does not learn that it does not exist.
    assert upload(web, SLUG, city_admin, wards=zipped_wards).status_code == 404
    nameless = upload(web, SLUG, national, wards=zipped_wards)
    assert nameless.status_code == 422
    assert nameless.json()["errors"][0]["message"] == "Thành phố mới cần có tên."
    refused = upload(
        web, SLUG, {**national, "Accept-Language": "en"}, wards=zipped_wards, name="Tệp"
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["message"].startswith(
        "'Ranh giới phường.zip' has no code column 'code'."
    )
    created = upload(
        web,
        SLUG,
        national,
        wards=zipped_wards,
        name="Thành phố Tệp",
        province="Quảng Nam",
        wards_code_field="MA_PX",
        wards_name_field="TEN_PX",
    )
    assert created.status_code == 201, created.text
    assert created.json() == {
        "city": SLUG,
        "created": True,
        "wards": 10,
        "settlements": 0,
        "households_placed_again": 0,
        "crs": {"wards": "EPSG:3405 (VN-2000 / UTM zone 48N)"},
        "warnings": [],
    }
    with sync_engine.connect() as connection:
        close_to_sample(stored(connection, "wards"), "wards")
        action = connection.execute(
            text("SELECT action FROM audit_log WHERE entity = 'city' ORDER BY id DESC LIMIT 1")
        ).scalar_one()
    assert action == "city.create"
    # Its city admin updates it; anyone else there may not.
    with sync_engine.begin() as connection:
        city_id = connection.execute(
            text("SELECT id FROM cities WHERE slug = :slug"), {"slug": SLUG}
        ).scalar_one()
    admin_here = make_user(sync_engine, "tep-admin-2", [("city_admin", ("city", SLUG))])
    planner = make_user(sync_engine, "tep-planner", [("planner", ("city", SLUG))])
    assert city_id
    settlements = ("khu.gpkg", files["gpkg"].read_bytes(), "application/geopackage+sqlite3")
    updated = upload(
        web,
        SLUG,
        bearer(make_token(sync_engine, admin_here)),
        wards=zipped_wards,
        settlements=settlements,
        wards_code_field="MA_PX",
        wards_name_field="TEN_PX",
        settlements_layer="khu_dan_cu",
    )
    assert updated.status_code == 200, updated.text
    assert (updated.json()["created"], updated.json()["settlements"]) == (False, 40)
    assert (
        upload(web, SLUG, bearer(make_token(sync_engine, planner)), wards=zipped_wards).status_code
        == 403
    )


def test_the_api_lists_bad_features_in_the_users_language_and_changes_nothing(
    web: TestClient, tmp_path: Path, admin_token: str, sync_engine: Engine
) -> None:
    wards = tmp_path / "wards.geojson"
    layer(
        [
            ({"code": "W1", "name": hostile.HTML_SCRIPT}, box(108.40, 15.20, 108.41, 15.21)),
            ({"code": "W1", "name": "Trùng"}, FLAT),
        ]
    ).to_file(wards, engine="pyogrio", driver="GeoJSON")
    body = ("wards.geojson", wards.read_bytes(), "application/geo+json")
    refused = upload(
        web, SLUG, {**bearer(admin_token), "Accept-Language": "vi"}, wards=body, name="Tệp"
    )
    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        {
            "field": "wards[2]",
            "code": "boundary_duplicate_code",
            "message": "wards.geojson, dòng 2 (mã W1): mã này trùng với dòng 1; mỗi mã chỉ được "
            "dùng một lần.",
        },
        {
            "field": "wards[2]",
            "code": "boundary_no_area",
            "message": "wards.geojson, dòng 2 (mã W1): vùng có diện tích bằng 0.",
        },
    ]
    with sync_engine.connect() as connection:
        assert city_count(connection) == 0
    # Not multipart, a bad CRS, no file, another format: each its own clear answer.
    national = bearer(admin_token)
    as_json = web.post(f"/api/v1/cities/{SLUG}/boundaries", json={}, headers=national)
    assert as_json.status_code == 415 and as_json.json()["code"] == "multipart_required"
    # A boundary python-multipart refuses (over 256 bytes) was a 500.
    long = "a" * 300
    bad_boundary = web.post(
        f"/api/v1/cities/{SLUG}/boundaries",
        content=f"--{long}\r\n".encode(),
        headers={**national, "Content-Type": f"multipart/form-data; boundary={long}"},
    )
    assert bad_boundary.status_code == 422, bad_boundary.text
    assert bad_boundary.json()["errors"][0]["code"] == "multipart_required"
    bad_crs = upload(web, SLUG, national, wards=body, name="Tệp", crs="+proj=longlat +init=x")
    assert bad_crs.status_code == 422 and bad_crs.json()["errors"][0]["field"] == "crs"
    no_file = upload(web, SLUG, national, settlements=body, name="Tệp")
    assert no_file.status_code == 422
    assert no_file.json()["errors"][0]["code"] == "boundary_file_required"
    kml = upload(web, SLUG, national, wards=("wards.kml", b"<kml/>", "text/xml"), name="Tệp")
    assert kml.status_code == 422 and kml.json()["errors"][0]["code"] == "boundary_format"
    # The upload route's own body limit, and the usual one everywhere else.
    too_big = upload(web, SLUG, national, wards=("w.geojson", b" " * 500_000, "text/plain"))
    assert too_big.status_code == 413
    elsewhere = web.post("/api/v1/users", content=b"{" + b" " * 3000 + b"}", headers=national)
    assert elsewhere.status_code == 413


@pytest.mark.parametrize(
    ("declared", "imported"),
    [("urn:ogc:def:crs:EPSG::999999", False), ("urn:ogc:def:crs:OGC:1.3:CRS84", True)],
)
def test_a_geojson_file_declaring_a_crs_nobody_knows_is_refused(
    connection: Connection, tmp_path: Path, declared: str, imported: bool
) -> None:
    """GDAL reads a GeoJSON `crs` it cannot resolve as WGS 84 without a word: a file in an
    unknown system was imported as longitudes and latitudes."""
    features = json.loads(sample("wards").to_json())["features"]
    crs = {"type": "name", "properties": {"name": declared}}
    collection = {"type": "FeatureCollection", "crs": crs, "features": features}
    path = tmp_path / "wards.geojson"
    path.write_text(json.dumps(collection), encoding="utf-8")

    def attempt() -> Any:
        return import_city(
            connection,
            slug=SLUG,
            name="x",
            province=None,
            wards_path=path,
            settlements_path=None,
            crs=None,
        )

    if imported:
        assert attempt().wards == 10
        return
    with pytest.raises(InvalidInput) as unknown:
        attempt()
    assert messages(unknown) == [
        f"Unknown coordinate system '{declared}'. Use an EPSG code, e.g. EPSG:9210 or EPSG:32649."
    ]
    assert city_count(connection) == 0
