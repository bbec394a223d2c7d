"""Layer exports for planners (QGIS, GDAL, spreadsheets): GeoJSON, GeoPackage, CSV, XLSX,
KML and zipped Shapefiles; personal fields only for the roles that may see them."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime, time
from typing import Annotated, Any, Literal, Protocol

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from app.api.deps import (
    DATE_TIME,
    CityPath,
    CityQuery,
    CurrentUser,
    FormsDep,
    IdQuery,
    LanguageDep,
    ReadEngineDep,
    SettingsDep,
    StatusQuery,
    time_range,
)
from app.api.errors import error_body
from app.api.responses import JSON
from app.api.schemas import ErrorOut
from app.api.validation import XLSFORM_NAME_PATTERN
from app.db.exports import ExportsBusy, ExportSlots
from app.db.indicators import Counted
from app.errors import InvalidInput, Problem
from app.i18n import translate
from app.services import export_files
from app.services.export_files import MEDIA_TYPES, FileBuilds, TempFile
from app.services.export_layers import ExportFilters, layer_query
from app.services.exports import Layer
from app.vietnam import VIETNAM_TIME

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
PERSONAL_REFUSED: dict[str, Any] = {
    "model": ErrorOut,
    "description": "personal=true from a reader who may not see personal fields there",
}


async def get_export_slots(request: Request) -> ExportSlots:
    """The app's limit on exports reading the database at once."""
    slots: ExportSlots = request.app.state.export_slots
    return slots


SlotsDep = Annotated[ExportSlots, Depends(get_export_slots)]


async def get_file_builds(request: Request) -> FileBuilds:
    """The app's limit on export files built at once (as many as export slots), made on
    first use."""
    builds: FileBuilds | None = getattr(request.app.state, "export_file_builds", None)
    if builds is None:
        settings = request.app.state.settings
        builds = FileBuilds(settings.export_slots, settings.export_wait_seconds)
        request.app.state.export_file_builds = builds
    return builds


BuildsDep = Annotated[FileBuilds, Depends(get_file_builds)]


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
    layer: Awaitable[Layer | TempFile | export_files.CsvStream | export_files.TextStream],
    filename: str,
    stall_seconds: float,
    language: str,
    fmt: str = "geojson",
) -> Response:
    try:
        ready = await layer
    except ExportsBusy:
        return JSON(
            error_body("exports_busy", translate("exports_busy", language)),
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if isinstance(ready, Layer):
        return LayerResponse(ready, filename, stall_seconds)
    return LayerResponse(ready, filename, stall_seconds, MEDIA_TYPES[fmt], "attachment")


FORM_ID = re.compile(XLSFORM_NAME_PATTERN)
FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {media: {} for media in MEDIA_TYPES.values()},
        "description": "The layer in the format its extension names",
    },
    403: PERSONAL_REFUSED,
    404: {"model": ErrorOut, "description": "No such layer, form, format or place"},
    422: {"model": ErrorOut},
    503: RESPONSES[503],
}
LabelsQuery = Annotated[
    Literal["vi", "en"] | None,
    Query(description="Choice answers as labels in this language (default: codes)"),
]
RepeatQuery = Annotated[
    str | None,
    Query(
        pattern=XLSFORM_NAME_PATTERN,
        description="CSV only: the rows of this repeat (survey id, position, answers)",
    ),
]
PersonalQuery = Annotated[
    bool,
    Query(
        description="Include personal answers (names, phones, file names of photos): only "
        "for the city's admins, or a ward's leader exporting their ward; 403 for others"
    ),
]
FromQuery = Annotated[str | None, Query(alias="from", **DATE_TIME)]
ToQuery = Annotated[str | None, Query(alias="to", **DATE_TIME)]


def _filters(
    ward: int | None,
    settlement: int | None,
    status: str | None,
    collected_from: str | None,
    collected_to: str | None,
    surveys: Counted,
) -> ExportFilters:
    start, end = time_range(collected_from, collected_to)
    return ExportFilters(ward, settlement, status, start, end, surveys)


def _filename(
    layer: str,
    city: str,
    filters: ExportFilters,
    fmt: str,
    labels: str | None = None,
    personal: bool = False,
) -> str:
    """The file's name says what it holds: two exports with different filters never land
    under one name in a Downloads folder (a settlement's file overwrote its city's), and a
    file with households' personal fields says so."""
    parts = [layer, city]
    if filters.ward_id:
        parts.append(f"ward-{filters.ward_id}")
    if filters.settlement_id:
        parts.append(f"settlement-{filters.settlement_id}")
    if filters.status:
        parts.append(filters.status)
    elif filters.surveys != "approved":
        parts.append(f"surveys-{filters.surveys}")
    for name, moment in (("from", filters.collected_from), ("to", filters.collected_to)):
        if moment is not None:
            parts.append(f"{name}-{_file_moment(moment)}")
    if labels:
        parts.append(f"labels-{labels}")
    if personal:
        parts.append("personal")
    return f"{'-'.join(parts)}.{fmt}"


def _file_moment(moment: datetime) -> str:
    """A range's end in Vietnam's time: its day, and its time of day unless it is midnight
    (in UTC for the last hours of year 9999, which Vietnam's time would take past it)."""
    try:
        local = moment.astimezone(VIETNAM_TIME)
    except OverflowError:
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    return local.strftime("%Y-%m-%d" if local.time() == time() else "%Y-%m-%dT%H%M%S")


async def _export(
    filename: str,
    form: bool,
    city: str,
    user: Any,
    engine: Any,
    slots: ExportSlots,
    builds: FileBuilds,
    forms: Any,
    settings: Any,
    language: str,
    filters: ExportFilters,
    labels: str | None,
    repeat: str | None,
    personal: bool,
) -> Response:
    layer, fmt = export_files.split_format(filename)
    if form and not FORM_ID.match(layer):
        raise InvalidInput([Problem("form_id", "invalid_form_id")])
    query = await layer_query(
        engine,
        forms,
        layer,
        layer if form else None,
        city,
        user,
        filters,
        labels,
        settings.priorities_path,
        settings.household_form,
        personal,
    )
    built: Awaitable[Layer | TempFile | export_files.CsvStream | export_files.TextStream]
    if fmt == "geojson":
        built = export_files.geojson_layer(engine, slots, query)
    elif fmt == "csv":
        built = export_files.csv_layer(engine, slots, query, repeat)
    elif fmt == "kml":
        built = export_files.kml_layer(engine, slots, query)
    else:
        built = export_files.file_layer(engine, slots, builds, query, fmt)
    name = f"{layer}-{repeat}" if repeat and fmt == "csv" else layer
    return await _respond(
        built,
        _filename(name, city, filters, fmt, labels, personal),
        settings.export_stall_seconds,
        language,
        fmt,
    )


@router.get(
    "/layers.gpkg",
    responses={
        200: {"content": {GEOPACKAGE: {}}, "description": "An OGC GeoPackage"},
        403: PERSONAL_REFUSED,
        404: {"model": ErrorOut},
        503: RESPONSES[503],
    },
    response_class=Response,
)
async def geopackage(
    city: CityQuery,
    user: CurrentUser,
    engine: ReadEngineDep,
    slots: SlotsDep,
    builds: BuildsDep,
    forms: FormsDep,
    settings: SettingsDep,
    language: LanguageDep,
    ward: IdQuery = None,
    surveys: Counted = "approved",
    labels: LabelsQuery = None,
    personal: PersonalQuery = False,
) -> Response:
    """Every layer in one GeoPackage for QGIS, as `/cities/{slug}.gpkg` but without the
    QGIS styles (its layers are exactly the data layers), of a city or of one ward (`ward`:
    no city-wide wards layer)."""
    filters = ExportFilters(ward_id=ward, surveys=surveys)
    return await _respond(
        export_files.city_geopackage(
            engine,
            slots,
            builds,
            forms,
            city,
            user,
            filters,
            settings.priorities_path,
            labels,
            settings.household_form,
            personal,
            styled=False,
        ),
        _filename("cdfmap", city, filters, "gpkg", labels, personal),
        settings.export_stall_seconds,
        language,
        "gpkg",
    )


@router.get(
    "/cities/{slug}.gpkg",
    responses={
        200: {"content": {GEOPACKAGE: {}}, "description": "An OGC GeoPackage"},
        403: PERSONAL_REFUSED,
        404: {"model": ErrorOut},
        503: RESPONSES[503],
    },
    response_class=Response,
)
async def city_geopackage(
    slug: CityPath,
    user: CurrentUser,
    engine: ReadEngineDep,
    slots: SlotsDep,
    builds: BuildsDep,
    forms: FormsDep,
    settings: SettingsDep,
    language: LanguageDep,
    surveys: Counted = "approved",
    labels: LabelsQuery = None,
    personal: PersonalQuery = False,
) -> Response:
    """All layers of a city in one GeoPackage that opens styled in QGIS: `wards` and
    `settlements` (figures, priority score, class and ranks; coloured by priority class),
    `households` (coloured by tenure), one layer per other form named by its form id, each
    repeat a related table `<layer>_<repeat>` (survey id, position, answers); spatial
    indexes, layer descriptions, a QGIS style per layer in `layer_styles`. Personal fields
    only for the city's admins."""
    filters = ExportFilters(surveys=surveys)
    return await _respond(
        export_files.city_geopackage(
            engine,
            slots,
            builds,
            forms,
            slug,
            user,
            filters,
            settings.priorities_path,
            labels,
            settings.household_form,
            personal,
        ),
        _filename("cdfmap", slug, filters, "gpkg", labels, personal),
        settings.export_stall_seconds,
        language,
        "gpkg",
    )


@router.get("/forms/{filename}", responses=FILE_RESPONSES, response_class=Response)
async def form_layer(
    filename: str,
    city: CityQuery,
    user: CurrentUser,
    engine: ReadEngineDep,
    slots: SlotsDep,
    builds: BuildsDep,
    forms: FormsDep,
    settings: SettingsDep,
    language: LanguageDep,
    ward: IdQuery = None,
    settlement: IdQuery = None,
    status: StatusQuery = None,
    collected_from: FromQuery = None,
    collected_to: ToQuery = None,
    surveys: Counted = "approved",
    labels: LabelsQuery = None,
    repeat: RepeatQuery = None,
    personal: PersonalQuery = False,
) -> Response:
    """The surveys of one form as their own layer, `{form_id}.{geojson|gpkg|csv|xlsx|kml|
    shp.zip}` (e.g. `settlement.gpkg`): as `/{layer}.{format}`; a survey without a location
    has a null geometry (no lon/lat)."""
    filters = _filters(ward, settlement, status, collected_from, collected_to, surveys)
    return await _export(
        filename,
        True,
        city,
        user,
        engine,
        slots,
        builds,
        forms,
        settings,
        language,
        filters,
        labels,
        repeat,
        personal,
    )


@router.get("/{filename}", responses=FILE_RESPONSES, response_class=Response)
async def layer_file(
    filename: str,
    city: CityQuery,
    user: CurrentUser,
    engine: ReadEngineDep,
    slots: SlotsDep,
    builds: BuildsDep,
    forms: FormsDep,
    settings: SettingsDep,
    language: LanguageDep,
    ward: IdQuery = None,
    settlement: IdQuery = None,
    status: StatusQuery = None,
    collected_from: FromQuery = None,
    collected_to: ToQuery = None,
    surveys: Counted = "approved",
    labels: LabelsQuery = None,
    repeat: RepeatQuery = None,
    personal: PersonalQuery = False,
) -> Response:
    """A layer, `{layer}.{geojson|gpkg|csv|xlsx|kml|shp.zip}`: `wards` and `settlements`
    (households surveyed, deficiency shares and counts, priority score, class 1-5, ranks),
    `households` (the household form's surveys, answers flattened: choices as codes, or as
    labels with `labels=vi|en`, a select_multiple also as one 0/1 column per choice).
    Filters as the survey list: `ward`, `settlement`, `status` (else approved surveys;
    `surveys=all` every one not rejected), `from`/`to` (collection time). GeoJSON and CSV
    (UTF-8 with BOM, lon/lat or WKT, no formula) stream; `repeat=<name>` gives a CSV of a
    repeat's rows. Personal fields only for the roles that may see them."""
    filters = _filters(ward, settlement, status, collected_from, collected_to, surveys)
    return await _export(
        filename,
        False,
        city,
        user,
        engine,
        slots,
        builds,
        forms,
        settings,
        language,
        filters,
        labels,
        repeat,
        personal,
    )
