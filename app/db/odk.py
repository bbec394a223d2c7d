"""Queries for ODK Collect: phone tokens of a person (Digest), the instance XML sent."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.pool import StatementPool

# A person by username with their roles and live phone tokens: what a Digest answer is
# checked against (one statement, cached by the caller).
_DIGEST_USER = """
SELECT u.id AS user_id, u.username, u.display_name,
       coalesce(
         (SELECT json_agg(json_build_object(
                   'role', g.role, 'city_id', g.city_id, 'ward_id', g.ward_id, 'city', c.slug)
                   ORDER BY g.id)
          FROM role_grants g LEFT JOIN cities c ON c.id = g.city_id
          WHERE g.user_id = u.id), '[]') AS grants,
       coalesce(
         (SELECT json_agg(json_build_object('id', t.id, 'hash', encode(t.token_hash, 'hex')))
          FROM auth_tokens t
          WHERE t.user_id = u.id AND t.kind = 'device' AND t.revoked_at IS NULL
            AND t.expires_at > now()), '[]') AS tokens
FROM users u
WHERE u.username = $1 AND u.is_active
"""


async def digest_user(pool: StatementPool, username: str) -> dict[str, Any] | None:
    """An active person by username: id, names, grants and live phone tokens (id, hash)."""
    records = await pool.fetch(_DIGEST_USER, username)
    if not records:
        return None
    row = dict(records[0])
    row["grants"] = orjson.loads(row["grants"])
    row["tokens"] = [
        (uuid.UUID(t["id"]), bytes.fromhex(t["hash"])) for t in orjson.loads(row["tokens"])
    ]
    return row


async def insert_phone_token(
    connection: AsyncConnection,
    token_id: uuid.UUID,
    user_id: int,
    token_hash: bytes,
    expires_at: datetime,
    name: str,
) -> None:
    """Store a phone token for ODK Collect (a device token: listed and revoked with the
    person's other phones)."""
    await connection.execute(
        text(
            "INSERT INTO auth_tokens (id, user_id, kind, token_hash, expires_at, name) "
            "VALUES (:id, :user_id, 'device', :token_hash, :expires_at, :name)"
        ),
        {
            "id": token_id,
            "user_id": user_id,
            "token_hash": token_hash,
            "expires_at": expires_at,
            "name": name,
        },
    )


async def sent_instance(pool: StatementPool, instance_id: str) -> dict[str, Any] | None:
    """What was stored for an instanceID: its survey and the hash of its XML."""
    records = await pool.fetch(
        "SELECT instance_id, survey_id, xml_sha256, form_id, form_version "
        "FROM odk_submissions WHERE instance_id = $1",
        instance_id,
    )
    return dict(records[0]) if records else None


async def remember_instance(
    pool: StatementPool,
    *,
    instance_id: str,
    survey_id: uuid.UUID,
    deprecated_id: str | None,
    form_id: str,
    form_version: str,
    xml_sha256: str,
    xml: str,
    user_id: int | None,
) -> None:
    """Keep an instance's XML (the first one sent under its instanceID wins)."""
    await pool.fetch(
        "INSERT INTO odk_submissions (instance_id, survey_id, deprecated_id, form_id, "
        "form_version, xml_sha256, xml, user_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
        "ON CONFLICT (instance_id) DO NOTHING",
        instance_id,
        survey_id,
        deprecated_id,
        form_id,
        form_version,
        xml_sha256,
        xml,
        user_id,
    )
