"""Use case: browse the administrative ladder (city > ward > settlement)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import places as queries
from app.errors import NotFound


async def cities(engine: AsyncEngine) -> list[dict[str, Any]]:
    """Every city."""
    async with engine.connect() as connection:
        return await queries.list_cities(connection)


async def city(engine: AsyncEngine, slug: str) -> dict[str, Any]:
    """One city by slug, or NotFound."""
    async with engine.connect() as connection:
        found = await queries.city_by_slug(connection, slug)
    if found is None:
        raise NotFound("unknown_city", city=slug)
    return found


async def wards(engine: AsyncEngine, slug: str) -> list[dict[str, Any]]:
    """Wards of a city, or NotFound for an unknown city."""
    async with engine.connect() as connection:
        found = await queries.city_by_slug(connection, slug)
        if found is None:
            raise NotFound("unknown_city", city=slug)
        return await queries.list_wards(connection, found["id"])


async def ward(engine: AsyncEngine, ward_id: int) -> dict[str, Any]:
    """One ward, or NotFound."""
    async with engine.connect() as connection:
        found = await queries.ward_by_id(connection, ward_id)
    if found is None:
        raise NotFound("ward_not_found", id=ward_id)
    return found


async def settlements(engine: AsyncEngine, ward_id: int) -> list[dict[str, Any]]:
    """Settlements of a ward, or NotFound for an unknown ward."""
    async with engine.connect() as connection:
        if await queries.ward_by_id(connection, ward_id) is None:
            raise NotFound("ward_not_found", id=ward_id)
        return await queries.list_settlements(connection, ward_id)
