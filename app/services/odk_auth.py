"""Who is behind an ODK Collect request: a phone token in the URL, HTTP Digest, HTTP Basic.

Collect answers a 401 only with a scheme it knows: Digest (RFC 7616 with MD5 and qop=auth)
always, Basic only over HTTPS. Digest needs HA1 = MD5(username:realm:password) on the server,
which an argon2 password hash cannot give, and keeping an HA1 beside every password would be
a second, weaker password store. So the Digest password is a *phone token*: made for one
phone by an admin (app/services/odk.py), revocable like every enrolled phone, and computed
from its own id as an HMAC under the server's secret key. The database keeps only the token's
HMAC, as for every other token, and the server can still work out each HA1. Basic takes the
account's password (checked as sign-in checks it: argon2, throttled, the same work for a name
no account has) or a phone token.

Nonces are stateless (a time and its HMAC), live `NONCE_SECONDS`, and a stale one is answered
with `stale=true` so that Collect retries without asking for the password again. An answer
(nonce, nc, cnonce) is taken once by all the server's processes together: the first to take
it inserts its hash in the database (`odk_digest_answers`, one statement per Digest request,
which also purges the expired answers about once a minute per process). Kept per process, a
captured header was taken again once by each other uvicorn worker while its nonce was fresh.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import odk as queries
from app.errors import TooManyRequests, Unauthorized
from app.services.access import Principal, grants_from_rows
from app.services.auth import Authenticator
from app.services.revocable_cache import RevocableCache

REALM = "CDF map"
NONCE_SECONDS = 600
# A taken answer is kept this long after its nonce expires: the database's clock and a
# server's may differ a little, and a row purged early would let the answer in again.
ANSWER_MARGIN_SECONDS = 120
# How often a process has the expired answers purged (with the answer it takes then).
PURGE_SECONDS = 60
PHONE_TOKEN_DAYS = 365
_PARAM = re.compile(r'([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))')
MAX_HEADER = 2000


def _same(given: str, expected: str) -> bool:
    """A constant-time comparison of two texts (any characters a client may send)."""
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))


def md5_hex(text: str) -> str:
    """MD5 of UTF-8 text, as hex (what Digest's MD5 algorithm hashes)."""
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def digest_fields(header: str) -> dict[str, str]:
    """The parameters of a `Digest ...` Authorization header (quoted or not)."""
    found: dict[str, str] = {}
    for match in _PARAM.finditer(header[:MAX_HEADER]):
        value = match.group(2) if match.group(2) is not None else match.group(3)
        found[match.group(1).lower()] = re.sub(r"\\(.)", r"\1", value or "")
    return found


@dataclass(frozen=True)
class PhoneToken:
    """A person's Collect phone token, and whether this setup made it."""

    token: str
    token_id: uuid.UUID
    expires_at: datetime
    created: bool


@dataclass
class _Person:
    principal: Principal | None
    tokens: tuple[str, ...]  # the person's live phone tokens, in clear (derived, never stored)


class OdkAuthenticator:
    """Checks Collect's credentials; one per app, beside the app's Authenticator."""

    def __init__(self, auth: Authenticator, engine: AsyncEngine) -> None:
        self.auth = auth
        self.engine = engine
        # Forgotten with the token cache, and a lookup under way then is not kept
        # (app.services.revocable_cache): a phone token revoked during it stays revoked.
        seconds = auth.policy.cache_seconds
        self._people: RevocableCache[str, _Person] = RevocableCache(seconds, 10_000)
        self._passwords: RevocableCache[bytes, Principal] = RevocableCache(seconds, 10_000)
        self._purged_at: float | None = None  # time.monotonic() of this process's last purge
        auth.on_forget(self.forget)  # a revoke, a disabled person, a new password or role

    # --- phone tokens -------------------------------------------------------------------

    def phone_token(self, token_id: uuid.UUID) -> str:
        """The phone token of a token id: an HMAC under the server's key, so that it need
        not be stored to check a Digest answer."""
        mac = self.auth.token_hash(f"odk-phone:{token_id}")
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    async def issue_phone_token(
        self, user_id: int, name: str, now: datetime | None = None
    ) -> tuple[str, uuid.UUID, datetime]:
        """The person's phone token (see `setup_phone_token`): (token, its id, expires_at)."""
        issued = await self.setup_phone_token(user_id, name, now)
        return issued.token, issued.token_id, issued.expires_at

    async def setup_phone_token(
        self, user_id: int, name: str, now: datetime | None = None
    ) -> PhoneToken:
        """The person's Collect phone token: their live one when they have one (its year
        counted again from now), else a new one named `name`.

        Never a second live one: a phone set up before keeps working, and the latest QR code
        carries the very token it does (a phone token is bound to the person, not to a
        phone: it is computed from its id, so it can be given again). Two setups at once
        wait for each other (the person's setup lock), and find the same token. A QR code
        that must stop working (a lost phone, a code seen by others) is revoked first, and
        the next setup makes a new token."""
        expires_at = (now or datetime.now(UTC)) + timedelta(days=PHONE_TOKEN_DAYS)
        async with self.engine.begin() as connection:
            for row in await queries.live_device_tokens(connection, user_id):
                token = self.phone_token(row["id"])
                # Only the tokens made as phone tokens: an enrolled web phone's is random.
                if hmac.compare_digest(self.auth.token_hash(token), row["token_hash"]):
                    await queries.renew_token(connection, row["id"], expires_at)
                    return PhoneToken(
                        token, row["id"], max(expires_at, row["expires_at"]), created=False
                    )
            token_id = uuid.uuid4()
            token = self.phone_token(token_id)
            await queries.insert_phone_token(
                connection, token_id, user_id, self.auth.token_hash(token), expires_at, name
            )
        return PhoneToken(token, token_id, expires_at, created=True)

    async def from_url_token(self, token: str) -> Principal | None:
        """The person behind a token in the URL (`/odk/key/{token}/...`)."""
        return await self.auth.principal(token)

    async def _person(self, username: str) -> _Person:
        if "\x00" in username:  # no account has one, and PostgreSQL takes no NUL in a text
            return _Person(None, ())
        cached = self._people.get(username)
        if cached is not None:
            return cached
        lookup = self._people.begin()
        row = await queries.digest_user(self.auth.pool, username, self.auth.policy.demo_accounts)
        person = _Person(None, ())
        if row is not None:
            person.principal = Principal(
                user_id=row["user_id"],
                username=row["username"],
                display_name=row["display_name"],
                grants=grants_from_rows(row["grants"]),
                token_kind="odk",
            )
            tokens = []
            for token_id, stored_hash in row["tokens"]:
                token = self.phone_token(token_id)
                # Only the tokens made as phone tokens: an enrolled web phone's is random.
                if hmac.compare_digest(self.auth.token_hash(token), stored_hash):
                    tokens.append(token)
            person.tokens = tuple(tokens)
        self._people.put(username, person, lookup)
        return person

    def forget(self) -> None:
        """Drop cached people and passwords (a token revoked, a person disabled, a password
        or a role changed in this process: Authenticator.forget calls it)."""
        self._people.forget()
        self._passwords.forget()

    # --- Digest -------------------------------------------------------------------------

    def nonce(self, now: float | None = None) -> str:
        """A fresh nonce: the time and its HMAC."""
        stamp = format(int(now if now is not None else time.time()), "x")
        return f"{stamp}.{self.auth.token_hash('odk-nonce:' + stamp).hex()[:32]}"

    def nonce_issued(self, nonce: str) -> int | None:
        """When a nonce of ours was made (Unix seconds), None for one we never made."""
        stamp, _, mac = nonce.partition(".")
        expected = self.auth.token_hash("odk-nonce:" + stamp).hex()[:32]
        if not stamp or len(stamp) > 16 or not _same(mac, expected):
            return None
        try:
            return int(stamp, 16)
        except ValueError:
            return None

    def nonce_state(self, nonce: str, now: float | None = None) -> str:
        """`fresh`, `stale` (ours, but too old) or `bad` (not ours)."""
        issued = self.nonce_issued(nonce)
        if issued is None:
            return "bad"
        age = (now if now is not None else time.time()) - issued
        return "fresh" if -60 <= age <= NONCE_SECONDS else "stale"

    async def take_answer(self, nonce: str, nc: str, cnonce: str) -> bool:
        """Whether a Digest answer to a fresh nonce of ours is taken now for the first time by
        any of the server's processes (False: a replay). One statement; about once a minute
        it also purges the answers whose nonce has expired."""
        issued = self.nonce_issued(nonce) or 0
        expires_at = datetime.fromtimestamp(issued + NONCE_SECONDS + ANSWER_MARGIN_SECONDS, UTC)
        # A hash: a fixed-size key whatever a client sends (NULs, 2000 characters). The
        # nonce has no ":", and nc's length keeps ("1:2", "3") apart from ("1", "2:3").
        answer = hashlib.sha256(
            f"{nonce}:{len(nc)}:{nc}:{cnonce}".encode("utf-8", "surrogatepass")
        ).digest()
        clock = time.monotonic()
        purge = self._purged_at is None or clock - self._purged_at >= PURGE_SECONDS
        if purge:
            self._purged_at = clock  # before the await: one purge at a time per process
        return await queries.take_digest_answer(self.auth.pool, answer, expires_at, purge)

    def challenges(self, basic: bool, stale: bool = False) -> list[str]:
        """WWW-Authenticate values of a 401: Digest always, Basic when it is allowed."""
        digest = (
            f'Digest realm="{REALM}", qop="auth", algorithm=MD5, nonce="{self.nonce()}", '
            f'opaque="{md5_hex(REALM)}"'
        )
        if stale:
            digest += ", stale=true"
        return [digest, f'Basic realm="{REALM}", charset="UTF-8"'] if basic else [digest]

    async def digest(self, header: str, method: str, path: str) -> Principal | str | None:
        """The person a Digest answer proves, `stale` when its nonce has expired, else None."""
        fields = digest_fields(header)
        # Collect hashes the name as typed ("Lan" from a keyboard's capital): the account is
        # found by its lower-case name, the answer checked with the name as sent.
        sent_name = fields.get("username", "")
        username = sent_name.strip().lower()[:64]
        nonce = fields.get("nonce", "")
        uri = fields.get("uri", "")
        response = fields.get("response", "").lower()
        qop = fields.get("qop", "")
        nc = fields.get("nc", "")
        cnonce = fields.get("cnonce", "")
        if not (username and nonce and response and qop == "auth" and nc and cnonce):
            return None
        if fields.get("realm", REALM) != REALM or fields.get("algorithm", "MD5").upper() != "MD5":
            return None
        # The answer is for this request's path (its query aside: Collect adds ?deviceID=),
        # which Collect writes as it requested it: percent-encoded (a media file's name in
        # Vietnamese), where `path` is decoded.
        if unquote(uri.split("?", 1)[0]) != path:
            return None
        state = self.nonce_state(nonce)
        if state == "bad":
            return None
        person = await self._person(username)
        if person.principal is None or not person.tokens:
            return None
        ha2 = md5_hex(f"{method}:{uri}")
        for token in person.tokens:
            ha1 = md5_hex(f"{sent_name}:{REALM}:{token}")
            expected = md5_hex(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
            if _same(expected, response):
                if state == "stale":
                    return "stale"
                if not await self.take_answer(nonce, nc, cnonce):
                    return None  # a replayed answer, here or in another process
                return person.principal
        return None

    # --- Basic --------------------------------------------------------------------------

    async def basic(self, header: str, address: str) -> Principal | None:
        """The person of a Basic answer: a phone token, or the account's password, checked as
        at sign-in (Authenticator.check_sign_in): a name no account has costs the same argon2
        work and counts as a failure, throttled per account and address."""
        try:
            decoded = base64.b64decode(header.strip()[:MAX_HEADER], validate=True).decode("utf-8")
        except (binascii.Error, ValueError):  # not base64 (non-ASCII too), not UTF-8
            return None
        username, colon, password = decoded.partition(":")
        username = username.strip().lower()[:64]
        if not colon or not username or not password:
            return None
        # Before the person is read: a revoke from here on keeps this answer out of the cache.
        lookup = self._passwords.begin()
        person = await self._person(username)
        if person.principal is not None and any(_same(password, t) for t in person.tokens):
            return person.principal
        key = self.auth.token_hash(f"odk-basic:{username}:{password}")
        cached = self._passwords.get(key)
        if cached is not None:
            return cached
        # An unknown name is checked too (against a dummy hash) and counted as a failure:
        # answering it at once told which names have an account, unthrottled.
        try:
            user = await self.auth.check_sign_in(self.engine, username, password, address)
        except (Unauthorized, TooManyRequests):
            return None
        if person.principal is None or person.principal.user_id != user["id"]:
            self._people.discard(username)  # cached before the account was made or enabled
            person = await self._person(username)
            if person.principal is None:
                return None
        self._passwords.put(key, person.principal, lookup)
        return person.principal
