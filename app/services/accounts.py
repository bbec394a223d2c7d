"""Use case: people, their roles and their phones, managed by admins (web pages and CLI).

A city admin manages the people who hold roles in their city; only a national admin grants
national admin or manages people with no city. Every change is on record (audit_log).
`actor=None` is the command line, run by whoever runs the server.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.db import accounts as queries
from app.db import places as place_queries
from app.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem
from app.services.access import CITY_WIDE, ROLES, Principal
from app.services.auth import Authenticator

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
MIN_PASSWORD = 8


def _actor(actor: Principal | None) -> tuple[int | None, str]:
    return (actor.user_id, actor.username) if actor else (None, "cli")


async def _on_record(
    connection: AsyncConnection,
    actor: Principal | None,
    action: str,
    user_id: int,
    old: Any = None,
    new: Any = None,
) -> None:
    """Keep a change to a person on record (the command line acts as `cli`)."""
    actor_id, actor_name = _actor(actor)
    await queries.audit(
        connection,
        actor_id=actor_id,
        actor=actor_name,
        action=action,
        entity="user",
        entity_id=str(user_id),
        old=old,
        new=new,
    )


async def _managed_user(
    connection: AsyncConnection, actor: Principal | None, user_id: int, *, lock: bool = False
) -> dict[str, Any]:
    """A person the actor may manage, or NotFound (others do not exist for them). With
    `lock` (a change's transaction), the person's row is locked FOR UPDATE first: a role
    granted meanwhile (its insert locks the row FOR KEY SHARE) commits before the check reads
    the roles, or waits for the change (a city admin set the password of a person another
    transaction was making a national admin; found by review).

    The command line and national admins manage everyone; a city admin manages people whose
    every role is in cities they administer, and people with no role whose surveys (if any)
    are all in those cities: one just created, or one whose roles were all taken away. Such
    a person still reads the surveys they collected, names included, so the admin of
    another city must not be able to set their password or enrol a phone for them.
    """
    user = await queries.user_by_id(connection, user_id, lock=lock)
    if user is None:
        raise NotFound("user_not_found", id=user_id)
    if actor is None or actor.is_national_admin:
        return user
    if not actor.cities_as("city_admin"):
        # Only an admin manages anyone: a person with no role was "managed by every admin"
        # by an empty check, so any volunteer could set their password (found by review).
        raise NotFound("user_not_found", id=user_id)
    grants = await queries.grants_of(connection, user_id)
    if any(g["role"] == "national_admin" for g in grants) or not all(
        actor.can_manage_city(g["city_id"]) for g in grants
    ):
        raise NotFound("user_not_found", id=user_id)
    if not grants and await queries.collects_outside(
        connection, user_id, sorted(actor.cities_as("city_admin"))
    ):
        raise NotFound("user_not_found", id=user_id)
    return user


async def _cancel_enrolments(
    connection: AsyncConnection, actor: Principal | None, user_id: int, reason: str
) -> None:
    """Cancel the person's enrolment codes not yet used, on record when there were any.

    A code is a credential like a token: one made before a person was disabled, given a new
    password or had a phone revoked must not enrol a phone afterwards (it did, once the
    person was enabled again).
    """
    cancelled = await queries.cancel_enrolments(connection, user_id)
    if cancelled:
        await _on_record(
            connection,
            actor,
            "device.enrolment_cancel",
            user_id,
            old={
                "enrolments": [
                    {k: code[k] for k in ("id", "device_name", "expires_at")} for code in cancelled
                ]
            },
            new={"reason": reason},
        )


async def of_city_alone(connection: AsyncConnection, user_id: int, city_id: int) -> bool:
    """Whether an active person belongs to this city alone: every role of theirs is in it,
    and, with none, every survey they collected is (never a national admin). Such a person
    is who a city's own staff may give a role in it: a role there makes the city's admin
    their manager (`_managed_user`), who may then set their password."""
    user = await queries.user_by_id(connection, user_id)
    if user is None or not user["is_active"]:
        return False
    grants = await queries.grants_of(connection, user_id)
    if grants:
        return all(g["role"] != "national_admin" and g["city_id"] == city_id for g in grants)
    return not await queries.collects_outside(connection, user_id, [city_id])


def _check_password(password: str | None, field: str = "password") -> list[Problem]:
    if password is None:
        return []
    if len(password) < MIN_PASSWORD:
        return [Problem(field, "password_too_short", {"min": MIN_PASSWORD})]
    if len(password) > 256:
        return [Problem(field, "text_too_long", {"max": 256})]
    return []


def _display_name_problems(name: str) -> list[Problem]:
    """What is wrong with a person's name as shown (already stripped): each its own message
    (a blank one was told it was too long)."""
    if not name:
        return [Problem("display_name", "missing")]
    if "\x00" in name:
        return [Problem("display_name", "nul_character")]
    if len(name) > 120:
        return [Problem("display_name", "text_too_long", {"max": 120})]
    return []


async def create_user(
    engine: AsyncEngine,
    auth: Authenticator,
    actor: Principal | None,
    username: str,
    display_name: str,
    password: str | None = None,
    is_demo: bool = False,
) -> dict[str, Any]:
    """A new person (a volunteer may have no password: their phone is enrolled). The
    password is hashed on argon2's threads (auth.passwords), never on the event loop."""
    username = (username or "").strip().lower()
    problems = []
    if not USERNAME.fullmatch(username):
        problems.append(Problem("username", "invalid_username"))
    display_name = (display_name or "").strip()
    problems.extend(_display_name_problems(display_name))
    problems += _check_password(password)
    if problems:
        raise InvalidInput(problems)
    if actor is not None and not actor.has_role("city_admin"):
        raise Forbidden("not_allowed")
    password_hash = await auth.passwords.hash(password) if password else None
    async with engine.begin() as connection:
        user_id = await queries.insert_user(
            connection, username, display_name, password_hash, is_demo
        )
        if user_id is None:
            if await _added_before(connection, auth, actor, username, display_name, password):
                return {"outcome": "duplicate", **_person(await _user(connection, username))}
            raise Conflict("username_taken", username=username)
        await _on_record(
            connection,
            actor,
            "user.create",
            user_id,
            new={"username": username, "display_name": display_name},
        )
    return {
        "outcome": "created",
        "id": user_id,
        "username": username,
        "display_name": display_name,
    }


async def _user(connection: AsyncConnection, username: str) -> dict[str, Any]:
    user = await queries.user_by_username(connection, username)
    assert user is not None
    return user


def _person(user: dict[str, Any]) -> dict[str, Any]:
    return {k: user[k] for k in ("id", "username", "display_name")}


async def _added_before(
    connection: AsyncConnection,
    auth: Authenticator,
    actor: Principal | None,
    username: str,
    display_name: str,
    password: str | None,
) -> bool:
    """Whether this is a resend of the request that added the person under `username` (its
    answer lost): added by this same admin, with the same name and password, and given no
    role yet. An admin's page lists no person without a role, so a 409 left them unseen."""
    existing = await queries.user_by_username(connection, username)
    if existing is None or actor is None or existing["display_name"] != display_name:
        return False
    if await queries.created_by(connection, existing["id"]) != actor.user_id:
        return False
    if await queries.grants_of(connection, existing["id"]):
        return False
    if password is None or existing["password_hash"] is None:
        return password is None and existing["password_hash"] is None
    return await auth.passwords.check(existing["password_hash"], password)


async def update_user(
    engine: AsyncEngine,
    auth: Authenticator,
    actor: Principal | None,
    user_id: int,
    *,
    display_name: str | None = None,
    password: str | None = None,
    is_active: bool | None = None,
) -> dict[str, Any]:
    """Rename, set a password, disable or enable a person; disabling or a new password
    revokes every token and cancels every enrolment code not yet used. The password the
    person has already is no change (nothing revoked, nothing on record). Passwords are
    checked and hashed on argon2's threads (auth.passwords), never on the event loop."""
    problems = _check_password(password)
    if display_name is not None:
        problems.extend(_display_name_problems(display_name.strip()))
    if problems:
        raise InvalidInput(problems)
    values: dict[str, Any] = {}
    if display_name is not None:
        values["display_name"] = display_name.strip()
    if password is not None:
        # Only for a person the actor manages (checked again below, in the change's
        # transaction): argon2's two threads also check every sign-in, and a hash for anyone
        # who asks would let any signed-in person hold sign-in up.
        async with engine.connect() as connection:
            await _managed_user(connection, actor, user_id)
            stored = await queries.password_hash_of(connection, user_id)
        # The password they have (the change sent again after a lost answer, the person
        # signed in with it since) is no change: revoking would sign out that new sign-in.
        # The answer is the same either way, and a password that is not theirs is set, on
        # record, signing everyone out: only an admin who may set it gets here, and a wrong
        # guess replaces the password it guessed at. A password set meanwhile by another
        # request (or rehashed by a sign-in) is one set after this one.
        if stored is None or not await auth.passwords.check(stored, password):
            values["password_hash"] = await auth.passwords.hash(password)
    if is_active is not None:
        values["is_active"] = is_active
    signs_out = is_active is False or "password_hash" in values
    async with engine.begin() as connection:
        user = await _managed_user(connection, actor, user_id, lock=True)
        if "password_hash" not in values and all(user.get(k) == v for k, v in values.items()):
            return user  # the values it has (a resend, a second tab): no change, no record
        await queries.update_user(connection, user_id, **values)
        await _on_record(
            connection,
            actor,
            "user.update",
            user_id,
            old={k: user.get(k) for k in ("display_name", "is_active") if k in values},
            new={k: ("***" if k == "password_hash" else v) for k, v in values.items()},
        )
        if signs_out:
            reason = "disabled" if is_active is False else "password"
            await _cancel_enrolments(connection, actor, user_id, reason)
    if signs_out:
        await auth.revoke(engine, user_id=user_id)
    return {**user, **{k: v for k, v in values.items() if k != "password_hash"}}


def _ward_elsewhere(ward: dict[str, Any], city_name: str) -> Problem:
    return Problem("ward_id", "ward_not_in_city", {"ward": ward["name"], "city": city_name})


async def grant_role(
    engine: AsyncEngine,
    actor: Principal | None,
    user_id: int,
    role: str,
    city_slug: str | None = None,
    ward_id: int | None = None,
) -> dict[str, Any]:
    """Give a person a role on a place (a city, or a ward of it)."""
    if role not in ROLES:
        raise InvalidInput(
            [Problem("role", "invalid_choice", {"value": role, "allowed": ", ".join(ROLES)})]
        )
    actor_id = _actor(actor)[0]
    async with engine.begin() as connection:
        city_id: int | None = None
        if role == "national_admin":
            if actor is not None and not actor.is_national_admin:
                raise Forbidden("not_allowed")
            if city_slug or ward_id:
                raise InvalidInput([Problem("city", "role_has_no_place")])
        else:
            ward: dict[str, Any] | None = None
            if ward_id is not None:
                ward = await place_queries.ward_by_id(connection, ward_id)
                # A ward of a city the admin does not manage is one that does not exist for
                # them: its name is not theirs to learn (nor is its city's inner id).
                if ward is None or (
                    actor is not None and not actor.can_manage_city(int(ward["city_id"]))
                ):
                    raise NotFound("ward_not_found", id=ward_id)
                if city_slug and ward["city"] != city_slug:
                    city = await place_queries.city_by_slug(connection, city_slug)
                    if city is None or (
                        actor is not None and not actor.can_manage_city(city["id"])
                    ):
                        raise NotFound("unknown_city", city=city_slug)
                    raise InvalidInput([_ward_elsewhere(ward, city["name"])])
                city_id = int(ward["city_id"])
            elif city_slug:
                city = await place_queries.city_by_slug(connection, city_slug)
                if city is None:
                    raise NotFound("unknown_city", city=city_slug)
                city_id = int(city["id"])
            else:
                raise InvalidInput([Problem("city", "missing")])
            if role == "ward_leader" and ward_id is None:
                raise InvalidInput([Problem("ward_id", "missing")])
            if role in CITY_WIDE and ward_id is not None:
                raise InvalidInput([Problem("ward_id", "role_is_city_wide")])
            if actor is not None and not actor.can_manage_city(city_id):
                raise NotFound("unknown_city", city=city_slug or str(city_id))
        await _managed_user(connection, actor, user_id, lock=True)
        grant_id = await queries.insert_grant(connection, user_id, role, city_id, ward_id, actor_id)
        held = None
        if grant_id is None:  # held already: the grant they hold (a second request changes nothing)
            held = next(
                (
                    g["id"]
                    for g in await queries.grants_of(connection, user_id)
                    if (g["role"], g["city_id"], g["ward_id"]) == (role, city_id, ward_id)
                ),
                None,
            )
            if held is None:  # revoked meanwhile by another request: give it now
                grant_id = await queries.insert_grant(
                    connection, user_id, role, city_id, ward_id, actor_id
                )
        created = grant_id is not None
        if created:
            await _on_record(
                connection,
                actor,
                "role.grant",
                user_id,
                new={"role": role, "city_id": city_id, "ward_id": ward_id},
            )
        else:
            grant_id = held
    return {
        "id": grant_id,
        "role": role,
        "city_id": city_id,
        "ward_id": ward_id,
        "created": created,
    }


async def revoke_role(
    engine: AsyncEngine, auth: Authenticator, actor: Principal | None, user_id: int, grant_id: int
) -> None:
    """Take a role away (refused at once in this process, within seconds elsewhere)."""
    async with engine.begin() as connection:
        await _managed_user(connection, actor, user_id, lock=True)
        grants = {g["id"]: g for g in await queries.grants_of(connection, user_id)}
        grant = grants.get(grant_id)
        if grant is None:
            raise NotFound("grant_not_found", id=grant_id)
        if grant["role"] == "national_admin" and actor and not actor.is_national_admin:
            raise NotFound("grant_not_found", id=grant_id)
        if grant["city_id"] and actor and not actor.can_manage_city(grant["city_id"]):
            raise NotFound("grant_not_found", id=grant_id)
        await queries.delete_grant(connection, grant_id)
        await _on_record(
            connection,
            actor,
            "role.revoke",
            user_id,
            old={k: grant[k] for k in ("role", "city_id", "ward_id")},
        )
    auth.forget()  # roles live in the token cache: everyone re-reads theirs


async def list_people(engine: AsyncEngine, actor: Principal) -> list[dict[str, Any]]:
    """The people an admin manages, with their roles and phones."""
    cities = None if actor.is_national_admin else sorted(actor.cities_as("city_admin"))
    if cities == []:
        raise Forbidden("not_allowed")
    async with engine.connect() as connection:
        return await queries.list_users(connection, cities)


async def enrolment(
    engine: AsyncEngine,
    auth: Authenticator,
    actor: Principal | None,
    user_id: int,
    device_name: str,
) -> tuple[str, datetime]:
    """A one-time code to enrol a phone for a person: (code, expires_at). It cancels the
    person's codes not yet used: one live code a person.

    "Make a QR code" sent twice (a double tap, a retry after a lost answer) left two live
    codes, each enrolling a phone; the admin's page shows the last answer only. A code
    already used is left alone: its phone may still send it again within 15 minutes when the
    answer was lost (`Authenticator.enrol`). The code is made in the transaction that locks
    the person, so that two requests at once find each other's code.
    """
    device_name = (device_name or "").strip()[:80] or "phone"
    actor_id = _actor(actor)[0]
    async with engine.begin() as connection:
        await _managed_user(connection, actor, user_id, lock=True)
        await _cancel_enrolments(connection, actor, user_id, "new_code")
        await _on_record(
            connection,
            actor,
            "device.enrolment",
            user_id,
            new={"device_name": device_name},
        )
        return await auth.new_enrolment(connection, user_id, device_name, actor_id)


async def devices(engine: AsyncEngine, actor: Principal | None, user_id: int) -> list[Any]:
    """A person's enrolled phones."""
    async with engine.connect() as connection:
        await _managed_user(connection, actor, user_id)
        return await queries.devices_of(connection, user_id)


async def revoke_device(
    engine: AsyncEngine, auth: Authenticator, actor: Principal | None, token_id: uuid.UUID
) -> None:
    """Revoke an enrolled phone: its next request is a 401 (the outbox stays on the phone).
    The person's enrolment codes not yet used are cancelled too: one may be on the phone."""
    async with engine.connect() as connection:
        owner = await queries.token_owner(connection, token_id)
        if owner is None:
            raise NotFound("device_not_found", id=str(token_id))
        await _managed_user(connection, actor, owner)
    await auth.revoke(engine, token_id=token_id)
    async with engine.begin() as connection:
        await _on_record(
            connection,
            actor,
            "device.revoke",
            owner,
            old={"token_id": str(token_id)},
        )
        await _cancel_enrolments(connection, actor, owner, "device.revoke")
