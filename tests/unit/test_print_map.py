"""The pure print function: a small hand-made ward rendered to PDF and PNG."""

from __future__ import annotations

import dataclasses
import io
import re
import subprocess
import warnings
from pathlib import Path

import pytest

from app.geo import print_map
from app.geo.print_map import (
    MAX_TITLE_LINES,
    PrintInput,
    nice_length,
    paper_inches,
    render_print_map,
    title_lines,
    utm_epsg,
)
from app.geo.styles import class_colour, value_class
from tests.hostile import DOLLARS, MATHTEXT, TEMPLATE_CODE

SHARES = {
    "insecure_tenure": 0.8,
    "no_piped_water": 0.5,
    "no_own_toilet": 0.25,
    "floods_often": None,
}


def _square(west: float, south: float, size: float) -> dict[str, object]:
    east, north = west + size, south + size
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def ward_page(indicator: str = "priority", language: str = "vi") -> PrintInput:
    """A ward of 1 km with two settlements and a few households."""
    return PrintInput(
        ward_name="Phường Hòa Thuận",
        city_name="Tam Kỳ",
        ward_geometry=_square(108.46, 15.56, 0.01),
        settlements=[
            {
                "geometry": _square(108.462, 15.562, 0.002),
                "name": "Xóm Chài ven sông",
                "label_lon": 108.463,
                "label_lat": 15.563,
                "score": 72.5,
                "shares": SHARES,
                "households": 3,
                "rank_in_ward": 1,
            },
            {
                "geometry": _square(108.466, 15.566, 0.002),
                "name": "Kiệt 62 Trần Cao Vân",
                "label_lon": 108.467,
                "label_lat": 15.567,
                "score": None,
                "shares": {},
                "households": 0,
                "rank_in_ward": None,
            },
        ],
        households=[
            (108.4625, 15.5625, "well"),
            (108.4630, 15.5630, "piped"),
            (108.4635, 15.5628, None),
        ],
        indicator=indicator,
        indicator_labels={
            "insecure_tenure": {"vi": "Không có giấy tờ an toàn", "en": "Insecure tenure"},
            "no_piped_water": {"vi": "Không có nước máy", "en": "No piped water"},
            "no_own_toilet": {"vi": "Không có nhà vệ sinh riêng", "en": "No own toilet"},
            "floods_often": {"vi": "Ngập thường xuyên", "en": "Floods often"},
        },
        indicator_short={
            "insecure_tenure": {"vi": "Giấy tờ", "en": "Tenure"},
            "no_piped_water": {"vi": "Nước", "en": "Water"},
            "no_own_toilet": {"vi": "Vệ sinh", "en": "Toilet"},
            "floods_often": {"vi": "Ngập", "en": "Flood"},
        },
        point_style="water" if indicator == "no_piped_water" else None,
        point_labels={"water": {"piped": "Nước máy vào nhà", "well": "Giếng"}},
        households_total=3,
        data_date="2026-11-25",
        language=language,
    )


def pdf_text(tmp_path: Path, content: bytes) -> tuple[str, str]:
    path = tmp_path / "page.pdf"
    path.write_bytes(content)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True, text=True).stdout
    return text, info


def page_size(info: str) -> tuple[int, int]:
    """Rounded (width, height) in points from pdfinfo's output."""
    width, height = info.split("Page size:")[1].split("pts")[0].split(" x ")
    return round(float(width)), round(float(height))


def test_pdf_page_has_title_names_table_and_size(tmp_path: Path) -> None:
    content = render_print_map(ward_page(), "A4", "landscape", "pdf")
    assert content.startswith(b"%PDF")
    text, info = pdf_text(tmp_path, content)
    assert "Phường Hòa Thuận, Tam Kỳ" in text
    assert "Xóm Chài ven sông" in text and "Kiệt 62 Trần Cao Vân" in text
    assert "Điểm ưu tiên" in text and "Ghi chú" in text and "25/11/2026" in text
    assert "1 km" in text or "500 m" in text or "250 m" in text  # the scale bar
    assert page_size(info) == (842, 595) and "(A4)" in info


def test_indicator_page_in_english_a3_portrait(tmp_path: Path) -> None:
    content = render_print_map(ward_page("no_piped_water", "en"), "A3", "portrait", "pdf")
    text, info = pdf_text(tmp_path, content)
    assert "No piped water" in text and "Households: Water" in text and "Notes" in text
    assert "Giếng" in text  # answer labels come from the caller (the form)
    assert page_size(info) == (842, 1191)


def test_png_is_200_dpi() -> None:
    content = render_print_map(ward_page(), "A4", "portrait", "png")
    assert content.startswith(b"\x89PNG")
    width = int.from_bytes(content[16:20], "big")
    height = int.from_bytes(content[20:24], "big")
    assert abs(width - 1654) <= 1 and abs(height - 2339) <= 1  # 210 x 297 mm at 200 dpi


def test_helpers() -> None:
    assert paper_inches("A3", "landscape") == pytest.approx((420 / 25.4, 297 / 25.4))
    with pytest.raises(ValueError):
        paper_inches("A5", "landscape")
    assert utm_epsg(108.47, 15.57) == 32649
    assert utm_epsg(105.8, 21.0) == 32648
    assert nice_length(3900) == 1000 and nice_length(700) == 200
    assert [value_class(v) for v in (None, 0, 19.9, 20, 99, 100)] == [None, 0, 0, 1, 4, 4]
    assert class_colour(None) == "#bdbdbd"
    with pytest.raises(ValueError):
        render_print_map(ward_page(), "A4", "landscape", "svg")


def raw_text(tmp_path: Path, content: bytes) -> str:
    """The PDF's text in drawing order, white space runs as one space."""
    path = tmp_path / "raw.pdf"
    path.write_bytes(content)
    text = subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    return " ".join(text.split())


def hostile_page() -> PrintInput:
    """The small ward with `$` mathtext and template text in every name and label."""
    page = ward_page("no_piped_water")
    settlements = [dict(settlement) for settlement in page.settlements]
    settlements[0]["name"] = MATHTEXT
    settlements[1]["name"] = DOLLARS
    return dataclasses.replace(
        page,
        ward_name=DOLLARS,
        city_name=MATHTEXT,
        settlements=settlements,
        point_labels={"water": {"piped": "Nước $máy$ {{ x }}", "well": "$\\sqrt{x}$ giếng"}},
    )


@pytest.mark.parametrize("output", ["pdf", "png"])
def test_dollars_and_mathtext_print_literally(tmp_path: Path, output: str) -> None:
    content = render_print_map(hostile_page(), "A4", "landscape", output)
    if output == "png":
        assert content.startswith(b"\x89PNG")
        return
    text = raw_text(tmp_path, content)
    assert f"{DOLLARS}, {MATHTEXT}" in text  # the title: ward, city
    assert "Hẻm 5và10" not in text
    assert MATHTEXT in text.replace(f"{DOLLARS}, {MATHTEXT}", "")  # the table
    assert text.count(DOLLARS) == 2  # the title and the table
    assert "Nước $máy$ {{ x }}" in text and "$\\sqrt{x}$ giếng" in text  # the legend


@pytest.mark.parametrize("output", ["pdf", "png"])
def test_control_characters_in_names_print_as_spaces(tmp_path: Path, output: str) -> None:
    # A tab or a carriage return in a name (a spreadsheet's formula guard) has no glyph:
    # matplotlib warned "Glyph 9 missing from font(s)" and drew a box in the title and table.
    page = hostile_page()
    settlements = [dict(settlement) for settlement in page.settlements]
    settlements[0]["name"] = "Tổ\t5 =1"
    settlements[1]["name"] = "\r=1 Hẻm\x0b2"
    page = dataclasses.replace(
        page, ward_name="Phường\t1", city_name="Tam\x00Kỳ \ud800", settlements=settlements
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        content = render_print_map(page, "A4", "landscape", output)
    if output == "pdf":
        text = raw_text(tmp_path, content)
        assert "Phường 1, Tam Kỳ" in text and "Tổ 5 =1" in text and "Hẻm 2" in text


def test_texts_stay_literal_when_another_print_restores_the_rc() -> None:
    """Two prints render at once and rcParams are global: a print leaving its rc_context may
    turn mathtext back on while the other draws. Each text's own flag must hold."""
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.text import Text

    with matplotlib.rc_context({"text.parse_math": True}):
        figure = Figure(figsize=paper_inches("A4", "landscape"))
        title = f"{DOLLARS}, {MATHTEXT}"
        print_map._draw_page(figure, hostile_page(), "A4", "landscape", title, "2026-11-25")
        print_map._literal_text(print_map._page_texts(figure))
        cells = [
            cell.get_text()
            for axes in figure.axes
            for table in axes.tables
            for cell in table.get_celld().values()
        ]
        hostile = [t for t in figure.findobj(Text) + cells if "$" in t.get_text()]
        assert len(hostile) >= 5  # title, two table cells, two legend labels
        assert not any(text.get_parse_math() for text in hostile)
        figure.savefig(io.BytesIO(), format="png", dpi=40)  # mathtext would fail here


def test_long_names_stay_on_the_page(tmp_path: Path) -> None:
    name = f"{TEMPLATE_CODE} " * 8
    width = paper_inches("A4", "portrait")[0] * 72 * 0.96
    lines, size = title_lines(name, 16.0, width, 9.0)
    assert size == 9.0 and len(lines) == MAX_TITLE_LINES and lines[-1].endswith("…")
    assert name.startswith(" ".join(lines)[:-1])
    assert title_lines("Phường 1, Tam Kỳ", 16.0, width, 9.0) == (["Phường 1, Tam Kỳ"], 16.0)
    page = dataclasses.replace(ward_page(), ward_name=name, city_name="Tam Kỳ")
    content = render_print_map(page, "A4", "portrait", "pdf")
    path = tmp_path / "long.pdf"
    path.write_bytes(content)
    assert "W {{ cycler" in raw_text(tmp_path, content)
    # Every word within the page's width (595 pt): the title was not cut at the edges.
    box = subprocess.run(
        ["pdftotext", "-bbox", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    for line in box.splitlines():
        if line.strip().startswith("<word "):
            x_min = float(line.split('xMin="')[1].split('"')[0])
            x_max = float(line.split('xMax="')[1].split('"')[0])
            assert x_min >= 0 and x_max <= 595.3, line


def test_a_sheet_is_dated_by_vietnams_calendar() -> None:
    # At 18:00 UTC it is already the next day in Vietnam: a sheet printed then said "printed
    # on the 4th" under "data as of the 5th" (the server's clock runs in UTC).
    from datetime import UTC, date, datetime

    from app import vietnam

    evening = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)
    assert vietnam.today_in_vietnam(evening) == date(2026, 12, 5)
    assert vietnam.vietnam_day(evening) == date(2026, 12, 5)
    assert vietnam.today_in_vietnam(datetime(2026, 12, 4, 16, 59, tzinfo=UTC)) == date(2026, 12, 4)


@pytest.mark.parametrize("language", ["vi", "en"])
def test_a_ward_without_settlements_says_so_with_its_households(
    tmp_path: Path, language: str
) -> None:
    # A city imported with wards only: surveys, no settlement. The table printed a row
    # "Not surveyed yet | 0" under a source line counting 4 households.
    page = dataclasses.replace(
        ward_page(language=language), settlements=[], households_total=12_345
    )
    text, _ = pdf_text(tmp_path, render_print_map(page, "A4", "landscape", "pdf"))
    flat = " ".join(text.split())
    # Thousands as the language writes them (English printed "12.345 households").
    said = {
        "vi": "Chưa có khu dân cư nào được vẽ ở khu vực này; đã khảo sát 12.345 hộ trong phường.",
        "en": "No settlement has been mapped in this area yet; 12,345 households surveyed in the "
        "ward.",
    }
    assert said[language] in flat
    no_data = {"vi": "Chưa có khảo sát", "en": "Not surveyed yet"}[language]
    assert not re.search(rf"{no_data}\s+0\b", text)


def pdf_title(tmp_path: Path, content: bytes) -> str:
    """The PDF's Title as pdfinfo reads it (its whole value, however many lines)."""
    path = tmp_path / "info.pdf"
    path.write_bytes(content)
    info = subprocess.run(
        ["pdfinfo", "-enc", "UTF-8", str(path)], capture_output=True, check=True, text=True
    ).stdout
    found = re.search(r"^Title:\s*(.*?)\n(?=[A-Z][A-Za-z ]*:)", info, re.S | re.M)
    assert found is not None, info
    return found.group(1)


def test_the_document_title_is_one_line_of_the_names(tmp_path: Path) -> None:
    # A name pasted with line breaks (a spreadsheet cell) made a Title of several lines: a
    # file manager or a PDF reader's tab showed the first only, and some split the file's
    # metadata there.
    page = dataclasses.replace(
        ward_page(), ward_name="Phường\nHòa\r\nThuận", city_name="Tam\u2028Kỳ\t\x00"
    )
    title = pdf_title(tmp_path, render_print_map(page, "A4", "landscape", "pdf"))
    assert "\n" not in title and "\r" not in title and "\u2028" not in title
    assert "Phường Hòa Thuận, Tam Kỳ" in title


ISO_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


@pytest.mark.parametrize(
    ("language", "data_day", "printed"),
    [("vi", "07/12/2026", "08/12/2026"), ("en", "7 Dec 2026", "8 Dec 2026")],
)
def test_days_are_written_as_the_language_writes_them(
    tmp_path: Path, language: str, data_day: str, printed: str
) -> None:
    """The data's day (subtitle, sources) and the printing day printed 2026-12-07: 07/12/2026
    in Vietnamese, 7 Dec 2026 in English."""
    page = dataclasses.replace(
        ward_page(language=language), data_date="2026-12-07", printed_on="2026-12-08"
    )
    path = tmp_path / "days.pdf"
    path.write_bytes(render_print_map(page, "A4", "landscape", "pdf"))
    raw = subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    text = " ".join(raw.split())
    assert text.count(data_day) == 2 and printed in text, text
    assert not ISO_DAY.findall(text), ISO_DAY.findall(text)
