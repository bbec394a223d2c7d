"""The sample city's upgrading projects: five small projects done or under way, the same on
every load (fixed settlements by code, shapes derived from their boundaries in PostGIS).

Two lie in the first ward (the demo ward leader's), so its printed map shows them; one has
no CDF money, so its leverage shows as none. Loading twice adds nothing (codes are unique
per city).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

# code, name (the settlement's name appended), kind, status, shape, (ward index, settlement
# index within the ward by code), budget (cdf_loan, grant, community, city) in đồng,
# households, start, end
SAMPLE_PROJECTS: tuple[tuple[Any, ...], ...] = (
    ("DA-2025-01", "Bê tông hóa hẻm chính", "lane_paving", "done", "line", (0, 0),
     (45_000_000, 20_000_000, 12_000_000, 15_000_000), 38, "2025-03-01", "2025-05-20"),
    ("DA-2025-02", "Mương thoát nước", "drain", "done", "line", (1, 0),
     (60_000_000, 30_000_000, 8_000_000, 25_000_000), 52, "2025-08-10", "2025-11-15"),
    ("DA-2026-01", "Nhà vệ sinh chung", "toilets", "done", "point", (2, 0),
     (25_000_000, 40_000_000, 5_000_000, 10_000_000), 16, "2026-01-05", "2026-03-30"),
    ("DA-2026-02", "Nối ống nước sạch", "water", "building", "point", (0, 1),
     (35_000_000, 15_000_000, 6_000_000, 0), 24, "2026-09-15", None),
    ("DA-2026-03", "Nhà sinh hoạt cộng đồng", "community_centre", "building", "area", (3, 0),
     (0, 60_000_000, 20_000_000, 30_000_000), 120, "2026-10-01", None),
)  # fmt: skip

# The shape of each kind of sample, from the settlement's boundary s.geom: a point on it; the
# longest piece of the east-west line through that point; a 30 m circle around it, clipped.
SHAPES = {
    "point": "ST_PointOnSurface(s.geom)",
    "line": """(SELECT d.geom FROM ST_Dump(ST_Intersection(s.geom, ST_MakeLine(
                   ST_Translate(ST_PointOnSurface(s.geom), -0.01, 0),
                   ST_Translate(ST_PointOnSurface(s.geom), 0.01, 0)))) d
                ORDER BY ST_Length(d.geom) DESC LIMIT 1)""",
    "area": """(SELECT d.geom FROM ST_Dump(ST_Intersection(s.geom, ST_Buffer(
                   ST_PointOnSurface(s.geom)::geography, 30)::geometry)) d
                ORDER BY ST_Area(d.geom) DESC LIMIT 1)""",
}


def load_sample_projects(connection: Connection, city_id: int) -> int:
    """Store the sample projects in a city (skipping those stored already); how many were
    new. Settlements missing from the city are skipped too."""
    wards = [
        row[0]
        for row in connection.execute(
            text("SELECT id FROM wards WHERE city_id = :city ORDER BY code"), {"city": city_id}
        )
    ]
    created = 0
    for code, name, kind, status, shape, (
        ward,
        index,
    ), budget, households, start, end in SAMPLE_PROJECTS:
        if ward >= len(wards):
            continue
        project_id = connection.execute(
            text(
                f"""
INSERT INTO cdf_projects (city_id, settlement_id, code, name, kind, status, budget_cdf_loan,
    budget_grant, budget_community, budget_city, households, start_date, end_date, geom)
SELECT s.city_id, s.id, :code, :name || ' ' || s.name, :kind, :status, :cdf_loan, :grant,
       :community, :city_money, :households, CAST(:start AS date), CAST(:end AS date),
       {SHAPES[shape]}
FROM settlements s
WHERE s.city_id = :city AND s.ward_id = :ward
ORDER BY s.code OFFSET :index LIMIT 1
ON CONFLICT (city_id, code) WHERE code IS NOT NULL DO NOTHING
RETURNING id
"""
            ),
            {
                "code": code,
                "name": name,
                "kind": kind,
                "status": status,
                "cdf_loan": budget[0],
                "grant": budget[1],
                "community": budget[2],
                "city_money": budget[3],
                "households": households,
                "start": start,
                "end": end,
                "city": city_id,
                "ward": wards[ward],
                "index": index,
            },
        ).scalar()
        if project_id is None:
            continue
        created += 1
        connection.execute(
            text(
                "INSERT INTO cdf_project_status_changes "
                "(project_id, from_status, to_status, changed_by_name) "
                "VALUES (:id, NULL, :status, 'sample')"
            ),
            {"id": project_id, "status": status},
        )
    return created
