"""What listing users costs the database: one query, whether there is one user or fifty."""

from httpx import AsyncClient

from tests.factories import UserFactory
from tests.harness.queries import AssertMaxQueries, CountQueries
from tests.integration.users_api import USERS


async def test_listing_users_costs_the_same_for_1_and_for_50(
    async_client: AsyncClient, count_queries: CountQueries
) -> None:
    await UserFactory.create_async()
    with count_queries() as one_user:
        assert len((await async_client.get(USERS)).json()) == 1

    await UserFactory.create_batch_async(49)
    with count_queries() as fifty_users:
        assert len((await async_client.get(USERS)).json()) == 50

    assert len(fifty_users) == len(one_user), fifty_users.statements


async def test_listing_users_is_one_query(
    async_client: AsyncClient, assert_max_queries: AssertMaxQueries
) -> None:
    await UserFactory.create_batch_async(3)

    with assert_max_queries(1):
        response = await async_client.get(USERS)

    assert len(response.json()) == 3
