"""A revoke that lands while a token's lookup is under way: the lookup read the token live
before the revoke, and ends after the revoke emptied the token cache. It answers the request
that asked (that request began before the revoke), but must not be remembered: it was, and
the revoked token kept working for the cache's 10 s (sign out, a phone revoked, a person
disabled, a new password).

The interleaving is forced, not hoped for: the lookup runs on a real statement pool on the
test database whose next statement, once PostgreSQL has answered it, waits for the revoke.
"""

from __future__ import annotations

import asyncio
import base64
import os
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.engine import SERVER_SETTINGS, make_engine
from app.db.pool import StatementPool
from app.services import accounts
from app.services.access import Principal
from app.services.auth import Authenticator, AuthPolicy
from app.services.odk_auth import OdkAuthenticator
from app.settings import Settings
from tests.aio import run
from tests.auth import make_token, make_user, token_hash


class HeldPool(StatementPool):
    """A real pool whose next statement, once answered, waits until `release` is set: the
    time between PostgreSQL's answer and the lookup's use of it, where a revoke can land."""

    def __init__(self, dsn: str) -> None:
        super().__init__(dsn, 2, dict(SERVER_SETTINGS))
        self.hold = False
        self.answered = asyncio.Event()
        self.release = asyncio.Event()

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        records = await super().fetch(sql, *args)
        if self.hold:
            self.hold = False
            self.answered.set()
            await self.release.wait()
        return records


Revoke = Callable[[AsyncEngine, Authenticator, int, uuid.UUID], Awaitable[object]]


async def sign_out(engine: AsyncEngine, auth: Authenticator, _user: int, token: uuid.UUID) -> None:
    await auth.revoke(engine, token_id=token)


async def phone_revoked(
    engine: AsyncEngine, auth: Authenticator, _user: int, token: uuid.UUID
) -> None:
    await accounts.revoke_device(engine, auth, None, token)


async def disabled(engine: AsyncEngine, auth: Authenticator, user: int, _token: uuid.UUID) -> None:
    await accounts.update_user(engine, auth, None, user, is_active=False)


async def new_password(
    engine: AsyncEngine, auth: Authenticator, user: int, _token: uuid.UUID
) -> None:
    await accounts.update_user(engine, auth, None, user, password="a new password 2026")


async def lookup_across_a_revoke(
    settings: Settings, token: str, user_id: int, token_id: uuid.UUID, revoke: Revoke
) -> tuple[Principal | None, Principal | None]:
    """The person the lookup under way answers, and the one the next request gets."""
    pool = HeldPool(settings.libpq_database_url)
    engine = make_engine(settings.async_database_url, 2, 0)
    auth = Authenticator(pool, os.environ["SECRET_KEY"].encode(), AuthPolicy())
    try:
        pool.hold = True
        lookup = asyncio.ensure_future(auth.principal(token))
        await asyncio.wait_for(pool.answered.wait(), 30)  # PostgreSQL said: live
        await revoke(engine, auth, user_id, token_id)
        pool.release.set()
        under_way = await asyncio.wait_for(lookup, 30)
        return under_way, await auth.principal(token)
    finally:
        await pool.close()
        await engine.dispose()


@pytest.mark.parametrize(
    ("kind", "revoke"),
    [("api", sign_out), ("device", phone_revoked), ("api", disabled), ("api", new_password)],
    ids=["sign-out", "phone-revoked", "person-disabled", "password-changed"],
)
def test_a_token_revoked_during_its_lookup_is_refused_right_after(
    settings: Settings, sync_engine: Engine, kind: str, revoke: Revoke
) -> None:
    user_id = make_user(sync_engine, "revoke-race", [("volunteer", ("ward", "W03"))])
    token = make_token(sync_engine, user_id, kind=kind)
    with sync_engine.connect() as connection:
        token_id = connection.execute(
            text("SELECT id FROM auth_tokens WHERE token_hash = :h"), {"h": token_hash(token)}
        ).scalar_one()
    under_way, next_request = run(
        lookup_across_a_revoke(settings, token, user_id, token_id, revoke)
    )
    assert under_way is not None and under_way.user_id == user_id  # it began before
    assert next_request is None


async def collect_across_a_revoke(
    settings: Settings, user_id: int
) -> tuple[Principal | None, Principal | None]:
    """ODK Collect's Basic with a phone token: the answer of the request whose lookup of the
    person (and their phone tokens) a revoke of that phone overtook, and the next one's."""
    pool = HeldPool(settings.libpq_database_url)
    engine = make_engine(settings.async_database_url, 2, 0)
    auth = Authenticator(pool, os.environ["SECRET_KEY"].encode(), AuthPolicy())
    collect = OdkAuthenticator(auth, engine)
    try:
        token, token_id, _ = await collect.issue_phone_token(user_id, "Collect")
        header = base64.b64encode(f"revoke-race-odk:{token}".encode()).decode()
        pool.hold = True
        request = asyncio.ensure_future(collect.basic(header, "127.0.0.1"))
        await asyncio.wait_for(pool.answered.wait(), 30)  # PostgreSQL listed the phone
        await accounts.revoke_device(engine, auth, None, token_id)
        pool.release.set()
        under_way = await asyncio.wait_for(request, 30)
        return under_way, await collect.basic(header, "127.0.0.1")
    finally:
        await pool.close()
        await engine.dispose()


def test_a_collect_phone_revoked_during_its_lookup_is_refused_right_after(
    settings: Settings, sync_engine: Engine
) -> None:
    user_id = make_user(sync_engine, "revoke-race-odk", [("volunteer", ("ward", "W03"))])
    try:
        under_way, next_request = run(collect_across_a_revoke(settings, user_id))
    finally:
        with sync_engine.begin() as connection:
            connection.execute(
                text("DELETE FROM sign_in_failures WHERE username = 'revoke-race-odk'")
            )
    assert under_way is not None and under_way.user_id == user_id
    assert next_request is None
