"""Use case: the CDF's layers for export (every format, the city's GeoPackage): savings groups
and upgrading projects.

Upgrading projects: each project's own geometry (a point, a line or an area: a GeoPackage
layer of any geometry; a shapefile zip holds one shapefile per kind of shape), its kind and
status (codes, or with `labels` the vi/en labels), settlement and ward, money by source and
in all (integer đồng), leverage ((grant + community + city) ÷ CDF loan, 2 decimals, empty
without CDF money), households and dates. Projects hold no personal data; who sees which
follows the projects API (app/services/cdf_projects.py: the city's readers all, a ward's
leader or volunteer those of their ward).

Savings groups:
one point per group at its settlement's point on surface (groups have no place of their
own), with the group's figures as of today in Vietnam, as the CDF report counts them
(app/services/cdf_reports.py): members active today, members' savings (the credit balance of
the group's savings accounts), principal outstanding and the loans still owed (the sums the
database keeps as entries are posted), and PAR30 (outstanding principal of loans whose oldest
unpaid installment is more than 30 days late ÷ outstanding principal; null when nothing is
owed). No member's name or code: only counts and sums. Who sees which groups follows the CDF
API (app/services/cdf_access.py): the city's readers every group, a ward's leader those of
their ward's settlements, a treasurer their own group. The status and collection time filters
are about surveys and do not apply; `ward` and `settlement` do.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.exports import Property
from app.db.sql import sql_literal
from app.errors import NotFound
from app.services import cdf_access as cdf
from app.services import places
from app.services.access import Principal
from app.services.export_layers import (
    ExportFilters,
    LayerQuery,
    checked_settlement,
    checked_ward,
)
from app.vietnam import today_in_vietnam

DESCRIPTION = (
    "Tổ tiết kiệm của quỹ CDF: số thành viên, tiết kiệm, dư nợ, PAR30 (không có tên thành "
    "viên). CDF savings groups: members, savings, loans outstanding, PAR30 (no member names)."
)

_FIGURES = """
LEFT JOIN LATERAL (
  SELECT count(*) AS members FROM cdf_members m
  WHERE m.group_id = g.id AND m.joined_on <= $2::date
    AND (m.left_on IS NULL OR m.left_on > $2::date)
) mem ON true
LEFT JOIN LATERAL (
  SELECT coalesce(-sum(l.amount), 0)::bigint AS savings
  FROM cdf_accounts a JOIN cdf_lines l ON l.account_id = a.id
  JOIN cdf_entries e ON e.id = l.entry_id
  WHERE a.group_id = g.id AND a.kind = 'savings' AND e.entry_date <= $2::date
) sav ON true
LEFT JOIN LATERAL (
  SELECT count(*) FILTER (WHERE sl.outstanding > 0) AS active_loans,
         coalesce(sum(sl.outstanding), 0)::bigint AS outstanding,
         coalesce(sum(sl.outstanding) FILTER (
           WHERE $2::date - sl.oldest_unpaid_due > 30), 0)::bigint AS at_risk_30
  FROM cdf_loans lo JOIN cdf_sum_loans sl ON sl.loan_id = lo.id
  WHERE lo.group_id = g.id
) loans ON true
"""


def _properties(city_slug: str) -> list[Property]:
    return [
        Property("id", "g.id", "number", field_type="int"),
        Property("name", "g.name"),
        Property("city", sql_literal(city_slug), "code"),
        Property("ward_id", "s.ward_id", "number", field_type="int"),
        Property("ward", "w.name"),
        Property("settlement_id", "s.id", "number", field_type="int"),
        Property("settlement", "s.name"),
        Property("founded_on", "g.founded_on", value="to_char(g.founded_on, 'YYYY-MM-DD')"),
        Property("meeting_frequency", "g.meeting_frequency"),
        Property("members", "mem.members", "number", field_type="int"),
        Property("savings_balance", "sav.savings", "number", field_type="int"),
        Property("active_loans", "loans.active_loans", "number", field_type="int"),
        Property("loans_outstanding", "loans.outstanding", "number", field_type="int"),
        Property(
            "par30",
            "round(loans.at_risk_30::numeric / nullif(loans.outstanding, 0), 4)::float8",
            "number",
        ),
    ]


async def savings_groups_layer(
    engine: AsyncEngine, city_slug: str, reader: Principal, filters: ExportFilters
) -> LayerQuery:
    """The savings groups of a city (or of one ward or settlement) that the reader may read,
    as points with their figures; NotFound when the reader may read none of the city's."""
    city = await places.city(engine, city_slug, reader)
    whole, groups, wards = cdf.readable_groups_filter(reader, city["id"])
    if not whole and not groups and not wards:
        raise NotFound("unknown_city", city=city_slug)
    await checked_ward(engine, reader, city["id"], filters.ward_id)
    if filters.ward_id is not None and not whole and filters.ward_id not in wards:
        raise NotFound("ward_not_found", id=filters.ward_id)
    kept: set[int] = set()  # the settlements of the treasurer's groups
    if not whole and groups and filters.settlement_id is not None:
        async with engine.connect() as connection:
            kept = set(
                (
                    await connection.execute(
                        text("SELECT settlement_id FROM cdf_groups WHERE id = ANY(:groups)"),
                        {"groups": sorted(groups)},
                    )
                ).scalars()
            )
    await checked_settlement(
        engine,
        reader,
        city["id"],
        filters,
        readable=lambda place: whole or place["ward_id"] in wards or place["id"] in kept,
    )
    args: list[Any] = [city["id"], today_in_vietnam()]
    clauses = ["s.city_id = $1"]

    def add(sql: str, value: Any) -> None:
        args.append(value)
        clauses.append(sql.format(f"${len(args)}"))

    if not whole:
        args.extend([sorted(groups), sorted(wards)])
        clauses.append(
            f"(g.id = ANY(${len(args) - 1}::int[]) OR s.ward_id = ANY(${len(args)}::int[]))"
        )
    if filters.ward_id is not None:
        add("s.ward_id = {}", filters.ward_id)
    if filters.settlement_id is not None:
        add("s.id = {}", filters.settlement_id)
    source = (
        "cdf_groups g JOIN settlements s ON s.id = g.settlement_id "
        "LEFT JOIN wards w ON w.id = s.ward_id"
        f"{_FIGURES}WHERE {' AND '.join(clauses)} ORDER BY w.name, s.name, g.name, g.id"
    )
    return LayerQuery(
        "savings_groups",
        DESCRIPTION,
        _properties(city["slug"]),
        "ST_PointOnSurface(s.geom)",
        "Point",
        source,
        args,
    )


async def readable_cdf_layers(
    engine: AsyncEngine, city_slug: str, reader: Principal, filters: ExportFilters
) -> list[LayerQuery]:
    """The CDF layers of a city that exist (it has savings groups, projects) and that the
    reader may read, for the city's GeoPackage."""
    found: list[LayerQuery] = []
    for make, table in (
        (savings_groups_layer, "cdf_groups g JOIN settlements s ON s.id = g.settlement_id"),
        (projects_layer, "cdf_projects s"),
    ):
        try:
            query = await make(engine, city_slug, reader, filters)
        except NotFound:
            continue
        async with engine.connect() as connection:
            exists = await connection.scalar(
                text(f"SELECT EXISTS (SELECT FROM {table} WHERE s.city_id = :city)"),
                {"city": query.args[0]},
            )
        if exists:
            found.append(query)
    return found


PROJECTS_DESCRIPTION = (
    "Công trình nâng cấp do quỹ CDF tài trợ: loại, trạng thái, kinh phí theo nguồn, đòn bẩy. "
    "CDF upgrading projects: kind, status, money by source, leverage."
)
# A shapefile holds one kind of shape: the projects' zip holds one shapefile per kind.
PROJECT_SHAPES = (("points", "POINT", "Point"), ("lines", "LINESTRING", "LineString"),
                  ("areas", "POLYGON", "Polygon"))  # fmt: skip


def _labelled(column: str, group: str, codes: tuple[str, ...], labels: str | None) -> str:
    """SQL: a kind's or status's code, or its label in `labels` (vi/en)."""
    if labels is None:
        return column
    from app.services.cdf_projects import label

    whens = " ".join(
        f"WHEN {sql_literal(code)} THEN {sql_literal(label(group, code, labels))}" for code in codes
    )
    return f"CASE {column} {whens} ELSE {column} END"


def _project_properties(city_slug: str, labels: str | None) -> list[Property]:
    from app.services.cdf_projects import KINDS, SOURCES, STATUSES

    other = "(p.budget_grant + p.budget_community + p.budget_city)"
    return [
        Property("id", "p.id", "number", field_type="int"),
        Property("code", "p.code"),
        Property("name", "p.name"),
        Property("kind", _labelled("p.kind", "kind", KINDS, labels)),
        Property("status", _labelled("p.status", "status", STATUSES, labels)),
        Property("city", sql_literal(city_slug), "code"),
        Property("ward_id", "s.ward_id", "number", field_type="int"),
        Property("ward", "w.name"),
        Property("settlement_id", "s.id", "number", field_type="int"),
        Property("settlement", "s.name"),
        *(
            Property(f"budget_{source}", f"p.budget_{source}", "number", field_type="int")
            for source in SOURCES
        ),
        Property(
            "budget_total",
            " + ".join(f"p.budget_{source}" for source in SOURCES),
            "number",
            field_type="int",
        ),
        Property(
            "leverage",
            f"round({other}::numeric / nullif(p.budget_cdf_loan, 0), 2)::float8",
            "number",
        ),
        Property("households", "p.households", "number", field_type="int"),
        Property("start_date", "p.start_date", value="to_char(p.start_date, 'YYYY-MM-DD')"),
        Property("end_date", "p.end_date", value="to_char(p.end_date, 'YYYY-MM-DD')"),
    ]


async def projects_layer(
    engine: AsyncEngine,
    city_slug: str,
    reader: Principal,
    filters: ExportFilters,
    labels: str | None = None,
) -> LayerQuery:
    """The upgrading projects of a city (or of one ward or settlement) that the reader may
    read, with their own geometry; NotFound when the reader may read none of the city's."""
    from app.services.cdf_projects import readable_wards

    city = await places.city(engine, city_slug, reader)
    wards = readable_wards(reader, city["id"])
    if wards == frozenset():
        raise NotFound("unknown_city", city=city_slug)
    await checked_ward(engine, reader, city["id"], filters.ward_id)
    if filters.ward_id is not None and wards is not None and filters.ward_id not in wards:
        raise NotFound("ward_not_found", id=filters.ward_id)
    await checked_settlement(
        engine,
        reader,
        city["id"],
        filters,
        readable=lambda place: wards is None or place["ward_id"] in wards,
    )
    args: list[Any] = [city["id"]]
    clauses = ["p.city_id = $1"]

    def add(sql: str, value: Any) -> None:
        args.append(value)
        clauses.append(sql.format(f"${len(args)}"))

    if wards is not None:
        add("s.ward_id = ANY({}::int[])", sorted(wards))
    if filters.ward_id is not None:
        add("s.ward_id = {}", filters.ward_id)
    if filters.settlement_id is not None:
        add("s.id = {}", filters.settlement_id)
    source = (
        "cdf_projects p JOIN settlements s ON s.id = p.settlement_id "
        f"LEFT JOIN wards w ON w.id = s.ward_id WHERE {' AND '.join(clauses)} "
        "ORDER BY p.code, p.id"
    )
    return LayerQuery(
        "upgrading_projects",
        PROJECTS_DESCRIPTION,
        _project_properties(city["slug"], labels),
        "p.geom",
        "Unknown",
        source,
        args,
    )


def by_shape(query: LayerQuery) -> list[LayerQuery]:
    """A layer of mixed shapes as one layer per kind of shape (for shapefiles):
    `<name>_points`, `_lines`, `_areas`."""
    import dataclasses

    head, _, order = query.source.rpartition(" ORDER BY ")
    return [
        dataclasses.replace(
            query,
            name=f"{query.name}_{suffix}",
            geometry_type=gdal_type,
            source=f"{head} AND GeometryType({query.geometry}) = '{shape}' ORDER BY {order}",
        )
        for suffix, shape, gdal_type in PROJECT_SHAPES
    ]
