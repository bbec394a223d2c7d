"""Names in scripts DejaVu Sans lacks (Khmer, Cham, Thai, Chinese, emoji) print with a fallback
font, never as empty boxes; Vietnamese keeps DejaVu Sans; a right-to-left or bidi-control name
never reorders the Vietnamese text around it."""

from __future__ import annotations

import dataclasses
import subprocess
import unicodedata
import warnings
from pathlib import Path

import pytest

from app.geo import print_layout
from app.geo.print_map import render_print_map
from app.geo.settlement_print import render_settlement_print
from tests.unit.test_print_map import ward_page
from tests.unit.test_settlement_print import settlement_page

KHMER = "ភូមិ\u200bថ្មី"  # "new village", with the zero-width space Khmer writes between words
CHINESE = "新村"
EMOJI = "🏠 Xóm Mới"
THAI = "บ้านใหม่"
CHAM = "ꨀꨁꨂ"
# The fonts (as pdffonts names their subsets) that have those glyphs.
FALLBACKS = {
    KHMER: "NotoSansKhmer",
    CHINESE: "DroidSansFallback",
    EMOJI: "Symbola",
    THAI: "NotoSansThai",
    CHAM: "NotoSansCham",
}


def pdf_fonts(tmp_path: Path, content: bytes) -> set[str]:
    """The embedded fonts' names, without their subset prefix (ABCDEF+) or style."""
    path = tmp_path / "fonts.pdf"
    path.write_bytes(content)
    lines = subprocess.run(
        ["pdffonts", str(path)], capture_output=True, check=True, text=True
    ).stdout.splitlines()[2:]
    return {line.split()[0].split("+")[-1].removesuffix("-Regular") for line in lines}


def raw_text(tmp_path: Path, content: bytes) -> str:
    """The PDF's text in drawing order, without white space (pdftotext splits words around
    the zero-width marks)."""
    path = tmp_path / "raw.pdf"
    path.write_bytes(content)
    text = subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    return "".join(text.split())


def rendered_without_missing_glyphs(render: object, *args: object) -> bytes:
    """Render, failing on any warning (matplotlib warns "Glyph N (...) missing from
    font(s) DejaVu Sans." and draws a box or its last-resort font's glyph)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return render(*args)  # type: ignore[operator, no-any-return]


def mixed_ward() -> object:
    page = ward_page()
    settlements = [dict(settlement) for settlement in page.settlements]
    settlements[0]["name"] = f"{CHINESE} {THAI}"
    settlements[1]["name"] = f"{EMOJI} {CHAM}"
    return dataclasses.replace(page, ward_name=KHMER, settlements=settlements)


@pytest.mark.parametrize("output", ["pdf", "png"])
def test_a_ward_named_in_other_scripts_prints_every_glyph(tmp_path: Path, output: str) -> None:
    content = rendered_without_missing_glyphs(
        render_print_map, mixed_ward(), "A4", "landscape", output
    )
    if output == "png":
        assert content.startswith(b"\x89PNG")
        return
    fonts = {font.removesuffix("-Bold") for font in pdf_fonts(tmp_path, content)}
    assert set(FALLBACKS.values()) <= fonts, fonts
    assert "DejaVuSans" in fonts  # the Vietnamese text
    assert not any("LastResort" in font for font in fonts), fonts  # its boxes
    text = raw_text(tmp_path, content)
    assert "TamKỳ" in text and "Điểmưutiên" in text


def test_vietnamese_alone_still_prints_in_dejavu_sans_only(tmp_path: Path) -> None:
    content = rendered_without_missing_glyphs(
        render_print_map, ward_page(), "A4", "landscape", "pdf"
    )
    assert pdf_fonts(tmp_path, content) == {"DejaVuSans", "DejaVuSans-Bold"}


def test_a_settlement_named_in_khmer_prints_its_map_and_table(tmp_path: Path) -> None:
    page = dataclasses.replace(settlement_page(8), settlement_name=f"{KHMER} {EMOJI}")
    households = [dict(household) for household in page.households]
    households[0]["name"] = f"{THAI} {CHINESE}"
    page = dataclasses.replace(page, households=households)
    content = rendered_without_missing_glyphs(render_settlement_print, page, "A4", "portrait")
    fonts = pdf_fonts(tmp_path, content)
    assert {"NotoSansKhmer-Bold", "Symbola", "NotoSansThai", "DroidSansFallback"} <= fonts, fonts
    assert not any("LastResort" in font for font in fonts), fonts


@pytest.mark.parametrize(
    "ward_name",
    [
        "שלום",  # Hebrew: the title's first strong letter made it a right-to-left line
        "\u202eabc",  # RIGHT-TO-LEFT OVERRIDE: reversed everything after it
        "مرحبا 3",
    ],
)
def test_a_right_to_left_name_leaves_the_title_in_order(tmp_path: Path, ward_name: str) -> None:
    page = dataclasses.replace(ward_page(), ward_name=ward_name, city_name="Hà Nội Tam Kỳ")
    content = rendered_without_missing_glyphs(render_print_map, page, "A4", "landscape", "pdf")
    text = raw_text(tmp_path, content)
    assert "HàNộiTamKỳ" in text, text[:200]
    # The name before the city, as the Vietnamese title reads ("{ward}, {city}").
    name = "".join(c for c in ward_name if unicodedata.bidirectional(c) in ("L", "R", "AL"))
    drawn = text.index("HàNộiTamKỳ")
    assert all(text.rfind(letter, 0, drawn) >= 0 for letter in name), text[:200]


def test_isolated_changes_only_right_to_left_texts() -> None:
    assert print_layout.isolated("Phường Hòa Thuận") == "Phường Hòa Thuận"
    assert print_layout.isolated(KHMER) == KHMER
    assert print_layout.isolated("שלום") == "\u2068שלום\u2069"
    assert print_layout.isolated("\u202eabc") == "\u2068\u202eabc\u202c\u2069"


@pytest.mark.parametrize(
    "word", [KHMER.replace("\u200b", "") * 12, THAI * 12, "🏠\ufe0f" * 30, "👨\u200d👩" * 20]
)
def test_a_long_name_in_another_script_is_cut_between_its_clusters(word: str) -> None:
    lines = print_layout.wrap(word, 9.0, 40.0)
    assert len(lines) > 1 and "".join(lines) == word
    for line in lines[1:]:
        # No line starts with a vowel sign, a subscript or the letter a joiner binds.
        assert not unicodedata.category(line[0]).startswith("M"), lines
        assert line[0] != "\u200d", lines
    for line in lines[:-1]:
        assert line[-1] not in "\u200d\u17d2", lines


def test_print_fonts_are_installed() -> None:
    assert print_layout.missing_print_fonts() == []


SKIN_TONE = "👋🏽"  # a hand and its skin tone: one emoji
FLAG = "🇻🇳"  # two regional indicators: one flag


@pytest.mark.parametrize("word", [SKIN_TONE * 40, FLAG * 40, "X" + FLAG * 40])
def test_a_long_name_of_emoji_is_cut_between_whole_emoji(word: str) -> None:
    """A skin tone began a line without its hand, a flag was cut into two letters."""
    lines = print_layout.wrap(word, 9.0, 40.0)
    assert len(lines) > 1 and "".join(lines) == word
    lead = 1 if word.startswith("X") else 0
    for line in lines[1:]:
        assert not "\U0001f3fb" <= line[0] <= "\U0001f3ff", lines
    if FLAG in word:  # every line but the first holds whole flags from its start
        assert all(len(line) % 2 == 0 for line in lines[1:]), lines
        assert (len(lines[0]) - lead) % 2 == 0, lines
