"""A form whose questions are named as OGC API query parameters (`limit`, `bbox`, `offset`,
`f`, `datetime`, `properties`, `crs`, `lang`, `filter`) or as the queryables' `geometry`
(tests/forms/ogc_reserved_names.md): the parameters keep their OGC meaning, the answers stay
in every feature, the queryables list none of them (their `geometry` and `datetime` stay the
geometry and the time), nothing answers 500; GDAL's OAPIF driver reads and filters them."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.main import create_app
from app.services.auth import hash_password
from app.settings import REPO_ROOT, Settings
from bench.common import uvicorn_server
from tests.auth import bearer, make_token, make_user

FORM_ID = "ogc_reserved_names"
VERSION = "2026121001"
ITEMS = f"/ogc/collections/{FORM_ID}/items"
HOSTILE = "{{7*7}}<img src=x onerror=alert(1)>"
PASSWORD = "Mật-khẩu 2026"
# Five surveys: `limit` answers 7 (two of them) or 3, every other reserved name a value
# that would be a valid parameter (or a hostile one).
ANSWERS: list[dict[str, Any]] = [
    {
        "limit": 7 if index < 2 else 3,
        "bbox": "1,2,3,4" if index else HOSTILE,
        "offset": "4",
        "f": "html",
        "datetime": "2020-01-01",
        "properties": "note",
        "crs": "EPSG:3405",
        "lang": "en",
        "filter": "note='x'",
        "geometry": f"hình {index}",
        "note": f"ghi chú {index}",
    }
    for index in range(5)
]


@pytest.fixture
def forms_dir(tmp_path: Path) -> Path:
    found = tmp_path / "forms"
    found.mkdir()
    for path in [*(REPO_ROOT / "forms").glob("*.xlsx"), *(REPO_ROOT / "forms").glob("*.yaml")]:
        shutil.copy(path, found / path.name)
    shutil.copy(REPO_ROOT / "tests" / "forms" / f"{FORM_ID}.md", found / f"{FORM_ID}.md")
    return found


@pytest.fixture
def surveys(sync_engine: Engine, clean_surveys: None) -> list[str]:
    """The five surveys, approved, in Tam Kỳ (lon 108.474, lat 15.571), in id order."""
    ids = []
    with sync_engine.begin() as connection:
        for answers in ANSWERS:
            ids.append(
                str(
                    connection.execute(
                        text(
                            "INSERT INTO household_surveys (id, city_id, form_id, form_version, "
                            "collected_at, status, answers, content_hash, geom) SELECT "
                            "gen_random_uuid(), id, :form_id, :version, "
                            "'2026-11-26T09:30:00Z', 'approved', CAST(:answers AS jsonb), 'x', "
                            "ST_SetSRID(ST_MakePoint(108.474, 15.571), 4326) FROM cities "
                            "WHERE slug = 'tam-ky' RETURNING id"
                        ),
                        {"form_id": FORM_ID, "version": VERSION, "answers": json.dumps(answers)},
                    ).scalar_one()
                )
            )
    return sorted(ids)


@pytest.fixture
def planner(
    database_url: str, forms_dir: Path, sync_engine: Engine, surveys: list[str]
) -> Iterator[TestClient]:
    token = make_token(
        sync_engine,
        make_user(sync_engine, "ogc-reserved-planner", [("planner", ("city", "tam-ky"))]),
    )
    app = create_app(Settings(database_url=database_url, forms_dir=forms_dir))
    with TestClient(app, headers=bearer(token), raise_server_exceptions=False) as client:
        yield client


def test_reserved_parameters_keep_their_ogc_meaning(
    planner: TestClient, surveys: list[str]
) -> None:
    whole = planner.get(ITEMS)
    assert whole.status_code == 200, whole.text
    assert whole.json()["numberMatched"] == 5
    # limit is the page size, never a filter on the question `limit`
    page = planner.get(ITEMS, params={"limit": "7"}).json()
    assert page["numberReturned"] == 5 and page["numberMatched"] == 5
    page = planner.get(ITEMS, params={"limit": "3"}).json()
    assert page["numberReturned"] == 3 and page["numberMatched"] == 5
    assert [f["id"] for f in page["features"]] == surveys[:3]
    # offset skips, bbox is the area, datetime the collection time
    page = planner.get(ITEMS, params={"offset": "4"}).json()
    assert [f["id"] for f in page["features"]] == surveys[4:]
    assert planner.get(ITEMS, params={"bbox": "1,2,3,4"}).json()["numberMatched"] == 0
    around = planner.get(ITEMS, params={"bbox": "108.47,15.57,108.48,15.58"}).json()
    assert around["numberMatched"] == 5
    assert planner.get(ITEMS, params={"datetime": "2020-01-01"}).json()["numberMatched"] == 0
    assert planner.get(ITEMS, params={"datetime": "2026-11-26"}).json()["numberMatched"] == 5
    assert planner.get(ITEMS, params={"crs": "EPSG:3405"}).status_code == 400
    html = planner.get(ITEMS, params={"f": "html"})
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert (
        planner.get(ITEMS, params={"lang": "en", "bbox": "x"})
        .json()["errors"][0]["message"]
        .startswith("bbox must be")
    )
    # the answers stay in every feature, each under its own name
    properties = [f["properties"] for f in whole.json()["features"]]
    by_note = {p["note"]: p for p in properties}
    for index, answers in enumerate(ANSWERS):
        found = by_note[f"ghi chú {index}"]
        assert {name: found[name] for name in answers} == answers
    one = planner.get(f"{ITEMS}/{surveys[0]}", params={"f": "json"}).json()
    assert one["geometry"]["type"] == "Point" and one["properties"]["geometry"].startswith("hình")
    # a question that is no reserved name still filters
    assert planner.get(ITEMS, params={"note": "ghi chú 1"}).json()["numberMatched"] == 1


@pytest.mark.parametrize(
    "name", ["properties", "filter", "filter-lang", "sortby", "skipGeometry", "geometry"]
)
def test_reserved_parameters_not_implemented_are_400_never_a_filter(
    planner: TestClient, name: str
) -> None:
    for language, words in (("vi", "chưa được hỗ trợ"), ("en", "is not supported")):
        response = planner.get(ITEMS, params={name: "note", "lang": language})
        assert response.status_code == 400, response.text
        (error,) = response.json()["errors"]
        assert error["code"] == "ogc_unsupported_parameter" and error["field"] == name
        assert f"'{name}'" in error["message"] and words in error["message"]
    # not even with a value a question of that name holds (`geometry` is the queryables'
    # geometry: a spatial filter, which only bbox is here)
    assert planner.get(ITEMS, params={name: ANSWERS[1].get(name, "x")}).status_code == 400


def test_queryables_leave_out_reserved_names_and_every_listed_one_filters(
    planner: TestClient,
) -> None:
    response = planner.get(f"/ogc/collections/{FORM_ID}/queryables")
    assert response.status_code == 200
    properties = response.json()["properties"]
    # the schema's own geometry and time, not the questions of those names
    assert properties["geometry"]["format"] == "geometry-point"
    assert properties["datetime"] == {"title": "datetime", "type": "string", "format": "date-time"}
    reserved = {"limit", "bbox", "offset", "f", "properties", "crs", "lang", "filter"}
    assert not reserved & set(properties)
    assert properties["note"]["type"] == "string"
    first = planner.get(ITEMS).json()["features"][0]["properties"]
    for name in properties:
        if name in ("geometry", "datetime") or first.get(name) is None:
            continue
        found = planner.get(ITEMS, params={name: str(first[name])})
        assert found.status_code == 200, (name, found.text)
        features = found.json()["features"]
        assert features and all(f["properties"][name] == first[name] for f in features), name
    page = planner.get(f"/ogc/collections/{FORM_ID}/queryables", params={"f": "html"})
    assert page.status_code == 200 and "<td>limit</td>" not in page.text


def test_html_views_escape_the_answers(planner: TestClient, surveys: list[str]) -> None:
    for path in (ITEMS, f"{ITEMS}/{surveys[0]}", f"{ITEMS}/{surveys[1]}"):
        for extra in ({}, {"limit": "2"}, {"lang": "en"}):
            page = planner.get(path, params={"f": "html", **extra})
            assert page.status_code == 200, (path, extra, page.text[:300])
            assert "<img src=x" not in page.text
    table = planner.get(ITEMS, params={"f": "html"}).text
    assert "{{7*7}}&lt;img src=x onerror=alert(1)&gt;" in table
    assert "<th>limit</th>" in table and "<th>bbox</th>" in table


def test_gdal_reads_and_filters_the_reserved_names(
    database_url: str, forms_dir: Path, sync_engine: Engine, surveys: list[str]
) -> None:
    make_user(
        sync_engine,
        "ogc-reserved-gdal",
        [("planner", ("city", "tam-ky"))],
        hash_password(PASSWORD),
    )
    auth = ["--config", "GDAL_HTTP_AUTH", "BASIC"]
    auth += ["--config", "GDAL_HTTP_USERPWD", f"ogc-reserved-gdal:{PASSWORD}"]

    def ogrinfo(base: str, *arguments: str) -> str:
        result = subprocess.run(
            ["ogrinfo", "-ro", f"OAPIF:{base}/ogc", FORM_ID, *arguments, *auth],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr + result.stdout
        return result.stdout

    with uvicorn_server("app.main:create_app", database_url, env={"FORMS_DIR": str(forms_dir)}) as (
        base,
        _pid,
    ):
        listing = ogrinfo(base, "-oo", "PAGE_SIZE=2")
        assert listing.count("OGRFeature(") == 5  # paged by 2: limit is the page size
        assert "limit (Integer) = 7" in listing and "limit (Integer) = 3" in listing
        assert "bbox (String) = 1,2,3,4" in listing
        sevens = ogrinfo(base, "-where", '"limit" = 7')
        assert sevens.count("OGRFeature(") == 2
        boxes = ogrinfo(base, "-where", "\"bbox\" = '1,2,3,4'")
        assert boxes.count("OGRFeature(") == 4
