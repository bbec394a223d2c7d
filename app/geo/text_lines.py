"""Many lines of literal text as one artist, written into a PDF without laying out a line
twice (tables, paragraphs, a map's numbers: app/geo/print_layout.py, settlement_print.py).

Why it exists: matplotlib's PDF backend shapes every line it writes (libraqm, ~60 us a call)
and then walks its glyphs in Python (~30-50 us each), every time, even for a line written
a thousand times. A settlement's table of 5,000 households is 20,000 such lines (numbers,
answers, dates, names): 10 s of CPU, most of the 77 s the meeting map took through the
server. Here each distinct line is laid out once per PDF file: a line of Latin and
Vietnamese letters (no combining mark, no other script) by adding its glyphs' advances and
the font's kerning, which is what libraqm does for them; any other line by the same steps as
`RendererPdf.draw_text`. Both track their glyphs as draw_text does, so the embedded font
subsets are the same, and the text-showing operators are kept. Each artist is then one
BT ... ET block with a text matrix per line. Other renderers (Agg: the PNG, tests) draw each
line through the renderer's public `draw_text`.

The one rule it imposes: it reads private parts of matplotlib's PDF backend
(`_character_tracker`, `fontName`, `_encode_glyphs`, `_get_font_ttf`), pinned in
requirements/main.txt; tests/unit/test_text_lines.py compares its output with matplotlib's
own Text (same words at the same places) on every upgrade.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Sequence
from typing import Any

import matplotlib as mpl
from matplotlib import _text_helpers
from matplotlib.backends.backend_pdf import Op, RendererPdf, _fill, pdfRepr
from matplotlib.font_manager import FontPath
from matplotlib.ft2font import Kerning, LoadFlags
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from app.geo.print_layout import FONT, WIDTH_SAFETY, check_print_fonts, printable, text_width

FONT_ASCENT = 0.76  # DejaVu Sans's OS/2 typographic ascender, per point of size
FONT_DESCENT = 0.24
# Where matplotlib sets the baseline of a one-line text anchored by its top (va="top",
# line spacing 1.2: half the leading above the letters), per point of size.
TOP_TO_BASELINE = 0.88

# Per PDF file: (font key, size, line) -> (the line's operators, its advance width).
_PROGRAMS: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], Any]] = weakref.WeakKeyDictionary()


class TextLines(Text):
    """Lines of one font and size, each at its own (anchor x, baseline y) in the artist's
    transform's units, aligned `ha` on its anchor. A Text (its text is the lines joined by
    newlines) so that pages' text walks, literal flags and renderer release treat it as one."""

    def __init__(
        self,
        lines: Sequence[tuple[float, float, str]],
        size: float,
        align: str = "left",
        bold: bool = False,
        **style: Any,
    ) -> None:
        super().__init__(
            0,
            0,
            "\n".join(printable(text) for _, _, text in lines),
            fontsize=size,
            fontweight="bold" if bold else "normal",
            ha=align,
            va="baseline",
            **style,
        )
        self.set_parse_math(False)
        self._size = float(size)
        self._bold = bold
        self._placed = [(x, y, printable(text)) for x, y, text in lines if text]

    def _display_points(self) -> Any:
        import numpy as np

        if not self._placed:
            return np.zeros((0, 2))
        return self.get_transform().transform([(x, y) for x, y, _ in self._placed])

    def _shift(self, width: float) -> float:
        align = self.get_horizontalalignment()
        return width if align == "right" else width / 2 if align == "center" else 0.0

    def get_window_extent(self, renderer: Any = None, dpi: float | None = None) -> Bbox:
        """The box around every line (display units), from the font's measured widths."""
        figure = self.get_figure(root=True)
        scale = (dpi or figure.dpi) / 72 if figure is not None else 1.0
        points = self._display_points()
        if not len(points):
            return Bbox.null()
        size, bold = self._size, self._bold
        boxes = []
        for (x, y), (_, _, text) in zip(points, self._placed, strict=True):
            width = text_width(text, size, bold) / WIDTH_SAFETY * scale
            left = x - self._shift(width)
            boxes.append(
                Bbox.from_extents(
                    left,
                    y - FONT_DESCENT * size * scale,
                    left + width,
                    y + FONT_ASCENT * size * scale,
                )
            )
        return Bbox.union(boxes)

    def draw(self, renderer: Any) -> None:
        """Each line at its place: into a PDF as cached operators, elsewhere one by one."""
        import matplotlib.colors as mcolors

        if renderer is not None:
            self._renderer = renderer
        if not self.get_visible() or not self._placed:
            return
        gc = renderer.new_gc()
        gc.set_foreground(mcolors.to_rgba(self.get_color()), isRGBA=True)
        gc.set_alpha(self.get_alpha())
        points = self._display_points()
        target = getattr(renderer, "_renderer", renderer)  # inside MixedModeRenderer
        if isinstance(target, RendererPdf) and not self.get_path_effects():
            _pdf_lines(target, gc, self, points)
        else:
            prop = self.get_fontproperties()
            size, bold = self._size, self._bold
            scale = renderer.points_to_pixels(1.0)
            height = renderer.get_canvas_width_height()[1]
            for (x, y), (_, _, text) in zip(points, self._placed, strict=True):
                width = text_width(text, size, bold) / WIDTH_SAFETY * scale
                y_drawn = height - y if renderer.flipy() else y
                renderer.draw_text(gc, x - self._shift(width), y_drawn, text, prop, 0)
        gc.restore()
        self.stale = False


def _operators(*data: Any) -> bytes:
    """What `PdfFile.output(*data)` writes."""
    return _fill([pdfRepr(item) for item in data]) + b"\n"


def _pdf_lines(pdf: Any, gc: Any, artist: TextLines, points: Any) -> None:
    """The artist's lines into the page's content stream, one text object."""
    pdf.check_gc(gc, gc._rgb)
    prop = artist.get_fontproperties()
    font = pdf._get_font_ttf(prop)
    size = prop.get_size_in_points()
    fonttype = mpl.rcParams["pdf.fonttype"]
    programs = _PROGRAMS.setdefault(pdf.file, {})
    key = (font.fname, size, fonttype)
    chunks = [_operators(Op.begin_text)]
    for (x, y), (_, _, text) in zip(points, artist._placed, strict=True):
        program = programs.get((*key, text))
        if program is None:
            program = _program(pdf, font, text, key, programs)
            programs[(*key, text)] = program
        operators, width = program
        chunks.append(b"1 0 0 1 %.3f %.3f Tm\n" % (x - artist._shift(width), y))
        chunks.append(operators)
    chunks.append(_operators(Op.end_text))
    pdf.file.write(b"".join(chunks))


def _program(
    pdf: Any, font: Any, text: str, key: tuple[Any, ...], programs: dict[tuple[Any, ...], Any]
) -> tuple[bytes, float]:
    """One line's operators (from its start) and advance width, as draw_text makes them."""
    _, size, fonttype = key
    run = advances(font, size).run(text)
    if run is None:
        return _layout(pdf, font, text, size, fonttype)
    out: list[bytes] = []
    shown: list[Any] = []
    previous_name = None
    start = 0.0
    for char, glyph, x, kern in run[0]:
        tracked = programs.get(("glyph", key, char))
        if tracked is None:
            subset, charcode = pdf.file._character_tracker.track_glyph(font, char, glyph)
            name = pdf.file.fontName(FontPath(font.fname, font.face_index), subset)
            tracked = (name, pdf._encode_glyphs([charcode], fonttype))
            programs[("glyph", key, char)] = tracked
        name, code = tracked
        if name is not previous_name:
            if shown:
                out.append(_operators(shown, Op.showkern))
                shown = []
            out.append(_operators(name, size, Op.selectfont))
            out.append(_operators(x - start, 0, Op.textpos))
            previous_name, start = name, x
        elif kern:
            shown.append(-1000 * kern / size)
        if shown and isinstance(shown[-1], bytes):
            shown[-1] += code
        else:
            shown.append(code)
    if shown:
        out.append(_operators(shown, Op.showkern))
    return b"".join(out), run[1]


# Characters whose glyphs need no shaping in DejaVu Sans: Latin with its precomposed
# Vietnamese letters, punctuation; no combining marks, no other script.
_SIMPLE = re.compile(r"[\x20-\x7e\xa0-\u024f\u1e00-\u1eff\u2010-\u2027]*")
_TABLES = threading.local()  # FreeType faces are not shared between threads (get_font)


class _Advances:
    """One font file at one size: each character's glyph and advance, each pair's kerning,
    measured once. A line of simple characters is then laid out by addition, as libraqm
    lays it out (its kerning is the font's), without shaping it again."""

    def __init__(self, font: Any, size: float) -> None:
        self.font = font
        self.size = size
        self.scale = size / font.units_per_EM
        self.glyphs: dict[str, tuple[int, float]] = {}
        self.kerns: dict[tuple[int, int], float] = {}

    def run(self, text: str) -> tuple[list[tuple[str, int, float, float]], float] | None:
        """(character, glyph, x, kerning before it) of each character and the advance width,
        or None where the line needs shaping or a fallback font."""
        if not _SIMPLE.fullmatch(text):
            return None
        placed = []
        x = 0.0
        previous = None
        for char in text:
            known = self.glyphs.get(char)
            if known is None:
                glyph = self.font.get_char_index(ord(char))
                if glyph == 0:
                    return None
                self.font.set_size(self.size, 72)
                loaded = self.font.load_glyph(glyph, flags=LoadFlags.NO_HINTING)
                known = self.glyphs[char] = (glyph, loaded.linearHoriAdvance / 65536)
            glyph, advance = known
            kern = 0.0
            if previous is not None:
                pair = (previous, glyph)
                kern = self.kerns.get(pair, None)  # type: ignore[assignment]
                if kern is None:
                    units = self.font.get_kerning(previous, glyph, Kerning.UNSCALED)
                    kern = self.kerns[pair] = units * self.scale
                x += kern
            placed.append((char, glyph, x, kern))
            x += advance
            previous = glyph
        return placed, x


def simple_width(text: str, size: float, bold: bool) -> float | None:
    """The advance width (points) of a line of simple characters in the print font, or None
    where it needs shaping (then measure it with matplotlib)."""
    if not _SIMPLE.fullmatch(text):
        return None
    fonts = getattr(_TABLES, "fonts", None)
    if fonts is None:
        fonts = _TABLES.fonts = {}
    font = fonts.get(bold)
    if font is None:
        from matplotlib.font_manager import FontProperties, fontManager, get_font

        check_print_fonts()
        prop = FontProperties(family=FONT, weight="bold" if bold else "normal")
        font = fonts[bold] = get_font(fontManager._find_fonts_by_props(prop))
    run = advances(font, size).run(text)
    return None if run is None else run[1]


def advances(font: Any, size: float) -> _Advances:
    """This thread's table of `font` at `size` points."""
    tables = getattr(_TABLES, "tables", None)
    if tables is None:
        tables = _TABLES.tables = {}
    table = tables.get((font.fname, size))
    if table is None or table.font is not font:
        table = tables[(font.fname, size)] = _Advances(font, size)
    return table


def _layout(pdf: Any, font: Any, text: str, size: float, fonttype: int) -> tuple[bytes, float]:
    """RendererPdf.draw_text's loop (matplotlib 3.11), its operators kept instead of written."""
    import itertools

    out: list[bytes] = []
    chunk: list[Any] = []

    def flush() -> None:
        if chunk:
            out.append(
                _operators(
                    [
                        (-1000 * next(group) / size)
                        if kind is float
                        else pdf._encode_glyphs(group, fonttype)
                        for kind, group in itertools.groupby(chunk, type)
                    ],
                    Op.showkern,
                )
            )
            chunk.clear()

    previous_font = None
    previous_x = 0.0
    last = None
    for item in _text_helpers.layout(text, font):
        subset, charcode = pdf.file._character_tracker.track_glyph(
            item.ft_object, item.char, item.glyph_index
        )
        if (item.ft_object, subset) != previous_font:
            flush()
            ft: Any = item.ft_object
            name = pdf.file.fontName(FontPath(ft.fname, ft.face_index), subset)
            out.append(_operators(name, size, Op.selectfont))
            out.append(_operators(item.x - previous_x, 0, Op.textpos))
            previous_font = (item.ft_object, subset)
            previous_x = item.x
        if item.y:
            flush()
            out.append(_operators(item.y, Op.textrise))
        if item.prev_kern:
            chunk.append(item.prev_kern)
        chunk.append(charcode)
        if item.y:
            flush()
            out.append(_operators(0, Op.textrise))
        last = item
    flush()
    width = 0.0
    if last is not None:
        glyph = last.ft_object.load_glyph(last.glyph_index, flags=LoadFlags.NO_HINTING)
        width = last.x + glyph.linearHoriAdvance / 65536
    return b"".join(out), width
