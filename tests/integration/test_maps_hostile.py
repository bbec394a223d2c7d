"""Hostile names (tests/hostile.py) on every map page and printed map: shown as text, never run.

Every name field a map shows is tried with every payload: the city's, the ward's, the
settlements' and the answer labels of the household form, on the city and ward pages in
Vietnamese and English, and on the printed ward maps (PDF and PNG).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi import Request, Response
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from starlette.middleware.base import RequestResponseEndpoint

from app.geo.styles import POINT_STYLES
from app.i18n import translate
from app.main import create_app
from app.services.boundaries import import_city
from app.settings import REPO_ROOT, Settings
from app.text import isolated
from tests.auth import bearer
from tests.hostile import DOLLARS, MATHTEXT, NAMES

LANGUAGES = ("vi", "en")
EMPTY_CITY = "hostile-empty"
# A nonce as the Content-Security-Policy middleware puts it on request.state.
TEST_NONCE = "dGVzdC1ub25jZS0xMjM0"
DATA_BLOCK = re.compile(
    r'<script type="application/json" id="cdfmap-data"[^>]*>(.*?)</script>', re.DOTALL
)
TITLE = re.compile(r"<title>(.*?)</title>", re.DOTALL)
INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
BIDI_CONTROLS = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# Fragments of the payloads that folium's own page never contains: outside the JSON data and
# the escaped <title>, none may appear.
MARKERS = (
    "cycler",
    "range(3)",
    "alert(",
    "onerror",
    "undefinedcmd",
    "Hẻm",
    "HYPERLINK",
    "SUM(A1)",
    "__class__",
    "evil",
)


def square(west: float, south: float, size: float) -> dict[str, Any]:
    """A GeoJSON square polygon (lon/lat)."""
    east, north = west + size, south + size
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def write_layer(path: Path, features: list[tuple[dict[str, Any], dict[str, Any]]]) -> Path:
    """A GeoJSON FeatureCollection file of (properties, geometry) pairs."""
    collection = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": properties, "geometry": geometry}
            for properties, geometry in features
        ],
    }
    path.write_text(json.dumps(collection), encoding="utf-8")
    return path


def import_place(
    engine: Engine,
    directory: Path,
    slug: str,
    city: str,
    wards: list[str],
    settlements: list[list[str]],
    west: float,
) -> dict[str, Any]:
    """Import a city whose wards and settlements carry the given names, as a boundary file
    does (`python -m app.cli import-boundaries`); return their ids and names."""
    directory.mkdir(parents=True, exist_ok=True)
    ward_features = [
        ({"code": f"W{i}", "name": name}, square(west + 0.02 * i, 15.0, 0.015))
        for i, name in enumerate(wards)
    ]
    settlement_features = [
        (
            {"code": f"S{i}-{j}", "name": name, "ward_code": f"W{i}"},
            # Two columns in the west half: clear of the legend and layer control on screen.
            square(west + 0.02 * i + 0.001 + 0.004 * (j % 2), 15.001 + 0.004 * (j // 2), 0.003),
        )
        for i, names in enumerate(settlements)
        for j, name in enumerate(names)
    ]
    with engine.begin() as connection:
        summary = import_city(
            connection,
            slug=slug,
            name=city,
            province=None,
            wards_path=write_layer(directory / "wards.geojson", ward_features),
            settlements_path=write_layer(directory / "settlements.geojson", settlement_features)
            if settlement_features
            else None,
        )
        ward_ids = connection.execute(
            text("SELECT code, id FROM wards WHERE city_id = :city ORDER BY code"),
            {"city": summary.city_id},
        ).all()
    by_code = dict(ward_ids)
    return {
        "slug": slug,
        "city": city,
        "wards": [
            {"id": by_code[f"W{i}"], "name": name, "settlements": names}
            for i, (name, names) in enumerate(zip(wards, settlements, strict=True))
        ],
    }


def remove_places(engine: Engine, slugs: list[str]) -> None:
    """Delete test cities (their wards and settlements go with them)."""
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM cities WHERE slug = ANY(:slugs)"), {"slugs": slugs})


def hostile_forms(directory: Path) -> dict[str, dict[str, str]]:
    """forms/ copied to `directory` with the labels (vi and en) of every answer the maps
    colour households by replaced with hostile names; returns style key -> value -> label."""
    shutil.copytree(REPO_ROOT / "forms", directory)
    path = directory / "household.xlsx"
    book = openpyxl.load_workbook(path)
    survey = book["survey"]
    columns = [cell.value for cell in survey[1]]
    lists = {}
    for row in survey.iter_rows(min_row=2, values_only=True):
        kind, name = row[columns.index("type")], row[columns.index("name")]
        if isinstance(kind, str) and kind.startswith("select_"):
            lists[name] = kind.split()[1]
    # XLSForm reads `${...}` in a label as a reference: the form loader refuses the payloads
    # with a bad one, so they cannot become labels.
    payloads = [name for name in NAMES if "${" not in name]
    labels: dict[str, dict[str, str]] = {}
    wanted: dict[tuple[str, str], str] = {}
    answers = [(style, value) for style in POINT_STYLES for value in style.values]
    for index, (style, value) in enumerate(answers):
        label = payloads[index % len(payloads)]
        # The form loader strips the white space around a label.
        labels.setdefault(style.key, {})[value] = label.strip()
        wanted[(lists[style.question], value)] = label
    choices = book["choices"]
    header = [cell.value for cell in choices[1]]
    label_columns = [i for i, title in enumerate(header) if str(title).startswith("label")]
    for row in choices.iter_rows(min_row=2):
        label = wanted.get((row[0].value, row[1].value))
        if label is not None:
            for column in label_columns:
                row[column].value = label
                row[column].data_type = "s"  # text, even when it starts with "="
    book.save(path)
    return labels


@pytest.fixture(scope="module")
def places(sync_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One city per payload: the city, its ward and a settlement are named with it."""
    root = tmp_path_factory.mktemp("hostile-places")
    cities = [
        import_place(
            sync_engine,
            root / str(index),
            f"hostile-{index}",
            name,
            [name],
            [[name, NAMES[(index + 1) % len(NAMES)]]],
            100.0 + 0.1 * index,
        )
        for index, name in enumerate(NAMES)
    ]
    empty = import_place(
        sync_engine, root / "empty", EMPTY_CITY, "Thị trấn Trống", ["Phường Trống"], [[]], 99.0
    )
    yield {"cities": cities, "empty": empty}
    remove_places(sync_engine, [city["slug"] for city in cities] + [EMPTY_CITY])


@pytest.fixture(scope="module")
def hostile_projects(places: dict[str, Any], sync_engine: Engine) -> dict[int, str]:
    """An upgrading project in each hostile city's first settlement, named with its payload
    (stored as a client could send it); ward id -> name."""
    named = {}
    with sync_engine.begin() as connection:
        for index, city in enumerate(places["cities"]):
            ward = city["wards"][0]
            connection.execute(
                text(
                    "INSERT INTO cdf_projects (city_id, settlement_id, name, kind, status, "
                    "budget_cdf_loan, budget_grant, geom) "
                    "SELECT s.city_id, s.id, :name, 'drain', 'building', 3000000, 1000000, "
                    "ST_PointOnSurface(s.geom) FROM settlements s "
                    "WHERE s.ward_id = :ward ORDER BY s.code LIMIT 1"
                ),
                {"name": NAMES[index], "ward": ward["id"]},
            )
            named[ward["id"]] = NAMES[index]
    return named  # removed with their cities


@pytest.fixture(scope="module")
def answer_labels(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A forms directory with hostile answer labels, and those labels."""
    directory = tmp_path_factory.mktemp("hostile-forms") / "forms"
    return directory, hostile_forms(directory)


@pytest.fixture(scope="module")
def hostile_client(
    database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    answer_labels: tuple[Path, dict[str, Any]],
    admin_token: str,
) -> Iterator[TestClient]:
    """The app with the hostile forms, signed in as a national admin, and a CSP nonce on each
    request as the CSP middleware sets it (kept if that middleware has set one already)."""
    settings = Settings(
        database_url=database_url,
        forms_dir=answer_labels[0],
        media_dir=tmp_path_factory.mktemp("media"),
    )
    app = create_app(settings)

    @app.middleware("http")
    async def nonce(request: Request, call_next: RequestResponseEndpoint) -> Response:
        if not getattr(request.state, "csp_nonce", ""):
            request.state.csp_nonce = TEST_NONCE
        return await call_next(request)

    with TestClient(app, headers=bearer(admin_token)) as client:
        yield client


def map_data(page: str) -> dict[str, Any]:
    """The JSON data block of a map page (the only place data lives)."""
    blocks = DATA_BLOCK.findall(page)
    assert len(blocks) == 1, "one JSON data block"
    data: dict[str, Any] = json.loads(blocks[0])
    return data


def page_nonce(response: Any) -> str:
    """The nonce the response's scripts must carry (the CSP header's, when one is sent)."""
    policy = response.headers.get("content-security-policy", "")
    found = re.search(r"'nonce-([^']+)'", policy)
    return found.group(1) if found else TEST_NONCE


def check_page(response: Any, title: str) -> dict[str, Any]:
    """A map page drew, its data are only in the JSON block, its template parts hold none."""
    assert response.status_code == 200, response.text[:2000]
    page = response.text
    assert "uid=" not in page, "a name ran as a template (the output of `id` is in the page)"
    data = map_data(page)
    assert data["title"] == title
    skeleton = DATA_BLOCK.sub("", page)
    assert TITLE.findall(skeleton) == [html.escape(title)]
    # The data block cannot be closed early: its JSON has no raw < > &.
    assert not re.search(r"[<>&\u2028\u2029]", DATA_BLOCK.findall(page)[0])
    template_parts = TITLE.sub("", skeleton)
    for marker in MARKERS:
        assert marker not in template_parts, marker
    assert INLINE_HANDLER.search(page) is None, "no inline event handler"
    nonce = page_nonce(response)
    for tag in re.findall(r"<script\b[^>]*>", page):
        assert f'nonce="{nonce}"' in tag, tag
    return data


def check_data(
    data: dict[str, Any],
    wards: list[str],
    settlements: list[str],
    labels: dict[str, dict[str, str]],
) -> None:
    """Names and answer labels arrive in the data exactly as stored."""
    assert [f["properties"]["name"] for f in data["wards"]["features"]] == wards
    assert sorted(f["properties"]["name"] for f in data["settlements"]["features"]) == sorted(
        settlements
    )
    for style in POINT_STYLES:
        items = data["legend"]["indicators"][style.key]["items"]
        shown = [label for _, label in items[: len(style.values)]]
        assert shown == [labels[style.key][value] for value in style.values]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("index", range(len(NAMES)))
def test_hostile_names_on_map_pages(
    hostile_client: TestClient,
    places: dict[str, Any],
    answer_labels: tuple[Path, dict[str, Any]],
    hostile_projects: dict[int, str],
    index: int,
    language: str,
) -> None:
    city = places["cities"][index]
    ward = city["wards"][0]
    labels = answer_labels[1]
    response = hostile_client.get(f"/maps/cities/{city['slug']}?lang={language}")
    # Names in titles as typed, each isolated (FSI ... PDI) when it could reorder the title.
    title = translate("map_page.city_title", language, city=isolated(city["city"]))
    data = check_page(response, title)
    check_data(data, [ward["name"]], ward["settlements"], labels)

    response = hostile_client.get(f"/maps/wards/{ward['id']}?lang={language}")
    title = translate(
        "map_page.ward_title", language, ward=isolated(ward["name"]), city=isolated(city["city"])
    )
    data = check_page(response, title)
    check_data(data, [ward["name"]], ward["settlements"], labels)
    popups = [f["properties"] for f in data["settlements"]["features"]]
    assert all(p["ward"] == ward["name"] for p in popups)
    projects = [f["properties"] for f in data["projects"]["features"]]
    assert [p["name"] for p in projects] == [hostile_projects[ward["id"]]]
    assert projects[0]["settlement"] in ward["settlements"]


def pdf_words(tmp_path: Path, content: bytes) -> str:
    """The text of a PDF in drawing order (pdftotext -raw), as `flat` makes it."""
    path = tmp_path / "page.pdf"
    path.write_bytes(content)
    words = subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    return flat(words, whole=True)


def flat(value: str, whole: bool = False) -> str:
    """NFC, runs of white space as one space, and (unless `whole`) cut at the first
    bidirectional control: pdftotext reorders the letters after one (Unicode bidi)."""
    value = unicodedata.normalize("NFC", value)
    controls = [value.index(c) for c in BIDI_CONTROLS if c in value]
    value = value[: min(controls)] if controls and not whole else value
    value = "".join(c for c in value if unicodedata.category(c) != "Cf")
    return " ".join(value.split())


@pytest.mark.parametrize("index", range(len(NAMES)))
def test_hostile_names_on_print_maps(
    hostile_client: TestClient,
    places: dict[str, Any],
    answer_labels: tuple[Path, dict[str, Any]],
    hostile_projects: dict[int, str],
    index: int,
    tmp_path: Path,
) -> None:
    city = places["cities"][index]
    ward = city["wards"][0]
    response = hostile_client.get(
        f"/maps/wards/{ward['id']}.pdf?indicator=insecure_tenure&orientation=portrait"
    )
    assert response.status_code == 200, response.text
    words = pdf_words(tmp_path, response.content)
    # Names wrap over lines (at spaces, or inside a word too long), never cut: compared
    # without white space.
    joined = "".join(words.split())
    title = f"{ward['name']}, {city['city']}"
    assert "".join(flat(title).split()) in joined  # the title, whole on the page
    # The table (the map's labels are outlined, so not text in the PDF).
    for name in ward["settlements"]:
        assert "".join(flat(name).split()) in joined, name
    for label in answer_labels[1]["tenure"].values():  # the legend
        assert "".join(flat(label).split()) in joined, label
    # The projects' table: names whole, wrapped over lines if need be.
    assert "".join(flat(hostile_projects[ward["id"]]).split()) in joined
    if "$" in city["city"] or "{" in city["city"]:
        png = hostile_client.get(f"/maps/wards/{ward['id']}.png?lang=en&size=A3")
        assert png.status_code == 200, png.text
        assert png.content.startswith(b"\x89PNG")


def test_dollar_names_print_literally(
    hostile_client: TestClient, places: dict[str, Any], tmp_path: Path
) -> None:
    # The city, ward and first settlement are named MATHTEXT, the second one DOLLARS.
    ward = places["cities"][NAMES.index(MATHTEXT)]["wards"][0]
    assert ward["settlements"] == [MATHTEXT, DOLLARS]
    png = hostile_client.get(f"/maps/wards/{ward['id']}.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG"), png.text
    pdf = hostile_client.get(f"/maps/wards/{ward['id']}.pdf")
    assert pdf.status_code == 200, pdf.text
    words = pdf_words(tmp_path, pdf.content)
    assert f"{MATHTEXT}, {MATHTEXT}" in words  # the title
    assert MATHTEXT in words.replace(f"{MATHTEXT}, {MATHTEXT}", "")  # the table
    assert "Hẻm $5 và $10" in words
    assert "Hẻm 5và10" not in words


@pytest.mark.parametrize("language", LANGUAGES)
def test_map_without_settlements(
    hostile_client: TestClient, places: dict[str, Any], language: str, tmp_path: Path
) -> None:
    city = places["empty"]
    ward = city["wards"][0]
    note = translate("web_map.no_settlements", language)
    for url, title in (
        (
            f"/maps/cities/{EMPTY_CITY}?lang={language}",
            translate("map_page.city_title", language, city=city["city"]),
        ),
        (
            f"/maps/wards/{ward['id']}?lang={language}",
            translate("map_page.ward_title", language, ward=ward["name"], city=city["city"]),
        ),
    ):
        data = check_page(hostile_client.get(url), title)
        assert [f["properties"]["name"] for f in data["wards"]["features"]] == [ward["name"]]
        assert data["settlements"]["features"] == []
        assert data["note"] == note
    response = hostile_client.get(f"/maps/wards/{ward['id']}.pdf?lang={language}")
    assert response.status_code == 200
    assert ward["name"] in pdf_words(tmp_path, response.content)


@pytest.mark.parametrize(
    ("url", "language", "message"),
    [
        ("/maps/cities/nowhere", "vi", "Không có thành phố 'nowhere'."),
        ("/maps/cities/nowhere?lang=en", "en", "There is no city 'nowhere'."),
        ("/maps/wards/999999?lang=en", "en", "Ward 999999 was not found."),
        ("/maps/wards/999999", "vi", "Không tìm thấy phường/xã số 999999."),
    ],
)
def test_map_pages_answer_404_as_html(
    hostile_client: TestClient, url: str, language: str, message: str
) -> None:
    response = hostile_client.get(url)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert f'<html lang="{language}">' in response.text
    assert html.escape(message) in response.text
    assert "<script" not in response.text
    # Printed maps keep their JSON errors.
    printed = hostile_client.get("/maps/wards/999999.pdf")
    assert printed.status_code == 404 and printed.json()["code"] == "not_found"
