"""The harness's promises, checked: each test starts from an empty database."""

from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from src.users.models import User

USERS = "/api/v1/users/"


async def count_users(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(User)) or 0


async def test_committed_data_is_visible_within_the_test(
    async_client: AsyncClient, async_session: AsyncSession
) -> None:
    response = await async_client.post(USERS, json={"email": "leak@example.com", "name": "Leak"})
    assert response.status_code == 201

    assert await count_users(async_session) == 1


async def test_data_from_other_tests_is_gone(
    async_client: AsyncClient, async_session: AsyncSession
) -> None:
    # Runs in any order relative to the test above; neither sees the other's rows.
    assert await count_users(async_session) == 0
    assert (await async_client.get(USERS)).json() == []
