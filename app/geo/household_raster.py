"""The printed ward map's households, stamped by matplotlib's Agg rasterizer.

A ward of a city of 1,000,000 households has about 137,000 of them. matplotlib's `scatter`
(rasterized) drew them one path at a time: 0.75 s for the hollow rings of a priority map,
0.95 s for coloured dots, most of a 1.2-1.9 s print (docs/benchmarks.md). HouseholdSymbols
has Agg's `draw_markers` render the symbol once and stamp it at each household, as a plotted
line's markers are drawn: 0.02-0.03 s for the same rings, 0.06 s coloured. Like the scatter
it is rasterized: one image in a PDF (at print_map.PDF_RASTER_DPI), straight onto the page
in a PNG, with no image of its own (an A3 page's would be 18 MB, resampled once more). The
symbols keep their size, outline and colours; a stamp falls on whole pixels.

With colours, `draw_markers` takes one colour a call: the households go in their order (as
the scatter drew them) by chunks small enough that few of a chunk's symbols overlap, each
chunk one call per answer, the answers' order turning from chunk to chunk. Where symbols
overlap, each answer then shows about as much as under the scatter; drawing each answer at
once put the last one over every other in a crowd (the 1M ward's rarest answer drawn last:
33 % of the coloured pixels instead of 13 %; chunked: 12 %).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.artist import Artist, allow_rasterization
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.colors import to_rgba
from matplotlib.markers import MarkerStyle
from matplotlib.path import Path
from matplotlib.transforms import Affine2D, IdentityTransform

HOLLOW_COLOUR = "#202020"
# Coloured: households a draw_markers call, so many that their symbols would cover this
# share of the image if spread evenly, within these bounds (a call costs about 0.1 ms).
CHUNK_COVER = 0.02
CHUNK_BOUNDS = (256, 8192)
FILLED_EDGE_COLOUR = "black"


@dataclass(frozen=True)
class HouseholdPoints:
    """Households as columns: lon and lat (float64 arrays) and, where the map colours them by
    an answer, `codes`: each household's answer as its index in the style's values (the
    number of values for no answer)."""

    lon: np.ndarray
    lat: np.ndarray
    codes: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.lon)

    @classmethod
    def from_rows(
        cls, rows: Sequence[tuple[float, float, str | None]], values: Sequence[str] | None
    ) -> HouseholdPoints:
        """Columns from (lon, lat, answer) rows; `values`: the style's answers, if coloured."""
        count = len(rows)
        lon = np.fromiter((row[0] for row in rows), np.float64, count)
        lat = np.fromiter((row[1] for row in rows), np.float64, count)
        if values is None:
            return cls(lon, lat)
        index = {value: i for i, value in enumerate(values)}
        codes = np.fromiter((index.get(row[2] or "", len(values)) for row in rows), np.int16, count)
        return cls(lon, lat, codes)


class HouseholdSymbols(Artist):
    """The households of a map: a symbol of `diameter` points at each (x, y) (data
    coordinates): hollow rings without `palette`, else dots filled with palette[code] and
    outlined in black. Drawn by Agg's draw_markers straight onto the page's raster (a PDF's
    rasterized part, or the PNG), as the scatter was: no image of its own to resample."""

    def __init__(
        self,
        xs: np.ndarray,
        ys: np.ndarray,
        codes: np.ndarray | None,
        palette: Sequence[Any] | None,
        diameter: float,
    ) -> None:
        super().__init__()
        self._xy = np.column_stack([xs, ys])
        self._codes = codes if palette is not None else None
        self._palette = palette
        self._diameter = diameter

    @allow_rasterization
    def draw(self, renderer: Any) -> None:
        """Stamp every household's symbol (clipped to the map's frame)."""
        if not self.get_visible() or not len(self._xy):
            return
        gc = renderer.new_gc()
        area = 1e6
        if self.axes is not None:  # clipped to the map's (rectangular) frame
            gc.set_clip_rectangle(self.axes.bbox)
            area = self.axes.bbox.width * self.axes.bbox.height
        at = self.get_transform().transform(self._xy)
        stamp(renderer, gc, at, self._codes, self._palette, self._diameter, area)
        gc.restore()
        self.stale = False


def stamp(
    renderer: Any,
    gc: Any,
    at: np.ndarray,
    codes: np.ndarray | None,
    palette: Sequence[Any] | None,
    diameter: float,
    area: float,
) -> None:
    """Draw the symbols at `at` (display pixels) with `renderer`; `area`: the pixels of the
    frame they are spread over (for the coloured symbols' chunks)."""
    marker = MarkerStyle("o")
    size = renderer.points_to_pixels(diameter)
    marker_trans = Affine2D().scale(size / 2)  # the unit circle to the symbol's radius
    gc.set_antialiased(True)
    gc.set_joinstyle(marker.get_joinstyle())
    gc.set_capstyle(marker.get_capstyle())
    gc.set_snap(False)  # as a plotted line's circle markers (their snap threshold: never)
    if palette is None or codes is None:
        gc.set_linewidth(min(0.35, diameter / 5))
        gc.set_foreground(HOLLOW_COLOUR)
        renderer.draw_markers(gc, marker.get_path(), marker_trans, Path(at), IdentityTransform())
        return
    gc.set_linewidth(min(0.3, diameter / 6))
    gc.set_foreground(FILLED_EDGE_COLOUR)
    faces = [to_rgba(colour) for colour in palette]
    symbol_area = math.pi * (size / 2 + renderer.points_to_pixels(0.3)) ** 2
    low, high = CHUNK_BOUNDS
    step = int(min(high, max(low, CHUNK_COVER * area / symbol_area)))
    for chunk, start in enumerate(range(0, len(at), step)):
        here, codes_here = at[start : start + step], codes[start : start + step]
        for turn in range(len(faces)):
            code = (chunk + turn) % len(faces)
            mask = codes_here == code
            if mask.any():
                renderer.draw_markers(
                    gc,
                    marker.get_path(),
                    marker_trans,
                    Path(here[mask]),
                    IdentityTransform(),
                    faces[code],
                )


def household_image(
    xs: np.ndarray,
    ys: np.ndarray,
    codes: np.ndarray | None,
    palette: Sequence[Any] | None,
    frame: tuple[float, float, float, float],
    pixels: tuple[int, int],
    dpi: float,
    diameter: float,
) -> np.ndarray:
    """The symbols alone as an RGBA image (rows from the top) of `pixels` = (width, height)
    over `frame` = (xmin, ymin, xmax, ymax): what a map of that frame and size draws."""
    width, height = pixels
    xmin, ymin, xmax, ymax = frame
    renderer = RendererAgg(width, height, dpi)
    at = np.empty((len(xs), 2))
    at[:, 0] = (xs - xmin) * (width / (xmax - xmin))
    at[:, 1] = (ys - ymin) * (height / (ymax - ymin))
    gc = renderer.new_gc()
    stamp(renderer, gc, at, codes, palette, diameter, width * height)
    gc.restore()
    return np.asarray(renderer.buffer_rgba())  # keeps the renderer (its buffer) alive


def draw_households(
    ax: Any,
    xs: np.ndarray,
    ys: np.ndarray,
    codes: np.ndarray | None,
    palette: Sequence[Any] | None,
    diameter: float,
    zorder: float,
) -> None:
    """The households on the map `ax` (data coordinates), rasterized in a PDF."""
    symbols = HouseholdSymbols(xs, ys, codes, palette, diameter)
    symbols.set_zorder(zorder)
    symbols.set_rasterized(True)  # one image in a PDF, whatever the number of households
    ax.add_artist(symbols)
