"""SQL for the OGC API Features collections: PostGIS writes each Feature as JSON text.

A collection is a `Source`: the tables it reads, the condition that keeps it to what the
reader may read, its feature id, geometry, time and properties (the export's own `Property`
list, so that a collection and an export of the same layer carry the same columns). Every
value a client sends arrives here as a bound parameter; only names from the forms and from
this code become SQL text.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.exports import COORDINATE_DECIMALS, Property, properties_sql


@dataclass(frozen=True)
class Source:
    """Where a collection's features come from and who may read which."""

    from_sql: str  # FROM and JOINs, no WHERE
    scope: str  # the rows the reader may read (and the layer's own condition)
    id_sql: str  # the feature id (unique): also the paging order and the cursor's key
    id_is_text: bool  # a uuid (quoted in JSON) or an integer
    geometry: str
    time: str | None  # the timestamp `datetime` filters on (None: the collection has none)
    properties: tuple[Property, ...]
    params: dict[str, Any] = field(default_factory=dict)
    with_sql: str = ""  # a WITH clause that from_sql refers to

    def property(self, name: str) -> Property | None:
        """The property of that name, if the collection has it."""
        return next((p for p in self.properties if p.name == name), None)


@dataclass(frozen=True)
class ItemsQuery:
    """What a client asked of a collection's items, already validated."""

    limit: int = 100
    offset: int = 0  # skipped after `after` (clients that page by offset)
    after: int | uuid.UUID | None = None  # the keyset cursor: the last id of the page before
    bbox: tuple[float, float, float, float] | None = None  # west, south, east, north
    start: datetime | None = None  # collected at or after (inclusive)
    end: datetime | None = None  # collected before (exclusive)
    filters: tuple[tuple[str, str], ...] = ()  # (property name, value), each must be equal


def value_text_sql(prop: Property) -> str:
    """A property's value as text, as a client writes it in a filter (`?tenure=red_book`):
    as the feature's JSON shows it (a survey's time as `2026-12-05T00:43:01Z`, a date as
    `2026-12-05`)."""
    if prop.kind == "json":
        return f"(({prop.sql}) #>> '{{}}')"
    if prop.kind == "text" and prop.value is not None:  # a date: its JSON text
        return f"(to_json({prop.sql}) #>> '{{}}')"
    return f"(({prop.sql})::text)"


def _where(source: Source, query: ItemsQuery) -> tuple[str, dict[str, Any]]:
    clauses = [source.scope]
    params = dict(source.params)
    if query.bbox is not None:
        west, south, east, north = query.bbox
        params.update(bbox_south=south, bbox_north=north)
        if west <= east:
            params.update(bbox_west=west, bbox_east=east)
            clauses.append(
                f"{source.geometry} && ST_MakeEnvelope("
                ":bbox_west, :bbox_south, :bbox_east, :bbox_north, 4326)"
            )
        else:  # across the antimeridian: two boxes
            params.update(bbox_west=west, bbox_east=east)
            clauses.append(
                f"({source.geometry} && ST_MakeEnvelope(:bbox_west, :bbox_south, 180, "
                f":bbox_north, 4326) OR {source.geometry} && ST_MakeEnvelope(-180, "
                ":bbox_south, :bbox_east, :bbox_north, 4326))"
            )
    if source.time is not None:
        if query.start is not None:
            clauses.append(f"{source.time} >= :time_start")
            params["time_start"] = query.start
        if query.end is not None:
            clauses.append(f"{source.time} < :time_end")
            params["time_end"] = query.end
    for index, (name, value) in enumerate(query.filters):
        prop = source.property(name)
        if prop is None:  # the service checked every name; never a name as SQL text
            raise ValueError(f"no property {name!r}")
        clauses.append(f"{value_text_sql(prop)} = :filter_{index}")
        params[f"filter_{index}"] = value
    return " AND ".join(f"({c})" for c in clauses), params


def feature_text_sql(source: Source) -> str:
    """SQL for one Feature's JSON text (with its id, as OGC API Features clients need)."""
    id_json = (
        f"'\"' || ({source.id_sql})::text || '\"'"
        if source.id_is_text
        else f"({source.id_sql})::text"
    )
    return (
        f'\'{{"type":"Feature","id":\' || {id_json} || \',"geometry":\' || '
        f"coalesce(ST_AsGeoJSON({source.geometry}, {COORDINATE_DECIMALS}), 'null') || "
        f"',\"properties\":' || {properties_sql(source.properties)} || '}}'"
    )


@dataclass(frozen=True)
class FeaturesPage:
    """One page of features as PostgreSQL wrote it, with what the links and counts need."""

    features: str  # the Feature JSON texts, comma-separated
    returned: int
    last_key: str | None  # the page's last feature id: where the next page starts
    more: bool  # whether a feature matches after this page
    matched: int  # every feature that matches (numberMatched), whatever the page
    before: int | None  # features before this page, when asked for (the HTML page's numbers)


def _page_sql(
    source: Source, query: ItemsQuery, count_before: bool, first: str
) -> tuple[str, dict[str, Any]]:
    """The page statement: `first` (an expression over the CTE `shown`, the page's keys),
    then the page's size, its last key, whether more follow, the count of all matches and
    (`count_before`) the count before the page."""
    where, params = _where(source, query)
    position = where
    if query.after is not None:
        position = f"{where} AND {source.id_sql} > :after_key"
        params["after_key"] = query.after
    params.update(page_limit=query.limit, page_fetch=query.limit + 1, page_offset=query.offset)
    with_sql = source.with_sql + ", " if source.with_sql else "WITH "
    count_all = f"(SELECT count(*) FROM {source.from_sql} WHERE {where})"
    if query.after is None and query.offset == 0:
        # The whole result on this page: its rows are the count (no second scan).
        matched = (
            "CASE WHEN (SELECT count(*) FROM page) <= :page_limit "
            f"THEN (SELECT count(*) FROM page) ELSE {count_all} END"
        )
    else:
        matched = count_all
    before = "NULL::bigint"
    if count_before and query.after is not None:
        before = (
            f"(SELECT count(*) FROM {source.from_sql} WHERE {where} "
            f"AND {source.id_sql} <= :after_key) + :page_offset"
        )
    # `shown.key`, qualified: a bare `key` in ORDER BY is the output column `key::text`, and
    # "9" sorts after "10" (an area page's cursor went back one feature).
    sql = (
        f"{with_sql}page AS MATERIALIZED (SELECT {source.id_sql} AS key FROM {source.from_sql} "
        f"WHERE {position} ORDER BY {source.id_sql} LIMIT :page_fetch OFFSET :page_offset), "
        "shown AS MATERIALIZED (SELECT key FROM page ORDER BY key LIMIT :page_limit) "
        f"SELECT {first}, (SELECT count(*) FROM shown), "
        "(SELECT shown.key::text FROM shown ORDER BY shown.key DESC LIMIT 1), "
        f"(SELECT count(*) FROM page) > :page_limit, {matched}, {before}"
    )
    return sql, params


def _before(value: Any, query: ItemsQuery, count_before: bool) -> int | None:
    return int(value) if value is not None else query.offset if count_before else None


async def features_page(
    connection: AsyncConnection, source: Source, query: ItemsQuery, count_before: bool = False
) -> FeaturesPage:
    """One page of features in id order after `query.after` (then `query.offset` skipped),
    with the count of all matches, in one statement: one snapshot, so the count, the page and
    whether more follow always agree.

    The position is a keyset (`id > last id of the previous page`), not an offset: a survey
    approved, corrected or sent back between two pages moves no other feature to another
    page. The cursor is one more condition on the already filtered rows, so it can only
    position within what the reader may read. The page's ids are found first and only its
    rows written as JSON: PostgreSQL computes a query's select list for the rows OFFSET
    skips too (the last page of 100,000 households by offset took 5 s instead of 1.5 s).
    One row more than the page tells whether a next page exists.
    """
    text_sql = (
        f"(SELECT coalesce(string_agg({feature_text_sql(source)}, ',' "
        f"ORDER BY shown.key), '') FROM shown JOIN {source.from_sql} ON {source.id_sql} = "
        "shown.key)"
    )
    sql, params = _page_sql(source, query, count_before, text_sql)
    row = (await connection.execute(text(sql), params)).one()
    return FeaturesPage(
        str(row[0]),
        int(row[1]),
        None if row[2] is None else str(row[2]),
        bool(row[3]),
        int(row[4]),
        _before(row[5], query, count_before),
    )


@dataclass(frozen=True)
class PageKeys:
    """One page as features_page finds it, without the features: their ids and cities."""

    keys: list[Any]  # the page's feature ids, in order
    cities: list[int]  # the cities of those features
    last_key: str | None
    more: bool
    matched: int
    before: int | None


async def page_keys(
    connection: AsyncConnection,
    source: Source,
    query: ItemsQuery,
    city_sql: str,
    count_before: bool = False,
) -> PageKeys:
    """The page features_page would return (the same statement, the same keyset), as the
    ids of its features and the cities they are in (`city_sql`, on the source's row): a page
    of areas whose figures are then computed for those cities only (features_text)."""
    first = (
        "(SELECT array_agg(shown.key ORDER BY shown.key) FROM shown), "
        f"(SELECT array_agg(DISTINCT {city_sql} ORDER BY {city_sql}) FROM shown "
        f"JOIN {source.from_sql} ON {source.id_sql} = shown.key)"
    )
    sql, params = _page_sql(source, query, count_before, first)
    row = (await connection.execute(text(sql), params)).one()
    return PageKeys(
        list(row[0] or []),
        [int(city) for city in row[1] or []],
        None if row[3] is None else str(row[3]),
        bool(row[4]),
        int(row[5]),
        _before(row[6], query, count_before),
    )


async def features_text(connection: AsyncConnection, source: Source, keys: Sequence[Any]) -> str:
    """The Feature JSON texts of these ids (that the reader may read), comma-separated in id
    order."""
    if not keys:
        return ""
    sql = (
        f"{source.with_sql} SELECT coalesce(string_agg({feature_text_sql(source)}, ',' "
        f"ORDER BY {source.id_sql}), '') FROM {source.from_sql} "
        f"WHERE ({source.scope}) AND {source.id_sql} = ANY(:page_keys)"
    )
    row = (await connection.execute(text(sql), {**source.params, "page_keys": list(keys)})).one()
    return str(row[0])


async def feature_text(connection: AsyncConnection, source: Source, feature_id: Any) -> str | None:
    """One feature's JSON text, or None when the reader may not read it or it does not exist."""
    sql = (
        f"{source.with_sql} SELECT {feature_text_sql(source)} FROM {source.from_sql} "
        f"WHERE ({source.scope}) AND {source.id_sql} = :feature_id"
    )
    row = (await connection.execute(text(sql), {**source.params, "feature_id": feature_id})).first()
    return None if row is None else str(row[0])


@dataclass(frozen=True)
class Extent:
    """A collection's extent: [west, south, east, north] and its first and last times."""

    bbox: list[float] | None
    start: datetime | None
    end: datetime | None


async def extent(connection: AsyncConnection, source: Source) -> Extent:
    """The extent of what the reader may read of a collection."""
    times = (
        f"min({source.time}) AS t0, max({source.time}) AS t1"
        if source.time
        else "NULL::timestamptz AS t0, NULL::timestamptz AS t1"
    )
    sql = (
        f"{source.with_sql} SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), t0, t1 "
        f"FROM (SELECT ST_Extent({source.geometry}) AS e, {times} "
        f"FROM {source.from_sql} WHERE {source.scope}) x"
    )
    row = (await connection.execute(text(sql), source.params)).one()
    bbox = None if row[0] is None else [float(v) for v in row[:4]]
    return Extent(bbox, row[4], row[5])


async def cities_of(
    connection: AsyncConnection, source: Source, query: ItemsQuery, city_sql: str
) -> list[int]:
    """The cities (`city_sql`, on the source's row) of the features that match the query."""
    where, params = _where(source, query)
    rows = await connection.execute(
        text(
            f"{source.with_sql} SELECT DISTINCT {city_sql} FROM {source.from_sql} "
            f"WHERE {where} ORDER BY 1"
        ),
        params,
    )
    return [int(row[0]) for row in rows if row[0] is not None]


async def feature_city(
    connection: AsyncConnection, source: Source, city_sql: str, feature_id: Any
) -> int | None:
    """The city of one feature the reader may read (None: no such feature for them)."""
    sql = (
        f"{source.with_sql} SELECT {city_sql} FROM {source.from_sql} "
        f"WHERE ({source.scope}) AND {source.id_sql} = :feature_id"
    )
    row = (await connection.execute(text(sql), {**source.params, "feature_id": feature_id})).first()
    return None if row is None or row[0] is None else int(row[0])
