"""Text that fits on a printed page: wrapping by measured width, columns that flow top to
bottom, legends and tables drawn in points (app/geo/print_map.py, settlement_print.py).

matplotlib's own `Axes.table` and `legend` neither wrap a cell nor tell how tall they will
be before drawing: a long settlement name was cut and the ward map's side panel could not
know how many rows fit. Here every text is measured with the font's metrics before it is
placed (the same metrics the PDF and PNG backends use), so a name wraps inside its column,
a table stops at the room left (the caller says how many more there are), and no two texts
overlap. Positions are points from the page's bottom-left corner. Pure: no data access.
"""

from __future__ import annotations

import functools
import logging
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from app.text import isolated as isolated  # print modules take it from here

log = logging.getLogger(__name__)

# The print font, then the fonts matplotlib takes a glyph from when DejaVu Sans has none
# (font fallback, matplotlib >= 3.6: each character from the first family that has it), so a
# name in Khmer (Khmer Krom in Sóc Trăng, Trà Vinh), Cham, Thai, Tai Viet, Chinese (Hoa
# communities), Arabic, Hebrew or with an emoji prints instead of empty boxes. DejaVu Sans
# comes first: Vietnamese prints exactly as before. Each family's Debian package is what
# scripts/system-deps.sh installs; a missing one is logged and shown by /readyz
# (print_fonts: missing), since the print would silently show boxes.
PRINT_FONTS: dict[str, str] = {
    "DejaVu Sans": "fonts-dejavu-core",
    "Noto Sans Khmer": "fonts-noto-core",
    "Noto Sans Cham": "fonts-noto-core",
    "Noto Sans Thai": "fonts-noto-core",
    "Noto Sans Lao": "fonts-noto-core",
    "Noto Sans Tai Viet": "fonts-noto-core",
    "Noto Sans Arabic": "fonts-noto-core",
    "Noto Sans Hebrew": "fonts-noto-core",
    "Droid Sans Fallback": "fonts-droid-fallback",  # CJK in 4 MB (Noto CJK: 56 MB)
    "Symbola": "fonts-symbola",  # monochrome emoji: colour (CBDT) fonts do not draw
}
FONT: list[str] = list(PRINT_FONTS)  # a font family list for FontProperties and rcParams
LEADING = 1.25  # line height / font size
# Widths measured with the font's metrics; the drawn text may be a hair wider (hinting).
WIDTH_SAFETY = 1.03


def printable(text: str) -> str:
    """A data text as a page prints it: a control character (a tab, a carriage return, a NUL:
    the font has no glyph for them, and matplotlib warns and draws a box) becomes a space,
    line breaks stay; a lone surrogate (it cannot be encoded) becomes U+FFFD."""
    if text.isprintable():
        return text
    # Only these: a non-breaking space, a soft hyphen or a zero-width joiner (names pasted
    # from a word processor or a chat) are not "printable" either, and print as they should.
    return "".join(_PRINTED.get(unicodedata.category(c), c) if c != "\n" else c for c in text)


_PRINTED = {"Cc": " ", "Cs": "\ufffd"}  # control characters; lone surrogates


_fonts_lock = threading.Lock()
_fonts_rescanned = False


def missing_print_fonts() -> list[str]:
    """The print fonts matplotlib cannot find, with their Debian packages ("Symbola
    (fonts-symbola)"); empty when all are there. matplotlib keeps its list of the system's
    fonts on disk: fonts installed after it was written are looked for once more."""
    global _fonts_rescanned
    from matplotlib import font_manager

    manager = font_manager.fontManager
    with _fonts_lock:
        missing = _missing_families(manager)
        if missing and not _fonts_rescanned:
            _fonts_rescanned = True
            known = {entry.fname for entry in manager.ttflist}
            for path in font_manager.findSystemFonts():
                if path not in known:
                    try:
                        manager.addfont(path)
                    except (OSError, RuntimeError, ValueError):  # a broken font file
                        continue
            missing = _missing_families(manager)
    return [f"{family} ({PRINT_FONTS[family]})" for family in missing]


def _missing_families(manager: Any) -> list[str]:
    known = {entry.name for entry in manager.ttflist}
    return [family for family in PRINT_FONTS if family not in known]


@functools.cache
def check_print_fonts() -> None:
    """Make every print font known to matplotlib (once a process; prints call it before
    drawing), logging an error naming the missing ones: their scripts would print as boxes."""
    logging.getLogger("matplotlib.font_manager").addFilter(_no_bold_fallback_notice)
    missing = missing_print_fonts()
    if missing:
        log.error("print fonts missing (install them: scripts/system-deps.sh): %s", missing)


def _no_bold_fallback_notice(record: logging.LogRecord) -> bool:
    """Drop matplotlib's warning that a fallback font has no bold (Symbola, Droid Sans
    Fallback): its regular face is meant; the warning came once per text size."""
    return not (
        record.msg == "findfont: Failed to find font weight %s for %s, now using %s."
        and isinstance(record.args, tuple)
        and len(record.args) == 3
        and record.args[1] in PRINT_FONTS
    )


def document_title(text: str) -> str:
    """A data text as a PDF's Title: printable, on one line (a line or paragraph break from
    a pasted name becomes a space; a reader's tab or a file manager showed the first line
    only), white space runs as one space."""
    return " ".join(printable(text).split())


@functools.lru_cache(maxsize=16384)
def text_width(text: str, size: float, bold: bool = False) -> float:
    """The width of one line of literal text (as printed: app.geo.text_lines.printable), in
    points."""
    from app.geo.text_lines import simple_width

    text = printable(text)
    # Latin and Vietnamese letters by their advances and kerning (a few microseconds; a
    # table of 5,000 names measured through matplotlib took 0.15 ms a name).
    width = simple_width(text, size, bold)
    if width is not None:
        return width * WIDTH_SAFETY
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    check_print_fonts()
    prop = FontProperties(family=FONT, size=size, weight="bold" if bold else "normal")
    width, _, _ = text_to_path.get_text_width_height_descent(text, prop, ismath=False)
    return float(width) * WIDTH_SAFETY


def wrap(text: str, size: float, width: float, bold: bool = False) -> list[str]:
    """`text` in lines no wider than `width` points: at spaces, or inside a word too long;
    its control characters as spaces (a carriage return in a name is no line break)."""
    text = printable(text)
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        if text_width(paragraph, size, bold) <= width:  # most cells: one measure, one line
            lines.append(paragraph)
            continue
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if text_width(candidate, size, bold) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            line = ""
            while text_width(word, size, bold) > width and len(word) > 1:
                cut = _longest_fitting(word, size, width, bold)
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        lines.append(line)
    return lines


def _longest_fitting(word: str, size: float, width: float, bold: bool) -> int:
    """How many characters of `word` (which does not fit) the line takes: the longest start
    no wider than `width`, found by halving (each measure of a text with combining marks
    goes through matplotlib: one character at a time, a 2,000-letter decomposed name held a
    print slot for minutes), never a letter without its combining marks; at least one
    letter with its marks (a cluster: a Khmer consonant with its vowel signs and subscripts,
    an emoji with its joined emoji)."""
    low, high, cut = 1, len(word) - 1, 1
    while low <= high:
        middle = (low + high) // 2
        if text_width(word[:middle], size, bold) <= width:
            cut, low = middle, middle + 1
        else:
            high = middle - 1
    while cut > 1 and _joins_previous(word, cut):
        cut -= 1  # back to the start of the letter whose mark would begin the next line
    if _joins_previous(word, cut):
        while cut < len(word) and _joins_previous(word, cut):
            cut += 1  # the first letter alone is wider than the line: it goes whole
    return cut


_JOINERS = "\u200d\u17d2"  # ZERO WIDTH JOINER (emoji sequences), KHMER SIGN COENG (subscripts)


def _joins_previous(word: str, index: int) -> bool:
    """Whether `word[index]` is drawn with the character before it: a mark (a combining
    accent, a Khmer or Thai vowel sign, an emoji's variation selector), an emoji's skin tone,
    a zero-width joiner, the letter a joiner or a Khmer coeng binds, or the second regional
    indicator of a flag (🇻🇳 is two letters, one flag)."""
    char = word[index]
    if unicodedata.category(char) in ("Mn", "Mc", "Me") or char == "\u200d":
        return True
    if index == 0:
        return False
    if word[index - 1] in _JOINERS or "\U0001f3fb" <= char <= "\U0001f3ff":  # skin tones
        return True
    if _REGIONAL <= char <= _REGIONAL_LAST:
        before = 0  # regional indicators pair from the start of their run
        while index - before > 0 and _REGIONAL <= word[index - before - 1] <= _REGIONAL_LAST:
            before += 1
        return before % 2 == 1
    return False


_REGIONAL, _REGIONAL_LAST = "\U0001f1e6", "\U0001f1ff"


class Flow:
    """A column of the page drawn from its top down: each block moves the cursor below it."""

    def __init__(self, figure: Any, left: float, right: float, top: float, bottom: float):
        from matplotlib.transforms import Affine2D

        self.figure = figure
        self.left = left
        self.width = right - left
        self.y = top
        self.bottom = bottom
        self.transform = Affine2D().scale(1 / 72) + figure.dpi_scale_trans

    @property
    def room(self) -> float:
        """Points left above the column's bottom."""
        return self.y - self.bottom

    def text(self, x: float, y: float, text: str, size: float, **style: Any) -> Any:
        """One literal text at (x, y) points, top-left anchored unless `style` says."""
        style = {"va": "top", "ha": "left", **style}
        artist = self.figure.text(
            x, y, printable(text), fontsize=size, transform=self.transform, **style
        )
        artist.set_parse_math(False)
        return artist

    def paragraph(
        self, text: str, size: float, bold: bool = False, gap: float = 0.0, **style: Any
    ) -> int:
        """Wrapped text at the cursor; returns its number of lines."""
        lines = wrap(text, size, self.width, bold)
        tops = [self.y - index * size * LEADING for index in range(len(lines))]
        self.lines(
            [(self.left, top, line) for top, line in zip(tops, lines, strict=True)],
            size,
            "left",
            bold,
            **style,
        )
        self.y -= len(lines) * size * LEADING + gap
        return len(lines)

    def lines(
        self,
        lines: Sequence[tuple[float, float, str]],
        size: float,
        align: str,
        bold: bool = False,
        **style: Any,
    ) -> Any:
        """Many one-line texts as one artist (app/geo/text_lines.py): each (x, top y, line),
        aligned `align` on x, its top at y as `text` would place it."""
        from app.geo.text_lines import TOP_TO_BASELINE, TextLines

        artist = TextLines(
            [(x, top - TOP_TO_BASELINE * size, line) for x, top, line in lines],
            size,
            align,
            bold,
            **style,
        )
        artist.set_transform(self.transform)
        artist.set_figure(self.figure)
        self.figure.texts.append(artist)  # where Figure.text keeps its texts
        return artist

    def add(self, artist: Any) -> Any:
        """A patch or line in points on the page."""
        artist.set_transform(self.transform)
        self.figure.add_artist(artist)
        return artist


def paragraph_height(text: str, size: float, width: float, bold: bool = False) -> float:
    """The height (points) `Flow.paragraph` takes for `text`."""
    return len(wrap(text, size, width, bold)) * size * LEADING


Swatch = Callable[[Flow, float, float, float, float], None]
"""Draws a legend symbol into the box (x, y_bottom, width, height), points."""


def legend(
    flow: Flow,
    title: str | None,
    entries: Sequence[tuple[Swatch, str]],
    size: float,
    columns: int = 2,
    gap: float = 0.0,
) -> None:
    """A legend at the cursor: title, then symbol + label in `columns`, labels wrapped."""
    if title:
        flow.paragraph(title, size, bold=True, gap=size * 0.3)
    cell = flow.width / columns
    swatch_width, swatch_height = size * 2.0, size * 1.05
    label_width = cell - swatch_width - size * 0.6 - size * 0.4
    for start in range(0, len(entries), columns):
        row = entries[start : start + columns]
        heights = []
        for column, (draw, label) in enumerate(row):
            x = flow.left + column * cell
            lines = wrap(label, size, label_width)
            draw(flow, x, flow.y - swatch_height, swatch_width, swatch_height)
            for index, line in enumerate(lines):
                flow.text(
                    x + swatch_width + size * 0.6, flow.y - index * size * LEADING, line, size
                )
            heights.append(max(len(lines) * size * LEADING, swatch_height + size * 0.35))
        flow.y -= max(heights)
    flow.y -= gap


@dataclass(frozen=True)
class Column:
    """One column of a table: header, alignment, whether the header stands on its side."""

    header: str
    align: str = "center"  # left, center, right
    rotate: bool = False
    wraps: bool = False  # the column that takes the width left and wraps its cells


def table(
    flow: Flow,
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    size: float,
    max_height: float,
    bold_column: int | None = None,
) -> int:
    """A table at the cursor, as many rows as fit in `max_height` points; returns how many.

    Columns that do not wrap are as wide as their widest cell or their header on two lines; the
    wrapping columns share the width left. Rotated headers are as tall as their text is long.
    """
    from matplotlib.patches import PathPatch, Rectangle
    from matplotlib.path import Path

    pad = size * 0.3
    # Only the rows that could fit are measured: a table over many pages is called again
    # with the rest, and measuring every remaining row on each page grew with their square
    # (5,000 households: most of 80 s).
    rows = rows[: int(max_height / (size * LEADING + pad)) + 1]
    widths = [
        0.0 if column.wraps else _fixed_width(column, index, rows, size, bold_column)
        for index, column in enumerate(columns)
    ]
    wrapping = sum(1 for column in columns if column.wraps)
    rest = (flow.width - sum(widths)) / max(1, wrapping)
    widths = [
        rest if column.wraps else width for column, width in zip(columns, widths, strict=True)
    ]
    if wrapping and rest < size * 4:
        raise ValueError("the table's columns do not fit in its width")

    def cell_lines(column: Column, width: float, text: str, bold: bool) -> list[str]:
        return wrap(text, size, width - 2 * pad, bold) if column.wraps else [text]

    header_lines = [
        [] if c.rotate else wrap(c.header, size, w - 2 * pad, True)
        for c, w in zip(columns, widths, strict=True)
    ]
    header_height = max(
        [
            *(text_width(c.header, size, True) + 2 * pad for c in columns if c.rotate),
            *(len(lines) * size * LEADING + 2 * pad for lines in header_lines),
        ]
    )
    top = flow.y
    flow.add(
        Rectangle(
            (flow.left, top - header_height),
            flow.width,
            header_height,
            facecolor="#e8e8e8",
            edgecolor="none",
        )
    )
    x = flow.left
    for column, width, lines in zip(columns, widths, header_lines, strict=True):
        if column.rotate:
            flow.text(
                x + width / 2,
                top - header_height + pad,
                column.header,
                size,
                rotation=90,
                va="bottom",
                ha="center",
                fontweight="bold",
            )
        else:
            anchor = _aligned(x, width, pad, column.align)
            flow.lines(
                [(anchor, top - pad - i * size * LEADING, line) for i, line in enumerate(lines)],
                size,
                column.align,
                bold=True,
            )
        x += width
    y = top - header_height
    fitting: list[tuple[list[list[str]], float]] = []  # each row's cells' lines, its height
    for row in rows:
        lines_per_cell = [
            cell_lines(column, width, text, index == bold_column)
            for index, (column, width, text) in enumerate(zip(columns, widths, row, strict=True))
        ]
        height = max(len(lines) for lines in lines_per_cell) * size * LEADING + pad
        if top - (y - height) > max_height:
            break
        fitting.append((lines_per_cell, height))
        y -= height
    _rows(flow, columns, widths, fitting, size, pad, top - header_height, bold_column)
    y = top - header_height
    rules: list[tuple[float, float]] = []
    for _, height in fitting:
        y -= height
        rules += [(flow.left, y), (flow.left + flow.width, y)]
    if rules:
        # The rules under the rows as one path: a Line2D each cost 0.3 ms in a PDF, and
        # even a LineCollection writes each segment with its own graphics state.
        codes = [Path.MOVETO, Path.LINETO] * (len(rules) // 2)
        flow.add(PathPatch(Path(rules, codes), fill=False, edgecolor="#9a9a9a", linewidth=0.4))
    flow.y = y
    return len(fitting)


def _fixed_width(
    column: Column, index: int, rows: Sequence[Sequence[str]], size: float, bold: int | None
) -> float:
    """A column as wide as its widest cell or its header on two lines, with its padding."""
    cells = [text_width(row[index], size, index == bold) for row in rows]
    header = size * LEADING if column.rotate else _two_line_width(column.header, size)
    return max([header, *cells]) + 2 * size * 0.3


def natural_width(
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    size: float,
    wrap_at: float = 16.0,
    bold_column: int | None = None,
) -> float:
    """The width (points) `table` needs for `rows` with each wrapping column as wide as its
    widest cell, up to `wrap_at` em: whether a table can stand in a narrower column."""
    width = 0.0
    for index, column in enumerate(columns):
        if column.wraps:
            widest = max((text_width(row[index], size) for row in rows), default=0.0)
            width += max(min(widest, wrap_at * size), size * 4) + 2 * size * 0.3
        else:
            width += _fixed_width(column, index, rows, size, bold_column)
    return width


def _rows(
    flow: Flow,
    columns: Sequence[Column],
    widths: list[float],
    rows: list[tuple[list[list[str]], float]],
    size: float,
    pad: float,
    y: float,
    bold_column: int | None,
) -> None:
    """The rows' cells, one `TextLines` per column: each line of each cell at its place."""
    x = flow.left
    for index, (column, width) in enumerate(zip(columns, widths, strict=True)):
        anchor = _aligned(x, width, pad, column.align)
        placed: list[tuple[float, float, str]] = []
        top = y
        for lines_per_cell, height in rows:
            for number, line in enumerate(lines_per_cell[index]):
                placed.append((anchor, top - pad / 2 - number * size * LEADING, line))
            top -= height
        flow.lines(placed, size, column.align, bold=index == bold_column)
        x += width


def _two_line_width(text: str, size: float) -> float:
    """The narrowest width (bold) that sets `text` on at most two lines, split at a space."""
    words = text.split() or [""]
    candidates = [text_width(text, size, True)]
    for cut in range(1, len(words)):
        first, second = " ".join(words[:cut]), " ".join(words[cut:])
        candidates.append(max(text_width(first, size, True), text_width(second, size, True)))
    return min(candidates)


def _aligned(x: float, width: float, pad: float, align: str) -> float:
    if align == "left":
        return x + pad
    if align == "right":
        return x + width - pad
    return x + width / 2


def notes_box(flow: Flow, title: str, size: float) -> None:
    """A ruled box for handwritten notes from the cursor down to the column's bottom."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    height = flow.room
    if height < size * 4:
        return
    top = flow.y
    flow.add(
        Rectangle(
            (flow.left, flow.bottom), flow.width, height, fill=False, linewidth=0.8, clip_on=False
        )
    )
    flow.text(flow.left + size * 0.5, top - size * 0.4, title, size, fontweight="bold")
    y = top - size * 2.6
    while y > flow.bottom + size:
        flow.add(
            Line2D(
                [flow.left + size * 0.5, flow.left + flow.width - size * 0.5],
                [y, y],
                color="#bbbbbb",
                linewidth=0.5,
                linestyle=":",
            )
        )
        y -= size * 2.2
    flow.y = flow.bottom
