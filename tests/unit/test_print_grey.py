"""The printed map on a black-and-white copy: every class tells apart from the others and from
"not surveyed" in grey (mean and texture), and household symbols leave the fill visible.

Pages are rendered to PDF, turned into grey pixels by poppler (`pdftoppm -gray`, what a
photocopy sees) and measured inside each settlement.
"""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
from pyproj import Transformer

from app.geo.print_map import PrintInput, render_print_map, utm_epsg
from tests.unit.test_print_map import ward_page

RESOLUTION = 100  # pixels per inch of the grey page
WEST, SOUTH = 108.46, 15.56
SIDE = 0.0022  # a settlement's side, degrees (about 240 m)
# One settlement per class (scores 10, 30, 50, 70, 90) and one not surveyed.
SCORES: list[float | None] = [10.0, 30.0, 50.0, 70.0, 90.0, None]


def _square(west: float, south: float, size: float) -> dict[str, object]:
    east, north = west + size, south + size
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def _origin(index: int) -> tuple[float, float]:
    """South-west corner of settlement `index`: two rows of three."""
    return WEST + 0.0005 + (index % 3) * 0.003, SOUTH + 0.0005 + (index // 3) * 0.0032


def grey_ward(households: list[tuple[float, float, str | None]], indicator: str) -> PrintInput:
    """A ward of six settlements, names at their top edge (the middle is left to measure)."""
    settlements = []
    for index, score in enumerate(SCORES):
        west, south = _origin(index)
        settlements.append(
            {
                "geometry": _square(west, south, SIDE),
                "name": f"Khu {index}",
                "label_lon": west + SIDE / 2,
                "label_lat": south + SIDE * 0.93,
                "score": score,
                "shares": {} if score is None else {"no_piped_water": score / 100},
                "households": 0 if score is None else 10,
                "rank_in_ward": None if score is None else 6 - index,
            }
        )
    page = ward_page(indicator)
    return PrintInput(
        **{
            **page.__dict__,
            "ward_geometry": _square(WEST, SOUTH, 0.0095),
            "settlements": settlements,
            "households": households,
            "households_total": len(households),
        }
    )


def grey_page(tmp_path: Path, data: PrintInput) -> tuple[np.ndarray, list[np.ndarray]]:
    """The page in grey pixels and, per settlement, the pixels of its middle (40% square)."""
    centres: list[tuple[float, float]] = []
    to_metres = Transformer.from_crs("EPSG:4326", f"EPSG:{utm_epsg(WEST, SOUTH)}", always_xy=True)

    def locate(figure: Any) -> None:
        ax = figure.axes[0]  # the map
        for index in range(len(SCORES)):
            west, south = _origin(index)
            for lon, lat in ((west, south), (west + SIDE, south + SIDE)):
                x, y = to_metres.transform(lon, lat)
                centres.append(
                    tuple(figure.transFigure.inverted().transform(ax.transData.transform((x, y))))
                )

    pdf = tmp_path / "grey.pdf"
    pdf.write_bytes(render_print_map(data, "A4", "landscape", "pdf", on_page=locate))
    subprocess.run(
        ["pdftoppm", "-gray", "-r", str(RESOLUTION), "-singlefile", str(pdf), str(tmp_path / "g")],
        check=True,
    )
    pixels = read_pgm(tmp_path / "g.pgm")
    height, width = pixels.shape
    regions = []
    for index in range(len(SCORES)):
        (x0, y0), (x1, y1) = centres[2 * index], centres[2 * index + 1]
        left, right = sorted((x0 * width, x1 * width))
        top, bottom = sorted(((1 - y0) * height, (1 - y1) * height))
        inset_x, inset_y = (right - left) * 0.3, (bottom - top) * 0.3
        regions.append(
            pixels[
                int(top + inset_y) : int(bottom - inset_y),
                int(left + inset_x) : int(right - inset_x),
            ]
        )
    return pixels, regions


def read_pgm(path: Path) -> np.ndarray:
    """A binary PGM (P5, 8 bit) as a 2-D array."""
    content = path.read_bytes()
    fields = content.split(maxsplit=4)
    assert fields[0] == b"P5" and fields[3] == b"255"
    width, height = int(fields[1]), int(fields[2])
    return np.frombuffer(fields[4][: width * height], np.uint8).reshape(height, width)


def _fill_stats(regions: list[np.ndarray]) -> list[tuple[float, float]]:
    return [(float(region.mean()), float(region.std())) for region in regions]


def test_every_class_reads_apart_in_grey(tmp_path: Path) -> None:
    _, regions = grey_page(tmp_path, grey_ward([], "priority"))
    assert all(region.size > 200 for region in regions)
    stats = _fill_stats(regions)
    means = [mean for mean, _ in stats]
    # Darker means worse, and "not surveyed" is the lightest (white with a dashed outline).
    assert means[5] > means[0] > means[1] > means[2] > means[3] > means[4], stats
    for (i, (mean_a, std_a)), (j, (mean_b, std_b)) in itertools.combinations(enumerate(stats), 2):
        # Apart in mean grey by at least 7% of the scale, and in grey and texture together
        # (a hatch makes the standard deviation) by more.
        assert abs(mean_a - mean_b) >= 18, (i, j, stats)
        assert abs(mean_a - mean_b) + abs(std_a - std_b) >= 30, (i, j, stats)
    # Lines, never dots: every hatched class has a texture, the plain ones none.
    assert stats[0][1] < 3 and stats[5][1] < 3
    assert all(std >= 10 for _, std in stats[1:5]), stats


def _households(
    per_settlement: int, answers: list[str | None]
) -> list[tuple[float, float, str | None]]:
    rng = np.random.default_rng(14)
    points: list[tuple[float, float, str | None]] = []
    for index in range(len(SCORES)):
        west, south = _origin(index)
        for k in range(per_settlement):
            lon, lat = rng.uniform(0, SIDE * 0.85, 2)
            points.append((west + lon, south + lat, answers[k % len(answers)]))
    return points


def test_household_symbols_leave_the_fill_visible(tmp_path: Path) -> None:
    _, bare = grey_page(tmp_path, grey_ward([], "priority"))
    for indicator, answers in (("priority", [None]), ("no_piped_water", ["piped", "well", None])):
        for per_settlement in (40, 400):
            data = grey_ward(_households(per_settlement, answers), indicator)
            _, regions = grey_page(tmp_path, data)
            plain = [0, 5] if indicator == "priority" else [5]  # fills without a hatch
            for index in plain:
                fill = float(np.median(bare[index]))
                covered = float((np.abs(regions[index].astype(int) - fill) > 40).mean())
                assert covered < 0.2, (indicator, per_settlement, index, covered)
            # Each settlement still reads as its own class: its grey moved less than half-way
            # to the nearest other class.
            means = [float(region.mean()) for region in bare]
            for index, region in enumerate(regions):
                moved = abs(float(region.mean()) - means[index])
                nearest = min(abs(means[index] - m) for i, m in enumerate(means) if i != index)
                assert moved < nearest / 2, (indicator, per_settlement, index, moved, nearest)
