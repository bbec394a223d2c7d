"""Queries on household surveys: set-based insert with place lookup, reads with filters."""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from collections.abc import Awaitable, Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.pool import StatementPool
from app.db.scope import EVERY_SURVEY, SurveyScope

# The stored record as the API shows it (answers apart: they are redacted by the caller).
RECORD_SELECT = """
SELECT h.id, h.form_id, h.form_version, h.collector, h.collected_at, h.received_at, h.status,
       h.flags, h.gps_accuracy_m, h.altitude_m, h.location_manual, h.manual_points,
       ST_Y(h.geom) AS lat, ST_X(h.geom) AS lon,
       h.content_hash, c.slug AS city, h.city_id, h.ward_id, w.name AS ward_name,
       h.settlement_id, s.name AS settlement_name, h.collector_user_id, h.review_comment,
       h.reviewed_at, h.version{answers}
FROM {source} h
LEFT JOIN cities c ON c.id = h.city_id
LEFT JOIN wards w ON w.id = h.ward_id
LEFT JOIN settlements s ON s.id = h.settlement_id
"""

# The rows to store, with their points: a batch arrives as one JSON array...
_ITEMS_FROM_JSON = """
    SELECT r.*, ST_SetSRID(ST_MakePoint(r.lon, r.lat), 4326) AS geom{shape_from_json}
    FROM jsonb_to_recordset(CAST({items} AS jsonb)) AS r(
        id uuid, form_id text, form_version text, collector text,
        collected_at timestamptz, city text, lat float8, lon float8, accuracy_m float8,
        altitude_m float8, answers jsonb, flags text[], content_hash text,
        collector_user_id int, assigned_wards int[], assigned_cities int[],
        location_manual boolean, manual_points text[]{shape_column})
"""
# ...and a single survey (every phone's hot path) as plain parameters, which PostgreSQL reads
# without unpacking JSON into a record set (a fifth of the statement's cost).
_ITEMS_FROM_PARAMS = """
    SELECT $1::uuid AS id, $2::text AS form_id, $3::text AS form_version,
           $4::text AS collector, $5::timestamptz AS collected_at, $6::text AS city,
           $9::float8 AS accuracy_m, $10::float8 AS altitude_m, $11::jsonb AS answers,
           $12::text[] AS flags, $13::text AS content_hash, $14::int AS collector_user_id,
           $15::int[] AS assigned_wards, $16::boolean AS location_manual,
           $17::int[] AS assigned_cities, $18::text[] AS manual_points,
           ST_SetSRID(ST_MakePoint($8::float8, $7::float8), 4326) AS geom{shape_from_params}
"""
SINGLE_ROW_KEYS = (
    "id",
    "form_id",
    "form_version",
    "collector",
    "collected_at",
    "city",
    "lat",
    "lon",
    "accuracy_m",
    "altitude_m",
    "answers",
    "flags",
    "content_hash",
    "collector_user_id",
    "assigned_wards",
    "location_manual",
    "assigned_cities",
    "manual_points",
)
# A survey with an area (its form's location is a geoshape: intake's `shape`, WKT) is
# stored by the same statements with one column more, `shape`; every other survey keeps
# the statements without it, as they were (the households' hot path pays nothing for it).
SHAPE_KEY = "shape_wkt"
_WITH_SHAPE = {
    "{shape_from_json}": ", ST_GeomFromText(r.shape_wkt, 4326) AS shape",
    "{shape_column}": ", shape_wkt text",
    "{shape_from_params}": ",\n           ST_GeomFromText($19::text, 4326) AS shape",
    "{shape}": ", shape",
    # Where a survey is placed (ward, settlement, city): its point, else a point inside its
    # area (a settlement profile's walked boundary); without either, see `unplaced` below.
    "{place}": "COALESCE(i.geom, ST_PointOnSurface(i.shape))",
}
_WITHOUT_SHAPE = dict.fromkeys(_WITH_SHAPE, "") | {"{place}": "i.geom"}


def _shaped(sql: str, with_shape: bool) -> str:
    """The statement with or without the `shape` column."""
    for placeholder, value in (_WITH_SHAPE if with_shape else _WITHOUT_SHAPE).items():
        sql = sql.replace(placeholder, value)
    return sql


# How far outside its wards a survey may be and still count in a city (its outskirts).
OUTSKIRTS_M = 20_000
# A likely duplicate household: about 10 m apart in the same settlement, with the same phone
# or a head's name this similar (pg_trgm); answers read from these questions. The distance
# is in degrees: 0.0001° is 10.2-11.1 m across Vietnam's latitudes (8-24° N), close enough
# for a flag a reviewer checks, and a distance in metres (geography) doubled the cost of
# storing a survey (0.1 -> 0.24 ms of PostgreSQL time per survey, measured on 500).
DUPLICATE_DEGREES = 0.0001
DUPLICATE_NEIGHBOURS = 4
NAME_SIMILARITY = 0.6
NAME_QUESTION = "head_name"
PHONE_QUESTION = "head_phone"


def _flags_sql(prefix: str = "") -> str:
    """The stored flags: intake's own plus those only the database can tell."""
    p = prefix
    # A survey without a point (its form asks no location) is outside nothing.
    return f"""{p}flags
       || CASE WHEN {p}geom IS NULL THEN '{{}}'::text[]
               WHEN {p}city_id IS NULL THEN ARRAY['outside_wards', 'outside_cities']
               WHEN {p}ward_id IS NULL THEN ARRAY['outside_wards'] ELSE '{{}}'::text[] END
       || CASE WHEN {p}possible_duplicate THEN ARRAY['possible_duplicate'] ELSE '{{}}'::text[] END
       || CASE WHEN cardinality({p}assigned_wards) > 0 AND {p}geom IS NOT NULL
                    AND NOT coalesce({p}ward_id = ANY({p}assigned_wards), false)
               THEN ARRAY['outside_assigned_ward'] ELSE '{{}}'::text[] END
       || CASE WHEN cardinality({p}assigned_cities) > 0 AND {p}city_id IS NOT NULL
                    AND NOT {p}city_id = ANY({p}assigned_cities)
               THEN ARRAY['outside_assigned_city'] ELSE '{{}}'::text[] END"""


# A likely second survey of household survey `i` in settlement `{settlement}`: a survey of the
# same form, in the same settlement, within a few metres, with the same phone or a similar
# head's name (a flag for the reviewer, not a refusal; a follow-up visit of another form is no
# second household); `{earlier}` narrows the surveys it is compared with. One row if found.
# Run inline by the statements below but a phone's batch (its surveys are checked a moment
# after the batch is answered: app/db/duplicate_checks.py, with the same text).
_DUPLICATE_PROBE = """
        SELECT 1 AS found FROM (
            -- The nearest neighbours first, by the spatial index alone (`+ 0` keeps the
            -- planner off the settlement index, which would read every survey of the
            -- settlement); names are compared only for them (a second survey of a house
            -- stands where the first does: a few nearest are enough, even in a dense lane).
            SELECT d.answers FROM household_surveys d
            WHERE {settlement} IS NOT NULL
              AND ST_DWithin(d.geom, i.geom, {duplicate_degrees})
              AND d.settlement_id + 0 = {settlement} AND d.id <> i.id AND d.status <> 'rejected'
              AND d.form_id = i.form_id{earlier}
            ORDER BY d.geom <-> i.geom LIMIT {duplicate_neighbours}) near
        WHERE (coalesce(i.answers->>'{phone}', '') <> ''
               AND near.answers->>'{phone}' = i.answers->>'{phone}')
           -- pg_trgm folds case itself, by the database's character type (as lower() does
           -- with a libc default collation; Vietnamese capitals tested in
           -- test_quality_flags): a lower() on each side cost ~1 ms per 100 surveys. Accents
           -- typed as combining marks (NFD) are composed first: pg_trgm reads a combining
           -- mark as a space between two words. Of the first 120 characters: normalize()
           -- sorts a run of marks in quadratic time (2,000 marks: ~30-100 ms a call).
           OR similarity(normalize(left(near.answers->>'{name}', 120), NFC),
                         normalize(left(i.answers->>'{name}', 120), NFC)) >= {name_similarity}
        LIMIT 1"""

# Every statement that stores surveys it placed stores them only if the boundaries are still
# those it placed them by. A boundary import (app/services/boundaries.py) locks the row of the
# boundary generation FOR UPDATE first, changes the boundaries (a trigger moves the generation
# on), places the stored surveys anew and commits: a survey placed by the lines before it and
# stored after that re-placement would stay by the old lines for good. So the statement reads
# the generation's row FOR SHARE. Locked before the import's lock, the import waits for the
# statement's commit and its re-placement sees the surveys; after it, the statement waits for
# the import's commit and reads the generation it left (READ COMMITTED reads a locked row's
# latest version, whatever the statement's snapshot). The surveys (`{items}`) are stored only
# when that is the generation they were placed at (`{placed_at}`): the server's index's for a
# batch it placed; for those the database places, _SNAPSHOT_GENERATION, the generation read
# again without the lock, as the statement's snapshot (and so its placement) has it. Otherwise
# nothing is stored and the statement answers one row with a NULL id (_moved, _or_moved): the
# caller places the surveys again (another statement: another snapshot).
_AT_GENERATION = """
WITH generation AS MATERIALIZED (SELECT generation FROM boundary_generation FOR SHARE),
{name} AS MATERIALIZED ({items}
    WHERE (SELECT generation FROM generation) = {placed_at}"""
# The generation of the boundaries the database places by: the one in the statement's snapshot.
_SNAPSHOT_GENERATION = "(SELECT generation FROM boundary_generation)"


def _at_generation(name: str, placed_at: str) -> str:
    """The head of a statement storing surveys placed at generation `placed_at` (an SQL
    expression): CTE `name` holds the items while the boundaries are at that generation,
    else none; CTE `generation` the generation they are at (see _AT_GENERATION)."""
    return _AT_GENERATION.replace("{name}", name).replace("{placed_at}", placed_at)


def _moved(placed_at: str) -> str:
    """SQL of the answer (id NULL, the generation as text) of a statement that stored nothing
    since the boundaries moved on from `placed_at` (an SQL expression): no row otherwise."""
    return f"SELECT NULL, generation::text FROM generation WHERE generation <> {placed_at}"


def _or_moved(source: str) -> str:
    """SQL of a source of household_surveys' columns: the rows of `source`, or the one row
    (every column NULL) of a statement that stored nothing since the boundaries moved on from
    those of its snapshot."""
    return (
        f"(SELECT * FROM {source} UNION ALL SELECT (NULL::household_surveys).* FROM generation"
        f" WHERE generation <> {_SNAPSHOT_GENERATION})"
    )


def _boundaries_moved(records: Sequence[Any]) -> bool:
    """Whether a statement's answer says it stored nothing as the boundaries moved on."""
    return bool(records) and records[-1][0] is None


# One statement for a batch or a single survey: place each point in its ward and settlement
# (point in polygon, GiST-indexed), insert what is new and return the inserted records. Ids
# stored before come back from a second, separate statement (fetch_records_now): that one
# sees rows committed meanwhile by concurrent senders, and adding it to this statement made
# every insert pay for initialising its plan (~0.03 ms of PostgreSQL CPU) to spare resends.
_PLACED_TEMPLATE = (
    _at_generation("items", _SNAPSHOT_GENERATION)
    + """
), placed AS MATERIALIZED (
    SELECT i.*, COALESCE(w.id, unplaced.ward_id) AS ward_id,
           COALESCE(w.city_id, near.city_id, unplaced.city_id) AS city_id,
           s.id AS settlement_id, {possible_duplicate} AS possible_duplicate
    FROM items i
    LEFT JOIN cities c ON c.slug = i.city
    -- A survey without a point is placed by a point inside its area when it has one (a
    -- settlement profile's boundary). Without a ward so found, one without a point is in the
    -- city it names, else in the one city its collector works in; and in the collector's
    -- ward when they have one.
    LEFT JOIN LATERAL (
        SELECT x.city_id,
               CASE WHEN cardinality(i.assigned_wards) = 1 THEN (
                   SELECT wd.id FROM wards wd
                   WHERE wd.id = i.assigned_wards[1] AND wd.city_id = x.city_id) END AS ward_id
        FROM (
            SELECT COALESCE(c.id, CASE WHEN count(DISTINCT g.city_id) = 1
                                       THEN min(g.city_id) END) AS city_id
            FROM role_grants g
            WHERE i.geom IS NULL AND c.id IS NULL AND g.user_id = i.collector_user_id
              AND g.city_id IS NOT NULL) x
        WHERE i.geom IS NULL) unplaced ON true
    -- The point decides its ward, in any city: the city a survey names only breaks a tie
    -- where two cities' wards meet (and places it without a point, or outside every ward).
    LEFT JOIN LATERAL (
        SELECT wd.id, wd.city_id FROM wards wd
        WHERE ST_Intersects(wd.geom, {place})
        ORDER BY (wd.city_id = c.id) IS TRUE DESC, wd.id LIMIT 1) w ON true
    -- Outside every ward: the city (the one named, else the nearest) when it is near enough
    -- to be its outskirts; a point in Paris is in no city and stretches no city's map.
    LEFT JOIN LATERAL (
        SELECT nearest.city_id FROM (
            SELECT wd.city_id, wd.geom FROM wards wd
            WHERE w.id IS NULL AND (c.id IS NULL OR wd.city_id = c.id)
            ORDER BY wd.geom <-> {place} LIMIT 1) nearest
        WHERE ST_DWithin(nearest.geom::geography, ({place})::geography, {outskirts_m})) near ON true
    LEFT JOIN LATERAL (
        SELECT st.id FROM settlements st
        WHERE ST_Intersects(st.geom, {place})
          AND st.city_id = COALESCE(w.city_id, near.city_id)
        ORDER BY st.id LIMIT 1) s ON true{duplicate_join}
)
"""
)
_INSERT_TEMPLATE = """, inserted AS (
INSERT INTO household_surveys (
    id, city_id, ward_id, settlement_id, form_id, form_version, collector, collected_at,
    status, flags, gps_accuracy_m, altitude_m, answers, content_hash, geom, collector_user_id,
    location_manual, manual_points{shape})
SELECT id, city_id, ward_id, settlement_id, form_id, form_version, collector, collected_at,
       'received', {flags},
       accuracy_m, altitude_m, answers, content_hash, geom, collector_user_id,
       coalesce(location_manual, false), manual_points{shape}
FROM placed
-- An instanceID an ODK edit took is another name of the survey it edited (app/services/odk.py):
-- never the id of a new survey, however it is sent. One probe of odk_submissions' key per
-- survey, in this statement: ~0.2 us with no instances, ~3 us with 200,000 (measured on 500).
WHERE NOT EXISTS (
    SELECT 1 FROM odk_submissions o
    WHERE o.instance_id = 'uuid:' || placed.id::text AND o.survey_id <> placed.id)
ORDER BY id  -- every writer locks ids in one order: concurrent overlapping batches cannot deadlock
ON CONFLICT (id) DO NOTHING
RETURNING {returning}
)
"""
_PLACEHOLDERS = {
    "{outskirts_m}": str(OUTSKIRTS_M),
    "{duplicate_degrees}": str(DUPLICATE_DEGREES),
    "{duplicate_neighbours}": str(DUPLICATE_NEIGHBOURS),
    "{name_similarity}": str(NAME_SIMILARITY),
    "{name}": NAME_QUESTION,
    "{phone}": PHONE_QUESTION,
    "{flags}": _flags_sql(),
    "{flags_p}": _flags_sql("p."),
}


def _fill(sql: str) -> str:
    for placeholder, value in _PLACEHOLDERS.items():
        sql = sql.replace(placeholder, value)
    return sql


def duplicate_probe(settlement: str, earlier: str = "") -> str:
    """SQL of a subquery: one row when survey `i`, in the settlement `settlement` (an SQL
    expression), has a likely duplicate among the stored surveys `d` (those matching the
    condition `earlier`, when given: `AND ...`)."""
    return _fill(_DUPLICATE_PROBE.replace("{settlement}", settlement).replace("{earlier}", earlier))


def received_before(received_at: str, queued: str) -> str:
    """SQL condition (`AND ...`) on a stored survey `d` that survey `i`, received at
    `received_at` (an SQL expression), is compared with: received before it (the same
    time: the lower id), or after it but checked already without being flagged, so without
    having seen `i` (not among the ids of the subquery `queued`, those whose check is still
    to run). Of a pair, one only is flagged, whatever the order the two were checked in."""
    return f"""
              AND ((d.received_at, d.id) < ({received_at}, i.id)
                   OR (NOT ('possible_duplicate' = ANY(d.flags))
                       AND d.id NOT IN ({queued})))"""


def _placed(checked: bool, earlier: str = "") -> str:
    """The items placed, checked for a likely duplicate now (`checked`, among the stored
    surveys matching `earlier`: see duplicate_probe) or not (false)."""
    if not checked:
        return _fill(
            _PLACED_TEMPLATE.replace("{possible_duplicate}", "false").replace(
                "{duplicate_join}", ""
            )
        )
    join = f"\n    LEFT JOIN LATERAL ({duplicate_probe('s.id', earlier)}) dup ON true"
    return _fill(
        _PLACED_TEMPLATE.replace("{possible_duplicate}", "dup.found IS NOT NULL").replace(
            "{duplicate_join}", join
        )
    )


_PLACED = _placed(checked=True)
_PLACE_AND_INSERT = _PLACED + _fill(_INSERT_TEMPLATE)
_RETURNING_RECORD = _PLACE_AND_INSERT.replace("{returning}", "*") + RECORD_SELECT.format(
    source=_or_moved("inserted"), answers=""
)
_INSERT_ONE_ANY = _RETURNING_RECORD.replace("{items}", _ITEMS_FROM_PARAMS)
_INSERT_ONE = _shaped(_INSERT_ONE_ANY, False)
_INSERT_ONE_SHAPE = _shaped(_INSERT_ONE_ANY, True)
# A batch's statement keeps only what its answer needs (not every stored row in a tuplestore):
# for each id, what is stored under it (its content hash decides duplicate or conflict).
_INSERT_MANY = (
    _PLACE_AND_INSERT.replace("{returning}", "id, content_hash")
    + "SELECT id, content_hash FROM inserted\nUNION ALL\n"
    + _moved(_SNAPSHOT_GENERATION)
).replace("{items}", _ITEMS_FROM_JSON)
# Several phones' single surveys in one statement (InsertGroups), each stored record back
# (never one with a shape: those go alone, see insert_grouped).
_INSERT_GROUP = _shaped(
    _RETURNING_RECORD.replace("{items}", _ITEMS_FROM_JSON.replace("{items}", "$1")), False
)
# SQLAlchemy (the sample loader), with the shapes of any survey that has one.
INSERT_MANY = text(_shaped(_INSERT_MANY.replace("{items}", ":items"), True))
# A phone's batch: its surveys are stored unchecked for duplicates (the check was ~40 % of
# the statement's database time) and, in the same statement, so in the same commit, those in
# a settlement (so with a point) are queued for the check, one queue row per statement (none
# when none): app/services/duplicate_checks.py runs it a moment after the batch is answered.
_INSERT_MANY_ANY_ASYNCPG = (
    (
        _placed(checked=False)
        + _fill(_INSERT_TEMPLATE).replace("{returning}", "id, content_hash, settlement_id")
        + """, queued AS (
INSERT INTO duplicate_checks (survey_ids)
SELECT array_agg(id ORDER BY id) FROM inserted WHERE settlement_id IS NOT NULL
HAVING count(*) > 0
)
SELECT id, content_hash FROM inserted
UNION ALL
"""
        + _moved(_SNAPSHOT_GENERATION)
    )
    .replace("{items}", _ITEMS_FROM_JSON)
    .replace("{items}", "$1")
)
_INSERT_MANY_ASYNCPG = _shaped(_INSERT_MANY_ANY_ASYNCPG, False)
_INSERT_MANY_SHAPE_ASYNCPG = _shaped(_INSERT_MANY_ANY_ASYNCPG, True)  # a batch with an area
# A batch's surveys placed by the server (app.geo.placement: `city_id`, `ward_id` and
# `settlement_id` in each row) at the boundary generation $2, stored and queued for their
# duplicate check as above, only if the boundaries are still at that generation; else nothing
# is stored and the statement answers the generation they are at (one row, id NULL), and the
# server places the surveys again (see _AT_GENERATION).
# Never a survey with a shape (placement.store leaves those to the database).
_INSERT_PLACED = (
    _at_generation("placed", "$2")
    + ")"
    + _fill(_INSERT_TEMPLATE)
    .replace("FROM placed\n", "FROM (SELECT *, false AS possible_duplicate FROM placed) placed\n")
    .replace("{returning}", "id, content_hash, settlement_id")
    + """, queued AS (
INSERT INTO duplicate_checks (survey_ids)
SELECT array_agg(id ORDER BY id) FROM inserted WHERE settlement_id IS NOT NULL
HAVING count(*) > 0
)
SELECT id, content_hash FROM inserted
UNION ALL
"""
    + _moved("$2")
).replace(
    "{items}",
    _shaped(_ITEMS_FROM_JSON, False)
    .replace("{items}", "$1")
    .replace(
        "manual_points text[])",
        "manual_points text[], city_id int, ward_id int, settlement_id int)",
    ),
)
_INSERT_PLACED = _shaped(_INSERT_PLACED, False)
# A survey `h` of a batch whose duplicate check has not run yet has no flag yet: "without
# flags" (a bulk approval, its count) waits for the check. The queue is short: read once and
# hashed (the arrays hold no NULL: a CHECK of migration 0018).
NOT_AWAITING_CHECK = "h.id NOT IN (SELECT unnest(survey_ids) FROM duplicate_checks)"
_RECORDS_BY_IDS = RECORD_SELECT.format(source="household_surveys", answers="") + (
    " WHERE h.id = ANY($1::uuid[])"
)
_HASHES_BY_IDS = "SELECT id, content_hash FROM household_surveys WHERE id = ANY($1::uuid[])"


# After a city's boundaries change: place its stored households again, by the same rules as
# intake (point in polygon, the lowest id where polygons overlap; a survey with an area and
# no point by a point inside its area), touching only those whose city, ward or settlement
# changes; `outside_wards` follows the ward of a survey with a point. The point decides the
# city, as at intake: a survey of this city now in another city's ward moves there, and one
# of another city (or of none) outside every ward of it, now in a ward of this city, moves
# here (a new city drawn over another's outskirts took its new surveys, while the ones
# stored before stayed with the other city). One with neither keeps its place, and so does
# an area outside every ward (intake placed it by its collector). The surveys that
# move are locked first, in id order, as every statement that changes several surveys takes
# them: in the order of its plan it could take two of a settlement that a bulk approval takes
# the other way round, and one of the two would end in a deadlock.
def place_in_city(city: str, point: str) -> str:
    """SQL joins giving `w.id` and `s.id`: the ward and the settlement of city `city` that
    hold `point` (SQL expressions), the lowest id where polygons overlap, NULL in none."""
    return f"""
    LEFT JOIN LATERAL (
        SELECT wd.id FROM wards wd
        WHERE wd.city_id = {city} AND ST_Intersects(wd.geom, {point})
        ORDER BY wd.id LIMIT 1) w ON true
    LEFT JOIN LATERAL (
        SELECT st.id FROM settlements st
        WHERE st.city_id = {city} AND ST_Intersects(st.geom, {point})
        ORDER BY st.id LIMIT 1) s ON true"""


# Each survey that moves is put on its own record by the same statement (`survey.place`: its
# ward and settlement before and after, ids and the names they have now; by `:actor_id` and
# `:actor`, the admin or the command line), so its history shows every move: one INSERT ...
# SELECT of the moved rows, as a city may move 100,000 surveys at once (not 100,000
# statements; this one adds ~2 s to an import that moves 100,000: docs/benchmarks.md). The
# statement's rowcount is how many moved.
_PLACE_JSON = (
    "jsonb_build_object('ward_id', m.{prefix}ward_id, 'ward', {prefix}ward.name, "
    "'settlement_id', m.{prefix}settlement_id, 'settlement', {prefix}settlement.name)"
    # The city too when the move changes it.
    " || CASE WHEN m.old_city_id IS DISTINCT FROM m.city_id THEN jsonb_build_object("
    "'city_id', m.{prefix}city_id, 'city', {prefix}city.slug) ELSE '{{}}'::jsonb END"
)
# The surveys another city holds outside its wards that this city's wards hold now (those
# REPLACE_HOUSEHOLDS would take), counted by ward of this city and by other city.
OTHER_CITIES_SURVEYS_IN_WARDS = text(
    """
SELECT wx.code, wx.name, c.name AS city, c.slug, count(*) AS surveys
FROM wards wx
JOIN household_surveys h ON ST_Intersects(wx.geom, h.geom)
JOIN cities c ON c.id = h.city_id
WHERE wx.city_id = :city_id AND h.ward_id IS NULL AND h.city_id <> :city_id
GROUP BY wx.code, wx.name, c.name, c.slug
ORDER BY wx.code, c.slug
"""
)
REPLACE_HOUSEHOLDS = text(
    """
WITH candidates AS (
    SELECT h.id FROM household_surveys h WHERE h.city_id = :city_id
    UNION
    -- Another city's surveys (or none's) outside every ward, in a ward of this city now.
    SELECT h.id FROM wards wx
    JOIN household_surveys h ON ST_Intersects(wx.geom, h.geom)
    WHERE wx.city_id = :city_id AND h.ward_id IS NULL
      AND h.city_id IS DISTINCT FROM :city_id
), moved AS (
    SELECT h.id, h.city_id AS old_city_id, h.ward_id AS old_ward_id,
           h.settlement_id AS old_settlement_id,
           COALESCE(w.city_id, h.city_id) AS city_id, w.id AS ward_id, s.id AS settlement_id
    FROM household_surveys h
    CROSS JOIN LATERAL (SELECT COALESCE(h.geom, ST_PointOnSurface(h.shape)) AS point) p
    -- The ward holding the point, its own city's first (where two cities' wards meet).
    LEFT JOIN LATERAL (
        SELECT wd.id, wd.city_id FROM wards wd
        WHERE ST_Intersects(wd.geom, p.point)
        ORDER BY (wd.city_id = h.city_id) IS TRUE DESC, wd.id LIMIT 1) w ON true
    LEFT JOIN LATERAL (
        SELECT st.id FROM settlements st
        WHERE st.city_id = COALESCE(w.city_id, h.city_id) AND ST_Intersects(st.geom, p.point)
        ORDER BY st.id LIMIT 1) s ON true
    WHERE h.id IN (SELECT id FROM candidates) AND p.point IS NOT NULL
      AND (h.geom IS NOT NULL OR w.id IS NOT NULL)
      AND (h.city_id IS DISTINCT FROM COALESCE(w.city_id, h.city_id)
           OR h.ward_id IS DISTINCT FROM w.id OR h.settlement_id IS DISTINCT FROM s.id)
    ORDER BY h.id
    FOR NO KEY UPDATE OF h
), replaced AS (
UPDATE household_surveys h
SET city_id = m.city_id,
    ward_id = m.ward_id,
    settlement_id = m.settlement_id,
    flags = CASE
        WHEN h.geom IS NULL THEN h.flags
        WHEN m.ward_id IS NOT NULL
            THEN array_remove(array_remove(h.flags, 'outside_wards'), 'outside_cities')
        WHEN 'outside_wards' = ANY(h.flags) THEN h.flags
        ELSE array_append(h.flags, 'outside_wards') END
FROM moved m
WHERE h.id = m.id
RETURNING h.id
)
INSERT INTO audit_log (actor_id, actor, action, entity, entity_id, old, new)
SELECT CAST(:actor_id AS int), CAST(:actor AS text), 'survey.place', 'survey', m.id::text, """
    + _PLACE_JSON.format(prefix="old_")
    + ", "
    + _PLACE_JSON.format(prefix="")
    + """
FROM replaced r
JOIN moved m ON m.id = r.id
LEFT JOIN cities old_city ON old_city.id = m.old_city_id
LEFT JOIN cities city ON city.id = m.city_id
LEFT JOIN wards old_ward ON old_ward.id = m.old_ward_id
LEFT JOIN settlements old_settlement ON old_settlement.id = m.old_settlement_id
LEFT JOIN wards ward ON ward.id = m.ward_id
LEFT JOIN settlements settlement ON settlement.id = m.settlement_id
ORDER BY m.id
"""
)

# These go straight to asyncpg on the ingest pool (see db.pool): one statement is atomic by
# itself, so each runs in autocommit, without BEGIN and COMMIT round trips.


async def _placed_now(connection: Any, sql: str, *params: Any) -> list[asyncpg.Record]:
    """The answer of a statement that places surveys by the boundaries of its snapshot, run
    again while it answers that they moved meanwhile (it stored nothing: see _AT_GENERATION).
    Each new run has a new snapshot: to be sent again, it needs another import to commit in
    the moment between its snapshot and its lock."""
    while True:
        records = await connection.fetch(sql, *params)
        if not _boundaries_moved(records):
            return records


async def insert_one(pool: StatementPool, row: dict[str, Any]) -> dict[str, Any] | None:
    """Insert one survey (as plain parameters) unless its id is stored; the new record or None."""
    params = [row[key] for key in SINGLE_ROW_KEYS]
    params[10] = orjson.dumps(params[10]).decode()  # answers: jsonb as JSON text
    if SHAPE_KEY in row:
        records = await _placed_now(pool, _INSERT_ONE_SHAPE, *params, row[SHAPE_KEY])
    else:
        records = await _placed_now(pool, _INSERT_ONE, *params)
    return dict(records[0]) if records else None


async def insert_group(
    pool: StatementPool, rows: Sequence[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Insert the surveys (distinct ids, as one JSON array) whose id is not stored; the new
    records by id."""
    records = await _placed_now(pool, _INSERT_GROUP, orjson.dumps(rows).decode())
    return {str(record["id"]): dict(record) for record in records}


class InsertGroups:
    """Single surveys from many phones, stored a group per statement while the database is
    busy: group commit.

    A survey that arrives while fewer than `in_flight` statements run leaves at once, alone
    (no wait is added). One that arrives while they all run waits for the first to end and
    leaves with every survey that arrived meanwhile (up to `max_rows`), in one statement: a
    statement's fixed costs (its round trip, plan, statement trigger, commit and WAL flush)
    are paid once per group instead of once per survey, which is what a busy city's phones
    need. Each survey is answered when its group has committed, exactly as if alone.

    A group holds distinct ids (a second copy of one waits for the next group and finds the
    first stored); if the database refuses a group (a bad row), its surveys are stored one
    by one so one cannot cost the others; a lost connection fails the whole group (nothing
    of it committed, the phones send again).
    """

    def __init__(self, pool: StatementPool, in_flight: int = 2, max_rows: int = 32) -> None:
        self._pool = pool
        self._in_flight = in_flight
        self._max_rows = max_rows
        self._running = 0
        self._waiting: deque[tuple[dict[str, Any], asyncio.Future[dict[str, Any] | None]]]
        self._waiting = deque()
        self._tasks: set[asyncio.Future[None]] = set()

    async def insert(self, row: dict[str, Any]) -> dict[str, Any] | None:
        """Store one survey unless its id is stored; the new record or None."""
        if self._running < self._in_flight and not self._waiting:
            self._running += 1
            try:
                return await insert_one(self._pool, row)
            finally:
                self._running -= 1
                self._next()
        future: asyncio.Future[dict[str, Any] | None]
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((row, future))
        self._next()
        return await future

    def _next(self) -> None:
        """Start a statement for the surveys waiting, if one may start."""
        while self._waiting and self._running < self._in_flight:
            group: list[tuple[dict[str, Any], asyncio.Future[dict[str, Any] | None]]] = []
            ids: set[Any] = set()
            later = []
            while self._waiting and len(group) < self._max_rows:
                row, future = self._waiting.popleft()
                if future.done():  # its phone went away: nothing to store for it
                    continue
                if row["id"] in ids:
                    later.append((row, future))
                else:
                    ids.add(row["id"])
                    group.append((row, future))
            self._waiting.extendleft(reversed(later))
            if not group:
                return
            self._running += 1
            task = asyncio.ensure_future(self._store(group))
            self._tasks.add(task)  # held until it ends (the loop keeps only weak references)
            task.add_done_callback(self._tasks.discard)

    async def _store(
        self, group: list[tuple[dict[str, Any], asyncio.Future[dict[str, Any] | None]]]
    ) -> None:
        try:
            if len(group) == 1:
                await _settle(group[0][1], insert_one(self._pool, group[0][0]))
                return
            try:
                records = await insert_group(self._pool, [row for row, _ in group])
            except asyncpg.PostgresError:
                for row, future in group:  # one by one: a bad survey costs only itself
                    await _settle(future, insert_one(self._pool, row))
                return
            except Exception as exc:  # the connection, not a survey: nothing was stored
                for _, future in group:
                    if not future.done():
                        future.set_exception(exc)
                return
            for row, future in group:
                if not future.done():
                    future.set_result(records.get(str(row["id"])))
        finally:
            for _, future in group:  # cancelled (the app stops): none waits for ever
                future.cancel()
            self._running -= 1
            self._next()


async def _settle(
    future: asyncio.Future[dict[str, Any] | None], statement: Awaitable[dict[str, Any] | None]
) -> None:
    """Run one survey's statement and give its outcome to the waiting request."""
    try:
        record = await statement
    except Exception as exc:
        if not future.done():
            future.set_exception(exc)
        return
    if not future.done():
        future.set_result(record)


async def insert_grouped(pool: StatementPool, row: dict[str, Any]) -> dict[str, Any] | None:
    """Insert one survey unless its id is stored, in a group with other phones' surveys when
    the database is busy (InsertGroups); the new record or None."""
    if SHAPE_KEY in row:
        return await insert_one(pool, row)  # rare (an area's survey): alone, by its statement
    groups: InsertGroups | None = pool.state.get("insert_groups")
    if groups is None:
        groups = pool.state["insert_groups"] = InsertGroups(pool)
    return await groups.insert(row)


async def insert_many(pool: StatementPool, rows: Sequence[dict[str, Any]]) -> dict[str, str]:
    """Insert the surveys (as one JSON array) whose id is not stored; content hash by new id."""
    if not rows:
        return {}
    shaped = any(SHAPE_KEY in row for row in rows)
    sql = _INSERT_MANY_SHAPE_ASYNCPG if shaped else _INSERT_MANY_ASYNCPG
    records = await _placed_now(pool, sql, orjson.dumps(rows).decode())
    return {str(record["id"]): record["content_hash"] for record in records}


def insert_many_in_transaction(connection: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Insert the surveys (SQLAlchemy, in the caller's transaction) whose id is not stored,
    placed as insert_many places them; how many were new."""
    items = orjson.dumps(rows).decode()
    while True:
        records = connection.execute(INSERT_MANY, {"items": items}).all()
        if not _boundaries_moved(records):
            return len(records)


class BoundariesMoved(Exception):
    """The boundaries changed since the surveys were placed: nothing was stored."""

    def __init__(self, generation: int) -> None:
        super().__init__(f"boundaries at generation {generation}")
        self.generation = generation


async def insert_placed(
    pool: StatementPool, rows: Sequence[dict[str, Any]], generation: int
) -> dict[str, str]:
    """Insert the surveys placed by the server at a boundary generation (`city_id`,
    `ward_id`, `settlement_id` in each row) whose id is not stored, queueing their duplicate
    check; content hash by new id. Raises BoundariesMoved, having stored nothing, when the
    boundaries are at another generation."""
    if not rows:
        return {}
    records = await pool.fetch(_INSERT_PLACED, orjson.dumps(rows).decode(), generation)
    if _boundaries_moved(records):
        raise BoundariesMoved(int(records[-1]["content_hash"]))
    return {str(record["id"]): record["content_hash"] for record in records}


# Every ward and settlement with its city, and the cities' slugs, in one statement: one
# snapshot, so the generation read is the one these boundaries are at.
_BOUNDARIES = """
SELECT 'generation' AS kind, generation AS id, NULL::int AS city_id, NULL::text AS slug,
       NULL::bytea AS wkb
FROM boundary_generation
UNION ALL SELECT 'city', id, NULL, slug, NULL FROM cities
UNION ALL SELECT 'ward', id, city_id, NULL, ST_AsBinary(geom) FROM wards WHERE geom IS NOT NULL
UNION ALL
SELECT 'settlement', id, city_id, NULL, ST_AsBinary(geom) FROM settlements WHERE geom IS NOT NULL
"""


async def boundary_vertices(pool: StatementPool) -> int:
    """How many vertices every ward and settlement polygon holds."""
    records = await pool.fetch(
        "SELECT (SELECT coalesce(sum(ST_NPoints(geom)), 0) FROM wards)"
        " + (SELECT coalesce(sum(ST_NPoints(geom)), 0) FROM settlements) AS vertices"
    )
    return int(records[0]["vertices"])


async def boundaries(pool: StatementPool) -> list[asyncpg.Record]:
    """The boundary generation, cities, wards and settlements (`kind`, `id`, `city_id`,
    `slug`, `wkb`)."""
    return await pool.fetch(_BOUNDARIES)


async def fetch_records_now(
    pool: StatementPool, ids: Sequence[uuid.UUID]
) -> dict[str, dict[str, Any]]:
    """Stored records by id, read by a new statement (which sees what committed meanwhile)."""
    records = await pool.fetch(_RECORDS_BY_IDS, list(ids))
    return {str(record["id"]): dict(record) for record in records}


async def stored_hashes(pool: StatementPool, ids: Sequence[uuid.UUID]) -> dict[str, str]:
    """Content hash by stored id, read by a new statement (sees what committed meanwhile)."""
    records = await pool.fetch(_HASHES_BY_IDS, list(ids))
    return {str(record["id"]): record["content_hash"] for record in records}


# City slugs seen to exist, per pool (so per database: pool.state). A city is never deleted
# and its slug never changes, so a slug once found stays true: every phone's POST names its
# city, and the question was a round trip of its own on each one. A slug not found is asked
# again each time (a city added since is found at once); the set holds at most the cities
# that exist.
async def existing_city_slugs(pool: StatementPool, slugs: Sequence[str]) -> list[str]:
    """Those of the slugs that name a city."""
    known: set[str] = pool.state.setdefault("known_city_slugs", set())
    unknown = [slug for slug in slugs if slug not in known]
    if unknown:
        records = await pool.fetch("SELECT slug FROM cities WHERE slug = ANY($1::text[])", unknown)
        known.update(record["slug"] for record in records)
    return [slug for slug in slugs if slug in known]


async def fetch_records(
    connection: AsyncConnection, ids: Sequence[uuid.UUID], with_answers: bool = False
) -> dict[str, dict[str, Any]]:
    """Stored records by id."""
    if not ids:
        return {}
    sql = RECORD_SELECT.format(
        source="household_surveys", answers=", h.answers" if with_answers else ""
    )
    result = await connection.execute(text(sql + " WHERE h.id = ANY(:ids)"), {"ids": list(ids)})
    return {str(row.id): dict(row._mapping) for row in result}


async def list_records(
    connection: AsyncConnection,
    *,
    scope: SurveyScope,
    city_id: int | None,
    ward_id: int | None,
    settlement_id: int | None,
    status: str | None,
    collected_from: datetime | None,
    collected_to: datetime | None,
    limit: int,
    offset: int,
    after: tuple[datetime, uuid.UUID] | None = None,
    with_total: bool = True,
) -> tuple[int | None, list[dict[str, Any]]]:
    """A page of records matching the filters, newest first (collected_at then id, both
    descending: a total order), with the total count unless `with_total` is false.

    `after` is the (collected_at, id) of the last row of the previous page: the page starts
    right after it (a keyset page), so a deep page costs what the first does, and rows
    inserted meanwhile neither repeat nor hide rows already there; OFFSET reads and throws
    away every row it skips.
    """
    scope_sql, scope_params = scope.sql("h")
    clauses: list[str] = [scope_sql]
    params: dict[str, Any] = {"limit": limit, "offset": offset, **scope_params}
    for column, value in (
        ("h.city_id", city_id),
        ("h.ward_id", ward_id),
        ("h.settlement_id", settlement_id),
        ("h.status", status),
    ):
        if value is not None:
            name = column.split(".")[1]
            clauses.append(f"{column} = :{name}")
            params[name] = value
    if collected_from is not None:
        clauses.append("h.collected_at >= :collected_from")
        params["collected_from"] = collected_from
    if collected_to is not None:
        clauses.append("h.collected_at < :collected_to")
        params["collected_to"] = collected_to
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    total = None
    if with_total:
        total = (
            await connection.execute(
                text(f"SELECT count(*) FROM household_surveys h{where}"), params
            )
        ).scalar_one()
    if after is not None:
        # The plain bound first lets the collected_at index start at the cursor; the row
        # comparison then orders ties by id.
        clauses.append(
            "h.collected_at <= CAST(:after_at AS timestamptz) AND (h.collected_at, h.id) < "
            "(CAST(:after_at AS timestamptz), CAST(:after_id AS uuid))"
        )
        params["after_at"], params["after_id"] = after
        where = " WHERE " + " AND ".join(clauses)
    sql = (
        RECORD_SELECT.format(source="household_surveys", answers=", h.answers")
        + where
        + " ORDER BY h.collected_at DESC, h.id DESC LIMIT :limit OFFSET :offset"
    )
    rows = await connection.execute(text(sql), params)
    return (None if total is None else int(total)), [dict(row._mapping) for row in rows]


# A correction: the survey's new content replaces the stored one, placed again by the same
# rules as intake; the version goes up and it waits for review again. It is checked for a
# likely duplicate as the batch check checks a survey (app/db/duplicate_checks.py): against
# the surveys received before it, and later ones only if checked without being flagged (they
# did not see it). Of a pair the later one carries the flag, whichever of the two is
# corrected (compared with every survey, a corrected first one was flagged as well).
_CORRECTION_RECEIVED_AT = "(SELECT r.received_at FROM household_surveys r WHERE r.id = i.id)"
_CORRECT = (
    _placed(
        checked=True,
        earlier=received_before(
            _CORRECTION_RECEIVED_AT, "SELECT unnest(survey_ids) FROM duplicate_checks"
        ),
    )
    + """
, updated AS (
UPDATE household_surveys h
SET city_id = p.city_id, ward_id = p.ward_id, settlement_id = p.settlement_id,
    form_id = p.form_id, form_version = p.form_version, collector = p.collector,
    collected_at = p.collected_at, status = 'received',
    flags = {flags_p},
    gps_accuracy_m = p.accuracy_m, altitude_m = p.altitude_m, answers = p.answers,
    location_manual = coalesce(p.location_manual, false), manual_points = p.manual_points,
    content_hash = p.content_hash, geom = p.geom, shape = p.shape, version = h.version + 1,
    updated_at = now()
FROM placed p
WHERE h.id = p.id
RETURNING h.*
)
"""
    + RECORD_SELECT.format(source=_or_moved("updated"), answers=", h.answers")
).replace("{items}", _ITEMS_FROM_PARAMS)
_CORRECT = _shaped(_fill(_CORRECT), True)  # the new content's shape, or none

# The stored content a correction keeps as an earlier version.
_LOCK_FOR_CHANGE = """
SELECT id, status, collector_user_id, city_id, ward_id, settlement_id, content_hash, version,
       form_id, form_version, collector, collected_at, gps_accuracy_m, altitude_m, answers,
       location_manual, manual_points, ST_Y(geom) AS lat, ST_X(geom) AS lon, review_comment,
       flags, reviewed_by
FROM household_surveys WHERE id = $1 FOR UPDATE
"""


async def lock_for_change(raw: Any, survey_id: uuid.UUID) -> dict[str, Any] | None:
    """The survey's current state, its row locked until the transaction ends."""
    row = await raw.fetchrow(_LOCK_FOR_CHANGE, survey_id)
    return dict(row) if row else None


async def keep_version(raw: Any, current: dict[str, Any], replaced_by: int | None) -> None:
    """Keep the stored content as an earlier version before it is replaced."""
    content = {
        key: current[key]
        for key in (
            "form_id",
            "form_version",
            "collector",
            "collected_at",
            "gps_accuracy_m",
            "altitude_m",
            "location_manual",
            "manual_points",
            "lat",
            "lon",
            "answers",
            "status",
            "review_comment",
        )
    }
    await raw.execute(
        "INSERT INTO survey_versions (survey_id, version, content, content_hash, replaced_by) "
        "VALUES ($1, $2, $3::jsonb, $4, $5)",
        current["id"],
        current["version"],
        orjson.dumps(content, default=str).decode(),
        current["content_hash"],
        replaced_by,
    )


async def hold_boundaries(raw: Any) -> None:
    """Keep boundary imports out until the transaction ends (the generation's row FOR SHARE:
    see _AT_GENERATION). A transaction that locks a survey and then places it takes this
    first, in the import's order (the generation, then the surveys it moves): the other way
    round, it would deadlock with an import that moves that survey."""
    await raw.execute("SELECT generation FROM boundary_generation FOR SHARE")


async def replace_content(raw: Any, row: dict[str, Any]) -> dict[str, Any]:
    """Write a correction (placed again, version + 1, status received); the new record. The
    transaction holds the boundaries (hold_boundaries) since before it locked the survey."""
    params = [row[key] for key in SINGLE_ROW_KEYS]
    params[10] = orjson.dumps(params[10]).decode()
    records = await _placed_now(raw, _CORRECT, *params, row.get(SHAPE_KEY))
    return dict(records[0])


async def resubmit(raw: Any, survey_id: uuid.UUID) -> None:
    """Put a (locked) survey sent back for correction in the review queue again, its
    content as it is (its volunteer confirms it), as a new version: a retry of the
    confirmation then names an older one and is told from a new confirmation."""
    await raw.execute(
        "UPDATE household_surveys SET status = 'received', version = version + 1, "
        "updated_at = now() WHERE id = $1",
        survey_id,
    )


async def set_review(
    raw: Any, survey_id: uuid.UUID, status: str, comment: str | None, reviewer: int | None
) -> None:
    """Record a review decision on a (locked) survey."""
    await raw.execute(
        "UPDATE household_surveys SET status = $2, review_comment = $3, reviewed_by = $4, "
        "reviewed_at = now(), updated_at = now() WHERE id = $1",
        survey_id,
        status,
        comment,
        reviewer,
    )


async def versions(connection: AsyncConnection, survey_id: uuid.UUID) -> list[dict[str, Any]]:
    """Earlier versions of a survey, oldest first."""
    rows = await connection.execute(
        text(
            "SELECT version, content, content_hash, replaced_at FROM survey_versions "
            "WHERE survey_id = :id ORDER BY version"
        ),
        {"id": survey_id},
    )
    return [dict(row._mapping) for row in rows]


async def own_changes(
    connection: AsyncConnection,
    collector_user_id: int,
    since: datetime | None,
    limit: int,
    after: uuid.UUID | None = None,
) -> list[dict[str, Any]]:
    """A collector's surveys changed since a time (their review state), oldest change first;
    with `after`, those changed at `since` itself come after that id (keyset paging: a
    settlement approved at once changes many surveys at one instant)."""
    rows = await connection.execute(
        text(
            "SELECT id, status, review_comment, reviewed_at, version, updated_at "
            "FROM household_surveys WHERE collector_user_id = :me "
            "AND (CAST(:since AS timestamptz) IS NULL "
            "     OR (updated_at, id) > (:since, CAST(:after AS uuid))) "
            "ORDER BY updated_at, id LIMIT :limit"
        ),
        {
            "me": collector_user_id,
            "since": since,
            "after": after or uuid.UUID(int=(1 << 128) - 1),
            "limit": limit,
        },
    )
    return [dict(row._mapping) for row in rows]


async def approve_received(
    connection: AsyncConnection,
    settlement_id: int,
    reviewer_id: int,
    reviewer: str,
    only_unflagged: bool,
    scope: SurveyScope = EVERY_SURVEY,
    ward_id: int | None = None,
) -> int:
    """How many surveys approve_received_ids approves (with no list of surveys seen)."""
    approved, _own = await approve_received_ids(
        connection, settlement_id, reviewer_id, reviewer, only_unflagged, scope, ward_id
    )
    return len(approved)


async def approve_received_ids(
    connection: AsyncConnection,
    settlement_id: int,
    reviewer_id: int,
    reviewer: str,
    only_unflagged: bool,
    scope: SurveyScope = EVERY_SURVEY,
    ward_id: int | None = None,
    seen: Mapping[uuid.UUID, int] | None = None,
) -> tuple[list[str], list[str]]:
    """Approve a settlement's received surveys (without flags, with `only_unflagged`: none
    whose duplicate check is still queued either) that are in `scope` (in ward `ward_id` when
    given), each decision put on record in the same statement with the status and comment
    it replaced (a survey corrected after a send-back still carries the reviewer's comment);
    the ids approved, and the ids of those left because the reviewer collected them (nobody
    approves their own survey).

    With `seen` (version by survey id: what the reviewer was shown), only those of them still
    at that version: one corrected since is left as it is. Every condition is checked on the
    locked row (a row changed while the statement waited for it is read again).

    The surveys are locked first, in id order (as REPLACE_HOUSEHOLDS takes them: the two
    cannot deadlock)."""
    in_scope, params = scope.sql("h")
    flagged = f" AND cardinality(h.flags) = 0 AND {NOT_AWAITING_CHECK}" if only_unflagged else ""
    in_ward = " AND h.ward_id = :ward_id" if ward_id is not None else ""
    seen_join = ""
    if seen is not None:
        seen_join = (
            "\n  JOIN unnest(CAST(:seen_ids AS uuid[]), CAST(:seen_versions AS int[]))"
            " AS seen(id, version) ON seen.id = h.id AND seen.version = h.version"
        )
        params = {
            **params,
            "seen_ids": list(seen),
            "seen_versions": list(seen.values()),
        }
    result = await connection.execute(
        text(
            f"""
WITH received AS (
  SELECT h.id, h.status, h.review_comment FROM household_surveys h{seen_join}
  WHERE h.settlement_id = :settlement AND h.status = 'received'{flagged}{in_ward}
    AND {in_scope} AND h.collector_user_id IS DISTINCT FROM :reviewer
  ORDER BY h.id
  FOR NO KEY UPDATE OF h
), own AS (
  SELECT h.id FROM household_surveys h{seen_join}
  WHERE h.settlement_id = :settlement AND h.status = 'received'{flagged}{in_ward}
    AND {in_scope} AND h.collector_user_id = :reviewer
), approved AS (
  UPDATE household_surveys h SET status = 'approved', review_comment = NULL,
         reviewed_by = :reviewer, reviewed_at = now(), updated_at = now()
  FROM received r
  WHERE h.id = r.id
  RETURNING h.id, r.status AS old_status, r.review_comment AS old_comment
)
-- On record when made (clock_timestamp(), not now(): the transaction's start, before the
-- lock waits, so before a correction the statement waited for and approved after).
, logged AS (
  INSERT INTO audit_log (at, actor_id, actor, action, entity, entity_id, old, new)
  SELECT clock_timestamp(), :reviewer, :actor, 'survey.review', 'survey', id::text,
         jsonb_build_object('status', old_status, 'comment', old_comment),
         '{{"status": "approved", "comment": null, "bulk": true}}'::jsonb
  FROM approved
  RETURNING entity_id
)
SELECT entity_id, false AS own FROM logged
UNION ALL
SELECT id::text, true FROM own
"""
        ),
        {
            "reviewer": reviewer_id,
            "actor": reviewer,
            "settlement": settlement_id,
            **params,
            **({"ward_id": ward_id} if ward_id is not None else {}),
        },
    )
    rows = result.fetchall()
    return (
        [str(entity_id) for entity_id, own in rows if not own],
        [str(entity_id) for entity_id, own in rows if own],
    )
