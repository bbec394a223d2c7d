"""The printed ward map's households from PostGIS (app/db/indicators.household_points): the
counted surveys only, each with its answer's code, as the print draws them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, text

from app.db.engine import make_engine
from app.db.indicators import household_points
from app.forms.registry import FormRegistry
from app.geo.styles import POINT_STYLE_BY_KEY
from app.settings import Settings
from tests.aio import run
from tests.integration.test_maps_web import load_households

WATER = POINT_STYLE_BY_KEY["water"]


def _fetch(
    settings: Settings, ward_id: int, answers: tuple[str, Any] | None, surveys: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    async def fetch() -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        engine = make_engine(settings.async_database_url)
        try:
            async with engine.connect() as connection:
                city_id = (
                    await connection.execute(
                        text("SELECT city_id FROM wards WHERE id = :id"), {"id": ward_id}
                    )
                ).scalar_one()
                return await household_points(connection, city_id, ward_id, answers, surveys)
        finally:
            await engine.dispose()

    return run(fetch())


@pytest.mark.parametrize(
    ("surveys", "counted"), [("approved", "= 'approved'"), ("all", "<> 'rejected'")]
)
def test_the_print_gets_the_counted_households_with_their_answers(
    settings: Settings,
    clean_surveys: None,
    sync_engine: Engine,
    forms: FormRegistry,
    surveys: str,
    counted: str,
) -> None:
    load_households(sync_engine, forms, 600)
    with sync_engine.begin() as connection:
        ward_id = connection.execute(
            text(
                "SELECT ward_id FROM household_surveys WHERE ward_id IS NOT NULL "
                "GROUP BY ward_id ORDER BY count(*) DESC LIMIT 1"
            )
        ).scalar_one()
        ids = [
            str(row[0])
            for row in connection.execute(
                text("SELECT id FROM household_surveys WHERE ward_id = :ward ORDER BY id"),
                {"ward": ward_id},
            )
        ]
        # Surveys that do not count as approved (or at all), one without a location, one
        # whose answer is not one the map colours, one with no answer.
        for status, chosen in (
            ("rejected", ids[0:8]),
            ("received", ids[8:16]),
            ("needs_correction", ids[16:22]),
        ):
            connection.execute(
                text(
                    "UPDATE household_surveys SET status = :status "
                    "WHERE id = ANY(CAST(:ids AS uuid[]))"
                ),
                {"status": status, "ids": chosen},
            )
        connection.execute(
            text("UPDATE household_surveys SET geom = NULL WHERE id = CAST(:id AS uuid)"),
            {"id": ids[22]},
        )
        connection.execute(
            text(
                'UPDATE household_surveys SET answers = answers || \'{"water_source": "river"}\' '
                "WHERE id = CAST(:id AS uuid)"
            ),
            {"id": ids[23]},
        )
        connection.execute(
            text(
                "UPDATE household_surveys SET answers = answers - 'water_source' "
                "WHERE id = CAST(:id AS uuid)"
            ),
            {"id": ids[24]},
        )
        expected = connection.execute(
            text(
                "SELECT ST_X(geom), ST_Y(geom), answers->>'water_source' FROM household_surveys "
                f"WHERE ward_id = :ward AND geom IS NOT NULL AND status {counted} "
                "AND form_id = 'household'"
            ),
            {"ward": ward_id},
        ).all()
    assert 20 < len(expected) < len(ids) - 8
    codes = {value: index for index, value in enumerate(WATER.values)}
    wanted = sorted(
        (lon, lat, codes.get(answer or "", len(WATER.values))) for lon, lat, answer in expected
    )
    assert any(code == len(WATER.values) for *_, code in wanted)  # "river" and no answer

    lon, lat, got_codes = _fetch(settings, ward_id, (WATER.question, WATER.values), surveys)
    assert got_codes is not None and lon.dtype == np.float64 and got_codes.dtype == np.int16
    assert sorted(zip(lon.tolist(), lat.tolist(), got_codes.tolist(), strict=True)) == wanted

    lon, lat, no_codes = _fetch(settings, ward_id, None, surveys)
    assert no_codes is None
    assert sorted(zip(lon.tolist(), lat.tolist(), strict=True)) == [(x, y) for x, y, _ in wanted]


def test_a_ward_without_households_prints_none(
    settings: Settings, clean_surveys: None, sync_engine: Engine
) -> None:
    with sync_engine.connect() as connection:
        ward_id = connection.execute(text("SELECT min(id) FROM wards")).scalar_one()
    lon, lat, codes = _fetch(settings, ward_id, (WATER.question, WATER.values), "approved")
    assert len(lon) == len(lat) == 0 and codes is not None and len(codes) == 0
