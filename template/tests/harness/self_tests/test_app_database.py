"""Every way the app reaches its database leads into the test's transaction.

The probe rows go into alembic_version, the table every migrated test database has, so these
tests need no domain of yours.
"""

import asyncio

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from src._template.database import app_database, create_engine
from src.main import app
from tests.harness.db.database import database_under_test
from tests.harness.db.escapes import EscapeError, escape_watch

INSERT = text("INSERT INTO alembic_version (version_num) VALUES (:probe)")
PROBES = text("SELECT version_num FROM alembic_version WHERE version_num LIKE 'probe-%'")


async def probes(session: AsyncSession) -> list[str]:
    return sorted(await session.scalars(PROBES))


# Two identical tests, in whatever order: the second must see none of the first one's rows,
# written as the app's own code outside a request writes them (a background job on the
# session factory, an audit row in `engine.begin()`).
@pytest.mark.parametrize("run", ["once", "twice"])
async def test_the_apps_own_writes_do_not_outlive_the_test(
    run: str, async_client: AsyncClient, async_session: AsyncSession
) -> None:
    assert await probes(async_session) == []

    database = app_database(app)
    async with database.sessionmaker() as session:
        await session.execute(INSERT, {"probe": f"probe-job-{run}"})
        await session.commit()
    async with database.engine.begin() as connection:
        await connection.execute(INSERT, {"probe": f"probe-audit-{run}"})

    assert await probes(async_session) == [f"probe-audit-{run}", f"probe-job-{run}"]


async def test_sessions_used_at_once_take_turns(
    async_client: AsyncClient, async_session: AsyncSession
) -> None:
    """Two of the app's sessions, each reading, yielding to the other (as gathered requests
    do), then writing what it read: they run one after the other, as two transactions behind
    a row lock do in production, instead of both reading before either writes."""

    async def count_then_write() -> None:
        async with app_database(app).sessionmaker() as session:
            seen = len(await probes(session))
            await asyncio.sleep(0)  # the other one runs now, as far as it can
            await session.execute(INSERT, {"probe": f"probe-after-{seen}"})
            await session.commit()

    await asyncio.gather(count_then_write(), count_then_write())

    assert await probes(async_session) == ["probe-after-0", "probe-after-1"]


async def test_a_rolled_back_session_loses_only_its_own_writes(
    async_client: AsyncClient, async_session: AsyncSession
) -> None:
    database = app_database(app)
    async with database.sessionmaker() as session:
        await session.execute(INSERT, {"probe": "probe-kept"})
        await session.commit()
    async with database.sessionmaker() as session:
        await session.execute(INSERT, {"probe": "probe-lost"})
        await session.rollback()

    assert await probes(async_session) == ["probe-kept"]


async def test_a_connection_beside_the_harness_is_refused_and_named(
    async_session: AsyncSession,
) -> None:
    engine = create_engine(database_under_test().url)
    try:
        with pytest.raises(EscapeError, match="Refused a connection to the test database"):
            async with engine.connect():
                pass
    finally:
        await engine.dispose()

    escapes = escape_watch().take()  # taken: this test expects it, and passes
    assert len(escapes) == 1, escapes
    assert "test_app_database.py" in escapes[0], escapes
