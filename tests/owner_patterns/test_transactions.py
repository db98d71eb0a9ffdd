"""Transactions in the app's own code: audit rows, savepoints, conflicts, commits."""

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from src.database import app_database
from src.main import app
from src.users.models import User
from tests.owner_patterns.helpers import USERS, emails, person
from tests.owner_patterns.tables import audit_log


async def audit_events(session: AsyncSession) -> list[str]:
    return list(await session.scalars(select(audit_log.c.event).order_by(audit_log.c.id)))


async def test_an_audit_row_through_engine_begin_during_a_request(
    async_client: AsyncClient, async_session: AsyncSession
) -> None:
    """https://docs.sqlalchemy.org/en/20/core/connections.html#begin-once (`engine.begin()`),
    on `app_database(app).engine`, inside a request that has its own session open."""
    response = await async_client.post("/patterns/audited-users", json=person("Ada"))

    assert response.status_code == 201
    assert await audit_events(async_session) == ["created ada@example.com"]
    assert await emails(async_client) == ["ada@example.com"]


async def test_a_refused_request_keeps_its_audit_row_only(
    async_client: AsyncClient, async_session: AsyncSession
) -> None:
    """Owner mistake the harness's guide documents, https://fastapi.tiangolo.com/tutorial/dependencies/dependencies-with-yield/
    (the session dependency rolls back on an exception): in production the audit row is
    committed on a connection of its own and stays. Under the harness it nests in the
    request's savepoint and is rolled back with it, so this assertion fails, and the failing
    test's report says why and that such a test asks for `transactional_db`
    (test_committed.py)."""
    response = await async_client.post("/patterns/audited-users/refused", json=person("Ada"))

    assert response.status_code == 409
    assert await audit_events(async_session) == ["refused ada@example.com"]
    assert await emails(async_client) == []


async def test_an_audit_transaction_overlapping_the_request_session(
    async_client: AsyncClient, async_session: AsyncSession
) -> None:
    """https://github.com/fastapi/fastapi/issues/1936 (a context manager around a handler's
    work): the handler's `engine.begin()` block is open when the request's session first
    reaches the database, and closes before the session commits. In production these are
    two connections; the harness must keep both transactions apart."""
    response = await async_client.post("/patterns/audited-users/audit-first", json=person("Ada"))

    assert response.status_code == 201
    assert await audit_events(async_session) == ["creating ada@example.com"]
    assert await emails(async_client) == ["ada@example.com"]


async def test_connect_and_commit_during_a_request(
    async_client: AsyncClient, async_session: AsyncSession
) -> None:
    """https://docs.sqlalchemy.org/en/20/core/connections.html#commit-as-you-go
    (`engine.connect()` and `connection.commit()`) in a request."""
    response = await async_client.post("/patterns/connect-commit")

    assert response.status_code == 201
    assert await audit_events(async_session) == ["connect and commit"]


async def test_begin_nested_in_the_app_skips_a_duplicate(async_client: AsyncClient) -> None:
    """https://docs.sqlalchemy.org/en/20/orm/session_transaction.html#using-savepoint: one
    SAVEPOINT per imported row; the duplicate's is rolled back, the others kept."""
    people = [person("Ada"), person("Ada"), person("Grace")]

    response = await async_client.post("/patterns/users/import", json=people)

    assert response.json() == {"created": 2, "skipped": 1}
    assert await emails(async_client) == ["ada@example.com", "grace@example.com"]


async def test_a_conflict_then_another_request(async_client: AsyncClient) -> None:
    """https://github.com/Zenor27/fastapi-rest-jsonapi/issues/20 (after an IntegrityError,
    "This Session's transaction has been rolled back"): 409, then the next request works."""
    assert (await async_client.post(USERS, json=person("Ada"))).status_code == 201
    assert (await async_client.post(USERS, json=person("Ada"))).status_code == 409

    assert (await async_client.post(USERS, json=person("Grace"))).status_code == 201
    assert await emails(async_client) == ["ada@example.com", "grace@example.com"]


async def test_a_handler_committing_twice(async_client: AsyncClient) -> None:
    """https://github.com/benavlabs/FastAPI-boilerplate/issues/142 (commits in the handler as
    well as in the session dependency): each commit releases a savepoint under the harness."""
    response = await async_client.post("/patterns/users/twice", json=person("Ada"))

    assert response.status_code == 201
    user = (await async_client.get(f"{USERS}{response.json()['id']}")).json()
    assert user["name"] == "Ada (confirmed)"


async def test_objects_stay_loaded_after_commit(async_client: AsyncClient) -> None:
    """https://docs.sqlalchemy.org/en/20/orm/extensions/asyncio.html#preventing-implicit-io-when-using-asyncsession:
    the app's session factory sets expire_on_commit=False, so attributes read after a commit
    need no lazy load."""
    async with app_database(app).sessionmaker() as session:
        user = User(email="ada@example.com", name="Ada")
        session.add(user)
        await session.commit()

        assert user.name == "Ada"
        assert user.id is not None
