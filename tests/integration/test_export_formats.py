"""Layer exports in every file format, read back by GDAL (ogrinfo, pyogrio) as planners'
tools read them: counts, CRS, coordinates, Vietnamese text, labels, personal fields by role,
hostile answers kept as data, shapefile names."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import pyogrio
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine, text

from app.geo.export_writers import shapefile_names
from app.main import create_app
from app.settings import Settings
from tests.aio import run
from tests.auth import bearer, make_token, make_user
from tests.factories import approve, household_answers, household_survey

EXPORT = "/api/v1/export"
VIETNAMESE = "Phường Hòa Thuận Đông: nhà ngập"
HOSTILE = [
    "=cmd|' /C calc'!A0",
    "+SUM(1,2)",
    "-2+3",
    '@HYPERLINK("http://evil")',
    "{{7*7}} {% raw %}",
    "</title><script>alert(1)</script>&amp;",
    "Ａ\u202eevil\u200b 🏠 e\u0301 𝔘 \ufeff",
]
HEAD_NAME = "Nguyễn Thị Bí Mật"
POINTS = [(108.474123 + i * 0.0001, 15.571234 + i * 0.0001) for i in range(len(HOSTILE) + 1)]


@dataclass
class Town:
    admin: TestClient
    planner: dict[str, str]
    leader: dict[str, str]
    ward_id: int
    ids: list[str]


@pytest.fixture
def town(
    settings: Settings, clean_surveys: None, admin_token: str, sync_engine: Engine
) -> Iterator[Town]:
    """Households in ward An Xuân: one with Vietnamese notes placed by hand, then one per
    hostile answer; a planner and the ward's leader."""
    notes = [VIETNAMESE, *HOSTILE]
    with TestClient(create_app(settings), headers=bearer(admin_token)) as admin:
        ids = []
        for index, (text, (lon, lat)) in enumerate(zip(notes, POINTS, strict=True)):
            body = household_survey(
                location={"lat": lat, "lon": lon, "accuracy_m": 5.0, "manual": index == 0},
                answers=household_answers(
                    needs_notes=text, head_name=HEAD_NAME, priority_needs="drainage lane"
                ),
            )
            response = admin.post("/api/v1/submissions", json=body)
            assert response.status_code == 201, response.text
            ids.append(body["id"])
        ward = next(
            w for w in admin.get("/api/v1/cities/tam-ky/wards").json() if w["name"] == "An Xuân"
        )
        with sync_engine.connect() as connection:
            code = connection.exec_driver_sql(
                f"SELECT code FROM wards WHERE id = {int(ward['id'])}"
            ).scalar_one()
        planner = make_user(sync_engine, "fmt-planner", [("planner", ("city", "tam-ky"))])
        leader = make_user(sync_engine, "fmt-leader", [("ward_leader", ("ward", code))])
        yield Town(
            admin,
            bearer(make_token(sync_engine, planner)),
            bearer(make_token(sync_engine, leader)),
            ward["id"],
            ids,
        )


def fetch(town: Town, path: str, target: Path, headers: dict[str, str] | None = None) -> Path:
    response = town.admin.get(
        f"{EXPORT}/{path}{'&' if '?' in path else '?'}surveys=all",
        headers=headers if headers is not None else town.planner,
    )
    assert response.status_code == 200, response.text
    target.write_bytes(response.content)
    return target


def read_layer(path: Path, fmt: str) -> tuple[object, str]:
    """The layer as a GeoDataFrame, and the GDAL path it was read from."""
    if fmt == "shp.zip":
        source = f"/vsizip/{path}/households.shp"
        with zipfile.ZipFile(path) as archive:
            mapping = csv.DictReader(io.StringIO(archive.read("fields.csv").decode()))
            names = {row["field"]: row["column"] for row in mapping}
        return pyogrio.read_dataframe(source).rename(columns=names), source
    elif fmt == "csv":
        source = str(path)
        frame = pyogrio.read_dataframe(
            source, X_POSSIBLE_NAMES="lon", Y_POSSIBLE_NAMES="lat", KEEP_GEOM_COLUMNS="NO"
        )
        return frame, source
    else:
        source = str(path)
    return pyogrio.read_dataframe(source), source


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "csv", "xlsx", "kml", "shp.zip"])
def test_every_format_reads_back_in_gdal(town: Town, tmp_path: Path, fmt: str) -> None:
    path = fetch(town, f"households.{fmt}?city=tam-ky", tmp_path / f"households.{fmt}")
    frame, source = read_layer(path, fmt)
    count = len(POINTS)
    assert len(frame) == count  # type: ignore[arg-type]
    info = subprocess.run(
        ["ogrinfo", "-ro", "-so", "-al", source], capture_output=True, text=True, check=True
    ).stdout
    assert f"Feature Count: {count}" in info
    columns = set(frame.columns)  # type: ignore[attr-defined]
    assert "head_name" not in columns and "head_phone" not in columns
    assert HEAD_NAME not in path.read_bytes().decode("utf-8", "replace")
    # KML: GDAL reads the Placemark's name (the survey id) as Name.
    rows = frame.set_index("Name" if fmt == "kml" else "id")  # type: ignore[attr-defined]
    first = rows.loc[town.ids[0]]
    if fmt != "kml":  # KML keeps the attributes as text of its own
        assert first["needs_notes"] == VIETNAMESE
        assert first["ward"] == "An Xuân"
    else:
        assert VIETNAMESE in path.read_text(encoding="utf-8")
    if fmt != "xlsx":  # a spreadsheet has lon/lat columns, not a geometry
        assert first.geometry.x == pytest.approx(POINTS[0][0], abs=1e-6)
        assert first.geometry.y == pytest.approx(POINTS[0][1], abs=1e-6)
    else:
        assert float(first["lon"]) == pytest.approx(POINTS[0][0], abs=1e-6)
        assert float(first["lat"]) == pytest.approx(POINTS[0][1], abs=1e-6)
    if fmt in ("geojson", "gpkg", "kml", "shp.zip"):
        assert "4326" in frame.crs.to_string() or "WGS 84" in info  # type: ignore[attr-defined]
        assert frame.crs.to_epsg() == 4326  # type: ignore[attr-defined]
    if fmt in ("geojson", "gpkg", "csv", "xlsx"):
        manual = rows["location_manual"].astype(int).to_dict()
        assert manual[town.ids[0]] == 1 and manual[town.ids[1]] == 0


def test_csv_is_excel_utf8_without_formulas(town: Town, tmp_path: Path) -> None:
    raw = fetch(town, "households.csv?city=tam-ky", tmp_path / "h.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert list(table[0])[:2] == ["lon", "lat"]
    notes = {row["id"]: row["needs_notes"] for row in table}
    for survey_id, note in zip(town.ids, [VIETNAMESE, *HOSTILE], strict=True):
        expected = "'" + note if note[0] in "=+-@" else note
        assert notes[survey_id] == expected
    assert all(not value.startswith(("=", "+", "-", "@")) for value in notes.values())


def test_xlsx_cells_are_text_never_formulas(town: Town, tmp_path: Path) -> None:
    path = fetch(town, "households.xlsx?city=tam-ky", tmp_path / "h.xlsx")
    book = load_workbook(path)
    sheet = book.active
    assert sheet is not None
    rows = list(sheet.iter_rows())
    header = [cell.value for cell in rows[0]]
    notes_at, id_at = header.index("needs_notes"), header.index("id")
    cells = {row[id_at].value: row[notes_at] for row in rows[1:]}
    for survey_id, note in zip(town.ids, [VIETNAMESE, *HOSTILE], strict=True):
        cell = cells[survey_id]
        assert cell.data_type == "s"
        assert cell.value == ("'" + note if note[0] in "=+-@" else note)


def test_xlsx_formula_behind_a_character_xml_cannot_hold_gets_its_apostrophe(
    client: TestClient, sync_engine: Engine
) -> None:
    """The control character is dropped from the cell (XML cannot hold it), so the formula
    behind it would start the cell (found by review): the apostrophe goes before it."""
    hostile = '\x01\x02=HYPERLINK("http://evil","x")'
    body = household_survey(answers=household_answers(needs_notes=hostile))
    assert client.post("/api/v1/submissions", json=body).status_code == 201
    approve(sync_engine, body["id"])
    response = client.get(f"{EXPORT}/households.xlsx?city=tam-ky")
    assert response.status_code == 200, response.text
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    notes = rows[0].index("needs_notes")
    ids = rows[0].index("id")
    cell = next(row[notes] for row in rows[1:] if row[ids] == body["id"])
    assert cell == '\'=HYPERLINK("http://evil","x")'


def test_kml_is_well_formed_with_names_escaped(town: Town, tmp_path: Path) -> None:
    path = fetch(town, "households.kml?city=tam-ky", tmp_path / "h.kml")
    root = ElementTree.parse(path).getroot()  # parses: every name and value escaped
    kml = "{http://www.opengis.net/kml/2.2}"
    values = [
        data.text for data in root.iter(f"{kml}SimpleData") if data.get("name") == "needs_notes"
    ]
    assert set(values) == {VIETNAMESE, *HOSTILE}
    assert "<script>" not in path.read_text(encoding="utf-8")


def test_hostile_answers_stay_data_in_geopackage_and_shapefile(town: Town, tmp_path: Path) -> None:
    gpkg = pyogrio.read_dataframe(fetch(town, "households.gpkg?city=tam-ky", tmp_path / "h.gpkg"))
    assert set(gpkg["needs_notes"]) == {VIETNAMESE, *HOSTILE}
    path = fetch(town, "households.shp.zip?city=tam-ky", tmp_path / "h.shp.zip")
    shp = pyogrio.read_dataframe(f"/vsizip/{path}/households.shp")
    assert set(shp["needs_note"]) == {VIETNAMESE, *HOSTILE}


def test_shapefile_zip_holds_its_parts_and_a_field_map(town: Town, tmp_path: Path) -> None:
    path = fetch(town, "households.shp.zip?city=tam-ky", tmp_path / "h.shp.zip")
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        assert {f"households.{ext}" for ext in ("shp", "shx", "dbf", "prj", "cpg")} <= names
        assert archive.read("households.cpg").decode().strip() == "UTF-8"
        assert "WGS" in archive.read("households.prj").decode()
        mapping = list(csv.DictReader(io.StringIO(archive.read("fields.csv").decode())))
    fields = {row["column"]: row["field"] for row in mapping if row["file"] == "households.dbf"}
    assert fields["needs_notes"] == "needs_note"
    assert fields["priority_needs_drainage"] != fields["priority_needs_tenure"]
    assert all(len(field) <= 10 for field in fields.values())
    assert len({field.lower() for field in fields.values()}) == len(fields)
    shp = pyogrio.read_dataframe(f"/vsizip/{path}/households.shp")
    assert set(shp.columns) - {"geometry"} == set(fields.values())


def test_shapefile_names_are_short_unique_and_deterministic() -> None:
    names = [
        "priority_needs_drainage",
        "priority_needs_tenure",
        "priority_needs_water",
        "Priority_needs_x",
        "id",
        "priority_n",
    ]
    short = shapefile_names(names)
    assert short == shapefile_names(list(names))
    assert short[:3] == ["priority_n", "priority_2", "priority_3"]
    assert short[3] == "Priority_4" and short[4] == "id" and short[5] == "priority_5"
    assert all(len(name) <= 10 for name in short)
    assert len({name.lower() for name in short}) == len(short)


def test_labels_in_vietnamese_and_english(town: Town, tmp_path: Path) -> None:
    codes = list(
        csv.DictReader(
            io.StringIO(
                fetch(town, "households.csv?city=tam-ky", tmp_path / "c.csv")
                .read_bytes()
                .decode("utf-8-sig")
            )
        )
    )
    assert codes[0]["tenure"] == "papers_only"
    assert codes[0]["priority_needs"] == "drainage lane"
    for language in ("vi", "en"):
        path = fetch(town, f"households.csv?city=tam-ky&labels={language}", tmp_path / "l.csv")
        rows = list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))
        row = rows[0]
        assert row["tenure"] not in ("papers_only", "")
        assert "; " in row["priority_needs"]
        assert row["priority_needs_drainage"] == "1" and row["priority_needs_lane"] == "1"
        assert row["priority_needs_water"] == "0"
        assert list(rows[0]) == list(codes[0])  # the same columns in the same order
        if language == "vi":
            vietnamese = row
        else:
            assert row["tenure"] != vietnamese["tenure"]
    gpkg = pyogrio.read_dataframe(
        fetch(town, "households.gpkg?city=tam-ky&labels=vi", tmp_path / "l.gpkg")
    )
    assert set(gpkg["tenure"]) == {vietnamese["tenure"]}


def test_personal_fields_only_for_roles_that_may_see_them(town: Town, tmp_path: Path) -> None:
    forbidden = town.admin.get(
        f"{EXPORT}/households.gpkg?city=tam-ky&personal=true", headers=town.planner
    )
    assert forbidden.status_code == 403
    assert "personal" in forbidden.json()["detail"]
    admin = pyogrio.read_dataframe(
        fetch(town, "households.gpkg?city=tam-ky&personal=true", tmp_path / "a.gpkg", {})
    )
    assert set(admin["head_name"]) == {HEAD_NAME}
    default = pyogrio.read_dataframe(
        fetch(town, "households.gpkg?city=tam-ky", tmp_path / "d.gpkg", {})
    )
    assert "head_name" not in default.columns
    ward = f"households.csv?city=tam-ky&ward={town.ward_id}&personal=true"
    leader = fetch(town, ward, tmp_path / "w.csv", town.leader).read_bytes().decode("utf-8-sig")
    assert HEAD_NAME in leader
    city_wide = town.admin.get(
        f"{EXPORT}/households.csv?city=tam-ky&personal=true", headers=town.leader
    )
    assert city_wide.status_code == 404  # a ward leader does not read the whole city
    # ...and is told so, with their ward, rather than "there is no city 'tam-ky'".
    assert city_wide.json()["code"] == "city_read_by_ward"
    assert str(town.ward_id) in city_wide.json()["detail"]


def test_filters_as_the_survey_list(town: Town, tmp_path: Path) -> None:
    def count(query: str) -> int:
        path = fetch(town, f"households.geojson?city=tam-ky{query}", tmp_path / "f.geojson")
        return len(pyogrio.read_dataframe(path))

    assert count("") == len(POINTS)
    assert count(f"&ward={town.ward_id}") == len(POINTS)
    assert count("&status=approved") == 0
    assert count("&status=received") == len(POINTS)
    assert count("&from=2026-11-26T00:00:00%2B07:00&to=2026-11-27T00:00:00%2B07:00") == len(POINTS)
    assert count("&from=2026-11-27T00:00:00%2B07:00") == 0


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("households.docx?city=tam-ky", 404),
        ("households?city=tam-ky", 404),
        ("parcels.gpkg?city=tam-ky", 404),
        ("forms/nothing.csv?city=tam-ky", 404),
        ("forms/%7B%7B7*7%7D%7D.csv?city=tam-ky", 422),
        ("households.csv?city=tam-ky&status=lost", 422),
        ("households.csv?city=tam-ky&from=yesterday", 422),
        ("households.csv?city=tam-ky&labels=fr", 422),
        ("households.csv?city=tam-ky&repeat=members", 404),
        ("households.csv?city=tam-ky&settlement=0", 422),
        ("households.gpkg?city=atlantis", 404),
        ("households.gpkg", 422),
    ],
)
def test_bad_requests_are_clear_4xx(town: Town, url: str, status: int) -> None:
    response = town.admin.get(f"{EXPORT}/{url}", headers=town.planner)
    assert response.status_code == status, response.text
    assert response.json()["detail"]


def test_settlements_and_wards_carry_scores_and_ranks(town: Town, tmp_path: Path) -> None:
    for fmt in ("gpkg", "csv"):
        path = fetch(town, f"settlements.{fmt}?city=tam-ky", tmp_path / f"s.{fmt}")
        if fmt == "csv":
            frame = list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))
            assert len(frame) == 40 and frame[0]["wkt"].startswith("POLYGON")
            assert {"score", "priority_class", "rank_in_ward", "rank_in_city"} <= set(frame[0])
            continue
        settlements = pyogrio.read_dataframe(path)
        assert len(settlements) == 40
        assert {
            "score",
            "priority_class",
            "rank_in_ward",
            "rank_in_city",
            "share_no_piped_water",
        } <= set(settlements.columns)
    wards = pyogrio.read_dataframe(fetch(town, "wards.gpkg?city=tam-ky", tmp_path / "w.gpkg"))
    assert len(wards) == 10
    an_xuan = wards.set_index("name").loc["An Xuân"]
    assert an_xuan["households"] == len(POINTS)
    assert an_xuan["share_no_piped_water"] == 1.0 and an_xuan["rank_in_city"] == 1
    assert 0 < an_xuan["score"] <= 100 and an_xuan["priority_class"] in (1, 2, 3, 4, 5)


def test_city_geopackage_opens_styled_in_qgis(town: Town, tmp_path: Path) -> None:
    response = town.admin.get(f"{EXPORT}/cities/tam-ky.gpkg?surveys=all", headers=town.planner)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/geopackage+sqlite3"
    path = tmp_path / "tam-ky.gpkg"
    path.write_bytes(response.content)
    info = subprocess.run(
        ["ogrinfo", "-ro", "-q", str(path)], capture_output=True, text=True, check=True
    ).stdout
    for layer in ("wards", "settlements", "households", "settlement", "layer_styles"):
        assert layer in info
    assert len(pyogrio.read_dataframe(path, layer="households")) == len(POINTS)
    with sqlite3.connect(path) as db:
        descriptions = dict(db.execute("SELECT table_name, description FROM gpkg_contents"))
        styles = {
            row[0]: row[1:]
            for row in db.execute(
                "SELECT f_table_name, styleQML, styleSLD, useAsDefault, f_geometry_column "
                "FROM layer_styles"
            )
        }
        indexed = {
            row[0]
            for row in db.execute(
                "SELECT table_name FROM gpkg_extensions WHERE extension_name = 'gpkg_rtree_index'"
            )
        }
    db.close()
    assert (
        "Settlements" in descriptions["settlements"] and "Khu dân cư" in descriptions["settlements"]
    )
    assert {"wards", "settlements", "households"} <= indexed
    qml, sld, default, geometry = styles["settlements"]
    assert default == 1 and geometry == "geom"
    assert 'attr="priority_class"' in qml
    for colour, rgb in (("#ffffb2", "255,255,178,255"), ("#bd0026", "189,0,38,255")):
        assert colour in sld and rgb in qml
    assert 'attr="tenure"' in styles["households"][0]
    ElementTree.fromstring(sld)  # well-formed
    ElementTree.fromstring(qml.split("\n", 1)[1])


def test_repeats_are_related_tables_and_a_csv_of_their_own(
    database_url: str, town: Town, sync_engine: Engine, tmp_path: Path
) -> None:
    """A household roster (a repeat): in the GeoPackage a table `<layer>_<repeat>` with the
    survey id and the member's position, in CSV with `repeat=`, in XLSX a sheet; members'
    names only for a role that may see them."""
    from tests.integration.test_household_form import roster_form

    forms_dir = tmp_path / "forms"
    forms_dir.mkdir()
    roster_form(forms_dir / "roster.xlsx")
    answers = {
        "hh_name": "Chủ Hộ Bí Mật",
        "size": 2,
        "members": [
            {"member_name": "Con Bí Mật", "age": 3, "member_photo": "con.jpg"},
            {"member_name": "=Mẹ Bí Mật", "age": 30},
        ],
    }
    with sync_engine.begin() as connection:
        survey_id = connection.execute(
            text(
                "INSERT INTO household_surveys (id, city_id, form_id, form_version, collected_at, "
                "status, answers, content_hash, geom) SELECT gen_random_uuid(), id, 'roster', "
                "'2026120201', now(), 'approved', CAST(:answers AS jsonb), 'x', "
                "ST_SetSRID(ST_MakePoint(108.474, 15.571), 4326) FROM cities "
                "WHERE slug = 'tam-ky' RETURNING id"
            ),
            {"answers": json.dumps(answers)},
        ).scalar_one()
    settings = Settings(database_url=database_url, forms_dir=forms_dir)
    with TestClient(create_app(settings), headers=town.planner) as client:

        def get(url: str, target: str) -> Path:
            response = client.get(f"{EXPORT}/{url}")
            assert response.status_code == 200, response.text
            (tmp_path / target).write_bytes(response.content)
            return tmp_path / target

        gpkg = get("forms/roster.gpkg?city=tam-ky", "r.gpkg")
        layers = dict(pyogrio.list_layers(gpkg))
        assert layers["roster"] == "Point" and layers["roster_members"] is None
        members = pyogrio.read_dataframe(gpkg, layer="roster_members")
        assert list(members["position"]) == [1, 2] and list(members["age"]) == ["3", "30"]
        assert set(members["parent_id"]) == {str(survey_id)}
        assert "member_name" not in members.columns and "member_photo" not in members.columns
        rows = list(
            csv.DictReader(
                io.StringIO(
                    get("forms/roster.csv?city=tam-ky&repeat=members", "m.csv")
                    .read_bytes()
                    .decode("utf-8-sig")
                )
            )
        )
        assert [row["position"] for row in rows] == ["1", "2"]
        assert rows[0]["parent_id"] == str(survey_id) and "member_name" not in rows[0]
        book = load_workbook(get("forms/roster.xlsx?city=tam-ky", "r.xlsx"))
        assert book.sheetnames == ["roster", "roster_members"]
        assert (
            b"B\xc3\xad M\xe1\xba\xadt"
            not in get("forms/roster.shp.zip?city=tam-ky", "r.zip").read_bytes()
        )
    with TestClient(create_app(settings), headers=town.admin.headers) as client:
        response = client.get(f"{EXPORT}/forms/roster.csv?city=tam-ky&repeat=members&personal=true")
        assert response.status_code == 200, response.text
        rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert [row["member_name"] for row in rows] == ["Con Bí Mật", "'=Mẹ Bí Mật"]
        assert rows[0]["member_photo"] == "con.jpg"


def test_file_builds_are_limited_and_the_next_waits_then_gets_503(
    settings: Settings, clean_surveys: None, admin_token: str
) -> None:
    """Files are built at most `export_slots` at a time: with every build slot taken, the
    next request waits `export_wait_seconds`, then answers 503 with Retry-After (20 clients
    cannot take every worker thread and database connection)."""

    from app.services.export_files import FileBuilds

    builds = FileBuilds(1, 0.2)
    run(builds.acquire())  # uncontended: the slot is taken whatever loop asks next
    with TestClient(create_app(settings), headers=bearer(admin_token)) as client:
        client.app.state.export_file_builds = builds  # type: ignore[attr-defined]
        busy = client.get(f"{EXPORT}/households.gpkg?city=tam-ky")
        assert busy.status_code == 503 and busy.headers["retry-after"]
        assert busy.json()["code"] == "exports_busy"
        streamed = client.get(f"{EXPORT}/households.csv?city=tam-ky")  # CSV streams, no build
        assert streamed.status_code == 200
        builds.release()
        assert client.get(f"{EXPORT}/households.gpkg?city=tam-ky").status_code == 200


HOSTILE_NAME = '=HYPERLINK("x") {{7*7}} </name></Placemark><script>\'"&amp; Phường Đông 🏠\u202e'


@pytest.fixture
def hostile_ward(town: Town, sync_engine: Engine) -> Iterator[str]:
    """Ward An Xuân renamed as an attacker might name a place, for one test."""
    with sync_engine.begin() as connection:
        connection.execute(
            text("UPDATE wards SET name = :name WHERE id = :id"),
            {"name": HOSTILE_NAME, "id": town.ward_id},
        )
    yield HOSTILE_NAME
    with sync_engine.begin() as connection:
        connection.execute(
            text("UPDATE wards SET name = 'An Xuân' WHERE id = :id"), {"id": town.ward_id}
        )


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "csv", "xlsx", "kml", "shp.zip"])
def test_a_hostile_place_name_stays_text_in_every_format(
    town: Town, hostile_ward: str, tmp_path: Path, fmt: str
) -> None:
    path = fetch(town, f"households.{fmt}?city=tam-ky", tmp_path / f"h.{fmt}")
    frame, _ = read_layer(path, fmt)
    spreadsheet = fmt in ("csv", "xlsx")
    expected = "'" + hostile_ward if spreadsheet else hostile_ward
    if fmt == "kml":
        root = ElementTree.parse(path).getroot()  # still well-formed XML
        values = {
            data.text
            for data in root.iter("{http://www.opengis.net/kml/2.2}SimpleData")
            if data.get("name") == "ward"
        }
        assert values == {hostile_ward}
        assert "<script>" not in path.read_text(encoding="utf-8")
        return
    assert set(frame["ward"]) == {expected}  # type: ignore[index]
    if fmt == "xlsx":
        sheet = load_workbook(path).active
        assert sheet is not None
        header = [cell.value for cell in next(sheet.iter_rows())]
        cell = next(sheet.iter_rows(min_row=2))[header.index("ward")]
        assert cell.data_type == "s" and cell.value == expected


def test_a_hostile_settlement_name_names_its_placemark(
    town: Town, sync_engine: Engine, tmp_path: Path
) -> None:
    with sync_engine.begin() as connection:
        first, original = connection.execute(
            text("SELECT id, name FROM settlements ORDER BY id LIMIT 1")
        ).one()
        connection.execute(
            text("UPDATE settlements SET name = :name WHERE id = :id"),
            {"name": HOSTILE_NAME, "id": first},
        )
    try:
        path = fetch(town, "settlements.kml?city=tam-ky", tmp_path / "s.kml")
        root = ElementTree.parse(path).getroot()
        names = {p.text for p in root.iter("{http://www.opengis.net/kml/2.2}name")}
        assert HOSTILE_NAME in names
        assert len(pyogrio.read_dataframe(path)) == 40
    finally:
        with sync_engine.begin() as connection:
            connection.execute(
                text("UPDATE settlements SET name = :name WHERE id = :id"),
                {"name": original, "id": first},
            )


def test_xlsx_cells_stay_in_their_columns_around_empty_ones(town: Town, tmp_path: Path) -> None:
    """Cells carry no reference (r="B2"): an empty one is written, so every value of the
    workbook is the CSV's value of the same row and column."""
    book = load_workbook(fetch(town, "households.xlsx?city=tam-ky", tmp_path / "h.xlsx"))
    sheet = book.active
    assert sheet is not None
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    raw = fetch(town, "households.csv?city=tam-ky", tmp_path / "h.csv").read_bytes()
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == table[0]
    assert len(rows) == len(table) == len(town.ids) + 1
    empty_inside = 0
    for got, expected in zip(rows[1:], table[1:], strict=True):
        assert len(got) <= len(expected)
        got += [None] * (len(expected) - len(got))
        for index, (value, text_value) in enumerate(zip(got, expected, strict=True)):
            if value is None:
                assert text_value == ""
                empty_inside += index < len(expected) - 1
            elif isinstance(value, int | float):
                assert float(text_value) == value
            else:
                assert value == text_value
    assert empty_inside > 0  # the layer has empty cells between filled ones


def test_area_layers_count_the_surveys_of_the_status_and_time_asked(
    town: Town, tmp_path: Path, sync_engine: Engine
) -> None:
    """Wards and settlements with `status`, `from`, `to`: their figures are computed from
    the household surveys in that status and time range, as the households layer holds."""
    with sync_engine.begin() as connection:
        connection.execute(  # all in one settlement of the ward
            text(
                "UPDATE household_surveys SET settlement_id = "
                "(SELECT id FROM settlements WHERE ward_id = :ward ORDER BY code LIMIT 1)"
            ),
            {"ward": town.ward_id},
        )
        connection.execute(
            text("UPDATE household_surveys SET status = 'approved' WHERE id = :id"),
            {"id": town.ids[0]},
        )
        connection.execute(
            text(
                "UPDATE household_surveys SET collected_at = '2026-10-01T08:00:00+07:00' "
                "WHERE id = :id"
            ),
            {"id": town.ids[1]},
        )

    def an_xuan(layer: str, query: str) -> int:
        path = fetch(town, f"{layer}.gpkg?city=tam-ky{query}", tmp_path / f"{layer}.gpkg")
        frame = pyogrio.read_dataframe(path, layer=layer)
        if layer == "wards":
            return int(frame.set_index("name").loc["An Xuân"]["households"])
        return int(frame[frame["ward_id"] == town.ward_id]["households"].sum())

    def households(query: str) -> int:
        path = fetch(town, f"households.geojson?city=tam-ky{query}", tmp_path / "h.geojson")
        return len(pyogrio.read_dataframe(path))

    queries = {
        "": len(POINTS),  # surveys=all (fetch): every survey not rejected
        "&status=approved": 1,
        "&status=received": len(POINTS) - 1,
        "&status=rejected": 0,
        "&from=2026-11-01T00:00:00%2B07:00": len(POINTS) - 1,
        "&to=2026-11-01T00:00:00%2B07:00": 1,
        "&status=received&from=2026-11-01T00:00:00%2B07:00": len(POINTS) - 2,
    }
    for query, expected in queries.items():
        assert households(query) == expected, query
        assert an_xuan("wards", query) == expected, query
        assert an_xuan("settlements", query) == expected, query
    # a ward's own export ranks its settlements among the same surveys
    path = fetch(
        town,
        f"settlements.csv?city=tam-ky&ward={town.ward_id}&status=approved",
        tmp_path / "s.csv",
    )
    rows = list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))
    assert rows and sum(int(r["households"]) for r in rows) == 1
    assert sorted(int(r["rank_in_ward"]) for r in rows if r["rank_in_ward"]) == [1]


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "csv", "xlsx", "kml", "shp.zip"])
def test_area_layers_with_a_settlement_count_that_settlement_s_surveys(
    town: Town, tmp_path: Path, sync_engine: Engine, fmt: str
) -> None:
    """`settlement=`: the wards layer lists that settlement's ward only, its figures counted
    from the surveys the households export holds with the same filter (not the whole
    ward's); ranks stay those of the whole city."""
    with sync_engine.begin() as connection:
        first, second = connection.execute(
            text("SELECT id FROM settlements WHERE ward_id = :ward ORDER BY code LIMIT 2"),
            {"ward": town.ward_id},
        ).scalars()
        connection.execute(
            text("UPDATE household_surveys SET settlement_id = :s WHERE id = ANY(:ids)"),
            {"s": first, "ids": town.ids[:3]},
        )
        connection.execute(
            text("UPDATE household_surveys SET settlement_id = :s WHERE id = ANY(:ids)"),
            {"s": second, "ids": town.ids[3:]},
        )

    def rows(layer: str, query: str) -> list[dict[str, object]]:
        path = fetch(town, f"{layer}.{fmt}?city=tam-ky{query}", tmp_path / f"{layer}.{fmt}")
        if fmt == "csv":
            return list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))
        if fmt == "shp.zip":
            with zipfile.ZipFile(path) as archive:
                fields = csv.DictReader(io.StringIO(archive.read("fields.csv").decode()))
                names = {r["field"]: r["column"] for r in fields if r["file"] == f"{layer}.dbf"}
            frame = pyogrio.read_dataframe(f"/vsizip/{path}/{layer}.shp").rename(columns=names)
        else:
            frame = pyogrio.read_dataframe(path, layer=layer if fmt == "gpkg" else None)
            if fmt == "kml":  # GDAL names the ExtendedData `id` id2 (id is the Placemark's)
                frame = frame.drop(columns="id").rename(columns={"id2": "id"})
        return [dict(row) for _, row in frame.iterrows()]

    whole = rows("wards", "")
    (an_xuan,) = [r for r in whole if str(r["id"]) == str(town.ward_id)]
    assert int(str(an_xuan["households"])) == len(POINTS)
    for settlement, expected in ((first, 3), (second, len(POINTS) - 3)):
        query = f"&settlement={settlement}"
        assert len(rows("households", query)) == expected
        (own,) = rows("settlements", query)
        assert int(str(own["households"])) == expected
        (ward,) = rows("wards", query)
        assert str(ward["id"]) == str(town.ward_id)
        assert int(str(ward["households"])) == expected
        assert float(str(ward["rank_in_city"])) == float(str(an_xuan["rank_in_city"]))


def test_times_are_the_same_utc_text_in_every_format_and_the_ogc_api(
    town: Town, tmp_path: Path, sync_engine: Engine
) -> None:
    """collected_at and received_at: `2026-11-26T02:30:01Z` (UTC, to the second) in GeoJSON
    as in CSV, XLSX, GeoPackage, KML and the OGC API's items; a ward's last_collected_at too."""
    with sync_engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE household_surveys SET collected_at = '2026-11-26T09:30:01.575259+07:00', "
                "received_at = '2026-11-26T10:00:02.5+07:00', status = 'approved' WHERE id = :id"
            ),
            {"id": town.ids[0]},
        )
    expected = {"collected_at": "2026-11-26T02:30:01Z", "received_at": "2026-11-26T03:00:02Z"}
    query = f"?city=tam-ky&status=approved&ward={town.ward_id}"

    geojson = json.loads(
        fetch(town, f"households.geojson{query}", tmp_path / "h.geojson").read_bytes()
    )
    (feature,) = geojson["features"]
    csv_path = fetch(town, f"households.csv{query}", tmp_path / "h.csv")
    (csv_row,) = csv.DictReader(io.StringIO(csv_path.read_bytes().decode("utf-8-sig")))
    sheet = load_workbook(fetch(town, f"households.xlsx{query}", tmp_path / "h.xlsx")).active
    assert sheet is not None
    header, xlsx_row = ([c.value for c in row] for row in sheet.iter_rows(max_row=2))
    gpkg = fetch(town, f"households.gpkg{query}", tmp_path / "h.gpkg")
    with sqlite3.connect(gpkg) as db:
        gpkg_row = db.execute("SELECT collected_at, received_at FROM households").fetchone()
    db.close()
    kml = ElementTree.parse(fetch(town, f"households.kml{query}", tmp_path / "h.kml"))
    kml_values = {
        data.get("name"): data.findtext("{*}value")
        for data in kml.iter("{http://www.opengis.net/kml/2.2}Data")
    }
    kml_values |= {
        data.get("name"): data.text
        for data in kml.iter("{http://www.opengis.net/kml/2.2}SimpleData")
    }
    item = town.admin.get(f"/ogc/collections/households/items/{town.ids[0]}", headers=town.planner)
    assert item.status_code == 200, item.text
    for index, (name, value) in enumerate(expected.items()):
        assert feature["properties"][name] == value, name
        assert csv_row[name] == value, name
        assert xlsx_row[header.index(name)] == value, name
        assert gpkg_row[index] == value, name
        assert kml_values[name] == value, name
        assert item.json()["properties"][name] == value, name
    ward = town.admin.get(f"/ogc/collections/wards/items/{town.ward_id}", headers=town.planner)
    assert ward.json()["properties"]["last_collected_at"] == expected["collected_at"]


@pytest.mark.parametrize("labels", ["", "en", "vi"])
def test_the_households_style_colours_the_tenure_values_the_layer_holds(
    town: Town, tmp_path: Path, labels: str
) -> None:
    """With `labels=en|vi` the tenure column holds labels: the QGIS style's categories (QML
    and SLD) are those labels, in the city GeoPackage and the households one alike."""
    query = f"?labels={labels}" if labels else ""
    for name, url in (
        ("city", f"{EXPORT}/cities/tam-ky.gpkg{query}"),
        ("layer", f"{EXPORT}/households.gpkg?city=tam-ky{query.replace('?', '&')}"),
    ):
        response = town.admin.get(
            url + ("&" if "?" in url else "?") + "surveys=all", headers=town.planner
        )
        assert response.status_code == 200, response.text
        path = tmp_path / f"{name}.gpkg"
        path.write_bytes(response.content)
        with sqlite3.connect(path) as db:
            values = {row[0] for row in db.execute("SELECT DISTINCT tenure FROM households")}
            qml, sld = db.execute(
                "SELECT styleQML, styleSLD FROM layer_styles WHERE f_table_name = 'households'"
            ).fetchone()
        db.close()
        renderer = ElementTree.fromstring(qml.split("\n", 1)[1]).find("renderer-v2")
        assert renderer is not None
        categories = {c.get("value") for c in renderer.iter("category")} - {""}
        literals = {
            e.text for e in ElementTree.fromstring(sld).iter("{http://www.opengis.net/ogc}Literal")
        }
        assert len(categories) == 6 and literals == categories, name
        assert values and values <= categories, (name, values, categories)
        assert ("papers_only" in categories) == (not labels), name
