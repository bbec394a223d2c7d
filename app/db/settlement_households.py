"""The surveyed households of one settlement for its printed meeting map, in survey order."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.indicators import HOUSEHOLD_FORM, Counted, households_where

NAME_QUESTION = "head_name"  # the personal answer printed for those who may see it


async def settlement_households(
    connection: AsyncConnection,
    settlement_id: int,
    question: str,
    *,
    with_names: bool,
    surveys: Counted = "approved",
    household_form: str = HOUSEHOLD_FORM,
) -> list[dict[str, Any]]:
    """lon, lat, the answer to `question`, the survey day (Vietnam time), its place and
    collector (city_id, ward_id, collector_user_id: who may see it and its name), its review
    status and, only
    `with_names`, the head of household's name, of each counted household placed in the
    settlement; ordered by survey time (then id), so a number means the same household on
    every print of the same data."""
    name = f"h.answers->>'{NAME_QUESTION}'" if with_names else "NULL"
    rows = await connection.execute(
        text(
            "SELECT ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat, h.answers->>:question AS answer, "
            "h.city_id, h.ward_id, h.collector_user_id, h.status, "
            "to_char(h.collected_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD') "
            f"AS surveyed_on, {name} AS name "
            "FROM household_surveys h WHERE h.settlement_id = :settlement_id "
            f"AND h.geom IS NOT NULL AND {households_where(surveys, household_form)} "
            "ORDER BY h.collected_at, h.id"
        ),
        {"settlement_id": settlement_id, "question": question},
    )
    return [dict(row._mapping) for row in rows]
