"""Health for the machines that watch the server.

- `/healthz`: alive, with a database round trip (200, or 503 when the database does not
  answer); what load balancers and the tests' servers wait for.
- `/readyz`: ready for traffic: the database answers at this code's schema revision, the
  media directory takes a new file and FORMS_DIR holds the household form (200, else 503
  naming which failed); it also says whether
  the print fonts are installed (`print_fonts`, never a 503). With a read replica
  (DATABASE_REPLICA_URL) it also reports `replica` (ok, unavailable, not_a_standby) and its
  lag (`replica_lag_seconds`, `replica_lag_bytes`) but stays 200 when only the replica is
  down: its reads then go to the primary, so the server still answers everything.
- `/metrics`: Prometheus text (app.services.metrics), for a national or city admin's token,
  or for a request made on this machine itself that no proxy forwarded (Prometheus or curl
  on the server). Neither /readyz nor /metrics is in the OpenAPI schema: they are for
  operators' tools, not API clients.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy import text

from app.api.deps import EngineDep, OptionalUser, SettingsDep
from app.api.responses import JSON
from app.db.replica import ReplicaReads
from app.errors import Forbidden, Unauthorized
from app.services.metrics import Gauge, Metrics
from app.services.readiness import forms_problem, readiness

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])

LOOPBACK = frozenset({"127.0.0.1", "::1"})
# A request that came through a proxy (Caddy, nginx) carries one of these: it is not local,
# even though the proxy connects from 127.0.0.1.
PROXY_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip", "x-forwarded-host")
METRICS_ROLES = ("national_admin", "city_admin")
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


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


@router.get("/readyz", include_in_schema=False)
async def readyz(request: Request, engine: EngineDep, settings: SettingsDep) -> JSON:
    """200 when the database answers at the right schema, media files can be written and the
    household form is there."""
    reads: ReplicaReads = request.app.state.replica_reads
    replica = reads if reads.replica is not None else None
    registry = await request.app.state.forms.current()
    forms = forms_problem(settings.forms_dir, registry, settings.household_form)
    ready, checks = await readiness(engine, settings.media_dir, replica, forms)
    return JSON(checks, status_code=200 if ready else 503)


def is_local(request: Request) -> bool:
    """A request from this machine that no proxy forwarded."""
    host = request.client.host if request.client else None
    return host in LOOPBACK and not any(request.headers.get(h) for h in PROXY_HEADERS)


def gauges(request: Request) -> list[Gauge]:
    """Pool use and the print queue, read now."""
    state = request.app.state
    found: list[Gauge] = []
    reads: ReplicaReads = state.replica_reads
    engines: list[tuple[str, Any]] = [("queries", state.engine)]
    if reads.replica is not None:
        engines.append(("replica", reads.replica))
    for label, engine in engines:
        pool = engine.pool
        for name, value in (("size", pool.size()), ("in_use", pool.checkedout())):
            found.append(
                Gauge(
                    "cdfmap_db_pool_connections",
                    "Database connections of this process by pool and state.",
                    (("pool", label), ("state", name)),
                    float(value),
                )
            )
    if reads.replica is not None:
        found.append(
            Gauge(
                "cdfmap_replica_up",
                "1 while reads that may lag go to the read replica, 0 while they go to the "
                "primary.",
                (),
                float(reads.replica_up),
            )
        )
    for label, statement_pool in (("ingest", state.ingest_pool), ("batch", state.batch_pool)):
        found.append(
            Gauge(
                "cdfmap_db_pool_connections",
                "Database connections of this process by pool and state.",
                (("pool", label), ("state", "open")),
                float(statement_pool.connections),
            )
        )
    slots = getattr(state, "print_slots", None)  # made on the first print
    found.append(
        Gauge(
            "cdfmap_print_queue_depth",
            "Printed maps being drawn or waiting in this process.",
            (),
            float(getattr(slots, "_admitted", 0)),
        )
    )
    return found


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, user: OptionalUser) -> PlainTextResponse:
    """This process's counters in Prometheus text format (admins, or this machine)."""
    if user is None and not is_local(request):
        raise Unauthorized()
    if user is not None and not user.has_role(*METRICS_ROLES) and not is_local(request):
        raise Forbidden("not_allowed")
    registry: Metrics = request.app.state.metrics
    return PlainTextResponse(registry.render(gauges(request)), media_type=PROMETHEUS_TEXT)
