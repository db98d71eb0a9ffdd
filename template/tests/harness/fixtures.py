"""The harness's fixtures (async_engine, async_session, override_get_session, async_client and
their parts), with per-test transaction rollback underneath.

One engine and one schema (built by the migrations) serve the whole test session. Each test
runs inside an outer transaction on a single connection that is rolled back at teardown. The
app keeps its own `get_session_db` (commit on success, rollback on error); only the session
*factory* is swapped for one bound to the test's connection, where every commit becomes a
savepoint release and every rollback a rollback to the savepoint. A handler that forgets to
commit loses its writes, exactly as in production, and the test sees it.
"""

import asyncio
import gc
import os
import random
import socket
import sys
import zlib
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from asgi_lifespan import LifespanManager
from httpx import AsyncClient, Client
from sqlalchemy import URL, Connection, Engine, event
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
)
from starlette.types import ASGIApp

from src._template.database import (
    Database,
    create_sessionmaker,
    get_sessionmaker,
    use_database,
)
from src.config import get_settings
from src.main import app
from tests.harness.app_errors import SECTION, AppErrors
from tests.harness.clients import HarnessTransport, require_harness_clients, sync_client
from tests.harness.current import RoutedDatabase, TestDatabase, phase, running_test
from tests.harness.database import (
    AUTOSTART_VARIABLE,
    DatabaseUnreachableError,
    UnsafeTestDatabaseError,
    close_test_connection,
    database_under_test,
    empty_tables,
    open_test_database,
    reach_or_start_server,
)
from tests.harness.escapes import HOW_TO_REACH_IT, EscapeWatch
from tests.harness.live_server import live_database
from tests.harness.network import HOW_TO_MOCK, NetworkGuard
from tests.harness.queries import AssertMaxQueries, CountQueries, QueryLog, count_statements
from tests.harness.schema_image import drop_postgresql_templates
from tests.harness.shared_connection import TestConnectionEngine, wrong_loop_message
from tests.harness.throwaway_postgres import ThrowawayServer

if TYPE_CHECKING:
    import respx

# A dependency's override, as FastAPI takes it: any callable.
Dependency = Callable[..., Any]
OverrideDependency = Callable[[Dependency, Dependency], None]
_ABSENT = object()


THROWAWAY_SERVER = pytest.StashKey[ThrowawayServer]()
# The app's 500s while a test runs, for the report of a failed test (tests/harness/app_errors.py).
APP_ERRORS = AppErrors()
APP_ERRORS.install()
# Tests reach the app through the harness's clients only (tests/harness/clients.py).
require_harness_clients(app)
# Fixtures whose database lives on the test session's event loop.
DATABASE_FIXTURES = frozenset(
    {"async_engine", "async_connection", "test_database", "running_app", "client"}
)
# Starlette's TestClient warns on import where httpx2 is not installed. A module that imports
# it must not stop the run (pytest.ini turns warnings into errors); its requests get the
# harness's one-line answer (tests/harness/clients.py).
TESTCLIENT_IMPORT_WARNING = (
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
    ":starlette.exceptions.StarletteDeprecationWarning"
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("filterwarnings", TESTCLIENT_IMPORT_WARNING)


@cache
def escape_watch() -> EscapeWatch:
    """Connections to the test database beside the harness's, while a test's body runs."""
    watch = EscapeWatch(database_under_test().url, _is_the_apps_engine_under_test)
    watch.install()
    return watch


_APP_ENGINES: list[Engine] = []
# What the app's engine under test noticed during a test, for its report if it fails.
HARNESS_NOTES: list[str] = []
NOTES_SECTION = "Harness notes"


def _is_the_apps_engine_under_test(engine: Engine) -> bool:
    return any(engine is known for known in _APP_ENGINES)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    with phase(in_test=True):
        return (yield)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test that would use the test database from an event loop other than the session's
    fails here, before any fixture opens it, with the cause and the fix."""
    APP_ERRORS.records.clear()
    HARNESS_NOTES.clear()
    if DATABASE_FIXTURES.isdisjoint(getattr(item, "fixturenames", ())):
        return
    marker = item.get_closest_marker("asyncio")
    loop_scope = marker.kwargs.get("loop_scope", "session") if marker else "session"
    if loop_scope != "session" or item.get_closest_marker("anyio"):
        pytest.fail(wrong_loop_message(), pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """While the test's body runs, connections to the test database outside the harness are
    watched for (tests/harness/escapes.py); the test fails naming them."""
    watch = escape_watch()
    watch.watching = True
    try:
        return (yield)
    finally:
        watch.watching = False
        if escapes := watch.take():
            pytest.fail(
                "This test connected to the test database outside the harness: "
                f"{'; '.join(escapes)}. {HOW_TO_REACH_IT}",
                pytrace=False,
            )


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Generator[None, object, object]:
    """The setup of a test's own fixtures is watched too; the harness's, and session-wide
    fixtures (reference data committed once for the run), are not."""
    watch = escape_watch()
    before = watch.watching
    defined_in = getattr(fixturedef.func, "__wrapped__", fixturedef.func).__module__
    watch.watching = fixturedef.scope == "function" and not defined_in.startswith(__package__)
    try:
        return (yield)
    finally:
        watch.watching = before


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed and APP_ERRORS.records:
        report.sections.append((SECTION, APP_ERRORS.take_report()))
    if report.failed and HARNESS_NOTES:
        report.sections.append((NOTES_SECTION, "\n".join(HARNESS_NOTES)))
    if call.when == "teardown":
        APP_ERRORS.records.clear()
        HARNESS_NOTES.clear()
    return report


def pytest_sessionstart(session: pytest.Session) -> None:
    """Stop with one clear message on an unsafe or unreachable test database, or start a
    throwaway PostgreSQL server where nothing listens (tests/harness/database.py says when).

    Runs once, in the main process (xdist workers start after it and share the server),
    before any test.
    """
    config = session.config
    if hasattr(config, "workerinput"):
        return
    try:
        configured = database_under_test().configured
        server = reach_or_start_server(configured, os.environ)
    except (UnsafeTestDatabaseError, DatabaseUnreachableError) as error:
        raise pytest.UsageError(str(error)) from None
    if config.getoption("cacheclear", False) and configured.get_backend_name() == "postgresql":
        asyncio.run(drop_postgresql_templates(configured))  # migrated anew, like SQLite's image
    if server is None:
        return
    config.stash[THROWAWAY_SERVER] = server
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(
            f"Started a throwaway {server.describe()} for this run; it is stopped and deleted "
            f"at the end ({AUTOSTART_VARIABLE}=0 turns this off)."
        )


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the throwaway server, if this run started one, and delete its data: after every
    run, failed or interrupted (Ctrl-C) too."""
    server = config.stash.get(THROWAWAY_SERVER, None)
    if server is not None:
        server.stop()
        del config.stash[THROWAWAY_SERVER]


@pytest.hookimpl(wrapper=True)
def pytest_collection(session: pytest.Session) -> Generator[None, object, object]:
    """Once the tests are collected (or failed to be; or, in `-n`'s controller, which collects
    nothing, at once), turn garbage collection back on (tests/harness/__init__.py turned it off)
    and leave what is loaded by now (pytest, the app, the collected tests) out of it: none of it
    is garbage, and every full collection would walk all of it again, pytest's own at the end of
    the run included. That is a fifth to a third of a second of a one-test run. What the tests
    make is collected as usual."""
    try:
        return (yield)
    finally:
        gc.freeze()
        gc.enable()


@pytest.fixture(scope="session")
async def async_engine(pytestconfig: pytest.Config) -> AsyncIterator[AsyncEngine]:
    """The test database engine, its schema migrated (or copied from the migrated image,
    tests/harness/schema_image.py) once per test session (and worker)."""
    async with open_test_database(database_under_test(), _image_dir(pytestconfig)) as engine:
        yield engine


def _image_dir(config: pytest.Config) -> Path | None:
    cache = getattr(config, "cache", None)  # None with -p no:cacheprovider
    return None if cache is None else cache.mkdir("harness-schema")


@pytest.fixture(scope="session")
def app_engine(async_engine: AsyncEngine) -> TestConnectionEngine:
    """The engine the app works with during a test: it lends every checkout the test's
    connection, inside a savepoint, one task at a time (tests/harness/shared_connection.py)."""
    engine = TestConnectionEngine(async_engine, database_under_test().url)
    engine.savepoints.notes = HARNESS_NOTES
    _APP_ENGINES.append(engine.engine.sync_engine)

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
    database = database_under_test()
    url = database.committed(tmp_path_factory.mktemp("committed"))
    async with open_test_database(database, _image_dir(pytestconfig), url=url) as engine:
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


ENDED_BY_THE_TEST = (
    "This test ended the harness's transaction itself (a commit or rollback on "
    "async_connection; a commit is refused, its rows would outlive the test). Commit through "
    "async_session (a savepoint), or ask for `transactional_db` for real commits."
)


class HarnessTransactionError(RuntimeError):
    """A test tried to commit the transaction the harness rolls back after it."""


@pytest.fixture
def test_database(request: pytest.FixtureRequest) -> Iterator[TestDatabase]:
    """What this test and the app under test work with: the test's transaction, or with
    `transactional_db` a committed database of its own."""
    name = "committed_test_database" if "transactional_db" in request.fixturenames else None
    database: TestDatabase = request.getfixturevalue(name or "rolled_back_test_database")
    with running_test(database):
        yield database


@pytest.fixture
def rolled_back_test_database(
    async_connection: AsyncConnection, app_engine: TestConnectionEngine
) -> TestDatabase:
    sessionmaker = create_sessionmaker(async_connection, join_transaction_mode="create_savepoint")
    assert async_connection.sync_connection is not None, "the test's connection is open"
    sources = (async_connection.sync_connection, app_engine.engine.sync_engine)
    return TestDatabase(sessionmaker, app_engine.database, sources)


@pytest.fixture
async def committed_test_database(committed_engine: AsyncEngine) -> AsyncIterator[TestDatabase]:
    database = Database(committed_engine, create_sessionmaker(committed_engine))
    yield TestDatabase(database.sessionmaker, database, (committed_engine.sync_engine,))
    await empty_tables(committed_engine)


@pytest.fixture
def test_sessionmaker(test_database: TestDatabase) -> async_sessionmaker[AsyncSession]:
    """The test's own sessions: the app's session factory, joining the test's transaction
    through savepoints (with `transactional_db`, on the committed database). The test-data
    factories of tests/factories/ use it too."""
    return test_database.sessionmaker


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
def override_get_session(test_database: TestDatabase) -> Iterator[None]:
    """Point the app's `get_session_db` at the test's database by overriding its factory."""

    async def get_test_sessionmaker() -> async_sessionmaker[AsyncSession]:
        return test_database.app.sessionmaker

    app.dependency_overrides[get_sessionmaker] = get_test_sessionmaker
    yield
    app.dependency_overrides.pop(get_sessionmaker, None)


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
    test_url = database_under_test().url.render_as_string(hide_password=False)
    handed_in = RoutedDatabase(Database(async_engine, create_sessionmaker(async_engine)))
    with pytest.MonkeyPatch.context() as patch, use_database(handed_in):
        patch.setenv("DATABASE_URL", test_url)
        get_settings.cache_clear()
        async with lifespan_of(app) as started:
            yield started
    get_settings.cache_clear()


@asynccontextmanager
async def lifespan_of(asgi_app: ASGIApp) -> AsyncIterator[ASGIApp]:
    """The app, its lifespan started; stopped when the block ends. Neither is part of a test
    (current.phase): what they write is not the running test's."""
    manager = LifespanManager(asgi_app)
    with phase(lifespan=True):
        await manager.__aenter__()
    try:
        yield manager.app
    finally:
        with phase(lifespan=True):
            await manager.__aexit__(None, None, None)


@pytest.fixture
async def async_client(
    override_get_session: None, running_app: ASGIApp
) -> AsyncIterator[AsyncClient]:
    """An httpx client calling the running app in-process."""
    transport = HarnessTransport(running_app)
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.fixture
async def test_session_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


@pytest.fixture
def client(
    override_get_session: None,
    running_app: ASGIApp,
    test_session_loop: asyncio.AbstractEventLoop,
) -> Iterator[Client]:
    """For sync tests, where FastAPI's docs use TestClient: an httpx client calling the
    running app on the test session's event loop (idle while a sync test runs), isolated
    like `async_client`."""
    with sync_client(HarnessTransport(running_app), test_session_loop) as sync:
        yield sync


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
async def live_database_url(tmp_path: Path) -> AsyncIterator[URL]:
    """A migrated database of the test database's kind for a real server (`serve_app` in
    tests/harness/live_server.py), made for this test and dropped after it."""
    async with live_database(tmp_path) as url:
        yield url


@cache
def _test_database_hosts() -> frozenset[str]:
    """The test database server's name and addresses: the one host beside loopback that tests
    may reach."""
    url = database_under_test().url
    if not url.host:
        return frozenset()
    addresses = {info[4][0] for info in socket.getaddrinfo(url.host, url.port or 5432)}
    return frozenset({url.host, *map(str, addresses)})


@pytest.fixture(autouse=True)
def network_guard() -> Iterator[NetworkGuard]:
    """Every test: connections to anything but loopback and the test database are refused,
    and the test fails naming them (tests/harness/network.py)."""
    guard = NetworkGuard(_test_database_hosts())
    guard.install()
    try:
        yield guard
    finally:
        guard.uninstall()
    if guard.blocked:
        pytest.fail(f"This test tried to reach {'; '.join(guard.blocked)}. {HOW_TO_MOCK}")


def run_seed(config: pytest.Config) -> str | None:
    """The run's seed: pytest-random-order's, printed in the header (None without it)."""
    seed = config.getoption("random_order_seed", None)
    return None if seed is None else str(seed).removeprefix("default:")


def seed_number(seed: str) -> int:
    return zlib.crc32(seed.encode())


@pytest.fixture(autouse=True)
def seeded_randomness(pytestconfig: pytest.Config) -> None:
    """Every test starts from the run's seed: `random` and the test-data factories give a test
    the same values whenever it runs with that seed (`--random-order-seed=<seed>`), alone or
    among others, in any order."""
    seed = run_seed(pytestconfig)
    if seed is None:
        return
    random.seed(seed)
    factories = sys.modules.get("tests.harness.factories")
    if factories is not None:  # imported by the tests that use factories, and only then
        factories.Factory.seed_random(seed_number(seed))


@pytest.fixture
def mock_http() -> Iterator["respx.MockRouter"]:
    """A respx router for outgoing httpx requests: declare the calls the code under test makes,
    e.g. `mock_http.post("https://pay.example/charges").respond(201, json={...})`. A request
    no route matches fails, and so does a declared route that was never called."""
    import respx  # noqa: PLC0415 (loaded by the tests that use it, not by every run)

    with respx.mock(assert_all_called=True, assert_all_mocked=True) as router:
        yield router


@pytest.fixture
def override_dependency() -> Iterator[OverrideDependency]:
    """`override_dependency(original, replacement)`: the app uses `replacement` wherever it
    depends on `original`, for this test only; every override is put back as it was."""
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


@pytest.fixture(autouse=True)
def dependency_overrides_guard() -> Iterator[None]:
    """Every test: `app.dependency_overrides` ends as it started. A test that leaves one
    changed fails, naming it (and the overrides are put back for the next test)."""
    before = dict(app.dependency_overrides)
    yield
    after = dict(app.dependency_overrides)
    changed = [
        getattr(dependency, "__qualname__", repr(dependency))
        for dependency in before.keys() | after.keys()
        if before.get(dependency) is not after.get(dependency)
    ]
    app.dependency_overrides.clear()
    app.dependency_overrides.update(before)
    if changed:
        pytest.fail(
            f"This test left app.dependency_overrides changed: {', '.join(sorted(changed))}. "
            "Use the override_dependency fixture, which puts overrides back."
        )


@pytest.fixture
def count_queries(test_database: TestDatabase) -> CountQueries:
    """`with count_queries() as queries: ...`: `queries.statements` lists the SQL run on the
    test's database inside the block, by the app and by the test, without transaction
    control (BEGIN, SAVEPOINT, RELEASE, ROLLBACK, COMMIT); `len(queries)` counts them."""
    return lambda: count_statements(*test_database.statement_sources)


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
