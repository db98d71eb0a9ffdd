"""Floor (c): the same requests with no isolation at all.

One engine (the harness's test database URL, so the same driver as the harness), the schema
created once, one client and one lifespan for the whole run; every request commits for real.
"""

from collections.abc import AsyncIterator

import pytest
from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from src.database import Base

try:  # 9.0.0 on: the session factory is the template's
    from src._template.database import create_sessionmaker, get_sessionmaker
except ImportError:  # an earlier release, as a baseline
    from src.database import create_sessionmaker, get_sessionmaker
from src.main import app
from tests.harness.db.database import create_test_engine, database_under_test


@pytest.fixture(scope="session")
async def async_client() -> AsyncIterator[AsyncClient]:
    engine = create_test_engine(database_under_test().url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    sessionmaker: async_sessionmaker[AsyncSession] = create_sessionmaker(engine)

    async def get_floor_sessionmaker() -> async_sessionmaker[AsyncSession]:
        return sessionmaker

    app.dependency_overrides[get_sessionmaker] = get_floor_sessionmaker
    async with (
        LifespanManager(app) as manager,
        AsyncClient(transport=ASGITransport(app=manager.app), base_url="http://test") as client,
    ):
        yield client
    app.dependency_overrides.clear()
    await engine.dispose()
