"""Queries on survey attachments (photos)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_COLUMNS = "id, submission_id, filename, content_type, size_bytes, sha256, created_at"


async def submission_exists(connection: AsyncConnection, submission_id: uuid.UUID) -> bool:
    """True when a household survey with this id is stored."""
    result = await connection.execute(
        text("SELECT 1 FROM household_surveys WHERE id = :id"), {"id": submission_id}
    )
    return result.first() is not None


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
