"""Application entry point: `uvicorn src.main:app`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import text

from src.config import get_settings
from src.database import SessionDep, create_engine, create_sessionmaker
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


app = FastAPI(title=get_settings().app_name, lifespan=lifespan)
app.include_router(users_router, prefix="/api/v1")


@app.get("/health", tags=["health"])
async def health(session: SessionDep) -> dict[str, str]:
    """Liveness and database reachability in one round trip."""
    await session.execute(text("SELECT 1"))
    return {"status": "ok", "database": "ok"}
