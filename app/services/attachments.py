"""Use case: store a survey's photo once, on disk and as a row, idempotently."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import attachments as queries
from app.errors import Conflict, InvalidInput, NotFound, Problem, UnknownForm
from app.forms.registry import FormRegistry
from app.services.access import Principal

ALLOWED_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
# Letters, digits, dot, dash, underscore; starts with a letter or digit (no "..", no "/").
SAFE_FILENAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")  # used with fullmatch
# Question types whose answer names a file the phone sends after the survey.
FILE_TYPES = frozenset({"image", "audio", "video", "file", "background-audio"})
_SIGNATURES = {
    "image/jpeg": lambda data: data.startswith(b"\xff\xd8\xff"),
    "image/png": lambda data: data.startswith(b"\x89PNG\r\n\x1a\n"),
    "image/webp": lambda data: data[:4] == b"RIFF" and data[8:12] == b"WEBP",
}


@dataclass(frozen=True)
class AttachmentLimits:
    """How many photos, and how many bytes in all, one survey may have."""

    max_files: int = 20
    max_total_bytes: int = 10 * 1024 * 1024


def expected_files(forms: FormRegistry, survey: dict[str, Any]) -> set[str]:
    """The file names a stored survey gives as answers to its photo (file) questions."""
    answers = survey["answers"] or {}
    try:
        form = forms.get(survey["form_id"], survey["form_version"])
    except UnknownForm:  # a version no longer on the server: any answer that names a file
        return {v for v in answers.values() if type(v) is str and SAFE_FILENAME.fullmatch(v)}
    return {
        answers[q.name]
        for q in form.questions
        if q.type in FILE_TYPES and type(answers.get(q.name)) is str
    }


@dataclass(frozen=True)
class StoredAttachment:
    """The outcome of an upload: `created` or `unchanged` (same bytes sent again)."""

    outcome: Literal["created", "unchanged"]
    record: dict[str, Any]


def media_type(content_type: str | None) -> str | None:
    """The bare media type of a Content-Type header when it is an accepted image type."""
    bare = (content_type or "").split(";")[0].strip().lower()
    return bare if bare in ALLOWED_TYPES else None


def check_upload(filename: str, content_type: str, data: bytes) -> None:
    """Raise InvalidInput when the name is unsafe, the body empty or not the announced image."""
    problems = []
    # fullmatch: with match() and `$`, "a.jpg\n" passed (a `$` also matches before a final \n).
    if not SAFE_FILENAME.fullmatch(filename) or ".." in filename:
        problems.append(Problem("filename", "invalid_filename", {"filename": filename[:140]}))
    if not data:
        problems.append(Problem("body", "empty_upload"))
    elif not _SIGNATURES[content_type](data):
        problems.append(Problem("body", "image_mismatch", {"type": content_type}))
    if problems:
        raise InvalidInput(problems)


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


async def store_attachment(
    engine: AsyncEngine,
    forms: FormRegistry,
    sender: Principal,
    media_dir: Path,
    submission_id: uuid.UUID,
    filename: str,
    content_type: str,
    data: bytes,
    limits: AttachmentLimits | None = None,
) -> StoredAttachment:
    """Store a photo under media_dir/<survey id>/<filename>; same bytes again change nothing.

    Only the files a survey names in its answers are taken, within `limits`. Raises NotFound
    for an unknown survey, InvalidInput for a file it does not name or one too many, and
    Conflict when other bytes are stored under the same name (a stored photo is never
    replaced).
    """
    limits = limits or AttachmentLimits()
    check_upload(filename, content_type, data)
    digest = hashlib.sha256(data).hexdigest()
    path = media_dir / str(submission_id) / filename
    async with engine.begin() as connection:
        # Locked so that parallel uploads to one survey are counted one after the other.
        survey = await queries.survey_for_files(connection, submission_id, lock=True)
        # Its collector sends a survey's photos (a reviewer may too); for anyone else the
        # survey does not exist.
        if survey is None or not (
            survey["collector_user_id"] == sender.user_id or sender.can_review(survey)
        ):
            raise NotFound("survey_not_found", id=str(submission_id))
        existing = await queries.get_attachment(connection, submission_id, filename)
        if existing is None:
            if filename not in expected_files(forms, survey):
                raise InvalidInput(
                    [Problem("filename", "attachment_not_in_survey", {"filename": filename})]
                )
            count, total = await queries.attachment_totals(connection, submission_id)
            if count >= limits.max_files:
                raise InvalidInput(
                    [Problem("filename", "too_many_attachments", {"max": limits.max_files})]
                )
            if total + len(data) > limits.max_total_bytes:
                max_mb = round(limits.max_total_bytes / 1024 / 1024, 1)
                raise InvalidInput([Problem("body", "attachments_too_large", {"max_mb": max_mb})])
            inserted = await queries.insert_attachment(
                connection, submission_id, filename, content_type, len(data), digest
            )
            if inserted is not None:
                # Written inside the transaction: a failed write rolls the row back.
                await asyncio.to_thread(_write_atomically, path, data)
                return StoredAttachment("created", inserted)
            existing = await queries.get_attachment(connection, submission_id, filename)
    if existing is None or existing["sha256"] != digest:
        raise Conflict("attachment_conflict", filename=filename, id=str(submission_id))
    if not path.is_file():  # the media folder was lost or restored without this file
        await asyncio.to_thread(_write_atomically, path, data)
    return StoredAttachment("unchanged", existing)


async def stored_photo(
    engine: AsyncEngine,
    media_dir: Path,
    submission_id: uuid.UUID,
    filename: str,
    reader: Principal,
) -> tuple[Path, str]:
    """A survey's stored file (path, media type), for a reader who may see personal fields;
    NotFound for anyone else, as for a file that does not exist."""
    if not SAFE_FILENAME.fullmatch(filename) or ".." in filename:
        raise NotFound("file_not_found", filename=filename[:140])
    async with engine.connect() as connection:
        survey = await queries.survey_for_files(connection, submission_id)
        if survey is None or not reader.can_see_personal(survey):
            raise NotFound("file_not_found", filename=filename)
        row = await queries.get_attachment(connection, submission_id, filename)
    path = media_dir / str(submission_id) / filename
    if row is None or row["content_type"] not in ALLOWED_TYPES or not path.is_file():
        raise NotFound("file_not_found", filename=filename)
    return path, str(row["content_type"])
