"""The app's lifespan runs under the harness, as under uvicorn, on the test database."""

from httpx import AsyncClient

from src._template.database import app_database
from src.main import app
from tests.harness.db.shared_connection import TestConnectionEngine


async def test_the_lifespan_has_started_the_app_on_the_test_database(
    async_client: AsyncClient, app_engine: TestConnectionEngine
) -> None:
    assert app_database(app).engine is app_engine.engine  # the test's connection, lent
    assert (await async_client.get("/health/ready")).status_code == 200
