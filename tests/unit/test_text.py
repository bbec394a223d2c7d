"""A name put into a sentence carries no direction past its end, whatever controls it holds."""

from __future__ import annotations

import unicodedata

import pytest

from app.text import isolated

PDF, PDI, FSI, RLO, RLE, LRI = "\u202c", "\u2069", "\u2068", "\u202e", "\u202b", "\u2066"


def _depths(text: str) -> tuple[int, int]:
    """(embeddings, isolates) left open at the end of `text`, by UAX #9's pairing."""
    opened: list[str] = []
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("LRE", "RLE", "LRO", "RLO"):
            opened.append("e")
        elif kind in ("LRI", "RLI", "FSI"):
            opened.append("i")
        elif kind == "PDF" and opened and opened[-1] == "e":
            opened.pop()
        elif kind == "PDI" and "i" in opened:
            while opened.pop() != "i":
                pass
    return opened.count("e"), opened.count("i")


@pytest.mark.parametrize(
    "name",
    [
        PDI + RLO + "ABC",  # its own PDI closed the isolate around it at once
        PDI + PDI + RLO + "Xóm",
        PDF + RLO + "Xóm",
        RLO + RLO + RLE + "Xóm",
        LRI + RLO + "Xóm" + PDI + RLO,
        "שלום" + PDI,
        FSI + "Hòa" + PDF + PDI + PDI,
    ],
)
def test_a_hostile_name_is_closed_within_its_isolate(name: str) -> None:
    placed = isolated(name)
    assert placed.startswith(FSI) and placed.endswith(PDI)
    # Inside the outer isolate nothing is left open, and nothing closes the outer one early.
    inner = placed[1:-1]
    assert _depths(inner) == (0, 0), repr(placed)
    assert _depths(FSI + inner) == (0, 1), repr(placed)
    # The name's letters are all there, in their order.
    letters = [c for c in name if unicodedata.category(c) != "Cf"]
    assert [c for c in placed if unicodedata.category(c) != "Cf"] == letters


def test_plain_names_are_unchanged() -> None:
    for name in ("Phường Hòa Thuận", "Tam Kỳ", "ភូមិថ្មី", "新村", "🏠 Xóm Mới", ""):
        assert isolated(name) == name
