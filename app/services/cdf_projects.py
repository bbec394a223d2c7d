"""Use case: the small upgrading projects a CDF finances (lane paving, drains, water, toilets,
community centres, house repair), with their money by source and their place on the map.

Who may do what (app.services.access): a city's admins and national admins create and change
projects; the city's planners read them all; ward leaders and volunteers with a ward read
their ward's projects (a volunteer of the whole city, the city's). Anyone else is told the
city or project does not exist (404). Projects hold no personal data.

Money is integer đồng in four sources. Leverage = (grant + community + city) ÷ CDF loan:
other money brought in per CDF đồng, kept as the exact fraction of the two integers and
rounded (half up, two decimals) only for display; none when the CDF put no money in.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

import orjson
import sqlalchemy.exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.db import cdf_projects as queries
from app.db import places as place_queries
from app.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem
from app.geo.cdf_projects import check_geometry, geometry_json
from app.geo.styles import PROJECT_STATUS_COLOURS
from app.i18n import date_text, translate
from app.services import cdf_projects_photos
from app.services.access import Principal
from app.services.cdf_input import Reader, request_hash

KINDS = ("lane_paving", "drain", "water", "toilets", "community_centre", "house_repair")
STATUSES = ("proposed", "approved", "building", "done")
SOURCES = queries.SOURCES
# Far above any small project (ACCA: ~US$3,000 each), far below BIGINT even summed.
MAX_AMOUNT = 10**12
MAX_HOUSEHOLDS = 100_000
MAX_NAME = 200
MAX_CODE = 40
FIELDS = (
    "name",
    "code",
    "kind",
    "status",
    "settlement_id",
    "budget",
    "households",
    "start_date",
    "end_date",
    "geometry",
)
REQUIRED = ("name", "kind", "settlement_id", "geometry")
GEOJSON_TYPES = {"POINT": "Point", "LINESTRING": "LineString", "POLYGON": "Polygon"}
STATUS_COLOUR = dict(PROJECT_STATUS_COLOURS)


def label(group: str, code: str, language: str) -> str:
    """The vi/en label of a kind, status or source code."""
    return translate(f"cdf_project.{group}.{code}", language)


def money_text(amount: int, language: str) -> str:
    """Whole đồng with a thousands separator ('.' in Vietnamese, ',' in English)."""
    return f"{amount:,}".replace(",", "." if language == "vi" else ",")


def leverage(other: int, cdf: int, language: str = "vi") -> dict[str, Any] | None:
    """Other money per CDF đồng: the exact fraction and its display (None without CDF money)."""
    if cdf <= 0:
        return None
    ratio = Fraction(other, cdf)
    shown = (Decimal(ratio.numerator) / Decimal(ratio.denominator)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
    display = f"{shown:.2f}"
    return {
        "other_money": other,
        "cdf_money": cdf,
        "ratio": f"{ratio.numerator}/{ratio.denominator}",
        "display": display.replace(".", ",") if language == "vi" else display,
    }


def _budget(row: dict[str, Any]) -> dict[str, int]:
    amounts = {source: int(row[f"budget_{source}"]) for source in SOURCES}
    return {**amounts, "total": sum(amounts.values())}


def _other_money(budget: dict[str, int]) -> int:
    return budget["grant"] + budget["community"] + budget["city"]


# --- input ----------------------------------------------------------------------------------


def _amount(value: Any, field: str) -> Problem | None:
    # bool is an int in Python; a JSON true is not an amount. Neither is 5.0 nor "5".
    if type(value) is float and value.is_integer() and value > MAX_AMOUNT:
        # A whole number past 64 bits arrives from the JSON parser as a float: too large, not
        # a fraction of a đồng.
        return Problem(field, "project_amount_too_large", {"max": MAX_AMOUNT})
    if type(value) is not int:
        return Problem(field, "project_amount_not_integer")
    if value < 0:
        return Problem(field, "project_amount_negative")
    if value > MAX_AMOUNT:
        return Problem(field, "project_amount_too_large", {"max": MAX_AMOUNT})
    return None


def _date(value: Any, field: str) -> tuple[date | None, Problem | None]:
    if value is None:
        return None, None
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value), None
        except ValueError:
            pass
    return None, Problem(field, "invalid_date")


def _text(value: Any, field: str, limit: int, required: bool) -> tuple[str | None, Problem | None]:
    if value is None and not required:
        return None, None
    if not isinstance(value, str):
        return None, Problem(field, "not_text")
    value = value.strip()
    if not value:
        return None, Problem(field, "project_name_required") if required else None
    if len(value) > limit:
        return None, Problem(field, "text_too_long", {"max": limit})
    return value, None


def check_input(body: dict[str, Any], partial: bool) -> tuple[dict[str, Any], list[Problem]]:
    """Column values from a project's JSON (every field on creation, some on change), or the
    problems with it, each naming its field in vi and en."""
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    for key in body:
        if key not in FIELDS:
            problems.append(Problem(key, "unknown_field", {"name": str(key)[:40]}))
    if not partial:
        problems += [Problem(key, "missing") for key in REQUIRED if body.get(key) is None]
    for key, limit, required in (("name", MAX_NAME, True), ("code", MAX_CODE, False)):
        if key in body and (body[key] is not None or not required):
            values[key], problem = _text(body[key], key, limit, required)
            problems += [problem] if problem else []
        elif key in body:
            problems.append(Problem(key, "missing"))
    for key, allowed in (("kind", KINDS), ("status", STATUSES)):
        if key in body:
            if body[key] in allowed:
                values[key] = body[key]
            else:
                value = str(body[key])[:40]
                params = {"value": value, "allowed": ", ".join(allowed)}
                problems.append(Problem(key, "invalid_choice", params))
    if body.get("settlement_id") is not None:
        value = body["settlement_id"]
        if type(value) is int and 1 <= value < 2**31:
            values["settlement_id"] = value
        else:
            problems.append(Problem("settlement_id", "not_integer"))
    if "budget" in body:
        budget = body["budget"]
        if not isinstance(budget, dict):
            problems.append(Problem("budget", "wrong_type", {"expected": "object"}))
            budget = {}
        for source, amount in budget.items():
            field = f"budget.{str(source)[:40]}"
            if source not in SOURCES:
                params = {"value": str(source)[:40], "allowed": ", ".join(SOURCES)}
                problems.append(Problem(field, "project_unknown_source", params))
                continue
            problem = _amount(amount, field)
            if problem:
                problems.append(problem)
            else:
                values[f"budget_{source}"] = amount
    if not partial:
        for source in SOURCES:
            values.setdefault(f"budget_{source}", 0)
    if "households" in body:
        value = body["households"]
        if value is None or (type(value) is int and 0 <= value <= MAX_HOUSEHOLDS):
            values["households"] = value
        else:
            problems.append(
                Problem("households", "project_households_invalid", {"max": MAX_HOUSEHOLDS})
            )
    for key in ("start_date", "end_date"):
        if key in body:
            values[key], problem = _date(body[key], key)
            problems += [problem] if problem else []
    if body.get("geometry") is not None:
        geometry, found = check_geometry(body["geometry"])
        problems += found
        if geometry is not None:
            values["geometry"] = geometry_json(geometry)
    elif partial and "geometry" in body:
        problems.append(Problem("geometry", "missing"))
    return values, problems


# --- who may see what -----------------------------------------------------------------------


def readable_wards(reader: Principal, city_id: int) -> frozenset[int] | None:
    """The wards of a city whose projects the reader may see (None: all of them; empty:
    none)."""
    if reader.can_read_city(city_id):
        return None
    in_city = [g for g in reader.grants if g.city_id == city_id]
    if any(g.role == "volunteer" and g.ward_id is None for g in in_city):
        return None
    return frozenset(
        g.ward_id for g in in_city if g.role in ("ward_leader", "volunteer") and g.ward_id
    )


async def _readable_city(
    connection: AsyncConnection, reader: Principal, slug: str
) -> tuple[dict[str, Any], frozenset[int] | None]:
    """A city by slug and the wards of it the reader may see, or NotFound when none."""
    city = await place_queries.city_by_slug(connection, slug)
    wards = readable_wards(reader, city["id"]) if city else frozenset()
    if city is None or wards == frozenset():
        raise NotFound("unknown_city", city=slug)
    return city, wards


def _may_read(reader: Principal, row: dict[str, Any]) -> bool:
    wards = readable_wards(reader, row["city_id"])
    return wards is None or row["ward_id"] in wards


# --- output ---------------------------------------------------------------------------------


def project_out(row: dict[str, Any], language: str) -> dict[str, Any]:
    """A project as the API shows it."""
    budget = _budget(row)
    return {
        "id": row["id"],
        "code": row["code"],
        "name": row["name"],
        "kind": row["kind"],
        "kind_label": label("kind", row["kind"], language),
        "status": row["status"],
        "status_label": label("status", row["status"], language),
        "city": row["city"],
        "ward": {"id": row["ward_id"], "name": row["ward_name"]} if row["ward_id"] else None,
        "settlement": {"id": row["settlement_id"], "name": row["settlement_name"]},
        "budget": budget,
        "leverage": leverage(_other_money(budget), budget["cdf_loan"], language),
        "households": row["households"],
        "start_date": row["start_date"].isoformat() if row["start_date"] else None,
        "end_date": row["end_date"].isoformat() if row["end_date"] else None,
        "loan_id": row["loan_id"],
        "geometry_type": GEOJSON_TYPES.get(row["geometry_type"], row["geometry_type"]),
        "geometry": orjson.loads(row["geometry"]),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def _summaries(rows: list[dict[str, Any]], language: str) -> dict[str, Any]:
    """Money and leverage per settlement, per ward and for all the rows together."""

    def total(group: Iterable[dict[str, Any]]) -> dict[str, Any]:
        budgets = [_budget(row) for row in group]
        summed = {k: sum(b[k] for b in budgets) for k in (*SOURCES, "total")}
        return {
            "projects": len(budgets),
            "budget": summed,
            "leverage": leverage(_other_money(summed), summed["cdf_loan"], language),
        }

    by_settlement: dict[int, list[dict[str, Any]]] = {}
    by_ward: dict[int | None, list[dict[str, Any]]] = {}
    for row in rows:
        by_settlement.setdefault(row["settlement_id"], []).append(row)
        by_ward.setdefault(row["ward_id"], []).append(row)
    return {
        "total": total(rows),
        "wards": [
            {"id": ward_id, "name": group[0]["ward_name"], **total(group)}
            for ward_id, group in by_ward.items()
        ],
        "settlements": [
            {"id": settlement_id, "name": group[0]["settlement_name"], **total(group)}
            for settlement_id, group in by_settlement.items()
        ],
    }


# --- use cases ------------------------------------------------------------------------------


async def list_projects(
    engine: AsyncEngine,
    reader: Principal,
    slug: str,
    language: str,
    **filters: Any,
) -> dict[str, Any]:
    """A city's projects the reader may see (filters: ward_id, settlement_id, status, kind),
    with money and leverage per settlement and per ward."""
    async with engine.connect() as connection:
        city, wards = await _readable_city(connection, reader, slug)
        rows = await queries.projects(connection, city["id"], wards=wards, **filters)
    return {
        "city": slug,
        "count": len(rows),
        "projects": [project_out(row, language) for row in rows],
        "leverage": _summaries(rows, language),
    }


async def projects_geojson(
    engine: AsyncEngine, reader: Principal, slug: str, language: str, **filters: Any
) -> bytes:
    """The same projects as an RFC 7946 FeatureCollection (flat properties, for GIS)."""
    async with engine.connect() as connection:
        city, wards = await _readable_city(connection, reader, slug)
        rows = await queries.projects(connection, city["id"], wards=wards, **filters)
    features = []
    for row in rows:
        out = project_out(row, language)
        ratio = out["leverage"]
        properties = {
            key: out[key]
            for key in ("id", "code", "name", "kind", "kind_label", "status", "status_label")
        }
        properties |= {
            "settlement_id": row["settlement_id"],
            "settlement": row["settlement_name"],
            "ward_id": row["ward_id"],
            "ward": row["ward_name"],
            **{f"budget_{key}": value for key, value in out["budget"].items()},
            "households": row["households"],
            "start_date": out["start_date"],
            "end_date": out["end_date"],
            "leverage": ratio["display"] if ratio else None,
        }
        features.append({"type": "Feature", "id": row["id"], "geometry": out["geometry"],
                         "properties": properties})  # fmt: skip
    return orjson.dumps({"type": "FeatureCollection", "features": features})


async def get_project(
    engine: AsyncEngine, reader: Principal, project_id: int, language: str
) -> dict[str, Any]:
    """One project with its status history, for those who may read it."""
    async with engine.connect() as connection:
        row = await queries.project(connection, project_id)
        if row is None or not _may_read(reader, row):
            raise NotFound("cdf_project_not_found", id=project_id)
        history = await queries.status_history(connection, project_id)
    photos = await cdf_projects_photos.project_photos(engine, reader, row)
    return {**project_out(row, language), "status_history": history, "photos": photos}


async def _check_place(
    connection: AsyncConnection,
    city_id: int,
    settlement_id: int,
    geometry: str,
) -> None:
    """The settlement is the city's, and the shape lies within or touches its ward."""
    settlement = await queries.settlement_place(connection, settlement_id)
    if settlement is None or settlement["city_id"] != city_id:
        raise InvalidInput(
            [Problem("settlement_id", "project_settlement_unknown", {"id": settlement_id})]
        )
    if not await queries.touches_ward(connection, geometry, settlement_id):
        params = {"settlement": settlement["name"]}
        raise InvalidInput([Problem("geometry", "project_outside_ward", params)])


async def _code_free(
    connection: AsyncConnection, city_id: int, code: str | None, project_id: int = 0
) -> None:
    if code is None:
        return
    taken = await connection.execute(
        text("SELECT 1 FROM cdf_projects WHERE city_id = :city AND code = :code AND id <> :id"),
        {"city": city_id, "code": code, "id": project_id},
    )
    if taken.first():
        raise Conflict("project_code_taken", value=code)


async def create_project(
    engine: AsyncEngine, actor: Principal, slug: str, body: dict[str, Any], language: str
) -> dict[str, Any]:
    """Register a project in a city (its admins, national admins); its status on record.
    With a `client_id` (a UUID the client made), the same request again is the project
    stored (`outcome: duplicate`), another request under that id a 409."""
    reader = Reader(body)
    client_id = reader.client_id(required=False)
    fields = {key: value for key, value in body.items() if key != "client_id"}
    values, problems = check_input(fields, partial=False)
    problems = reader.problems + problems
    digest = request_hash("project", {"city": slug, **fields})
    async with engine.begin() as connection:
        city, _ = await _readable_city(connection, actor, slug)
        if not actor.can_manage_city(city["id"]):
            raise Forbidden("not_allowed")
        if problems:
            raise InvalidInput(problems)
        if client_id is not None:
            earlier = await _sent_before(connection, client_id, digest)
            if earlier is not None:
                return {
                    "outcome": "duplicate",
                    **await get_project(engine, actor, earlier, language),
                }
        start, end = values.get("start_date"), values.get("end_date")
        if start and end and end < start:
            raise InvalidInput([Problem("end_date", "project_dates_order")])
        await _check_place(connection, city["id"], values["settlement_id"], values["geometry"])
        await _code_free(connection, city["id"], values.get("code"))
        try:
            project_id = await queries.insert_project(
                connection, city["id"], values, actor.user_id, client_id, digest
            )
        except sqlalchemy.exc.IntegrityError as exc:  # the same code sent twice at once
            raise Conflict("project_code_taken", value=values.get("code")) from exc
        if project_id is None:  # its client id stored by a request that committed meanwhile
            assert client_id is not None
            earlier = await _sent_before(connection, client_id, digest)
            assert earlier is not None
            project_id, outcome = earlier, "duplicate"
        else:
            outcome = "created"
            status = values.get("status", "proposed")
            await queries.record_status(
                connection, project_id, None, status, actor.user_id, actor.username
            )
    return {"outcome": outcome, **await get_project(engine, actor, project_id, language)}


async def _sent_before(
    connection: AsyncConnection, client_id: uuid.UUID, digest: str
) -> int | None:
    """The project stored under this client id by the same request, None when none is;
    Conflict when another request used the id."""
    earlier = await queries.project_by_client_id(connection, client_id)
    if earlier is None:
        return None
    if earlier["request_hash"] != digest:
        raise Conflict("cdf_client_id_reused", client_id=str(client_id))
    return int(earlier["id"])


async def update_project(
    engine: AsyncEngine, actor: Principal, project_id: int, body: dict[str, Any], language: str
) -> dict[str, Any]:
    """Change a project (its city's admins, national admins); a status change goes on record
    with who and when."""
    values, problems = check_input(body, partial=True)
    async with engine.begin() as connection:
        locked = await queries.lock_project(connection, project_id)
        current = await queries.project(connection, project_id) if locked else None
        if current is None or not _may_read(actor, current):
            raise NotFound("cdf_project_not_found", id=project_id)
        if not actor.can_manage_city(current["city_id"]):
            raise Forbidden("not_allowed")
        if problems:
            raise InvalidInput(problems)
        start = values.get("start_date", current["start_date"])
        end = values.get("end_date", current["end_date"])
        if start and end and end < start:
            raise InvalidInput([Problem("end_date", "project_dates_order")])
        if "settlement_id" in values or "geometry" in values:
            await _check_place(
                connection,
                current["city_id"],
                values.get("settlement_id", current["settlement_id"]),
                values.get("geometry", current["geometry"]),
            )
        if "code" in values:
            await _code_free(connection, current["city_id"], values["code"], project_id)
        if values:
            try:
                await queries.update_project(connection, project_id, values)
            except sqlalchemy.exc.IntegrityError as exc:
                raise Conflict("project_code_taken", value=values.get("code")) from exc
        status = values.get("status")
        if status is not None and status != current["status"]:
            await queries.record_status(
                connection, project_id, current["status"], status, actor.user_id, actor.username
            )
    return await get_project(engine, actor, project_id, language)


# --- maps -----------------------------------------------------------------------------------


def popup_fields(language: str) -> list[tuple[str, str]]:
    """(property, label) pairs shown in a project's popup on the web maps."""
    keys = ("name", "kind", "status", "settlement", "rank", "budget", "leverage", "households",
            "dates")  # fmt: skip
    return [(key, translate(f"cdf_project.{key}", language)) for key in keys]


async def map_projects(
    engine: AsyncEngine,
    reader: Principal | None,
    city_id: int,
    ward_id: int | None,
    language: str,
    ranks: dict[int, Any],
) -> list[dict[str, Any]]:
    """The projects a map shows (those its reader may see; none on a public map), with the
    texts of their popups and table rows; `ranks`: settlement id -> priority rank."""
    wards = readable_wards(reader, city_id) if reader is not None else frozenset()
    if wards == frozenset():
        return []
    async with engine.connect() as connection:
        rows = await queries.projects(connection, city_id, wards=wards, ward_id=ward_id)
    # Numbered by their settlement's priority (most in need first): where the money went
    # beside where the need is.
    rows.sort(
        key=lambda r: (ranks.get(r["settlement_id"]) is None, ranks.get(r["settlement_id"]) or 0)
    )
    shown = []
    for number, row in enumerate(rows, start=1):
        budget = _budget(row)
        ratio = leverage(_other_money(budget), budget["cdf_loan"], language)
        days = (row["start_date"], row["end_date"])
        dates = " – ".join(date_text(day, language) for day in days if day)
        rank = ranks.get(row["settlement_id"])
        shown.append(
            {
                "number": number,
                "geometry": orjson.loads(row["geometry"]),
                "label_lon": row["label_lon"],
                "label_lat": row["label_lat"],
                "name": row["name"],
                "kind": label("kind", row["kind"], language),
                "status": label("status", row["status"], language),
                "status_code": row["status"],
                "colour": STATUS_COLOUR[row["status"]],
                "settlement": row["settlement_name"],
                "rank": "–" if rank is None else str(rank),
                "budget": money_text(budget["total"], language),
                "leverage": ratio["display"]
                if ratio
                else translate("cdf_project.no_cdf_money", language),
                "households": "–" if row["households"] is None else str(row["households"]),
                "dates": dates or "–",
            }
        )
    return shown


def map_layer(projects: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The web map's project layer: a FeatureCollection (None when there are no projects)."""
    if not projects:
        return None
    features = [
        {
            "type": "Feature",
            "geometry": project["geometry"],
            "properties": {
                k: v for k, v in project.items() if k not in ("geometry", "label_lon", "label_lat")
            },
        }
        for project in projects
    ]
    return {"type": "FeatureCollection", "features": features}
