"""Printed ward maps through the API and the CLI: real PDFs checked with poppler."""

from __future__ import annotations

import argparse
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.cli import cmd_print_maps, ward_file_part
from app.forms.registry import FormRegistry
from app.settings import Settings
from tests.integration.test_maps_web import load_households, personal_values


@pytest.fixture
def ward(sync_engine: Engine) -> dict[str, Any]:
    """The ward with the most settlements in the sample city, with their names."""
    with sync_engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT w.id, w.name, array_agg(s.name) AS settlements FROM wards w "
                "JOIN settlements s ON s.ward_id = w.id GROUP BY w.id "
                "ORDER BY count(*) DESC, w.id LIMIT 1"
            )
        ).one()
    return dict(row._mapping)


def poppler(tool: str, path: Path, *args: str) -> str:
    return subprocess.run(
        [tool, *args, str(path)] + (["-"] if tool == "pdftotext" else []),
        capture_output=True,
        check=True,
        text=True,
    ).stdout


def test_ward_pdf(
    client: TestClient,
    sync_engine: Engine,
    forms: FormRegistry,
    ward: dict[str, Any],
    tmp_path: Path,
) -> None:
    items = load_households(sync_engine, forms, 500)
    response = client.get(f"/maps/wards/{ward['id']}.pdf?size=A3&orientation=landscape")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    path = tmp_path / "ward.pdf"
    path.write_bytes(response.content)
    info = poppler("pdfinfo", path)
    assert re.search(r"Pages:\s+1\n", info) and "(A3)" in info
    width, height = info.split("Page size:")[1].split("pts")[0].split(" x ")
    assert (round(float(width)), round(float(height))) == (1191, 842)
    page = tmp_path / "page"
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(path), str(page)], check=True)
    assert (tmp_path / "page-1.png").stat().st_size > 1000
    words = poppler("pdftotext", path)
    assert ward["name"] in words  # with its diacritics
    for name in ward["settlements"]:
        assert name in words
    assert "Điểm ưu tiên" in words
    for value in personal_values(items):
        assert value not in words


def test_ward_png_and_indicator(client: TestClient, ward: dict[str, Any], tmp_path: Path) -> None:
    response = client.get(
        f"/maps/wards/{ward['id']}.png?size=A4&orientation=portrait&indicator=floods_often"
    )
    assert response.status_code == 200
    assert response.content.startswith(b"\x89PNG")
    response = client.get(f"/maps/wards/{ward['id']}.pdf?indicator=no_piped_water&lang=en")
    path = tmp_path / "water.pdf"
    path.write_bytes(response.content)
    assert "No piped water" in poppler("pdftotext", path)


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("?size=A5", 422),
        ("?orientation=sideways", 422),
        ("?indicator=swimming_pools", 422),
        ("?lang=fr", 422),
    ],
)
def test_bad_print_parameters(
    client: TestClient, ward: dict[str, Any], query: str, status: int
) -> None:
    assert client.get(f"/maps/wards/{ward['id']}.pdf{query}").status_code == status


def test_unknown_ward(client: TestClient) -> None:
    assert client.get("/maps/wards/999999.pdf").status_code == 404
    assert client.get("/maps/wards/999999.png").status_code == 404


def test_cli_writes_one_pdf_per_ward(
    settings: Settings, clean_surveys: None, sync_engine: Engine, tmp_path: Path
) -> None:
    with sync_engine.connect() as connection:
        wards = connection.execute(text("SELECT count(*) FROM wards")).scalar_one()
    args = argparse.Namespace(
        city="tam-ky",
        out=str(tmp_path / "maps"),
        size="A4",
        orientation="landscape",
        indicator="priority",
        lang="vi",
    )
    # In a thread of its own: the browser tests' Playwright keeps an event loop in this one,
    # and the command runs its own (asyncio.run), as it does from a shell.
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(cmd_print_maps, settings, args).result() == 0
        written = sorted((tmp_path / "maps").glob("*.pdf"))
        assert len(written) == wards
        assert written[0].read_bytes().startswith(b"%PDF")
        args.city = "nowhere"
        assert pool.submit(cmd_print_maps, settings, args).result() == 2


@pytest.mark.parametrize(
    ("code", "expected"),
    [("W01", "W01"), ("a/b", "a-b-7"), ("../../evil", "evil-7"), ("..", "ward-7"),
     ("Phường 3", "Ph-ng-3-7")],
)  # fmt: skip
def test_a_ward_code_makes_one_file_name_inside_the_folder(code: str, expected: str) -> None:
    """A code imported from a boundaries file as `a/b` made print-maps write under a folder
    that did not exist (the whole city's run stopped), `../../evil` outside its folder."""
    name = ward_file_part({"code": code, "id": 7})
    assert name == expected
    assert "/" not in name and not name.startswith(".")
