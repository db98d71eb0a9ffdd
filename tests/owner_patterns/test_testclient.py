"""FastAPI's TestClient, as its testing pages use it: the module imports it at the top."""

from fastapi.testclient import TestClient
from httpx import AsyncClient

from src.main import app
from tests.owner_patterns.helpers import USERS, emails, person

# https://fastapi.tiangolo.com/tutorial/testing/: one client for the module.
client = TestClient(app)


async def test_a_module_importing_testclient_collects(async_client: AsyncClient) -> None:
    """https://fastapi.tiangolo.com/tutorial/testing/ (`from fastapi.testclient import
    TestClient` at the top; Starlette warns about httpx on that import, and pytest.ini makes
    warnings errors): the module collects and its other tests run."""
    assert await emails(async_client) == []


def test_testclient_with_override_get_session_is_refused(override_get_session: None) -> None:
    """Owner mistake, https://sqlmodel.tiangolo.com/tutorial/fastapi/tests/ and
    https://fastapi.tiangolo.com/advanced/testing-database/: TestClient runs the app on a
    loop of its own, in a thread, outside the harness; its requests are refused in one line
    naming the fixture to use."""
    response = client.post(USERS, json=person("Ada"))

    assert response.status_code == 201
