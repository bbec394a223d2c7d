"""Who is asking on /ogc and /tiles: a bearer token, the session cookie, or HTTP Basic.

GIS clients (QGIS, GDAL) sign in with a username and password (HTTP Basic) or a bearer
token header; web maps use the session cookie. A 401 here names both schemes in its
`WWW-Authenticate`, so that a client that sent nothing knows it may send Basic.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import Depends, Request

from app.api.deps import get_engine, get_principal
from app.api.pages import client_address
from app.errors import Unauthorized
from app.services.access import Principal
from app.services.auth import Authenticator
from app.services.basic_auth import BasicSignIn


class SignInRequired(Unauthorized):
    """Unauthorized on a GIS endpoint: Basic or Bearer."""

    challenge = 'Basic realm="cdfmap", charset="UTF-8", Bearer realm="cdfmap"'


def _basic_sign_in(request: Request) -> BasicSignIn:
    state = request.app.state
    found: BasicSignIn | None = getattr(state, "basic_sign_in", None)
    if found is None:
        auth: Authenticator = state.auth
        found = state.basic_sign_in = BasicSignIn(auth)  # forgets with the token cache
    return found


def _credentials(header: str) -> tuple[str, str]:
    """(username, password) of a Basic header, or SignInRequired."""
    try:
        decoded = base64.b64decode(header.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise SignInRequired() from None
    username, colon, password = decoded.partition(":")
    if not colon or not username or "\x00" in decoded or len(decoded) > 1024:
        raise SignInRequired()
    return username, password


async def map_reader(request: Request) -> Principal:
    """The signed-in person (Basic, bearer or session), or 401 naming Basic and Bearer."""
    cached: Principal | None = request.scope.get("cdfmap.principal")
    if cached is not None:
        return cached
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic":
        username, password = _credentials(value)
        engine = await get_engine(request)
        try:
            principal = await _basic_sign_in(request).principal(
                engine, username, password, client_address(request)
            )
        except Unauthorized as exc:
            raise SignInRequired(exc.code) from None
        request.scope["cdfmap.principal"] = principal
        return principal
    try:
        found = await get_principal(request)
    except Unauthorized as exc:
        raise SignInRequired(exc.code) from None
    if found is None:
        raise SignInRequired()
    return found


MapReader = Annotated[Principal, Depends(map_reader)]
