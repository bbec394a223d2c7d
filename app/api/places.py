"""Cities, wards and settlements."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.api.deps import CityPath, EngineDep, IdPath
from app.api.responses import JSON
from app.api.schemas import ErrorOut
from app.services import places

router = APIRouter(prefix="/api/v1", tags=["places"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut}}


@router.get("/cities")
async def list_cities(engine: EngineDep) -> JSON:
    """Every city with its counts and extent."""
    return JSON(await places.cities(engine))


@router.get("/cities/{slug}/wards", responses=NOT_FOUND)
async def list_wards(slug: CityPath, engine: EngineDep) -> JSON:
    """Wards of a city."""
    return JSON(await places.wards(engine, slug))


@router.get("/wards/{ward_id}/settlements", responses=NOT_FOUND)
async def list_settlements(ward_id: IdPath, engine: EngineDep) -> JSON:
    """Settlements of a ward with their profile."""
    return JSON(await places.settlements(engine, ward_id))
