"""The app's lifespan runs under the harness, as under uvicorn, on the test database."""

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine

from src.database import app_database
from src.main import app


async def test_the_lifespan_has_started_the_app_on_the_test_database(
    async_client: AsyncClient, async_engine: AsyncEngine
) -> None:
    assert app_database(app).engine is async_engine
    assert (await async_client.get("/health/ready")).status_code == 200
