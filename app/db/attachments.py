"""Queries on survey attachments (photos)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_COLUMNS = "id, submission_id, filename, content_type, size_bytes, sha256, created_at"


async def survey_for_files(
    connection: AsyncConnection, submission_id: uuid.UUID, lock: bool = False
) -> dict[str, Any] | None:
    """What decides a survey's files (its form, answers, place and collector), its row
    locked until the transaction ends when `lock` (uploads are counted one after the other);
    or None."""
    result = await connection.execute(
        text(
            "SELECT form_id, form_version, answers, city_id, ward_id, collector_user_id, status "
            "FROM household_surveys WHERE id = :id" + (" FOR NO KEY UPDATE" if lock else "")
        ),
        {"id": submission_id},
    )
    row = result.mappings().first()
    return dict(row) if row else None


async def attachment_totals(
    connection: AsyncConnection, submission_id: uuid.UUID
) -> tuple[int, int]:
    """How many files a survey has stored, and their bytes in all."""
    result = await connection.execute(
        text(
            "SELECT count(*), coalesce(sum(size_bytes), 0) FROM attachments "
            "WHERE submission_id = :id"
        ),
        {"id": submission_id},
    )
    count, total = result.one()
    return int(count), int(total)


async def get_attachment(
    connection: AsyncConnection, submission_id: uuid.UUID, filename: str
) -> dict[str, Any] | None:
    """The stored attachment row, or None."""
    result = await connection.execute(
        text(
            f"SELECT {_COLUMNS} FROM attachments "
            "WHERE submission_id = :submission_id AND filename = :filename"
        ),
        {"submission_id": submission_id, "filename": filename},
    )
    row = result.mappings().first()
    return dict(row) if row else None


async def insert_attachment(
    connection: AsyncConnection,
    submission_id: uuid.UUID,
    filename: str,
    content_type: str,
    size_bytes: int,
    sha256: str,
) -> dict[str, Any] | None:
    """Insert a row unless (submission, filename) is stored already; None when it was."""
    result = await connection.execute(
        text(
            "INSERT INTO attachments (submission_id, filename, content_type, size_bytes, sha256) "
            "VALUES (:submission_id, :filename, :content_type, :size_bytes, :sha256) "
            f"ON CONFLICT (submission_id, filename) DO NOTHING RETURNING {_COLUMNS}"
        ),
        {
            "submission_id": submission_id,
            "filename": filename,
            "content_type": content_type,
            "size_bytes": size_bytes,
            "sha256": sha256,
        },
    )
    row = result.mappings().first()
    return dict(row) if row else None


async def list_attachments(
    connection: AsyncConnection, submission_id: uuid.UUID
) -> list[dict[str, Any]]:
    """The attachments of one survey, by filename."""
    result = await connection.execute(
        text(
            f"SELECT {_COLUMNS} FROM attachments WHERE submission_id = :submission_id "
            "ORDER BY filename"
        ),
        {"submission_id": submission_id},
    )
    return [dict(row) for row in result.mappings()]
