"""Owner mistakes that reach the test database around the harness."""

from httpx import AsyncClient
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from src.users.models import User
from tests.owner_patterns.helpers import emails, person


async def test_an_engine_built_from_the_settings_in_a_request_is_named(
    async_client: AsyncClient,
) -> None:
    """Owner mistake, https://github.com/Kludex/starlette/issues/1315 (a
    `create_async_engine(DATABASE_URL)` of the code's own): the request writes through an
    engine of its own, committing beside the test's transaction."""
    response = await async_client.post("/patterns/escape", json=person("Escapee"))

    assert response.status_code == 201


async def test_committing_async_connection_is_named(
    async_connection: AsyncConnection, async_client: AsyncClient
) -> None:
    """Owner mistake, https://docs.sqlalchemy.org/en/20/orm/session_transaction.html#joining-a-session-into-an-external-transaction-such-as-for-test-suites
    (the test owns the outer transaction; committing it ends the isolation)."""
    await async_connection.execute(
        insert(User).values(email="committer@example.com", name="Committer")
    )
    await async_connection.commit()

    assert await emails(async_client) == ["committer@example.com"]
