"""Use case: import a city's ward and settlement boundaries (GeoJSON, GeoPackage, Shapefile).

Wards and settlements are matched by code, so a corrected file can be imported again; the
households already surveyed are placed again by the new lines, each move on the survey's
record (`survey.place`). An import is one transaction: the files are read and checked whole
first (app/geo/boundary_files.py), then against the other cities' wards (none may be reached
into: app/db/boundary_overlaps.py), and a refused import changes nothing. Wards and
settlements stored before but missing from a new file are kept (a warning names them):
surveys may point at them.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.boundary_overlaps import Reach, reaching_other_cities
from app.db.submissions import OTHER_CITIES_SURVEYS_IN_WARDS, REPLACE_HOUSEHOLDS
from app.errors import Forbidden, InvalidInput, NotFound, Problem
from app.geo.boundary_files import Feature, Layer, LayerOptions, Progress, read_layer
from app.geo.boundary_problems import MAX_PROBLEMS, layer_problem
from app.i18n import LANGUAGES, number_text, translate
from app.services.access import Principal

log = logging.getLogger(__name__)

__all__ = ["Boundaries", "ImportSummary", "LayerOptions", "import_city", "read_boundaries"]
KEPT_SHOWN = 10  # codes named in the warning about wards or settlements not in the file
# Who the command line acts as in the audit log (as in app/services/accounts.py).
COMMAND_LINE = "cli"
# How far a ward or settlement may lie inside another city's wards: 10 m. Two cities' files
# of one border never come from one survey (cadastral sheets of 1:2,000-1:10,000, lines
# traced on imagery, a walk with a phone): they disagree by a few metres all along it. And a
# phone's fix is itself 5-10 m off (intake flags one only beyond 20 m), so a household within
# 10 m of a city border is on neither side for sure; deeper in, it surely is the other
# city's. Measured as depth (app/db/boundary_overlaps.py), not as a share of the area: a
# share of 1 % lets through a strip 10 m wide down a 300 m lane of the other city (every
# house of the lane; 0.3 % of a 1 km² ward), yet refuses an honest 5 m sliver along a 2 km
# border of a small inner-city phường (1 ha: 5 % of 20 ha).
OTHER_CITY_REACH_M = 10.0
# Less than this beyond the reach is a vertex clicked too far, not a household's place.
OTHER_CITY_MIN_AREA_M2 = 1.0


@dataclass(frozen=True)
class ImportSummary:
    city_id: int
    wards: int
    settlements: int
    households_replaced: int = 0  # stored households whose ward or settlement changed
    slug: str = ""
    created: bool = False  # a new city
    crs: dict[str, str] = field(default_factory=dict)  # layer -> the CRS it was read in
    warnings: tuple[Problem, ...] = ()

    def as_dict(self, language: str) -> dict[str, Any]:
        """JSON shape of the summary, warnings in `language`."""
        return {
            "city": self.slug,
            "created": self.created,
            "wards": self.wards,
            "settlements": self.settlements,
            "households_placed_again": self.households_replaced,
            "crs": self.crs,
            "warnings": [w.as_dict(language) for w in self.warnings],
        }


@dataclass(frozen=True)
class Boundaries:
    """The checked layers of one import."""

    wards: Layer
    settlements: Layer | None


def read_boundaries(
    wards_path: Path,
    settlements_path: Path | None,
    *,
    crs: str | None = None,
    wards_options: LayerOptions | None = None,
    settlements_options: LayerOptions | None = None,
    labels: tuple[str | None, str | None] = (None, None),
    progress: Progress | None = None,
) -> Boundaries:
    """Read and check both files; InvalidInput lists what is wrong in either."""
    problems: list[Problem] = []
    wards: Layer | None = None
    settlements: Layer | None = None
    try:
        wards = read_layer(wards_path, "wards", wards_options, crs, labels[0], progress)
    except InvalidInput as exc:
        problems += exc.problems
    if settlements_path is not None:
        try:
            settlements = read_layer(
                settlements_path, "settlements", settlements_options, crs, labels[1], progress
            )
        except InvalidInput as exc:
            problems += exc.problems
    if problems or wards is None:
        raise InvalidInput(problems)
    return Boundaries(wards, settlements)


INSERT_CITY = text(
    """
INSERT INTO cities (slug, name, province)
VALUES (CAST(:slug AS text), coalesce(CAST(:name AS text), CAST(:slug AS text)),
        CAST(:province AS text))
ON CONFLICT (slug) DO UPDATE SET name = coalesce(CAST(:name AS text), cities.name),
                                 province = coalesce(CAST(:province AS text), cities.province)
RETURNING id, (xmax = 0) AS created
"""
)
# A layer is stored by one statement per STORE_BYTES of its polygons (WKB), its features
# passed as arrays: one for a city's files (100 cadastral wards of 2,400 vertices are ~4 MB),
# a few for the largest. A statement per feature made the boundary generation's trigger
# (migration 0019: every statement on wards or settlements moves it, an upsert twice) write
# its one row 100,000 times in the import's transaction, each move slower than the one before:
# 50,000 features took 2 to 4 minutes, and every survey upload of every city waited for that
# row meanwhile (docs/benchmarks.md, `bench.boundary_import`).
STORE_BYTES = 32 * 1024 * 1024
STORE_WARDS = text(
    """
INSERT INTO wards (city_id, code, name, geom)
SELECT CAST(:city_id AS int), f.code, f.name, ST_GeomFromWKB(f.wkb, 4326)
FROM unnest(CAST(:codes AS text[]), CAST(:names AS text[]), CAST(:wkbs AS bytea[]))
    WITH ORDINALITY AS f(code, name, wkb, position)
ORDER BY f.position
ON CONFLICT (city_id, code) DO UPDATE SET name = EXCLUDED.name, geom = EXCLUDED.geom
"""
)
# A settlement's ward code may name a ward stored before and not in this file.
STORE_SETTLEMENTS = text(
    """
INSERT INTO settlements (city_id, ward_id, code, name, households_estimate, year_settled,
                         land_type, threats, profile, geom)
SELECT CAST(:city_id AS int),
       (SELECT w.id FROM wards w
        WHERE w.city_id = CAST(:city_id AS int) AND w.code = f.ward_code),
       f.code, f.name, f.households_estimate, f.year_settled, f.land_type,
       ARRAY(SELECT jsonb_array_elements_text(CAST(f.threats AS jsonb))),
       CAST(f.profile AS jsonb), ST_GeomFromWKB(f.wkb, 4326)
FROM unnest(CAST(:codes AS text[]), CAST(:names AS text[]), CAST(:ward_codes AS text[]),
            CAST(:households_estimates AS int[]), CAST(:years_settled AS int[]),
            CAST(:land_types AS text[]), CAST(:threats AS text[]), CAST(:profiles AS text[]),
            CAST(:wkbs AS bytea[]))
    WITH ORDINALITY AS f(code, name, ward_code, households_estimate, year_settled, land_type,
                         threats, profile, wkb, position)
ORDER BY f.position
ON CONFLICT (city_id, code) DO UPDATE SET
    ward_id = EXCLUDED.ward_id, name = EXCLUDED.name,
    households_estimate = EXCLUDED.households_estimate, year_settled = EXCLUDED.year_settled,
    land_type = EXCLUDED.land_type, threats = EXCLUDED.threats, profile = EXCLUDED.profile,
    geom = EXCLUDED.geom
"""
)
# Settlements imported without a (known) ward code take the ward they lie in.
PLACE_SETTLEMENTS = text(
    "UPDATE settlements s SET ward_id = w.id FROM wards w "
    "WHERE s.city_id = :city_id AND s.ward_id IS NULL AND w.city_id = s.city_id "
    "AND ST_Intersects(w.geom, ST_PointOnSurface(s.geom))"
)


def _kept(connection: Connection, table: str, city_id: int, layer: Layer) -> Problem | None:
    """A warning naming what is stored for the city but not in the new file."""
    codes = [feature.code for feature in layer.features]
    kept = (
        connection.execute(
            # EXCEPT (hashed): `NOT code = ANY(:codes)` compared each stored code with every
            # code of the file under the web app's generic plans, 13 s a layer of 25,000.
            text(
                f"SELECT code FROM {table} WHERE city_id = :city "
                "EXCEPT SELECT unnest(CAST(:codes AS text[])) ORDER BY code"
            ),
            {"city": city_id, "codes": codes},
        )
        .scalars()
        .all()
    )
    if not kept:
        return None
    return layer_problem(
        layer.kind, layer.label, f"boundary_kept_{layer.kind}", count=len(kept), codes=_shown(kept)
    )


def _shown(codes: Sequence[str]) -> str:
    """Codes as a warning lists them: the first KEPT_SHOWN, then an ellipsis."""
    return ", ".join(codes[:KEPT_SHOWN]) + (" …" if len(codes) > KEPT_SHOWN else "")


def _unknown_ward_codes(connection: Connection, city_id: int, layer: Layer) -> Problem | None:
    """A warning naming the settlements whose ward code names no ward of the city, each with
    its code: they take the ward they lie in (PLACE_SETTLEMENTS), which a typo in the code
    or a wrong column would otherwise leave unsaid."""
    known = set(
        connection.execute(
            text("SELECT code FROM wards WHERE city_id = :city"), {"city": city_id}
        ).scalars()
    )
    unknown = [
        f"{feature.code} ({feature.settlement['ward_code']})"
        for feature in layer.features
        if feature.settlement.get("ward_code") and feature.settlement["ward_code"] not in known
    ]
    if not unknown:
        return None
    return layer_problem(
        layer.kind,
        layer.label,
        "boundary_unknown_ward_code",
        count=len(unknown),
        settlements=_shown(unknown),
    )


def _outside_wards(connection: Connection, city_id: int, layer: Layer) -> Problem | None:
    """A warning naming the city's settlements in no ward (a point inside each is in none of
    its wards): their surveys count in the city, and they have no ward map nor meeting map."""
    outside = (
        connection.execute(
            text(
                "SELECT code FROM settlements WHERE city_id = :city AND ward_id IS NULL "
                "ORDER BY code"
            ),
            {"city": city_id},
        )
        .scalars()
        .all()
    )
    if not outside:
        return None
    return layer_problem(
        layer.kind,
        layer.label,
        "boundary_settlements_outside_wards",
        count=len(outside),
        codes=_shown(outside),
    )


def _columns(layer: Layer) -> dict[str, list[Any]]:
    """The layer's features as the arrays STORE_WARDS or STORE_SETTLEMENTS read, in file
    order."""
    features = layer.features
    columns: dict[str, list[Any]] = {
        "codes": [feature.code for feature in features],
        "names": [feature.name for feature in features],
        "wkbs": list(shapely.to_wkb([feature.geometry for feature in features])),
    }
    if layer.kind == "settlements":
        fields = [feature.settlement for feature in features]
        columns |= {
            "ward_codes": [field.get("ward_code") for field in fields],
            "households_estimates": [field.get("households_estimate") for field in fields],
            "years_settled": [field.get("year_settled") for field in fields],
            "land_types": [field.get("land_type") for field in fields],
            "threats": [
                json.dumps(list(field.get("threats") or []), ensure_ascii=False) for field in fields
            ],
            "profiles": [
                json.dumps(feature.properties, ensure_ascii=False) for feature in features
            ],
        }
    return columns


def _store_layer(
    connection: Connection, city_id: int, layer: Layer, progress: Progress | None
) -> None:
    """Upsert the layer's features (by code) in as few statements as STORE_BYTES allows,
    reporting progress before the first and after each."""
    statement = STORE_WARDS if layer.kind == "wards" else STORE_SETTLEMENTS
    columns = _columns(layer)
    total, what = len(layer.features), f"storing {layer.kind}"
    if progress and total:
        progress(what, 0, total)
    start = 0
    while start < total:
        end, size = start + 1, len(columns["wkbs"][start])
        while end < total and size + len(columns["wkbs"][end]) <= STORE_BYTES:
            size += len(columns["wkbs"][end])
            end += 1
        batch = {name: values[start:end] for name, values in columns.items()}
        connection.execute(statement, {"city_id": city_id, **batch})
        if progress:
            progress(what, end, total)
        start = end


# The city's name in every URL (maps, exports, the API): the web routes take it by this
# pattern (app/api/deps.py), an import by the same.
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
CITY_SLUG = re.compile(SLUG_PATTERN)


def check_city_names(slug: str, name: str | None) -> None:
    """InvalidInput unless the slug is one every route takes and a name, when given, is text:
    `Tam Kỳ`, `TAM-KY` or `a/b` made cities no page or command could open or delete."""
    problems = []
    if not CITY_SLUG.fullmatch(slug):
        problems.append(Problem("city", "city_bad_slug", {"slug": slug[:80]}))
    if name is not None and (not name.strip() or len(name) > 200 or "\x00" in name):
        problems.append(Problem("name", "city_bad_name"))
    if problems:
        raise InvalidInput(problems)


def _in_other_city(layer: Layer, feature: Feature, reach: Reach) -> Problem:
    """The refusal of a ward or settlement that reaches into another city's ward, naming
    both (the area in each language's digits)."""
    code = f"boundary_{'ward' if layer.kind == 'wards' else 'settlement'}_in_other_city"
    where = {"file": layer.label, "row": feature.row, "feature": feature.code or "—"}
    params: dict[str, Any] = {
        "name": feature.name,
        "other": reach.other_name,
        "other_code": reach.other_code,
        "city": reach.city_name,
        "slug": reach.city_slug,
        "reach": f"{OTHER_CITY_REACH_M:g}",
    }
    texts = {
        language: translate("boundary_row", language, **where)
        + " "
        + translate(code, language, **params, area=number_text(reach.area_m2, language))
        for language in LANGUAGES
    }
    return Problem(f"{layer.kind}[{feature.row}]", code, params, texts)


def refuse_other_cities(
    connection: Connection, city_id: int | None, boundaries: Boundaries
) -> None:
    """InvalidInput naming each ward or settlement that lies more than OTHER_CITY_REACH_M
    inside another city's wards, and the ward it reaches into."""
    features: list[tuple[Layer, Feature]] = [
        (layer, feature)
        for layer in (boundaries.wards, boundaries.settlements)
        if layer is not None
        for feature in layer.features
    ]
    reaches, total = reaching_other_cities(
        connection,
        city_id,
        [shapely.to_wkb(feature.geometry) for _, feature in features],
        reach_m=OTHER_CITY_REACH_M,
        min_area_m2=OTHER_CITY_MIN_AREA_M2,
        limit=MAX_PROBLEMS,
    )
    if not reaches:
        return
    problems = [_in_other_city(*features[reach.position], reach) for reach in reaches]
    if total > len(reaches):
        problems.append(Problem("", "boundary_more_problems", {"count": total - len(reaches)}))
    raise InvalidInput(problems)


def refuse_taking_surveys(connection: Connection, city_id: int, actor: str | None) -> None:
    """InvalidInput naming each ward (just written) that holds surveys another city keeps
    outside its wards: they would move to this city, their names with them, and only a
    national admin decides that (a city admin's wards drawn over a neighbour's outskirts
    took its households).

    The refusal names the ward only, never the other city nor how many households: a ward
    box shrunk upload after upload, its count read each time, pinned another city's
    households down to the metre. That a ward holds some cannot be hidden from whoever is
    refused; each refusal is logged with who asked and where, for the national admins."""
    rows = connection.execute(OTHER_CITIES_SURVEYS_IN_WARDS, {"city_id": city_id}).all()
    if not rows:
        return
    log.warning(
        "boundary import by %s refused: %d wards of city %s hold other cities' surveys (%s)",
        actor,
        len(rows),
        city_id,
        ", ".join(f"{row.code}: {row.surveys} of {row.slug}" for row in rows[:MAX_PROBLEMS]),
    )
    problems = [
        Problem(f"wards[{row.code}]", "boundary_ward_takes_other_city_surveys", {"name": row.name})
        for row in rows[:MAX_PROBLEMS]
    ]
    if len(rows) > MAX_PROBLEMS:
        problems.append(Problem("", "boundary_more_problems", {"count": len(rows) - MAX_PROBLEMS}))
    raise InvalidInput(problems)


AUDIT_CITY = text(
    "INSERT INTO audit_log (actor_id, actor, action, entity, entity_id, new) "
    "VALUES (:actor_id, :actor, :action, 'city', :city_id, CAST(:new AS jsonb))"
)


def store_boundaries(
    connection: Connection,
    *,
    slug: str,
    name: str | None,
    province: str | None,
    boundaries: Boundaries,
    actor_id: int | None = None,
    actor: str = COMMAND_LINE,
    progress: Progress | None = None,
    take_other_cities: bool = True,
) -> ImportSummary:
    """Create or update the city and write its checked wards and settlements (by code), in
    the caller's transaction, unless one reaches into another city (InvalidInput, nothing
    written); households already stored are placed again, each move and the import on
    record as done by `actor` (a person's id and username, or the command line). Without
    `take_other_cities` (a city admin's upload), wards that hold surveys another city keeps
    outside its wards are refused (InvalidInput: the caller rolls back)."""
    # Imports one at a time, whatever their city: two of one city would interleave their
    # upserts, and two of neighbouring cities would each be checked against the other's old
    # lines. The row is the boundary generation's, which every import changes anyway (a
    # trigger): the lock it took at its first write is now taken before the check.
    connection.execute(text("SELECT generation FROM boundary_generation FOR UPDATE"))
    # No JIT while the row is held (the web app's engine sets it off; the command line's
    # did not): it compiled the check against other cities for 0.7-2.4 s (docs/benchmarks.md).
    connection.execute(text("SET LOCAL jit = off"))
    city_id = connection.execute(
        text("SELECT id FROM cities WHERE slug = :slug"), {"slug": slug}
    ).scalar()
    refuse_other_cities(connection, city_id, boundaries)
    city_id, created = connection.execute(
        INSERT_CITY, {"slug": slug, "name": name, "province": province}
    ).one()
    warnings: list[Problem] = []
    wards = boundaries.wards
    _store_layer(connection, city_id, wards, progress)
    warnings += wards.warnings
    settlements = boundaries.settlements
    if settlements is not None:
        _store_layer(connection, city_id, settlements, progress)
        warnings += settlements.warnings
        unknown = _unknown_ward_codes(connection, city_id, settlements)
        if unknown is not None:
            warnings.append(unknown)
    connection.execute(PLACE_SETTLEMENTS, {"city_id": city_id})
    for table, layer in (("wards", wards), ("settlements", settlements)):
        kept = _kept(connection, table, city_id, layer) if layer is not None else None
        if kept is not None:
            warnings.append(kept)
    if settlements is not None:
        outside = _outside_wards(connection, city_id, settlements)
        if outside is not None:
            warnings.append(outside)
    if not take_other_cities:
        refuse_taking_surveys(connection, city_id, actor)
    # Households already surveyed follow their boundaries (a corrected ward line moves them),
    # each move on the survey's record, in the statement that moves it.
    replaced = connection.execute(
        REPLACE_HOUSEHOLDS, {"city_id": city_id, "actor_id": actor_id, "actor": actor}
    ).rowcount
    crs: dict[str, str] = {wards.kind: wards.source_crs}
    if settlements is not None:
        crs[settlements.kind] = settlements.source_crs
    summary = ImportSummary(
        city_id=city_id,
        wards=len(wards.features),
        settlements=len(settlements.features) if settlements else 0,
        households_replaced=replaced,
        slug=slug,
        created=bool(created),
        crs=crs,
        warnings=tuple(warnings),
    )
    connection.execute(
        AUDIT_CITY,
        {
            "actor_id": actor_id,
            "actor": actor,
            "action": "city.create" if summary.created else "city.boundaries",
            "city_id": str(city_id),
            "new": json.dumps(
                {
                    "slug": slug,
                    "wards": summary.wards,
                    "settlements": summary.settlements,
                    "households_placed_again": summary.households_replaced,
                    "crs": summary.crs,
                },
                ensure_ascii=False,
            ),
        },
    )
    return summary


def import_city(
    connection: Connection,
    *,
    slug: str,
    name: str | None,
    province: str | None,
    wards_path: Path,
    settlements_path: Path | None,
    crs: str | None = None,
    wards_options: LayerOptions | None = None,
    settlements_options: LayerOptions | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Create or update a city with its wards and settlements (matched by code): re-runnable,
    on record as done by the command line.

    Files are GeoJSON, GeoPackage or Shapefile (a .shp beside its .dbf/.shx/.prj, or a .zip
    of them); `crs` (e.g. "EPSG:9210") is for files that name none: a file keeps its own,
    with a warning when `crs` differs from it. Nothing is written unless
    both files are usable (InvalidInput lists every problem).
    """
    check_city_names(slug, name)
    boundaries = read_boundaries(
        wards_path,
        settlements_path,
        crs=crs,
        wards_options=wards_options,
        settlements_options=settlements_options,
        progress=progress,
    )
    return store_boundaries(
        connection,
        slug=slug,
        name=name,
        province=province,
        boundaries=boundaries,
        progress=progress,
    )


# --- the web upload (app/api/boundaries.py) -----------------------------------------------


async def check_import_allowed(
    engine: AsyncEngine, actor: Principal, slug: str
) -> dict[str, Any] | None:
    """The city to update (its admins and national admins), or None for a new city (national
    admins only); checked before an upload is read."""
    from app.db import places as place_queries

    async with engine.connect() as connection:
        city = await place_queries.city_by_slug(connection, slug)
    if city is None:
        if not actor.is_national_admin:
            raise NotFound("unknown_city", city=slug)
        return None
    if not actor.can_see_city(city["id"]):
        raise NotFound("unknown_city", city=slug)
    if not actor.can_manage_city(city["id"]):
        raise Forbidden("not_allowed")
    return city


async def import_upload(
    engine: AsyncEngine,
    actor: Principal,
    *,
    slug: str,
    name: str | None,
    province: str | None,
    read: Callable[[], Boundaries],
) -> ImportSummary:
    """Import uploaded files for a city: `read` (the files' checks, CPU-bound) runs in a
    worker thread, then one transaction writes the city, its boundaries, the surveys' moves
    and the audit entries, as done by `actor`."""
    import asyncio

    city = await check_import_allowed(engine, actor, slug)
    if city is None and not (name or "").strip():
        raise InvalidInput([Problem("name", "boundary_city_name_required")])
    boundaries = await asyncio.to_thread(read)
    async with engine.begin() as connection:
        summary = await connection.run_sync(
            lambda sync: store_boundaries(
                sync,
                slug=slug,
                name=(name or "").strip() or None,
                province=(province or "").strip() or None,
                boundaries=boundaries,
                actor_id=actor.user_id,
                actor=actor.username,
                take_other_cities=actor.is_national_admin,
            )
        )
    return summary
