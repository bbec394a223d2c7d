"""Use case: HTTP Basic sign-in for GIS clients (QGIS, GDAL) on /ogc and /tiles.

QGIS and GDAL can send a bearer token header, but most people set a username and password
in QGIS's authentication (`GDAL_HTTP_AUTH=BASIC`, `GDAL_HTTP_USERPWD=user:password`). Such a
client sends the password with every request, and a layer of 100,000 households is 10 or
more requests: checking the argon2 hash each time would cost ~50 ms of CPU per request. So a
checked pair is remembered in this process for the token cache's time (10 s), keyed by a
keyed hash (never the password itself), like the token cache of app.services.auth. Like
that cache it is dropped whenever the process revokes anything (Authenticator.on_forget): a
disabled person, a new password or a role taken away is refused at once in the process that
made the change (even by a check under way then: app.services.revocable_cache), and within
that time in other server processes. The pair is checked as the sign-in form checks it
(Authenticator.check_sign_in): wrong passwords count as failed sign-ins, throttled per
account and per address, and a demo account signs in only in demo mode.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import accounts as queries
from app.services.access import Principal, grants_from_rows
from app.services.auth import Authenticator
from app.services.revocable_cache import RevocableCache

CACHE_SIZE = 2_000


class BasicSignIn:
    """Username and password pairs to people, checked once per `cache_seconds`."""

    def __init__(self, auth: Authenticator) -> None:
        self.auth = auth
        # This process's own: the cache keys mean nothing outside.
        self._key = secrets.token_bytes(32)
        self._cache: RevocableCache[bytes, Principal] = RevocableCache(
            auth.policy.cache_seconds, CACHE_SIZE
        )
        auth.on_forget(self.forget)

    def forget(self) -> None:
        """Drop every remembered pair (a token revoked, a person disabled, a password or a
        role changed in this process: Authenticator.forget calls it)."""
        self._cache.forget()

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
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        lookup = self._cache.begin()
        user = await self.auth.check_sign_in(engine, username, password, address)
        async with engine.connect() as connection:
            grants = await queries.grants_of(connection, user["id"])
        principal = Principal(
            user_id=user["id"],
            username=user["username"],
            display_name=user["display_name"],
            grants=grants_from_rows(grants),
            token_kind="basic",
        )
        # A check that read the person before a revoke and ends after it answers its request,
        # but is not remembered (it would outlive the revoke).
        self._cache.put(key, principal, lookup)
        return principal
