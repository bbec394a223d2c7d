"""Use case: browse the administrative ladder (city > ward > settlement)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import places as queries
from app.db.indicators import HOUSEHOLD_FORM, Counted
from app.errors import Forbidden, InvalidInput, NotFound, Problem
from app.services.access import Principal


async def cities(
    engine: AsyncEngine,
    reader: Principal,
    household_form: str = HOUSEHOLD_FORM,
    surveys: Counted = "approved",
) -> list[dict[str, Any]]:
    """The cities the reader has a role in (every city for a national admin)."""
    async with engine.connect() as connection:
        found = await queries.list_cities(
            connection, household_form, surveys, reader.waiting_scope()
        )
    return [city for city in found if reader.can_see_city(city["id"])]


async def city(engine: AsyncEngine, slug: str, reader: Principal | None = None) -> dict[str, Any]:
    """One city by slug (that the reader may see, when given), or NotFound."""
    async with engine.connect() as connection:
        found = await queries.city_by_slug(connection, slug)
    if found is None or (reader is not None and not reader.can_see_city(found["id"])):
        raise NotFound("unknown_city", city=slug)
    return found


async def wards(
    engine: AsyncEngine,
    slug: str,
    reader: Principal,
    household_form: str = HOUSEHOLD_FORM,
    surveys: Counted = "approved",
) -> list[dict[str, Any]]:
    """Wards of a city, or NotFound for an unknown city (or one the reader has no role in)."""
    async with engine.connect() as connection:
        found = await queries.city_by_slug(connection, slug)
        if found is None or not reader.can_see_city(found["id"]):
            raise NotFound("unknown_city", city=slug)
        return await queries.list_wards(
            connection, found["id"], household_form, surveys, reader.waiting_scope()
        )


async def ward(
    engine: AsyncEngine, ward_id: int, reader: Principal | None = None
) -> dict[str, Any]:
    """One ward (in a city the reader has a role in, when given), or NotFound."""
    async with engine.connect() as connection:
        found = await queries.ward_by_id(connection, ward_id)
    if found is None or (reader is not None and not reader.can_see_city(found["city_id"])):
        raise NotFound("ward_not_found", id=ward_id)
    return found


async def settlements(
    engine: AsyncEngine,
    ward_id: int,
    reader: Principal,
    household_form: str = HOUSEHOLD_FORM,
    surveys: Counted = "approved",
) -> list[dict[str, Any]]:
    """Settlements of a ward, or NotFound for an unknown ward (or one outside the reader's
    cities)."""
    async with engine.connect() as connection:
        found = await queries.ward_by_id(connection, ward_id)
        if found is None or not reader.can_see_city(found["city_id"]):
            raise NotFound("ward_not_found", id=ward_id)
        return await queries.list_settlements(
            connection, ward_id, household_form, surveys, reader.waiting_scope()
        )


async def update_city(
    engine: AsyncEngine, actor: Principal, slug: str, changes: dict[str, Any]
) -> dict[str, Any]:
    """Change a city's settings (its admins), each change on record: `public_aggregates`
    (publish its aggregate maps and indicators) and `priority_weights` (its own weights of the
    priority score, checked; None goes back to the common ones)."""
    from app.db.accounts import audit
    from app.services.indicators import WEIGHTS_FIELD, check_weights, stored_weights

    if not changes:
        raise InvalidInput([Problem("", "nothing_to_change")])
    weights = changes.get(WEIGHTS_FIELD)
    if weights is not None:
        weights = check_weights(weights)
    async with engine.begin() as connection:
        found = await queries.city_by_slug(connection, slug, for_update=True)
        if found is None or not actor.can_see_city(found["id"]):
            raise NotFound("unknown_city", city=slug)
        if not actor.can_manage_city(found["id"]):
            raise Forbidden("not_allowed")
        public = found["public_aggregates"]
        stored = await queries.cities_weights(connection, [found["id"]])
        own = stored_weights(stored.get(found["id"]))
        changed: list[tuple[str, str, Any, Any]] = []
        if "public_aggregates" in changes:
            was_public, public = public, bool(changes["public_aggregates"])
            await queries.set_public(connection, found["id"], public)
            changed.append(("city.publish", "public_aggregates", was_public, public))
        if WEIGHTS_FIELD in changes:
            had, own = own, weights
            await queries.set_weights(connection, found["id"], own)
            changed.append(("city.weights", WEIGHTS_FIELD, had, own))
        # A change to the value it had (a resend, a second tab) is no change: not on record.
        for action, field, old, new in [c for c in changed if c[2] != c[3]]:
            await audit(
                connection,
                actor_id=actor.user_id,
                actor=actor.username,
                action=action,
                entity="city",
                entity_id=str(found["id"]),
                old={field: old},
                new={field: new},
            )
    return {"slug": slug, "public_aggregates": public, WEIGHTS_FIELD: own}


async def cities_for_home(engine: AsyncEngine, reader: Principal | None) -> list[dict[str, Any]]:
    """Cities to list on the start page: those the reader has a role in, and published ones;
    `readable` when the reader may open the city's map."""
    async with engine.connect() as connection:
        found = await queries.all_cities(connection)
    shown = []
    for city in found:
        mine = reader is not None and reader.can_see_city(city["id"])
        if mine or city["public_aggregates"]:
            readable = city["public_aggregates"] or (
                reader is not None and reader.can_read_city(city["id"])
            )
            shown.append({**city, "readable": readable})
    return shown


async def granted_wards(engine: AsyncEngine, reader: Principal) -> list[dict[str, Any]]:
    """Every ward the person holds a role on, whatever the role, by name (the start page
    names them, and links the maps of those they lead)."""
    ward_ids = sorted({g.ward_id for g in reader.grants if g.ward_id is not None})
    if not ward_ids:
        return []
    async with engine.connect() as connection:
        return await queries.wards_by_ids(connection, ward_ids)


async def ward_outline(engine: AsyncEngine, ward_id: int, reader: Principal) -> dict[str, Any]:
    """A ward's boundary and its settlements' as GeoJSON, for those who may read the ward."""
    import orjson

    from app.db.indicators import area_shapes

    async with engine.connect() as connection:
        found = await queries.ward_by_id(connection, ward_id)
        if found is None or not reader.can_read_ward(found["city_id"], ward_id):
            raise NotFound("ward_not_found", id=ward_id)
        shapes = await area_shapes(connection, found["city_id"], ward_id)
    features: list[dict[str, Any]] = []
    bbox = None
    for ward in shapes["wards"]:
        bbox = [ward["west"], ward["south"], ward["east"], ward["north"]]
        features.append(
            {
                "type": "Feature",
                "id": f"ward-{ward['id']}",
                "geometry": orjson.loads(ward["geometry"]),
                "properties": {
                    "kind": "ward",
                    "id": ward["id"],
                    "code": ward["code"],
                    "name": ward["name"],
                },
            }
        )
    for settlement in shapes["settlements"]:
        features.append(
            {
                "type": "Feature",
                "id": f"settlement-{settlement['id']}",
                "geometry": orjson.loads(settlement["geometry"]),
                "properties": {
                    "kind": "settlement",
                    "id": settlement["id"],
                    "code": settlement["code"],
                    "name": settlement["name"],
                },
            }
        )
    return {"type": "FeatureCollection", "bbox": bbox, "features": features}


async def managed_cities(engine: AsyncEngine, actor: Principal) -> list[dict[str, Any]]:
    """The cities an admin manages (every city for a national admin), with their counts and
    whether they are published: the admin page's list."""
    async with engine.connect() as connection:
        found = await queries.all_cities(connection)
    return [city for city in found if actor.can_manage_city(city["id"])]


async def readable_area(
    engine: AsyncEngine, reader: Principal, city_slug: str, ward_id: int | None
) -> dict[str, Any]:
    """A city (or one of its wards) whose households the reader may read: its planners and
    admins, or a ward's leader for that ward. NotFound otherwise, as for a place that does
    not exist. The city."""
    found = await city(engine, city_slug, reader)
    if ward_id is not None:
        area = await ward(engine, ward_id, reader)
        if area["city_id"] != found["id"] or not reader.can_read_ward(found["id"], ward_id):
            raise NotFound("ward_not_found", id=ward_id)
    elif not reader.can_read_city(found["id"]):
        led = sorted(
            g.ward_id
            for g in reader.grants
            if g.role == "ward_leader" and g.city_id == found["id"] and g.ward_id is not None
        )
        if led:  # their own city: say what they may read instead of "no such city"
            raise NotFound("city_read_by_ward", city=city_slug, wards=", ".join(map(str, led)))
        raise NotFound("unknown_city", city=city_slug)
    return found
