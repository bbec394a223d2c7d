"""Upgrading indicators and priority scores of wards and cities, as JSON or CSV."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import Response

from app.api.deps import CityPath, EngineDep, IdPath, LanguageDep, SettingsDep
from app.api.responses import JSON
from app.api.schemas import ErrorOut
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
    ward_id: IdPath, engine: EngineDep, settings: SettingsDep, language: LanguageDep
) -> Response:
    """A ward's indicators as CSV (UTF-8 with BOM)."""
    return await ward_indicators(ward_id, engine, settings, language, "csv")


@router.get("/wards/{ward_id}/indicators", responses=RESPONSES)
async def ward_indicators(
    ward_id: IdPath,
    engine: EngineDep,
    settings: SettingsDep,
    language: LanguageDep,
    format: Format = "json",
) -> Response:
    """A ward's totals and its settlements with deficiency shares, priority score and ranks."""
    report = await indicators.ward_report(engine, ward_id, settings.priorities_path)
    return _respond(report, format, language, f"indicators-ward-{ward_id}")


@router.get("/cities/{slug}/indicators.csv", responses=RESPONSES)
async def city_indicators_csv(
    slug: CityPath, engine: EngineDep, settings: SettingsDep, language: LanguageDep
) -> Response:
    """A city's indicators as CSV (UTF-8 with BOM)."""
    return await city_indicators(slug, engine, settings, language, "csv")


@router.get("/cities/{slug}/indicators", responses=RESPONSES)
async def city_indicators(
    slug: CityPath,
    engine: EngineDep,
    settings: SettingsDep,
    language: LanguageDep,
    format: Format = "json",
) -> Response:
    """A city's totals, wards and settlements with shares, priority score and ranks."""
    report = await indicators.city_report(engine, slug, settings.priorities_path)
    return _respond(report, format, language, f"indicators-{slug}")
