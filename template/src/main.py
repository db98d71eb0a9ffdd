"""Application entry point: `uvicorn src.main:app`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from sqlalchemy import text

from src.config import Settings, get_settings
from src.database import SessionDep, create_engine, create_sessionmaker
from src.errors import install_error_handlers
from src.users.router import router as users_router


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    engine = create_engine(settings.database_url, echo=settings.database_echo)
    app.state.sessionmaker = create_sessionmaker(engine)
    try:
        yield
    finally:
        await engine.dispose()


health_router = APIRouter(tags=["health"])


@health_router.get("/health")
async def health(session: SessionDep) -> dict[str, str]:
    """Liveness and database reachability in one round trip."""
    await session.execute(text("SELECT 1"))
    return {"status": "ok", "database": "ok"}


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(
        title=settings.app_name,
        debug=settings.debug,
        lifespan=lifespan,
        # Without an OpenAPI URL there is no schema, Swagger UI or ReDoc to serve.
        openapi_url="/openapi.json" if settings.docs_enabled else None,
    )
    install_error_handlers(app)
    app.include_router(health_router)
    app.include_router(users_router, prefix="/api/v1")
    return app


app = create_app(get_settings())
