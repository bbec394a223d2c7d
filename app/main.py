"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api import (
    admin_page,
    attachments,
    auth,
    boundaries,
    cdf,
    cdf_pages,
    cdf_projects,
    cdf_sheet,
    collect,
    context,
    docs,
    exports,
    forms,
    health,
    home,
    indicators,
    maps,
    national,
    odk,
    odk_submission,
    offline,
    ogc,
    places,
    progress,
    review,
    review_page,
    submissions,
    tiles,
    users,
)
from app.api.compression import Compress
from app.api.errors import add_exception_handlers
from app.api.hosts import AllowedHosts
from app.api.limits import BodySizeLimit
from app.api.observe import RequestObserver
from app.api.offline import OfflineViewer
from app.api.schemas import install_request_schemas
from app.api.security import SecurityHeaders, origin_of
from app.db.engine import make_batch_pool, make_check_connection, make_engine, make_ingest_pool
from app.db.exports import ExportSlots
from app.db.migrate import SchemaMismatch, verify_schema
from app.db.replica import ReplicaReads
from app.forms.quality import load_quality_rules
from app.forms.registry import FormsWatcher
from app.services.auth import Authenticator, AuthPolicy, secret_problem
from app.services.check_runner import CheckRunner
from app.services.duplicate_checks import DuplicateChecks
from app.services.metrics import Metrics
from app.services.readiness import forms_problem, priorities_problem
from app.settings import SettingError, Settings, demo_secret, get_settings, settings_problems

# The garbage collector's thresholds once the app is loaded (Python's are 700, 10, 10). A
# phone's batch of 500 surveys holds some 25,000 objects while it is checked; at 700 the
# collector ran ~6 young and a few older passes over them per batch, ~3 ms of the ~25 ms of
# Python a batch costs (bench/ingest.py: docs/benchmarks.md). Reference counting frees
# almost everything here; the collector is only for cycles, which are few and small.
GC_THRESHOLDS = (20_000, 20, 20)

log = logging.getLogger(__name__)
# uvicorn's own log (journalctl -u cdfmap): where an operator reads why the server did not start.
SERVER_LOG = logging.getLogger("uvicorn.error")
# uvicorn's exit status for an app that failed to start: its supervisor then stops the other
# workers instead of starting the same failure again.
STARTUP_FAILURE = 3


def secret_key_bytes(settings: Settings) -> bytes:
    """The secret key, or refuse to start: a missing or placeholder key is only for demos."""
    problem = secret_problem(settings.secret_key)
    if problem is None:
        assert settings.secret_key is not None
        return settings.secret_key.encode()
    if settings.demo:
        return demo_secret(settings.var_dir).encode()
    raise SettingError(
        f"{problem}: set SECRET_KEY to at least 32 random characters (in the environment or "
        "a .env file), or DEMO=true for a demonstration with the sample city"
    )


def auth_policy(settings: Settings) -> AuthPolicy:
    """Token lifetimes and sign-in throttling from settings."""
    return AuthPolicy(
        api_token=timedelta(hours=settings.api_token_hours),
        session=timedelta(hours=settings.session_hours),
        device_token=timedelta(days=settings.device_token_days),
        enrolment=timedelta(hours=settings.enrolment_hours),
        failure_window=timedelta(minutes=settings.sign_in_window_minutes),
        max_failures_per_account=settings.max_sign_in_failures_per_account,
        max_failures_per_address=settings.max_sign_in_failures_per_address,
        cache_seconds=settings.token_cache_seconds,
        demo_accounts=settings.demo,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app from explicit settings, or from the environment's as the server's factory
    (`uvicorn app.main:create_app --factory`): then a setting the server cannot work with
    is one line in the log and exit status 3, not a traceback (a bug keeps its traceback)."""
    if settings is not None:
        return build_app(settings)
    try:
        return build_app(get_settings())
    except Exception as exc:
        problems = configuration_problems(exc)
        if not problems:
            raise
        for problem in problems:
            SERVER_LOG.error("%s", problem)
        raise SystemExit(STARTUP_FAILURE) from None


def configuration_problems(exc: BaseException) -> list[str]:
    """The lines that say what an operator set wrong, or [] for any other error (a bug)."""
    import pydantic
    import pydantic_settings

    if isinstance(exc, pydantic.ValidationError | pydantic_settings.SettingsError):
        return settings_problems(exc)
    if isinstance(exc, SettingError | SchemaMismatch):
        return [str(exc)]
    return []


class StartupRefusals:
    """ASGI wrapper: a start-up the lifespan refuses for a configuration error (a database at
    another schema revision) is reported to the server as its one-line reason. Starlette
    reports every start-up failure as a traceback (~50 lines in journalctl before the
    reason); the error itself is raised all the same (TestClient's callers see it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def send_reason(message: Message) -> None:
            if message["type"] == "lifespan.startup.failed":
                problem = getattr(scope["app"].state, "startup_problem", None)
                if problem is not None:
                    message = {**message, "message": problem}
            await send(message)

        await self.app(scope, receive, send_reason)


def build_app(settings: Settings) -> FastAPI:
    """The app of these settings; SettingError when the server cannot work with them."""
    secret = secret_key_bytes(settings)
    problem = priorities_problem(settings.priorities_path)
    if problem is not None:  # every indicator, map and export reads it
        raise SettingError(problem)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = make_engine(
            settings.async_database_url, settings.db_pool_size, settings.db_max_overflow
        )
        try:  # never serve a schema this code was not written for (app.db.migrate)
            await verify_schema(app.state.engine)
        except SchemaMismatch as exc:
            await app.state.engine.dispose()
            app.state.startup_problem = str(exc)  # said in one line (StartupRefusals)
            raise
        replica = None
        if settings.async_replica_url:  # a hot standby; it need not answer yet (app.db.replica)
            replica = make_engine(
                settings.async_replica_url,
                settings.replica_pool_size,
                settings.db_max_overflow,
                application_name="cdfmap-replica",
                connect_seconds=settings.db_replica_connect_seconds,
            )
        app.state.replica_reads = ReplicaReads(
            app.state.engine,
            replica,
            settings.db_replica_retry_seconds,
            app.state.metrics.count_replica_fallback,
            settings.db_replica_max_lag_seconds,
        )
        app.state.ingest_pool = make_ingest_pool(settings.libpq_database_url, settings.db_pool_size)
        app.state.batch_pool = make_batch_pool(
            settings.libpq_database_url, max(2, settings.db_pool_size // 4)
        )
        app.state.auth = Authenticator(app.state.ingest_pool, secret, auth_policy(settings))
        app.state.export_slots = ExportSlots(settings.export_slots, settings.export_wait_seconds)
        # Batches' duplicate checks, after the batch is answered (app.services.duplicate_checks).
        app.state.check_runner = CheckRunner()
        app.state.duplicate_checks = DuplicateChecks(
            make_check_connection(settings.libpq_database_url),
            quiet_seconds=settings.duplicate_check_quiet_seconds,
            max_delay_seconds=settings.duplicate_check_max_delay_seconds,
            sweep_seconds=settings.duplicate_check_sweep_seconds,
        )
        # Everything loaded so far (forms, routes, libraries) lives as long as the process:
        # keep it out of the garbage collector's full passes, which otherwise stall requests.
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)
        app.state.duplicate_checks.start()
        try:
            yield
        finally:
            writer = getattr(app.state, "odk_instances", None)
            if writer is not None:
                # Collect's instance XML queued after its answer (app/db/odk.InstanceWriter):
                # written before the pool closes, not dropped at every restart (nor left to
                # run into whatever follows the app, such as a test's TRUNCATE).
                await writer.flush()
            await app.state.duplicate_checks.stop()  # a check running stays queued
            await asyncio.to_thread(app.state.check_runner.close)
            await asyncio.to_thread(app.state.auth.close)  # argon2's threads
            await app.state.ingest_pool.close()
            await app.state.batch_pool.close()
            if replica is not None:
                await replica.dispose()
            await app.state.engine.dispose()

    app = FastAPI(
        title="CDF map: community survey and mapping",
        version="0.1.0",
        summary="Household surveys with GPS points, settlements, wards and cities in PostGIS.",
        lifespan=lifespan,
        docs_url=None,  # app.api.docs serves Swagger UI from this server, not a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.metrics = Metrics(settings.metrics_dir)
    app.state.quality = load_quality_rules(settings.quality_rules_path)
    app.state.forms = FormsWatcher.start(settings.forms_dir, settings.forms_reload_seconds)
    missing = forms_problem(settings.forms_dir, app.state.forms.registry, settings.household_form)
    if missing is not None:  # it may yet be dropped in (FormsWatcher): /readyz 503 until then
        log.error("%s: no household survey can be taken until it is there", missing)
    add_exception_handlers(app)
    install_request_schemas(app)
    for module in (
        submissions,
        odk_submission,
        health,
        places,
        exports,
        forms,
        attachments,
        collect,
        indicators,
        maps,
        docs,
        auth,
        review,
        review_page,
        progress,
        users,
        home,
        admin_page,
        boundaries,
        cdf,
        odk,
        ogc,
        tiles,
        cdf_projects,
        cdf_sheet,
        cdf_pages,
        context,
        national,
        offline,
    ):
        # The routers' routes go onto the app itself: include_router() wraps each router in
        # a layer that matches every route twice per request, which cost ~23 us of CPU per
        # request here (6 % of a survey's ingest). Our routers carry their prefix and tags on
        # their routes and add no router-level dependencies, so nothing is lost.
        assert not module.router.dependencies, f"{module.__name__}: use include_router()"
        app.router.routes.extend(module.router.routes)
    if not any(getattr(route, "path", None) == "/static" for route in app.routes):
        static = StaticFiles(directory=settings.static_dir, check_dir=False)
        app.mount("/static", static, name="static")
    # Innermost: it reads the person the route resolved (app.api.offline).
    app.add_middleware(OfflineViewer)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        idle_seconds=settings.body_idle_seconds,
        total_seconds=settings.body_total_seconds,
        larger=[
            (boundaries.UPLOAD_PATH, settings.max_boundary_upload_bytes),
            # Photos, recordings and documents: each kind's own limit is checked by the upload
            # (a photo's is the survey's attachment limit).
            (
                attachments.UPLOAD_PATH,
                max(attachments.MAX_UPLOAD_BYTES, settings.max_attachment_bytes_per_survey),
            ),
            # ODK Collect's submissions carry a survey's files (the route answers 413 itself).
            (
                odk.SUBMISSION_PATH,
                odk.submission_limit(settings.max_attachment_bytes_per_survey),
                odk.too_large(settings.max_attachment_bytes_per_survey),
            ),
        ],
    )
    # gzip where the client accepts it (app.api.compression): the form definitions (the
    # phone's largest download after its scripts, which app.api.collect compresses itself),
    # map pages and their data, indicators, GeoJSON and CSV exports (streamed, at a level
    # that costs little CPU), OGC items and vector tiles. Never a survey's ingest (a POST).
    app.add_middleware(
        Compress,
        rules=[
            ("/api/v1/forms", 6),
            ("/maps/", 4),
            ("/api/v1/export/", 1),
            ("/api/v1/cities/", 4),
            ("/api/v1/wards/", 4),
            ("/api/v1/context/", 4),
            ("/ogc/", 2),
            ("/tiles/", 4),
        ],
    )
    basemap = origin_of(settings.basemap_tiles_url)
    app.add_middleware(
        SecurityHeaders,
        image_sources=[basemap] if basemap else [],
        trusted_origins=settings.trusted_origins,
    )
    # Before anything else reads the request: a name that is not the server's (app.api.hosts).
    app.add_middleware(AllowedHosts, allowed=settings.allowed_hosts)
    # Outermost: counts (and logs, a JSON line each) every request, the refused ones too.
    request_log = settings.request_log if settings.request_log is not None else not settings.demo
    app.add_middleware(RequestObserver, metrics=app.state.metrics, log_requests=request_log)
    app.add_middleware(StartupRefusals)  # lifespan only

    return app
