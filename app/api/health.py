"""Liveness with a database round trip."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from sqlalchemy import text

from app.api.deps import EngineDep
from app.api.responses import JSON

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(engine: EngineDep) -> JSON:
    """200 when the database answers, 503 otherwise."""
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to reach the database means not healthy
        # The reason goes to the log only: it can name hosts, users and databases.
        log.warning("health check: the database does not answer: %r", exc)
        return JSON({"status": "unavailable", "database": "unavailable"}, status_code=503)
    return JSON({"status": "ok", "database": "ok"})
