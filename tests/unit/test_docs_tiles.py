"""docs/ogc.md says what household vector tiles carry: the attributes of TILE_QUESTIONS, and
that a survey id and select_multiple 0/1 columns are not among them."""

from __future__ import annotations

import re

from app.services.tiles import TILE_QUESTIONS
from app.settings import REPO_ROOT


def test_the_tiles_section_names_exactly_what_household_tiles_carry() -> None:
    text = (REPO_ROOT / "docs" / "ogc.md").read_text(encoding="utf-8")
    section = text[text.index("## Vector tiles") :]
    households = next(line for line in section.split("\n- ") if "Households carry" in line)
    named = set(re.findall(r"`([a-z_]+)`", households))
    assert set(TILE_QUESTIONS) <= named
    assert "No survey id" in households and "no select_multiple 0/1 columns" in households
