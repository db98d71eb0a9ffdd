"""Work the app does beside the request: FastAPI's BackgroundTasks and asyncio tasks."""

import asyncio

from httpx import AsyncClient

from tests.owner_patterns.helpers import emails, person
from tests.owner_patterns.routes import CREATED_USER_TASKS


async def test_a_background_task_writes_through_the_apps_sessionmaker(
    async_client: AsyncClient,
) -> None:
    """https://fastapi.tiangolo.com/tutorial/background-tasks/ (and, for the task's own
    session and a test without time.sleep, https://github.com/fastapi/fastapi/issues/581 and
    https://github.com/fastapi/fastapi/issues/1668): the task opens a session of
    `app_database(app).sessionmaker`; ASGITransport returns once the task has run."""
    response = await async_client.post("/patterns/welcome", json=person("Ada"))

    assert response.status_code == 202
    assert await emails(async_client) == ["ada@example.com"]


async def test_a_task_the_request_starts_is_awaited_by_the_test(
    async_client: AsyncClient,
) -> None:
    """https://docs.python.org/3/library/asyncio-task.html#asyncio.create_task: the app keeps
    a reference to the task it starts; the test waits for it, then reads what it wrote."""
    response = await async_client.post("/patterns/tasks/create-user", json=person("Grace"))
    assert response.status_code == 202

    await asyncio.gather(*CREATED_USER_TASKS)

    assert await emails(async_client) == ["grace@example.com"]


async def test_a_task_still_running_at_teardown_fails_the_test(async_client: AsyncClient) -> None:
    """Owner mistake, https://github.com/ITISFoundation/osparc-simcore/pull/3120 (tasks "run in
    fire and forget fashion"): the test returns while the task its request started still
    holds the database (it would write into the next test)."""
    response = await async_client.post("/patterns/tasks/slow", json=person("Holder"))

    assert response.status_code == 202


async def test_a_task_left_sleeping_at_teardown_is_named(async_client: AsyncClient) -> None:
    """Owner mistake, https://github.com/bolna-ai/bolna/pull/809 (fire-and-forget tasks that
    outlive their caller): the request starts a reminder that sleeps, then writes
    through `app_database(app)`. The test returns while it sleeps: when it wakes it writes
    into whichever test runs then. The harness cancels it and fails this test, naming it, as
    it fails one whose task still holds the database."""
    response = await async_client.post("/patterns/tasks/remind", json=person("Sleeper"))

    assert response.status_code == 202
