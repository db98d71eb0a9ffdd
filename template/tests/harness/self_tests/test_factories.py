"""Test-data factories write in the running test's transaction (tests/harness/factories.py):
visible to the app at once, never ending the transaction, gone after the test. Shown with a
row of alembic_version, the one table every migrated test database has."""

import random
from uuid import uuid4

import pytest
from polyfactory import Use
from sqlalchemy import String, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from tests.harness._plugin import run_seed, seed_number
from tests.harness.factories import Factory

PROBE_PREFIX = "factory-probe-"


class _Alembic(DeclarativeBase):
    pass


class AlembicVersion(_Alembic):
    __tablename__ = "alembic_version"

    version_num: Mapped[str] = mapped_column(String(32), primary_key=True)


class AlembicVersionFactory(Factory[AlembicVersion]):
    __set_primary_key__ = True
    version_num = Use(lambda: PROBE_PREFIX + uuid4().hex[:12])


async def probes(session: AsyncSession) -> list[str]:
    rows = await session.scalars(
        select(AlembicVersion.version_num).where(
            AlembicVersion.version_num.startswith(PROBE_PREFIX)
        )
    )
    return list(rows)


# Two identical tests: whichever runs second must not see the first one's rows.
@pytest.mark.parametrize("run", ["once", "twice"])
async def test_factory_rows_live_in_the_tests_transaction(
    run: str,
    async_connection: AsyncConnection,
    test_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with test_sessionmaker() as session:
        assert await probes(session) == []

    created = await AlembicVersionFactory.create_batch_async(3)

    assert async_connection.in_transaction()  # the test's own, still open
    async with test_sessionmaker() as session:  # as the app's requests see the database
        assert sorted(await probes(session)) == sorted(row.version_num for row in created)


async def test_a_factory_outside_a_database_test_says_what_to_ask_for() -> None:
    with pytest.raises(LookupError, match="ask for async_session or async_client"):
        await AlembicVersionFactory.create_async()


def test_every_test_starts_from_the_runs_seed(pytestconfig: pytest.Config) -> None:
    """`random` and the factories are seeded with the run's seed before each test, so that
    `--random-order-seed=<seed>` gives a failing test the same data again."""
    seed = run_seed(pytestconfig)
    assert seed is not None, "pytest-random-order shuffles every run (pytest.ini)"

    def draw() -> tuple[float, float, str]:
        factory = AlembicVersionFactory
        return random.random(), factory.__random__.random(), factory.__faker__.name()  # noqa: S311

    drawn = draw()
    random.seed(seed)
    Factory.seed_random(seed_number(seed))
    assert draw() == drawn
