"""A batch's points placed by the server's index land where the database would place them,
and never by boundaries that have moved on."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from app.db import submissions as queries
from app.db.engine import SERVER_SETTINGS
from app.db.pool import StatementPool
from app.forms.registry import FormRegistry
from app.services import placement
from app.services.boundaries import import_city
from app.services.intake import prepare_submission
from app.services.submissions import submission_row
from tests.factories import household_survey
from tests.integration.test_boundaries import square, write_layer

SLUG = "thi-xa-chia"
WEST, SOUTH = 108.0, 15.0


def polygon(*corners: tuple[float, float]) -> dict[str, Any]:
    ring = [[WEST + x, SOUTH + y] for x, y in (*corners, corners[0])]
    return {"type": "Polygon", "coordinates": [ring]}


def run(database_url: str, body: Callable[[StatementPool], Awaitable[Any]]) -> Any:
    """`body` with a fresh pool (and so a fresh index) on an event loop of its own thread."""

    async def main() -> Any:
        pool = StatementPool(database_url, 4, dict(SERVER_SETTINGS))
        try:
            return await body(pool)
        finally:
            await pool.close()

    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, main()).result()


def import_town(engine: Engine, tmp_path: Path, shift: float = 0.0) -> None:
    """Three wards (the second overlaps the first, the third shares an edge with it) and
    settlements that overlap each other and straddle the wards; `shift` moves ward W1."""
    wards = write_layer(
        tmp_path / f"wards-{shift}.geojson",
        [
            ({"code": "W1", "name": "Phường Một"}, square(WEST + shift, SOUTH, 0.01)),
            ({"code": "W2", "name": "Phường Hai"}, square(WEST + 0.006, SOUTH + 0.006, 0.01)),
            ({"code": "W3", "name": "Phường Ba"}, square(WEST + 0.01, SOUTH, 0.005)),
        ],
    )
    settlements = write_layer(
        tmp_path / "settlements.geojson",
        [
            (
                {"code": "S1", "name": "Tổ Một", "ward_code": "W1"},
                polygon((0.002, 0.002), (0.012, 0.002), (0.012, 0.004), (0.002, 0.004)),
            ),
            (
                {"code": "S2", "name": "Tổ Hai", "ward_code": "W1"},
                polygon((0.003, 0.001), (0.005, 0.001), (0.004, 0.009)),
            ),
            (
                {"code": "S3", "name": "Tổ Ba", "ward_code": "W2"},
                square(WEST + 0.011, SOUTH + 0.011, 0.002),
            ),
        ],
    )
    with engine.begin() as connection:
        import_city(
            connection,
            slug=SLUG,
            name="Thị xã Chia",
            province=None,
            wards_path=wards,
            settlements_path=settlements,
        )


@pytest.fixture
def town(sync_engine: Engine, tmp_path: Path) -> Iterator[None]:
    import_town(sync_engine, tmp_path)
    yield
    with sync_engine.begin() as connection:
        connection.execute(text("DELETE FROM cities WHERE slug = :slug"), {"slug": SLUG})


def rows(forms: FormRegistry, points: list[tuple[float, float]], city: str | None) -> list[Any]:
    made = []
    for lon, lat in points:
        body = household_survey(
            id=str(uuid.uuid4()), location={"lat": lat, "lon": lon, "accuracy_m": 5.0}
        )
        if city is not None:
            body["city"] = city
        prepared, problems = prepare_submission(body, forms, datetime.now(UTC))
        assert prepared is not None, problems
        made.append(submission_row(prepared))
    return made


def places(engine: Engine, ids: list[Any]) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        found = {
            str(row[0]): tuple(row[1:])
            for row in connection.execute(
                text(
                    "SELECT h.id, c.slug, w.code, s.code, h.flags FROM household_surveys h "
                    "LEFT JOIN cities c ON c.id = h.city_id "
                    "LEFT JOIN wards w ON w.id = h.ward_id "
                    "LEFT JOIN settlements s ON s.id = h.settlement_id "
                    "WHERE h.id = ANY(:ids)"
                ),
                {"ids": [str(i) for i in ids]},
            )
        }
    return [found[str(i)] for i in ids]


def without_duplicates(found: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Places and flags, but the duplicate flag (the second set repeats the first's houses)."""
    return [(*place[:3], [f for f in place[3] if f != "possible_duplicate"]) for place in found]


# Corners, edges and insides of every polygon above, and points around them: a grid on the
# polygons' own coordinates (0.001 apart), halfway points, and a few far outside.
GRID = [
    (WEST + x / 2000, SOUTH + y / 2000) for x, y in itertools.product(range(-2, 33), range(-2, 33))
]
FAR = [(WEST + 0.3, SOUTH + 0.3), (WEST - 1.0, SOUTH), (2.35, 48.85)]  # outskirts, Paris
# Outside every ward, within 20 km of one (the outskirts the index places: a corner within
# 0.179 degrees), and near the limit (19.9-20.4 km by the spheroid: the database decides).
OUTSKIRTS = [(WEST - 0.01, SOUTH + 0.005), (WEST + 0.05, SOUTH + 0.05), (WEST - 0.17, SOUTH)]
LIMIT = [(WEST - 0.185, SOUTH), (WEST - 0.19, SOUTH), (WEST + 0.016, SOUTH - 0.181)]


@pytest.mark.parametrize("city", [SLUG, None])
def test_the_index_places_every_point_as_the_database_does(
    database_url: str, sync_engine: Engine, forms: FormRegistry, town: None, city: str | None
) -> None:
    points = GRID + FAR + OUTSKIRTS + LIMIT
    by_database = rows(forms, points, city)
    by_index = rows(forms, points, city)

    async def body(pool: StatementPool) -> int:
        await queries.insert_many(pool, by_database)
        stored = await placement.store(pool, by_index)
        assert len(stored) == len(by_index)
        boundaries = await placement.boundary_index(pool).current()
        assert boundaries is not None
        outskirts = boundaries.place(
            [p[0] for p in OUTSKIRTS], [p[1] for p in OUTSKIRTS], [city] * len(OUTSKIRTS)
        )
        assert all(place is not None and place.ward_id is None for place in outskirts)
        return sum(
            place is not None
            for place in boundaries.place(
                [p[0] for p in points], [p[1] for p in points], [city] * len(points)
            )
        )

    placed_by_index = run(database_url, body)
    assert placed_by_index > len(GRID) // 2  # the index did the work, not the fallback
    expected = places(sync_engine, [row["id"] for row in by_database])
    found = places(sync_engine, [row["id"] for row in by_index])
    assert without_duplicates(found) == without_duplicates(expected)
    # The grid does reach every case: overlaps, shared edges, in no settlement, outside.
    assert {(w, s) for _, w, s, _ in expected} >= {
        ("W1", "S1"),
        ("W1", "S2"),
        ("W2", "S3"),
        ("W3", "S1"),
        ("W1", None),
        ("W2", None),
        (None, None),
    }
    # In the outskirts (the city, no ward) and beyond them (no city), at the limit too.
    assert [place[0] for place in expected[-len(OUTSKIRTS + LIMIT) :]] == [
        SLUG, SLUG, SLUG, SLUG, None, None
    ]  # fmt: skip


def test_boundaries_that_move_are_read_again_before_a_survey_is_placed(
    database_url: str, sync_engine: Engine, forms: FormRegistry, town: None, tmp_path: Path
) -> None:
    inside = [(WEST + 0.0025, SOUTH + 0.0025)]  # in W1 and S1; out of W1 once it moves

    async def body(pool: StatementPool) -> tuple[int, int]:
        index = placement.boundary_index(pool)
        await placement.store(pool, rows(forms, inside, SLUG))
        before = await index.current()
        assert before is not None
        # Another process moves the ward while this one holds its index.
        await asyncio.to_thread(import_town, sync_engine, tmp_path, 0.02)
        moved = rows(forms, inside, SLUG)
        assert len(await placement.store(pool, moved)) == 1
        after = await index.current()
        assert after is not None
        return before.generation, after.generation

    before, after = run(database_url, body)
    assert after > before
    with sync_engine.connect() as connection:
        codes = connection.execute(
            text(
                "SELECT w.code, s.code, h.flags FROM household_surveys h "
                "JOIN cities c ON c.id = h.city_id AND c.slug = :slug "
                "LEFT JOIN wards w ON w.id = h.ward_id "
                "LEFT JOIN settlements s ON s.id = h.settlement_id ORDER BY h.received_at"
            ),
            {"slug": SLUG},
        ).all()
    # The first was moved out of the ward by the import; the second was never in it: by
    # the old lines it would be in W1 (the index read the new ones, and left the point, now
    # in no ward, to the database's outskirts rule).
    assert [tuple(row[:2]) for row in codes] == [(None, "S1"), (None, "S1")]
    assert all("outside_wards" in row[2] for row in codes)


def test_a_batch_stored_while_an_import_commits_is_placed_by_the_new_lines(
    database_url: str, sync_engine: Engine, forms: FormRegistry, town: None
) -> None:
    """An import moves a ward and places the stored surveys anew, then commits; a batch that
    arrives in between waits for the commit and is placed by the new lines (were it stored
    by the old ones then, nothing would ever place it again)."""
    inside = [(WEST + 0.0025, SOUTH + 0.0025)]  # in W1; out of it once W1 moves east

    async def body(pool: StatementPool) -> bool:
        await placement.boundary_index(pool).current()
        importing = sync_engine.connect()
        try:

            def move_ward() -> None:
                city_id = importing.execute(
                    text("SELECT id FROM cities WHERE slug = :slug"), {"slug": SLUG}
                ).scalar_one()
                importing.execute(
                    text(
                        "UPDATE wards SET geom = ST_Translate(geom, 0.02, 0) "
                        "WHERE city_id = :city AND code = 'W1'"
                    ),
                    {"city": city_id},
                )
                importing.execute(
                    queries.REPLACE_HOUSEHOLDS,
                    {"city_id": city_id, "actor_id": None, "actor": "test"},
                )

            await asyncio.to_thread(move_ward)
            stored = asyncio.ensure_future(placement.store(pool, rows(forms, inside, SLUG)))
            await asyncio.sleep(0.5)
            waited = not stored.done()
            await asyncio.to_thread(importing.commit)
            assert len(await stored) == 1
            return waited
        finally:
            importing.close()

    assert run(database_url, body)
    with sync_engine.connect() as connection:
        ward, flags = connection.execute(
            text(
                "SELECT h.ward_id, h.flags FROM household_surveys h "
                "JOIN cities c ON c.id = h.city_id AND c.slug = :slug"
            ),
            {"slug": SLUG},
        ).one()
    assert ward is None and "outside_wards" in flags


def test_boundaries_too_large_to_hold_are_left_to_the_database(
    database_url: str, sync_engine: Engine, forms: FormRegistry, town: None
) -> None:
    points = [(WEST + 0.0025, SOUTH + 0.0025), (WEST + 0.0115, SOUTH + 0.0025)]

    async def body(pool: StatementPool) -> Any:
        pool.state["boundary_index"] = placement.BoundaryIndex(pool, max_vertices=10)
        made = rows(forms, points, SLUG)
        assert len(await placement.store(pool, made)) == 2
        assert await placement.boundary_index(pool).current() is None
        return [row["id"] for row in made]

    ids = run(database_url, body)
    assert [place[1:3] for place in places(sync_engine, ids)] == [("W1", "S1"), ("W3", "S1")]
