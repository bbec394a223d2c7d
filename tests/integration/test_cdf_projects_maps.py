"""The CDF's upgrading projects on the web maps and the printed ward map (sample boundaries,
sample projects, a few hundred approved households so settlements have a priority rank)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.forms.registry import FormRegistry
from app.i18n import translate
from app.services.cdf_projects_sample import SAMPLE_PROJECTS, load_sample_projects
from app.settings import Settings
from tests.auth import bearer, make_token, make_user
from tests.integration.test_maps_hostile import check_page, flat
from tests.integration.test_maps_web import load_households

CITY = "tam-ky"


@pytest.fixture
def sample(
    client: TestClient, sync_engine: Engine, forms: FormRegistry
) -> Iterator[dict[str, Any]]:
    """The sample projects and 300 households; the projects' names, wards and settlements."""
    load_households(sync_engine, forms, 300)
    with sync_engine.begin() as connection:
        connection.execute(text("DELETE FROM cdf_projects"))
        city_id = connection.execute(
            text("SELECT id FROM cities WHERE slug = :slug"), {"slug": CITY}
        ).scalar_one()
        load_sample_projects(connection, city_id)
        rows = connection.execute(
            text(
                "SELECT p.name, p.code, p.status, s.ward_id, s.name AS settlement, w.code AS ward "
                "FROM cdf_projects p JOIN settlements s ON s.id = p.settlement_id "
                "JOIN wards w ON w.id = s.ward_id ORDER BY p.code"
            )
        ).all()
        empty_ward = connection.execute(
            text(
                "SELECT id FROM wards WHERE city_id = :city AND id NOT IN "
                "(SELECT s.ward_id FROM cdf_projects p JOIN settlements s "
                "ON s.id = p.settlement_id) ORDER BY code LIMIT 1"
            ),
            {"city": city_id},
        ).scalar_one()
    yield {"projects": [dict(r._mapping) for r in rows], "empty_ward": empty_ward}
    with sync_engine.begin() as connection:
        connection.execute(text("DELETE FROM cdf_projects"))


def project_names(data: dict[str, Any]) -> list[str]:
    return sorted(
        f["properties"]["name"] for f in (data["projects"] or {"features": []})["features"]
    )


@pytest.mark.parametrize("language", ["vi", "en"])
def test_city_and_ward_maps_show_the_projects(
    client: TestClient, sample: dict[str, Any], language: str
) -> None:
    projects = sample["projects"]
    page = client.get(f"/maps/cities/{CITY}?lang={language}")
    data = check_page(page, translate("map_page.city_title", language, city="Tam Kỳ"))
    assert project_names(data) == sorted(p["name"] for p in projects)
    assert data["layers"]["projects"] == translate("cdf_project.layer", language)
    legend = data["legend"]["projects"]
    assert legend["title"] == translate("cdf_project.legend", language)
    assert [label for _, label in legend["items"]] == [
        translate(f"cdf_project.status.{s}", language)
        for s in ("proposed", "approved", "building", "done")
    ]
    assert [key for key, _ in data["projectPopupFields"]][:3] == ["name", "kind", "status"]
    shapes = {f["geometry"]["type"] for f in data["projects"]["features"]}
    assert shapes == {"Point", "LineString", "Polygon"}
    first = next(
        f["properties"]
        for f in data["projects"]["features"]
        if f["properties"]["name"] == projects[0]["name"]
    )
    assert first["status"] == translate("cdf_project.status.done", language)
    assert first["budget"] == ("92.000.000" if language == "vi" else "92,000,000")
    assert first["leverage"] == ("1,04" if language == "vi" else "1.04")  # 47/45
    assert first["rank"] != "–"  # the settlement's priority rank in the city
    no_cdf = next(
        f["properties"]
        for f in data["projects"]["features"]
        if f["properties"]["name"] == projects[-1]["name"]
    )
    assert no_cdf["leverage"] == translate("cdf_project.no_cdf_money", language)

    ward_id = projects[0]["ward_id"]
    page = client.get(f"/maps/wards/{ward_id}?lang={language}")
    data = check_page(page, check_title(client, ward_id, language))
    assert project_names(data) == sorted(p["name"] for p in projects if p["ward_id"] == ward_id)

    empty = client.get(f"/maps/wards/{sample['empty_ward']}?lang={language}")
    data = check_page(empty, check_title(client, sample["empty_ward"], language))
    assert data["projects"] is None and data["legend"]["projects"] is None


@pytest.mark.parametrize(
    ("language", "dates", "data_day"),
    [
        ("vi", "01/03/2025 – 20/05/2025", r"\b\d{2}/\d{2}/\d{4}\b"),
        ("en", "1 Mar 2025 – 20 May 2025", r"\b\d{1,2} [A-Z][a-z]{2} \d{4}\b"),
    ],
)
def test_the_maps_write_days_as_the_language_does(
    client: TestClient, sample: dict[str, Any], language: str, dates: str, data_day: str
) -> None:
    """A project's popup said 2025-03-01 – 2025-05-20 and the map's subtitle "data as of
    2026-11-25": 01/03/2025 in Vietnamese, 1 Mar 2025 in English."""
    page = client.get(f"/maps/cities/{CITY}?lang={language}")
    data = check_page(page, translate("map_page.city_title", language, city="Tam Kỳ"))
    first = next(
        f["properties"]
        for f in data["projects"]["features"]
        if f["properties"]["name"] == sample["projects"][0]["name"]
    )
    assert first["dates"] == dates
    assert ("dates", translate("cdf_project.dates", language)) in map(
        tuple, data["projectPopupFields"]
    )
    assert re.search(data_day, data["subtitle"]), data["subtitle"]
    iso = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
    shown = [f["properties"]["dates"] for f in data["projects"]["features"]]
    assert not [text for text in [data["subtitle"], *shown] if iso.search(text)]


def check_title(client: TestClient, ward_id: int, language: str) -> str:
    """A ward map's title."""
    ward = client.get(f"/api/v1/cities/{CITY}/wards").json()
    name = next(w["name"] for w in ward if w["id"] == ward_id)
    return translate("map_page.ward_title", language, ward=name, city="Tam Kỳ")


def test_ward_leader_sees_their_ward_projects(
    settings: Settings, sample: dict[str, Any], sync_engine: Engine
) -> None:
    projects = sample["projects"]
    ward = projects[0]["ward"]
    token = make_token(
        sync_engine,
        make_user(sync_engine, "projects-map-leader", [("ward_leader", ("ward", ward))]),
    )
    from app.main import create_app

    with TestClient(create_app(settings), headers=bearer(token)) as leader:
        page = leader.get(f"/maps/wards/{projects[0]['ward_id']}")
        assert page.status_code == 200
        data = check_page(page, check_title(leader, projects[0]["ward_id"], "vi"))
        assert project_names(data) == sorted(p["name"] for p in projects if p["ward"] == ward)


def pdf_text(tmp_path: Path, content: bytes) -> str:
    path = tmp_path / "ward.pdf"
    path.write_bytes(content)
    words = subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    return flat(words, whole=True)


@pytest.mark.parametrize("orientation", ["landscape", "portrait"])
def test_ward_print_lists_the_projects(
    client: TestClient, sample: dict[str, Any], tmp_path: Path, orientation: str
) -> None:
    projects = sample["projects"]
    ward_id = projects[0]["ward_id"]
    mine = [p for p in projects if p["ward_id"] == ward_id]
    assert len(mine) == 2
    response = client.get(f"/maps/wards/{ward_id}.pdf?orientation={orientation}")
    assert response.status_code == 200, response.text
    words = pdf_text(tmp_path, response.content)
    assert "Dự án nâng cấp và mức ưu tiên của khu dân cư" in words
    for project in mine:
        # Whole, wrapped over lines if need be (pdftotext may join a wrapped cell's lines
        # with the next cells on the same baseline: every word is there).
        assert all(word in words for word in project["name"].split()), project["name"]
    assert "Lát ngõ, hẻm" in words and "Hoàn thành" in words and "Đang thi công" in words
    assert "92.000.000" in words and "1,04" in words
    assert "P1" in words and "P2" in words
    english = client.get(f"/maps/wards/{ward_id}.pdf?lang=en&orientation={orientation}")
    words = pdf_text(tmp_path, english.content)
    assert "Upgrading projects and the settlements' priority" in words
    assert "Lane paving" in words and "92,000,000" in words and "1.04" in words
    png = client.get(f"/maps/wards/{ward_id}.png?size=A3&orientation={orientation}")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    (tmp_path / f"ward-{orientation}.png").write_bytes(png.content)

    # A ward without projects prints no project table.
    empty = client.get(f"/maps/wards/{sample['empty_ward']}.pdf?orientation={orientation}")
    assert "Dự án nâng cấp" not in pdf_text(tmp_path, empty.content)
    assert len(SAMPLE_PROJECTS) == len(projects)
