"""Placing a printed map's labels clear of each other, of the marks they must not hide and
inside the map's frame (app/geo/print_map.py, cdf_projects_print.py).

A label is a box in the map's metres. It tries a few places around its anchor, nearest
first, and takes the first that overlaps nothing already taken and lies inside the frame;
the caller decides what to do when none is free (keep the anchor, leave the label out).
Labels on a ward map number a few dozen: plain loops, no index.
"""

from __future__ import annotations

from collections.abc import Sequence

from shapely.geometry import Polygon, box
from shapely.geometry.base import BaseGeometry

# Places tried around the anchor: itself, then above, below, right, left and the diagonals,
# each one and then two steps away.
DIRECTIONS = ((0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (-1, 1), (1, -1), (-1, -1))
RINGS = (1, 2)


def centred_box(x: float, y: float, width: float, height: float) -> Polygon:
    """The box of a label centred on (x, y)."""
    return box(x - width / 2, y - height / 2, x + width / 2, y + height / 2)


def is_free(footprint: BaseGeometry, taken: Sequence[BaseGeometry], frame: BaseGeometry) -> bool:
    """Inside the frame and clear of everything taken."""
    return frame.contains(footprint) and not any(footprint.intersects(t) for t in taken)


def place_centred(
    x: float,
    y: float,
    width: float,
    height: float,
    taken: Sequence[BaseGeometry],
    frame: BaseGeometry,
) -> tuple[float, float] | None:
    """The centre nearest (x, y) where a `width` x `height` label is free, or None."""
    if is_free(centred_box(x, y, width, height), taken, frame):
        return x, y
    for ring in RINGS:
        for dx, dy in DIRECTIONS:
            # Half the label's size and a little more per step: next to the anchor first.
            cx = x + dx * ring * (width / 2 + height / 2)
            cy = y + dy * ring * height * 0.75
            if is_free(centred_box(cx, cy, width, height), taken, frame):
                return cx, cy
    return None
