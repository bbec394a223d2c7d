"""Use case: which rows and columns a layer export holds (households, settlements, wards, a
form's surveys), whatever the file format: the filters of the list endpoints, the reader's
access, labels and personal fields. Writing the files is app/services/export_files.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import places as place_queries
from app.db.exports import OrderedHalves, Property
from app.db.indicators import (
    COUNTED,
    HOUSEHOLD_FORM,
    Counted,
    indicators_sql,
    shown_score_sql,
)
from app.db.review_stats import settlement_survey_wards
from app.db.scope import EVERY_SURVEY, SurveyScope
from app.db.sql import sql_literal
from app.errors import Forbidden, NotFound, UnknownForm
from app.forms.registry import FormRegistry
from app.geo.styles import value_class_sql
from app.services import places
from app.services.access import Principal
from app.services.exports import (
    RepeatColumn,
    choice_labels,
    flat_properties,
    form_columns,
    personal_allowed,
    survey_geometry,
)
from app.services.indicators import INDICATORS, waiting_for, weights_of

AREA_LAYERS = ("wards", "settlements")
SURVEY_LAYERS = ("households",)
CDF_LAYERS = ("savings_groups", "upgrading_projects")  # app/services/export_cdf_layers.py
LAYERS = (*AREA_LAYERS, *SURVEY_LAYERS, *CDF_LAYERS)
SURVEYS_SOURCE = (
    "household_surveys h LEFT JOIN wards w ON w.id = h.ward_id "
    "LEFT JOIN settlements s ON s.id = h.settlement_id"
)


@dataclass(frozen=True)
class ExportFilters:
    """The filters of the list endpoints: a ward, a settlement, a status (else approved
    surveys, or with surveys="all" every one not rejected) and a collection time range.
    Area layers (wards, settlements) take the ward and settlement; their figures count the
    surveys named by `surveys`, or those in `status` collected in the time range."""

    ward_id: int | None = None
    settlement_id: int | None = None
    status: str | None = None
    collected_from: datetime | None = None
    collected_to: datetime | None = None
    surveys: Counted = "approved"


@dataclass(frozen=True)
class RelatedTable:
    """A repeat's instances as their own rows: the survey's id, the instance's position
    (from 1) and its answers (a nested repeat as JSON text)."""

    name: str
    properties: list[Property]
    source: str
    args: list[Any]


@dataclass(frozen=True)
class LayerQuery:
    """One layer's rows as SQL: columns, geometry, FROM ... WHERE and its arguments."""

    name: str
    description: str
    properties: list[Property]
    geometry: str
    geometry_type: str  # as GDAL names it: Point, Polygon, MultiPolygon
    source: str
    args: list[Any]
    related: list[RelatedTable] = field(default_factory=list)
    halves: OrderedHalves | None = None  # the same rows in two ranges of their order
    # With `labels`, each select_one question's labels by code, as its column holds them
    # (a QGIS style's categories must be the column's values).
    choice_labels: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def is_point(self) -> bool:
        """Whether the layer's geometries are points (CSV: lon/lat, else WKT)."""
        return self.geometry_type == "Point"


DESCRIPTIONS = {
    "wards": "Phường/xã: ranh giới, số hộ, chỉ số, điểm ưu tiên và thứ hạng. "
    "Wards: boundaries, households, indicators, priority score and rank.",
    "settlements": "Khu dân cư: ranh giới, chỉ số thiếu hụt, điểm ưu tiên (0-100), hạng "
    "trong phường và thành phố. Settlements: boundaries, deficiency shares, priority score "
    "(0-100), rank in ward and city.",
    "households": "Hộ gia đình: điểm GPS và câu trả lời của phiếu khảo sát hộ. "
    "Households: GPS points and the household survey's answers.",
    "form": "Phiếu '{form}': điểm và câu trả lời. Surveys of form '{form}': points and answers.",
    "form_area": "Phiếu '{form}': vùng (ranh giới đã đi) và câu trả lời. "
    "Surveys of form '{form}': areas (walked boundaries) and answers.",
}


async def checked_settlement(
    engine: AsyncEngine,
    reader: Principal,
    city_id: int,
    filters: ExportFilters,
    survey_wards: bool = False,
    readable: Callable[[dict[str, Any]], bool] | None = None,
) -> dict[str, Any] | None:
    """The `settlement` filter's place (city_id, ward_id), None without one. NotFound for a
    settlement that does not exist, is another city's, that the reader may not read
    (`readable`, else Principal.can_read_area), or that lies outside the `ward` filter: drawn in
    another ward, unless (`survey_wards`, the survey layers) it holds surveys in the ward, as
    the review page counts a settlement straddling wards. The caller has checked the ward
    (exists, in the city, readable): a settlement in it is readable too. Checked before any
    file is built: an empty file would read as "no surveys there"."""
    if filters.settlement_id is None:
        return None
    settlement_id, ward_id = filters.settlement_id, filters.ward_id
    may_read = readable or (lambda place: reader.can_read_area(place["city_id"], place["ward_id"]))
    async with engine.connect() as connection:
        place = await place_queries.settlement_by_id(connection, settlement_id)
        if place is None or place["city_id"] != city_id:
            raise NotFound("settlement_not_found", id=settlement_id)
        if ward_id is None:
            if may_read(place):
                return place
            raise NotFound("settlement_not_found", id=settlement_id)
        if place["ward_id"] == ward_id:
            return place
        if survey_wards and ward_id in await settlement_survey_wards(connection, settlement_id):
            return place
    if may_read(place):  # they may know where it lies: say so
        raise NotFound("settlement_not_in_ward", id=settlement_id, ward=ward_id)
    raise NotFound("settlement_not_found", id=settlement_id)


async def checked_ward(
    engine: AsyncEngine, reader: Principal, city_id: int, ward_id: int | None
) -> None:
    """The `ward` filter names a ward of the city (places.ward, as places.readable_area
    looks it up), else NotFound; for layers whose readers are not the survey readers (the
    CDF's), who check who may read it themselves."""
    if ward_id is not None and (await places.ward(engine, ward_id, reader))["city_id"] != city_id:
        raise NotFound("ward_not_found", id=ward_id)


async def readable_places(
    engine: AsyncEngine,
    reader: Principal,
    city_slug: str,
    filters: ExportFilters,
    survey_wards: bool = False,
) -> dict[str, Any]:
    """The city of a households, form or area layer, its `ward` and `settlement` filters
    checked: places.readable_area (the city, or the ward, the reader may read) then
    checked_settlement. NotFound otherwise. The city."""
    city = await places.readable_area(engine, reader, city_slug, filters.ward_id)
    await checked_settlement(engine, reader, city["id"], filters, survey_wards)
    return city


def _survey_where(condition: str, city_id: int, filters: ExportFilters) -> tuple[str, list[Any]]:
    args: list[Any] = [city_id]
    clauses = ["h.city_id = $1", condition]

    def add(sql: str, value: Any) -> None:
        args.append(value)
        clauses.append(sql.format(f"${len(args)}"))

    if filters.status is not None:
        add("h.status = {}", filters.status)
    else:
        clauses.append(COUNTED[filters.surveys])
    if filters.ward_id is not None:
        add("h.ward_id = {}", filters.ward_id)
    if filters.settlement_id is not None:
        add("h.settlement_id = {}", filters.settlement_id)
    if filters.collected_from is not None:
        add("h.collected_at >= {}", filters.collected_from)
    if filters.collected_to is not None:
        add("h.collected_at < {}", filters.collected_to)
    return " AND ".join(clauses), args


def _related(repeat: RepeatColumn, where: str, args: list[Any], layer: str) -> RelatedTable:
    """A repeat's rows: one per instance, its answers as text (a nested repeat as JSON)."""
    # one way of filtering nested repeats, and of naming an answer's column
    from app.services.exports import FILE_COLUMNS, _repeat_sql, free_name

    properties = [
        Property("parent_id", "h.id", "code", "h.id::text"),
        Property("position", "r.n", "number", field_type="int"),
    ]
    taken = {name.lower() for name in (*FILE_COLUMNS, *(p.name for p in properties))}
    for key in repeat.keys:
        properties.append(Property(free_name(key, taken), f"r.e->>{sql_literal(key)}"))
    for nested in repeat.nested:
        value = f"r.e->{sql_literal(nested.name)}"
        properties.append(
            Property(free_name(nested.name, taken), f"({_repeat_sql(value, nested, 1)})::text")
        )
    instances = f"h.answers->{sql_literal(repeat.name)}"
    source = (
        f"household_surveys h CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN "
        f"jsonb_typeof({instances}) = 'array' THEN {instances} ELSE '[]'::jsonb END) "
        f"WITH ORDINALITY AS r(e, n) WHERE {where} AND jsonb_typeof(r.e) = 'object' "
        "ORDER BY h.collected_at, h.id, r.n"
    )
    return RelatedTable(f"{layer}_{repeat.name}", properties, source, args)


async def survey_layer(
    engine: AsyncEngine,
    forms: FormRegistry,
    form_id: str,
    city_slug: str,
    reader: Principal,
    filters: ExportFilters,
    labels: str | None = None,
    household_form: str = HOUSEHOLD_FORM,
    name: str | None = None,
    with_personal: bool = False,
) -> LayerQuery:
    """The surveys of one form in a city (or ward), flat (see exports.flat_properties): the
    household form's as `households`, another form's named by its id. NotFound for a form
    the server does not have, as for a place the reader may not read. Personal answers
    only when asked (`with_personal`) by a reader who may see them (else Forbidden)."""
    city = await readable_places(engine, reader, city_slug, filters, survey_wards=True)
    if with_personal and not personal_allowed(reader, city["id"], filters.ward_id):
        raise Forbidden("personal_not_allowed")
    households = form_id == household_form
    shown: dict[str, dict[str, str]] = {}
    condition = f"h.form_id = {sql_literal(form_id)}"
    where, args = _survey_where(condition, city["id"], filters)
    layer = name or ("households" if households else form_id)
    if form_id not in forms.versions:
        if not households:
            raise NotFound("unknown_form", form=form_id)
        properties, related = flat_properties(forms, form_id, city["slug"]), []
    else:
        try:
            columns = form_columns(
                forms, form_id, city["slug"], labels, with_personal, codes_safe=households
            )
        except UnknownForm as exc:
            raise NotFound(exc.code, **exc.params) from exc
        properties = columns.properties
        related = [_related(r, where, args, layer) for r in columns.repeats.values()]
        if labels:
            shown = choice_labels(forms.current(form_id), labels)
    geometry, geometry_type = survey_geometry(forms, form_id)
    kind = "form" if geometry_type == "Point" else "form_area"
    description = DESCRIPTIONS["households" if households else kind].format(form=form_id)
    order = "ORDER BY h.collected_at, h.id"
    middle = f"${len(args) + 1}"
    halves = OrderedHalves(
        "household_surveys",
        "collected_at",
        "timestamptz",
        f"{SURVEYS_SOURCE} WHERE {where} AND h.collected_at < {middle} {order}",
        f"{SURVEYS_SOURCE} WHERE {where} AND h.collected_at >= {middle} {order}",
    )
    return LayerQuery(
        layer,
        description,
        properties,
        geometry,
        geometry_type,
        f"{SURVEYS_SOURCE} WHERE {where} {order}",
        args,
        related,
        halves,
        shown,
    )


def _counted_surveys(filters: ExportFilters, args: list[Any], always: bool = False) -> str | None:
    """SQL on `h`: the surveys an area layer's figures count when the status or collection
    time is filtered (their values appended to `args`); None for the usual ones, unless
    `always` (then the usual ones as SQL too)."""
    usual = filters.status is None and filters.collected_from is None
    if usual and filters.collected_to is None and not always:
        return None
    clauses = []

    def add(sql: str, value: Any) -> None:
        args.append(value)
        clauses.append(sql.format(f"${len(args)}"))

    if filters.status is not None:
        add("h.status = {}", filters.status)
    else:
        clauses.append(COUNTED[filters.surveys])
    if filters.collected_from is not None:
        add("h.collected_at >= {}", filters.collected_from)
    if filters.collected_to is not None:
        add("h.collected_at < {}", filters.collected_to)
    return " AND ".join(clauses)


def _indicator_source(
    surveys: Counted,
    household_form: str,
    weights: Mapping[str, float],
    counted_sql: str | None = None,
    alias: str = "ind",
    waiting: SurveyScope = EVERY_SURVEY,
) -> str:
    """The indicators statement (app/db/indicators.py) as a subquery on city $1 named
    `alias`, with the city's weights (checked numbers) written in; surveys not approved
    count only in the places `waiting` may read."""
    rules = [i.rule for i in INDICATORS]
    sql = indicators_sql(rules, False, surveys, household_form, counted_sql, waiting)
    for indicator in INDICATORS:
        sql = sql.replace(f":w_{indicator.key} ", f"{float(weights[indicator.key])!r} ")
    return f"({sql.replace(':city_id', '$1')}) {alias}"


def _priority_class(score: str) -> str:
    """SQL: the priority class (1 lowest to 5 highest) of a 0-100 score, as the maps draw:
    the class of the score as shown (value_class, 0-4, plus one)."""
    return f"({value_class_sql(shown_score_sql(score))}) + 1"


def _indicator_properties(kind: str, figures: str = "ind") -> list[Property]:
    """An area's figures from the indicators subquery `figures`, its ranks from `ind` (the
    city's)."""
    f, r = figures, "ind"
    score = f"{shown_score_sql(f'{f}.score')}::float8"
    properties = [
        Property("households", f"coalesce({f}.households, 0)", "number", field_type="int"),
        Property("score", score, "number"),
        Property("priority_class", _priority_class(f"{f}.score"), "number", field_type="int"),
    ]
    if kind == "settlement":
        properties.append(Property("rank_in_ward", f"{r}.rank_in_ward", "number", field_type="int"))
    properties.append(Property("rank_in_city", f"{r}.rank_in_city", "number", field_type="int"))
    for indicator in INDICATORS:
        key = indicator.key
        properties.append(
            Property(f"share_{key}", f"round({f}.share_{key}::numeric, 4)::float8", "number")
        )
    for indicator in INDICATORS:
        key = indicator.key
        properties.append(Property(f"count_{key}", f"{f}.count_{key}", "number", field_type="int"))
    return properties


async def area_layer(
    engine: AsyncEngine,
    layer: str,
    city_slug: str,
    reader: Principal,
    filters: ExportFilters,
    priorities: Path,
    household_form: str = HOUSEHOLD_FORM,
) -> LayerQuery:
    """Wards or settlements of a city (or of one ward) with their figures: households
    surveyed, the share of each deficiency, the priority score, its class (1-5, the maps'
    colours) and the ranks, as the indicators endpoints compute them; with a status or a
    collection time range, from the household surveys in that status and range only. The
    figures sum the whole city (the ranks) and settlements reaching into other wards: there
    surveys not approved count only where the reader may read them (a ward leader: theirs)."""
    city = await readable_places(engine, reader, city_slug, filters)
    args: list[Any] = [city["id"]]
    counted = _counted_surveys(filters, args)
    weights = (await weights_of(engine, city["id"], priorities)).values
    waiting = waiting_for(reader, city["id"])
    indicators = _indicator_source(
        filters.surveys, household_form, weights, counted, waiting=waiting
    )
    if layer == "wards":
        where = "w.city_id = $1"
        if filters.ward_id is not None:
            args.append(filters.ward_id)
            where += f" AND w.id = ${len(args)}"
        figures, joined = "ind", ""
        if filters.settlement_id is not None:
            # The settlement's ward, its figures from that settlement's surveys only (as the
            # households layer holds with this filter); its rank stays the whole city's.
            args.append(filters.settlement_id)
            settlement = f"${len(args)}"
            where += (
                f" AND w.id = (SELECT ward_id FROM settlements "
                f"WHERE id = {settlement} AND city_id = $1)"
            )
            in_settlement = (
                f"{_counted_surveys(filters, args, always=True)} AND h.settlement_id = {settlement}"
            )
            figures = "fig"
            source = _indicator_source(
                filters.surveys, household_form, weights, in_settlement, figures, waiting
            )
            joined = f" LEFT JOIN {source} ON fig.kind = 'ward' AND fig.id = w.id"
        properties = [
            Property("id", "w.id", "number", field_type="int"),
            Property("code", "w.code"),
            Property("name", "w.name"),
            Property("city", sql_literal(city["slug"]), "code"),
            *_indicator_properties("ward", figures),
        ]
        source = (
            f"wards w LEFT JOIN {indicators} ON ind.kind = 'ward' AND ind.id = w.id{joined} "
            f"WHERE {where} ORDER BY w.code"
        )
        return LayerQuery(
            "wards", DESCRIPTIONS["wards"], properties, "w.geom", "MultiPolygon", source, args
        )
    where = "s.city_id = $1"
    for column, value in (("s.ward_id", filters.ward_id), ("s.id", filters.settlement_id)):
        if value is not None:
            args.append(value)
            where += f" AND {column} = ${len(args)}"
    properties = [
        Property("id", "s.id", "number", field_type="int"),
        Property("code", "s.code"),
        Property("name", "s.name"),
        Property("ward_id", "s.ward_id", "number", field_type="int"),
        Property("ward", "w.name"),
        Property("households_estimate", "s.households_estimate", "number", field_type="int"),
        Property("year_settled", "s.year_settled", "number", field_type="int"),
        Property("land_type", "s.land_type"),
        Property("threats", "array_to_string(s.threats, ',')"),
        *_indicator_properties("settlement"),
    ]
    source = (
        f"settlements s LEFT JOIN wards w ON w.id = s.ward_id LEFT JOIN {indicators} "
        f"ON ind.kind = 'settlement' AND ind.id = s.id WHERE {where} ORDER BY s.code"
    )
    return LayerQuery(
        "settlements", DESCRIPTIONS["settlements"], properties, "s.geom", "Polygon", source, args
    )


async def layer_query(
    engine: AsyncEngine,
    forms: FormRegistry,
    layer: str,
    form_id: str | None,
    city_slug: str,
    reader: Principal,
    filters: ExportFilters,
    labels: str | None,
    priorities: Path,
    household_form: str = HOUSEHOLD_FORM,
    with_personal: bool = False,
) -> LayerQuery:
    """The query of a named layer (wards, settlements, households, savings_groups,
    upgrading_projects) or of a form's surveys (`form_id`); NotFound for a layer that does
    not exist. `with_personal` is refused (Forbidden) on every layer, those without personal
    fields included, to a reader who may not see them there: one rule whatever the layer."""
    if form_id is not None:
        return await survey_layer(
            engine,
            forms,
            form_id,
            city_slug,
            reader,
            filters,
            labels,
            household_form,
            with_personal=with_personal,
        )
    if layer == "households":
        return await survey_layer(
            engine,
            forms,
            household_form,
            city_slug,
            reader,
            filters,
            labels,
            household_form,
            with_personal=with_personal,
        )
    if layer in AREA_LAYERS:
        query = await area_layer(
            engine, layer, city_slug, reader, filters, priorities, household_form
        )
    elif layer == "savings_groups":
        from app.services.export_cdf_layers import savings_groups_layer

        query = await savings_groups_layer(engine, city_slug, reader, filters)
    elif layer == "upgrading_projects":
        from app.services.export_cdf_layers import projects_layer

        query = await projects_layer(engine, city_slug, reader, filters, labels)
    else:
        raise NotFound("unknown_export_layer", layer=layer, layers=", ".join(LAYERS))
    if with_personal:  # after the layer: what the reader may not read stays a 404
        city = await places.city(engine, city_slug, reader)
        if not personal_allowed(reader, city["id"], filters.ward_id):
            raise Forbidden("personal_not_allowed")
    return query
