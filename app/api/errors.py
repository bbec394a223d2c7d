"""Map domain errors to HTTP status codes and one JSON shape, in the user's language."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app.api.error_pages import error_page, wants_page
from app.api.responses import JSON
from app.api.validation import pydantic_problems
from app.db.pool import PoolClosed
from app.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    Problem,
    TooManyRequests,
    Unauthorized,
    UnknownForm,
    UnsupportedMediaType,
)
from app.i18n import accepted_language, pick_language, translate

log = logging.getLogger(__name__)

STATUS_CODES: dict[type[DomainError], int] = {
    Unauthorized: 401,
    Forbidden: 403,
    TooManyRequests: 429,
    NotFound: 404,
    Conflict: 409,
    UnsupportedMediaType: 415,
    PayloadTooLarge: 413,
    InvalidInput: 422,
    UnknownForm: 422,
}


def request_language(request: Request) -> str:
    """vi or en, from ?lang= first (when it names one of them), then Accept-Language."""
    return accepted_language(request.query_params.get("lang")) or pick_language(
        request.headers.get("accept-language")
    )


def error_body(
    code: str, message: str, errors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The JSON shape of every error: a code, a sentence, and per-field errors."""
    return {"code": code, "detail": message, "errors": errors or []}


def problems_body(problems: list[Problem], language: str) -> dict[str, Any]:
    """Error body for a list of field problems."""
    return error_body(
        "validation_failed",
        translate("validation_failed", language),
        [p.as_dict(language) for p in problems],
    )


# The database cannot be reached (down, restarting, out of connections, app shutting down).
UNREACHABLE = (
    ConnectionError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, restarting, cancelled
    asyncpg.exceptions.TooManyConnectionsError,
    # A statement sent just as the server ended its session (MagicStack/asyncpg#1069); its
    # connection is dropped (db.pool, db.engine), and it was never sent.
    asyncpg.exceptions.InternalClientError,
    PoolClosed,
)


def _driver_error(exc: BaseException) -> BaseException | None:
    """The driver's own error under SQLAlchemy's wrappers, if there is one."""
    cause: BaseException | None = exc
    while cause is not None and not isinstance(
        cause, (asyncpg.exceptions.PostgresError, *UNREACHABLE)
    ):
        cause = cause.__cause__ or getattr(cause, "orig", None)
    return cause


def _connection_lost(exc: BaseException) -> bool:
    """SQLAlchemy found the connection closed under a statement and dropped it from the
    pool: asyncpg's InterfaceError "the underlying connection is closed", e.g. a commit
    after a restart ended the session (the transaction was never committed), the same as
    the driver's connection errors in UNREACHABLE."""
    return isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated


# The message of each status Starlette or FastAPI answer by themselves (else http_error).
HTTP_MESSAGES = {400: "http_bad_request", 404: "http_not_found", 405: "http_method_not_allowed"}


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app answers for this request's path."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        route_methods = getattr(route, "methods", None)
        if route_methods:
            match, _ = route.matches({**request.scope, "method": next(iter(route_methods))})
            if match == Match.FULL:
                methods |= route_methods
    return sorted(methods)


def answer(
    request: Request,
    body: dict[str, Any],
    status_code: int,
    headers: dict[str, str] | None = None,
) -> Response:
    """An error's JSON body, or, when a browser navigated here (app.api.error_pages), the same
    sentence (and its fields') as a small page in the request's language, with the status."""
    if not wants_page(request.url.path, request.headers.get("accept")):
        return JSON(body, status_code=status_code, headers=headers)
    message = " ".join([body["detail"], *(e["message"] for e in body.get("errors") or [])])
    page = error_page(status_code, message, request_language(request))
    return HTMLResponse(
        page, status_code=status_code, headers={**(headers or {}), "Cache-Control": "no-store"}
    )


def add_exception_handlers(app: FastAPI) -> None:
    """Install the handlers on an app."""

    async def domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        language = request_language(request)
        status = next((s for t, s in STATUS_CODES.items() if isinstance(exc, t)), 400)
        if isinstance(exc, InvalidInput):
            return answer(request, problems_body(exc.problems, language), status)
        headers = {}
        if isinstance(exc, Unauthorized):
            # GIS endpoints (app.api.map_auth) also take HTTP Basic and say so.
            headers["WWW-Authenticate"] = getattr(exc, "challenge", 'Bearer realm="cdfmap"')
        if isinstance(exc, TooManyRequests):
            headers["Retry-After"] = str(exc.params.get("retry_after", 60))
        return answer(request, error_body(exc.code, exc.message(language)), status, headers)

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = pydantic_problems(exc.errors(), located=True)
        body = problems_body(problems, request_language(request))
        return answer(request, body, 422)

    async def http_error(request: Request, exc: Exception) -> Response:
        # Starlette's and FastAPI's own refusals (no such route, method, an unreadable form),
        # whose detail is English ("Not Found"): said from the catalogue instead.
        assert isinstance(exc, StarletteHTTPException)
        headers = dict(getattr(exc, "headers", None) or {})
        params: dict[str, Any] = {"status": exc.status_code}
        if exc.status_code == 405:
            # Starlette names only the methods of the first route matching the path; GET and
            # POST of one path are two routes here.
            methods = allowed_methods(request)
            headers["Allow"] = ", ".join(methods)
            params |= {"method": request.method, "allowed": ", ".join(methods)}
        code = HTTP_MESSAGES.get(exc.status_code, "http_error")
        message = translate(code, request_language(request), **params)
        body = error_body(f"http_{exc.status_code}", message)
        return answer(request, body, exc.status_code, headers or None)

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        language = request_language(request)
        return answer(
            request, error_body("internal_error", translate("internal_error", language)), 500
        )

    async def data_error(request: Request, exc: Exception) -> Response:
        # A value PostgreSQL refuses (out of range, bad encoding): the client's input, not a bug.
        log.warning("data error on %s %s: %s", request.method, request.url.path, exc)
        language = request_language(request)
        return answer(request, error_body("bad_query", translate("bad_query", language)), 422)

    async def unavailable(request: Request, exc: Exception) -> Response:
        # Nothing was stored, and the same request sent again later succeeds: a deadlock or
        # serialisation failure rolled the statement back, or the database is out of reach.
        cause = _driver_error(exc)
        if isinstance(cause, asyncpg.exceptions.TransactionRollbackError):
            code, retry_after = "server_busy", "2"
        elif isinstance(cause, UNREACHABLE) or _connection_lost(exc):
            code, retry_after = "database_unavailable", "10"
        else:
            return await unexpected(request, exc)
        log.warning("%s on %s %s: %r", code, request.method, request.url.path, cause)
        language = request_language(request)
        body = error_body(code, translate(code, language))
        return answer(request, body, 503, {"Retry-After": retry_after})

    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(asyncpg.exceptions.TransactionRollbackError, unavailable)
    app.add_exception_handler(sqlalchemy.exc.DBAPIError, unavailable)
    for error in UNREACHABLE:
        app.add_exception_handler(error, unavailable)
    app.add_exception_handler(asyncpg.exceptions.DataError, data_error)
    app.add_exception_handler(sqlalchemy.exc.DataError, data_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
