"""Use case: HTTP Basic sign-in for GIS clients (QGIS, GDAL) on /ogc and /tiles.

QGIS and GDAL can send a bearer token header, but most people set a username and password
in QGIS's authentication (`GDAL_HTTP_AUTH=BASIC`, `GDAL_HTTP_USERPWD=user:password`). Such a
client sends the password with every request, and a layer of 100,000 households is 10 or
more requests: checking the argon2 hash each time would cost ~50 ms of CPU per request. So a
checked pair is remembered in this process for the token cache's time (10 s), keyed by a
keyed hash (never the password itself), like the token cache of app.services.auth. Like
that cache it is dropped whenever the process revokes anything (Authenticator.on_forget): a
disabled person, a new password or a role taken away is refused at once in the process that
made the change, and within that time in other server processes. Wrong passwords count as
failed sign-ins, throttled per account and per address like the sign-in form.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import accounts as queries
from app.errors import Unauthorized
from app.services.access import Principal, grants_from_rows
from app.services.auth import Authenticator, check_password, refuse_when_throttled

CACHE_SIZE = 2_000


class BasicSignIn:
    """Username and password pairs to people, checked once per `cache_seconds`."""

    def __init__(self, auth: Authenticator) -> None:
        self.policy = auth.policy
        self.cache_seconds = auth.policy.cache_seconds
        self._key = secrets.token_bytes(
            32
        )  # this process's own: the cache keys mean nothing outside
        self._cache: OrderedDict[bytes, tuple[float, Principal]] = OrderedDict()
        # Moved by every forget: a check that read the person before a revoke and ends after
        # it answers its request, but is not remembered (it would outlive the revoke).
        self._generation = 0
        auth.on_forget(self.forget)

    def forget(self) -> None:
        """Drop every remembered pair (a token revoked, a person disabled, a password or a
        role changed in this process: Authenticator.forget calls it)."""
        self._cache.clear()
        self._generation += 1

    def _cache_key(self, username: str, password: str) -> bytes:
        pair = username.encode() + b"\x00" + password.encode("utf-8", "surrogatepass")
        return hashlib.blake2b(pair, key=self._key, digest_size=32).digest()

    async def principal(
        self, engine: AsyncEngine, username: str, password: str, address: str
    ) -> Principal:
        """The person with this username and password, or Unauthorized (TooManyRequests
        after too many failures lately)."""
        username = username.strip().lower()[:64]
        key = self._cache_key(username, password)
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        generation = self._generation
        moment = datetime.now(UTC)
        since = moment - self.policy.failure_window
        async with engine.begin() as connection:
            by_account = await refuse_when_throttled(
                connection, self.policy, username, address, since
            )
            user = await queries.user_by_username(connection, username)
            grants = await queries.grants_of(connection, user["id"]) if user else []
        stored_hash = user["password_hash"] if user and user["is_active"] else None
        # argon2 takes tens of milliseconds of CPU: in a thread, away from the event loop.
        if not await asyncio.to_thread(check_password, stored_hash, password):
            async with engine.begin() as connection:
                await queries.record_failure(
                    connection, username, address, moment - timedelta(days=1)
                )
            raise Unauthorized("bad_credentials")
        assert user is not None
        if by_account:
            async with engine.begin() as connection:
                await queries.clear_failures(connection, username)
        principal = Principal(
            user_id=user["id"],
            username=user["username"],
            display_name=user["display_name"],
            grants=grants_from_rows(grants),
            token_kind="basic",
        )
        if generation == self._generation:
            self._cache[key] = (now + self.cache_seconds, principal)
            self._cache.move_to_end(key)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return principal
