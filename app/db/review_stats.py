"""Queries for the review page: the wards a reviewer may open, and a ward's review counts
per volunteer and per settlement.

A settlement may straddle wards (boundary files draw them so): its surveys are each in the
ward of their own point, which decides who reviews them, so a ward's counts are of its own
surveys, in its settlements and in the settlements of other wards that reach into it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.submissions import NOT_AWAITING_CHECK

# A volunteer is the account that sent the survey; surveys stored without one (loaded from
# files by the command line) are grouped by the collector name their phone wrote.
_VOLUNTEER_KEY = (
    "CASE WHEN h.collector_user_id IS NOT NULL THEN 'u' || h.collector_user_id "
    "ELSE 'c:' || coalesce(h.collector, '') END"
)


async def wards_in(
    connection: AsyncConnection,
    everything: bool,
    ward_ids: Iterable[int],
    city_ids: Iterable[int],
) -> list[dict[str, Any]]:
    """Wards by id, and every ward of the given cities (every ward at all with
    `everything`), with their city, by city then ward code."""
    rows = await connection.execute(
        text(
            """
SELECT w.id, w.code, w.name, w.city_id, c.slug AS city, c.name AS city_name
FROM wards w JOIN cities c ON c.id = w.city_id
WHERE :everything OR w.id = ANY(:wards) OR w.city_id = ANY(:cities)
ORDER BY c.name, c.id, w.code, w.id
"""
        ),
        {"everything": everything, "wards": sorted(ward_ids), "cities": sorted(city_ids)},
    )
    return [dict(row._mapping) for row in rows]


async def volunteer_counts(connection: AsyncConnection, ward_id: int) -> list[dict[str, Any]]:
    """Per volunteer of a ward: surveys by review status, flagged surveys, and how many carry
    each flag; the volunteers with most surveys waiting first."""
    rows = await connection.execute(
        text(
            f"""
WITH surveys AS (
  SELECT {_VOLUNTEER_KEY} AS key, h.collector_user_id, h.collector, h.status, h.flags
  FROM household_surveys h WHERE h.ward_id = :ward_id
), flag_counts AS (
  SELECT key, jsonb_object_agg(flag, n) AS flags
  FROM (SELECT key, flag, count(*) AS n FROM surveys, unnest(flags) AS flag GROUP BY 1, 2) f
  GROUP BY key
)
SELECT s.key, s.collector_user_id AS user_id, u.username, u.display_name,
       min(s.collector) AS collector,
       count(*) AS total,
       count(*) FILTER (WHERE s.status = 'received') AS received,
       count(*) FILTER (WHERE s.status = 'approved') AS approved,
       count(*) FILTER (WHERE s.status = 'needs_correction') AS needs_correction,
       count(*) FILTER (WHERE s.status = 'rejected') AS rejected,
       count(*) FILTER (WHERE cardinality(s.flags) > 0) AS flagged,
       coalesce(min(fc.flags::text), '{{}}')::jsonb AS flags
FROM surveys s
LEFT JOIN users u ON u.id = s.collector_user_id
LEFT JOIN flag_counts fc ON fc.key = s.key
GROUP BY s.key, s.collector_user_id, u.username, u.display_name
ORDER BY received DESC, total DESC, coalesce(u.display_name, min(s.collector)), s.key
"""
        ),
        {"ward_id": ward_id},
    )
    return [dict(row._mapping) for row in rows]


async def settlement_counts(
    connection: AsyncConnection, ward_id: int, reader_id: int | None = None
) -> list[dict[str, Any]]:
    """Per settlement of a ward, or of another ward but holding surveys of this one: the
    ward's surveys there waiting for review, those of them without flags (what one bulk
    approval of the ward's would take: none whose duplicate check is still queued), and of
    those the ones `reader_id` collected (`own_unflagged`: their bulk approval leaves them)."""
    rows = await connection.execute(
        text(
            f"""
SELECT s.id, s.code, s.name,
       count(h.id) FILTER (WHERE h.status = 'received') AS received,
       count(h.id) FILTER (WHERE h.status = 'received' AND cardinality(h.flags) = 0
                           AND {NOT_AWAITING_CHECK}) AS received_unflagged,
       count(h.id) FILTER (WHERE h.status = 'received' AND cardinality(h.flags) = 0
                           AND {NOT_AWAITING_CHECK}
                           AND h.collector_user_id = :reader_id) AS own_unflagged
FROM settlements s
LEFT JOIN household_surveys h ON h.settlement_id = s.id AND h.ward_id = :ward_id
WHERE s.ward_id = :ward_id
   OR s.id IN (SELECT settlement_id FROM household_surveys WHERE ward_id = :ward_id)
GROUP BY s.id, s.code, s.name
ORDER BY s.code, s.id
"""
        ),
        {"ward_id": ward_id, "reader_id": reader_id},
    )
    return [dict(row._mapping) for row in rows]


async def unplaced_received(connection: AsyncConnection, ward_id: int) -> int:
    """Surveys of a ward waiting for review that lie in no settlement."""
    found = await connection.execute(
        text(
            "SELECT count(*) FROM household_surveys "
            "WHERE ward_id = :ward_id AND settlement_id IS NULL AND status = 'received'"
        ),
        {"ward_id": ward_id},
    )
    return int(found.scalar_one())


async def settlement_survey_wards(connection: AsyncConnection, settlement_id: int) -> set[int]:
    """The wards holding surveys of a settlement (its own, and others it reaches into)."""
    rows = await connection.execute(
        text(
            "SELECT DISTINCT ward_id FROM household_surveys "
            "WHERE settlement_id = :settlement_id AND ward_id IS NOT NULL"
        ),
        {"settlement_id": settlement_id},
    )
    return {int(ward) for ward in rows.scalars()}
