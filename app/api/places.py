"""Cities, wards and settlements."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.api.deps import CityPath, CurrentUser, EngineDep, IdPath, SettingsDep
from app.api.responses import JSON
from app.api.schemas import ErrorOut
from app.db.indicators import Counted
from app.services import places

router = APIRouter(prefix="/api/v1", tags=["places"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut}}


@router.get("/cities")
async def list_cities(
    user: CurrentUser, engine: EngineDep, settings: SettingsDep, surveys: Counted = "approved"
) -> JSON:
    """The cities the signed-in person has a role in, with their counts and extent
    (households: approved surveys; `surveys=all` counts those not yet reviewed too)."""
    return JSON(await places.cities(engine, user, settings.household_form, surveys))


@router.get("/cities/{slug}/wards", responses=NOT_FOUND)
async def list_wards(
    slug: CityPath,
    user: CurrentUser,
    engine: EngineDep,
    settings: SettingsDep,
    surveys: Counted = "approved",
) -> JSON:
    """Wards of a city (households: approved surveys; `surveys=all` counts those not yet
    reviewed too)."""
    return JSON(await places.wards(engine, slug, user, settings.household_form, surveys))


@router.get("/wards/{ward_id}/settlements", responses=NOT_FOUND)
async def list_settlements(
    ward_id: IdPath,
    user: CurrentUser,
    engine: EngineDep,
    settings: SettingsDep,
    surveys: Counted = "approved",
) -> JSON:
    """Settlements of a ward with their profile (households: approved surveys;
    `surveys=all` counts those not yet reviewed too)."""
    return JSON(await places.settlements(engine, ward_id, user, settings.household_form, surveys))
