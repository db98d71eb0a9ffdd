"""The app's lifespan runs under the harness, as under uvicorn."""

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import async_sessionmaker

from src.main import app


async def test_the_lifespan_has_started_the_app(async_client: AsyncClient) -> None:
    assert isinstance(app.state.sessionmaker, async_sessionmaker)
    assert (await async_client.get("/health")).status_code == 200
