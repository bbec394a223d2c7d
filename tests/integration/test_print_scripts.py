"""A ward and its settlements named in Khmer, Chinese, Thai and with an emoji, printed through
the API: the PDF embeds the fallback fonts that have their glyphs (never the last-resort
boxes), the Vietnamese text stays in DejaVu Sans and in its order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.integration.test_print import poppler, ward  # noqa: F401 (the fixture)

NAMES = ["新村", "🏠 Xóm Mới", "บ้านใหม่"]


@pytest.fixture
def renamed(sync_engine: Engine, ward: dict[str, Any]) -> Iterator[dict[str, Any]]:  # noqa: F811
    """The ward named in Khmer, its first settlements in Chinese, emoji and Thai; the names
    back afterwards."""
    with sync_engine.begin() as connection:
        settlements = connection.execute(
            text("SELECT id, name FROM settlements WHERE ward_id = :ward ORDER BY id LIMIT 3"),
            {"ward": ward["id"]},
        ).all()
        connection.execute(
            text("UPDATE wards SET name = :name WHERE id = :ward"),
            {"name": "ភូមិ\u200bថ្មី", "ward": ward["id"]},
        )
        for (settlement_id, _), name in zip(settlements, NAMES, strict=False):
            connection.execute(
                text("UPDATE settlements SET name = :name WHERE id = :id"),
                {"name": name, "id": settlement_id},
            )
    try:
        yield ward
    finally:
        with sync_engine.begin() as connection:
            connection.execute(
                text("UPDATE wards SET name = :name WHERE id = :ward"),
                {"name": ward["name"], "ward": ward["id"]},
            )
            for settlement_id, name in settlements:
                connection.execute(
                    text("UPDATE settlements SET name = :name WHERE id = :id"),
                    {"name": name, "id": settlement_id},
                )


def test_a_ward_named_in_khmer_prints_with_its_fallback_fonts(
    client: TestClient, renamed: dict[str, Any], tmp_path: Path
) -> None:
    response = client.get(f"/maps/wards/{renamed['id']}.pdf?size=A4&orientation=landscape")
    assert response.status_code == 200, response.text
    path = tmp_path / "ward.pdf"
    path.write_bytes(response.content)
    fonts = {line.split()[0].split("+")[-1] for line in poppler("pdffonts", path).splitlines()[2:]}
    for font in ("NotoSansKhmer-Bold", "DroidSansFallback", "Symbola", "NotoSansThai-Regular"):
        assert font in fonts, fonts
    assert "DejaVuSans" in fonts and "DejaVuSans-Bold" in fonts
    assert not any("LastResort" in font for font in fonts), fonts
    words = poppler("pdftotext", path)
    assert "新村" in words and "Xóm Mới" in words and "Điểm ưu tiên" in words


def test_readiness_names_no_missing_print_font(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["print_fonts"] == "ok"
