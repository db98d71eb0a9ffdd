"""The clients an owner calls the app with: FastAPI's docs' own, and the harness's."""

from httpx import ASGITransport, AsyncClient, Client

from src.main import app
from tests.owner_patterns.helpers import USERS, person


async def test_the_async_tests_pages_client_is_refused() -> None:
    """Owner mistake, https://fastapi.tiangolo.com/advanced/async-tests/ as written (its
    `@pytest.mark.anyio` left out: pytest.ini runs async tests): a client of the test's own
    skips the harness's transaction, so the harness refuses its requests in one line."""
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as ac:
        response = await ac.get("/health")

    assert response.status_code == 200


def test_the_sync_client_fixture_calls_the_app_in_the_tests_transaction(client: Client) -> None:
    """https://fastapi.tiangolo.com/tutorial/testing/ written with the harness's sync `client`
    fixture: FastAPI's sync tests, isolated like `async_client` (the next test's isolation
    check sees nothing of Ada)."""
    created = client.post(USERS, json=person("Ada"))

    assert created.status_code == 201
    assert [user["email"] for user in client.get(USERS).json()] == ["ada@example.com"]
