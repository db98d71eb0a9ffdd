"""Application entry point: `uvicorn src.main:app`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import text

from src import browsers, database, discovery, errors
from src import health as health_checks
from src._template import edge
from src.config import Settings, get_settings
from src.database import SessionDep, create_engine, create_sessionmaker
from src.users.router import router as users_router


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[database.Database]:
    """The app's database while the block runs: the one the test harness hands in
    (database.use_database), or an engine on DATABASE_URL, closed at the end."""
    if (handed_in := database.handed_in_database()) is not None:
        yield handed_in  # its owner closes it
        return
    engine = create_engine(
        settings.database_url,
        echo=settings.database_echo,
        pool_timeout=settings.database_pool_timeout,
        connect_timeout=settings.database_connect_timeout,
        command_timeout=settings.database_command_timeout,
    )
    try:
        yield database.Database(engine, create_sessionmaker(engine))
    finally:
        await engine.dispose()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with open_database(get_settings()) as opened:
        app.state.database = opened
        # Startup code of yours goes here: database.app_database(app) is the app's database
        # (under the test harness, the test database).
        yield


def create_app(settings: Settings) -> FastAPI:
    """The application: lifespan, docs, error handling, request ids, health checks, and the
    router of every domain under src/ (src/discovery.py)."""
    app = discovery.ServiceApp(
        title=settings.app_name,
        debug=settings.debug,
        lifespan=lifespan,
        # Without an OpenAPI URL there is no schema, Swagger UI or ReDoc to serve.
        openapi_url="/openapi.json" if settings.docs_enabled else None,
        # Any operation can reject its input: 400 for a body that cannot be decoded, 408 for one
        # that does not arrive in time, 413 for one too large, 422 for invalid values; and any
        # can meet an unavailable database: 503. Documented for every route, in the shared
        # error shape.
        responses=errors.error_responses(400, 408, 413, 422, 503),
    )
    errors.install_error_handlers(app)
    # Request ids, limits, HTTP semantics, CORS and nosniff, in one layer.
    edge.install(
        app,
        max_body_bytes=settings.max_request_body_bytes,
        body_timeout=settings.request_body_timeout,
        debug=settings.debug,
        cors=browsers.cors_policy(
            settings.cors_allowed_origins, allow_credentials=settings.cors_allow_credentials
        ),
    )
    health_checks.install_probes(app)
    app.include_discovered_routers()
    return app


app = create_app(get_settings())
# Discovered already: this line, which services generated before discovery have, changes
# nothing (a router is included once). Include routers of your own here.
app.include_router(users_router, prefix="/api/v1")


@app.get("/health", tags=["health"])
async def health(session: SessionDep) -> dict[str, str]:
    """Liveness and database reachability in one round trip."""
    await session.execute(text("SELECT 1"))
    return {"status": "ok", "database": "ok"}
