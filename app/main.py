"""The FastAPI application factory."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from app.api import (
    attachments,
    collect,
    docs,
    exports,
    forms,
    health,
    indicators,
    maps,
    places,
    submissions,
)
from app.api.errors import add_exception_handlers
from app.api.limits import BodySizeLimit
from app.api.schemas import install_request_schemas
from app.api.security import SecurityHeaders, origin_of
from app.db.engine import make_engine, make_ingest_pool
from app.forms.registry import FormsWatcher
from app.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app from explicit settings (the environment's when none are given)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = make_engine(
            settings.async_database_url, settings.db_pool_size, settings.db_max_overflow
        )
        app.state.ingest_pool = make_ingest_pool(settings.libpq_database_url, settings.db_pool_size)
        # Everything loaded so far (forms, routes, libraries) lives as long as the process:
        # keep it out of the garbage collector's full passes, which otherwise stall requests.
        gc.freeze()
        try:
            yield
        finally:
            await app.state.ingest_pool.close()
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
    app.state.forms = FormsWatcher.start(settings.forms_dir, settings.forms_reload_seconds)
    add_exception_handlers(app)
    install_request_schemas(app)
    for module in (
        submissions,
        health,
        places,
        exports,
        forms,
        attachments,
        collect,
        indicators,
        maps,
        docs,
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
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    basemap = origin_of(settings.basemap_tiles_url)
    app.add_middleware(
        SecurityHeaders,
        image_sources=[basemap] if basemap else [],
        trusted_origins=settings.trusted_origins,
    )

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/docs")

    return app
