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
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient
from sqlalchemy import URL
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
)
from starlette.types import ASGIApp

from src.config import get_settings
from src.database import Database, create_sessionmaker, get_sessionmaker, use_database
from src.main import app
from tests.harness.current import running_test
from tests.harness.database import (
    AUTOSTART_VARIABLE,
    DatabaseUnreachableError,
    UnsafeTestDatabaseError,
    database_under_test,
    open_test_database,
    reach_or_start_server,
)
from tests.harness.live_server import live_database
from tests.harness.network import HOW_TO_MOCK, NetworkGuard
from tests.harness.queries import AssertMaxQueries, CountQueries, QueryLog, count_statements
from tests.harness.schema_image import drop_postgresql_templates
from tests.harness.throwaway_postgres import ThrowawayServer

if TYPE_CHECKING:
    import respx

# A dependency's override, as FastAPI takes it: any callable.
Dependency = Callable[..., Any]
OverrideDependency = Callable[[Dependency, Dependency], None]
_ABSENT = object()


THROWAWAY_SERVER = pytest.StashKey[ThrowawayServer]()


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
    cache = getattr(pytestconfig, "cache", None)  # None with -p no:cacheprovider
    image_dir = None if cache is None else cache.mkdir("harness-schema")
    async with open_test_database(database_under_test(), image_dir) as engine:
        yield engine


@pytest.fixture
async def async_connection(async_engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """The test's connection, inside an outer transaction that is always rolled back."""
    async with async_engine.connect() as connection:
        transaction = await connection.begin()
        yield connection
        if transaction.is_active:
            await transaction.rollback()


@pytest.fixture
def test_sessionmaker(
    async_connection: AsyncConnection,
) -> Iterator[async_sessionmaker[AsyncSession]]:
    """The app's own session factory, joining the test's transaction through savepoints (the
    test-data factories of tests/factories/ use it too)."""
    sessionmaker = create_sessionmaker(async_connection, join_transaction_mode="create_savepoint")
    with running_test(sessionmaker):
        yield sessionmaker


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
def override_get_session(
    test_sessionmaker: async_sessionmaker[AsyncSession],
) -> Iterator[None]:
    """Point the app's `get_session_db` at the test's transaction by overriding its factory."""

    async def get_test_sessionmaker() -> async_sessionmaker[AsyncSession]:
        return test_sessionmaker

    app.dependency_overrides[get_sessionmaker] = get_test_sessionmaker
    yield
    app.dependency_overrides.pop(get_sessionmaker, None)


@pytest.fixture(scope="session")
async def running_app(async_engine: AsyncEngine) -> AsyncIterator[ASGIApp]:
    """The app with its lifespan started on the test database (never on DATABASE_URL's):
    once per test session (and worker), as it starts once per process in production; each test
    still gets its own client and transaction.

    The app is handed the test engine, and its settings name the test database while it runs,
    so that startup code reaching the database either way reaches the test one.
    """
    test_url = database_under_test().url.render_as_string(hide_password=False)
    with (
        pytest.MonkeyPatch.context() as patch,
        use_database(Database(async_engine, create_sessionmaker(async_engine))),
    ):
        patch.setenv("DATABASE_URL", test_url)
        get_settings.cache_clear()
        async with LifespanManager(app) as manager:
            yield manager.app
    get_settings.cache_clear()


@pytest.fixture
async def async_client(
    override_get_session: None, running_app: ASGIApp
) -> AsyncIterator[AsyncClient]:
    """An httpx client calling the running app in-process."""
    transport = ASGITransport(app=running_app)
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


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
def count_queries(async_connection: AsyncConnection) -> CountQueries:
    """`with count_queries() as queries: ...`: `queries.statements` lists the SQL run on the
    test's connection inside the block, by the app and by the test, without transaction
    control (BEGIN, SAVEPOINT, RELEASE, ROLLBACK, COMMIT); `len(queries)` counts them."""
    connection = async_connection.sync_connection
    assert connection is not None, "the test's connection is open while the test runs"
    return lambda: count_statements(connection)


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
