"""What a response is made of: streamed rows, the current user, errors, clocks, reference data."""

from datetime import datetime, timedelta

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine

from src.users.models import User
from tests.harness.fixtures import OverrideDependency
from tests.owner_patterns.helpers import USERS, person
from tests.owner_patterns.routes import get_current_user
from tests.owner_patterns.tables import REFERENCE_PROBE


async def test_a_streaming_response_reads_rows(async_client: AsyncClient) -> None:
    """https://fastapi.tiangolo.com/advanced/custom-response/#streamingresponse and
    https://github.com/fastapi/fastapi/issues/11143: the generator opens a session of its own
    on the app's factory, after the request's session is closed."""
    ids = [
        (await async_client.post(USERS, json=person(name))).json()["id"] for name in ("Ada", "Bob")
    ]

    response = await async_client.get("/patterns/users.csv")

    assert response.text.splitlines() == [
        "id,email",
        f"{ids[0]},ada@example.com",
        f"{ids[1]},bob@example.com",
    ]


async def test_the_current_user_dependency_is_overridden(
    async_client: AsyncClient, override_dependency: OverrideDependency
) -> None:
    """https://fastapi.tiangolo.com/advanced/testing-dependencies/: the authenticated user
    replaced for one test."""
    assert (await async_client.get("/patterns/me")).status_code == 401

    async def ada() -> User:
        return User(email="ada@example.com", name="Ada")

    override_dependency(get_current_user, ada)

    response = await async_client.get("/patterns/me")
    assert response.json() == {"email": "ada@example.com", "name": "Ada"}


async def test_a_lazy_load_after_commit_is_reported_with_its_cause(
    async_client: AsyncClient,
) -> None:
    """Owner mistake, https://github.com/sqlalchemy/sqlalchemy/issues/6164 and
    https://docs.sqlalchemy.org/en/20/errors.html#error-xd2s: a session factory with the
    default expire_on_commit=True; reading an attribute after the commit raises
    MissingGreenlet, the client sees a 500, and the report shows the app's exception."""
    response = await async_client.post("/patterns/users/expire-on-commit", json=person("Ada"))

    assert response.status_code == 201


async def test_the_database_clock_within_one_test(
    async_client: AsyncClient, async_engine: AsyncEngine
) -> None:
    """https://www.postgresql.org/docs/current/functions-datetime.html#FUNCTIONS-DATETIME-CURRENT
    and https://github.com/mozilla-it/ctms-api/pull/737 (tests wrapped in one transaction):
    PostgreSQL's now() is the start of the transaction, the test's one, so two requests of a
    test read the same now(); the app's own `utc_now` (created_at) differs. SQLite's
    CURRENT_TIMESTAMP is each statement's, in whole seconds, UTC without an offset."""
    first = (await async_client.post(USERS, json=person("Ada"))).json()
    second = (await async_client.post(USERS, json=person("Bob"))).json()
    assert datetime.fromisoformat(second["created_at"]) > datetime.fromisoformat(
        first["created_at"]
    )

    clocks = [(await async_client.get("/patterns/db-now")).json()["now"] for _ in "ab"]

    earlier, later = (datetime.fromisoformat(clock) for clock in clocks)
    if async_engine.dialect.name == "postgresql":
        assert earlier == later
        assert earlier.tzinfo is not None
    else:
        assert earlier.microsecond == later.microsecond == 0
        assert earlier.tzinfo is None
        assert timedelta(0) <= later - earlier <= timedelta(seconds=1)


async def test_session_reference_data_is_seen_by_requests(async_client: AsyncClient) -> None:
    """https://docs.pytest.org/en/stable/how-to/fixtures.html#scope-sharing-fixtures-across-classes-modules-packages-or-session:
    reference data a session-scoped fixture committed through `async_engine` before any
    test's transaction; every test's requests see it."""
    response = await async_client.get("/patterns/reference")

    assert response.json() == {"reference": [REFERENCE_PROBE]}
