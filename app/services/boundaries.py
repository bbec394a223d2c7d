"""Use case: import a city's ward and settlement boundaries from GeoJSON files."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shapely.geometry import MultiPolygon, Polygon, shape
from sqlalchemy import Connection, text

from app.db.submissions import REPLACE_HOUSEHOLDS


@dataclass(frozen=True)
class ImportSummary:
    city_id: int
    wards: int
    settlements: int
    households_replaced: int = 0  # stored households whose ward or settlement changed


def _features(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("type") != "FeatureCollection":
        raise ValueError(f"{path}: not a GeoJSON FeatureCollection")
    return list(data["features"])


def _multipolygon(geometry: dict[str, Any]) -> str:
    geom = shape(geometry)
    if isinstance(geom, Polygon):
        geom = MultiPolygon([geom])
    if not isinstance(geom, MultiPolygon):
        raise ValueError(f"a ward must be a (multi)polygon, got {geom.geom_type}")
    return geom.wkt


def _polygon(geometry: dict[str, Any]) -> str:
    geom = shape(geometry)
    if isinstance(geom, MultiPolygon) and len(geom.geoms) == 1:
        geom = geom.geoms[0]
    if not isinstance(geom, Polygon):
        raise ValueError(f"a settlement must be a polygon, got {geom.geom_type}")
    return geom.wkt


def import_city(
    connection: Connection,
    *,
    slug: str,
    name: str,
    province: str | None,
    wards_path: Path,
    settlements_path: Path | None,
) -> ImportSummary:
    """Create or update a city with its wards and settlements (matched by code): re-runnable."""
    city_id = connection.execute(
        text(
            "INSERT INTO cities (slug, name, province) VALUES (:slug, :name, :province) "
            "ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name, province = EXCLUDED.province "
            "RETURNING id"
        ),
        {"slug": slug, "name": name, "province": province},
    ).scalar_one()
    ward_ids: dict[str, int] = {}
    for feature in _features(wards_path):
        props = feature.get("properties") or {}
        code = str(props.get("code") or feature.get("id"))
        ward_ids[code] = connection.execute(
            text(
                """
INSERT INTO wards (city_id, code, name, geom)
VALUES (:city_id, :code, :name, ST_Multi(ST_MakeValid(ST_GeomFromText(:wkt, 4326))))
ON CONFLICT (city_id, code) DO UPDATE SET name = EXCLUDED.name, geom = EXCLUDED.geom
RETURNING id
"""
            ),
            {
                "city_id": city_id,
                "code": code,
                "name": props.get("name") or code,
                "wkt": _multipolygon(feature["geometry"]),
            },
        ).scalar_one()
    settlements = 0
    for feature in _features(settlements_path) if settlements_path else []:
        props = dict(feature.get("properties") or {})
        code = str(props.get("code") or feature.get("id"))
        threats = props.get("threats") or []
        connection.execute(
            text(
                """
INSERT INTO settlements (city_id, ward_id, code, name, households_estimate, year_settled,
                         land_type, threats, profile, geom)
VALUES (:city_id, :ward_id, :code, :name, :households_estimate, :year_settled, :land_type,
        :threats, CAST(:profile AS jsonb), ST_GeomFromText(:wkt, 4326))
ON CONFLICT (city_id, code) DO UPDATE SET
    ward_id = EXCLUDED.ward_id, name = EXCLUDED.name,
    households_estimate = EXCLUDED.households_estimate, year_settled = EXCLUDED.year_settled,
    land_type = EXCLUDED.land_type, threats = EXCLUDED.threats, profile = EXCLUDED.profile,
    geom = EXCLUDED.geom
"""
            ),
            {
                "city_id": city_id,
                "ward_id": ward_ids.get(str(props.get("ward_code"))),
                "code": code,
                "name": props.get("name") or code,
                "households_estimate": props.get("households_estimate"),
                "year_settled": props.get("year_settled"),
                "land_type": props.get("land_type"),
                "threats": list(threats) if isinstance(threats, list) else [],
                "profile": json.dumps(props, ensure_ascii=False),
                "wkt": _polygon(feature["geometry"]),
            },
        )
        settlements += 1
    # Settlements imported without a ward code take the ward they lie in.
    connection.execute(
        text(
            "UPDATE settlements s SET ward_id = w.id FROM wards w "
            "WHERE s.city_id = :city_id AND s.ward_id IS NULL AND w.city_id = s.city_id "
            "AND ST_Intersects(w.geom, ST_PointOnSurface(s.geom))"
        ),
        {"city_id": city_id},
    )
    # Households already surveyed follow their boundaries (a corrected ward line moves them).
    replaced = connection.execute(REPLACE_HOUSEHOLDS, {"city_id": city_id}).rowcount
    return ImportSummary(
        city_id=city_id,
        wards=len(ward_ids),
        settlements=settlements,
        households_replaced=replaced,
    )
