"""TextLines (app/geo/text_lines.py) writes a PDF's lines from private parts of matplotlib's
backend: the same words at the same places as matplotlib's own Text, Vietnamese, hostile and
numbers alike, on every upgrade; the PNG path draws them through the public renderer."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from app.geo import print_layout
from tests.hostile import DOLLARS, HTML_SCRIPT, TEMPLATE_CODE

LINES = [
    "Nguyễn Thị Ánh Tuyết",
    "Giếng khoan ở sân",
    "2026-11-25",
    "4982",
    "7",
    TEMPLATE_CODE,
    DOLLARS,
    HTML_SCRIPT,
    "Ỷ Ữ ỡ ậ ẫ",
    'AVATAR Tô Yến, P. Lộc "Wa"',
]


def words_with_boxes(tmp_path: Path, content: bytes) -> list[tuple[str, float, float, float]]:
    """(line, xMin, xMax, yMax) of each line pdftotext reads, in points from the top."""
    path = tmp_path / "lines.pdf"
    path.write_bytes(content)
    html = subprocess.run(
        ["pdftotext", "-bbox-layout", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    import re
    from html import unescape

    found = []
    for attributes, body in re.findall(r"<line ([^>]*)>(.*?)</line>", html, re.S):
        box = dict(re.findall(r'(\w+)="([\d.]+)"', attributes))
        words = " ".join(unescape(word) for word in re.findall(r">([^<]*)</word>", body))
        found.append((words, float(box["xMin"]), float(box["xMax"]), float(box["yMax"])))
    return found


@pytest.mark.parametrize("align", ["left", "center", "right"])
@pytest.mark.parametrize("bold", [False, True])
def test_same_words_at_the_same_places_as_matplotlib_text(
    tmp_path: Path, align: str, bold: bool
) -> None:
    """Left: matplotlib's Text, one per line; right: one TextLines; the same lines, the
    same anchors (x apart by a fixed offset): pdftotext reads the same words at the same
    x (within a point) and heights."""
    buffer = io.BytesIO()
    with matplotlib.rc_context({"font.family": "DejaVu Sans", "pdf.fonttype": 3}):
        figure = Figure(figsize=(16.54, 11.69))
        flow = print_layout.Flow(figure, 0, 1190, 842, 0)
        tops = [800 - 20 * index for index in range(len(LINES))]
        for top, line in zip(tops, LINES, strict=True):
            flow.text(300, top, line, 9, ha=align, fontweight="bold" if bold else None)
        flow.lines(
            [(900, top, line) for top, line in zip(tops, LINES, strict=True)], 9, align, bold
        )
        with PdfPages(buffer) as pdf:
            pdf.savefig(figure)
            pdf.savefig(figure)  # a second page reuses the file's laid-out lines
    found = words_with_boxes(tmp_path, buffer.getvalue())
    assert len(found) == 4 * len(LINES), found
    first_page = found[: 2 * len(LINES)]
    own = sorted((y, words, x0, x1) for words, x0, x1, y in first_page if x0 < 600)
    fast = sorted((y, words, x0, x1) for words, x0, x1, y in first_page if x0 >= 600)
    for (y_own, words_own, x0_own, x1_own), (y_fast, words_fast, x0_fast, x1_fast) in zip(
        own, fast, strict=True
    ):
        assert words_fast == words_own
        assert abs(x0_fast - 600 - x0_own) < 1 and abs(x1_fast - 600 - x1_own) < 1, words_own
        assert abs(y_fast - y_own) < 1.5, words_own
    assert found[2 * len(LINES) :] == found[: 2 * len(LINES)]


def test_png_and_extents_without_the_pdf_path() -> None:
    """Agg draws each line through its public draw_text; the extent covers every line."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    figure = Figure(figsize=(3, 2), dpi=100)
    flow = print_layout.Flow(figure, 0, 216, 144, 0)
    artist = flow.lines([(10, 130, "Số 12"), (10, 110, "Giếng"), (10, 90, "")], 9, "left")
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    assert np.asarray(canvas.buffer_rgba())[..., 0].min() < 100  # something dark drawn
    extent = artist.get_window_extent()
    assert extent.x0 == pytest.approx(10 / 72 * 100, abs=0.5)
    assert extent.y1 > (130 - 9) / 72 * 100 and extent.y0 < (110 - 9) / 72 * 100
    assert artist.get_text() == "Số 12\nGiếng\n"
