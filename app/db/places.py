"""Queries on cities, wards and settlements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.indicators import HOUSEHOLD_FORM, Counted, households_where
from app.db.scope import EVERY_SURVEY, SurveyScope


def _households(place: str, counted: str) -> str:
    """SQL: the households counted in a place (`place`: a condition on the tallies `h`;
    `counted`: _counted's), from the tallies: a few rows per settlement."""
    return f"""(SELECT coalesce(sum(h.households), 0)::bigint FROM household_tallies h
         WHERE {place} AND ({counted}))"""


def _counted(
    surveys: Counted, household_form: str, waiting: SurveyScope
) -> tuple[str, dict[str, Any]]:
    """SQL condition on the tallies `h` and its parameters: the households as indicators
    count them (approved surveys of the household form, or with `surveys="all"` every one not
    rejected), those still waiting for review only in the places `waiting` may read."""
    if surveys == "approved" or waiting.everything:
        return households_where(surveys, household_form), {}
    readable, params = waiting.sql("h")
    approved = households_where("approved", household_form)
    return f"({approved}) OR ({households_where(surveys, household_form)} AND {readable})", params


async def list_cities(
    connection: AsyncConnection,
    household_form: str = HOUSEHOLD_FORM,
    surveys: Counted = "approved",
    waiting: SurveyScope = EVERY_SURVEY,
) -> list[dict[str, Any]]:
    """Every city with counts (households: as indicators count them, see _counted) and its
    extent [west, south, east, north]."""
    counted, params = _counted(surveys, household_form, waiting)
    rows = await connection.execute(
        text(
            f"""
SELECT c.id, c.slug, c.name, c.province,
       (SELECT count(*) FROM wards w WHERE w.city_id = c.id) AS wards,
       (SELECT count(*) FROM settlements s WHERE s.city_id = c.id) AS settlements,
       {_households("h.city_id = c.id", counted)} AS households,
       (SELECT ARRAY[ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)]
          FROM (SELECT ST_Extent(w.geom) AS e FROM wards w WHERE w.city_id = c.id) x) AS bbox
FROM cities c ORDER BY c.name
"""
        ),
        params,
    )
    return [dict(row._mapping) for row in rows]


async def city_by_slug(
    connection: AsyncConnection, slug: str, for_update: bool = False
) -> dict[str, Any] | None:
    """One city by slug (its row locked until the transaction ends, `for_update`)."""
    lock = " FOR UPDATE" if for_update else ""
    row = (
        await connection.execute(
            text(
                "SELECT id, slug, name, province, public_aggregates FROM cities "
                f"WHERE slug = :slug{lock}"
            ),
            {"slug": slug},
        )
    ).first()
    return dict(row._mapping) if row else None


async def list_wards(
    connection: AsyncConnection,
    city_id: int,
    household_form: str = HOUSEHOLD_FORM,
    surveys: Counted = "approved",
    waiting: SurveyScope = EVERY_SURVEY,
) -> list[dict[str, Any]]:
    """Wards of a city with their household (as indicators count them, see _counted) and
    settlement counts."""
    counted, params = _counted(surveys, household_form, waiting)
    rows = await connection.execute(
        text(
            f"""
SELECT w.id, w.code, w.name, w.city_id,
       (SELECT count(*) FROM settlements s WHERE s.ward_id = w.id) AS settlements,
       {_households("h.city_id = w.city_id AND h.ward_id = w.id", counted)} AS households,
       round((ST_Area(w.geom::geography) / 1e6)::numeric, 3)::float8 AS area_km2
FROM wards w WHERE w.city_id = :city_id ORDER BY w.code
"""
        ),
        {"city_id": city_id, **params},
    )
    return [dict(row._mapping) for row in rows]


async def ward_by_id(connection: AsyncConnection, ward_id: int) -> dict[str, Any] | None:
    """One ward with its city."""
    row = (
        await connection.execute(
            text(
                "SELECT w.id, w.code, w.name, w.city_id, c.slug AS city, c.name AS city_name, "
                "c.public_aggregates "
                "FROM wards w JOIN cities c ON c.id = w.city_id WHERE w.id = :id"
            ),
            {"id": ward_id},
        )
    ).first()
    return dict(row._mapping) if row else None


async def list_settlements(
    connection: AsyncConnection,
    ward_id: int,
    household_form: str = HOUSEHOLD_FORM,
    surveys: Counted = "approved",
    waiting: SurveyScope = EVERY_SURVEY,
) -> list[dict[str, Any]]:
    """Settlements of a ward with their profile and household counts (as indicators count
    them, see _counted: a settlement's surveys in every ward its polygon reaches)."""
    counted, params = _counted(surveys, household_form, waiting)
    rows = await connection.execute(
        text(
            f"""
SELECT s.id, s.code, s.name, s.ward_id, s.households_estimate, s.year_settled, s.land_type,
       s.threats,
       {_households("h.city_id = s.city_id AND h.settlement_id = s.id", counted)} AS households,
       round((ST_Area(s.geom::geography))::numeric, 0)::float8 AS area_m2
FROM settlements s WHERE s.ward_id = :ward_id ORDER BY s.code
"""
        ),
        {"ward_id": ward_id, **params},
    )
    return [dict(row._mapping) for row in rows]


async def all_cities(connection: AsyncConnection) -> list[dict[str, Any]]:
    """Every city with its ward and settlement counts and whether it is published."""
    rows = await connection.execute(
        text(
            "SELECT c.id, c.slug, c.name, c.province, c.public_aggregates, "
            "(SELECT count(*) FROM wards w WHERE w.city_id = c.id) AS wards, "
            "(SELECT count(*) FROM settlements s WHERE s.city_id = c.id) AS settlements "
            "FROM cities c ORDER BY c.name, c.slug"
        )
    )
    return [dict(row._mapping) for row in rows]


async def set_public(connection: AsyncConnection, city_id: int, public: bool) -> None:
    """Publish a city's aggregate maps and indicators, or stop."""
    await connection.execute(
        text("UPDATE cities SET public_aggregates = :public WHERE id = :id"),
        {"public": public, "id": city_id},
    )


async def cities_weights(
    connection: AsyncConnection, city_ids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """The cities' own priority weights as stored, by city id (those without their own, which
    use the common ones, are left out)."""
    rows = await connection.execute(
        text(
            "SELECT id, priority_weights::text FROM cities "
            "WHERE id = ANY(:ids) AND priority_weights IS NOT NULL"
        ),
        {"ids": list(city_ids)},
    )
    return {row[0]: orjson.loads(row[1]) for row in rows}


async def set_weights(
    connection: AsyncConnection, city_id: int, weights: dict[str, float] | None
) -> None:
    """Store a city's own priority weights, or forget them (None: the common ones)."""
    await connection.execute(
        text("UPDATE cities SET priority_weights = CAST(:weights AS jsonb) WHERE id = :id"),
        {"weights": None if weights is None else orjson.dumps(weights).decode(), "id": city_id},
    )


async def wards_by_ids(connection: AsyncConnection, ward_ids: list[int]) -> list[dict[str, Any]]:
    """Wards by id, by name."""
    rows = await connection.execute(
        text("SELECT id, name, city_id FROM wards WHERE id = ANY(:ids) ORDER BY name"),
        {"ids": ward_ids},
    )
    return [dict(row._mapping) for row in rows]


async def settlement_by_id(
    connection: AsyncConnection, settlement_id: int
) -> dict[str, Any] | None:
    """A settlement's place: its city (id and slug as `city`) and ward (None: in no ward)."""
    row = (
        await connection.execute(
            text(
                "SELECT s.id, s.city_id, s.ward_id, c.slug AS city FROM settlements s "
                "JOIN cities c ON c.id = s.city_id WHERE s.id = :id"
            ),
            {"id": settlement_id},
        )
    ).first()
    return dict(row._mapping) if row else None
