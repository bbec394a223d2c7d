"""Dependencies shared by the routers.

All are `async def`: FastAPI runs a plain `def` dependency in a thread pool, which costs more
than the whole database round trip of an ingest.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from app.api.errors import request_language
from app.db.pool import StatementPool
from app.db.replica import ReplicaReads
from app.errors import Forbidden, InvalidInput, Problem, Unauthorized
from app.forms.registry import FormRegistry, FormsWatcher
from app.services.access import Principal
from app.services.auth import Authenticator
from app.services.boundaries import SLUG_PATTERN
from app.services.intake import parse_time
from app.settings import Settings


async def get_engine(request: Request) -> AsyncEngine:
    """The app's database engine."""
    engine: AsyncEngine = request.app.state.engine
    return engine


async def get_read_engine(request: Request) -> AsyncEngine:
    """The engine for reads that may be slightly behind the latest writes (maps, exports,
    tiles, OGC API, indicators, place progress): the read replica while it answers, else the
    primary (app.db.replica). Never for writes, sign-in, review, the CDF's books or a
    volunteer's own reads: those take EngineDep, the primary."""
    reads: ReplicaReads = request.app.state.replica_reads
    return await reads.engine()


async def get_batch_pool(request: Request) -> StatementPool:
    """The statement pool that stores phones' batches (app/db/engine.py make_batch_pool)."""
    pool: StatementPool = request.app.state.batch_pool
    return pool


async def get_forms(request: Request) -> FormRegistry:
    """The forms in forms/ (a file dropped there is picked up without a restart)."""
    watcher: FormsWatcher = request.app.state.forms
    return await watcher.current()


async def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


EngineDep = Annotated[AsyncEngine, Depends(get_engine)]
ReadEngineDep = Annotated[AsyncEngine, Depends(get_read_engine)]
BatchPoolDep = Annotated[StatementPool, Depends(get_batch_pool)]
FormsDep = Annotated[FormRegistry, Depends(get_forms)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_language(request: Request) -> str:
    """vi or en for this request (an async dependency: sync ones run in a thread pool)."""
    return request_language(request)


LanguageDep = Annotated[str, Depends(get_language)]


# Database ids are PostgreSQL integers: a larger number is a 422 here, not a 500 there.
MAX_ID = 2**31 - 1
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
CityPath = Annotated[str, Path(pattern=SLUG_PATTERN, examples=["tam-ky"])]
CityQuery = Annotated[str, Query(pattern=SLUG_PATTERN, examples=["tam-ky"])]
OptionalCityQuery = Annotated[str | None, Query(pattern=SLUG_PATTERN, examples=["tam-ky"])]

StatusQuery = Annotated[
    Literal["received", "approved", "needs_correction", "rejected"] | None, Query()
]


# A query's time, parsed by time_range (FastAPI would also take "0.5" as a Unix time).
DATE_TIME: dict[str, Any] = {
    "json_schema_extra": {"format": "date-time"},
    "examples": ["2026-11-01T00:00:00+07:00"],
    "max_length": 40,
}


def time_range(
    start: str | None, end: str | None, names: tuple[str, str] = ("from", "to")
) -> tuple[datetime | None, datetime | None]:
    """A query's from/to (ISO 8601, as intake reads a phone's times) in UTC; or
    InvalidInput naming the bad one by the parameter's name (`names`: start's and end's)."""
    problems = []
    values: list[datetime | None] = []
    for name, raw in zip(names, (start, end), strict=True):
        if raw is None:
            values.append(None)
            continue
        try:
            values.append(parse_time(raw.strip()).astimezone(UTC))
        except ValueError:
            problems.append(Problem(name, "invalid_datetime"))
            values.append(None)
    if problems:
        raise InvalidInput(problems)
    return values[0], values[1]


# --- who is asking ------------------------------------------------------------------------

SESSION_COOKIE = "cdfmap_session"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def get_principal(request: Request) -> Principal | None:
    """The signed-in person: a bearer token (phones, API clients) or the session cookie of
    the web pages (whose writes must carry the page's CSRF token); None when anonymous.

    A token that is wrong, expired or revoked is a 401, never silently anonymous.
    """
    cached = request.scope.get("cdfmap.principal", _NOT_RESOLVED)
    if cached is not _NOT_RESOLVED:
        return cached
    auth: Authenticator = request.app.state.auth
    principal: Principal | None = None
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            raise Unauthorized()
        principal = await auth.principal(token.strip())
        if principal is None:
            raise Unauthorized()
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            principal = await auth.principal(cookie)
            if principal is not None and principal.token_kind != "session":
                principal = None  # a phone's token copied into a cookie is not a session
            if principal is not None and request.method in UNSAFE_METHODS:
                sent = request.headers.get(CSRF_HEADER, "")
                if not sent and request.headers.get("content-type", "").startswith(
                    "application/x-www-form-urlencoded"
                ):
                    field = (await request.form()).get("csrf_token")
                    sent = field if isinstance(field, str) else ""
                expected = auth.csrf_token(principal.token_id or "")
                if not hmac.compare_digest(sent.encode(), expected.encode()):
                    raise Forbidden("csrf_failed")
    request.scope["cdfmap.principal"] = principal
    return principal


async def require_principal(request: Request) -> Principal:
    """The signed-in person, or 401."""
    principal = await get_principal(request)
    if principal is None:
        raise Unauthorized()
    return principal


async def submitter(request: Request) -> Principal:
    """The signed-in person, when they may send surveys (else 401, or 404 for a role
    that never sends: there is nothing here for them)."""
    principal = await require_principal(request)
    if not principal.can_submit():
        raise Forbidden("not_allowed")
    return principal


async def get_authenticator(request: Request) -> Authenticator:
    """The app's token service."""
    auth: Authenticator = request.app.state.auth
    return auth


_NOT_RESOLVED = object()
OptionalUser = Annotated[Principal | None, Depends(get_principal)]
CurrentUser = Annotated[Principal, Depends(require_principal)]
AuthDep = Annotated[Authenticator, Depends(get_authenticator)]
