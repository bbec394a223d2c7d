"""Answers whose names are those of other columns (tests/forms/export_name_collisions.md):
a question named as a survey column (`status`, `ward`, `city`, `id`, `flags`, `Settlement`,
case aside), as a place column of a file (`lon`, `lat`, `fid`, `geom`), as a select_multiple's
0/1 column (`water_tap` beside `water` with a choice `tap`), or a repeat's question named as a
related table's own column (`parent_id`, `position`): each answer gets a column of its own,
the name followed by `_2` (`_3`... the first free, in the form's order), in every format, read
back as planners' tools read it; in a Shapefile the 10-character names are unique too."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pyogrio
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine, text

from app.main import create_app
from app.settings import REPO_ROOT, Settings
from tests.auth import bearer

FORM_ID = "export_name_collisions"
VERSION = "2026120901"
EXPORT = f"/api/v1/export/forms/{FORM_ID}"
ANSWERS: dict[str, Any] = {
    "status": "NHÀ-TẠM",
    "ward": "TỔ-5",
    "city": "TP-GHI",
    "id": 4242,
    "flags": "CỜ-X",
    "Settlement": "KDC-GHI",
    "water": "tap well",
    "water_tap": 3,
    "lon": "LON-GHI",
    "lat": "LAT-GHI",
    "fid": "FID-GHI",
    "geom": "GEOM-GHI",
    "status_2": "TT-2",
    "member": [{"parent_id": "CHỦ-HỘ", "position": 9}],
}
# Each answer's column: the name, else the name and _2 (_3...) when a column before it has it.
EXPECTED: dict[str, Any] = {
    "status_2": "NHÀ-TẠM",
    "ward_2": "TỔ-5",
    "city_2": "TP-GHI",
    "id_2": 4242,
    "flags_2": "CỜ-X",
    "Settlement_2": "KDC-GHI",
    "water": "tap well",
    "water_tap": 1,
    "water_well": 1,
    "water_tap_2": 3,
    "lon_2": "LON-GHI",
    "lat_2": "LAT-GHI",
    "fid_2": "FID-GHI",
    "geom_2": "GEOM-GHI",
    "status_2_2": "TT-2",
}
MEMBER_EXPECTED = {"position": 1, "parent_id_2": "CHỦ-HỘ", "position_2": 9}


@pytest.fixture
def client(database_url: str, tmp_path: Path, clean_surveys: None) -> Iterator[TestClient]:
    forms_dir = tmp_path / "forms"
    forms_dir.mkdir()
    for path in [*(REPO_ROOT / "forms").glob("*.xlsx"), *(REPO_ROOT / "forms").glob("*.yaml")]:
        shutil.copy(path, forms_dir / path.name)
    shutil.copy(REPO_ROOT / "tests" / "forms" / f"{FORM_ID}.md", forms_dir / f"{FORM_ID}.md")
    with TestClient(create_app(Settings(database_url=database_url, forms_dir=forms_dir))) as app:
        yield app


@pytest.fixture
def survey_id(client: TestClient, sync_engine: Engine) -> str:
    """One approved survey of the form in Tam Kỳ, every answer given."""
    with sync_engine.begin() as connection:
        return str(
            connection.execute(
                text(
                    "INSERT INTO household_surveys (id, city_id, form_id, form_version, "
                    "collected_at, status, answers, content_hash, geom) SELECT "
                    "gen_random_uuid(), id, :form_id, :version, now(), 'approved', "
                    "CAST(:answers AS jsonb), 'x', ST_SetSRID(ST_MakePoint(108.474, 15.571), "
                    "4326) FROM cities WHERE slug = 'tam-ky' RETURNING id"
                ),
                {"form_id": FORM_ID, "version": VERSION, "answers": json.dumps(ANSWERS)},
            ).scalar_one()
        )


def fetch(client: TestClient, token: str, path: str, target: Path) -> Path:
    response = client.get(path, headers=bearer(token))
    assert response.status_code == 200, (path, response.text[:300])
    target.write_bytes(response.content)
    return target


def same(found: dict[str, Any], expected: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """The expected columns whose value is missing or other (numbers compared as text, as
    KML and CSV write them)."""
    wrong = []
    for name, value in expected.items():
        got = found.get(name)
        if got is None or str(got).removesuffix(".0") != str(value):
            wrong.append((name, value, got))
    return wrong


def one_row(path: Path, fmt: str, layer: str | None = None) -> dict[str, Any]:
    """The single row of the layer (or related table), column name -> value."""
    if fmt == "geojson":
        return dict(json.loads(path.read_text(encoding="utf-8"))["features"][0]["properties"])
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
        assert len(rows) == 2, rows
        assert len(set(rows[0])) == len(rows[0]), rows[0]  # no column name twice
        return dict(zip(rows[0], rows[1], strict=True))
    if fmt == "xlsx":
        book = load_workbook(path, read_only=True)
        sheet = book[layer] if layer else book.worksheets[0]
        header, values = [tuple(r) for r in sheet.iter_rows(values_only=True)]
        assert len(set(header)) == len(header), header
        return dict(zip(header, values, strict=True))
    if fmt == "kml":
        kml = "{http://www.opengis.net/kml/2.2}"
        root = ElementTree.fromstring(path.read_bytes())
        schema = [f.get("name") for f in root.iter(f"{kml}SimpleField")]
        assert len(set(schema)) == len(schema), schema
        return {d.get("name"): d.text for d in root.iter(f"{kml}SimpleData")}
    if fmt == "gpkg":
        frame = pyogrio.read_dataframe(path, layer=layer or FORM_ID, read_geometry=False)
        assert len(frame) == 1
        return dict(frame.iloc[0])
    assert fmt == "shp.zip"
    table = layer or FORM_ID
    with zipfile.ZipFile(path) as archive:
        mapping = list(csv.DictReader(io.StringIO(archive.read("fields.csv").decode())))
    names = {r["field"]: r["column"] for r in mapping if r["file"] == f"{table}.dbf"}
    shorts = [s.lower() for s in names]
    assert len(set(shorts)) == len(shorts) and all(len(s) <= 10 for s in shorts), names
    frame = pyogrio.read_dataframe(f"/vsizip/{path}/{table}.dbf", read_geometry=False)
    assert sorted(frame.columns) == sorted(names), (list(frame.columns), names)
    return {names[k]: v for k, v in dict(frame.iloc[0]).items()}


@pytest.mark.parametrize("fmt", ["geojson", "csv", "xlsx", "kml", "gpkg", "shp.zip"])
def test_every_answer_has_its_column_in_every_format(
    client: TestClient, survey_id: str, planner_token: str, tmp_path: Path, fmt: str
) -> None:
    path = fetch(client, planner_token, f"{EXPORT}.{fmt}?city=tam-ky", tmp_path / f"f.{fmt}")
    row = one_row(path, fmt)
    assert same(row, EXPECTED) == []
    # The survey's own columns keep their meaning.
    assert row["status"] == "approved" and row["city"] == "tam-ky"
    assert str(row["id"]) == survey_id
    if fmt in ("gpkg", "shp.zip"):
        info = subprocess.run(
            ["ogrinfo", "-ro", "-so", "-al", f"/vsizip/{path}" if fmt == "shp.zip" else str(path)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "Feature Count: 1" in info, info


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "gpkg", "shp.zip"])
def test_a_repeats_answers_named_as_its_tables_columns_are_kept(
    client: TestClient, survey_id: str, planner_token: str, tmp_path: Path, fmt: str
) -> None:
    query = "&repeat=member" if fmt == "csv" else ""
    path = fetch(client, planner_token, f"{EXPORT}.{fmt}?city=tam-ky{query}", tmp_path / f"m.{fmt}")
    row = one_row(path, fmt, None if fmt == "csv" else f"{FORM_ID}_member")
    assert same(row, MEMBER_EXPECTED) == []
    assert str(row["parent_id"]) == survey_id


def test_the_ogc_api_and_geojson_name_them_alike(
    client: TestClient, survey_id: str, planner_token: str
) -> None:
    items = client.get(f"/ogc/collections/{FORM_ID}/items", headers=bearer(planner_token))
    assert items.status_code == 200, items.text
    properties = items.json()["features"][0]["properties"]
    assert same(properties, EXPECTED) == []
    assert properties["status"] == "approved"
