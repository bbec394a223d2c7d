"""SQL for survey progress: one statement per figure set, every count a GROUP BY in PostgreSQL.

Places: per settlement, per ward and the city, households surveyed (the household form's
surveys not rejected) against the settlements' estimates, and surveys by review status.
Volunteers: per volunteer and day (in Vietnam's time), surveys sent and their review status.
Only a volunteer's account name and username are read, never phones or e-mails.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# Days are the days of the field teams (Vietnam has no daylight saving time).
TIME_ZONE = "Asia/Ho_Chi_Minh"

_COUNTS = """
    count(*) FILTER (WHERE h.form_id = :form AND h.status <> 'rejected') AS households,
    count(*) AS surveys,
    count(*) FILTER (WHERE h.status = 'received') AS waiting,
    count(*) FILTER (WHERE h.status = 'approved') AS approved,
    count(*) FILTER (WHERE h.status = 'needs_correction') AS needs_correction,
    count(*) FILTER (WHERE h.status = 'rejected') AS rejected"""

_FIGURES = ("households", "surveys", "waiting", "approved", "needs_correction", "rejected")
_ZERO = ", ".join(f"coalesce(f.{name}, 0) AS {name}" for name in _FIGURES)

# `:wards` NULL: the whole city; else only these wards (a ward leader's part), both for the
# surveys counted and for the settlements and wards listed.
# The figures summed from every survey (the reference the tests compare the tallies with).
_FIGURES_FROM_SURVEYS = f"""figures AS (
  -- grouping_set: 1 per settlement, 2 per ward, 3 the whole (bit set: column rolled up)
  SELECT GROUPING(h.settlement_id, h.ward_id) AS grouping_set,
         h.settlement_id, h.ward_id, {_COUNTS}
  FROM household_surveys h
  WHERE h.city_id = :city_id
    AND (CAST(:wards AS int[]) IS NULL OR h.ward_id = ANY(CAST(:wards AS int[])))
  GROUP BY GROUPING SETS ((h.settlement_id), (h.ward_id), ())
)"""
# The same from household_tallies (migration 0013: surveys counted per settlement, ward, form
# and status, kept by triggers as they are written). 0 there is no place (NULL here).
_SUMS = _COUNTS.replace("count(*)", "sum(h.households)")
_FIGURES_FROM_TALLIES = f"""figures AS (
  SELECT GROUPING(nullif(h.settlement_id, 0), nullif(h.ward_id, 0)) AS grouping_set,
         nullif(h.settlement_id, 0) AS settlement_id, nullif(h.ward_id, 0) AS ward_id,
         {_SUMS}
  FROM household_tallies h
  WHERE h.city_id = :city_id
    AND (CAST(:wards AS int[]) IS NULL OR h.ward_id = ANY(CAST(:wards AS int[])))
  GROUP BY GROUPING SETS ((nullif(h.settlement_id, 0)), (nullif(h.ward_id, 0)), ())
  -- A group whose surveys all left: as if it had none (the whole city's row stays).
  HAVING sum(h.households) > 0
      OR GROUPING(nullif(h.settlement_id, 0), nullif(h.ward_id, 0)) = 3
)"""
_PLACES_AROUND = f"""
WITH {{figures}}, listed AS (
  SELECT s.* FROM settlements s
  WHERE s.city_id = :city_id
    AND (CAST(:wards AS int[]) IS NULL OR s.ward_id = ANY(CAST(:wards AS int[])))
), estimates AS (
  SELECT GROUPING(s.ward_id) AS whole_city, s.ward_id,
         count(*) AS settlements,
         count(*) FILTER (WHERE s.households_estimate IS NULL) AS without_estimate,
         sum(s.households_estimate) AS estimate
  FROM listed s
  GROUP BY GROUPING SETS ((s.ward_id), ())
), places AS (
  SELECT 'settlement' AS level, s.id, s.code, s.name, s.ward_id, w.name AS ward_name,
         1 AS settlements, CASE WHEN s.households_estimate IS NULL THEN 1 ELSE 0 END
           AS without_estimate, s.households_estimate AS estimate, {_ZERO}
  FROM listed s
  LEFT JOIN wards w ON w.id = s.ward_id
  LEFT JOIN figures f ON f.grouping_set = 1 AND f.settlement_id = s.id
  UNION ALL
  SELECT 'ward', w.id, w.code, w.name, w.id, w.name,
         coalesce(e.settlements, 0), coalesce(e.without_estimate, 0), e.estimate, {_ZERO}
  FROM wards w
  LEFT JOIN estimates e ON e.whole_city = 0 AND e.ward_id = w.id
  LEFT JOIN figures f ON f.grouping_set = 2 AND f.ward_id = w.id
  WHERE w.city_id = :city_id
    AND (CAST(:wards AS int[]) IS NULL OR w.id = ANY(CAST(:wards AS int[])))
  UNION ALL
  -- Surveys in no settlement, and (for the whole city) in no ward.
  SELECT 'outside_settlements', NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, {_ZERO}
  FROM figures f WHERE f.grouping_set = 1 AND f.settlement_id IS NULL
  UNION ALL
  SELECT 'outside_wards', NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, {_ZERO}
  FROM figures f WHERE f.grouping_set = 2 AND f.ward_id IS NULL
  UNION ALL
  SELECT 'total', NULL, NULL, NULL, NULL, NULL,
         coalesce(e.settlements, 0), coalesce(e.without_estimate, 0), e.estimate, {_ZERO}
  FROM (SELECT 1) one
  LEFT JOIN estimates e ON e.whole_city = 1
  LEFT JOIN figures f ON f.grouping_set = 3
)
SELECT p.*,
       -- Unknown (NULL) unless every settlement counted has an estimate above zero.
       CASE WHEN p.without_estimate = 0 AND p.estimate > 0
            THEN p.households::float8 / p.estimate END AS share_surveyed
FROM places p
ORDER BY CASE p.level WHEN 'ward' THEN 0 WHEN 'settlement' THEN 1 ELSE 2 END,
         p.code, p.id, p.level
"""
PLACES_FROM_SURVEYS = _PLACES_AROUND.replace("{figures}", _FIGURES_FROM_SURVEYS)
_PLACES = _PLACES_AROUND.replace("{figures}", _FIGURES_FROM_TALLIES)

_VOLUNTEERS = f"""
WITH grouped AS (
  -- Grouped first, the accounts joined to the few grouped rows afterwards.
  SELECT (h.collected_at AT TIME ZONE :zone)::date AS day, h.collector_user_id AS user_id,
         -- surveys loaded from files have no account: the phone's collector name stands in
         CASE WHEN h.collector_user_id IS NULL THEN h.collector END AS collector,
         {_COUNTS}
  FROM household_surveys h
  WHERE h.city_id = :city_id
    AND h.collected_at >= (CAST(:first_day AS date)::timestamp AT TIME ZONE :zone)
    AND h.collected_at < ((CAST(:last_day AS date) + 1)::timestamp AT TIME ZONE :zone)
    AND (CAST(:wards AS int[]) IS NULL OR h.ward_id = ANY(CAST(:wards AS int[])))
    AND (CAST(:collector AS int) IS NULL OR h.collector_user_id = CAST(:collector AS int))
  GROUP BY 1, 2, 3
)
SELECT g.*, u.username, u.display_name
FROM grouped g
LEFT JOIN users u ON u.id = g.user_id
ORDER BY g.day, coalesce(u.display_name, g.collector), g.user_id, g.collector
"""


async def place_figures(
    connection: AsyncConnection,
    city_id: int,
    wards: Sequence[int] | None,
    household_form: str,
) -> list[dict[str, Any]]:
    """Rows by level (ward, settlement, outside_settlements, outside_wards, total) with
    households surveyed, estimate, share surveyed and surveys by review status."""
    rows = await connection.execute(
        text(_PLACES),
        {
            "city_id": city_id,
            "wards": None if wards is None else sorted(wards),
            "form": household_form,
        },
    )
    return [dict(row._mapping) for row in rows]


async def volunteer_days(
    connection: AsyncConnection,
    city_id: int,
    first_day: date,
    last_day: date,
    household_form: str,
    wards: Sequence[int] | None = None,
    collector_user_id: int | None = None,
) -> list[dict[str, Any]]:
    """Per day and volunteer (first_day..last_day, Vietnam time): surveys and their status."""
    rows = await connection.execute(
        text(_VOLUNTEERS),
        {
            "city_id": city_id,
            "zone": TIME_ZONE,
            "first_day": first_day,
            "last_day": last_day,
            "form": household_form,
            "wards": None if wards is None else sorted(wards),
            "collector": collector_user_id,
        },
    )
    return [dict(row._mapping) for row in rows]
