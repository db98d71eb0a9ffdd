"""The ways of writing tests that FastAPI's docs show, under the harness: each works
isolated, or fails at once saying what to use instead (docs/testing.md). Hypothesis's
`isolated_example` is tested by the template's repository, so that a service without
Hypothesis tests never imports it."""

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from src._template.database import app_database, get_sessionmaker
from src.main import app
from tests.harness.clients import USE_THE_HARNESS_CLIENTS, HarnessClientError
from tests.harness.fixtures import OverrideDependency
from tests.harness.reports import APP_ERRORS
from tests.harness.self_tests.test_app_database import INSERT, PROBES, probes


def test_a_sync_test_calls_the_app_with_client(client: httpx.Client) -> None:
    response = client.get("/health/ready")

    assert response.status_code == 200
    assert response.headers["x-request-id"]


async def test_a_client_of_the_tests_own_is_refused_at_once() -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as bare:
        with pytest.raises(HarnessClientError) as refused:
            await bare.get("/health/live")

    assert str(refused.value) == USE_THE_HARNESS_CLIENTS


# Two identical tests: whichever runs second must see none of the first one's committed rows.
@pytest.mark.parametrize("run", ["once", "twice"])
async def test_committed_tests_commit_for_real_and_start_empty(
    run: str, transactional_db: None, async_client: httpx.AsyncClient
) -> None:
    database = app_database(app)
    async with database.sessionmaker() as writer:
        assert await probes(writer) == []
        await writer.execute(INSERT, {"probe": f"probe-{run}"})
        await writer.commit()
    async with database.engine.connect() as other:  # a connection of its own: real commits
        rows = await other.scalars(PROBES)
        assert list(rows) == [f"probe-{run}"]


async def test_a_500_is_reported_with_its_cause(
    async_client: httpx.AsyncClient, override_dependency: OverrideDependency
) -> None:
    async def broken() -> None:
        raise RuntimeError("the cause a failing test's report shows")

    override_dependency(get_sessionmaker, broken)

    response = await async_client.get("/health")

    assert response.status_code == 500
    assert response.json()["detail"] == "Internal server error"  # unchanged for the client
    report = APP_ERRORS.take_report()
    assert report.startswith("GET /health -> 500\n"), report
    assert "RuntimeError: the cause a failing test's report shows" in report, report


async def test_the_probe_table_is_empty(async_session: AsyncSession) -> None:
    assert await async_session.scalar(text("SELECT count(*) FROM alembic_version")) == 1
