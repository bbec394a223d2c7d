"""Use case: before and after photos of an upgrading project, stored once on disk and as a row.

Reuses the survey attachments' checks (app.services.attachments): safe file names, the bytes
must be the announced image type (JPEG, PNG, WebP), the same bytes sent again change nothing,
other bytes under a stored name are a conflict (a stored photo is never replaced).

Photos of a settlement show houses and people: they are personal data. Like a survey's
photos, only those who may see personal fields in the project's ward see them (its ward
leader, the city's admins, national admins); planners and volunteers see the project
without its photos. The city's admins and national admins add them.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import cdf_projects as queries
from app.errors import Conflict, Forbidden, InvalidInput, NotFound, PayloadTooLarge, Problem
from app.services import attachments
from app.services.access import Principal

PHASES = ("before", "after")
IMAGE_TYPES = frozenset(attachments.IMAGE_TYPES)
MAX_PHOTO_BYTES = 2 * attachments.MIB  # a phone shrinks a photo to ~0.3 MB
MAX_PHOTOS_PER_PHASE = 10
FOLDER = "cdf-projects"


@dataclass(frozen=True)
class StoredPhoto:
    """The outcome of an upload: `created`, or `unchanged` (the same bytes sent again)."""

    outcome: Literal["created", "unchanged"]
    record: dict[str, Any]


def photo_path(media_dir: Path, project_id: int, phase: str, filename: str) -> Path:
    """Where a project's photo lives on disk."""
    return media_dir / FOLDER / str(project_id) / phase / filename


def may_see_photos(reader: Principal, project: dict[str, Any]) -> bool:
    """Whether a reader may see a project's photos (those who see personal fields there)."""
    return reader.can_see_personal({"city_id": project["city_id"], "ward_id": project["ward_id"]})


def photo_out(project_id: int, row: dict[str, Any]) -> dict[str, Any]:
    """A photo as the API lists it, with the URL it is read from."""
    return {
        "phase": row["phase"],
        "filename": row["filename"],
        "content_type": row["content_type"],
        "size_bytes": row["size_bytes"],
        "sha256": row["sha256"],
        "created_at": row["created_at"],
        "url": f"/api/v1/cdf/projects/{project_id}/photos/{row['phase']}/{row['filename']}",
    }


async def _project(connection: Any, reader: Principal, project_id: int) -> dict[str, Any]:
    from app.services.cdf_projects import readable_wards

    project = await queries.project(connection, project_id)
    if project is not None:
        wards = readable_wards(reader, project["city_id"])
        if wards is None or project["ward_id"] in wards:
            return project
    raise NotFound("cdf_project_not_found", id=project_id)


async def store_photo(
    engine: AsyncEngine,
    actor: Principal,
    media_dir: Path,
    project_id: int,
    phase: str,
    filename: str,
    content_type: str,
    data: bytes,
) -> StoredPhoto:
    """Store a photo under media_dir/cdf-projects/<id>/<phase>/<filename> (the city's admins
    and national admins); the same bytes again change nothing."""
    attachments.check_upload(filename, content_type, data)
    if len(data) > MAX_PHOTO_BYTES:
        raise PayloadTooLarge(max=MAX_PHOTO_BYTES)
    attachments.check_content(content_type, data)
    digest = hashlib.sha256(data).hexdigest()
    path = photo_path(media_dir, project_id, phase, filename)
    async with engine.begin() as connection:
        # Locked: parallel uploads to one project are counted one after the other.
        if await queries.lock_project(connection, project_id) is None:
            raise NotFound("cdf_project_not_found", id=project_id)
        project = await _project(connection, actor, project_id)
        if not actor.can_manage_city(project["city_id"]):
            raise Forbidden("not_allowed")
        existing = await queries.photo(connection, project_id, phase, filename)
        if existing is None:
            if await queries.count_photos(connection, project_id, phase) >= MAX_PHOTOS_PER_PHASE:
                problem = Problem(
                    "filename", "too_many_project_photos", {"max": MAX_PHOTOS_PER_PHASE}
                )
                raise InvalidInput([problem])
            values = {
                "phase": phase,
                "filename": filename,
                "content_type": content_type,
                "size_bytes": len(data),
                "sha256": digest,
                "created_by": actor.user_id or None,
            }
            inserted = await queries.insert_photo(connection, project_id, values)
            if inserted is not None:
                # Written inside the transaction: a failed write rolls the row back.
                await asyncio.to_thread(attachments._write_atomically, path, data)
                return StoredPhoto("created", photo_out(project_id, inserted))
            existing = await queries.photo(connection, project_id, phase, filename)
    if existing is None or existing["sha256"] != digest:
        raise Conflict("project_photo_conflict", filename=filename)
    if not path.is_file():  # the media folder was lost or restored without this file
        await asyncio.to_thread(attachments._write_atomically, path, data)
    return StoredPhoto("unchanged", photo_out(project_id, existing))


async def stored_photo(
    engine: AsyncEngine,
    reader: Principal,
    media_dir: Path,
    project_id: int,
    phase: str,
    filename: str,
) -> tuple[Path, str]:
    """A project's photo (path, media type) for a reader who may see it; NotFound for
    anyone else, as for a photo that does not exist."""
    if not attachments.SAFE_FILENAME.fullmatch(filename) or ".." in filename:
        raise NotFound("file_not_found", filename=filename[:140])
    async with engine.connect() as connection:
        try:
            project = await _project(connection, reader, project_id)
        except NotFound:
            raise NotFound("file_not_found", filename=filename) from None
        row = await queries.photo(connection, project_id, phase, filename)
    path = photo_path(media_dir, project_id, phase, filename)
    if (
        not may_see_photos(reader, project)
        or row is None
        or row["content_type"] not in IMAGE_TYPES
        or not path.is_file()
    ):
        raise NotFound("file_not_found", filename=filename)
    return path, str(row["content_type"])


async def project_photos(
    engine: AsyncEngine, reader: Principal, project: dict[str, Any]
) -> list[dict[str, Any]] | None:
    """A project's photos for a reader who may see them (None for anyone else)."""
    if not may_see_photos(reader, {"city_id": project["city_id"], "ward_id": project["ward_id"]}):
        return None
    async with engine.connect() as connection:
        rows = await queries.photos(connection, project["id"])
    return [photo_out(project["id"], row) for row in rows]
