"""Queries on the CDF's upgrading projects (cdf_projects) and their status changes.

A project's ward is read through its settlement (never stored), so a boundary re-import that
moves a settlement to another ward moves its projects with it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

SOURCES = ("cdf_loan", "grant", "community", "city")
# Columns a write may set (values checked by app.services.cdf_projects).
WRITABLE = (
    "code",
    "name",
    "kind",
    "status",
    "settlement_id",
    *(f"budget_{source}" for source in SOURCES),
    "households",
    "start_date",
    "end_date",
    "geometry",
)

_SELECT = """
SELECT p.id, p.code, p.name, p.kind, p.status,
       p.budget_cdf_loan, p.budget_grant, p.budget_community, p.budget_city,
       p.households, p.start_date, p.end_date, p.loan_id, p.created_at, p.updated_at,
       p.city_id, c.slug AS city, c.name AS city_name,
       p.settlement_id, s.name AS settlement_name, s.code AS settlement_code,
       s.ward_id, w.name AS ward_name,
       GeometryType(p.geom) AS geometry_type, ST_AsGeoJSON(p.geom, 7) AS geometry,
       ST_X(ST_PointOnSurface(p.geom)) AS label_lon, ST_Y(ST_PointOnSurface(p.geom)) AS label_lat
FROM cdf_projects p
JOIN cities c ON c.id = p.city_id
JOIN settlements s ON s.id = p.settlement_id
LEFT JOIN wards w ON w.id = s.ward_id
"""


async def settlement_place(
    connection: AsyncConnection, settlement_id: int
) -> dict[str, Any] | None:
    """A settlement with its city and ward (ids and names)."""
    row = (
        await connection.execute(
            text(
                "SELECT s.id, s.name, s.city_id, s.ward_id, w.name AS ward_name "
                "FROM settlements s LEFT JOIN wards w ON w.id = s.ward_id WHERE s.id = :id"
            ),
            {"id": settlement_id},
        )
    ).first()
    return dict(row._mapping) if row else None


async def touches_ward(connection: AsyncConnection, geometry: str, settlement_id: int) -> bool:
    """Whether a GeoJSON geometry lies within or touches the settlement's ward (the
    settlement itself when it has no ward)."""
    found = await connection.execute(
        text(
            "SELECT ST_Intersects(ST_SetSRID(ST_GeomFromGeoJSON(:geometry), 4326), "
            "coalesce(w.geom, ST_Multi(s.geom))) "
            "FROM settlements s LEFT JOIN wards w ON w.id = s.ward_id WHERE s.id = :id"
        ),
        {"geometry": geometry, "id": settlement_id},
    )
    return bool(found.scalar())


def _assignments(values: dict[str, Any]) -> tuple[list[str], list[str], dict[str, Any]]:
    columns, expressions, params = [], [], {}
    for key, value in values.items():
        if key not in WRITABLE:
            raise ValueError(f"not a writable column: {key}")
        if key == "geometry":
            columns.append("geom")
            expressions.append("ST_SetSRID(ST_GeomFromGeoJSON(:geometry), 4326)")
        else:
            columns.append(key)
            expressions.append(f":{key}")
        params[key] = value
    return columns, expressions, params


async def insert_project(
    connection: AsyncConnection,
    city_id: int,
    values: dict[str, Any],
    created_by: int | None,
    client_id: uuid.UUID | None = None,
    request_hash: str | None = None,
) -> int | None:
    """Store a new project; its id, or None when its client id was stored already."""
    columns, expressions, params = _assignments(values)
    statement = (
        f"INSERT INTO cdf_projects (city_id, created_by, client_id, request_hash, "
        f"{', '.join(columns)}) VALUES (:city_id, :created_by, :client_id, :request_hash, "
        f"{', '.join(expressions)}) ON CONFLICT (client_id) DO NOTHING RETURNING id"
    )
    found = await connection.execute(
        text(statement),
        {
            **params,
            "city_id": city_id,
            "created_by": created_by or None,
            "client_id": client_id,
            "request_hash": request_hash,
        },
    )
    project_id = found.scalar()
    return None if project_id is None else int(project_id)


async def project_by_client_id(
    connection: AsyncConnection, client_id: uuid.UUID
) -> dict[str, Any] | None:
    """The project stored under a client's id (its id, city and request hash), or None."""
    row = (
        await connection.execute(
            text("SELECT id, city_id, request_hash FROM cdf_projects WHERE client_id = :id"),
            {"id": client_id},
        )
    ).first()
    return dict(row._mapping) if row else None


async def update_project(
    connection: AsyncConnection, project_id: int, values: dict[str, Any]
) -> None:
    """Change some columns of a project (and its updated_at)."""
    columns, expressions, params = _assignments(values)
    sets = ", ".join(f"{c} = {e}" for c, e in zip(columns, expressions, strict=True))
    await connection.execute(
        text(f"UPDATE cdf_projects SET {sets}, updated_at = now() WHERE id = :project_id"),
        {**params, "project_id": project_id},
    )


async def lock_project(connection: AsyncConnection, project_id: int) -> dict[str, Any] | None:
    """A project's row, locked until the transaction ends (two edits never cross)."""
    row = (
        await connection.execute(
            text("SELECT id, city_id, settlement_id, status FROM cdf_projects WHERE id = :id "
                 "FOR UPDATE"),
            {"id": project_id},
        )
    ).first()  # fmt: skip
    return dict(row._mapping) if row else None


async def record_status(
    connection: AsyncConnection,
    project_id: int,
    from_status: str | None,
    to_status: str,
    user_id: int | None,
    username: str | None,
) -> None:
    """Keep a status change on record: who, when, from what to what."""
    await connection.execute(
        text(
            "INSERT INTO cdf_project_status_changes "
            "(project_id, from_status, to_status, changed_by, changed_by_name) "
            "VALUES (:project_id, :from_status, :to_status, :user_id, :username)"
        ),
        {
            "project_id": project_id,
            "from_status": from_status,
            "to_status": to_status,
            "user_id": user_id or None,
            "username": username,
        },
    )


async def project(connection: AsyncConnection, project_id: int) -> dict[str, Any] | None:
    """One project with its city, settlement and ward."""
    row = (await connection.execute(text(_SELECT + "WHERE p.id = :id"), {"id": project_id})).first()
    return dict(row._mapping) if row else None


async def status_history(connection: AsyncConnection, project_id: int) -> list[dict[str, Any]]:
    """A project's status changes, oldest first."""
    rows = await connection.execute(
        text(
            "SELECT from_status, to_status, changed_by, changed_by_name, changed_at "
            "FROM cdf_project_status_changes WHERE project_id = :id ORDER BY changed_at, id"
        ),
        {"id": project_id},
    )
    return [dict(row._mapping) for row in rows]


async def projects(
    connection: AsyncConnection,
    city_id: int,
    *,
    wards: Iterable[int] | None = None,
    ward_id: int | None = None,
    settlement_id: int | None = None,
    status: str | None = None,
    kind: str | None = None,
) -> list[dict[str, Any]]:
    """A city's projects, filtered; `wards`: only those of these wards (a reader's scope)."""
    clauses = ["p.city_id = :city_id"]
    params: dict[str, Any] = {"city_id": city_id}
    if wards is not None:
        clauses.append("s.ward_id = ANY(:scope_wards)")
        params["scope_wards"] = sorted(wards)
    for column, name, value in (
        ("s.ward_id", "ward_id", ward_id),
        ("p.settlement_id", "settlement_id", settlement_id),
        ("p.status", "status", status),
        ("p.kind", "kind", kind),
    ):
        if value is not None:
            clauses.append(f"{column} = :{name}")
            params[name] = value
    statement = (
        _SELECT + "WHERE " + " AND ".join(clauses) + " ORDER BY w.name, s.name, p.name, p.id"
    )
    rows = await connection.execute(text(statement), params)
    return [dict(row._mapping) for row in rows]


# --- photos ---------------------------------------------------------------------------------


async def photos(connection: AsyncConnection, project_id: int) -> list[dict[str, Any]]:
    """A project's photos, before then after, oldest first."""
    rows = await connection.execute(
        text(
            "SELECT phase, filename, content_type, size_bytes, sha256, created_at "
            "FROM cdf_project_photos WHERE project_id = :id "
            "ORDER BY phase DESC, created_at, id"  # DESC: 'before' first
        ),
        {"id": project_id},
    )
    return [dict(row._mapping) for row in rows]


async def photo(
    connection: AsyncConnection, project_id: int, phase: str, filename: str
) -> dict[str, Any] | None:
    """One photo of a project."""
    row = (
        await connection.execute(
            text(
                "SELECT phase, filename, content_type, size_bytes, sha256, created_at "
                "FROM cdf_project_photos "
                "WHERE project_id = :id AND phase = :phase AND filename = :filename"
            ),
            {"id": project_id, "phase": phase, "filename": filename},
        )
    ).first()
    return dict(row._mapping) if row else None


async def count_photos(connection: AsyncConnection, project_id: int, phase: str) -> int:
    """How many photos a project has of one phase."""
    found = await connection.execute(
        text("SELECT count(*) FROM cdf_project_photos WHERE project_id = :id AND phase = :phase"),
        {"id": project_id, "phase": phase},
    )
    return int(found.scalar_one())


async def insert_photo(
    connection: AsyncConnection, project_id: int, values: dict[str, Any]
) -> dict[str, Any] | None:
    """Store a photo's row (None when that name is taken meanwhile)."""
    row = (
        await connection.execute(
            text(
                "INSERT INTO cdf_project_photos (project_id, phase, filename, content_type, "
                "size_bytes, sha256, created_by) VALUES (:project_id, :phase, :filename, "
                ":content_type, :size_bytes, :sha256, :created_by) "
                "ON CONFLICT (project_id, phase, filename) DO NOTHING "
                "RETURNING phase, filename, content_type, size_bytes, sha256, created_at"
            ),
            {**values, "project_id": project_id},
        )
    ).first()
    return dict(row._mapping) if row else None
