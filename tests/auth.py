"""People, roles and tokens for tests, written straight into the test database.

Tokens are made the way the server makes them (an HMAC under SECRET_KEY, which conftest sets
for the whole session), without a password round trip per test.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

# A place for a grant: ("city", slug) or ("ward", ward_code) in the sample city, or None.
Place = tuple[str, str] | None


def token_hash(token: str) -> bytes:
    """What the server stores for a token."""
    return hmac.new(os.environ["SECRET_KEY"].encode(), token.encode(), hashlib.sha256).digest()


def make_user(
    engine: Engine,
    username: str,
    grants: Iterable[tuple[str, Place]] = (),
    password_hash: str | None = None,
    city: str = "tam-ky",
) -> int:
    """A person with roles (created, or reset when the username exists); their id."""
    with engine.begin() as connection:
        user_id = connection.execute(
            text(
                "INSERT INTO users (username, display_name, password_hash) "
                "VALUES (:u, :name, :p) ON CONFLICT (username) DO UPDATE "
                "SET password_hash = excluded.password_hash, is_active = true RETURNING id"
            ),
            {"u": username, "name": username, "p": password_hash},
        ).scalar_one()
        connection.execute(text("DELETE FROM role_grants WHERE user_id = :id"), {"id": user_id})
        for role, place in grants:
            city_id = ward_id = None
            if place is not None:
                kind, value = place
                city_slug = value if kind == "city" else city
                city_id = connection.execute(
                    text("SELECT id FROM cities WHERE slug = :s"), {"s": city_slug}
                ).scalar_one()
                if kind == "ward":
                    ward_id = connection.execute(
                        text("SELECT id FROM wards WHERE city_id = :c AND code = :code"),
                        {"c": city_id, "code": value},
                    ).scalar_one()
            connection.execute(
                text(
                    "INSERT INTO role_grants (user_id, role, city_id, ward_id) "
                    "VALUES (:user_id, :role, :city_id, :ward_id)"
                ),
                {"user_id": user_id, "role": role, "city_id": city_id, "ward_id": ward_id},
            )
    return int(user_id)


def make_token(
    engine: Engine, user_id: int, kind: str = "api", lifetime: timedelta = timedelta(hours=6)
) -> str:
    """A live token for a person."""
    token = secrets.token_urlsafe(32)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO auth_tokens (id, user_id, kind, token_hash, expires_at) "
                "VALUES (:id, :user_id, :kind, :hash, :expires_at)"
            ),
            {
                "id": uuid.uuid4(),
                "user_id": user_id,
                "kind": kind,
                "hash": token_hash(token),
                "expires_at": datetime.now(UTC) + lifetime,
            },
        )
    return token


def make_enrolment(
    engine: Engine,
    user_id: int,
    lifetime: timedelta = timedelta(days=1),
    device: str = "test phone",
) -> str:
    """A one-time phone enrolment code for a person (what an admin's QR code carries)."""
    code = secrets.token_urlsafe(24)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO enrolments (id, code_hash, user_id, device_name, expires_at) "
                "VALUES (:id, :hash, :user_id, :device, :expires_at)"
            ),
            {
                "id": uuid.uuid4(),
                "hash": token_hash(code),
                "user_id": user_id,
                "device": device,
                "expires_at": datetime.now(UTC) + lifetime,
            },
        )
    return code


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of a token."""
    return {"Authorization": f"Bearer {token}"}


def ward_id(engine: Engine, code: str, city: str = "tam-ky") -> int:
    """A ward's id by its code."""
    with engine.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT w.id FROM wards w JOIN cities c ON c.id = w.city_id "
                    "WHERE c.slug = :city AND w.code = :code"
                ),
                {"city": city, "code": code},
            ).scalar_one()
        )
