"""Files of a survey (photos, sound recordings, documents), uploaded by the phone after the
survey is stored."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from app.api.deps import CurrentUser, EngineDep, FormsDep, LanguageDep, SettingsDep
from app.api.errors import error_body
from app.api.responses import JSON
from app.api.schemas import ErrorOut
from app.i18n import translate
from app.services import attachments

router = APIRouter(prefix="/api/v1/submissions", tags=["attachments"])
# The upload's path, for the body size limit (app.main): larger than other requests' for
# recordings; each kind's own limit is checked by the service.
UPLOAD_PATH = r"/api/v1/submissions/[^/]+/attachments/[^/]+"
MAX_UPLOAD_BYTES = attachments.MAX_UPLOAD_BYTES


def _out(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "submission_id": str(record["submission_id"]),
        "filename": record["filename"],
        "content_type": record["content_type"],
        "size_bytes": record["size_bytes"],
        "sha256": record["sha256"],
        "created_at": record["created_at"].isoformat(),
    }


@router.post(
    "/{submission_id:uuid}/attachments/{filename}",
    status_code=201,
    responses={
        200: {"description": "The same bytes were stored before: nothing changed"},
        404: {"model": ErrorOut},
        409: {"model": ErrorOut},
        413: {"model": ErrorOut},
        415: {"model": ErrorOut},
        422: {"model": ErrorOut},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                kind: {"schema": {"type": "string", "format": "binary"}}
                for kind in sorted(attachments.ALLOWED_TYPES)
            },
        }
    },
)
async def upload_attachment(
    submission_id: uuid.UUID,
    filename: str,
    request: Request,
    user: CurrentUser,
    engine: EngineDep,
    forms: FormsDep,
    settings: SettingsDep,
    language: LanguageDep,
) -> JSON:
    """Store a file of a stored survey, the raw bytes as the body: a photo (JPEG, PNG, WebP;
    up to the survey's attachment limit, 10 MB), a recording (WebM, Ogg, M4A, MP3, AAC, AMR,
    WAV; 8 MB) or a document (PDF, text, CSV, DOCX, XLSX, ODT, ZIP, JPEG, PNG; 5 MB), each
    only for a question of its kind (415 otherwise). A resend of the same bytes answers 200."""
    content_type = attachments.media_type(request.headers.get("content-type"))
    if content_type is None:
        allowed = ", ".join(sorted(attachments.ALLOWED_TYPES))
        message = translate("unsupported_media_type", language, allowed=allowed)
        return JSON(error_body("unsupported_media_type", message), status_code=415)
    data = await request.body()
    limits = attachments.AttachmentLimits(
        settings.max_attachments_per_survey,
        settings.max_attachment_bytes_per_survey,
    )
    stored = await attachments.store_attachment(
        engine, forms, user, settings.media_dir, submission_id, filename, content_type, data, limits
    )
    status = 201 if stored.outcome == "created" else 200
    return JSON(_out(stored.record), status_code=status)


@router.get(
    "/{submission_id:uuid}/attachments/{filename}",
    response_class=FileResponse,
    responses={
        200: {"content": {kind: {} for kind in sorted(attachments.ALLOWED_TYPES)}},
        404: {"model": ErrorOut},
    },
)
async def read_attachment(
    submission_id: uuid.UUID,
    filename: str,
    user: CurrentUser,
    engine: EngineDep,
    settings: SettingsDep,
) -> FileResponse:
    """A survey's file, for the roles that may see personal fields (404 for the others)."""
    path, media_type = await attachments.stored_photo(
        engine, settings.media_dir, submission_id, filename, user
    )
    # Images and sound open in the page; a document is downloaded, never shown by the browser.
    shown = media_type.startswith(("image/", "audio/"))
    return FileResponse(
        path,
        media_type=media_type,
        headers={
            "Content-Disposition": f'{"inline" if shown else "attachment"}; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )
