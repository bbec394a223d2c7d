"""Personal fields in every export, for every role: each file format (and the GeoPackages of
all layers) asked by each role, with and without `personal=true`, of a whole city and of one
ward; the status the rules say, and the file read back as planners' tools read it: hostile
personal values present, intact and inert exactly where the role may see them, absent
everywhere else (not a column, not a byte of the file)."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pyogrio
import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from tests.factories import TAM_KY_POINT, household_answers, household_survey
from tests.integration import test_access_matrix
from tests.integration.test_access_matrix import READ_CITY, READ_WARD, WHO, World
from tests.integration.test_household_form import boundary

# The access matrix's people (a volunteer, leaders of W03 and W01, planners, admins).
world = test_access_matrix.world

EXPORT = "/api/v1/export"
FORMATS = ("geojson", "gpkg", "csv", "xlsx", "kml", "shp.zip")
# Spreadsheet formulas, HTML and template code, in the answers only some roles may see.
HEAD_NAME = '=HYPERLINK("http://x")<script>{{7*7}}</script> Nguyễn Bí Mật'
OTHER_HEAD_NAME = '=HYPERLINK("http://y")<script>{{6*6}}</script> Trần Khác'
LEADER_NAME = '=HYPERLINK("http://z")<script>{{5*5}}</script> Lê Đại Diện'
PHOTO = "nha-bi-mat.jpg"
# Whatever the format, none of these may be in a file without personal fields.
MARKERS = ("HYPERLINK", "0977123456", "0966123456", "0955123456", PHOTO)
# A personal value exported to a spreadsheet starts with a quote, never as a formula.
SPREADSHEETS = ("csv", "xlsx")

# Who gets what, with `personal=true`: the city's admins, a ward's leader for their ward;
# a planner is refused (403) what they could read without it.
PERSONAL_CITY = {**READ_CITY, "planner": 403}
PERSONAL_WARD = {**READ_WARD, "planner": 403}


@dataclass(frozen=True)
class Survey:
    """A survey sent for these tests: its ward and its personal answers."""

    id: str
    ward: str
    personal: dict[str, str]


@dataclass(frozen=True)
class Data:
    world: World
    households: tuple[Survey, ...]
    profiles: tuple[Survey, ...]  # of the `settlement` form


@dataclass(frozen=True)
class Export:
    """One export URL (of the city or of ward W03) and the survey layers its file holds."""

    path: str
    fmt: str
    ward: bool
    layers: tuple[str, ...]

    def url(self, data: Data, personal: bool) -> str:
        query = "?city=tam-ky" + (f"&ward={data.world.w03}" if self.ward else "")
        return f"{EXPORT}/{self.path}{query}" + ("&personal=true" if personal else "")

    def statuses(self, personal: bool) -> dict[str, int]:
        if personal:
            return PERSONAL_WARD if self.ward else PERSONAL_CITY
        return READ_WARD if self.ward else READ_CITY

    def __str__(self) -> str:
        return self.path + (" ward" if self.ward else "")


EXPORTS = [
    *(
        Export(f"{path}.{fmt}", fmt, ward, (layer,))
        for fmt in FORMATS
        for path, layer in (("households", "households"), ("forms/settlement", "settlement"))
        for ward in (False, True)
    ),
    Export("layers.gpkg", "gpkg", False, ("households", "settlement")),
    Export("layers.gpkg", "gpkg", True, ("households", "settlement")),
    Export("cities/tam-ky.gpkg", "gpkg", False, ("households", "settlement")),
]


def _send(world: World, who: str, body: dict[str, Any]) -> str:
    response = world.client.post("/api/v1/submissions", json=body, headers=world.token(who))
    assert response.status_code == 201, response.text
    return str(body["id"])


@pytest.fixture(scope="module")
def data(world: World) -> Iterator[Data]:
    """Approved surveys with hostile personal answers: households in W03 (sent by the
    volunteer, with a photo's file name) and W01, a settlement profile in W03."""
    with world.engine.connect() as connection:
        w01_lon, w01_lat = connection.execute(
            text("SELECT ST_X(p), ST_Y(p) FROM wards, ST_PointOnSurface(geom) p WHERE id = :id"),
            {"id": world.w01},
        ).one()
    w03 = {"head_name": HEAD_NAME, "head_phone": "0977123456", "photo": PHOTO}
    w01 = {"head_name": OTHER_HEAD_NAME, "head_phone": "0966123456"}
    profile = {"leader_name": LEADER_NAME, "leader_phone": "0955123456"}
    households = (
        Survey(
            _send(world, "volunteer", household_survey(answers=household_answers(**w03))),
            "W03",
            w03,
        ),
        Survey(
            _send(
                world,
                "national_admin",
                household_survey(
                    location={"lat": w01_lat, "lon": w01_lon, "accuracy_m": 5.0},
                    answers=household_answers(**w01),
                ),
            ),
            "W01",
            w01,
        ),
    )
    lat, lon = TAM_KY_POINT["lat"], TAM_KY_POINT["lon"]
    settlement = household_survey(
        form_id="settlement",
        form_version="2026112801",
        answers={
            "settlement_name": "Tổ 5 An Xuân",
            **profile,
            "households_count": 120,
            "land_type": "public",
            "boundary": boundary(lat, lon),
        },
    )
    profiles = (Survey(_send(world, "volunteer", settlement), "W03", profile),)
    with world.engine.begin() as connection:
        connection.execute(text("UPDATE household_surveys SET status = 'approved'"))
    yield Data(world, households, profiles)


def _zip_text(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        return "\n".join(
            archive.read(name).decode("utf-8", "replace") for name in archive.namelist()
        )


def _kml_rows(path: Path) -> list[dict[str, Any]]:
    root = ElementTree.parse(path).getroot()  # well-formed: every value escaped
    kml = "{http://www.opengis.net/kml/2.2}"
    return [
        {str(data.get("name")): data.text for data in placemark.iter(f"{kml}SimpleData")}
        for placemark in root.iter(f"{kml}Placemark")
    ]


def _xlsx_rows(path: Path) -> list[dict[str, Any]]:
    sheet = load_workbook(path).active
    assert sheet is not None
    header, *rows = sheet.iter_rows()
    names = [cell.value for cell in header]
    for row in rows:  # text cells, never formulas
        assert all(cell.data_type in ("s", "n") for cell in row)
    return [{name: cell.value for name, cell in zip(names, row, strict=False)} for row in rows]


def _shapefile_rows(path: Path, layer: str) -> list[dict[str, Any]]:
    with zipfile.ZipFile(path) as archive:
        fields = csv.DictReader(io.StringIO(archive.read("fields.csv").decode()))
        names = {row["field"]: row["column"] for row in fields if row["file"] == f"{layer}.dbf"}
    frame = pyogrio.read_dataframe(f"/vsizip/{path}/{layer}.shp").rename(columns=names)
    return _frame_rows(frame)


def _frame_rows(frame: Any) -> list[dict[str, Any]]:
    return [dict(row) for _, row in frame.drop(columns="geometry").iterrows()]


def read_rows(path: Path, fmt: str, layer: str) -> list[dict[str, Any]]:
    """A survey layer's rows (column name to value) as GDAL, a spreadsheet or an XML
    parser reads the file."""
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))
    if fmt == "xlsx":
        return _xlsx_rows(path)
    if fmt == "kml":
        return _kml_rows(path)
    if fmt == "shp.zip":
        return _shapefile_rows(path, layer)
    return _frame_rows(pyogrio.read_dataframe(path, layer=layer if fmt == "gpkg" else None))


def file_text(path: Path, fmt: str) -> str:
    """Every byte of the file as text (a zip's members unpacked)."""
    if fmt in ("xlsx", "shp.zip"):
        return _zip_text(path)
    return path.read_bytes().decode("utf-8", "replace")


def check_layer(
    rows: list[dict[str, Any]], fmt: str, surveys: tuple[Survey, ...], personal: bool
) -> None:
    """The layer holds these surveys, with their personal answers exactly when `personal`
    (written inert in spreadsheets), else without their columns."""
    by_id = {str(row["id"]): row for row in rows}
    assert set(by_id) == {survey.id for survey in surveys}
    for survey in surveys:
        row = by_id[survey.id]
        for field, value in survey.personal.items():
            if not personal:
                assert field not in row, field
            elif fmt in SPREADSHEETS and value[0] == "=":
                assert row[field] == "'" + value, field
            else:
                assert row[field] == value, field
    if not personal:
        for row in rows:
            fields = {"head_name", "head_phone", "photo", "leader_name", "leader_phone"}
            assert not fields & set(row)


@pytest.mark.parametrize("personal", [False, True], ids=["default", "personal"])
@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("export", EXPORTS, ids=str)
def test_personal_fields_by_format_and_role(
    data: Data, export: Export, who: str, personal: bool, tmp_path: Path
) -> None:
    world = data.world
    response = world.client.get(export.url(data, personal), headers=world.token(who))
    expected = export.statuses(personal)[who]
    assert response.status_code == expected, response.text[:300]
    if expected != 200:
        assert not any(marker in response.text for marker in MARKERS)
        if expected == 403:
            assert response.json()["code"] == "personal_not_allowed"
        return
    assert ("-personal." in response.headers["content-disposition"]) == personal
    path = tmp_path / export.path.replace("/", "-")
    path.write_bytes(response.content)
    wards = {"W03"} if export.ward else {"W03", "W01"}
    for layer in export.layers:
        sent = data.households if layer == "households" else data.profiles
        surveys = tuple(survey for survey in sent if survey.ward in wards)
        check_layer(read_rows(path, export.fmt, layer), export.fmt, surveys, personal)
    content = file_text(path, export.fmt)
    if not personal:
        assert not [marker for marker in MARKERS if marker in content]
    elif export.fmt in ("kml", "xlsx"):  # XML: the markup escaped, never a tag
        assert "<script>" not in content and "HYPERLINK" in content


def test_a_ward_leader_exports_personal_fields_of_their_own_ward_only(
    data: Data, tmp_path: Path
) -> None:
    """W01's leader (refused W03's export) gets W01's household with its personal answers,
    and nothing of W03."""
    world = data.world
    response = world.client.get(
        f"{EXPORT}/households.csv?city=tam-ky&ward={world.w01}&personal=true",
        headers=world.token("other_leader"),
    )
    assert response.status_code == 200, response.text
    path = tmp_path / "w01.csv"
    path.write_bytes(response.content)
    w01 = tuple(survey for survey in data.households if survey.ward == "W01")
    check_layer(read_rows(path, "csv", "households"), "csv", w01, True)
    assert "0977123456" not in response.text and PHOTO not in response.text


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("ward", [False, True], ids=["city", "ward"])
@pytest.mark.parametrize("layer", ["wards", "settlements", "savings_groups", "upgrading_projects"])
def test_personal_true_is_refused_alike_on_layers_without_personal_fields(
    data: Data, layer: str, ward: bool, who: str
) -> None:
    """`personal=true` on a layer that holds no personal field answers as on households
    (docs/exports.md: "a planner asking for them gets 403"): what the reader may not read is
    404 still, what they may read is 403 unless they may see personal fields there. A
    planner got the wards as 200, in a file named "...-personal.csv"."""
    export = Export(f"{layer}.csv", "csv", ward, ())
    world = data.world
    default = world.client.get(export.url(data, False), headers=world.token(who))
    response = world.client.get(export.url(data, True), headers=world.token(who))
    may_see = {"city_admin", "national_admin", *(["leader"] if ward else [])}
    expected = 403 if default.status_code == 200 and who not in may_see else default.status_code
    assert response.status_code == expected, response.text[:300]
    if expected == 403:
        assert response.json()["code"] == "personal_not_allowed"
    elif expected == 200:
        assert response.content == default.content


def test_the_schema_documents_the_403_of_personal_true(data: Data) -> None:
    """Every operation taking `personal` lists its 403 (a schema-driven client expects it)."""
    schema = data.world.client.get("/openapi.json").json()
    taking = {
        f"{method.upper()} {path}": operation["responses"]
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if any(p.get("name") == "personal" for p in operation.get("parameters", []))
    }
    assert len(taking) >= 4, sorted(taking)
    assert [name for name, responses in taking.items() if "403" not in responses] == []
