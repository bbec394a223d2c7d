"""GeoJSON layers for planners (QGIS, GDAL): no personal fields."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response, StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from app.api.deps import (
    CityQuery,
    CurrentUser,
    EngineDep,
    FormsDep,
    IdQuery,
    LanguageDep,
    SettingsDep,
)
from app.api.errors import error_body
from app.api.responses import JSON
from app.api.schemas import ErrorOut
from app.db.exports import ExportsBusy, ExportSlots
from app.db.indicators import Counted
from app.i18n import translate
from app.services import exports
from app.services.exports import GeoPackage, Layer

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/export", tags=["export"])
GEOJSON = "application/geo+json"
GEOPACKAGE = "application/geopackage+sqlite3"
RETRY_AFTER_SECONDS = 5  # an export of 100k households reads the database for about 2 s
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {GEOJSON: {}}, "description": "RFC 7946 FeatureCollection"},
    404: {"model": ErrorOut},
    503: {"model": ErrorOut, "description": "Too many exports at once: retry after a while"},
}


async def get_export_slots(request: Request) -> ExportSlots:
    """The app's limit on exports reading the database at once."""
    slots: ExportSlots = request.app.state.export_slots
    return slots


SlotsDep = Annotated[ExportSlots, Depends(get_export_slots)]


class ClientStalled(Exception):
    """The client accepted no bytes for the stall time."""


class Download(Protocol):
    """What an export streams: its bytes, then aclose() to free what it holds."""

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    async def aclose(self) -> None: ...


class LayerResponse(StreamingResponse):
    """A streamed layer that gives up on a client that stops reading and always frees the layer."""

    def __init__(
        self,
        layer: Download,
        filename: str,
        stall_seconds: float,
        media_type: str = GEOJSON,
        disposition: str = "inline",
    ) -> None:
        super().__init__(
            layer,
            media_type=media_type,
            headers={"Content-Disposition": f'{disposition}; filename="{filename}"'},
        )
        self.layer = layer
        self.stall_seconds = stall_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_or_give_up(message: Message) -> None:
            try:
                async with asyncio.timeout(self.stall_seconds):
                    await send(message)
            except TimeoutError:
                raise ClientStalled from None

        try:
            await super().__call__(scope, receive, send_or_give_up)
        except ClientStalled:
            # Returning without the last chunk makes the server close the connection: the
            # client sees a cut download, never a shorter file that looks complete.
            log.warning(
                "export %s cut off: the client took nothing for %s s",
                scope.get("path"),
                self.stall_seconds,
            )
        finally:
            await self.layer.aclose()


async def _respond(
    layer: Awaitable[Layer | GeoPackage], filename: str, stall_seconds: float, language: str
) -> Response:
    try:
        ready = await layer
    except ExportsBusy:
        return JSON(
            error_body("exports_busy", translate("exports_busy", language)),
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if isinstance(ready, GeoPackage):
        return LayerResponse(ready, filename, stall_seconds, GEOPACKAGE, "attachment")
    return LayerResponse(ready, filename, stall_seconds)


@router.get("/households.geojson", responses=RESPONSES)
async def households(
    city: CityQuery,
    user: CurrentUser,
    engine: EngineDep,
    slots: SlotsDep,
    forms: FormsDep,
    settings: SettingsDep,
    language: LanguageDep,
    ward: IdQuery = None,
    surveys: Counted = "approved",
) -> Response:
    """Household points with their answers flattened into properties, streamed (approved
    surveys; `surveys=all` adds those not yet reviewed); never a personal field."""
    return await _respond(
        exports.households_geojson(
            engine, slots, forms, city, ward, user, surveys, settings.household_form
        ),
        f"households-{city}{f'-ward-{ward}' if ward else ''}.geojson",
        settings.export_stall_seconds,
        language,
    )


@router.get("/settlements.geojson", responses=RESPONSES)
async def settlements(
    city: CityQuery,
    user: CurrentUser,
    engine: EngineDep,
    slots: SlotsDep,
    settings: SettingsDep,
    language: LanguageDep,
    ward: IdQuery = None,
    surveys: Counted = "approved",
) -> Response:
    """Settlement boundaries with their profiles."""
    return await _respond(
        exports.settlements_geojson(
            engine, slots, city, ward, user, surveys, settings.household_form
        ),
        f"settlements-{city}.geojson",
        settings.export_stall_seconds,
        language,
    )


@router.get("/wards.geojson", responses=RESPONSES)
async def wards(
    city: CityQuery,
    user: CurrentUser,
    engine: EngineDep,
    slots: SlotsDep,
    settings: SettingsDep,
    language: LanguageDep,
    surveys: Counted = "approved",
) -> Response:
    """Ward boundaries."""
    return await _respond(
        exports.wards_geojson(engine, slots, city, user, surveys, settings.household_form),
        f"wards-{city}.geojson",
        settings.export_stall_seconds,
        language,
    )


FormIdPath = Annotated[
    str, Path(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$", examples=["settlement"])
]


@router.get("/forms/{form_id}.geojson", responses=RESPONSES)
async def form_surveys(
    form_id: FormIdPath,
    city: CityQuery,
    user: CurrentUser,
    engine: EngineDep,
    slots: SlotsDep,
    forms: FormsDep,
    settings: SettingsDep,
    language: LanguageDep,
    ward: IdQuery = None,
    surveys: Counted = "approved",
) -> Response:
    """The surveys of one form (e.g. `settlement`, the settlement profiles) as their own
    layer named by the form id: the form's questions as properties (a repeat as JSON text),
    never a personal field; a survey without a location has a null geometry. Approved
    surveys; `surveys=all` adds those not yet reviewed."""
    return await _respond(
        exports.form_geojson(engine, slots, forms, form_id, city, ward, user, surveys),
        f"{form_id}-{city}{f'-ward-{ward}' if ward else ''}.geojson",
        settings.export_stall_seconds,
        language,
    )


@router.get(
    "/layers.gpkg",
    responses={
        200: {"content": {GEOPACKAGE: {}}, "description": "An OGC GeoPackage"},
        404: {"model": ErrorOut},
        503: RESPONSES[503],
    },
    response_class=Response,
)
async def geopackage(
    city: CityQuery,
    user: CurrentUser,
    engine: EngineDep,
    slots: SlotsDep,
    forms: FormsDep,
    settings: SettingsDep,
    language: LanguageDep,
    ward: IdQuery = None,
    surveys: Counted = "approved",
) -> Response:
    """Every layer in one GeoPackage for QGIS: `wards` (a whole city only), `settlements`,
    `households`, and one layer per other form named by its form id (e.g. `settlement`),
    as in the GeoJSON layers: never a personal field."""
    return await _respond(
        exports.geopackage(
            engine, slots, forms, city, ward, user, surveys, settings.household_form
        ),
        f"cdfmap-{city}{f'-ward-{ward}' if ward else ''}.gpkg",
        settings.export_stall_seconds,
        language,
    )
