"""Upload a city's ward and settlement boundaries (the admin page, or any API client).

`POST /api/v1/cities/{slug}/boundaries` takes multipart/form-data: `wards` (a file),
`settlements` (an optional file), `name` and `province` (a new city: national admins only),
`crs` for files that name none (a file that names its own keeps it), and per file its layer
and the columns of code and name. Who may is checked before the upload is read; the files
are read and checked in a worker thread; one transaction writes everything, or a 422 lists
each bad feature (one reaching into another city's wards among them) and nothing changes.
This route alone takes bodies up to `max_boundary_upload_bytes` (app/api/limits.py).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException

from app.api.deps import CityPath, CurrentUser, EngineDep, LanguageDep
from app.api.responses import JSON
from app.api.schemas import error_responses
from app.errors import InvalidInput, Problem, UnsupportedMediaType
from app.geo.boundary_files import SUFFIXES, ZIP_SUFFIX
from app.services import boundaries
from app.services.boundaries import LayerOptions

router = APIRouter(prefix="/api/v1", tags=["places"])
# The path whose bodies may be larger than max_body_bytes (app.main passes it to BodySizeLimit).
UPLOAD_PATH = r"/api/v1/cities/[^/]+/boundaries"
FILES = ("wards", "settlements")
CRS_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,15}:[0-9]{1,9}$"
# Text fields and their longest values.
TEXT_FIELDS = {
    "name": 120,
    "province": 120,
    "crs": 30,
    "wards_layer": 120,
    "wards_code_field": 64,
    "wards_name_field": 64,
    "settlements_layer": 120,
    "settlements_code_field": 64,
    "settlements_name_field": 64,
    "settlements_ward_field": 64,
}
FIELD_HELP = {
    "name": "The city's name: needed for a new city (national admins only); for a city "
    "already there, a new name.",
    "province": "The city's province.",
    "crs": "The coordinates' system of a file that names none (a .shp without .prj, a "
    "GeoJSON file without `crs`), e.g. EPSG:9210 (VN-2000), EPSG:32649 (UTM 49N). A file "
    "that names its own keeps its own (a warning says so when it differs).",
    "wards_layer": "The GeoPackage layer of wards (the only one by default).",
    "wards_code_field": "The column holding each ward's code (default `code`).",
    "wards_name_field": "The column holding each ward's name (default `name`).",
    "settlements_layer": "The GeoPackage layer of settlements (the only one by default).",
    "settlements_code_field": "The column holding each settlement's code (default `code`).",
    "settlements_name_field": "The column holding each settlement's name (default `name`).",
    "settlements_ward_field": "The column holding each settlement's ward code (default "
    "`ward_code`; without it a settlement takes the ward it lies in).",
}


def _form_schema() -> dict[str, Any]:
    properties: dict[str, Any] = {
        "wards": {
            "type": "string",
            "format": "binary",
            "description": "Ward polygons: GeoJSON, GeoPackage (.gpkg) or a zipped Shapefile.",
        },
        "settlements": {
            "type": "string",
            "format": "binary",
            "description": "Settlement polygons, in the same formats.",
        },
    }
    for name, longest in TEXT_FIELDS.items():
        properties[name] = {"type": "string", "maxLength": longest, "description": FIELD_HELP[name]}
    properties["crs"]["pattern"] = CRS_PATTERN
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {"type": "object", "required": ["wards"], "properties": properties}
                }
            },
        }
    }


def _texts(form: FormData) -> dict[str, str | None]:
    """The form's text fields, stripped (None when empty), or InvalidInput naming each bad one."""
    values: dict[str, str | None] = {}
    problems = []
    for name, longest in TEXT_FIELDS.items():
        raw = form.get(name)
        if raw is None or isinstance(raw, str):
            value = (raw or "").strip()
        else:
            problems.append(Problem(name, "not_text"))
            continue
        if len(value) > longest:
            problems.append(Problem(name, "text_too_long", {"max": longest}))
        elif any(not character.isprintable() for character in value):
            problems.append(Problem(name, "nul_character"))
        values[name] = value or None
    crs = values.get("crs")
    if crs and not re.fullmatch(CRS_PATTERN, crs):
        problems.append(Problem("crs", "boundary_unknown_crs", {"crs": crs, "file": ""}))
    if problems:
        raise InvalidInput(problems)
    return values


def _label(upload: UploadFile, field: str) -> str:
    """The file's name as the person knows it, for messages (printable, not too long)."""
    name = "".join(c for c in (upload.filename or "") if c.isprintable()).strip()
    return name[-100:] or field


def _save(form: FormData, directory: Path) -> dict[str, tuple[Path, str]]:
    """Copy each uploaded file to `directory` under a name of ours with the file's own
    extension (which says its format): field -> (path, label)."""
    saved: dict[str, tuple[Path, str]] = {}
    for field in FILES:
        upload = form.get(field)
        if upload is None or upload == "":
            if field == "wards":
                raise InvalidInput([Problem(field, "boundary_file_required", {"field": field})])
            continue
        if not isinstance(upload, UploadFile):
            raise InvalidInput([Problem(field, "boundary_file_required", {"field": field})])
        label = _label(upload, field)
        suffix = Path(label).suffix.lower()
        known = suffix in SUFFIXES or suffix == ZIP_SUFFIX
        path = directory / f"{field}{suffix if known else ''}"
        upload.file.seek(0)
        with path.open("wb") as target:
            shutil.copyfileobj(upload.file, target, 1024 * 1024)
        saved[field] = (path, label)
    return saved


def _options(values: dict[str, str | None], prefix: str) -> LayerOptions:
    return LayerOptions(
        layer=values.get(f"{prefix}_layer"),
        code_field=values.get(f"{prefix}_code_field") or "code",
        name_field=values.get(f"{prefix}_name_field") or "name",
        ward_code_field=values.get(f"{prefix}_ward_field") or "ward_code",
    )


@router.post(
    "/cities/{slug}/boundaries",
    responses={
        201: {"description": "A new city was created with its boundaries"},
        **error_responses(400, 401, 403, 404, 413, 415, 422),
    },
    openapi_extra=_form_schema(),
)
async def upload_boundaries(
    slug: CityPath,
    request: Request,
    user: CurrentUser,
    engine: EngineDep,
    language: LanguageDep,
) -> JSON:
    """Import a city's wards (and settlements) from GeoJSON, GeoPackage or a zipped Shapefile:
    matched by code, households placed again (each move on the survey's history); a new city
    for national admins. A 422 lists each bad feature (row and code; a ward or settlement
    more than 10 m inside another city's wards names that ward) and nothing is changed."""
    await boundaries.check_import_allowed(engine, user, slug)
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "multipart/form-data":
        raise UnsupportedMediaType("multipart_required")
    try:
        form = await request.form(max_files=len(FILES), max_fields=len(TEXT_FIELDS) + 4)
    except HTTPException as exc:  # a malformed body, too many parts
        raise InvalidInput([Problem("", "multipart_required")]) from exc
    try:
        values = _texts(form)
        with tempfile.TemporaryDirectory(prefix="cdfmap-boundaries-") as directory:
            saved = await run_in_threadpool(_save, form, Path(directory))
            wards_path, wards_label = saved["wards"]
            settlements_path, settlements_label = saved.get("settlements", (None, None))
            read = partial(
                boundaries.read_boundaries,
                wards_path,
                settlements_path,
                crs=values.get("crs"),
                wards_options=_options(values, "wards"),
                settlements_options=_options(values, "settlements"),
                labels=(wards_label, settlements_label),
            )
            summary = await boundaries.import_upload(
                engine,
                user,
                slug=slug,
                name=values.get("name"),
                province=values.get("province"),
                read=read,
            )
    finally:
        await form.close()
    return JSON(summary.as_dict(language), status_code=201 if summary.created else 200)
