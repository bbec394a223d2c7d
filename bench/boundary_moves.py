"""A boundary re-import that moves every household of a city: what the audit entries of the
moves (one `survey.place` row per moved survey) and the check against other cities' wards
add to the import.

The sample city is grown inside PostgreSQL to --households (bench/scale.py's INSERT ...
SELECT) and placed once by its own lines; then its wards are imported with their codes
rotated (W01's line under code W02, ...), so that every survey with a ward moves. Each round
runs the import in a transaction that is rolled back, alternating:
  before:  the import as it was (the re-placement statement without audit rows, no check
           against other cities: the statement below is the one it ran)
  now:     app.services.boundaries.store_boundaries as it is
Best of --rounds each; the ratio now/before and the difference in seconds.
Then the check against other cities at a real city's size: two cities of --grid x --grid
square wards side by side, each ward's edges cut into 600 pieces (2,400 vertices, as a
cadastral file draws a ward), the second's west edge wandering 4 m either side of the
first's east edge; the seconds of the check when the second city is imported (best of
--rounds, rolled back).
Usage: python -m bench.boundary_moves [--quick] [--households 100000] [--rounds 3] [--grid 20]
       [--keep]
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import shapely
from sqlalchemy import Connection, text

from app.db.submissions import place_in_city
from app.geo.boundary_files import Feature, Layer
from app.services import boundaries as service
from app.settings import REPO_ROOT
from bench.common import bench_arguments, bench_database
from bench.scale import _engine, grow

SAMPLE = REPO_ROOT / "data" / "samples" / "tam-ky"
# The re-placement as the import ran it before each move was put on record (the baseline).
BEFORE = text(
    """
WITH moved AS (
    SELECT h.id, w.id AS ward_id, s.id AS settlement_id
    FROM household_surveys h
    CROSS JOIN LATERAL (SELECT COALESCE(h.geom, ST_PointOnSurface(h.shape)) AS point) p"""
    + place_in_city("h.city_id", "p.point")
    + """
    WHERE h.city_id = :city_id AND p.point IS NOT NULL
      AND (h.geom IS NOT NULL OR w.id IS NOT NULL)
      AND (h.ward_id IS DISTINCT FROM w.id OR h.settlement_id IS DISTINCT FROM s.id)
    ORDER BY h.id
    FOR NO KEY UPDATE OF h
)
UPDATE household_surveys h
SET ward_id = m.ward_id,
    settlement_id = m.settlement_id,
    flags = CASE
        WHEN h.geom IS NULL THEN h.flags
        WHEN m.ward_id IS NOT NULL THEN array_remove(h.flags, 'outside_wards')
        WHEN 'outside_wards' = ANY(h.flags) THEN h.flags
        ELSE array_append(h.flags, 'outside_wards') END
FROM moved m
WHERE h.id = m.id
"""
)


def rotated_wards(directory: Path) -> Path:
    """The sample's wards with each line under the next ward's code."""
    wards = json.loads((SAMPLE / "wards.geojson").read_text(encoding="utf-8"))
    features = wards["features"]
    codes = [feature["properties"]["code"] for feature in features]
    for feature, code in zip(features, codes[1:] + codes[:1], strict=True):
        feature["properties"]["code"] = code
    path = directory / "rotated.geojson"
    path.write_text(json.dumps(wards), encoding="utf-8")
    return path


def timed_import(
    connection: Connection, read: service.Boundaries, before: bool
) -> tuple[float, int, int]:
    """Seconds of one import of `read` (rolled back), households moved, audit rows added."""
    saved = service.REPLACE_HOUSEHOLDS, service.refuse_other_cities
    if before:
        service.REPLACE_HOUSEHOLDS = BEFORE  # type: ignore[assignment]
        service.refuse_other_cities = lambda *args: None
    try:
        with connection.begin() as transaction:
            audit_rows = _audit_rows(connection)
            started = time.perf_counter()
            summary = service.store_boundaries(
                connection, slug="tam-ky", name=None, province=None, boundaries=read
            )
            seconds = time.perf_counter() - started
            added = _audit_rows(connection) - audit_rows
            transaction.rollback()
    finally:
        service.REPLACE_HOUSEHOLDS, service.refuse_other_cities = saved
    return seconds, summary.households_replaced, added


def grid_city(west: float, grid: int, wander_m: float = 0.0) -> service.Boundaries:
    """`grid` x `grid` square wards of 0.01° from `west` (south 17.0°), 2,400 vertices each;
    with `wander_m`, the west edge of the westmost column zigzags that far either side."""
    size, south = 0.01, 17.0
    metre = 1 / 106_300  # degrees of longitude at 17° N
    features = []
    for column in range(grid):
        for row in range(grid):
            x0, y0 = west + column * size, south + row * size
            outline = shapely.segmentize(shapely.box(x0, y0, x0 + size, y0 + size), size / 600)
            if wander_m and column == 0:
                coordinates = [
                    (x + (wander_m if i % 2 else -wander_m) * metre if x == x0 else x, y)
                    for i, (x, y) in enumerate(outline.exterior.coords[:-1])
                ]
                outline = shapely.Polygon(coordinates)
            features.append(
                Feature(
                    row=len(features) + 1,
                    code=f"G{column:02d}{row:02d}",
                    name=f"Phường {column}-{row}",
                    geometry=shapely.MultiPolygon([outline]),
                    properties={},
                )
            )
    wards = Layer("wards", "grid.geojson", "EPSG:4326", tuple(features))
    return service.Boundaries(wards, None)


def check_seconds(connection: Connection, grid: int, rounds: int) -> tuple[float, int]:
    """Seconds of the check when the east city is imported beside the west one (both of
    `grid` x `grid` wards); how many wards each has."""
    east = grid_city(106.0 + grid * 0.01, grid, wander_m=4.0)
    with connection.begin() as transaction:
        service.store_boundaries(
            connection,
            slug="bench-west",
            name="West",
            province=None,
            boundaries=grid_city(106.0, grid),
        )
        connection.execute(text("ANALYZE wards"))
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            service.refuse_other_cities(connection, None, east)  # accepted: 4 m
            times.append(time.perf_counter() - started)
        transaction.rollback()
    return min(times), grid * grid


def _audit_rows(connection: Connection) -> int:
    return int(connection.execute(text("SELECT count(*) FROM audit_log")).scalar_one())


def best(rounds: int, run: Callable[[], tuple[float, int, int]]) -> tuple[float, int, int]:
    return min(run() for _ in range(rounds))


def main() -> None:
    parser = bench_arguments(__doc__, "cdfmap_bench_boundary_moves")
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--grid", type=int, default=20)
    args = parser.parse_args()
    households = 5_000 if args.quick else args.households
    sample = min(args.sample, households)
    with bench_database(args.database, sample, keep=args.keep) as url:
        grow(url, households, sample)
        engine = _engine(url)
        try:
            with tempfile.TemporaryDirectory() as directory:
                own = service.read_boundaries(SAMPLE / "wards.geojson", None)
                rotated = service.read_boundaries(rotated_wards(Path(directory)), None)
            with engine.begin() as connection:  # the grown points placed by the lines first
                service.store_boundaries(
                    connection, slug="tam-ky", name=None, province=None, boundaries=own
                )
            with engine.connect() as connection:
                results: dict[str, Any] = {"before": [], "now": []}
                for _ in range(args.rounds):
                    for name in ("before", "now"):
                        results[name].append(timed_import(connection, rotated, name == "before"))
                check, wards = check_seconds(
                    connection, 5 if args.quick else args.grid, args.rounds
                )
        finally:
            engine.dispose()
    before, now = min(results["before"]), min(results["now"])
    assert now[2] == now[1] + 1, "one audit row per moved survey and the import's own"
    print(f"households: {households}, moved by the import: {now[1]} (before: {before[1]})")
    print(f"import before (no audit rows, no check): {before[0]:.2f} s, audit rows {before[2]}")
    print(f"import now (a row per moved survey + check): {now[0]:.2f} s, audit rows {now[2]}")
    print(f"ratio now/before: {now[0] / before[0]:.2f}, difference {now[0] - before[0]:+.2f} s")
    print("rounds (s):", {k: [round(r[0], 2) for r in v] for k, v in results.items()})
    print(f"check of {wards} wards of 2,400 vertices beside a city of {wards}: {check:.2f} s")


if __name__ == "__main__":
    main()
