"""Application entry point: `uvicorn src.main:app`."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI

from src._template import (
    browsers,
    discovery,
    error_handlers,
    health,
    http_semantics,
    limits,
    request_context,
)
from src._template.database import open_database
from src.config import Settings, get_settings
from src.errors import error_responses


def lifespan_with(settings: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_database(settings) as database:
            app.state.database = database
            # Startup code of yours goes here: src.database.app_database(app) is the app's
            # database (under the test harness, the test database).
            yield

    return lifespan


def create_app(settings: Settings) -> FastAPI:
    """The application: lifespan, docs, error handling, request ids, health checks, and the
    router of every domain under src/ (src/_template/discovery.py)."""
    app = discovery.ServiceApp(
        title=settings.app_name,
        debug=settings.debug,
        lifespan=lifespan_with(settings),
        # Without an OpenAPI URL there is no schema, Swagger UI or ReDoc to serve.
        openapi_url="/openapi.json" if settings.docs_enabled else None,
        # Any operation can reject its input: 400 for a body that cannot be decoded, 408 for one
        # that does not arrive in time, 413 for one too large, 422 for invalid values; and any
        # can meet an unavailable database: 503. Documented for every route, in the shared
        # error shape.
        responses=error_responses(400, 408, 413, 422, 503),
    )
    error_handlers.install(app)
    http_semantics.install(app)
    limits.install(
        app,
        max_body_bytes=settings.max_request_body_bytes,
        body_timeout=settings.request_body_timeout,
    )
    request_context.install(app, debug=settings.debug)
    browsers.install(
        app,
        allowed_origins=settings.cors_allowed_origins,
        allow_credentials=settings.cors_allow_credentials,
    )
    app.include_router(health.router)
    app.include_discovered_routers()
    # Routers of your own that discovery does not serve (AUTO_INCLUDE = False) go here.
    return app


app = create_app(get_settings())
