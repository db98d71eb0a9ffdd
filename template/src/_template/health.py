"""Health endpoints, as orchestrators and load balancers expect them.

- `GET /health/live`: the process answers. No database: a database outage must not get every
  instance restarted (a container health check, a liveness probe).
- `GET /health/ready`: the database answers and its schema is at the migrations' head, so the
  instance can take traffic (a readiness probe, a load balancer's check). 503 otherwise, in
  the shared error shape, saying which of the two failed.
- `GET /health`: liveness and database reachability in one answer.

`install` declares them on the app itself, not on a router it includes: FastAPI resolves the
routes of an included router again on every request, which costs as much as the rest of the
app's own work on `/health/live` (docs/benchmarks.md), and a probe should cost the least.
"""

from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, status
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from src._template.database import get_sessionmaker, is_database_unavailable
from src.errors import error_responses

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"

TAGS: list[str | Enum] = ["health"]
SessionFactory = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)]


@lru_cache
def migration_heads() -> frozenset[str]:
    """The revisions `alembic upgrade head` leads to, read once from migrations/."""
    # Imported at the first readiness check: processes that never serve one (the tests, the
    # command-line tools) are spared loading alembic.
    from alembic.config import Config  # noqa: PLC0415
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    return frozenset(ScriptDirectory.from_config(Config(ALEMBIC_INI)).get_heads())


async def health(sessionmaker: SessionFactory) -> dict[str, str]:
    """Liveness and database reachability in one round trip."""
    async with sessionmaker() as session:
        await session.execute(text("SELECT 1"))
    return {"status": "ok", "database": "ok"}


async def live() -> dict[str, str]:
    return {"status": "ok"}


async def ready(sessionmaker: SessionFactory) -> dict[str, str]:
    # A database that does not answer raises here, and is answered 503 like on any route.
    async with sessionmaker() as session:
        await session.execute(text("SELECT 1"))
        try:
            # In a savepoint: on PostgreSQL a failed statement would end the transaction.
            async with session.begin_nested():
                result = await session.scalars(text("SELECT version_num FROM alembic_version"))
                revisions = frozenset(result.all())
        except SQLAlchemyError as error:
            if is_database_unavailable(error):
                raise
            revisions = frozenset()  # no alembic_version table: never migrated
    if revisions != migration_heads():
        found = ", ".join(sorted(revisions)) or "none"
        expected = ", ".join(sorted(migration_heads()))
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"Not ready: the database schema is at revision {found}, the code expects "
            f"{expected} (run `alembic upgrade head`)",
        )
    return {"status": "ok", "database": "ok", "schema": "ok"}


def install(app: FastAPI) -> None:
    app.add_api_route("/health", health, methods=["GET"], tags=TAGS)
    install_probes(app)


def install_probes(app: FastAPI) -> None:
    """/health/live and /health/ready: src/main.py of a service generated before 9.0.0 serves
    /health itself."""
    app.add_api_route("/health/live", live, methods=["GET"], tags=TAGS)
    app.add_api_route(
        "/health/ready",
        ready,
        methods=["GET"],
        tags=TAGS,
        responses=error_responses(status.HTTP_503_SERVICE_UNAVAILABLE),
    )
