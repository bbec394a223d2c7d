"""Arranging a CDF for tests: a city of its own (one fund per city, so that each test module's
reports count only its own books), its staff, a client per person."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.main import create_app
from app.settings import Settings
from tests.auth import bearer, make_token, make_user

# A settlement square inside its ward's square, in Sơn La: far from the sample city and from
# other tests' places, so that no survey of theirs falls in these wards.
WARD_WKT = "MULTIPOLYGON(((104.00 21.00,104.10 21.00,104.10 21.10,104.00 21.10,104.00 21.00)))"
SETTLEMENT_WKT = "POLYGON((104.02 21.02,104.04 21.02,104.04 21.04,104.02 21.04,104.02 21.02))"


def make_city(engine: Engine, slug: str, name: str | None = None) -> dict[str, int]:
    """A city with one ward and one settlement; their ids."""
    with engine.begin() as connection:
        city_id = connection.execute(
            text(
                "INSERT INTO cities (slug, name) VALUES (:slug, :name) ON CONFLICT (slug) "
                "DO UPDATE SET name = excluded.name RETURNING id"
            ),
            {"slug": slug, "name": name or slug},
        ).scalar_one()
        ward_id = connection.execute(
            text(
                "INSERT INTO wards (city_id, code, name, geom) VALUES (:city, 'W1', 'Phường Một', "
                "ST_GeomFromText(:wkt, 4326)) ON CONFLICT (city_id, code) DO UPDATE "
                "SET name = excluded.name RETURNING id"
            ),
            {"city": city_id, "wkt": WARD_WKT},
        ).scalar_one()
        settlement_id = connection.execute(
            text(
                "INSERT INTO settlements (city_id, ward_id, code, name, geom) VALUES (:city, "
                ":ward, 'S1', 'Xóm Hòa Thuận Đông', ST_GeomFromText(:wkt, 4326)) "
                "ON CONFLICT (city_id, code) DO UPDATE SET name = excluded.name RETURNING id"
            ),
            {"city": city_id, "ward": ward_id, "wkt": SETTLEMENT_WKT},
        ).scalar_one()
    return {"city": int(city_id), "ward": int(ward_id), "settlement": int(settlement_id)}


def person(engine: Engine, username: str, grants: list[tuple[str, Any]], city: str) -> str:
    """A person with roles in `city` and a token."""
    return make_token(
        engine, make_user(engine, username, grants, city=city), lifetime=timedelta(hours=6)
    )


def treasurer_id(engine: Engine, username: str, city_id: int, group_id: int) -> int:
    """A new treasurer (thủ quỹ) of one group: their id."""
    user_id = make_user(engine, username, [])
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO role_grants (user_id, role, city_id, cdf_group_id) "
                "VALUES (:user, 'treasurer', :city, :group)"
            ),
            {"user": user_id, "city": city_id, "group": group_id},
        )
    return user_id


def treasurer(engine: Engine, username: str, city_id: int, group_id: int) -> str:
    """A treasurer (thủ quỹ) of one group, and their token."""
    user_id = treasurer_id(engine, username, city_id, group_id)
    return make_token(engine, user_id, lifetime=timedelta(hours=6))


def savings_group(
    base_url: str,
    engine: Engine,
    city: str,
    city_name: str,
    group_name: str,
    members: list[tuple[str, str]],
) -> tuple[dict[str, int], int, list[int]]:
    """A new city with a savings group (founded 2025-01-15) and its members (code, name),
    registered through the API of the server at `base_url` by its CDF staff: the city's
    ids, the group's id and the members' ids."""
    ids = make_city(engine, city, city_name)
    staff = person(engine, f"{city}-staff", [("cdf_staff", ("city", city))], city)
    with httpx.Client(base_url=base_url, timeout=30, headers=bearer(staff)) as client:
        made = client.post(
            f"/api/v1/cdf/{city}/groups",
            json={
                "name": group_name,
                "settlement_id": ids["settlement"],
                "founded_on": "2025-01-15",
                "meeting_frequency": "monthly",
                "share_value": 50_000,
            },
        )
        assert made.status_code == 201, made.text
        group_id = made.json()["id"]
        member_ids = []
        for code, name in members:
            member = client.post(
                f"/api/v1/cdf/groups/{group_id}/members",
                json={"code": code, "name": name, "joined_on": "2025-01-15"},
            )
            assert member.status_code == 201, member.text
            member_ids.append(member.json()["id"])
    return ids, group_id, member_ids


@dataclass
class Clients:
    """One in-process app, asked as different people."""

    client: TestClient
    tokens: dict[str, str] = field(default_factory=dict)

    def as_(self, who: str) -> Any:
        """Request helpers signed in as `who`."""
        headers = bearer(self.tokens[who])
        client = self.client

        class Caller:
            def get(self, url: str, **kw: Any) -> Any:
                return client.get(url, headers={**headers, **kw.pop("headers", {})}, **kw)

            def post(self, url: str, json: Any = None, **kw: Any) -> Any:
                return client.post(
                    url, json=json, headers={**headers, **kw.pop("headers", {})}, **kw
                )

        return Caller()


@contextmanager
def app_client(database_url: str, tmp: Path) -> Iterator[TestClient]:
    """The app in-process with its lifespan running (nobody signed in by default)."""
    settings = Settings(database_url=database_url, media_dir=tmp / "media")
    with TestClient(create_app(settings)) as client:
        yield client


def uid() -> str:
    """A fresh client id."""
    return str(uuid.uuid4())


# Children before parents: what a city's books hold (with the sums the database keeps).
BOOK_TABLES = (
    ("cdf_sum_balances", "fund_id = ANY(:funds)"),
    ("cdf_sum_installments", "fund_id = ANY(:funds)"),
    ("cdf_sum_loans", "fund_id = ANY(:funds)"),
    ("cdf_sum_due_days", "fund_id = ANY(:funds)"),
    ("cdf_lines", "entry_id IN (SELECT id FROM cdf_entries WHERE fund_id = ANY(:funds))"),
    ("cdf_entries", "fund_id = ANY(:funds)"),
    ("cdf_periods", "fund_id = ANY(:funds)"),
    ("cdf_accounts", "fund_id = ANY(:funds)"),
    ("cdf_installments", "loan_id IN (SELECT id FROM cdf_loans WHERE fund_id = ANY(:funds))"),
    ("cdf_loans", "fund_id = ANY(:funds)"),
    ("cdf_loan_products", "fund_id = ANY(:funds)"),
    ("cdf_meetings", "group_id IN (SELECT id FROM cdf_groups WHERE fund_id = ANY(:funds))"),
    ("cdf_members", "group_id IN (SELECT id FROM cdf_groups WHERE fund_id = ANY(:funds))"),
    ("role_grants", "cdf_group_id IN (SELECT id FROM cdf_groups WHERE fund_id = ANY(:funds))"),
    ("cdf_groups", "fund_id = ANY(:funds)"),
    ("cdf_funds", "id = ANY(:funds)"),
)


IMMUTABLE = ("cdf_lines", "cdf_entries", "cdf_installments")


def drop_cities(engine: Engine, *slugs: str) -> None:
    """Remove test cities with their books, so that the session's other tests find the
    database as they expect."""
    drop_books(engine, *slugs)
    with engine.begin() as connection:
        connection.execute(
            text(
                "DELETE FROM household_surveys WHERE city_id IN "
                "(SELECT id FROM cities WHERE slug = ANY(:slugs))"
            ),
            {"slugs": list(slugs)},
        )
        connection.execute(
            text("DELETE FROM cities WHERE slug = ANY(:slugs)"), {"slugs": list(slugs)}
        )


def drop_books(engine: Engine, *slugs: str) -> None:
    """Remove the CDF books of cities. The books refuse deletes by trigger: the tables'
    owner (the role that migrated the test database) switches those triggers off for this
    cleanup only; no code path of the app can."""
    with engine.begin() as connection:
        funds = list(
            connection.execute(
                text(
                    "SELECT f.id FROM cdf_funds f JOIN cities c ON c.id = f.city_id "
                    "WHERE c.slug = ANY(:slugs)"
                ),
                {"slugs": list(slugs)},
            ).scalars()
        )
        if funds:
            for table in IMMUTABLE:
                connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            for table, where in BOOK_TABLES:
                connection.execute(text(f"DELETE FROM {table} WHERE {where}"), {"funds": funds})
            for table in IMMUTABLE:
                connection.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))


def close_meetings_left_open(engine: Engine, group_id: int) -> None:
    """Mark closed the group's meetings an earlier test left open: a group has one open
    meeting a day, so a test's phone opening the meeting of today would join one of them
    (docs/cdf.md, Meetings). Test isolation only: no count, nothing posted."""
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE cdf_meetings SET status = 'closed', closed_at = now() "
                "WHERE group_id = :group AND status = 'open'"
            ),
            {"group": group_id},
        )
