"""A settlement's meeting map through the API: numbered households on the map and in the table,
names only for the roles that may see them (checked with poppler on real PDFs)."""

from __future__ import annotations

import re
import subprocess
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import Engine, text

from app.forms.registry import FormRegistry
from app.i18n import translate
from tests.auth import bearer, make_token, make_user
from tests.hostile import DOLLARS, HTML_SCRIPT, MATHTEXT, TEMPLATE_CODE
from tests.integration.test_maps_web import load_households

HOSTILE_NAMES = (TEMPLATE_CODE, MATHTEXT, DOLLARS, HTML_SCRIPT)
# Who asks, and what they get with ?names=true (without names: everyone who reads the ward).
ROLES: dict[str, tuple[list[tuple[str, Any]], int, int]] = {
    "leader": ([("ward_leader", ("ward", "W03"))], 200, 200),
    "city_admin": ([("city_admin", ("city", "tam-ky"))], 200, 200),
    "national_admin": ([("national_admin", None)], 200, 200),
    "planner": ([("planner", ("city", "tam-ky"))], 200, 403),
    "other_leader": ([("ward_leader", ("ward", "W01"))], 404, 404),
    "volunteer": ([("volunteer", ("ward", "W03"))], 404, 404),
}


@pytest.fixture
def busy_settlement(client: TestClient, sync_engine: Engine, forms: FormRegistry) -> dict[str, Any]:
    """The W03 settlement with the most of 600 sample households; three of them renamed
    with hostile names. Its households in survey order, with their names."""
    load_households(sync_engine, forms, 600)
    with sync_engine.begin() as connection:
        settlement = connection.execute(
            text(
                "SELECT s.id, s.name FROM settlements s JOIN wards w ON w.id = s.ward_id "
                "JOIN household_surveys h ON h.settlement_id = s.id WHERE w.code = 'W03' "
                "GROUP BY s.id ORDER BY count(*) DESC, s.id LIMIT 1"
            )
        ).one()
        ids = (
            connection.execute(
                text(
                    "SELECT id FROM household_surveys WHERE settlement_id = :s AND status = "
                    "'approved' ORDER BY collected_at, id"
                ),
                {"s": settlement.id},
            )
            .scalars()
            .all()
        )
        for survey_id, name in zip(ids, HOSTILE_NAMES, strict=False):
            connection.execute(
                text(
                    "UPDATE household_surveys SET answers = jsonb_set(answers, '{head_name}', "
                    "to_jsonb(CAST(:name AS text))) WHERE id = :id"
                ),
                {"id": survey_id, "name": name},
            )
        rows = connection.execute(
            text(
                "SELECT answers->>'head_name' AS name, answers->>'head_phone' AS phone, "
                "answers->>'water_source' AS water FROM household_surveys "
                "WHERE settlement_id = :s AND status = 'approved' ORDER BY collected_at, id"
            ),
            {"s": settlement.id},
        ).all()
    assert len(rows) >= 8
    return {"id": settlement.id, "name": settlement.name, "households": rows}


def pdf_text(tmp_path: Path, content: bytes, *args: str) -> str:
    path = tmp_path / "settlement.pdf"
    path.write_bytes(content)
    return subprocess.run(
        ["pdftotext", *args, str(path), "-"], capture_output=True, check=True, text=True
    ).stdout


def test_settlement_pdf_numbers_and_names(
    client: TestClient, busy_settlement: dict[str, Any], tmp_path: Path
) -> None:
    url = f"/maps/settlements/{busy_settlement['id']}.pdf"
    households = busy_settlement["households"]
    response = client.get(f"{url}?indicator=no_piped_water&names=true&size=A3")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    info = pdf_text(tmp_path, response.content, "-l", "1")  # renders: not a broken file
    assert busy_settlement["name"] in info
    path = tmp_path / "settlement.pdf"
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(
        ["pdfinfo", str(path)], capture_output=True, check=True, text=True
    ).stdout).group(1))  # fmt: skip
    assert pages >= 2  # the map, then the table
    # Every page renders (poppler), and the map page shows the households' answer colours.
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(path), str(tmp_path / "page")], check=True)
    assert len(list(tmp_path.glob("page-*.png"))) == pages
    first = sorted(tmp_path.glob("page-*.png"))[0]
    colours = {colour for _, colour in Image.open(first).convert("RGB").getcolors(1 << 20) or []}
    assert (0x1A, 0x98, 0x50) in colours or (0xD7, 0x30, 0x27) in colours  # piped / vendor
    table = pdf_text(tmp_path, response.content, "-f", "2", "-raw")
    flat = "".join(table.split())
    for name in [h.name for h in households]:
        assert "".join(name.split()) in flat, name  # hostile names whole, as text
    for phone in [h.phone for h in households if h.phone]:
        assert phone not in flat  # names only: never the phone
    # Numbered 1..n in survey order: row k carries household k's name (the page's layout
    # keeps a row on one line; the hostile names first wrap over several).
    layout = pdf_text(tmp_path, response.content, "-f", "2", "-layout")
    rows = {int(n): rest for n, rest in re.findall(r"^\s*(\d+)\s+(\S.*)$", layout, re.M)}
    for index in range(len(HOSTILE_NAMES) + 1, len(households) + 1):
        assert rows[index].startswith(households[index - 1].name), (index, rows[index])

    # Without names (the default): the same numbers, no name at all.
    plain = client.get(f"{url}?indicator=no_piped_water&lang=en")
    assert plain.status_code == 200
    text_all = pdf_text(tmp_path, plain.content, "-raw")
    flat_all = "".join(text_all.split())
    assert "Surveyed households" in text_all and "Without names" in text_all
    for household in households:
        assert "".join(household.name.split()) not in flat_all
    assert "Head of household" not in text_all


def test_settlement_png_and_bad_parameters(
    client: TestClient, busy_settlement: dict[str, Any]
) -> None:
    url = f"/maps/settlements/{busy_settlement['id']}"
    png = client.get(f"{url}.png?orientation=portrait&indicator=no_own_toilet")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    for query in ("?indicator=priority", "?size=A5", "?names=perhaps", "?lang=fr"):
        assert client.get(f"{url}.pdf{query}").status_code == 422, query
    assert client.get("/maps/settlements/999999.pdf").status_code == 404


@pytest.mark.parametrize("role", list(ROLES))
def test_names_by_role(
    client: TestClient,
    sync_engine: Engine,
    busy_settlement: dict[str, Any],
    role: str,
    tmp_path: Path,
) -> None:
    grants, plain_status, names_status = ROLES[role]
    user = make_user(sync_engine, f"settlement-print-{role.replace('_', '-')}", grants)
    headers = bearer(make_token(sync_engine, user))
    url = f"/maps/settlements/{busy_settlement['id']}.pdf"
    names = [h.name for h in busy_settlement["households"]]
    plain = client.get(url, headers=headers)
    assert plain.status_code == plain_status, plain.text
    if plain_status == 200:
        flat = "".join(pdf_text(tmp_path, plain.content, "-raw").split())
        assert not any("".join(name.split()) in flat for name in names)
    for language, words in (("vi", "họ tên"), ("en", "household names")):
        named = client.get(f"{url}?names=true&lang={language}", headers=headers)
        assert named.status_code == names_status, named.text
        if names_status == 403:
            assert named.headers["content-type"].startswith("application/json")
            assert words in named.json()["detail"]
        if names_status == 200:
            flat = "".join(pdf_text(tmp_path, named.content, "-raw").split())
            assert all("".join(name.split()) in flat for name in names)


GROW_SETTLEMENT = """
WITH sample AS MATERIALIZED (
  SELECT row_number() OVER (ORDER BY collected_at, id) - 1 AS k, *
  FROM household_surveys WHERE settlement_id = :s AND status = 'approved'
)
INSERT INTO household_surveys (id, city_id, ward_id, settlement_id, form_id, form_version,
  collector, collected_at, received_at, status, flags, gps_accuracy_m, answers, content_hash,
  geom)
SELECT gen_random_uuid(), h.city_id, h.ward_id, h.settlement_id, h.form_id, h.form_version,
  h.collector, h.collected_at + make_interval(days => 30, secs => n), now(), h.status,
  h.flags, h.gps_accuracy_m,
  jsonb_set(h.answers, '{head_name}', to_jsonb('Hộ ' || n || ' Trần Thị Ánh')),
  md5(n::text || ':' || h.id::text),
  ST_Translate(h.geom, (random() - 0.5) * 0.0004, (random() - 0.5) * 0.0004)
FROM generate_series(1, :count) n
JOIN sample h ON h.k = n % (SELECT count(*) FROM sample)
"""
SQUARE_ROW = re.compile(r"(?:^|\s)(\d+)\s+([A-Z]{1,2}\d{1,2})\s+(\S.*?)(?=\s{2,}|$)", re.M)


def test_settlement_of_thousands_prints_every_household(
    client: TestClient, sync_engine: Engine, busy_settlement: dict[str, Any], tmp_path: Path
) -> None:
    """A settlement grown to 3,000 households (copies of its surveys, a name each): the
    numbers no longer fit on the map, so it shows a lettered grid and the table, in blocks
    side by side, gives every household once, in survey order, with its square and name;
    the pages are as many as the rows need, and every one renders."""
    with sync_engine.begin() as connection:
        connection.execute(
            text(GROW_SETTLEMENT),
            {"s": busy_settlement["id"], "count": 3000 - len(busy_settlement["households"])},
        )
        names = (
            connection.execute(
                text(
                    "SELECT answers->>'head_name' FROM household_surveys WHERE settlement_id = "
                    ":s AND status = 'approved' ORDER BY collected_at, id"
                ),
                {"s": busy_settlement["id"]},
            )
            .scalars()
            .all()
        )
    assert len(names) == 3000
    url = f"/maps/settlements/{busy_settlement['id']}"
    response = client.get(f"{url}.pdf?indicator=no_piped_water&names=true&lang=en")
    assert response.status_code == 200, response.text
    path = tmp_path / "settlement.pdf"
    path.write_bytes(response.content)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True, text=True)
    pages = int(re.search(r"Pages:\s+(\d+)", info.stdout).group(1))  # type: ignore[union-attr]
    # Two blocks of about 37 rows a page (A4 landscape, with names): 41 pages of table.
    assert 1 + 3000 / 90 <= pages <= 1 + 3000 / 60, pages
    subprocess.run(["pdftoppm", "-r", "20", "-png", str(path), str(tmp_path / "page")], check=True)
    assert len(list(tmp_path.glob("page-*.png"))) == pages

    map_page = pdf_text(tmp_path, response.content, "-l", "1", "-raw")
    assert "Too many households to number on the map" in map_page
    assert "1 2 3 4" not in map_page  # no household numbers on the map
    table = pdf_text(tmp_path, response.content, "-f", "2", "-layout")
    rows = [(int(n), square, rest) for n, square, rest in SQUARE_ROW.findall(table)]
    assert sorted(number for number, _, _ in rows) == list(range(1, 3001))
    for number, square, rest in rows:
        name = names[number - 1]
        if name.startswith("Hộ "):  # the copies' names (the sample's may wrap or be hostile)
            assert rest.startswith(name), (number, square, rest)
    # Every name whole (the long ones wrapped over lines: read in the page's own order).
    flat = "".join(pdf_text(tmp_path, response.content, "-f", "2", "-raw").split())
    missing = [name for name in set(names) if "".join(name.split()) not in flat]
    assert not missing, missing[:5]

    plain = client.get(f"{url}.pdf?indicator=no_piped_water")
    assert plain.status_code == 200
    plain_text = pdf_text(tmp_path, plain.content, "-raw")
    assert "Trần Thị Ánh" not in plain_text and "Chủ hộ" not in plain_text
    png = client.get(f"{url}.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")


# The busy settlement's answers made so that some shares end in half a percent (1 and 5 of
# 8 households: 12.5 %, 62.5 %) and one indicator was answered by nobody (no share at all).
# question -> (answers of the first eight surveys, the rest unanswered); None: nobody.
HALVES: dict[str, list[str] | None] = {
    "electricity": ["neighbour_meter"] + ["own_meter"] * 7,
    "sanitation": ["shared_toilet"] * 5 + ["own_toilet"] * 3,
    "waste": None,
}


def whole_percent(share: float) -> int:
    """A share as a meeting reads it: whole percent, half up (1 of 8 households: 13 %)."""
    return int((Decimal(str(share)) * 100).quantize(Decimal(1), ROUND_HALF_UP))


def printed_figures(tmp_path: Path, content: bytes, labels: list[str]) -> dict[str, str]:
    """label -> the value printed beside it in the map page's figures (spaces removed)."""
    layout = pdf_text(tmp_path, content, "-l", "1", "-layout")
    found: dict[str, str] = {}
    for label in labels:
        # The table's row: the label, a gap, the value at the line's end (the subtitle
        # names the indicator too, but between single spaces).
        values = re.findall(rf"{re.escape(label)}\s{{2,}}(\S.*?)\s*$", layout, re.M)
        assert len(values) == 1, (label, values, layout)
        found[label] = "".join(values[0].split())
    return found


def expected_figures(
    row: dict[str, Any], definitions: list[dict[str, Any]], language: str
) -> dict[str, str]:
    """What the figures should read, from the indicators API's row of the settlement."""
    no_data = "".join(translate("settlement_print.no_data", language).split())
    expected = {translate("settlement_print.households", language): str(row["households"])}
    for definition in definitions:
        share = row["shares"][definition["key"]]
        expected[definition["label"][language]] = (
            no_data if share is None else f"{whole_percent(share)}%"
        )
    return expected


def test_settlement_figures_are_the_indicators_apis(
    client: TestClient, sync_engine: Engine, busy_settlement: dict[str, Any], tmp_path: Path
) -> None:
    """The shares printed beside the map are the indicators API's for the settlement, in
    both languages and orientations: whole percent rounded half up, 'no data' in words for
    an indicator nobody answered and for a settlement nobody was surveyed in (no 0 %, no
    division by zero)."""
    settlement = busy_settlement["id"]
    with sync_engine.begin() as connection:
        ids = (
            connection.execute(
                text(
                    "SELECT id FROM household_surveys WHERE settlement_id = :s "
                    "ORDER BY collected_at, id"
                ),
                {"s": settlement},
            )
            .scalars()
            .all()
        )
        for question, answers in HALVES.items():
            for index, survey_id in enumerate(ids):
                value = answers[index] if answers and index < len(answers) else None
                connection.execute(
                    text(
                        "UPDATE household_surveys SET answers = CASE "
                        "WHEN CAST(:value AS text) IS NULL THEN answers - CAST(:question AS text) "
                        "ELSE jsonb_set(answers, ARRAY[CAST(:question AS text)], "
                        "to_jsonb(CAST(:value AS text))) END WHERE id = :id"
                    ),
                    {"question": question, "value": value, "id": survey_id},
                )
        ward, empty = connection.execute(
            text(
                "SELECT s.ward_id, min(o.id) FROM settlements s JOIN settlements o "
                "ON o.ward_id = s.ward_id AND o.id <> s.id WHERE s.id = :s GROUP BY s.ward_id"
            ),
            {"s": settlement},
        ).one()
        connection.execute(
            text("DELETE FROM household_surveys WHERE settlement_id = :s"), {"s": empty}
        )
    report = client.get(f"/api/v1/wards/{ward}/indicators")
    assert report.status_code == 200, report.text
    definitions = report.json()["indicators"]
    rows = {row["id"]: row for row in report.json()["settlements"]}
    shares = rows[settlement]["shares"]
    assert shares["no_own_electricity"] == 0.125 and shares["no_own_toilet"] == 0.625
    assert shares["no_waste_collection"] is None
    assert rows[empty]["households"] == 0
    assert set(rows[empty]["shares"].values()) == {None}

    for place in (settlement, empty):
        for language in ("vi", "en"):
            expected = expected_figures(rows[place], definitions, language)
            for orientation in ("landscape", "portrait"):
                response = client.get(
                    f"/maps/settlements/{place}.pdf?lang={language}&orientation={orientation}"
                )
                assert response.status_code == 200, response.text
                printed = printed_figures(tmp_path, response.content, list(expected))
                assert printed == expected, (place, language, orientation)
            if place == empty:
                page = pdf_text(tmp_path, response.content, "-l", "1")
                assert translate("settlement_print.no_households", language) in " ".join(
                    page.split()
                )
                assert not re.search(r"\b(nan|inf)\b", page, re.I)  # no 0 / 0 printed
        png = client.get(f"/maps/settlements/{place}.png")
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
