"""Requests gathered in one test, as load and race tests write them."""

import asyncio

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from src.users.models import User
from tests.harness.db.shared_connection import TestConnectionEngine
from tests.owner_patterns.helpers import USERS, emails, person, withdraw_70_twice_from_100
from tests.owner_patterns.routes import SIGNAL, WAITING


async def test_five_gathered_posts_all_create(async_client: AsyncClient) -> None:
    """https://github.com/MagicStack/asyncpg/issues/56 (asyncio.gather on one connection: "another
    operation is in progress"): under the harness the requests take turns on the test's one."""
    names = ["Ada", "Grace", "Linus", "Guido", "Barbara"]

    responses = await asyncio.gather(
        *(async_client.post(USERS, json=person(name)) for name in names)
    )

    assert [response.status_code for response in responses] == [201] * 5
    assert sorted(await emails(async_client)) == sorted(person(name)["email"] for name in names)


async def test_ten_gathered_gets_all_answer(async_client: AsyncClient) -> None:
    """https://github.com/encode/databases/issues/81: concurrent reads in one test."""
    await async_client.post(USERS, json=person("Ada"))

    responses = await asyncio.gather(*(async_client.get(USERS) for _ in range(10)))

    assert {response.status_code for response in responses} == {200}
    assert all(len(response.json()) == 1 for response in responses)


async def test_two_withdrawals_for_update_one_is_refused(
    async_client: AsyncClient, async_session: AsyncSession
) -> None:
    """https://docs.sqlalchemy.org/en/20/core/selectable.html#sqlalchemy.sql.expression.Select.with_for_update
    and https://github.com/sseshachala/conductai/issues/1197: SELECT ... FOR UPDATE, two
    withdrawals at once. SQLite leaves FOR UPDATE out; the harness's turns serialize them."""
    await withdraw_70_twice_from_100(async_client, async_session)


async def test_a_request_waiting_for_another_fails_naming_the_holder(
    async_client: AsyncClient, app_engine: TestConnectionEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Owner mistake under one connection, https://github.com/encode/databases/issues/125
    (concurrent work on one connection): a request holds the database while it waits for a
    second one that needs the database too. In production each has a connection; here the
    second waits for its turn, which the first never gives back: with the turn timeout
    lowered the test fails within a second, naming the task that holds the connection."""
    monkeypatch.setattr(app_engine.turns, "timeout", 0.2)
    SIGNAL.clear()

    held, signalled = await asyncio.gather(
        async_client.post("/patterns/hold"), async_client.post("/patterns/signal")
    )

    assert signalled.status_code == 200
    assert held.json() == {"signalled": True}


async def test_the_tests_session_reads_while_a_request_waits(
    async_client: AsyncClient, async_session: AsyncSession
) -> None:
    """https://github.com/falkben/fastapi_experiments/pull/1 (a request run as a task while
    the test watches it): a long poll holds its transaction while the test reads through its
    own session, then answers. In production these are two connections; under the harness they
    are savepoints of one, and the request's release must not take the test's with it."""
    SIGNAL.clear()
    WAITING.clear()
    poll = asyncio.create_task(async_client.post("/patterns/hold"))
    await asyncio.wait_for(WAITING.wait(), timeout=1)

    assert list(await async_session.scalars(select(User.email))) == []
    SIGNAL.set()
    assert (await poll).json() == {"signalled": True}

    async_session.add(User(email="grace@example.com", name="Grace"))
    await async_session.commit()
    assert await emails(async_client) == ["grace@example.com"]
