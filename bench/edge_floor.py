"""The floor of bench/edge_benchmark.py, copied into a rendered project and served there as
`edge_floor:app`: what FastAPI costs for the measured routes' own work, and nothing else.

FastAPI with the project's engine, session factory and `get_session_db` (`SessionDep`), opened
by a lifespan as src/main.py opens them, and the same work as the app's routes: `/health/live`
returns the same JSON, the users reads run the same queries and answer the same schema. No
middleware, no error handlers, no other route.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException
from sqlalchemy import select

from src.config import get_settings
from src.database import Database, SessionDep

try:  # 9.0.0 on: the engine is the template's
    from src._template.database import create_engine, create_sessionmaker
except ImportError:  # an earlier release, as a baseline
    from src.database import create_engine, create_sessionmaker
from src.users.models import User
from src.users.schemas import UserRead


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    engine = create_engine(get_settings().database_url)
    app.state.database = Database(engine, create_sessionmaker(engine))
    try:
        yield
    finally:
        await engine.dispose()


app = FastAPI(lifespan=lifespan)


@app.get("/health/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/api/v1/users/")
async def list_users(session: SessionDep, limit: int = 50, offset: int = 0) -> list[UserRead]:
    users = await session.scalars(select(User).order_by(User.id).limit(limit).offset(offset))
    return [UserRead.model_validate(user) for user in users.all()]


@app.get("/api/v1/users/{user_id}")
async def get_user(user_id: int, session: SessionDep) -> UserRead:
    user = await session.get(User, user_id)
    if user is None:
        raise HTTPException(404, "User not found")
    return UserRead.model_validate(user)
