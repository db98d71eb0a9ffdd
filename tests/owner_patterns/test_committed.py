"""Tests that need real commits ask for `transactional_db` (pytest-django's name)."""

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from src.database import app_database
from src.main import app
from src.users.models import User
from tests.owner_patterns.helpers import emails, person, withdraw_70_twice_from_100
from tests.owner_patterns.tables import audit_log


async def committed_emails(session: AsyncSession) -> list[str]:
    return list(await session.scalars(select(User.email).order_by(User.email)))


async def test_two_sessions_see_each_others_commits(
    transactional_db: None, async_client: AsyncClient
) -> None:
    """https://pytest-django.readthedocs.io/en/latest/helpers.html#transactional-db and
    https://github.com/dandi/dandi-archive/pull/1066 ("you have to manually specify
    transaction=True if a transaction is used in the code being tested"): two sessions of the
    app's own factory, each seeing what the other committed."""
    database = app_database(app)
    async with database.sessionmaker() as first, database.sessionmaker() as second:
        first.add(User(email="ada@example.com", name="Ada"))
        await first.commit()
        assert await committed_emails(second) == ["ada@example.com"]

        second.add(User(email="grace@example.com", name="Grace"))
        await second.commit()
        assert await committed_emails(first) == ["ada@example.com", "grace@example.com"]


async def test_the_row_lock_race_with_real_commits(
    transactional_db: None, async_client: AsyncClient, async_session: AsyncSession
) -> None:
    """https://docs.sqlalchemy.org/en/20/core/selectable.html#sqlalchemy.sql.expression.Select.with_for_update
    and https://github.com/getsentry/sentry/pull/108344: two withdrawals, each in a
    transaction and on a connection of its own; the row lock (PostgreSQL) or the one writer
    (SQLite) refuses the second."""
    await withdraw_70_twice_from_100(async_client, async_session)


async def test_a_refused_requests_audit_row_with_real_commits(
    transactional_db: None,
    async_client: AsyncClient,
    async_session: AsyncSession,
    committed_engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """https://fastapi.tiangolo.com/tutorial/dependencies/dependencies-with-yield/ and the
    harness's guide ("an audit row that must survive a failed request asks for
    transactional_db"): the request writes a user, audits the attempt through `engine.begin()`
    and refuses. PostgreSQL: the audit, committed on a connection of its own, stays; the
    user is rolled back. SQLite: a file has one connection per process (src/database.py), which
    the request's session holds, so the audit waits for the pool (lowered here) and the
    request answers 503, as it would in production."""
    monkeypatch.setattr(committed_engine.sync_engine.pool, "_timeout", 0.2)

    response = await async_client.post("/patterns/audited-users/refused", json=person("Ada"))

    assert await emails(async_client) == []
    audited = list(await async_session.scalars(select(audit_log.c.event)))
    if committed_engine.dialect.name == "postgresql":
        assert response.status_code == 409
        assert audited == ["refused ada@example.com"]
    else:
        assert response.status_code == 503
        assert audited == []
