"""Queries for ODK Collect: phone tokens of a person (Digest), the Digest answers taken, the
instance XML sent."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.pool import StatementPool

log = logging.getLogger(__name__)

# A person by username with their roles and live phone tokens: what a Digest answer is
# checked against (one statement, cached by the caller). A demo account only when $2.
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
WHERE u.username = $1 AND u.is_active AND (NOT u.is_demo OR $2)
"""


async def digest_user(
    pool: StatementPool, username: str, demo_accounts: bool
) -> dict[str, Any] | None:
    """An active person by username: id, names, grants and live phone tokens (id, hash); a
    demo account only when `demo_accounts`."""
    records = await pool.fetch(_DIGEST_USER, username, demo_accounts)
    if not records:
        return None
    row = dict(records[0])
    row["grants"] = orjson.loads(row["grants"])
    row["tokens"] = [
        (uuid.UUID(t["id"]), bytes.fromhex(t["hash"])) for t in orjson.loads(row["tokens"])
    ]
    return row


# A Digest answer taken: a row when it is new, none when some process took it before. The
# purging form also deletes the answers whose nonce has expired (a process runs it now and
# then, app.services.odk_auth): one statement either way.
_TAKE_ANSWER = """
INSERT INTO odk_digest_answers (answer, expires_at) VALUES ($1, $2)
ON CONFLICT (answer) DO NOTHING
RETURNING true
"""
_TAKE_ANSWER_AND_PURGE = (
    """
WITH purged AS (
  -- Rows another process is purging are left to it: no wait, no deadlock between purges.
  DELETE FROM odk_digest_answers WHERE answer IN (
    SELECT answer FROM odk_digest_answers WHERE expires_at < now() FOR UPDATE SKIP LOCKED))
"""
    + _TAKE_ANSWER
)


async def take_digest_answer(
    pool: StatementPool, answer: bytes, expires_at: datetime, purge: bool = False
) -> bool:
    """Whether this Digest answer (a hash of nonce, nc, cnonce) is taken here for the first
    time, by any process; with `purge`, the expired answers are deleted in the same
    statement."""
    records = await pool.fetch(
        _TAKE_ANSWER_AND_PURGE if purge else _TAKE_ANSWER, answer, expires_at
    )
    return bool(records)


# pg_advisory_xact_lock's class (its two-key form, the person's id the other key) for setting
# up a person's phone: "odkP" in ASCII. Two setups of one person at once would both find no
# live phone token and both make one.
PHONE_SETUP_LOCK = 0x6F646B50


async def live_device_tokens(connection: AsyncConnection, user_id: int) -> list[dict[str, Any]]:
    """A person's live device tokens (id, hash, expires_at), newest first, locked until the
    transaction ends, after the person's phone setup lock (held until then too)."""
    await connection.execute(
        text("SELECT pg_advisory_xact_lock(:lock, :user_id)"),
        {"lock": PHONE_SETUP_LOCK, "user_id": user_id},
    )
    rows = await connection.execute(
        text(
            "SELECT id, token_hash, expires_at FROM auth_tokens "
            "WHERE user_id = :user_id AND kind = 'device' AND revoked_at IS NULL "
            "AND expires_at > now() ORDER BY created_at DESC, id FOR UPDATE"
        ),
        {"user_id": user_id},
    )
    return [
        {"id": row.id, "token_hash": bytes(row.token_hash), "expires_at": row.expires_at}
        for row in rows
    ]


async def renew_token(
    connection: AsyncConnection, token_id: uuid.UUID, expires_at: datetime
) -> None:
    """Let a live token live until `expires_at` (never shorter than it had)."""
    await connection.execute(
        text(
            "UPDATE auth_tokens SET expires_at = greatest(expires_at, :expires_at) "
            "WHERE id = :id AND revoked_at IS NULL"
        ),
        {"id": token_id, "expires_at": expires_at},
    )


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


_CLAIM = """
INSERT INTO odk_submissions (instance_id, survey_id, deprecated_id, form_id, form_version,
                             xml_sha256, xml, user_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (instance_id) DO NOTHING
RETURNING instance_id
"""


async def claim_instance(raw: Any, row: dict[str, Any]) -> dict[str, Any] | None:
    """Take an instanceID for a survey inside the caller's transaction (asyncpg connection):
    None when it is now this row's, else what is stored under it. A concurrent transaction
    taking the same instanceID is waited for: its row is then seen once committed, and this
    one takes the instanceID if it rolled back."""
    if await raw.fetchval(_CLAIM, *(row[c] for c in INSTANCE_COLUMNS)) is not None:
        return None
    found = await raw.fetchrow(
        "SELECT instance_id, survey_id, xml_sha256 FROM odk_submissions WHERE instance_id = $1",
        row["instance_id"],
    )
    return dict(found) if found else None


async def survey_exists(raw: Any, survey_id: uuid.UUID) -> bool:
    """Whether a survey (of any form, sent by any path) is stored under this id."""
    return bool(
        await raw.fetchval(
            "SELECT EXISTS (SELECT 1 FROM household_surveys WHERE id = $1)", survey_id
        )
    )


_REMEMBER_MANY = """
INSERT INTO odk_submissions (instance_id, survey_id, deprecated_id, form_id, form_version,
                             xml_sha256, xml, user_id)
SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::text[], $8::int[])
ORDER BY 1  -- every writer locks instance ids in one order
ON CONFLICT (instance_id) DO NOTHING
"""
INSTANCE_COLUMNS = (
    "instance_id",
    "survey_id",
    "deprecated_id",
    "form_id",
    "form_version",
    "xml_sha256",
    "xml",
    "user_id",
)


async def remember_instances(pool: StatementPool, rows: list[dict[str, Any]]) -> None:
    """Keep instances' XML, one statement for many (the first sent under an instanceID wins)."""
    if rows:
        await pool.fetch(_REMEMBER_MANY, *([row[c] for row in rows] for c in INSTANCE_COLUMNS))


class InstanceWriter:
    """Writes the instance XML of submissions in shared statements, off the request's path.

    Why: stored by the request, the XML row was a second statement and a second commit for
    every survey Collect sent, beside the survey's own, and the request waited for both: with
    32 phones sending at once on the shared two-core machine, Collect's surveys per second
    fell to ~0.3x the JSON API's. Here rows queue and leave together (one statement per few
    dozen surveys under load, at once when alone), while the request answers.

    The rule: a row some later request must find (an instance without `start`/`end`, whose
    resend is told from a conflict by its XML) is written with `wait=True`: the request
    returns once it is committed. Any other row is history: a server killed in the instant
    after answering keeps the survey and may lose that XML copy. An edit's row is no queued
    row: it is taken with the correction, in its transaction (`claim_instance`).
    """

    def __init__(self, pool: StatementPool) -> None:
        self.pool = pool
        self._queued: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._writing: asyncio.Task[None] | None = None

    async def write(self, row: dict[str, Any], wait: bool = True) -> None:
        """Queue one instance row; with `wait`, return once it is committed (raising what the
        statement raised)."""
        done = asyncio.get_running_loop().create_future()
        self._queued.append((row, done))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.ensure_future(self._drain())
        if wait:
            await done

    async def flush(self) -> None:
        """Wait until every queued row is written (tests, shutdown)."""
        while self._writing is not None and not self._writing.done():
            await asyncio.shield(self._writing)

    async def _drain(self) -> None:
        while self._queued:
            await asyncio.sleep(0)  # the rows of requests answered in the same pass join
            batch, self._queued = self._queued, []
            try:
                await remember_instances(self.pool, [row for row, _ in batch])
            except Exception as exc:
                if len(batch) == 1:
                    _failed(batch, exc)
                else:
                    # One row the database refuses costs no other row (other phones' surveys,
                    # whose resends are told from conflicts by this XML): each alone.
                    for one in batch:
                        await self._write_alone(one)
            else:
                _written(batch)

    async def _write_alone(self, queued: tuple[dict[str, Any], asyncio.Future[None]]) -> None:
        try:
            await remember_instances(self.pool, [queued[0]])
        except Exception as exc:
            _failed([queued], exc)
        else:
            _written([queued])


def _written(batch: list[tuple[dict[str, Any], asyncio.Future[None]]]) -> None:
    for _, done in batch:
        if not done.done():
            done.set_result(None)


def _failed(batch: list[tuple[dict[str, Any], asyncio.Future[None]]], exc: Exception) -> None:
    log.warning("instance XML of %d submissions not kept: %r", len(batch), exc)
    for _, done in batch:
        if not done.done():
            done.set_exception(exc)
            done.exception()  # retrieved: a caller that did not wait is told here
