"""Queries on people, their roles, their tokens and enrolment codes, and the audit log."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.pool import StatementPool

# One statement per request that is not in the token cache: the token, its person, their
# roles (a ward grant carries its city's slug). A demo account's tokens ($2: whether demo
# accounts may sign in) are live only in demo mode.
_PRINCIPAL_BY_TOKEN = """
SELECT t.id AS token_id, t.kind, u.id AS user_id, u.username, u.display_name,
       coalesce(
         (SELECT json_agg(json_build_object(
                   'role', g.role, 'city_id', g.city_id, 'ward_id', g.ward_id, 'city', c.slug,
                   'cdf_group_id', g.cdf_group_id) ORDER BY g.id)
          FROM role_grants g LEFT JOIN cities c ON c.id = g.city_id
          WHERE g.user_id = u.id), '[]') AS grants
FROM auth_tokens t JOIN users u ON u.id = t.user_id
WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > now() AND u.is_active
  AND (NOT u.is_demo OR $2)
"""


async def principal_by_token(
    pool: StatementPool, token_hash: bytes, demo_accounts: bool
) -> dict[str, Any] | None:
    """The person behind a live token (id, names, kind, grants), or None; a demo account
    only when `demo_accounts`."""
    records = await pool.fetch(_PRINCIPAL_BY_TOKEN, token_hash, demo_accounts)
    if not records:
        return None
    row = dict(records[0])
    row["grants"] = orjson.loads(row["grants"])
    row["token_id"] = str(row["token_id"])
    return row


async def touch_token(pool: StatementPool, token_id: str) -> None:
    """Note when a token was last used (at most once a minute per token: the cache decides)."""
    await pool.fetch(
        "UPDATE auth_tokens SET last_used_at = now() WHERE id = $1::uuid", uuid.UUID(token_id)
    )


async def user_by_username(connection: AsyncConnection, username: str) -> dict[str, Any] | None:
    """A person by username (with password hash), or None."""
    row = (
        await connection.execute(
            text(
                "SELECT id, username, display_name, password_hash, is_active, is_demo "
                "FROM users WHERE username = :username"
            ),
            {"username": username},
        )
    ).first()
    return dict(row._mapping) if row else None


async def created_by(connection: AsyncConnection, user_id: int) -> int | None:
    """The id of the person who added this one (their `user.create` entry), or None."""
    return (
        await connection.execute(
            text(
                "SELECT actor_id FROM audit_log WHERE entity = 'user' AND entity_id = :id "
                "AND action = 'user.create' ORDER BY id LIMIT 1"
            ),
            {"id": str(user_id)},
        )
    ).scalar()


async def user_by_id(
    connection: AsyncConnection, user_id: int, lock: bool = False
) -> dict[str, Any] | None:
    """A person by id (its row locked FOR UPDATE with `lock`), or None."""
    row = (
        await connection.execute(
            text(
                "SELECT id, username, display_name, is_active, is_demo, created_at "
                "FROM users WHERE id = :id" + (" FOR UPDATE" if lock else "")
            ),
            {"id": user_id},
        )
    ).first()
    return dict(row._mapping) if row else None


async def password_hash_of(connection: AsyncConnection, user_id: int) -> str | None:
    """A person's stored password hash (None: no password, or no such person)."""
    return (
        await connection.execute(
            text("SELECT password_hash FROM users WHERE id = :id"), {"id": user_id}
        )
    ).scalar()


async def insert_user(
    connection: AsyncConnection,
    username: str,
    display_name: str,
    password_hash: str | None,
    is_demo: bool = False,
) -> int | None:
    """A new person's id, or None when the username is taken."""
    row = (
        await connection.execute(
            text(
                "INSERT INTO users (username, display_name, password_hash, is_demo) "
                "VALUES (:username, :display_name, :password_hash, :is_demo) "
                "ON CONFLICT (username) DO NOTHING RETURNING id"
            ),
            {
                "username": username,
                "display_name": display_name,
                "password_hash": password_hash,
                "is_demo": is_demo,
            },
        )
    ).first()
    return int(row[0]) if row else None


async def update_user(connection: AsyncConnection, user_id: int, **values: Any) -> None:
    """Set some of display_name, password_hash, is_active."""
    allowed = {"display_name", "password_hash", "is_active"}
    assert set(values) <= allowed, values
    if values:
        assignments = ", ".join(f"{name} = :{name}" for name in values)
        await connection.execute(
            text(f"UPDATE users SET {assignments} WHERE id = :id"), {**values, "id": user_id}
        )


async def list_users(
    connection: AsyncConnection, city_ids: Sequence[int] | None
) -> list[dict[str, Any]]:
    """People with their grants: everyone (None), or those with a role in these cities, with
    their grants in these cities only (another city's places do not exist for its reader)."""
    where = (
        ""
        if city_ids is None
        else "WHERE EXISTS (SELECT 1 FROM role_grants g2 WHERE g2.user_id = u.id "
        "AND g2.city_id = ANY(:cities))"
    )
    shown = "" if city_ids is None else " AND g.city_id = ANY(:cities)"
    rows = await connection.execute(
        text(
            f"""
SELECT u.id, u.username, u.display_name, u.is_active, u.is_demo, u.created_at,
       coalesce(
         (SELECT json_agg(json_build_object(
                   'id', g.id, 'role', g.role, 'city_id', g.city_id, 'ward_id', g.ward_id,
                   'city', c.slug, 'ward', w.name) ORDER BY g.id)
          FROM role_grants g LEFT JOIN cities c ON c.id = g.city_id
          LEFT JOIN wards w ON w.id = g.ward_id
          WHERE g.user_id = u.id{shown}), '[]') AS grants,
       (SELECT count(*) FROM auth_tokens t WHERE t.user_id = u.id AND t.kind = 'device'
          AND t.revoked_at IS NULL AND t.expires_at > now()) AS devices
FROM users u {where} ORDER BY u.username
"""
        ),
        {"cities": list(city_ids or [])},
    )
    users = []
    for row in rows:
        user = dict(row._mapping)
        if isinstance(user["grants"], str | bytes):
            user["grants"] = orjson.loads(user["grants"])
        users.append(user)
    return users


async def grants_of(connection: AsyncConnection, user_id: int) -> list[dict[str, Any]]:
    """A person's grants."""
    rows = await connection.execute(
        text(
            "SELECT g.id, g.role, g.city_id, g.ward_id, c.slug AS city FROM role_grants g "
            "LEFT JOIN cities c ON c.id = g.city_id WHERE g.user_id = :id ORDER BY g.id"
        ),
        {"id": user_id},
    )
    return [dict(row._mapping) for row in rows]


async def collects_outside(
    connection: AsyncConnection, user_id: int, city_ids: Sequence[int]
) -> bool:
    """Whether the person collected a survey outside these cities (or in no city)."""
    row = await connection.execute(
        text(
            "SELECT EXISTS (SELECT 1 FROM household_surveys WHERE collector_user_id = :id "
            "AND (city_id IS NULL OR city_id <> ALL(CAST(:cities AS int[]))))"
        ),
        {"id": user_id, "cities": list(city_ids)},
    )
    return bool(row.scalar())


async def insert_grant(
    connection: AsyncConnection,
    user_id: int,
    role: str,
    city_id: int | None,
    ward_id: int | None,
    granted_by: int | None,
) -> int | None:
    """A new grant's id, or None when the person holds it already."""
    row = (
        await connection.execute(
            text(
                "INSERT INTO role_grants (user_id, role, city_id, ward_id, granted_by) "
                "VALUES (:user_id, :role, :city_id, :ward_id, :granted_by) "
                "ON CONFLICT DO NOTHING RETURNING id"
            ),
            {
                "user_id": user_id,
                "role": role,
                "city_id": city_id,
                "ward_id": ward_id,
                "granted_by": granted_by,
            },
        )
    ).first()
    return int(row[0]) if row else None


async def delete_grant(connection: AsyncConnection, grant_id: int) -> dict[str, Any] | None:
    """Remove a grant; the removed row, or None."""
    row = (
        await connection.execute(
            text(
                "DELETE FROM role_grants WHERE id = :id "
                "RETURNING id, user_id, role, city_id, ward_id"
            ),
            {"id": grant_id},
        )
    ).first()
    return dict(row._mapping) if row else None


async def insert_token(
    connection: AsyncConnection,
    user_id: int,
    kind: str,
    token_hash: bytes,
    expires_at: datetime,
    name: str | None,
) -> uuid.UUID:
    """Store a new token (its hash only); its id."""
    token_id = uuid.uuid4()
    await connection.execute(
        text(
            "INSERT INTO auth_tokens (id, user_id, kind, token_hash, expires_at, name) "
            "VALUES (:id, :user_id, :kind, :token_hash, :expires_at, :name)"
        ),
        {
            "id": token_id,
            "user_id": user_id,
            "kind": kind,
            "token_hash": token_hash,
            "expires_at": expires_at,
            "name": name,
        },
    )
    return token_id


async def revoke_tokens(
    connection: AsyncConnection,
    *,
    token_id: uuid.UUID | None = None,
    user_id: int | None = None,
    kind: str | None = None,
) -> list[bytes]:
    """Revoke one token, or every live token of a person (of one kind); their hashes."""
    clauses = ["revoked_at IS NULL"]
    params: dict[str, Any] = {}
    if token_id is not None:
        clauses.append("id = :token_id")
        params["token_id"] = token_id
    if user_id is not None:
        clauses.append("user_id = :user_id")
        params["user_id"] = user_id
    if kind is not None:
        clauses.append("kind = :kind")
        params["kind"] = kind
    assert token_id is not None or user_id is not None
    rows = await connection.execute(
        text(
            f"UPDATE auth_tokens SET revoked_at = now() WHERE {' AND '.join(clauses)} "
            "RETURNING token_hash"
        ),
        params,
    )
    return [bytes(row[0]) for row in rows]


async def devices_of(connection: AsyncConnection, user_id: int) -> list[dict[str, Any]]:
    """A person's enrolled phones (device tokens), newest first."""
    rows = await connection.execute(
        text(
            "SELECT id, name, created_at, expires_at, revoked_at, last_used_at "
            "FROM auth_tokens WHERE user_id = :id AND kind = 'device' ORDER BY created_at DESC"
        ),
        {"id": user_id},
    )
    return [dict(row._mapping) for row in rows]


async def token_owner(connection: AsyncConnection, token_id: uuid.UUID) -> int | None:
    """Whose token this is."""
    row = (
        await connection.execute(
            text("SELECT user_id FROM auth_tokens WHERE id = :id"), {"id": token_id}
        )
    ).first()
    return int(row[0]) if row else None


async def insert_enrolment(
    connection: AsyncConnection,
    user_id: int,
    code_hash: bytes,
    device_name: str,
    created_by: int | None,
    expires_at: datetime,
) -> uuid.UUID:
    """Store a one-time enrolment code (its hash only); its id."""
    enrolment_id = uuid.uuid4()
    await connection.execute(
        text(
            "INSERT INTO enrolments (id, code_hash, user_id, device_name, created_by, expires_at) "
            "VALUES (:id, :code_hash, :user_id, :device_name, :created_by, :expires_at)"
        ),
        {
            "id": enrolment_id,
            "code_hash": code_hash,
            "user_id": user_id,
            "device_name": device_name,
            "created_by": created_by,
            "expires_at": expires_at,
        },
    )
    return enrolment_id


async def claim_enrolment(
    connection: AsyncConnection, code_hash: bytes, demo_accounts: bool
) -> dict[str, Any] | None:
    """Use a live, unused, uncancelled enrolment code once (locked: two phones cannot both
    use it, nor one use it while it is being cancelled); a demo account's only when
    `demo_accounts`."""
    row = (
        await connection.execute(
            text(
                "UPDATE enrolments e SET used_at = now() FROM users u "
                "WHERE e.code_hash = :code_hash AND e.used_at IS NULL AND e.cancelled_at IS NULL "
                "AND e.expires_at > now() AND u.id = e.user_id AND u.is_active "
                "AND (NOT u.is_demo OR :demo_accounts) "
                "RETURNING e.id, e.user_id, e.device_name"
            ),
            {"code_hash": code_hash, "demo_accounts": demo_accounts},
        )
    ).first()
    return dict(row._mapping) if row else None


async def reclaim_enrolment(
    connection: AsyncConnection, code_hash: bytes, demo_accounts: bool, within: timedelta
) -> dict[str, Any] | None:
    """Use a code again that was used less than `within` ago and whose phone token was never
    used since (the answer that carried it was lost on the way): that token is revoked here,
    and the enrolment is returned, with the revoked token's hash, to become a new one."""
    row = (
        await connection.execute(
            text(
                "WITH again AS (SELECT e.id, e.user_id, e.device_name, t.id AS token_id, "
                "t.token_hash FROM enrolments e JOIN users u ON u.id = e.user_id "
                "JOIN auth_tokens t ON t.id = e.token_id "
                "WHERE e.code_hash = :code_hash AND e.cancelled_at IS NULL "
                "AND e.used_at > now() - CAST(:within AS interval) AND t.last_used_at IS NULL "
                "AND t.revoked_at IS NULL AND u.is_active AND (NOT u.is_demo OR :demo_accounts) "
                "FOR UPDATE OF e, t), "
                "revoked AS (UPDATE auth_tokens t SET revoked_at = now() FROM again "
                "WHERE t.id = again.token_id RETURNING t.id) "
                "SELECT id, user_id, device_name, token_hash FROM again"
            ),
            {"code_hash": code_hash, "demo_accounts": demo_accounts, "within": within},
        )
    ).first()
    return dict(row._mapping) if row else None


async def cancel_enrolments(connection: AsyncConnection, user_id: int) -> list[dict[str, Any]]:
    """Cancel a person's enrolment codes not yet used nor expired; the cancelled ones (a code
    being used meanwhile is waited for, then left alone: its phone's token is the caller's
    to revoke)."""
    rows = await connection.execute(
        text(
            "UPDATE enrolments SET cancelled_at = now() "
            "WHERE user_id = :user_id AND used_at IS NULL AND cancelled_at IS NULL "
            "AND expires_at > now() "
            "RETURNING id, device_name, created_at, expires_at"
        ),
        {"user_id": user_id},
    )
    return sorted((dict(row._mapping) for row in rows), key=lambda row: row["created_at"])


async def link_enrolment(
    connection: AsyncConnection, enrolment_id: uuid.UUID, token_id: uuid.UUID
) -> None:
    """Record which device token an enrolment became."""
    await connection.execute(
        text("UPDATE enrolments SET token_id = :token_id WHERE id = :id"),
        {"id": enrolment_id, "token_id": token_id},
    )


# pg_advisory_xact_lock's classes (its two-key form) for counting sign-in attempts: one lock
# per account and one per address ("sgnA", "sgnB" in ASCII; any fixed int4 would do).
ACCOUNT_ATTEMPTS_LOCK = 0x73676E41
ADDRESS_ATTEMPTS_LOCK = 0x73676E42


async def count_attempt(
    connection: AsyncConnection,
    username: str,
    address: str,
    since: datetime,
    max_per_account: int,
    max_per_address: int,
    forget_before: datetime,
    known_since: datetime,
) -> bool:
    """Note a sign-in attempt as a failure before its password is checked, unless the account
    or the address has failed too often since: whether it was noted (the caller may then check
    the password, and clears the account's failures when it was right).

    From an address the account signed in from since `known_since` (note_known_address), only
    the account's failures from that address count against it, not those from everywhere: an
    outsider's guesses elsewhere do not keep the owner out where they work. Elsewhere the
    account's failures from everywhere count, so guesses spread over addresses get no more.

    Counting and checking are one step for every server process: the account's lock, then the
    address's (always in this order, so no two attempts wait on each other), are held until
    the caller's transaction commits, and the next attempt of the account or from the address
    counts only once this one is on record. Without them, 25 parallel guesses all read "no
    failures yet" and were all checked.
    """
    for lock, key in ((ACCOUNT_ATTEMPTS_LOCK, username), (ADDRESS_ATTEMPTS_LOCK, address)):
        await connection.execute(
            text("SELECT pg_advisory_xact_lock(:lock, hashtext(:key))"), {"lock": lock, "key": key}
        )
    by_account, by_address, by_both, known = await recent_failures(
        connection, username, address, since, known_since
    )
    if by_address >= max_per_address or (by_both if known else by_account) >= max_per_account:
        return False
    await record_failure(connection, username, address, forget_before)
    return True


async def recent_failures(
    connection: AsyncConnection,
    username: str,
    address: str,
    since: datetime,
    known_since: datetime,
) -> tuple[int, int, int, bool]:
    """Failed sign-ins since a time: for this account, from this address, for this account
    from this address; and whether the account signed in from the address since
    `known_since`."""
    row = (
        await connection.execute(
            text(
                "SELECT (SELECT count(*) FROM sign_in_failures "
                "        WHERE username = :username AND at > :since), "
                "       (SELECT count(*) FROM sign_in_failures "
                "        WHERE address = :address AND at > :since), "
                "       (SELECT count(*) FROM sign_in_failures "
                "        WHERE username = :username AND address = :address AND at > :since), "
                "       EXISTS (SELECT FROM sign_in_addresses WHERE username = :username "
                "               AND address = :address AND last_at > :known_since)"
            ),
            {"username": username, "address": address, "since": since, "known_since": known_since},
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2]), bool(row[3])


async def record_failure(
    connection: AsyncConnection, username: str, address: str, forget_before: datetime
) -> None:
    """Note a failed sign-in; forget those older than the throttling window."""
    await connection.execute(
        text("INSERT INTO sign_in_failures (username, address) VALUES (:username, :address)"),
        {"username": username, "address": address},
    )
    await connection.execute(
        text("DELETE FROM sign_in_failures WHERE at < :before"), {"before": forget_before}
    )


async def clear_failures(connection: AsyncConnection, username: str) -> None:
    """A successful sign-in clears the account's failures."""
    await connection.execute(
        text("DELETE FROM sign_in_failures WHERE username = :username"), {"username": username}
    )


async def note_known_address(
    connection: AsyncConnection, username: str, address: str, forget_before: datetime
) -> None:
    """A successful sign-in from an address: known for the account from now (count_attempt);
    the account's addresses not used since `forget_before` are forgotten."""
    await connection.execute(
        text(
            "INSERT INTO sign_in_addresses (username, address) VALUES (:username, :address) "
            "ON CONFLICT (username, address) DO UPDATE SET last_at = now()"
        ),
        {"username": username, "address": address},
    )
    await connection.execute(
        text("DELETE FROM sign_in_addresses WHERE username = :username AND last_at < :before"),
        {"username": username, "before": forget_before},
    )


async def audit(
    connection: AsyncConnection,
    *,
    actor_id: int | None,
    actor: str | None,
    action: str,
    entity: str,
    entity_id: str,
    old: Any = None,
    new: Any = None,
) -> None:
    """Keep one change on record: who, when, what, the old value and the new."""
    await connection.execute(
        text(
            "INSERT INTO audit_log (actor_id, actor, action, entity, entity_id, old, new) "
            "VALUES (:actor_id, :actor, :action, :entity, :entity_id, "
            "CAST(:old AS jsonb), CAST(:new AS jsonb))"
        ),
        {
            "actor_id": actor_id,
            "actor": actor,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "old": None if old is None else orjson.dumps(old, default=str).decode(),
            "new": None if new is None else orjson.dumps(new, default=str).decode(),
        },
    )


async def history(connection: AsyncConnection, entity: str, entity_id: str) -> list[dict[str, Any]]:
    """The audit log of one thing, in the order its entries were written (`at` is when each
    transaction began: of two that overlap, the later change may carry the earlier time)."""
    rows = await connection.execute(
        text(
            "SELECT at, actor, action, old, new FROM audit_log "
            "WHERE entity = :entity AND entity_id = :entity_id ORDER BY id"
        ),
        {"entity": entity, "entity_id": entity_id},
    )
    return [dict(row._mapping) for row in rows]
