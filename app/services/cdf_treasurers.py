"""Use case: CDF staff appoint and remove a savings group's treasurers (thủ quỹ).

A treasurer is a role grant on one group (`role_grants.cdf_group_id`, app.services.cdf_access);
staff of the group's city (or its admin, or a national admin) give and take it, and each
change is on record (audit_log). Roles live in the token cache: it is emptied at once here,
as when an admin changes a role (app.services.accounts).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import accounts as account_queries
from app.db import cdf_books as books
from app.errors import Forbidden, NotFound
from app.services import accounts
from app.services import cdf_access as cdf
from app.services.access import Principal
from app.services.auth import Authenticator
from app.services.cdf_books import group_for
from app.services.cdf_input import Reader


async def appoint(
    engine: AsyncEngine, auth: Authenticator, user: Principal, group_id: int, body: dict[str, Any]
) -> dict[str, Any]:
    """Make a person the treasurer of a group (idempotent)."""
    reader = Reader(body)
    person = reader.integer("user_id")
    reader.check()
    assert person is not None
    async with engine.begin() as connection:
        group = await group_for(connection, user, group_id)
        if not cdf.is_staff(user, group["city_id"]):
            raise Forbidden("not_allowed")
        # Staff of the city appoint its own people only: a person of another city (or a
        # national admin, or one whose surveys are elsewhere) made treasurer here would be
        # managed by this city's admin, who could set their password (found by review).
        if not (
            await books.user_exists(connection, person)
            if user.is_national_admin
            else await accounts.of_city_alone(connection, person, group["city_id"])
        ):
            raise NotFound("user_not_found", id=person)
        created = await books.grant_treasurer(
            connection, person, group["city_id"], group_id, user.user_id
        )
        if created:
            await account_queries.audit(
                connection,
                actor_id=user.user_id,
                actor=user.username,
                action="role.grant",
                entity="user",
                entity_id=str(person),
                new={"role": "treasurer", "city_id": group["city_id"], "cdf_group_id": group_id},
            )
        treasurers = await books.treasurers_of(connection, group_id)
    auth.forget()
    return {"outcome": "created" if created else "duplicate", "treasurers": treasurers}


async def remove(
    engine: AsyncEngine, auth: Authenticator, user: Principal, group_id: int, person: int
) -> None:
    """Take a group's treasurer role away from a person."""
    async with engine.begin() as connection:
        group = await group_for(connection, user, group_id)
        if not cdf.is_staff(user, group["city_id"]):
            raise Forbidden("not_allowed")
        if not await books.revoke_treasurer(connection, person, group_id):
            raise NotFound("user_not_found", id=person)
        await account_queries.audit(
            connection,
            actor_id=user.user_id,
            actor=user.username,
            action="role.revoke",
            entity="user",
            entity_id=str(person),
            old={"role": "treasurer", "city_id": group["city_id"], "cdf_group_id": group_id},
        )
    auth.forget()
