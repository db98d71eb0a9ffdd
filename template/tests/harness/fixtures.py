"""The harness's fixtures: what a test asks for by name (`__all__`), with per-test transaction
rollback underneath.

One engine and one schema (built by the migrations) serve the whole test session. Each test
runs inside an outer transaction on a single connection that is rolled back at teardown. The
app keeps its own `get_session_db` (commit on success, rollback on error); only the session
*factory* is swapped for one bound to the test's connection, where every commit becomes a
savepoint release and every rollback a rollback to the savepoint. A handler that forgets to
commit loses its writes, exactly as in production, and the test sees it.

`tests/conftest.py` loads this module, and with it the harness's plugin (tests/harness/_plugin.py:
its hooks, the guards every test runs with, and the private fixtures these are built on).
Nothing here runs when the module is imported: each fixture imports the app and the harness's
database code (tests/harness/db/) when it runs, after the plugin has checked the project
(tests/harness/contract.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pathlib import Path

    import respx
    from httpx import AsyncClient, Client
    from sqlalchemy import URL, Connection
    from sqlalchemy.ext.asyncio import (
        AsyncConnection,
        AsyncEngine,
        AsyncSession,
        async_sessionmaker,
    )
    from starlette.types import ASGIApp

    from tests.harness.db.current import TestDatabase
    from tests.harness.db.shared_connection import TestConnectionEngine
    from tests.harness.queries import AssertMaxQueries, CountQueries, QueryLog

pytest_plugins = ["tests.harness._plugin"]

__all__ = [
    "Dependency",
    "OverrideDependency",
    "app_engine",
    "assert_max_queries",
    "async_client",
    "async_connection",
    "async_engine",
    "async_session",
    "client",
    "committed_engine",
    "count_queries",
    "isolated_example",
    "live_database_url",
    "mock_http",
    "override_dependency",
    "override_get_session",
    "running_app",
    "test_sessionmaker",
    "transactional_db",
]

# A dependency's override, as FastAPI takes it: any callable. The type of override_dependency,
# for annotating tests (count_queries' and assert_max_queries' are in tests/harness/queries.py).
Dependency = Callable[..., Any]
OverrideDependency = Callable[[Dependency, Dependency], None]
_ABSENT = object()


# The database


@pytest.fixture(scope="session")
async def async_engine(pytestconfig: pytest.Config) -> AsyncIterator[AsyncEngine]:
    """The test database engine, its schema migrated (or copied from the migrated image,
    tests/harness/db/schema_image.py) once per test session (and worker)."""
    from tests.harness.db.database import database_under_test, open_test_database
    from tests.harness.db.schema_image import image_dir

    async with open_test_database(database_under_test(), image_dir(pytestconfig)) as engine:
        yield engine


@pytest.fixture(scope="session")
def app_engine(async_engine: AsyncEngine) -> TestConnectionEngine:
    """The engine the app works with during a test: it lends every checkout the test's
    connection, inside a savepoint, one task at a time (tests/harness/db/shared_connection.py)."""
    from sqlalchemy import event

    from tests.harness.db.database import database_under_test
    from tests.harness.db.escapes import escape_watch
    from tests.harness.db.shared_connection import (
        ENDED_BY_THE_TEST,
        HarnessTransactionError,
        TestConnectionEngine,
    )
    from tests.harness.reports import HARNESS_NOTES

    engine = TestConnectionEngine(async_engine, database_under_test().url)
    engine.savepoints.notes = HARNESS_NOTES
    escape_watch().allow(engine.engine.sync_engine)

    def refuse_the_tests_commit(connection: Connection) -> None:
        if engine.lends(connection):
            raise HarnessTransactionError(ENDED_BY_THE_TEST)

    event.listen(async_engine.sync_engine, "commit", refuse_the_tests_commit)
    return engine


@pytest.fixture(scope="session")
async def committed_engine(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AsyncEngine]:
    """A real pool on a migrated database of its own (per worker), for `transactional_db`
    tests: made when the first of them runs, dropped at the end of the run."""
    from tests.harness.db.database import database_under_test, open_test_database
    from tests.harness.db.schema_image import image_dir

    database = database_under_test()
    url = database.committed(tmp_path_factory.mktemp("committed"))
    async with open_test_database(database, image_dir(pytestconfig), url=url) as engine:
        yield engine


@pytest.fixture
def transactional_db() -> None:
    """Ask for it (pytest-django's name) in a test that needs real commits: row-lock races,
    sessions that must see each other's commits, LISTEN/NOTIFY, advisory locks. The app, and
    `async_session`, then work on a database of their own through a real pool, and every commit
    is real; the tables are emptied after the test."""


@pytest.fixture
async def async_connection(
    async_engine: AsyncEngine, app_engine: TestConnectionEngine
) -> AsyncIterator[AsyncConnection]:
    """The test's connection, inside an outer transaction that is always rolled back. The app
    gets it too, for every session and connection it opens during the test."""
    from tests.harness.db.database import close_test_connection
    from tests.harness.db.shared_connection import ENDED_BY_THE_TEST

    tasks_before = asyncio.all_tasks()
    connection = await async_engine.connect()
    transaction = await connection.begin()
    app_engine.lend(connection)
    try:
        yield connection
    finally:
        leftover = await app_engine.take_back(tasks_before)
        ended_by_the_test = await close_test_connection(connection, transaction)
    if leftover:
        pytest.fail(
            f"The test ended while {' and '.join(leftover)} still used the database or ran: "
            "await what the app starts (a task, a background job) before the test returns.",
            pytrace=False,
        )
    if ended_by_the_test:
        pytest.fail(ENDED_BY_THE_TEST, pytrace=False)


@pytest.fixture
def test_sessionmaker(
    _test_database: TestDatabase,  # noqa: PT019 (a fixture, not a test: its value is used)
) -> async_sessionmaker[AsyncSession]:
    """The test's own sessions: the app's session factory, joining the test's transaction
    through savepoints (with `transactional_db`, on the committed database). The test-data
    factories of tests/factories/ use it too."""
    return _test_database.sessionmaker


@pytest.fixture
async def async_session(
    test_sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session for setting up and checking rows. `commit()` makes rows visible to the app
    (a savepoint release); everything is still rolled back when the test ends. Objects the app
    changed afterwards are stale here: `await async_session.refresh(obj)` before asserting."""
    async with test_sessionmaker() as session:
        yield session


@pytest.fixture
def isolated_example(
    async_connection: AsyncConnection, request: pytest.FixtureRequest
) -> Callable[[], AbstractAsyncContextManager[None]]:
    """`async with isolated_example():` around the body of a Hypothesis `@given` test: each
    example's writes, the app's included, are rolled back when the block ends, so examples
    do not see each other's rows (the test's fixtures are set up once for all of them)."""

    @asynccontextmanager
    async def example() -> AsyncIterator[None]:
        savepoint = await async_connection.begin_nested()
        try:
            yield
        finally:
            if "async_session" in request.fixturenames:
                # Its transaction began in this example, inside the savepoint: end it first.
                session: AsyncSession = request.getfixturevalue("async_session")
                await session.rollback()
            if savepoint.is_active:
                await savepoint.rollback()

    return example


@pytest.fixture
def count_queries(_test_database: TestDatabase) -> CountQueries:
    """`with count_queries() as queries: ...`: `queries.statements` lists the SQL run on the
    test's database inside the block, by the app and by the test, without transaction
    control (BEGIN, SAVEPOINT, RELEASE, ROLLBACK, COMMIT); `len(queries)` counts them."""
    from tests.harness.queries import count_statements

    return lambda: count_statements(*_test_database.statement_sources)


@pytest.fixture
def assert_max_queries(count_queries: CountQueries) -> AssertMaxQueries:
    """`with assert_max_queries(3): ...` fails if the block runs more than 3 SQL statements on
    the test's connection (transaction control aside), listing them."""

    @contextmanager
    def at_most(limit: int) -> Iterator[QueryLog]:
        with count_queries() as queries:
            yield queries
        if len(queries) > limit:
            listed = "\n".join(
                f"  {number}. {sql}" for number, sql in enumerate(queries.statements, 1)
            )
            pytest.fail(f"{len(queries)} queries where at most {limit} were expected:\n{listed}")

    return at_most


# The app


@pytest.fixture
def override_get_session(_test_database: TestDatabase) -> None:
    """Point the app's `get_session_db` at the test's database. The harness has one channel
    to the app: the database it hands the app's lifespan (`use_database`, in `running_app`)
    is, while a test runs, that test's. So `get_session_db`, `app_database(app)` and the
    lifespan's own code all reach it, and no dependency is overridden."""


@pytest.fixture(scope="session")
async def running_app(async_engine: AsyncEngine) -> AsyncIterator[ASGIApp]:
    """The app with its lifespan started on the test database (never on DATABASE_URL's):
    once per test session (and worker), as it starts once per process in production; each test
    still gets its own client and transaction.

    The app is handed the test database, and its settings name it while it runs, so that
    startup code reaching the database either way reaches the test one. What the lifespan
    writes is committed there before any test's transaction begins: every test of the run (of
    the worker) sees it, as every request of a process sees what its startup wrote.
    """
    from src._template.database import Database, create_sessionmaker, use_database
    from src.config import get_settings
    from src.main import app
    from tests.harness.clients import lifespan_of
    from tests.harness.db.current import RoutedDatabase
    from tests.harness.db.database import database_under_test

    test_url = database_under_test().url.render_as_string(hide_password=False)
    handed_in = RoutedDatabase(Database(async_engine, create_sessionmaker(async_engine)))
    with pytest.MonkeyPatch.context() as patch, use_database(handed_in):
        patch.setenv("DATABASE_URL", test_url)
        get_settings.cache_clear()
        async with lifespan_of(app) as started:
            yield started
    get_settings.cache_clear()


@pytest.fixture
async def async_client(
    override_get_session: None, running_app: ASGIApp
) -> AsyncIterator[AsyncClient]:
    """An httpx client calling the running app in-process."""
    from httpx import AsyncClient

    from tests.harness.clients import HarnessTransport

    transport = HarnessTransport(running_app)
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.fixture
def client(
    override_get_session: None,
    running_app: ASGIApp,
    _test_session_loop: asyncio.AbstractEventLoop,
) -> Iterator[Client]:
    """For sync tests, where FastAPI's docs use TestClient: an httpx client calling the
    running app on the test session's event loop (idle while a sync test runs), isolated
    like `async_client`."""
    from tests.harness.clients import HarnessTransport, sync_client

    with sync_client(HarnessTransport(running_app), _test_session_loop) as sync:
        yield sync


@pytest.fixture
def override_dependency() -> Iterator[OverrideDependency]:
    """`override_dependency(original, replacement)`: the app uses `replacement` wherever it
    depends on `original`, for this test only; every override is put back as it was."""
    from src.main import app

    previous: dict[Dependency, object] = {}
    replacements: dict[Dependency, Dependency] = {}

    def override(original: Dependency, replacement: Dependency) -> None:
        previous.setdefault(original, app.dependency_overrides.get(original, _ABSENT))
        app.dependency_overrides[original] = replacements[original] = replacement

    yield override
    for original, replacement in replacements.items():
        # Only an override still in place is put back: a fixture that overrode the same
        # dependency before this test (override_get_session) may have ended and removed it.
        if app.dependency_overrides.get(original) is not replacement:
            continue
        if previous[original] is _ABSENT:
            del app.dependency_overrides[original]
        else:
            app.dependency_overrides[original] = previous[original]  # type: ignore[assignment]


# Beyond the app


@pytest.fixture
def mock_http() -> Iterator[respx.MockRouter]:
    """A respx router for outgoing httpx requests: declare the calls the code under test makes,
    e.g. `mock_http.post("https://pay.example/charges").respond(201, json={...})`. A request
    no route matches fails, and so does a declared route that was never called."""
    import respx  # loaded by the tests that use it, not by every run

    with respx.mock(assert_all_called=True, assert_all_mocked=True) as router:
        yield router


@pytest.fixture
async def live_database_url(tmp_path: Path) -> AsyncIterator[URL]:
    """A migrated database of the test database's kind for a real server (`serve_app` in
    tests/harness/live_server.py), made for this test and dropped after it."""
    from tests.harness.live_server import live_database

    async with live_database(tmp_path) as url:
        yield url
