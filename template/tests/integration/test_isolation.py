# Template-owned (kept current by `copier update`), like everything in tests/harness/
"""The harness's promise, checked: each test starts from an empty database.

It needs no domain of yours: the probe is a row of alembic_version, the table every migrated
test database has.
"""

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from src.database import get_session_db

PROBE = "isolation-probe"


async def probes(session: AsyncSession) -> list[str]:
    rows = await session.scalars(
        text("SELECT version_num FROM alembic_version WHERE version_num = :probe"),
        {"probe": PROBE},
    )
    return list(rows)


# Two identical tests: in whatever order they run (pytest.ini shuffles them), the second
# one follows a test that committed the probe through the app's own request code, and must see
# none of it. No session of the test's own writes it: one would roll back its savepoint at
# teardown and undo the row by itself, which would hide a harness that commits the test's
# transaction.
@pytest.mark.parametrize("run", ["once", "twice"])
async def test_committed_data_does_not_outlive_its_test(
    run: str, test_sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    request: AsyncIterator[AsyncSession] = get_session_db(test_sessionmaker)
    session = await anext(request)  # a request's session, as FastAPI opens it
    assert await probes(session) == []  # the other run's probe would still be here

    await session.execute(
        text("INSERT INTO alembic_version (version_num) VALUES (:probe)"), {"probe": PROBE}
    )
    with pytest.raises(StopAsyncIteration):
        await anext(request)  # the request ends: get_session_db commits

    async with test_sessionmaker() as session:
        assert await probes(session) == [PROBE]
