"""The harness's promises, checked: each test starts from an empty database."""

import pytest
from httpx import AsyncClient

from tests.integration.users_api import USERS


# Two identical tests: in whatever order they run (pytest-randomly shuffles them), the second
# one follows a test that committed a user through the API, and must see none of it. Only the
# API is used: a session of the test's own would roll back its savepoint at teardown and undo
# the rows by itself, which would hide a harness that commits the test's transaction.
@pytest.mark.parametrize("run", ["once", "twice"])
async def test_committed_data_does_not_outlive_its_test(
    run: str, async_client: AsyncClient
) -> None:
    assert (await async_client.get(USERS)).json() == []

    response = await async_client.post(USERS, json={"email": "leak@example.com", "name": "Leak"})

    assert response.status_code == 201, response.text  # a leaked row would make this a 409
    assert [user["email"] for user in (await async_client.get(USERS)).json()] == [
        "leak@example.com"
    ]
