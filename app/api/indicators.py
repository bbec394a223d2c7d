"""Upgrading indicators and priority scores of wards and cities, as JSON or CSV."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import Response

from app.api.deps import CityPath, IdPath, LanguageDep, OptionalUser, ReadEngineDep, SettingsDep
from app.api.responses import JSON
from app.api.schemas import ErrorOut
from app.db.indicators import Counted
from app.services import indicators

router = APIRouter(prefix="/api/v1", tags=["indicators"])
CSV = "text/csv; charset=utf-8"
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {}, CSV: {}}, "description": "JSON, or CSV"},
    404: {"model": ErrorOut},
}
Format = Literal["json", "csv"]


def _respond(report: dict[str, Any], format: Format, language: str, filename: str) -> Response:
    if format == "csv":
        return Response(
            indicators.report_csv(report, language),
            media_type=CSV,
            headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
        )
    return JSON(report)


@router.get("/wards/{ward_id}/indicators.csv", responses=RESPONSES)
async def ward_indicators_csv(
    ward_id: IdPath,
    user: OptionalUser,
    engine: ReadEngineDep,
    settings: SettingsDep,
    language: LanguageDep,
    surveys: Counted = "approved",
) -> Response:
    """A ward's indicators as CSV (UTF-8 with BOM)."""
    return await ward_indicators(ward_id, user, engine, settings, language, "csv", surveys)


@router.get("/wards/{ward_id}/indicators", responses=RESPONSES)
async def ward_indicators(
    ward_id: IdPath,
    user: OptionalUser,
    engine: ReadEngineDep,
    settings: SettingsDep,
    language: LanguageDep,
    format: Format = "json",
    surveys: Counted = "approved",
) -> Response:
    """A ward's totals and its settlements with deficiency shares, priority score and ranks
    (approved surveys; `surveys=all` counts those not yet reviewed too)."""
    report = await indicators.ward_report(
        engine,
        ward_id,
        settings.priorities_path,
        reader=user,
        surveys=surveys,
        household_form=settings.household_form,
    )
    return _respond(report, format, language, f"indicators-ward-{ward_id}")


@router.get("/cities/{slug}/indicators.csv", responses=RESPONSES)
async def city_indicators_csv(
    slug: CityPath,
    user: OptionalUser,
    engine: ReadEngineDep,
    settings: SettingsDep,
    language: LanguageDep,
    surveys: Counted = "approved",
) -> Response:
    """A city's indicators as CSV (UTF-8 with BOM)."""
    return await city_indicators(slug, user, engine, settings, language, "csv", surveys)


@router.get("/cities/{slug}/indicators", responses=RESPONSES)
async def city_indicators(
    slug: CityPath,
    user: OptionalUser,
    engine: ReadEngineDep,
    settings: SettingsDep,
    language: LanguageDep,
    format: Format = "json",
    surveys: Counted = "approved",
) -> Response:
    """A city's totals, wards and settlements with shares, priority score and ranks
    (approved surveys; `surveys=all` counts those not yet reviewed too)."""
    report = await indicators.city_report(
        engine,
        slug,
        settings.priorities_path,
        reader=user,
        surveys=surveys,
        household_form=settings.household_form,
    )
    return _respond(report, format, language, f"indicators-{slug}")
