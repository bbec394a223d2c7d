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
from app.errors import Conflict, InvalidInput, NotFound, Problem

ALLOWED_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
# Letters, digits, dot, dash, underscore; starts with a letter or digit (no "..", no "/").
SAFE_FILENAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_SIGNATURES = {
    "image/jpeg": lambda data: data.startswith(b"\xff\xd8\xff"),
    "image/png": lambda data: data.startswith(b"\x89PNG\r\n\x1a\n"),
    "image/webp": lambda data: data[:4] == b"RIFF" and data[8:12] == b"WEBP",
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
    if not SAFE_FILENAME.match(filename) or ".." in filename:
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
    media_dir: Path,
    submission_id: uuid.UUID,
    filename: str,
    content_type: str,
    data: bytes,
) -> StoredAttachment:
    """Store a photo under media_dir/<survey id>/<filename>; same bytes again change nothing.

    Raises NotFound for an unknown survey and Conflict when other bytes are stored under the
    same name (the stored photo is never replaced).
    """
    check_upload(filename, content_type, data)
    digest = hashlib.sha256(data).hexdigest()
    path = media_dir / str(submission_id) / filename
    async with engine.begin() as connection:
        if not await queries.submission_exists(connection, submission_id):
            raise NotFound(what=f"survey {submission_id}")
        existing = await queries.get_attachment(connection, submission_id, filename)
        if existing is None:
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
