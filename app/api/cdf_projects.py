"""The CDF's upgrading projects: list (JSON, GeoJSON), create, read, change."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import (
    CityPath,
    CurrentUser,
    EngineDep,
    IdPath,
    IdQuery,
    LanguageDep,
    SettingsDep,
)
from app.api.errors import error_body
from app.api.requests import json_object
from app.api.responses import JSON
from app.api.schemas import WRITE_ERRORS, error_responses, model_body
from app.i18n import translate
from app.services import attachments, cdf_projects, cdf_projects_photos

router = APIRouter(prefix="/api/v1/cdf", tags=["cdf projects"])
READ_ERRORS = error_responses(401, 404, 422)

Kind = Literal["lane_paving", "drain", "water", "toilets", "community_centre", "house_repair"]
Status = Literal["proposed", "approved", "building", "done"]
Amount = Annotated[int, Field(ge=0, le=cdf_projects.MAX_AMOUNT, examples=[15_000_000])]


Source = Literal["cdf_loan", "grant", "community", "city"]
# Money by source, in whole đồng (a missing source is 0 on creation). A plain mapping, not a
# nested model: model_body inlines its schema, where a $defs reference would dangle.
Budget = dict[Source, Amount]


class ProjectIn(BaseModel):
    """An upgrading project (documentation: the server checks the body itself, to name each
    bad field in vi and en)."""

    model_config = ConfigDict(extra="forbid")

    client_id: UUID | None = Field(
        default=None,
        description="a UUID the client makes: the same request again is the project stored",
    )
    name: str = Field(min_length=1, max_length=200, examples=["Bê tông hóa hẻm 12"])
    code: str | None = Field(default=None, max_length=40, examples=["DA-2026-01"])
    kind: Kind
    status: Status = "proposed"
    settlement_id: int = Field(ge=1, le=2**31 - 1)
    budget: Budget = Field(default_factory=dict, examples=[{"cdf_loan": 20_000_000}])
    households: int | None = Field(default=None, ge=0, le=cdf_projects.MAX_HOUSEHOLDS)
    start_date: str | None = Field(default=None, examples=["2026-03-01"])
    end_date: str | None = Field(default=None, examples=["2026-05-30"])
    geometry: dict[str, Any] = Field(
        description="GeoJSON Point, LineString or Polygon (lon, lat; EPSG:4326) within or "
        "touching the settlement's ward",
        examples=[{"type": "Point", "coordinates": [108.47, 15.57]}],
    )


class ProjectPatch(BaseModel):
    """Any of a project's fields; a status change is kept on record."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    code: str | None = Field(default=None, max_length=40)
    kind: Kind | None = None
    status: Status | None = None
    settlement_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    budget: Budget | None = None
    households: int | None = Field(default=None, ge=0, le=cdf_projects.MAX_HOUSEHOLDS)
    start_date: str | None = None
    end_date: str | None = None
    geometry: dict[str, Any] | None = None


def _filters(
    ward: int | None, settlement: int | None, status: str | None, kind: str | None
) -> dict[str, Any]:
    return {"ward_id": ward, "settlement_id": settlement, "status": status, "kind": kind}


@router.get("/{city}/projects", responses=READ_ERRORS)
async def list_projects(
    city: CityPath,
    user: CurrentUser,
    engine: EngineDep,
    language: LanguageDep,
    ward: IdQuery = None,
    settlement: IdQuery = None,
    status: Annotated[Status | None, Query()] = None,
    kind: Annotated[Kind | None, Query()] = None,
) -> JSON:
    """A city's upgrading projects the caller may see, with money by source and leverage
    (other money per CDF đồng) per project, settlement and ward."""
    found = await cdf_projects.list_projects(
        engine, user, city, language, **_filters(ward, settlement, status, kind)
    )
    return JSON(found)


@router.get(
    "/{city}/projects.geojson",
    response_class=Response,
    responses={200: {"content": {"application/geo+json": {}}}, **READ_ERRORS},
)
async def projects_geojson(
    city: CityPath,
    user: CurrentUser,
    engine: EngineDep,
    language: LanguageDep,
    ward: IdQuery = None,
    settlement: IdQuery = None,
    status: Annotated[Status | None, Query()] = None,
    kind: Annotated[Kind | None, Query()] = None,
) -> Response:
    """The same projects as GeoJSON (points, lines and areas; flat properties for QGIS)."""
    content = await cdf_projects.projects_geojson(
        engine, user, city, language, **_filters(ward, settlement, status, kind)
    )
    return Response(
        content,
        media_type="application/geo+json",
        headers={"Content-Disposition": f'inline; filename="{city}-projects.geojson"'},
    )


@router.post(
    "/{city}/projects",
    status_code=201,
    responses={200: {"description": "registered before with this client_id"}, **WRITE_ERRORS},
    openapi_extra=model_body(ProjectIn),
)
async def create_project(
    city: CityPath, request: Request, user: CurrentUser, engine: EngineDep, language: LanguageDep
) -> JSON:
    """Register an upgrading project (the city's admins and national admins). With a
    `client_id`, the same request again is the project registered (200, `outcome:
    duplicate`), another request under that id a 409."""
    body = await json_object(request)
    created = await cdf_projects.create_project(engine, user, city, body, language)
    return JSON(created, status_code=201 if created["outcome"] == "created" else 200)


@router.get("/projects/{project_id}", responses=READ_ERRORS)
async def get_project(
    project_id: IdPath, user: CurrentUser, engine: EngineDep, language: LanguageDep
) -> JSON:
    """One project with its status history (who changed it, when)."""
    return JSON(await cdf_projects.get_project(engine, user, project_id, language))


@router.patch(
    "/projects/{project_id}", responses=WRITE_ERRORS, openapi_extra=model_body(ProjectPatch)
)
async def update_project(
    project_id: IdPath,
    request: Request,
    user: CurrentUser,
    engine: EngineDep,
    language: LanguageDep,
) -> JSON:
    """Change a project (the city's admins and national admins)."""
    body = await json_object(request)
    return JSON(await cdf_projects.update_project(engine, user, project_id, body, language))


Phase = Literal["before", "after"]
PHOTO_TYPES = sorted(cdf_projects_photos.IMAGE_TYPES)


@router.post(
    "/projects/{project_id}/photos/{phase}/{filename}",
    status_code=201,
    responses={
        200: {"description": "The same bytes were stored before: nothing changed"},
        **error_responses(401, 403, 404, 409, 413, 415, 422),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                kind: {"schema": {"type": "string", "format": "binary"}} for kind in PHOTO_TYPES
            },
        }
    },
)
async def upload_photo(
    project_id: IdPath,
    phase: Phase,
    filename: str,
    request: Request,
    user: CurrentUser,
    engine: EngineDep,
    settings: SettingsDep,
    language: LanguageDep,
) -> JSON:
    """A before or after photo of a project (JPEG, PNG or WebP, raw bytes as the body, 2 MB;
    the city's admins and national admins). A resend of the same bytes answers 200."""
    content_type = attachments.media_type(request.headers.get("content-type"))
    if content_type not in cdf_projects_photos.IMAGE_TYPES:
        message = translate("unsupported_media_type", language, allowed=", ".join(PHOTO_TYPES))
        return JSON(error_body("unsupported_media_type", message), status_code=415)
    stored = await cdf_projects_photos.store_photo(
        engine,
        user,
        settings.media_dir,
        project_id,
        phase,
        filename,
        content_type,
        await request.body(),
    )
    return JSON(stored.record, status_code=201 if stored.outcome == "created" else 200)


@router.get(
    "/projects/{project_id}/photos/{phase}/{filename}",
    response_class=FileResponse,
    responses={200: {"content": {kind: {} for kind in PHOTO_TYPES}}, **READ_ERRORS},
)
async def read_photo(
    project_id: IdPath,
    phase: Phase,
    filename: str,
    user: CurrentUser,
    engine: EngineDep,
    settings: SettingsDep,
) -> FileResponse:
    """A project's photo, for those who may see personal fields in its ward (404 for others)."""
    path, media_type = await cdf_projects_photos.stored_photo(
        engine, user, settings.media_dir, project_id, phase, filename
    )
    return FileResponse(
        path,
        media_type=media_type,
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )
