"""Use case: the layers as OGC API Features collections (QGIS, GDAL's OAPIF driver).

Collections: `wards` and `settlements` (with their indicators, priority score and ranks),
`households` (the household form's surveys only) and one per other form, named by its form
id (`<form id>_surveys` when that id is one of the three). Each holds what its reader may
read, as in the rest of the API: a planner their city, a ward leader their ward, a
volunteer the surveys they sent, a national admin everything; approved surveys only. The
columns are the exports' own (app.services.exports.flat_properties); personal answers only
for a reader who may see them in everything they read (see personal_allowed), never for a
planner.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.db import ogc as queries
from app.db.engine import snapshot
from app.db.exports import Property
from app.db.indicators import (
    COUNTED,
    HOUSEHOLD_FORM,
    households_where,
    indicators_sql,
    shown_score_sql,
)
from app.db.ogc import Extent, ItemsQuery, Source
from app.db.sql import sql_literal
from app.errors import NotFound
from app.forms.registry import FormRegistry
from app.services.access import Principal
from app.services.exports import FIXED_LAYERS, ISO_UTC, flat_properties, survey_geometry
from app.services.indicators import (
    INDICATOR_KEYS,
    INDICATORS,
    Weights,
    cities_weights,
)
from app.services.ogc_params import MAX_OFFSET, RESERVED_PARAMETERS, page_cursor

SURVEYS_FROM = (
    "household_surveys h LEFT JOIN cities c ON c.id = h.city_id "
    "LEFT JOIN wards w ON w.id = h.ward_id LEFT JOIN settlements s ON s.id = h.settlement_id"
)


@dataclass(frozen=True)
class Figures:
    """How a collection of areas gets its figures: `ind`, computed per city (a city's ranks
    need its every area) for the cities of the features a request shows, never for every
    city the reader may read (a national admin's page of 10 wards computed the whole
    country's figures: 42 ms at 30 cities of 50,000 households, 7 ms at one, growing with
    each city; 6.5 ms either way now)."""

    kind: str  # 'ward' or 'settlement': the rows of `ind` the features join
    city_sql: str  # the feature's city, on the plain source's row
    plain: Source  # the same features without their figures (no `ind`)
    names: frozenset[str]  # the properties that are figures: a filter on one needs `ind`
    priorities: Path  # the common weights of the scores
    household_form: str = HOUSEHOLD_FORM  # whose surveys are the households counted


@dataclass(frozen=True)
class Collection:
    """One collection: its id, its titles (vi, en) and where its features come from."""

    id: str
    title: dict[str, str]
    description: dict[str, str]
    # With `figures`: the properties and joins, its WITH clause (`ind`) left to figures_for.
    source: Source
    extent_source: Source  # the same rows without the figures: a cheaper extent
    geometry_type: str = "Point"  # as GeoJSON names it
    figures: Figures | None = None


@dataclass(frozen=True)
class Page:
    """One page of items: the Feature JSON texts joined by commas, the counts, and the
    cursor of the next page (None on the last)."""

    features: str
    returned: int
    matched: int
    next: str | None
    before: int | None = None  # features before this page, when asked for


def city_column(properties: Sequence[Property]) -> tuple[Property, ...]:
    """The exports write the city as a literal (one city per file); a collection spans the
    cities its reader may read, so the city comes from the row."""
    return tuple(Property("city", "c.slug", "code") if p.name == "city" else p for p in properties)


def _area_scope(reader: Principal, alias: str, ward_column: str) -> tuple[str, dict[str, Any]]:
    if reader.is_national_admin:
        return "TRUE", {}
    return (
        f"({alias}.city_id = ANY(:area_cities) OR {ward_column} = ANY(:area_wards))",
        {
            "area_cities": sorted(reader.cities_as("planner", "city_admin")),
            "area_wards": sorted(reader.wards_as("ward_leader")),
        },
    )


def _figures_with(
    city_ids: Sequence[int], weights: Mapping[int, Weights], household_form: str
) -> tuple[str, dict[str, Any]]:
    """WITH ind AS (...): the indicators, score and ranks of every area of these cities, each
    city's score by its own weights (computed once, however often the statement joins it),
    counting the surveys of the household form (settings.household_form), as the API does."""
    base = indicators_sql([i.rule for i in INDICATORS], household_form=household_form)
    params: dict[str, Any] = {}
    parts = []
    for index, city_id in enumerate(city_ids or [0]):
        part = base.replace(":city_id", f":ind_city_{index}")
        params[f"ind_city_{index}"] = city_id
        # No readable city: the statement of city 0 has no rows, whatever it weighs.
        values = (
            weights[city_id].values if city_id in weights else dict.fromkeys(INDICATOR_KEYS, 1.0)
        )
        for key in INDICATOR_KEYS:
            part = part.replace(f":w_{key} ", f":w_{key}_{index} ")
            params[f"w_{key}_{index}"] = values[key]
        parts.append(f"({part})")
    return "WITH ind AS MATERIALIZED (" + " UNION ALL ".join(parts) + ")", params


def _figure_properties(settlement: bool) -> list[Property]:
    props = [
        Property("households", "coalesce(ind.households, 0)", "number"),
        Property("score", shown_score_sql("ind.score"), "number"),
    ]
    props += [
        Property(f"share_{key}", f"round(ind.share_{key}::numeric, 4)", "number")
        for key in INDICATOR_KEYS
    ]
    props += [Property(f"count_{key}", f"ind.count_{key}", "number") for key in INDICATOR_KEYS]
    if settlement:
        props.append(Property("rank_in_ward", "ind.rank_in_ward", "number"))
    props.append(Property("rank_in_city", "ind.rank_in_city", "number"))
    props.append(Property("last_collected_at", ISO_UTC.format("ind.last_collected_at"), "code"))
    return props


def _collection(
    collection_id: str,
    title: dict[str, str],
    description: dict[str, str],
    source: Source,
    geometry_type: str = "Point",
) -> Collection:
    return Collection(collection_id, title, description, source, source, geometry_type)


WARD_PROPERTIES = (
    Property("id", "w.id", "number"),
    Property("code", "w.code"),
    Property("name", "w.name"),
    Property("city", "c.slug", "code"),
)
SETTLEMENT_PROPERTIES = (
    Property("id", "s.id", "number"),
    Property("code", "s.code"),
    Property("name", "s.name"),
    Property("city", "c.slug", "code"),
    Property("ward_id", "s.ward_id", "number"),
    Property("ward", "w.name"),
    Property("households_estimate", "s.households_estimate", "number"),
    Property("year_settled", "s.year_settled", "number"),
    Property("land_type", "s.land_type"),
    Property("threats", "array_to_string(s.threats, ',')"),
)


def wards_source(reader: Principal) -> Source:
    """The wards the reader may read, with their own fields (no figures)."""
    scope, params = _area_scope(reader, "w", "w.id")
    return Source(
        "wards w JOIN cities c ON c.id = w.city_id",
        scope,
        "w.id",
        False,
        "w.geom",
        None,
        WARD_PROPERTIES,
        params,
    )


def settlements_source(reader: Principal) -> Source:
    """The settlements the reader may read, with their own fields (no figures)."""
    scope, params = _area_scope(reader, "s", "s.ward_id")
    return Source(
        "settlements s JOIN cities c ON c.id = s.city_id LEFT JOIN wards w ON w.id = s.ward_id",
        scope,
        "s.id",
        False,
        "s.geom",
        None,
        SETTLEMENT_PROPERTIES,
        params,
    )


def surveys_source(
    reader: Principal, condition: str, properties: Sequence[Property], geometry: str = "h.geom"
) -> Source:
    """The surveys the reader may read that meet `condition` (a form's approved ones), their
    `geometry` the point (or the area of a form whose location is a geoshape: `h.shape`)."""
    scope, params = reader.survey_filter().sql("h")
    return Source(
        SURVEYS_FROM,
        f"{scope} AND {condition}",
        "h.id",
        True,
        geometry,
        "h.collected_at",
        city_column(properties),
        params,
    )


def _with_figures(plain: Source, kind: str) -> Source:
    """A ward or settlement source joined to its indicators, score and ranks (`ind`, which
    figures_for adds for the cities a request needs)."""
    alias = plain.id_sql.split(".")[0]
    return Source(
        f"{plain.from_sql} LEFT JOIN ind ON ind.kind = '{kind}' AND ind.id = {alias}.id",
        plain.scope,
        plain.id_sql,
        False,
        plain.geometry,
        None,
        (*plain.properties, *_figure_properties(settlement=kind == "settlement")),
        dict(plain.params),
    )


def _area_collection(
    collection_id: str,
    plain: Source,
    kind: str,
    geometry_type: str,
    priorities: Path,
    household_form: str,
) -> Collection:
    source = _with_figures(plain, kind)
    names = frozenset(p.name for p in source.properties) - {p.name for p in plain.properties}
    alias = plain.id_sql.split(".")[0]
    figures = Figures(kind, f"{alias}.city_id", plain, names, priorities, household_form)
    return Collection(
        collection_id,
        _texts(f"ogc.{collection_id}"),
        _texts(f"ogc.{collection_id}_about"),
        source,
        plain,
        geometry_type,
        figures,
    )


async def figures_for(
    connection: AsyncConnection, collection: Collection, city_ids: Sequence[int]
) -> Source:
    """The collection's source with the figures of these cities' areas (`ind`), each city's
    score by its own weights; an area of another city joins no figures."""
    if collection.figures is None:
        return collection.source
    weights = await cities_weights(connection, city_ids, collection.figures.priorities)
    with_sql, params = _figures_with(city_ids, weights, collection.figures.household_form)
    source = collection.source
    return replace(source, params={**source.params, **params}, with_sql=with_sql)


async def collections(
    engine: AsyncEngine,
    forms: FormRegistry,
    reader: Principal,
    priorities: Path,
    household_form: str = HOUSEHOLD_FORM,
) -> list[Collection]:
    """Every collection, each limited to what the reader may read (the areas' figures are
    computed by the request that shows them, for the cities it shows: figures_for)."""
    found = [
        _area_collection(
            "wards", wards_source(reader), "ward", "MultiPolygon", priorities, household_form
        ),
        _area_collection(
            "settlements",
            settlements_source(reader),
            "settlement",
            "Polygon",
            priorities,
            household_form,
        ),
    ]
    personal = personal_allowed(reader)
    geometry, geometry_type = survey_geometry(forms, household_form)
    found.append(
        _collection(
            "households",
            _texts("ogc.households"),
            _texts("ogc.households_about"),
            surveys_source(
                reader,
                households_where("approved", household_form),
                flat_properties(forms, household_form, "", None, personal, household_form),
                geometry,
            ),
            geometry_type,
        )
    )
    for form in forms.all_current():
        if form.form_id == household_form:
            continue
        name = f"{form.form_id}_surveys" if form.form_id in FIXED_LAYERS else form.form_id
        condition = f"h.form_id = {sql_literal(form.form_id)} AND {COUNTED['approved']}"
        geometry, geometry_type = survey_geometry(forms, form.form_id)
        found.append(
            _collection(
                name,
                dict(form.title) or {"vi": form.form_id, "en": form.form_id},
                _texts("ogc.form_about"),
                surveys_source(
                    reader,
                    condition,
                    flat_properties(forms, form.form_id, "", None, personal, household_form),
                    geometry,
                ),
                geometry_type,
            )
        )
    return found


def personal_allowed(reader: Principal) -> bool:
    """Whether the survey collections may carry personal answers: only when the reader may
    see them in every survey they may read (a national admin; city admins, ward leaders and
    collectors of their own), never when a planner's grant lets them read a city."""
    if reader.is_national_admin:
        return True
    return not reader.cities_as("planner") - reader.cities_as("city_admin")


def _texts(code: str) -> dict[str, str]:
    from app.i18n import translate

    return {language: translate(code, language) for language in ("vi", "en")}


def find(found: Sequence[Collection], collection_id: str) -> Collection:
    """The collection of that id, or NotFound."""
    for collection in found:
        if collection.id == collection_id:
            return collection
    raise NotFound("collection_not_found", id=collection_id)


async def collection_extent(engine: AsyncEngine, collection: Collection) -> Extent:
    """The extent of what the reader may read of a collection."""
    async with engine.connect() as connection:
        return await queries.extent(connection, collection.extent_source)


async def items(
    engine: AsyncEngine, collection: Collection, query: ItemsQuery, count_before: bool = False
) -> Page:
    """One page of a collection's features in id order, how many match in all, and the
    cursor that starts the next page (`count_before`: how many come before this one too).

    Areas: the page is found without the figures, then the figures of its features' cities
    only are computed and joined (one snapshot: both statements see the same rows). A filter
    on a figure (`?score=`) needs the figures of every city whose areas match the rest of
    the query, to know which match."""
    figures = collection.figures
    if figures is None:
        async with engine.connect() as connection:
            found = await queries.features_page(connection, collection.source, query, count_before)
    elif figures.names & {name for name, _ in query.filters}:
        others = tuple((n, v) for n, v in query.filters if n not in figures.names)
        async with snapshot(engine) as connection:
            cities = await queries.cities_of(
                connection, figures.plain, replace(query, filters=others), figures.city_sql
            )
            source = await figures_for(connection, collection, cities)
            found = await queries.features_page(connection, source, query, count_before)
    else:
        async with snapshot(engine) as connection:
            keys = await queries.page_keys(
                connection, figures.plain, query, figures.city_sql, count_before
            )
            source = await figures_for(connection, collection, keys.cities)
            features = await queries.features_text(connection, source, keys.keys)
        found = queries.FeaturesPage(
            features, len(keys.keys), keys.last_key, keys.more, keys.matched, keys.before
        )
    cursor = (
        page_cursor(found.last_key, collection.source)
        if found.more and found.last_key is not None
        else None
    )
    return Page(found.features, found.returned, found.matched, cursor, found.before)


_FEATURE_NUMBER = re.compile(r"[1-9][0-9]{0,11}")


async def item(engine: AsyncEngine, collection: Collection, raw_id: str) -> str:
    """One feature's JSON text, or NotFound (also for an id that cannot be one)."""
    # Only an id as this API writes it: int() and uuid.UUID() also read "+12", " 12", "1_2",
    # full-width digits and braced or capital uuids, each another URL for the same feature.
    feature_id: Any
    try:
        if collection.source.id_is_text:
            feature_id = uuid.UUID(raw_id)
            if str(feature_id) != raw_id:
                raise ValueError(raw_id)
        else:
            if not _FEATURE_NUMBER.fullmatch(raw_id):
                raise ValueError(raw_id)
            feature_id = int(raw_id)
            if not 0 < feature_id <= MAX_OFFSET:
                raise ValueError(raw_id)
    except ValueError:
        raise NotFound("feature_not_found", id=raw_id[:100]) from None
    async with snapshot(engine) as connection:
        source = collection.source
        if collection.figures is not None:  # the figures of its city only
            city = await queries.feature_city(
                connection, collection.figures.plain, collection.figures.city_sql, feature_id
            )
            if city is None:
                raise NotFound("feature_not_found", id=raw_id[:100])
            source = await figures_for(connection, collection, [city])
        found = await queries.feature_text(connection, source, feature_id)
    if found is None:
        raise NotFound("feature_not_found", id=raw_id[:100])
    return found


# JSON Schema types of the properties, as a client filters on them (`?ward_id=3`).
_SCHEMA_TYPES = {"int": "integer", "float": "number", "text": "string"}
# Areas are (multi)polygons; surveys are points, or polygons for a form whose location is a
# geoshape.
GEOMETRY_SCHEMAS = {
    "Point": ("geometry-point", "https://geojson.org/schema/Point.json"),
    "Polygon": ("geometry-polygon", "https://geojson.org/schema/Polygon.json"),
    "MultiPolygon": ("geometry-multipolygon", "https://geojson.org/schema/MultiPolygon.json"),
}


def queryables(collection: Collection, uri: str, language: str) -> dict[str, Any]:
    """The collection's queryables (OGC API Features Part 3) as a JSON Schema: every
    property a client may filter on with `?<name>=<value>` (equal; not those named as a
    reserved parameter, `geometry` or `datetime`), with its type, the geometry and, when it
    has one, the time `datetime` filters on."""
    shape, schema = GEOMETRY_SCHEMAS[collection.geometry_type]
    properties: dict[str, Any] = {
        "geometry": {"title": "geometry", "format": shape, "$ref": schema}
    }
    if collection.source.time is not None:
        properties["datetime"] = {"title": "datetime", "type": "string", "format": "date-time"}
    for prop in collection.source.properties:
        # A property named as a reserved parameter cannot be a `?<name>=` filter (`?limit=`
        # is the page size), and one named `geometry` or `datetime` would replace the
        # schema's own: such a property is in every feature but is no queryable.
        if prop.name in RESERVED_PARAMETERS or prop.name in properties:
            continue
        kind = "string" if prop.kind in ("code", "text") else _SCHEMA_TYPES[prop.type]
        properties[prop.name] = {"title": prop.name, "type": kind}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": uri,
        "type": "object",
        "title": collection.title.get(language) or collection.id,
        "properties": properties,
        "additionalProperties": False,
    }
