"""People, roles and phones (city admins for their cities, national admins for all)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import AuthDep, CityPath, CurrentUser, EngineDep, IdPath
from app.api.requests import json_object
from app.api.responses import JSON
from app.api.schemas import WRITE_ERRORS, model_body
from app.api.validation import NOT_BLANK, USERNAME_PATTERN
from app.services import accounts, places
from app.services.access import CITY_WIDE, Role
from app.services.boundaries import SLUG_PATTERN
from app.services.enrolment import enrolment_url, qr_svg

router = APIRouter(prefix="/api/v1", tags=["people"])
ERRORS = WRITE_ERRORS


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(pattern=USERNAME_PATTERN, examples=["tnv-07"])
    display_name: str = Field(
        min_length=1, max_length=120, pattern=NOT_BLANK, examples=["Nguyễn Thị Hoa"]
    )
    password: str | None = Field(default=None, min_length=8, max_length=256)


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, min_length=1, max_length=120, pattern=NOT_BLANK)
    password: str | None = Field(default=None, min_length=8, max_length=256)
    is_active: bool | None = None


class GrantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role = Field(examples=["volunteer"])
    city: str | None = Field(default=None, pattern=SLUG_PATTERN, examples=["tam-ky"])
    ward_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class EnrolmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device_name: str = Field(default="phone", max_length=80)


class CityPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    public_aggregates: bool = Field(
        default=False,
        description="Anyone may see the city's settlement-level maps and indicators",
    )
    priority_weights: dict[str, Any] | None = Field(
        default=None,
        description=(
            "The city's own weights of the priority score, by indicator key (numbers from 0 "
            "to 1000, at least one above 0; a missing indicator weighs 0); null: the common "
            "weights of forms/priorities.yaml"
        ),
    )


# Which place each role takes (as the server checks it): a city-wide role (planner, city
# admin, CDF staff) no ward, a ward leader a ward, a national admin no place at all.
GRANT_RULES: list[dict[str, Any]] = [
    {
        "if": {"properties": {"role": {"enum": sorted(CITY_WIDE)}}},
        "then": {
            "required": ["city"],
            "properties": {"city": {"type": "string"}, "ward_id": {"type": "null"}},
        },
    },
    {
        "if": {"properties": {"role": {"const": "national_admin"}}},
        "then": {"properties": {"ward_id": {"type": "null"}, "city": {"type": "null"}}},
    },
    {
        "if": {"properties": {"role": {"const": "ward_leader"}}},
        "then": {"required": ["ward_id"], "properties": {"ward_id": {"type": "integer"}}},
    },
    {
        "if": {"properties": {"role": {"const": "volunteer"}}},
        "then": {
            "anyOf": [
                {"required": ["city"], "properties": {"city": {"type": "string"}}},
                {"required": ["ward_id"], "properties": {"ward_id": {"type": "integer"}}},
            ]
        },
    },
]


@router.get("/users", responses=ERRORS)
async def list_users(user: CurrentUser, engine: EngineDep) -> JSON:
    """The people an admin manages, with their roles and how many phones they have."""
    return JSON(await accounts.list_people(engine, user))


@router.post(
    "/users",
    status_code=201,
    responses={200: {"description": "added before by this admin: nothing added again"}, **ERRORS},
    openapi_extra=model_body(UserIn),
)
async def create_user(
    request: Request, user: CurrentUser, engine: EngineDep, auth: AuthDep
) -> JSON:
    """Add a person (no password needed for a volunteer: enrol their phone). The same
    request again from the same admin, the person given no role yet, is the person added
    (200, `outcome: duplicate`); another person's username is a 409."""
    body = await json_object(request, UserIn)
    created = await accounts.create_user(
        engine, auth, user, body["username"], body["display_name"], body.get("password")
    )
    return JSON(created, status_code=201 if created["outcome"] == "created" else 200)


@router.patch("/users/{user_id}", responses=ERRORS, openapi_extra=model_body(UserPatch))
async def update_user(
    user_id: IdPath, request: Request, user: CurrentUser, engine: EngineDep, auth: AuthDep
) -> JSON:
    """Rename, set a password, disable (every token revoked) or enable a person. A value the
    person has already, their password too, is no change: nothing revoked, nothing on record."""
    body = await json_object(request, UserPatch)
    changed = await accounts.update_user(engine, auth, user, user_id, **body)
    return JSON({k: changed[k] for k in ("id", "username", "display_name", "is_active")})


@router.post(
    "/users/{user_id}/roles",
    status_code=201,
    responses={200: {"description": "Held already: nothing changed"}, **ERRORS},
    openapi_extra=model_body(GrantIn, allOf=GRANT_RULES),
)
async def grant_role(
    user_id: IdPath, request: Request, user: CurrentUser, engine: EngineDep
) -> JSON:
    """Give a person a role on a city or a ward (200 with the grant they hold already)."""
    body = await json_object(request, GrantIn)
    grant = await accounts.grant_role(
        engine, user, user_id, body["role"], body.get("city"), body.get("ward_id")
    )
    created = grant.pop("created")
    return JSON(grant, status_code=201 if created else 200)


@router.delete("/users/{user_id}/roles/{grant_id}", status_code=204, responses=ERRORS)
async def revoke_role(
    user_id: IdPath, grant_id: IdPath, user: CurrentUser, engine: EngineDep, auth: AuthDep
) -> Response:
    """Take a role away."""
    await accounts.revoke_role(engine, auth, user, user_id, grant_id)
    return Response(status_code=204)


@router.post(
    "/users/{user_id}/enrolments",
    status_code=201,
    responses=ERRORS,
    openapi_extra=model_body(EnrolmentIn),
)
async def enrol_phone(
    user_id: IdPath, request: Request, user: CurrentUser, engine: EngineDep, auth: AuthDep
) -> JSON:
    """A one-time link and QR code that enrols one phone for the person (valid 3 days). It
    cancels the person's earlier codes not yet used: the latest is the one that works."""
    body = await json_object(request, EnrolmentIn)
    code, expires_at = await accounts.enrolment(
        engine, auth, user, user_id, body.get("device_name", "phone")
    )
    url = enrolment_url(str(request.base_url), code)
    return JSON(
        {"url": url, "expires_at": expires_at, "qr_svg": qr_svg(url)},
        status_code=201,
        headers={"Cache-Control": "no-store"},
    )


@router.get("/users/{user_id}/devices", responses=ERRORS)
async def list_devices(user_id: IdPath, user: CurrentUser, engine: EngineDep) -> JSON:
    """A person's enrolled phones (live, expired and revoked)."""
    return JSON(await accounts.devices(engine, user, user_id))


@router.delete("/devices/{token_id}", status_code=204, responses=ERRORS)
async def revoke_device(
    token_id: uuid.UUID, user: CurrentUser, engine: EngineDep, auth: AuthDep
) -> Response:
    """Revoke a phone: its next request is refused; what it has not sent stays on it."""
    await accounts.revoke_device(engine, auth, user, token_id)
    return Response(status_code=204)


@router.patch("/cities/{slug}", responses=ERRORS, openapi_extra=model_body(CityPatch))
async def update_city(
    slug: CityPath, request: Request, user: CurrentUser, engine: EngineDep
) -> JSON:
    """Change a city's settings: publish (or unpublish) its aggregate maps and indicators
    (settlement level only, never a household), set its own weights of the priority score or
    go back to the common ones. Only the fields sent change."""
    body = await json_object(request, CityPatch)
    return JSON(await places.update_city(engine, user, slug, body))
