"""Scores as shown: equal shown scores share a rank, the colour class follows the shown score
in every output, whole-number scores round half up like shares, and OGC counts the configured
household form (a reviewer's four cases, on hand-made settlements)."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine, text

from app.geo.styles import CLASS_BOUNDS, value_class
from app.main import create_app
from app.settings import REPO_ROOT, Settings
from tests.integration.test_indicators import CLEAN

SLUG = "lang-lam-tron"
DATA_BLOCK = r'<script type="application/json" id="cdfmap-data"[^>]*>(.*?)</script>'
POOR = {  # lacks everything
    "tenure": "renting",
    "water_source": "well",
    "sanitation": "shared_toilet",
    "flooding": "often",
    "house_condition": "temporary",
    "electricity": "neighbour_meter",
    "lane_access": "motorbike",
    "waste": "dumped",
}


def _make_city(
    engine: Engine, settlements: dict[str, list[dict[str, str]]], form_id: str = "household"
) -> dict[str, int]:
    """City SLUG with ward W1 and one settlement per code, each with these approved surveys."""
    ids: dict[str, int] = {}
    with engine.begin() as connection:

        def scalar(sql: str, **params: Any) -> Any:
            return connection.execute(text(sql), params).scalar_one()

        ids["city"] = scalar(
            "INSERT INTO cities (slug, name, province) VALUES (:slug, 'Làng Làm Tròn', "
            "'Quảng Nam') RETURNING id",
            slug=SLUG,
        )
        ids["W1"] = scalar(
            "INSERT INTO wards (city_id, code, name, geom) VALUES (:city, 'W1', 'Phường Tròn', "
            "ST_Multi(ST_MakeEnvelope(108.0, 15.0, 108.1, 15.01, 4326))) RETURNING id",
            city=ids["city"],
        )
        for index, (code, surveys) in enumerate(settlements.items()):
            west = 108.0 + 0.01 * index
            ids[code] = scalar(
                "INSERT INTO settlements (city_id, ward_id, code, name, geom) VALUES "
                "(:city, :ward, :code, :name, ST_MakeEnvelope(:west, 15.0, :east, 15.005, 4326)) "
                "RETURNING id",
                city=ids["city"],
                ward=ids["W1"],
                code=code,
                name=f"Xóm {code}",
                west=west,
                east=west + 0.005,
            )
            for answers in surveys:
                connection.execute(
                    text(
                        "INSERT INTO household_surveys (id, city_id, ward_id, settlement_id, "
                        "form_id, form_version, collected_at, status, answers, content_hash, "
                        "geom) VALUES (:id, :city, :ward, :settlement, :form, '2026112801', "
                        "'2026-11-20T08:00:00+07', 'approved', CAST(:answers AS jsonb), 'x', "
                        "ST_SetSRID(ST_MakePoint(:lon, 15.002), 4326))"
                    ),
                    {
                        "id": uuid.uuid4(),
                        "city": ids["city"],
                        "ward": ids["W1"],
                        "settlement": ids[code],
                        "form": form_id,
                        "answers": orjson.dumps(answers).decode(),
                        "lon": west + 0.002,
                    },
                )
    return ids


@pytest.fixture
def city(sync_engine: Engine, clean_surveys: None) -> Iterator[Any]:
    made: list[int] = []

    def make(settlements: dict[str, list[dict[str, str]]], form_id: str = "household") -> Any:
        ids = _make_city(sync_engine, settlements, form_id)
        made.append(ids["city"])
        return ids

    yield make
    with sync_engine.begin() as connection:
        for city_id in made:
            connection.execute(text("DELETE FROM cities WHERE id = :id"), {"id": city_id})


def _by_code(features: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f["properties"]["code"]: f["properties"] for f in features}


def _map_settlements(client: TestClient) -> dict[str, dict[str, Any]]:
    page = client.get(f"/maps/cities/{SLUG}")
    assert page.status_code == 200, page.text
    found = re.search(DATA_BLOCK, page.text, re.S)
    assert found is not None
    data = json.loads(found.group(1))
    return {f["properties"]["name"]: f["properties"] for f in data["settlements"]["features"]}


def test_equal_shown_scores_share_a_rank_everywhere(client: TestClient, city: Any) -> None:
    """X: 1 of 10 on a neighbour's meter and 2 without car access; Y: 3 of 10 without waste
    collection. By the common weights (sum 14) both score 100 * 0.3 / 14 = 2.142857..., but
    0.1 + 0.2 > 0.3 in floating point ranked X above Y."""
    x = [{**CLEAN, "electricity": "neighbour_meter"}]
    x += [{**CLEAN, "lane_access": "motorbike"}] * 2 + [CLEAN] * 7
    y = [{**CLEAN, "waste": "dumped"}] * 3 + [CLEAN] * 7
    z = [POOR] + [CLEAN] * 4  # above both
    city({"X": x, "Y": y, "Z": z})

    report = client.get(f"/api/v1/cities/{SLUG}/indicators").json()
    rows = {s["code"]: s for s in report["settlements"]}
    assert rows["X"]["score"] == rows["Y"]["score"] == 2.1
    assert (rows["Z"]["rank_in_city"], rows["Z"]["rank_in_ward"]) == (1, 1)
    assert (rows["X"]["rank_in_city"], rows["Y"]["rank_in_city"]) == (2, 2)
    assert (rows["X"]["rank_in_ward"], rows["Y"]["rank_in_ward"]) == (2, 2)

    csv_text = client.get(f"/api/v1/cities/{SLUG}/indicators.csv?lang=en").content.decode(
        "utf-8-sig"
    )
    csv_ranks = {row[1]: row[5:8] for row in csv.reader(io.StringIO(csv_text))}
    assert csv_ranks["X"] == csv_ranks["Y"] == ["2.1", "2", "2"], csv_ranks

    shown = _map_settlements(client)
    assert shown["Xóm X"]["rank_in_city"] == shown["Xóm Y"]["rank_in_city"] == 2

    exported = client.get("/api/v1/export/settlements.geojson", params={"city": SLUG})
    assert exported.status_code == 200, exported.text
    props = _by_code(exported.json()["features"])
    assert props["X"]["rank_in_city"] == props["Y"]["rank_in_city"] == 2
    assert props["X"]["rank_in_ward"] == props["Y"]["rank_in_ward"] == 2

    items = client.get("/ogc/collections/settlements/items", params={"limit": 1000})
    assert items.status_code == 200, items.text
    ogc = _by_code([f for f in items.json()["features"] if f["properties"]["city"] == SLUG])
    assert ogc["X"]["rank_in_city"] == ogc["Y"]["rank_in_city"] == 2
    assert ogc["X"]["rank_in_ward"] == ogc["Y"]["rank_in_ward"] == 2


def test_the_export_classes_the_score_as_shown(client: TestClient, city: Any) -> None:
    """P: 1 household that rents, weights 200 (tenure) and 801 (water): 19.98, shown 20.0,
    is in the class 20-40 on the web map, the print and the export alike."""
    city({"P": [{**CLEAN, "tenure": "renting"}]})
    weights = {"insecure_tenure": 200, "no_piped_water": 801}
    answer = client.patch(f"/api/v1/cities/{SLUG}", json={"priority_weights": weights})
    assert answer.status_code == 200, answer.text
    report = client.get(f"/api/v1/cities/{SLUG}/indicators").json()
    assert report["settlements"][0]["score"] == 20.0
    assert value_class(20.0) == 1  # what the web map and the print draw (0-based)
    exported = client.get("/api/v1/export/settlements.geojson", params={"city": SLUG})
    props = _by_code(exported.json()["features"])["P"]
    assert (props["score"], props["priority_class"]) == (20.0, 2)  # 1-based: 20-40


def test_whole_scores_round_half_up_like_shares(client: TestClient, city: Any) -> None:
    """A: 8 households, 1 lacking everything: score 12.5 and every share 1/8, shown 13 %."""
    city({"A": [POOR] + [CLEAN] * 7})
    report = client.get(f"/api/v1/cities/{SLUG}/indicators").json()
    assert report["settlements"][0]["score"] == 12.5
    popup = _map_settlements(client)["Xóm A"]
    assert popup["score_text"] == "13"
    assert popup["share_no_piped_water"] == "13 %"


def test_the_printed_table_rounds_whole_scores_half_up() -> None:
    from app.geo.print_map import _ranking_rows
    from tests.unit.test_print_map import ward_page

    page = ward_page()
    shares = dict.fromkeys(page.indicator_short, 0.125)
    settlement = {**page.settlements[0], "score": 12.5, "shares": shares}
    page = type(page)(**{**page.__dict__, "settlements": [settlement]})
    _, rows, _ = _ranking_rows(page)
    assert rows[0][3] == "13"
    assert set(rows[0][4:]) == {"13"}


def test_shown_score_and_class_are_one_rule_in_python_and_sql(sync_engine: Engine) -> None:
    """The Python rounding of a score and its class are PostgreSQL's, value for value."""
    from app.db.indicators import shown_score, shown_score_sql
    from app.geo.styles import value_class_sql

    values = [0.1 + 0.2, 100 * 0.3 / 14, 100 * (0.1 + 0.2) / 14, 12.25, 12.45, 12.5, 19.98]
    values += [19.95, 19.949999999999999, 39.95, 59.95, 79.95, 99.95, 0.05, 2.675, 100.0]
    values += [bound - 0.05 for bound in CLASS_BOUNDS] + [bound - 0.04 for bound in CLASS_BOUNDS]
    values += [i / 7 for i in range(0, 701)]
    sql = (
        f"SELECT {shown_score_sql('v')}::float8 AS shown, "
        f"{value_class_sql(shown_score_sql('v'))} AS class "
        "FROM unnest(CAST(:values AS float8[])) AS v"
    )
    with sync_engine.connect() as connection:
        rows = connection.execute(text(sql), {"values": values}).all()
    for value, row in zip(values, rows, strict=True):
        assert shown_score(value) == row.shown, value
        assert value_class(shown_score(value)) == row[1], value


def _form_named(forms_dir: Path, form_id: str) -> None:
    """The household form under another id (a city's own form, HOUSEHOLD_FORM=form_id)."""
    workbook = load_workbook(REPO_ROOT / "forms" / "household.xlsx")
    sheet = workbook["settings"]
    header = [cell.value for cell in sheet[1]]
    sheet.cell(row=2, column=header.index("form_id") + 1, value=form_id)
    workbook.save(forms_dir / f"{form_id}.xlsx")
    shutil.copy(REPO_ROOT / "forms" / "settlement.xlsx", forms_dir / "settlement.xlsx")


def test_ogc_counts_the_configured_household_form(
    database_url: str, tmp_path: Path, city: Any, admin_token: str
) -> None:
    """HOUSEHOLD_FORM=ho_gia_dinh: OGC's wards and settlements count its surveys, as the
    indicators API and the export do (they showed 0 households and no score)."""
    forms_dir = tmp_path / "forms"
    forms_dir.mkdir()
    _form_named(forms_dir, "ho_gia_dinh")
    city({"P": [POOR] + [CLEAN] * 4}, form_id="ho_gia_dinh")
    settings = Settings(
        database_url=database_url,
        forms_dir=forms_dir,
        household_form="ho_gia_dinh",
        media_dir=tmp_path / "media",
    )
    headers = {"Authorization": f"Bearer {admin_token}"}
    with TestClient(create_app(settings), headers=headers) as client:
        report = client.get(f"/api/v1/cities/{SLUG}/indicators").json()
        api = {s["code"]: s for s in report["settlements"]}["P"]
        assert (api["households"], api["score"]) == (5, 20.0)
        exported = client.get("/api/v1/export/settlements.geojson", params={"city": SLUG})
        export = _by_code(exported.json()["features"])["P"]
        assert (export["households"], export["score"]) == (5, 20.0)
        for collection, code in (("settlements", "P"), ("wards", "W1")):
            items = client.get(f"/ogc/collections/{collection}/items", params={"limit": 1000})
            assert items.status_code == 200, items.text
            features = [f for f in items.json()["features"] if f["properties"]["city"] == SLUG]
            props = _by_code(features)[code]
            assert (props["households"], float(props["score"])) == (5, 20.0), collection
