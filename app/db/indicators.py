"""SQL for upgrading indicators: settlement, ward and city figures in one statement.

The counts come from `household_tallies` (migration 0013: per settlement, ward, form, status
and shard, kept by triggers in the transaction that writes the surveys, so never stale), or,
for rules it does not hold or a filter it cannot answer (an export's collection time), from
one GROUP BY over the surveys' answers. Either way the figures are summed by GROUPING SETS,
and the priority score and the ranks (window functions) are computed in the same statement.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

import numpy as np
import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.scope import EVERY_SURVEY, SurveyScope
from app.db.sql import sql_literal

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# Which surveys count in indicators, scores and maps: those a reviewer approved (the
# default), or every survey not rejected (to see the picture before review ends).
Counted = Literal["approved", "all"]
COUNTED: dict[str, str] = {
    "approved": "h.status = 'approved'",
    "all": "h.status <> 'rejected'",
}
# Only the household form's surveys are households: a settlement profile (or any other form)
# is stored in the same table but never counted, scored or mapped as a household. The server
# is told which form that is (settings.household_form, HOUSEHOLD_FORM in the environment).
HOUSEHOLD_FORM = "household"
# A score is shown, stored and exported with one decimal; ranks and colour classes use the
# score as shown, so two places that show the same score share a rank and a class (the float
# sums behind a score put 0.1 + 0.2 above 0.3: equal scores ranked 4th and 5th).
SCORE_DECIMALS = 1


def shown_score_sql(score: str) -> str:
    """SQL: the score `score` (float8) as shown, a numeric of SCORE_DECIMALS places.

    PostgreSQL turns a float8 into numeric by its 15 significant digits (float noise gone:
    0.30000000000000004 is 0.3), then rounds half up: shown_score is the same in Python."""
    return f"round(({score})::numeric, {SCORE_DECIMALS})"


def shown_score(score: float | None) -> float | None:
    """A score as shown (docs/maps.md): half up to SCORE_DECIMALS places from its 15
    significant digits, as shown_score_sql rounds in PostgreSQL."""
    if score is None:
        return None
    step = Decimal(1).scaleb(-SCORE_DECIMALS)
    return float(Decimal(f"{float(score):.15g}").quantize(step, ROUND_HALF_UP))


def households_where(surveys: Counted, household_form: str = HOUSEHOLD_FORM) -> str:
    """The SQL condition on `h` for the surveys counted as households."""
    return f"h.form_id = {sql_literal(household_form)} AND {COUNTED[surveys]}"


def waiting_where(waiting: SurveyScope) -> str | None:
    """SQL on `h` (the surveys or their tallies): approved surveys, and any other only in the
    places `waiting` may read; None where it may read every place.

    Why: with `surveys="all"` a ward's leader asks for their ward, but the same statement
    sums the whole city (its row, the ranks) and a settlement reaching into another ward:
    that ward's unreviewed households must not show through. By place, not by collector:
    the tallies hold no collector. The ids are integers, written in (no parameters), so the
    condition fits both the named (:city_id) and the numbered ($1) forms of the statement.
    """
    if waiting.everything:
        return None
    places = [
        f"h.{column} IN ({', '.join(str(int(i)) for i in sorted(ids))})"
        for column, ids in (("city_id", waiting.cities), ("ward_id", waiting.wards))
        if ids
    ]
    return f"(h.status = 'approved' OR {' OR '.join(places) or 'FALSE'})"


@dataclass(frozen=True)
class DeficiencyRule:
    """An indicator as SQL: households whose `question` answer is (or is not) one of `values`."""

    key: str
    question: str
    values: tuple[str, ...]
    negate: bool = False  # True: deficient when the answer is NOT one of `values`


# The rules household_tallies counts (migration 0013 holds the same, frozen): the tallies
# answer only these; any other rule set is summed from the surveys.
TALLIED_RULES: tuple[DeficiencyRule, ...] = (
    DeficiencyRule(
        "insecure_tenure", "tenure", ("papers_only", "renting", "public_land", "relatives")
    ),
    DeficiencyRule("no_piped_water", "water_source", ("piped",), negate=True),
    DeficiencyRule("no_own_toilet", "sanitation", ("own_toilet",), negate=True),
    DeficiencyRule("floods_often", "flooding", ("yearly", "often")),
    DeficiencyRule("temporary_house", "house_condition", ("temporary", "dilapidated")),
    DeficiencyRule("no_own_electricity", "electricity", ("own_meter",), negate=True),
    DeficiencyRule("no_car_access", "lane_access", ("car",), negate=True),
    DeficiencyRule("no_waste_collection", "waste", ("collected",), negate=True),
)


def tallied(rules: Sequence[DeficiencyRule]) -> bool:
    """Whether household_tallies holds the counts of every one of these rules."""
    return all(rule in TALLIED_RULES for rule in rules)


def _checked(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"not a safe SQL name: {name!r}")
    return name


def _deficient(rule: DeficiencyRule) -> str:
    answer = f"a.{_checked(rule.question)}"
    values = ", ".join(sql_literal(v) for v in rule.values)
    operator = "NOT IN" if rule.negate else "IN"
    return f"{answer} IS NOT NULL AND {answer} {operator} ({values})"


def indicators_sql(
    rules: Sequence[DeficiencyRule],
    ward_only: bool = False,
    surveys: Counted = "approved",
    household_form: str = HOUSEHOLD_FORM,
    counted_sql: str | None = None,
    waiting: SurveyScope = EVERY_SURVEY,
) -> str:
    """The statement: one row per settlement, ward and the city, with shares, score and ranks.

    Parameters: :city_id and one :w_<key> weight per rule. With `ward_only`, also :ward_id:
    the ward's and its settlements' rows are right; the city row and ranks in the city are
    only right when the counts come from the tallies (which read the whole city anyway).
    `counted_sql`, a condition on `h`, names the household surveys counted instead of
    `surveys` (an export's status and collection time filters): summed from the surveys.
    Surveys not approved count only in the places `waiting` may read (see waiting_where).
    """
    if counted_sql is None and tallied(rules):
        return _scored_sql(rules, _tallied_agg_sql(rules, surveys, household_form, waiting))
    return surveys_indicators_sql(rules, ward_only, surveys, household_form, counted_sql, waiting)


def _tallied_agg_sql(
    rules: Sequence[DeficiencyRule],
    surveys: Counted,
    household_form: str,
    waiting: SurveyScope = EVERY_SURVEY,
) -> str:
    """The `agg` CTE summed from household_tallies: a few rows per settlement."""
    counts = ",\n  ".join(
        f"coalesce(sum(h.{p}_{_checked(rule.key)}), 0) AS {p}_{rule.key}"
        for rule in rules
        for p in ("n", "d")
    )
    counted = households_where(surveys, household_form)
    readable = waiting_where(waiting) if surveys != "approved" else None
    if readable is not None:
        counted += f" AND {readable}"
    return f"""agg AS (
  -- 0 in the tallies is no place (NULL in the surveys).
  SELECT GROUPING(nullif(h.settlement_id, 0), nullif(h.ward_id, 0)) AS level,
         nullif(h.settlement_id, 0) AS settlement_id, nullif(h.ward_id, 0) AS ward_id,
         coalesce(sum(h.households), 0) AS households,
         max(h.last_collected_at) AS last_collected_at,
  {counts}
  FROM household_tallies h
  WHERE h.city_id = :city_id AND {counted}
  GROUP BY GROUPING SETS ((nullif(h.settlement_id, 0)), (nullif(h.ward_id, 0)), ())
  -- A group whose surveys all left keeps its rows at 0: as if it had none. The city's row
  -- stays (one row even with no surveys at all, as a GROUP BY () over nothing).
  HAVING sum(h.households) > 0
      OR GROUPING(nullif(h.settlement_id, 0), nullif(h.ward_id, 0)) = 3
)"""


def surveys_indicators_sql(
    rules: Sequence[DeficiencyRule],
    ward_only: bool = False,
    surveys: Counted = "approved",
    household_form: str = HOUSEHOLD_FORM,
    counted_sql: str | None = None,
    waiting: SurveyScope = EVERY_SURVEY,
) -> str:
    """indicators_sql summed from every counted survey's answers (no tallies).

    With `ward_only`, only that ward's surveys are read (a printed ward map): the ward's and
    its settlements' rows are right, the city row and ranks in the city are not.
    """
    counted = households_where(surveys, household_form)
    if counted_sql is not None:
        counted = f"h.form_id = {sql_literal(household_form)} AND {counted_sql}"
    readable = waiting_where(waiting)
    if readable is not None and (surveys != "approved" or counted_sql is not None):
        counted += f" AND {readable}"
    scope = f"h.city_id = :city_id AND {counted}"
    if ward_only:
        scope += (
            # = ANY(ARRAY(...)) rather than IN (SELECT ...): both sides can use an index.
            " AND (h.ward_id = :ward_id OR h.settlement_id = ANY(ARRAY("
            "SELECT id FROM settlements WHERE ward_id = :ward_id)))"
        )
    flags = []
    counts = []
    for rule in rules:
        key = _checked(rule.key)
        flags.append(
            f"a.{_checked(rule.question)} IS NOT NULL AS answered_{key},\n"
            f"    coalesce({_deficient(rule)}, false) AS lacks_{key}"
        )
        counts.append(
            f"count(*) FILTER (WHERE answered_{key}) AS n_{key},\n"
            f"  count(*) FILTER (WHERE lacks_{key}) AS d_{key}"
        )
    count_sql = ",\n  ".join(counts)
    flag_sql = ",\n    ".join(flags)
    questions = dict.fromkeys(_checked(rule.question) for rule in rules)
    record = ", ".join(f"h.answers->>{sql_literal(q)} AS {q}" for q in questions)
    agg = f"""surveyed AS (
  -- Read the answers once, keep only small flags: the grouping then sorts no JSON.
  SELECT a.settlement_id, a.ward_id, a.collected_at,
    {flag_sql}
  FROM (
    SELECT h.settlement_id, h.ward_id, h.collected_at, {record}
    FROM household_surveys h
    WHERE {scope}
    OFFSET 0  -- keeps this subquery apart, so each answer is read once per survey
  ) a
), agg AS (
  SELECT GROUPING(settlement_id, ward_id) AS level, settlement_id, ward_id,
         count(*) AS households, max(collected_at) AS last_collected_at,
  {count_sql}
  FROM surveyed
  GROUP BY GROUPING SETS ((settlement_id), (ward_id), ())
)"""
    return _scored_sql(rules, agg)


def _scored_sql(rules: Sequence[DeficiencyRule], agg: str) -> str:
    """The statement around `agg` (CTEs ending in `agg`: level, settlement_id, ward_id,
    households, last_collected_at, n_<key>, d_<key>): shares, score, areas and ranks."""
    shares = []
    numerator = []
    denominator = []
    for rule in rules:
        key = _checked(rule.key)
        shares.append(f"d_{key}::float8 / nullif(n_{key}, 0) AS share_{key}")
        # An indicator nobody answered drops out of both sums instead of counting as 0.
        weight = f"CAST(:w_{key} AS float8)"
        numerator.append(f"coalesce({weight} * d_{key}::float8 / nullif(n_{key}, 0), 0)")
        denominator.append(f"CASE WHEN n_{key} > 0 THEN {weight} ELSE 0 END")
    share_columns = ", ".join(f"sc.share_{_checked(rule.key)}" for rule in rules)
    count_columns = ", ".join(
        f"coalesce(sc.d_{_checked(rule.key)}, 0) AS count_{rule.key}" for rule in rules
    )
    return f"""
WITH {agg}, scored AS (
  SELECT agg.*, {", ".join(shares)},
         100.0 * ({" + ".join(numerator)})
           / nullif({" + ".join(denominator)}, 0) AS score
  FROM agg
), areas AS (
  SELECT 'settlement' AS kind, s.id, s.code, s.name, s.ward_id, w.name AS ward,
         s.households_estimate, sc.households, sc.last_collected_at, sc.score,
         {share_columns}, {count_columns}
  FROM settlements s
  LEFT JOIN wards w ON w.id = s.ward_id
  LEFT JOIN scored sc ON sc.level = 1 AND sc.settlement_id = s.id
  WHERE s.city_id = :city_id
  UNION ALL
  SELECT 'ward', w.id, w.code, w.name, w.id, w.name, NULL, sc.households,
         sc.last_collected_at, sc.score, {share_columns}, {count_columns}
  FROM wards w LEFT JOIN scored sc ON sc.level = 2 AND sc.ward_id = w.id
  WHERE w.city_id = :city_id
  UNION ALL
  SELECT 'city', c.id, c.slug, c.name, NULL, NULL, NULL, sc.households,
         sc.last_collected_at, sc.score, {share_columns}, {count_columns}
  FROM cities c LEFT JOIN scored sc ON sc.level = 3
  WHERE c.id = :city_id
)
SELECT a.*,
       -- Ranked by the score as shown: places showing the same score share a rank.
       -- A settlement in no ward (the outskirts) ranks in the city only.
       CASE WHEN a.kind = 'settlement' AND a.score IS NOT NULL AND a.ward_id IS NOT NULL THEN
         rank() OVER (PARTITION BY a.kind, a.ward_id, a.score IS NULL
                      ORDER BY {shown_score_sql("a.score")} DESC) END AS rank_in_ward,
       CASE WHEN a.kind IN ('settlement', 'ward') AND a.score IS NOT NULL THEN
         rank() OVER (PARTITION BY a.kind, a.score IS NULL
                      ORDER BY {shown_score_sql("a.score")} DESC) END
         AS rank_in_city
FROM areas a
ORDER BY a.kind, {shown_score_sql("a.score")} DESC NULLS LAST, a.code
"""


async def city_indicators(
    connection: AsyncConnection,
    city_id: int,
    rules: Sequence[DeficiencyRule],
    weights: Mapping[str, float],
    ward_id: int | None = None,
    surveys: Counted = "approved",
    household_form: str = HOUSEHOLD_FORM,
    waiting: SurveyScope = EVERY_SURVEY,
) -> list[dict[str, Any]]:
    """Rows of kind 'settlement', 'ward' and 'city' for one city, with shares, score, ranks.

    With `ward_id`, only that ward's surveys are read (see indicators_sql); surveys not
    approved count only in the places `waiting` may read.
    """
    params: dict[str, Any] = {"city_id": city_id}
    params.update({f"w_{rule.key}": float(weights.get(rule.key, 0.0)) for rule in rules})
    if ward_id is not None:
        params["ward_id"] = ward_id
    sql = indicators_sql(rules, ward_id is not None, surveys, household_form, None, waiting)
    rows = await connection.execute(text(sql), params)
    return [dict(row._mapping) for row in rows]


async def area_shapes(
    connection: AsyncConnection, city_id: int, ward_id: int | None
) -> dict[str, list[dict[str, Any]]]:
    """Ward and settlement polygons (GeoJSON geometry text) of a city or of one ward."""
    ward_filter = "" if ward_id is None else " AND w.id = :ward_id"
    settlement_filter = "" if ward_id is None else " AND s.ward_id = :ward_id"
    params: dict[str, Any] = {"city_id": city_id}
    if ward_id is not None:
        params["ward_id"] = ward_id
    wards = await connection.execute(
        text(
            "SELECT w.id, w.code, w.name, ST_AsGeoJSON(w.geom, 6) AS geometry, "
            "ST_XMin(w.geom) AS west, ST_YMin(w.geom) AS south, "
            "ST_XMax(w.geom) AS east, ST_YMax(w.geom) AS north "
            f"FROM wards w WHERE w.city_id = :city_id{ward_filter} ORDER BY w.code"
        ),
        params,
    )
    settlements = await connection.execute(
        text(
            "SELECT s.id, s.code, s.name, s.ward_id, ST_AsGeoJSON(s.geom, 6) AS geometry, "
            "ST_X(ST_PointOnSurface(s.geom)) AS label_lon, "
            "ST_Y(ST_PointOnSurface(s.geom)) AS label_lat "
            f"FROM settlements s WHERE s.city_id = :city_id{settlement_filter} ORDER BY s.code"
        ),
        params,
    )
    return {
        "wards": [dict(row._mapping) for row in wards],
        "settlements": [dict(row._mapping) for row in settlements],
    }


async def settlements_around(
    connection: AsyncConnection, settlement_id: int
) -> list[dict[str, Any]]:
    """A settlement's polygon and those of its city's settlements near it (its box and as
    much again on each side, as its print map's streets), in area_shapes' shape: the
    neighbours of a settlement in no ward, which has no ward's settlements to draw."""
    rows = await connection.execute(
        text(
            "WITH own AS (SELECT city_id, ST_Expand(geom, greatest(ST_XMax(geom) - "
            "ST_XMin(geom), ST_YMax(geom) - ST_YMin(geom))) AS box FROM settlements "
            "WHERE id = :id) "
            "SELECT s.id, s.code, s.name, s.ward_id, ST_AsGeoJSON(s.geom, 6) AS geometry, "
            "ST_X(ST_PointOnSurface(s.geom)) AS label_lon, "
            "ST_Y(ST_PointOnSurface(s.geom)) AS label_lat "
            "FROM settlements s JOIN own ON own.city_id = s.city_id "
            "WHERE s.id = :id OR s.geom && own.box ORDER BY s.code"
        ),
        {"id": settlement_id},
    )
    return [dict(row._mapping) for row in rows]


POINT_DECIMALS = 5  # about 1 m: enough to see a house, and coordinates stay short


def household_points_sql(
    questions: Sequence[tuple[str, str, Sequence[str]]],
    by_ward: bool,
    surveys: Counted = "approved",
    household_form: str = HOUSEHOLD_FORM,
) -> str:
    """A statement returning one row: count, origin and three long strings.

    `lon` and `lat` are comma-separated integer offsets (in 1e-5 degrees) from the origin;
    `codes` holds len(questions) characters per household: for each question, the index of
    its answer in `values` (legend order), or '-' when it did not answer.
    """
    scale = 10**POINT_DECIMALS
    codes = []
    for key, question, values in questions:
        if len(values) > 10:
            raise ValueError(f"{_checked(key)}: at most 10 answers can be drawn")
        cases = " ".join(
            f"WHEN {sql_literal(value)} THEN '{index}'" for index, value in enumerate(values)
        )
        codes.append(f"CASE h.answers->>{sql_literal(question)} {cases} ELSE '-' END")
    # A survey without a location (a form with no geopoint) has no point to draw.
    where = "h.city_id = :city_id AND h.geom IS NOT NULL AND " + households_where(
        surveys, household_form
    )
    if by_ward:
        where += " AND h.ward_id = :ward_id"
    # No ORDER BY inside the aggregates: they run in one Agg node, which feeds every input
    # row to every aggregate in turn, so the three strings stay aligned household by household.
    return f"""
WITH o AS (
  SELECT round(coalesce(min(ST_X(h.geom)), 0)::numeric, {POINT_DECIMALS})::float8 AS lon0,
         round(coalesce(min(ST_Y(h.geom)), 0)::numeric, {POINT_DECIMALS})::float8 AS lat0
  FROM household_surveys h WHERE {where}
), p AS (
  SELECT round((ST_X(h.geom) - o.lon0) * {scale})::bigint::text AS lon,
         round((ST_Y(h.geom) - o.lat0) * {scale})::bigint::text AS lat,
         {" || ".join(codes)} AS codes
  FROM household_surveys h CROSS JOIN o WHERE {where}
)
SELECT o.lon0, o.lat0, count(p.lon) AS count,
       coalesce(string_agg(p.lon, ','), '') AS lon,
       coalesce(string_agg(p.lat, ','), '') AS lat,
       coalesce(string_agg(p.codes, ''), '') AS codes
FROM o LEFT JOIN p ON true
GROUP BY o.lon0, o.lat0
"""


async def household_points_json(
    connection: AsyncConnection,
    city_id: int,
    ward_id: int | None,
    questions: Sequence[tuple[str, str, Sequence[str]]],
    surveys: Counted = "approved",
    household_form: str = HOUSEHOLD_FORM,
) -> bytes:
    """Household points of a city (or ward) as compact JSON, the heavy part built by PostGIS.

    {"count", "origin": [lon0, lat0], "scale": 1e-5, "lon": [...], "lat": [...],
     "categories": {key: one character per household}}
    """
    params: dict[str, Any] = {"city_id": city_id}
    if ward_id is not None:
        params["ward_id"] = ward_id
    row = (
        await connection.execute(
            text(household_points_sql(questions, ward_id is not None, surveys, household_form)),
            params,
        )
    ).one()
    stride = len(questions)
    # Slicing a str is C code: a few milliseconds for 100k households.
    categories = {key: row.codes[index::stride] for index, (key, _, _) in enumerate(questions)}
    head = orjson.dumps(
        {"count": row.count, "origin": [row.lon0, row.lat0], "scale": 10**-POINT_DECIMALS}
    )
    return b"".join(
        [
            head[:-1],
            b',"lon":[',
            row.lon.encode(),
            b'],"lat":[',
            row.lat.encode(),
            b'],"categories":',
            orjson.dumps(categories),
            b"}",
        ]
    )


async def household_points(
    connection: AsyncConnection,
    city_id: int,
    ward_id: int | None,
    answers: tuple[str, Sequence[str]] | None,
    surveys: Counted = "approved",
    household_form: str = HOUSEHOLD_FORM,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """lon, lat (float64 arrays) of each counted household of a city or ward, for printed
    maps; with `answers` = (question, values), each household's answer as its index in
    `values` (len(values): another answer or none), an int16 array.

    PostgreSQL packs each column into one bytea (float8send: 8 big-endian bytes a household)
    that numpy reads as it is: 75-95 ms for a ward of 136,000 households, where three arrays
    (one Python object per value, then a tuple per household) took 125-200 ms.
    """
    params: dict[str, Any] = {"city_id": city_id}
    where = "h.city_id = :city_id AND h.geom IS NOT NULL AND " + households_where(
        surveys, household_form
    )
    if ward_id is not None:
        where += " AND h.ward_id = :ward_id"
        params["ward_id"] = ward_id
    columns = [
        "coalesce(string_agg(float8send(ST_X(h.geom)), ''), '') AS lon",
        "coalesce(string_agg(float8send(ST_Y(h.geom)), ''), '') AS lat",
    ]
    if answers is not None:
        question, values = answers
        params["question"] = question
        cases = " ".join(f"WHEN :value_{i} THEN {i}" for i in range(len(values)))
        params.update({f"value_{i}": value for i, value in enumerate(values)})
        code = f"CASE h.answers->>:question {cases} ELSE {len(values)} END"
        columns.append(f"coalesce(string_agg(int2send(({code})::int2), ''), '') AS codes")
    # No ORDER BY inside the aggregates: they run in one Agg node, which feeds every input
    # row to every aggregate in turn, so the columns stay aligned household by household.
    row = (
        await connection.execute(
            text(f"SELECT {', '.join(columns)} FROM household_surveys h WHERE {where}"), params
        )
    ).one()
    lon = np.frombuffer(row.lon, ">f8").astype(np.float64)
    lat = np.frombuffer(row.lat, ">f8").astype(np.float64)
    codes = None if answers is None else np.frombuffer(row.codes, ">i2").astype(np.int16)
    return lon, lat, codes
