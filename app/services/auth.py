"""Use case: sign in, tokens, phone enrolment, sign out; who is behind a request.

Tokens are opaque random strings; the database keeps only their HMAC under the server's
secret key. Every request with a token costs one dictionary lookup: the person behind a token
is cached in the process for `cache_seconds` (10 s), so a revoked token or a disabled person
is refused everywhere within that time (at once in the process that revoked it, even by a
lookup under way then: app.services.revocable_cache), and the survey ingest path keeps its
speed.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import secrets
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.db import accounts as queries
from app.db.pool import StatementPool
from app.errors import TooManyRequests, Unauthorized
from app.services.access import Principal, grants_from_rows
from app.services.revocable_cache import RevocableCache

TokenKind = Literal["api", "session", "device"]
PASSWORDS = PasswordHasher()
# Verified against when the username is unknown, so that a wrong username and a wrong
# password take the same time.
_DUMMY_HASH = PASSWORDS.hash("not a password of anyone")
TOKEN_BYTES = 32
# argon2's threads (PasswordThreads): two checks at once use two cores (each spreads over its
# lanes too); more would only share the same cores and queue the rest of the process longer.
PASSWORD_THREADS = 2
# Checks waiting for those threads at most (a check takes ~0.1 s of CPU: 16 wait ~1 s). More
# are refused at once (429): 100 wrong sign-ins from 100 addresses queued a right one 9.5 s,
# and HTTP Basic on Collect, /ogc and /tiles waits in the same queue (review).
PASSWORD_QUEUE = 16


@dataclass(frozen=True)
class AuthPolicy:
    """Lifetimes and throttling, from settings."""

    api_token: timedelta = timedelta(hours=24)
    session: timedelta = timedelta(hours=12)
    device_token: timedelta = timedelta(days=30)
    enrolment: timedelta = timedelta(days=3)
    # A code used again this soon, its token never used, is a phone that lost the answer.
    enrolment_retry: timedelta = timedelta(minutes=15)
    failure_window: timedelta = timedelta(minutes=15)
    max_failures_per_account: int = 5
    max_failures_per_address: int = 30
    # An address the account signed in from this lately: only its own failures there count.
    known_address: timedelta = timedelta(days=60)
    cache_seconds: float = 10.0
    # The demo accounts (users.is_demo, password `demo`, made by `load-sample`) sign in only
    # on a server in demo mode: a sample loaded on a real server "for a trial" opens nothing.
    demo_accounts: bool = False

    def lifetime(self, kind: TokenKind) -> timedelta:
        """How long a token of this kind lives."""
        return {"api": self.api_token, "session": self.session, "device": self.device_token}[kind]


@dataclass(frozen=True)
class IssuedToken:
    """A token as its holder receives it (the only time it exists in clear)."""

    token: str
    token_id: uuid.UUID
    kind: TokenKind
    expires_at: datetime
    user_id: int

    @property
    def expires_in(self) -> int:
        """Seconds until it expires."""
        return max(0, int((self.expires_at - datetime.now(UTC)).total_seconds()))


def hash_password(password: str) -> str:
    """An argon2id hash of a password."""
    return PASSWORDS.hash(password)


def check_password(password_hash: str | None, password: str) -> bool:
    """Whether the password matches (constant work when there is no hash)."""
    try:
        return PASSWORDS.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


class PasswordThreads:
    """argon2 on threads of its own, away from the event loop and from the default thread
    pool. Each check takes tens to hundreds of milliseconds of CPU: on the default pool a
    burst of sign-ins (wrong ones too, each checked) queued every photo write and file read
    of the process behind it, and those held sign-ins up in turn. Here a burst waits for at
    most PASSWORD_THREADS threads, and only for itself."""

    def __init__(self, threads: int = PASSWORD_THREADS, queue: int = PASSWORD_QUEUE) -> None:
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="argon2")
        self._room = threads + queue
        self._busy = 0  # checks and hashes running or waiting for a thread

    def full(self) -> bool:
        """Whether a check asked now would be refused."""
        return self._busy >= self._room

    async def _run(self, work: Callable[..., Any], *args: Any) -> Any:
        if self.full():
            raise TooManyRequests("sign_in_busy", retry_after=5)
        self._busy += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, work, *args)
        finally:
            self._busy -= 1

    async def check(self, password_hash: str | None, password: str) -> bool:
        """check_password on an argon2 thread (TooManyRequests when too many wait)."""
        return bool(await self._run(check_password, password_hash, password))

    async def hash(self, password: str) -> str:
        """hash_password on an argon2 thread (TooManyRequests when too many wait)."""
        return str(await self._run(hash_password, password))

    def close(self) -> None:
        """Stop the threads (the app's stop): the checks running end, those queued are
        dropped (their requests have been answered or closed by then)."""
        self._executor.shutdown(wait=True, cancel_futures=True)


def may_sign_in(user: dict[str, Any] | None, policy: AuthPolicy) -> bool:
    """Whether an account may sign in at all: active, and a demo account only in demo mode."""
    return bool(user and user["is_active"] and (policy.demo_accounts or not user["is_demo"]))


def throttled_address(address: str) -> str:
    """The address sign-in failures are counted by: an IPv6 address by its /64 (one network,
    one household or one attacker, holds all of a /64: each of its addresses counted alone
    gave it 2^64 times the attempts), an IPv4 one (or one mapped into IPv6) as itself."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


async def check_sign_in(
    engine: AsyncEngine,
    policy: AuthPolicy,
    passwords: PasswordThreads,
    username: str,
    password: str,
    address: str,
) -> dict[str, Any]:
    """The account of a username and password: the one check behind every password sign-in
    (the token endpoint and /login, HTTP Basic on /ogc and /tiles, ODK Collect's Basic).

    Raises Unauthorized for a wrong pair, the same for an unknown username, a disabled account
    or a demo account outside demo mode (each costs the same argon2 verification), and
    TooManyRequests when the account or the address failed too often lately. The attempt is
    counted as a failure before the password is checked (app.db.accounts.count_attempt), so
    parallel guesses cannot all be checked before any is counted; a right password clears
    the account's failures, this attempt's included. argon2 takes tens of milliseconds of
    CPU or more: it runs on `passwords`' threads, away from the event loop and the other work.
    """
    username = username.strip().lower()[:64]
    if "\x00" in username or "\x00" in password:
        # No account has one, and PostgreSQL takes no NUL in a text (it was a 500).
        raise Unauthorized("bad_credentials")
    if passwords.full():  # refused before it counts as a failure of the account
        raise TooManyRequests("sign_in_busy", retry_after=5)
    address = throttled_address(address)
    now = datetime.now(UTC)
    async with engine.begin() as connection:
        counted = await queries.count_attempt(
            connection,
            username,
            address,
            now - policy.failure_window,
            policy.max_failures_per_account,
            policy.max_failures_per_address,
            now - timedelta(days=1),
            now - policy.known_address,
        )
        user = await queries.user_by_username(connection, username) if counted else None
    if not counted:
        window = int(policy.failure_window.total_seconds())
        raise TooManyRequests("too_many_sign_ins", retry_after=window, minutes=max(1, window // 60))
    stored_hash = user["password_hash"] if user and may_sign_in(user, policy) else None
    if not await passwords.check(stored_hash, password):
        raise Unauthorized("bad_credentials")  # the attempt stays on record as a failure
    assert user is not None and stored_hash is not None
    new_hash = None
    if PASSWORDS.check_needs_rehash(stored_hash):
        new_hash = await passwords.hash(password)
    async with engine.begin() as connection:
        await queries.clear_failures(connection, username)
        await queries.note_known_address(connection, username, address, now - policy.known_address)
        if new_hash is not None:
            await queries.update_user(connection, user["id"], password_hash=new_hash)
    return user


class Authenticator:
    """Tokens: issue, resolve (cached), revoke. One per app, holding the secret key."""

    def __init__(self, pool: StatementPool, secret: bytes, policy: AuthPolicy) -> None:
        self.pool = pool
        self.policy = policy
        self._secret = secret
        # token -> (person or None, last noted use, the token's HMAC)
        self._cache: RevocableCache[str, tuple[Principal | None, float, bytes]] = RevocableCache(
            policy.cache_seconds, 20_000
        )
        # Other caches of who may do what (ODK Collect's credentials), dropped with this one.
        self._forget_hooks: list[Callable[[], None]] = []
        # Password checks running, by a keyed hash of username and password (check_sign_in).
        self._checks: dict[bytes, asyncio.Future[dict[str, Any]]] = {}
        self.passwords = PasswordThreads()

    def close(self) -> None:
        """Stop argon2's threads (the app's stop)."""
        self.passwords.close()

    def token_hash(self, token: str) -> bytes:
        """The HMAC under which a token is stored."""
        return hmac.new(self._secret, token.encode(), hashlib.sha256).digest()

    def csrf_token(self, token_id: str) -> str:
        """The CSRF token of a session: derived, so nothing more is stored."""
        return hmac.new(self._secret, b"csrf:" + token_id.encode(), hashlib.sha256).hexdigest()

    async def principal(self, token: str, *, first_use: bool = True) -> Principal | None:
        """The person behind a live token, or None.

        The cache is keyed by the token itself (it lives only in this process's memory, as
        the request that carries it does): a hit costs one dictionary lookup, no HMAC.
        `first_use=False` reads the person of a token just made without counting it used
        (nor caching it): its answer may be lost, and the code that made it tried again.
        """
        if not first_use:
            row = await queries.principal_by_token(
                self.pool, self.token_hash(token), self.policy.demo_accounts
            )
            return None if row is None else _principal_from(row)
        if not token or len(token) > 200:
            return None
        cached = self._cache.get(token)
        if cached is not None:
            return cached[0]
        lookup = self._cache.begin()
        previous = self._cache.peek(token)
        key = self.token_hash(token)
        row = await queries.principal_by_token(self.pool, key, self.policy.demo_accounts)
        principal = None
        if row is not None:
            principal = _principal_from(row)
            last_touch = previous[1] if previous is not None else 0.0
            if lookup.started - last_touch > 60:
                await queries.touch_token(self.pool, row["token_id"])
                last_touch = lookup.started
        else:
            last_touch = 0.0
        # Not kept when a revoke came meanwhile: this answer may be from before it.
        self._cache.put(token, (principal, last_touch, key), lookup)
        return principal

    def on_forget(self, hook: Callable[[], None]) -> None:
        """Call `hook` whenever tokens are forgotten: a cache of its own (Collect's people,
        passwords and phone tokens) must not outlive a revoked token, a disabled person or a
        changed password or role."""
        self._forget_hooks.append(hook)

    def forget(self, hashes: list[bytes] | None = None) -> None:
        """Drop tokens (all when None) from this process's cache: revoked now, refused now."""
        # A password check under way may have read the person before this change: it answers
        # the requests that wait for it, but no later one shares it (check_sign_in).
        self._checks.clear()
        for hook in self._forget_hooks:
            hook()
        if hashes is None:
            self._cache.forget()
            return
        gone = set(hashes)
        self._cache.forget(lambda entry: entry[2] in gone)

    async def issue(
        self, engine: AsyncEngine, user_id: int, kind: TokenKind, name: str | None = None
    ) -> IssuedToken:
        """A new token for a person."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        expires_at = datetime.now(UTC) + self.policy.lifetime(kind)
        async with engine.begin() as connection:
            token_id = await queries.insert_token(
                connection, user_id, kind, self.token_hash(token), expires_at, name
            )
        return IssuedToken(token, token_id, kind, expires_at, user_id)

    async def check_sign_in(
        self, engine: AsyncEngine, username: str, password: str, address: str
    ) -> dict[str, Any]:
        """check_sign_in, run once for the same username and password asked at once in this
        process: each attempt is counted before its check, and a GIS client's first eight
        parallel requests (or Collect's) with the right password would otherwise have spent
        the account's five and been refused. The waiters share the first one's answer."""
        pair = f"sign-in:{username.strip().lower()[:64]}\x00{password}"
        key = hmac.new(self._secret, pair.encode("utf-8", "surrogatepass"), "sha256").digest()
        running = self._checks.get(key)
        if running is None or running.done():
            running = asyncio.ensure_future(
                check_sign_in(engine, self.policy, self.passwords, username, password, address)
            )
            self._checks[key] = running
            running.add_done_callback(lambda done: self._check_done(key, done))
        # Shielded: a client that hangs up does not cancel the check others wait for.
        return await asyncio.shield(running)

    def _check_done(self, key: bytes, done: asyncio.Future[dict[str, Any]]) -> None:
        if self._checks.get(key) is done:
            del self._checks[key]
        if not done.cancelled():
            done.exception()  # retrieved: no "exception was never retrieved" when all left

    async def sign_in(
        self,
        engine: AsyncEngine,
        username: str,
        password: str,
        address: str,
        kind: TokenKind = "api",
        name: str | None = None,
    ) -> IssuedToken:
        """Check a username and password (check_sign_in: throttled per account and address);
        a new token.

        Raises Unauthorized for a wrong pair (the same answer for an unknown username) and
        TooManyRequests when the account or the address failed too often lately.
        """
        user = await self.check_sign_in(engine, username, password, address)
        return await self.issue(engine, user["id"], kind, name)

    async def revoke(
        self,
        engine: AsyncEngine,
        *,
        token_id: uuid.UUID | None = None,
        user_id: int | None = None,
        kind: str | None = None,
    ) -> int:
        """Revoke a token or a person's tokens; refused at once here, within the cache time
        in other processes. How many were live."""
        async with engine.begin() as connection:
            hashes = await queries.revoke_tokens(
                connection, token_id=token_id, user_id=user_id, kind=kind
            )
        self.forget(hashes)
        return len(hashes)

    async def new_enrolment(
        self,
        connection: AsyncConnection,
        user_id: int,
        device_name: str,
        created_by: int | None,
    ) -> tuple[str, datetime]:
        """A one-time code that enrols one phone for a person: (code, expires_at). Stored in
        the caller's transaction (the one that cancelled the person's codes before it)."""
        code = secrets.token_urlsafe(24)
        expires_at = datetime.now(UTC) + self.policy.enrolment
        await queries.insert_enrolment(
            connection, user_id, self.token_hash(code), device_name, created_by, expires_at
        )
        return code, expires_at

    async def enrol(self, engine: AsyncEngine, code: str) -> IssuedToken:
        """Turn a one-time code into the phone's own device token (Unauthorized if used,
        expired or unknown). The same code sent again soon after, its token never used
        (the phone's "Thử lại" after a lost answer), gets a new token, the first revoked."""
        if not code or len(code) > 200:
            raise Unauthorized("bad_enrolment")
        token = secrets.token_urlsafe(TOKEN_BYTES)
        expires_at = datetime.now(UTC) + self.policy.device_token
        code_hash, demo = self.token_hash(code), self.policy.demo_accounts
        async with engine.begin() as connection:
            enrolment = await queries.claim_enrolment(connection, code_hash, demo)
            if enrolment is None:
                enrolment = await queries.reclaim_enrolment(
                    connection, code_hash, demo, self.policy.enrolment_retry
                )
            if enrolment is None:
                raise Unauthorized("bad_enrolment")
            token_id = await queries.insert_token(
                connection,
                enrolment["user_id"],
                "device",
                self.token_hash(token),
                expires_at,
                enrolment["device_name"],
            )
            await queries.link_enrolment(connection, enrolment["id"], token_id)
        if "token_hash" in enrolment:  # the lost token, revoked: no cache keeps it
            self.forget([enrolment["token_hash"]])
        return IssuedToken(token, token_id, "device", expires_at, enrolment["user_id"])


def _principal_from(row: dict[str, Any]) -> Principal:
    return Principal(
        user_id=row["user_id"],
        username=row["username"],
        display_name=row["display_name"],
        grants=grants_from_rows(row["grants"]),
        token_id=row["token_id"],
        token_kind=row["kind"],
    )


PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "change_me", "secret", "placeholder", "please-change-me"}
)
MIN_SECRET_LENGTH = 32


def secret_problem(secret: str | None) -> str | None:
    """Why a secret key is unfit to run outside demo mode, or None when it is fine."""
    if secret is None or not secret.strip():
        return "SECRET_KEY is not set"
    if secret.strip().lower() in PLACEHOLDER_SECRETS or "change" in secret.lower():
        return "SECRET_KEY is a placeholder"
    if len(secret) < MIN_SECRET_LENGTH:
        return f"SECRET_KEY is shorter than {MIN_SECRET_LENGTH} characters"
    return None


def me(principal: Principal) -> dict[str, Any]:
    """The person and their roles, as GET /api/v1/me answers."""
    return principal.as_dict()
