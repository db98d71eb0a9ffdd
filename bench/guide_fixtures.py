"""Baseline (a): the seed guide's fixtures, as the guide writes them.

A new in-memory aiosqlite engine and `create_all` for every test, one shared session replacing
the app's `get_session_db`, and a client without the lifespan.
"""

from collections.abc import AsyncIterator, Iterator

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import sessionmaker

from src.database import Base, get_session_db
from src.main import app


@pytest.fixture
async def async_engine() -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine("sqlite+aiosqlite:///:memory:", echo=False)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
async def async_session(async_engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async_session_local = sessionmaker(async_engine, class_=AsyncSession, expire_on_commit=False)  # type: ignore[call-overload]
    async with async_session_local() as session:
        yield session


@pytest.fixture
def override_get_session(async_session: AsyncSession) -> Iterator[None]:
    async def get_test_session() -> AsyncIterator[AsyncSession]:
        yield async_session

    app.dependency_overrides[get_session_db] = get_test_session
    yield
    app.dependency_overrides.clear()


@pytest.fixture
async def async_client(override_get_session: None) -> AsyncIterator[AsyncClient]:  # noqa: ARG001
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
        yield client
