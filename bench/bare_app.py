"""Baseline for bench/ingest.py: a bare FastAPI endpoint doing one asyncpg INSERT per survey."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.responses import Response

INSERT = """
INSERT INTO household_surveys (id, form_id, form_version, collector, collected_at, answers,
    content_hash, gps_accuracy_m, altitude_m, geom)
VALUES ($1, $2, $3, $4, $5::timestamptz, $6::jsonb, '', $7, $8,
        ST_SetSRID(ST_MakePoint($9, $10), 4326))
ON CONFLICT (id) DO NOTHING
"""


async def _no_reset(connection: Any) -> None:
    """asyncpg's pool would send a reset query on each release: a second round trip per
    request that the app does not make either. Without it the baseline is at its fastest."""


def create_app() -> FastAPI:
    """The baseline app: no validation, no placement, one INSERT."""
    url = os.environ["DATABASE_URL"]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(url, min_size=10, max_size=20, reset=_no_reset)
        yield
        await app.state.pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/v1/submissions", status_code=201)
    async def submit(request: Request) -> Response:
        body: dict[str, Any] = json.loads(await request.body())
        location = body["location"]
        from datetime import datetime

        await request.app.state.pool.execute(
            INSERT,
            body["id"],
            body["form_id"],
            body["form_version"],
            body.get("collector"),
            datetime.fromisoformat(body["collected_at"]),
            json.dumps(body["answers"]),
            location.get("accuracy_m"),
            location.get("altitude_m"),
            location["lon"],
            location["lat"],
        )
        return Response(
            json.dumps({"id": body["id"]}), status_code=201, media_type="application/json"
        )

    return app
