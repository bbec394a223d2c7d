"""A geoshape answer as a polygon: OpenRosa's "lat lon altitude accuracy;..." read into a ring
of (lon, lat), closed, checked.

Collect and the phone web app write a geoshape as three or more points, the first repeated
at the end; a hand-made client may leave the ring open or add a trailing ";" and spaces.
What becomes of each kind of answer (docs/odk-collect.md, "Geoshapes"):

- an open ring is closed on its first point (the answer's text is kept as it was sent);
- a point that is not 2 to 4 plain decimal numbers (`NaN`, `inf`, a word), a latitude
  outside -90..90 or a longitude outside -180..180, fewer than 3 distinct corners, or
  corners all on one line (no area) are refused: such an answer is no boundary of anything,
  and only the volunteer, on the spot, can walk it again;
- a ring that crosses or touches itself (a walk whose GPS drifted over its own track, a
  figure eight) is kept as walked and flagged (`shape_self_intersects`): the place was
  walked and its boundary is roughly right, a reviewer decides whether it needs walking
  again, and refusing it would leave Collect's outbox with a survey that can never be
  sent. It is stored as the volunteer's ring, not "repaired" by ST_MakeValid, which turns a
  figure eight into a MultiPolygon the layer (Polygon) cannot hold.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Any

# Numbers as XForms write them: ASCII digits, an optional exponent; never NaN or infinity
# (which float() also reads), never "1_000" or other scripts' digits.
DECIMAL = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$")
MIN_CORNERS = 3
# At most this many points in a boundary or a line walked: 40 km at the phone's step of 2 m,
# more than any settlement's edge. An answer of 330,000 points (8.9 MB, under the body limit)
# held the event loop ~3 s and kept ~60 MB in the cache below for each answer sent.
MAX_POINTS = 20_000
# Answers longer than this are read each time, not kept in the cache (64 of them at most).
_CACHED_LENGTH = 20_000
# How far from a straight line (as a share of the ring's length) corners still lie on it.
ON_LINE_TOLERANCE = 1e-9


class GeoshapeError(ValueError):
    """An answer that is no polygon: `code` is a message code of app.i18n, `params` its
    values."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class Shape:
    """A geoshape as a polygon: its closed ring as (lon, lat) pairs, and whether the ring
    crosses or touches itself (an invalid polygon, kept as walked)."""

    ring: tuple[tuple[float, float], ...]
    self_intersects: bool

    @property
    def wkt(self) -> str:
        """The polygon as WKT (lon lat), each coordinate exactly as read."""
        return "POLYGON((" + ",".join(f"{lon!r} {lat!r}" for lon, lat in self.ring) + "))"


def _corner(chunk: str, number: int) -> tuple[float, float]:
    parts = chunk.split()
    if not 2 <= len(parts) <= 4 or not all(DECIMAL.match(part) for part in parts):
        raise GeoshapeError("geoshape_point_invalid", n=number, point=chunk.strip()[:60])
    numbers = [float(part) for part in parts]
    if not all(math.isfinite(value) for value in numbers):  # 1e999
        raise GeoshapeError("geoshape_point_invalid", n=number, point=chunk.strip()[:60])
    lat, lon = numbers[0], numbers[1]
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise GeoshapeError("geoshape_point_out_of_range", n=number, lat=lat, lon=lon)
    return lon, lat


def _on_one_line(ring: list[tuple[float, float]]) -> bool:
    """Whether every corner lies on the line from the first to the farthest one, to within
    what rounding of the decimal coordinates leaves (a billionth of the ring's length)."""
    x0, y0 = ring[0]
    x1, y1 = max(ring, key=lambda point: (point[0] - x0) ** 2 + (point[1] - y0) ** 2)
    dx, dy = x1 - x0, y1 - y0
    length = math.hypot(dx, dy)
    return all(
        abs(dx * (y - y0) - dy * (x - x0)) <= ON_LINE_TOLERANCE * length * length for x, y in ring
    )


def too_many_points(text: str) -> bool:
    """Whether a geoshape or geotrace answer names more than MAX_POINTS points (counted
    before any is read)."""
    return (
        text.count(";") >= MAX_POINTS
        and len([chunk for chunk in text.split(";") if chunk.strip()]) > MAX_POINTS
    )


def read_geoshape(text: str) -> Shape:
    """The polygon of a geoshape answer (see the module's rules); GeoshapeError when it is
    none."""
    if len(text) > _CACHED_LENGTH:
        return _read_geoshape(text)
    return _cached_geoshape(text)


# Intake reads an answer twice (its check, then its polygon): the second time is free.
@functools.lru_cache(maxsize=64)
def _cached_geoshape(text: str) -> Shape:
    return _read_geoshape(text)


def _read_geoshape(text: str) -> Shape:
    if too_many_points(text):
        raise GeoshapeError("geoshape_too_many_points", max=MAX_POINTS)
    ring = [
        _corner(chunk, number)
        for number, chunk in enumerate((c for c in text.split(";") if c.strip()), 1)
    ]
    if ring and ring[0] != ring[-1]:
        ring.append(ring[0])
    if len(set(ring)) < MIN_CORNERS:
        raise GeoshapeError("invalid_geoshape", min=MIN_CORNERS)
    if _on_one_line(ring):
        raise GeoshapeError("geoshape_no_area")
    from shapely import Polygon

    return Shape(tuple(ring), not Polygon(ring).is_valid)
