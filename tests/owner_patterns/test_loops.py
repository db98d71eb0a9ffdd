"""Event-loop markers from the docs of pytest-asyncio and of FastAPI, on database tests."""

import pytest
from httpx import AsyncClient

from tests.owner_patterns.helpers import emails


@pytest.mark.asyncio(loop_scope="function")
async def test_a_function_scoped_loop_fails_at_setup(async_client: AsyncClient) -> None:
    """Owner mistake, https://pytest-asyncio.readthedocs.io/en/stable/concepts.html#asyncio-event-loops
    and https://github.com/pytest-dev/pytest-asyncio/issues/38 ("attached to a different
    loop"): the test database lives on the session's loop; this test would run on its own."""
    assert await emails(async_client) == []


@pytest.mark.anyio
async def test_the_anyio_marker_fails_at_setup(async_client: AsyncClient) -> None:
    """Owner mistake, https://fastapi.tiangolo.com/advanced/async-tests/ (`@pytest.mark.anyio`)
    and https://anyio.readthedocs.io/en/stable/testing.html: anyio's runner starts a loop of
    its own for the test."""
    assert await emails(async_client) == []
