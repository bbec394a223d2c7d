"""SQL for the national view: every member city's survey figures in one statement."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.indicators import (
    HOUSEHOLD_FORM,
    Counted,
    DeficiencyRule,
    _checked,
    _deficient,
    households_where,
    tallied,
)
from app.db.sql import sql_literal


def national_sql(
    rules: Sequence[DeficiencyRule],
    surveys: Counted,
    household_form: str = HOUSEHOLD_FORM,
    use_tallies: bool = True,
) -> str:
    """One row per city of :city_ids: households surveyed (in all and in settlements), the
    settlements and their estimated households, the city's priority score (its shares), the
    average of its settlements' scores, upgrading projects done, and a point for the map.

    The counts come from household_tallies when it holds the rules (and `use_tallies`), or
    are summed from every survey's answers (the reference the tests compare with)."""
    flags, counts, numerator, denominator = [], [], [], []
    for rule in rules:
        key = _checked(rule.key)
        flags.append(
            f"a.{_checked(rule.question)} IS NOT NULL AS answered_{key}, "
            f"coalesce({_deficient(rule)}, false) AS lacks_{key}"
        )
        counts.append(
            f"count(*) FILTER (WHERE answered_{key}) AS n_{key}, "
            f"count(*) FILTER (WHERE lacks_{key}) AS d_{key}"
        )
        weight = f"CAST(:w_{key} AS float8)"
        numerator.append(f"coalesce({weight} * d_{key}::float8 / nullif(n_{key}, 0), 0)")
        denominator.append(f"CASE WHEN n_{key} > 0 THEN {weight} ELSE 0 END")
    if use_tallies and tallied(rules):
        # Summed from household_tallies (migration 0013), kept current by triggers.
        sums = ", ".join(
            f"coalesce(sum(h.{p}_{_checked(rule.key)}), 0) AS {p}_{rule.key}"
            for rule in rules
            for p in ("n", "d")
        )
        agg = f"""agg AS (
  SELECT GROUPING(nullif(h.settlement_id, 0)) AS level, h.city_id,
         nullif(h.settlement_id, 0) AS settlement_id, sum(h.households) AS households,
         max(h.last_collected_at) AS last_collected_at, {sums}
  FROM household_tallies h
  WHERE h.city_id = ANY(:city_ids) AND {households_where(surveys, household_form)}
  GROUP BY GROUPING SETS ((h.city_id, nullif(h.settlement_id, 0)), (h.city_id))
  HAVING sum(h.households) > 0  -- a group whose surveys all left: as if it had none
)"""
    else:
        questions = dict.fromkeys(_checked(rule.question) for rule in rules)
        record = ", ".join(f"h.answers->>{sql_literal(q)} AS {q}" for q in questions)
        agg = f"""surveyed AS (
  SELECT a.city_id, a.settlement_id, a.collected_at, {", ".join(flags)}
  FROM (
    SELECT h.city_id, h.settlement_id, h.collected_at, {record}
    FROM household_surveys h
    WHERE h.city_id = ANY(:city_ids) AND {households_where(surveys, household_form)}
    OFFSET 0
  ) a
), agg AS (
  SELECT GROUPING(settlement_id) AS level, city_id, settlement_id, count(*) AS households,
         max(collected_at) AS last_collected_at, {", ".join(counts)}
  FROM surveyed
  GROUP BY GROUPING SETS ((city_id, settlement_id), (city_id))
)"""
    return f"""
WITH {agg}, scored AS (
  SELECT level, city_id, settlement_id, households, last_collected_at,
         100.0 * ({" + ".join(numerator)}) / nullif({" + ".join(denominator)}, 0) AS score
  FROM agg
), by_city AS (
  SELECT city_id,
         sum(households) FILTER (WHERE level = 0 AND settlement_id IS NOT NULL)
           AS households_in_settlements,
         avg(score) FILTER (WHERE level = 0 AND settlement_id IS NOT NULL)
           AS average_settlement_priority
  FROM scored GROUP BY city_id
)
SELECT c.id, c.slug, c.name, c.province, coalesce(t.households, 0) AS households,
       coalesce(b.households_in_settlements, 0) AS households_in_settlements,
       t.last_collected_at, t.score AS priority_score, b.average_settlement_priority,
       coalesce(st.settlements, 0) AS settlements,
       coalesce(st.households_estimate, 0) AS households_estimate,
       coalesce(wd.wards, 0) AS wards,
       coalesce(pr.done, 0) AS projects_done, coalesce(pr.all_projects, 0) AS projects,
       ST_X(ST_Centroid(wd.extent::geometry)) AS lon,
       ST_Y(ST_Centroid(wd.extent::geometry)) AS lat
FROM cities c
LEFT JOIN scored t ON t.level = 1 AND t.city_id = c.id
LEFT JOIN by_city b ON b.city_id = c.id
LEFT JOIN LATERAL (
  SELECT count(*) AS settlements, sum(households_estimate) AS households_estimate
  FROM settlements s WHERE s.city_id = c.id) st ON true
LEFT JOIN LATERAL (
  SELECT count(*) AS wards, ST_Extent(geom) AS extent FROM wards w WHERE w.city_id = c.id) wd
  ON true
LEFT JOIN LATERAL (
  SELECT count(*) FILTER (WHERE p.status = 'done') AS done, count(*) AS all_projects
  FROM cdf_projects p WHERE p.city_id = c.id) pr ON true
WHERE c.id = ANY(:city_ids)
ORDER BY c.name, c.id
"""


async def national_rows(
    connection: AsyncConnection,
    city_ids: Sequence[int],
    rules: Sequence[DeficiencyRule],
    weights: Mapping[str, float],
    surveys: Counted,
    household_form: str = HOUSEHOLD_FORM,
) -> list[dict[str, Any]]:
    """The national figures of those cities (see national_sql)."""
    params: dict[str, Any] = {"city_ids": list(city_ids)}
    params.update({f"w_{rule.key}": float(weights.get(rule.key, 0.0)) for rule in rules})
    rows = await connection.execute(text(national_sql(rules, surveys, household_form)), params)
    return [dict(row._mapping) for row in rows]


async def all_city_ids(connection: AsyncConnection) -> list[dict[str, Any]]:
    """Every city's id and whether its aggregates are public."""
    rows = await connection.execute(text("SELECT id, public_aggregates FROM cities ORDER BY id"))
    return [dict(row._mapping) for row in rows]
