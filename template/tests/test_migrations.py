# Template-owned (kept current by `copier update`), like everything in tests/harness/
"""The migrations build the schema the models describe, and can be undone.

When `test_models_match_the_migrations` fails, a model changed without a migration: create one
with `alembic revision --autogenerate -m "what changed"` (see README.md) and review it.
"""

from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import AsyncConnection

from src.database import Base
from tests.harness.migrations import (
    check_models_match_migrations,
    downgrade_to_base,
    upgrade_to_head,
)


def table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_models_match_the_migrations(async_connection: AsyncConnection) -> None:
    await async_connection.run_sync(check_models_match_migrations)


async def test_migrations_downgrade_to_nothing_and_upgrade_again(
    async_connection: AsyncConnection,
) -> None:
    # DDL inside the test's transaction: it is rolled back at the end like any other change.
    await async_connection.run_sync(downgrade_to_base)
    assert await async_connection.run_sync(table_names) == {"alembic_version"}

    await async_connection.run_sync(upgrade_to_head)
    tables = await async_connection.run_sync(table_names)
    assert tables == set(Base.metadata.tables) | {"alembic_version"}
