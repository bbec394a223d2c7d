"""The national summary's map: city names never over each other, however close the cities."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from app.geo import national_print
from tests.hostile import TEMPLATE_CODE


def _city(name: str, lon: float, lat: float, households: int) -> dict[str, Any]:
    return {"name": name, "lon": lon, "lat": lat, "households": households,
            "average_settlement_priority": 40.0}  # fmt: skip


@pytest.mark.parametrize(
    "cities",
    [
        # Three imported at one place (the tester's: a wards-only city over Tam Kỳ).
        [
            _city("Tam Kỳ", 108.47, 15.57, 5000),
            _city("Thị xã Điện Bàn", 108.47, 15.57, 4),
            _city(f"{TEMPLATE_CODE} Thành phố Hội An $1 %s", 108.47, 15.57, 60),
            _city("Long Xuyên", 105.43, 10.38, 3000),
            _city("Việt Trì", 105.40, 21.32, 2000),
        ],
        # Neighbours a few kilometres apart.
        [_city(f"Thành phố {i}", 106.0 + 0.02 * i, 16.0 + 0.01 * i, 100 * i) for i in range(1, 9)]
        + [_city("Cà Mau", 105.15, 9.18, 900)],
    ],
)
def test_city_names_never_overlap(cities: list[dict[str, Any]]) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.text import Text

    figure = Figure(figsize=national_print.A4)
    ax = figure.add_axes((0.06, 0.5, 0.88, 0.4))
    national_print._draw_map(ax, cities, national_print.FONT)
    renderer = FigureCanvasAgg(figure).get_renderer()
    figure.draw(renderer)
    frame = ax.get_window_extent(renderer)
    # The names' own boxes (an annotation's extent takes in its leader line too).
    names = [(text.get_text(), Text.get_window_extent(text, renderer)) for text in ax.texts]
    assert sorted(name for name, _ in names) == sorted(str(c["name"]) for c in cities)
    for (a, box_a), (b, box_b) in itertools.combinations(names, 2):
        overlap_x = min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0)
        overlap_y = min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0)
        assert overlap_x <= 1 or overlap_y <= 1, (a, b)
    for name, box in names:
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1, name
        assert frame.y0 <= box.y0 and box.y1 <= frame.y1, name
