"""The settlement meeting map, pure: layout of the map page, the numbered table's pages, names
only when passed, hostile names, and the context-layer hook."""

from __future__ import annotations

import dataclasses
import itertools
import re
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.geo import print_map
from app.geo.print_map import BODY_SIZE
from app.geo.settlement_print import SettlementPrintInput, render_settlement_print
from tests.hostile import DOLLARS, HTML_SCRIPT, MATHTEXT, TEMPLATE_CODE, UNICODE

LONG_NAME = "Khu dân cư ven kênh Phú Lộc nối dài từ cầu Trần Hưng Đạo đến chợ cá Thuận Phước cũ"


def _square(west: float, south: float, size: float) -> dict[str, Any]:
    east, north = west + size, south + size
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def settlement_page(
    count: int = 60, language: str = "vi", names: bool = True
) -> SettlementPrintInput:
    """A 200 m settlement with `count` households, a neighbour, hostile names among them."""
    rng = np.random.default_rng(14)
    points = rng.uniform(0.0001, 0.0017, (count, 2))
    hostile = [TEMPLATE_CODE, MATHTEXT, DOLLARS, HTML_SCRIPT, UNICODE, LONG_NAME]
    households = [
        {
            "lon": 108.462 + float(lon),
            "lat": 15.562 + float(lat),
            "answer": ("piped", "well", "vendor", None)[index % 4],
            "surveyed_on": f"2026-11-{10 + index % 20}",
            "name": (hostile[index] if index < len(hostile) else f"Nguyễn Thị {index + 1}")
            if names
            else None,
        }
        for index, (lon, lat) in enumerate(points)
    ]
    return SettlementPrintInput(
        settlement_name=f"{LONG_NAME} {DOLLARS}",
        ward_name="Phường Hòa Thuận",
        city_name="Tam Kỳ",
        geometry=_square(108.462, 15.562, 0.0018),
        figures={
            "households": count,
            "score": 57.3,
            "rank_in_ward": 2,
            "shares": {"insecure_tenure": 0.4, "no_piped_water": 0.75},
        },
        households=households,
        indicator="no_piped_water",
        indicator_labels={
            "insecure_tenure": {"vi": "Không có giấy tờ an toàn", "en": "Insecure tenure"},
            "no_piped_water": {"vi": "Không có nước máy", "en": "No piped water"},
        },
        answers=[
            ("piped", "#1a9850", "Nước máy vào nhà"),
            ("well", "#fee08b", "Giếng $khoan$ {{ x }}"),
            ("vendor", "#d73027", "Mua nước"),
        ],
        question_label="Nguồn nước chính",
        names=names,
        neighbours=[{"geometry": _square(108.4640, 15.562, 0.0008), "name": TEMPLATE_CODE}],
        data_date="2026-11-25",
        language=language,
    )


def drawn_pages(data: SettlementPrintInput, size: str, orientation: str) -> list[dict[str, Any]]:
    """Each page's bbox, visible texts with extents, and map axes (None on table pages)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    pages: list[dict[str, Any]] = []

    def inspect(figure: Any) -> None:
        renderer = FigureCanvasAgg(figure).get_renderer()
        figure.draw(renderer)
        texts = [
            (text, text.get_window_extent(renderer))
            for text in print_map._page_texts(figure)
            if text.get_visible() and text.get_text().strip()
        ]
        pages.append(
            {
                "bbox": figure.bbox.frozen(),
                "texts": texts,
                "map": figure.axes[0] if figure.axes else None,
            }
        )

    render_settlement_print(data, size, orientation, "pdf", on_page=inspect)
    return pages


def in_no_ward(data: SettlementPrintInput) -> SettlementPrintInput:
    """The same settlement as if it lay in no ward: ranked in its city."""
    figures = {**data.figures, "rank_in_ward": None, "rank_in_city": 17}
    return dataclasses.replace(data, ward_name=None, figures=figures)


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize("orientation", ["landscape", "portrait"])
@pytest.mark.parametrize("size", ["A4", "A3"])
@pytest.mark.parametrize("ward", [True, False], ids=["in_a_ward", "in_no_ward"])
def test_layout(size: str, orientation: str, language: str, ward: bool) -> None:
    data = settlement_page(60, language)
    pages = drawn_pages(data if ward else in_no_ward(data), size, orientation)
    assert len(pages) >= 2 and pages[0]["map"] is not None
    box = pages[0]["map"].get_position()
    assert box.width * box.height >= 0.5
    numbers: list[int] = []
    for index, page in enumerate(pages):
        outside = []
        for text, extent in page["texts"]:
            bbox = page["bbox"]
            assert extent.x0 >= bbox.x0 - 0.5 and extent.x1 <= bbox.x1 + 0.5, text.get_text()
            assert extent.y0 >= bbox.y0 - 0.5 and extent.y1 <= bbox.y1 + 0.5, text.get_text()
            if text.axes is not None and text.axes is page["map"]:
                continue  # the map's own labels: household numbers may crowd
            assert text.get_fontsize() >= BODY_SIZE[size], text.get_text()
            outside.append((text, extent))
        for (a, box_a), (b, box_b) in itertools.combinations(outside, 2):
            overlap_x = min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0)
            overlap_y = min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0)
            assert overlap_x <= 1 or overlap_y <= 1, (index, a.get_text(), b.get_text())
        if index > 0:  # the table: its first column holds the numbers (a line per row)
            cells = [line for t, _ in outside for line in t.get_text().split("\n")]
            numbers += [int(cell) for cell in cells if re.fullmatch(r"\d+", cell)]
    # Every household once in the table, in order; the map shows the same numbers.
    assert [n for n in numbers if n <= 60] == list(range(1, 61))
    # (the map's numbers are one text, a line per household)
    on_map = sorted(
        int(line)
        for t, _ in pages[0]["texts"]
        if t.axes is pages[0]["map"]
        for line in t.get_text().split("\n")
        if re.fullmatch(r"\d+", line)
    )
    assert on_map[-60:] == list(range(1, 61))


def pdf_text(tmp_path: Path, content: bytes) -> str:
    path = tmp_path / "settlement.pdf"
    path.write_bytes(content)
    return subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout


def test_names_only_when_passed_and_hostile_names_print_literally(tmp_path: Path) -> None:
    named = pdf_text(tmp_path, render_settlement_print(settlement_page(12), "A4", "portrait"))
    flat = "".join(named.split())
    for name in (TEMPLATE_CODE, MATHTEXT, DOLLARS, HTML_SCRIPT, LONG_NAME, "Nguyễn Thị 12"):
        assert "".join(name.split()) in flat, name
    assert "Giếng $khoan$ {{ x }}" in named  # an answer label, literal
    assert "Chủ hộ" in named
    plain = settlement_page(12, names=False)
    text = pdf_text(tmp_path, render_settlement_print(plain, "A4", "portrait"))
    assert "Chủ hộ" not in text and "Nguyễn Thị" not in text
    # Even a caller passing names with names=False prints none.
    leaked = dataclasses.replace(plain, households=settlement_page(12).households, names=False)
    assert "Nguyễn Thị" not in pdf_text(tmp_path, render_settlement_print(leaked, "A3"))


def test_png_is_the_map_page_and_no_households_prints() -> None:
    png = render_settlement_print(settlement_page(5), "A4", "landscape", "png")
    assert png.startswith(b"\x89PNG")
    empty = dataclasses.replace(settlement_page(0), figures={"households": 0, "shares": {}})
    content = render_settlement_print(empty, "A4", "landscape", "pdf")
    assert content.startswith(b"%PDF")


def test_streets_around_with_their_attribution(tmp_path: Path) -> None:
    """Context layers (app/geo/context_print.py) under the settlement, named, with the
    data's attribution; none passed, none drawn."""
    from shapely.geometry import LineString

    from app.geo.osm_context import ContextFeature

    street = ContextFeature(
        "road",
        "major",
        "Đường Phan Chu Trinh $1$",
        LineString([(108.4605, 15.5629), (108.4660, 15.5629)]),
    )
    page = dataclasses.replace(
        settlement_page(12),
        context=[street],
        context_attribution="© OpenStreetMap contributors (ODbL)",
    )
    words = pdf_text(tmp_path, render_settlement_print(page, "A4", "landscape"))
    assert "© OpenStreetMap contributors (ODbL)" in words
    assert "Đường Phan Chu Trinh $1$" in words
    bare = pdf_text(tmp_path, render_settlement_print(settlement_page(12), "A4", "landscape"))
    assert "OpenStreetMap" not in bare and "Phan Chu Trinh" not in bare


def test_many_households_numbers_on_the_map_as_text_and_all_rows_in_the_table(
    tmp_path: Path,
) -> None:
    """320 households spread over the settlement: their numbers stay readable on the map
    (vector text in the PDF, each once) and the table lists every one, a row each, in order."""
    count = 320
    page = settlement_page(count, names=False)
    spread = [
        {**household, "lon": 108.462 + 0.0018 * (index % 18) / 18 + 0.00005,
         "lat": 15.562 + 0.0018 * (index // 18) / 18 + 0.00005}
        for index, household in enumerate(page.households)
    ]  # fmt: skip
    page = dataclasses.replace(page, households=spread)
    content = render_settlement_print(page)
    path = tmp_path / "settlement.pdf"
    path.write_bytes(content)
    map_words = subprocess.run(
        ["pdftotext", "-l", "1", "-raw", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout.split()
    assert "Ô" not in map_words  # no grid: the numbers are readable
    on_map = sorted(int(word) for word in map_words if word.isdigit() and 0 < int(word) <= count)
    assert set(range(1, count + 1)) <= set(on_map)
    words = pdf_text(tmp_path, content)
    rows = [int(m) for m in re.findall(r"^(\d+)\b", words, re.MULTILINE) if 0 < int(m) <= count]
    assert sorted(set(rows)) == list(range(1, count + 1))


def test_crowded_numbers_give_way_to_a_lettered_grid() -> None:
    """2,000 households in 200 m: their numbers would overlap, so the map shows a grid's
    letters and row numbers instead, and the table gives each household its square, in
    blocks side by side (vi, portrait: the columns fit twice across)."""
    from app.geo.settlement_print import _letters

    assert [_letters(i) for i in (0, 1, 25, 26, 27)] == ["A", "B", "Z", "AA", "AB"]
    pages = drawn_pages(settlement_page(2000, names=False), "A4", "portrait")
    map_lines = [
        line
        for text, _ in pages[0]["texts"]
        if text.axes is pages[0]["map"]
        for line in text.get_text().split("\n")
    ]
    row_numbers = [int(line) for line in map_lines if line.strip().isdigit()]
    assert row_numbers and max(row_numbers) < 30  # the grid's rows, no household number
    letters = {line for line in map_lines if re.fullmatch(r"[A-Z]", line)}
    assert {"A", "B", "C"} <= letters
    cells = [line for page in pages[1:] for text, _ in page["texts"] for line in
             text.get_text().split("\n")]  # fmt: skip
    squares = [cell for cell in cells if re.fullmatch(r"[A-Z]\d{1,2}", cell)]
    assert len(squares) == 2000
    assert {square[0] for square in squares} <= letters
    assert 2 <= len(pages) - 1 <= 2000 / 60  # two blocks of rows a page


def _number_boxes(page: dict[str, Any]) -> list[tuple[str, Any]]:
    """Each household number on the map page with the box its digits cover (display units:
    the advance widths, baseline to the figures' height)."""
    from matplotlib.transforms import Bbox

    from app.geo.print_layout import WIDTH_SAFETY, text_width
    from app.geo.text_lines import TextLines

    boxes = []
    for text, _ in page["texts"]:
        if text.axes is not page["map"] or not isinstance(text, TextLines):
            continue
        scale = text.figure.dpi / 72
        points = text._display_points()
        for (x, y), (_, _, number) in zip(points, text._placed, strict=True):
            width = text_width(number, text._size, True) / WIDTH_SAFETY * scale
            boxes.append(
                (number, Bbox.from_extents(x, y, x + width, y + 0.73 * text._size * scale))
            )
    return boxes


@pytest.mark.parametrize("count", [40, 90, 160])
def test_household_numbers_neither_overlap_nor_touch(tmp_path: Path, count: int) -> None:
    """Numbers close together ran into each other ("89" beside "4" read "894", an 8 sat on
    25): each number is placed where it is clear of every other by a gap, or the map falls
    back to the grid; pdftotext reads every number on its own."""
    page = settlement_page(count, names=False)
    pages = drawn_pages(page, "A4", "landscape")
    boxes = _number_boxes(pages[0])
    if boxes:  # numbers, not the grid
        assert sorted(int(number) for number, _ in boxes) == list(range(1, count + 1))
        gap = 0.2 * pages[0]["map"].figure.dpi / 72  # points, at least
        for (first, a), (second, b) in itertools.combinations(boxes, 2):
            apart = max(a.x0 - b.x1, b.x0 - a.x1, a.y0 - b.y1, b.y0 - a.y1)
            assert apart >= gap, (first, second)
        path = tmp_path / "settlement.pdf"
        path.write_bytes(render_settlement_print(page))
        bbox = subprocess.run(
            ["pdftotext", "-l", "1", "-bbox", str(path), "-"],
            capture_output=True, check=True, text=True,
        ).stdout  # fmt: skip
        frame = pages[0]["map"].get_window_extent()
        right = frame.x1 * 72 / pages[0]["map"].figure.dpi  # the map's right edge, points
        on_map = [
            int(word)
            for x_max, word in re.findall(r'xMax="([\d.]+)"[^>]*>([^<]*)</word>', bbox)
            if word.isdigit() and float(x_max) <= right
        ]
        # Two numbers read as one ("894") would lose both: every number is a word of its own.
        assert set(range(1, count + 1)) <= set(on_map)
        assert not [n for n in on_map if n > count and n not in (25, 50, 100, 200)]  # scale


@pytest.mark.parametrize("language", ["vi", "en"])
def test_a_settlement_without_surveys_says_so_on_its_one_page(
    tmp_path: Path, language: str
) -> None:
    """It said "Numbers on the map = rows of the table of 0 households on the next pages"
    on a PDF of one page."""
    empty = dataclasses.replace(
        settlement_page(0, language), figures={"households": 0, "shares": {}}
    )
    path = tmp_path / "empty.pdf"
    path.write_bytes(render_settlement_print(empty, "A4", "landscape", "pdf"))
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True, text=True)
    assert "Pages:           1" in info.stdout
    text = " ".join(pdf_text(tmp_path, path.read_bytes()).split())
    said = {
        "vi": "Chưa có hộ nào trong khu dân cư này được khảo sát.",
        "en": "No household in this settlement has been surveyed yet.",
    }
    assert said[language] in text
    assert "0 hộ ở trang sau" not in text and "0 households on the next pages" not in text


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize("orientation", ["landscape", "portrait"])
def test_figures_carry_their_own_unit(tmp_path: Path, language: str, orientation: str) -> None:
    """The figures beside the map: a percent sign on the shares only; the households
    surveyed, the score and the rank stand under a heading that claims no unit (a "%"
    heading over the whole column made 60 households read as 60 %)."""
    from app.i18n import translate

    page = settlement_page(60, language)
    path = tmp_path / "figures.pdf"
    path.write_bytes(render_settlement_print(page, "A4", orientation))
    layout = subprocess.run(
        ["pdftotext", "-l", "1", "-layout", str(path), "-"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout

    def value(label: str) -> str:
        # The table's row: the label, a gap, one word (and its unit) at the line's end (the
        # subtitle names the indicator too, and may run on after a gap).
        found = re.findall(rf"{re.escape(label)}\s{{2,}}(\S+(?: %)?)\s*$", layout, re.M)
        assert len(found) == 1, (label, found, layout)
        return str(found[0])

    def text(key: str) -> str:
        return translate(f"settlement_print.{key}", language)

    # The values' heading (its words may wrap over two lines): no unit of its own.
    lines = layout.splitlines()
    at = next(i for i, line in enumerate(lines) if re.search(rf"{text('indicator')}\s{{2,}}", line))
    heading = value(text("indicator")).split()
    while len(heading) < len(text("value").split()):
        at += 1
        heading.append(lines[at].split()[-1])
    assert " ".join(heading) == text("value") and "%" not in text("value")
    assert value(text("households")) == "60"
    assert value(text("score")) == "57"
    assert value(text("rank")) == "2"
    shares = {"insecure_tenure": "40 %", "no_piped_water": "75 %"}
    for key, shown in shares.items():
        assert value(page.indicator_labels[key][language]) == shown, key


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("vi", ("không thuộc phường/xã nào", "Hạng trong thành phố")),
        ("en", ("in no ward", "Rank in the city")),
    ],
)
def test_a_settlement_in_no_ward_says_so_and_is_ranked_in_its_city(
    tmp_path: Path, language: str, words: tuple[str, str]
) -> None:
    content = render_settlement_print(
        in_no_ward(settlement_page(20, language, names=False)), "A4", "landscape", "pdf"
    )
    path = tmp_path / "settlement.pdf"
    path.write_bytes(content)
    layout = subprocess.run(
        ["pdftotext", "-layout", "-l", "1", str(path), "-"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    flat = "".join(layout.split())
    in_no_ward_words, rank = ("".join(w.split()) for w in words)
    assert in_no_ward_words in flat and f"{rank}17" in flat, layout
    assert "PhườngHòaThuận" not in flat and "Hạngtrongphường" not in flat
    assert "Rankintheward" not in flat


def test_the_document_title_is_one_line_of_the_name(tmp_path: Path) -> None:
    page = dataclasses.replace(settlement_page(3), settlement_name="Tổ\n5\r\nHẻm\u2029Cũ")
    path = tmp_path / "info.pdf"
    path.write_bytes(render_settlement_print(page, "A4", "portrait"))
    info = subprocess.run(
        ["pdfinfo", "-enc", "UTF-8", str(path)], capture_output=True, check=True, text=True
    ).stdout
    found = re.search(r"^Title:\s*(.*?)\n(?=[A-Z][A-Za-z ]*:)", info, re.S | re.M)
    assert found is not None, info
    title = found.group(1)
    assert "\n" not in title and "\r" not in title and "\u2029" not in title
    assert "Tổ 5 Hẻm Cũ" in title


ISO_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


@pytest.mark.parametrize(
    ("language", "data_day", "printed", "surveyed"),
    [
        ("vi", "07/12/2026", "08/12/2026", "10/11/2026"),
        ("en", "7 Dec 2026", "8 Dec 2026", "10 Nov 2026"),
    ],
)
def test_days_are_written_as_the_language_writes_them(
    tmp_path: Path, language: str, data_day: str, printed: str, surveyed: str
) -> None:
    """The data's day, the printing day and each household's survey day printed 2026-12-07:
    07/12/2026 in Vietnamese, 7 Dec 2026 in English."""
    data = dataclasses.replace(
        settlement_page(12, language), data_date="2026-12-07", printed_on="2026-12-08"
    )
    text = " ".join(pdf_text(tmp_path, render_settlement_print(data, "A4", "portrait")).split())
    assert data_day in text and printed in text and surveyed in text, text
    assert not ISO_DAY.findall(text), ISO_DAY.findall(text)
