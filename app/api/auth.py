"""Sign in and out: API tokens (OAuth2 password form), phone enrolment, web sessions."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.api.deps import (
    SESSION_COOKIE,
    AuthDep,
    CurrentUser,
    EngineDep,
    LanguageDep,
    OptionalUser,
    SettingsDep,
)
from app.api.pages import client_address, render_page, safe_next, with_language
from app.api.requests import json_object
from app.api.responses import JSON
from app.api.schemas import ErrorOut, json_request_body
from app.errors import InvalidInput, Problem, TooManyRequests, Unauthorized
from app.services import auth as auth_service
from app.services.auth import IssuedToken, TokenKind

router = APIRouter(tags=["auth"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}}},
    422: {"model": ErrorOut},
    429: {"model": ErrorOut, "headers": {"Retry-After": {"schema": {"type": "integer"}}}},
}


def _token_body(issued: IssuedToken, **extra: Any) -> dict[str, Any]:
    return {
        "access_token": issued.token,
        "token_type": "bearer",
        "expires_in": issued.expires_in,
        **extra,
    }


@router.post("/api/v1/auth/token", responses=ERRORS)
async def issue_token(
    request: Request,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1000)],
    engine: EngineDep,
    auth: AuthDep,
    device_name: Annotated[str | None, Form(max_length=80)] = None,
) -> JSON:
    """A bearer token for a username and password (OAuth2 password form). With
    `device_name` (the phone app), a phone's token: it lasts as long as an enrolled phone's
    and shows in the person's list of phones, where an admin can revoke it."""
    kind: TokenKind = "device" if device_name else "api"
    issued = await auth.sign_in(
        engine, username, password, client_address(request), kind, device_name
    )
    return JSON(_token_body(issued), headers={"Cache-Control": "no-store"})


@router.post(
    "/api/v1/auth/enrol",
    responses={**ERRORS, 415: {"model": ErrorOut}},
    openapi_extra=json_request_body(
        {
            "type": "object",
            "required": ["code"],
            "properties": {"code": {"type": "string", "minLength": 1}},
        }
    ),
)
async def enrol_phone(request: Request, engine: EngineDep, auth: AuthDep) -> JSON:
    """Exchange a one-time enrolment code (from an admin's QR code or link) for the phone's
    own token; nobody types a password in the street."""
    body = await json_object(request)
    code = body.get("code")
    if not isinstance(code, str) or not code:
        raise InvalidInput([Problem("code", "missing")])
    issued = await auth.enrol(engine, code)
    principal = await auth.principal(issued.token, first_use=False)
    assert principal is not None
    return JSON(
        _token_body(issued, user=principal.as_dict()), headers={"Cache-Control": "no-store"}
    )


@router.post("/api/v1/auth/logout", status_code=204, responses={401: {"model": ErrorOut}})
async def sign_out(user: CurrentUser, engine: EngineDep, auth: AuthDep) -> Response:
    """Revoke the token this request carries."""
    if user.token_id:
        await auth.revoke(engine, token_id=uuid.UUID(user.token_id))
    return Response(status_code=204)


@router.get("/api/v1/me", responses={401: {"model": ErrorOut}})
async def who_am_i(user: CurrentUser) -> JSON:
    """The signed-in person and their roles."""
    return JSON(auth_service.me(user))


# --- web pages ----------------------------------------------------------------------------


def _in_asked_language(request: Request, target: str) -> str:
    """The page to go to, in the language this request asked for with ?lang= (the sign-in
    form and the sign-out button carry the page's)."""
    return with_language(target, request.query_params.get("lang"))


@router.get("/login", include_in_schema=False)
async def login_page(
    request: Request, user: OptionalUser, language: LanguageDep, next: str = "/"
) -> Response:
    """The sign-in form of the web pages (maps, review, admin)."""
    target = safe_next(next)
    if user is not None and user.token_kind == "session":
        return RedirectResponse(_in_asked_language(request, target), status_code=303)
    return render_page(request, "login.html", language, None, next=target, username="")


@router.post("/login", include_in_schema=False)
async def login_submit(
    request: Request,
    engine: EngineDep,
    auth: AuthDep,
    settings: SettingsDep,
    language: LanguageDep,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the form; on success a session cookie and back to the page asked for."""
    target = safe_next(next)
    try:
        issued = await auth.sign_in(
            engine, username, password, client_address(request), "session", "web"
        )
    except (Unauthorized, TooManyRequests) as exc:
        status = 429 if isinstance(exc, TooManyRequests) else 401
        page = render_page(
            request,
            "login.html",
            language,
            None,
            status_code=status,
            next=target,
            username=username[:64],
            error=exc.message(language),
        )
        if isinstance(exc, TooManyRequests):
            page.headers["Retry-After"] = str(exc.params.get("retry_after", 60))
        return page
    response = RedirectResponse(_in_asked_language(request, target), status_code=303)
    secure = settings.secure_cookies
    if secure is None:
        secure = request.url.scheme == "https"
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,
        max_age=issued.expires_in,
        httponly=True,
        secure=secure,
        samesite="lax",
        path="/",
    )
    return response


@router.post("/logout", include_in_schema=False)
async def logout_submit(
    request: Request, user: OptionalUser, engine: EngineDep, auth: AuthDep
) -> Response:
    """End the web session (its token is revoked) and go back to the sign-in page.

    The browser also drops its HTTP cache of this site (`Clear-Site-Data: "cache"`): map
    data and tiles kept there for the person who signed out must not be drawn offline for
    the next one. Storage is left alone (the phone app's unsent surveys live there); the
    maps' own copies are deleted by the sign-in page (static/pages/signed-out.js).
    """
    if user is not None and user.token_id and user.token_kind == "session":
        await auth.revoke(engine, token_id=uuid.UUID(user.token_id))
    response = RedirectResponse(
        _in_asked_language(request, "/login"),
        status_code=303,
        headers={"Clear-Site-Data": '"cache"'},
    )
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
