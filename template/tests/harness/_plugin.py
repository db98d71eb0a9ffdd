"""The harness's plugin: its hooks, the guards every test runs with, and the private fixtures
the public ones (tests/harness/fixtures.py, which loads this module) are built on. Nothing here
is for tests to import or to ask for by name.

Importing it does nothing; pytest calls its hooks:

- `pytest_configure`, before any test module is imported: garbage collection off, the project
  checked (the names of tests/harness/contract.py, the app's settings) and the app under test
  readied. A project that falls short stops the run there, with one line saying why.
- `pytest_sessionstart`, once per run: the test database checked, or a throwaway PostgreSQL
  server started (tests/harness/db/database.py says when); `pytest_unconfigure` stops it.
- `pytest_collection`, once the tests are collected: garbage collection back on.
- `pytest_runtest_*`, around every test: what the running test works with, the escape watch,
  the event loop check and the report of a failed test.

The hooks and fixtures import the app and the harness's database code (tests/harness/db/) where
they use them: only once the project has passed the check.
"""

from __future__ import annotations

import asyncio
import gc
import os
import random
import socket
import sys
import warnings
import zlib
from collections.abc import AsyncIterator, Generator, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.harness.db.throwaway_postgres import ThrowawayServer
from tests.harness.network import HOW_TO_MOCK, NetworkGuard
from tests.harness.paths import PROJECT_ROOT
from tests.harness.reports import APP_ERRORS, HARNESS_NOTES, NOTES_SECTION, SECTION

if TYPE_CHECKING:
    from pydantic import ValidationError
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

    from tests.harness.db.current import TestDatabase
    from tests.harness.db.shared_connection import TestConnectionEngine

THROWAWAY_SERVER = pytest.StashKey[ThrowawayServer]()
# Fixtures whose database lives on the test session's event loop.
DATABASE_FIXTURES = frozenset(
    {"async_engine", "async_connection", "_test_database", "running_app", "client"}
)
# Starlette's TestClient warns on import where httpx2 is not installed. A module that imports
# it must not stop the run (pytest.ini turns warnings into errors); its requests get the
# harness's one-line answer (tests/harness/clients.py).
TESTCLIENT_IMPORT_WARNING = (
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
    ":starlette.exceptions.StarletteDeprecationWarning"
)


# Before the tests


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Garbage collection off until the tests are collected (`pytest_collection` turns it back
    on): importing the app, its libraries and the test modules makes hundreds of thousands of
    objects and no garbage, and the collector's passes over them would be a tenth of a one-test
    run. Then the project is checked and the app under test readied: 500s kept for the report
    (tests/harness/reports.py), requests of clients other than the harness's refused
    (tests/harness/clients.py)."""
    gc.disable()
    config.addinivalue_line("filterwarnings", TESTCLIENT_IMPORT_WARNING)
    with _warnings_as_configured(config):
        _check_project()
        from src.main import app
        from tests.harness.clients import require_harness_clients

    APP_ERRORS.install()
    require_harness_clients(app)


def _check_project() -> None:
    """Stop the run with one line when the project lacks what the harness needs
    (tests/harness/contract.py) or the app refuses its settings (src/config.py)."""
    from pydantic import ValidationError

    from tests.harness.contract import ContractError, check_project

    try:
        check_project()
    except ContractError as error:
        raise pytest.UsageError(str(error)) from None
    except ValidationError as error:
        raise pytest.UsageError(settings_problems(error)) from None


def settings_problems(error: ValidationError) -> str:
    """The settings' errors on one line: `DATABASE_URL uses postgresql:// without ...`."""
    problems = []
    for problem in error.errors():
        message = str(problem["msg"]).removeprefix("Value error, ")
        variable = "_".join(str(part) for part in problem["loc"]).upper()
        problems.append(message if message.startswith(variable) else f"{variable}: {message}")
    return f"The app's settings are invalid: {'; '.join(problems)}."


@contextmanager
def _warnings_as_configured(config: pytest.Config) -> Iterator[None]:
    """Warnings of what the block imports are judged by pytest.ini's `filterwarnings`, as the
    tests' own are (pytest applies them to collection and tests, not to its configuration): one
    they make an error stops the run with one line naming it."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for warning in caught:
        try:
            config.issue_config_time_warning(_as_warning(warning), stacklevel=2)
        except Warning as error:
            where = Path(warning.filename)
            shown = where.relative_to(PROJECT_ROOT) if where.is_relative_to(PROJECT_ROOT) else where
            raise pytest.UsageError(
                f"Loading the project warned, and pytest.ini's filterwarnings make that an "
                f"error: {type(error).__name__}: {error} ({shown}:{warning.lineno})."
            ) from None


def _as_warning(warning: warnings.WarningMessage) -> Warning:
    message = warning.message
    return message if isinstance(message, Warning) else warning.category(message)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Stop with one clear message on an unsafe or unreachable test database, or start a
    throwaway PostgreSQL server where nothing listens (tests/harness/db/database.py says when).

    Runs once, in the main process (xdist workers start after it and share the server),
    before any test.
    """
    config = session.config
    if hasattr(config, "workerinput"):
        return
    with _warnings_as_configured(config):
        from tests.harness.db.database import (
            AUTOSTART_VARIABLE,
            DatabaseUnreachableError,
            UnsafeTestDatabaseError,
            database_under_test,
            reach_or_start_server,
        )
        from tests.harness.db.schema_image import drop_postgresql_templates
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
    nothing, at once), turn garbage collection back on (`pytest_configure` turned it off) and
    leave what is loaded by now (pytest, the app, the collected tests) out of it: none of it is
    garbage, and every full collection would walk all of it again, pytest's own at the end of
    the run included. That is a fifth to a third of a second of a one-test run. What the tests
    make is collected as usual."""
    try:
        return (yield)
    finally:
        gc.freeze()
        gc.enable()


# Around every test


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    from tests.harness.db.current import phase

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
        from tests.harness.db.shared_connection import wrong_loop_message

        pytest.fail(wrong_loop_message(), pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """While the test's body runs, connections to the test database outside the harness are
    watched for (tests/harness/db/escapes.py); the test fails naming them."""
    from tests.harness.db.current import own_code
    from tests.harness.db.escapes import HOW_TO_REACH_IT, escape_watch

    watch = escape_watch()
    try:
        with own_code(running=True):
            return (yield)
    finally:
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
    from tests.harness.db.current import own_code
    from tests.harness.db.escapes import escape_watch

    escape_watch()  # installed before any fixture connects
    defined_in = getattr(fixturedef.func, "__wrapped__", fixturedef.func).__module__
    tests_own = fixturedef.scope == "function" and not defined_in.startswith(__package__)
    with own_code(running=tests_own):
        return (yield)


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


# The private fixtures the public ones are built on


@pytest.fixture
def _test_database(request: pytest.FixtureRequest) -> Iterator[TestDatabase]:
    """What this test and the app under test work with: the test's transaction, or with
    `transactional_db` a committed database of its own."""
    from tests.harness.db.current import running_test

    transactional = "transactional_db" in request.fixturenames
    name = "_committed_test_database" if transactional else "_rolled_back_test_database"
    database: TestDatabase = request.getfixturevalue(name)
    with running_test(database):
        yield database


@pytest.fixture
def _rolled_back_test_database(
    async_connection: AsyncConnection, app_engine: TestConnectionEngine
) -> TestDatabase:
    from src._template.database import create_sessionmaker
    from tests.harness.db.current import TestDatabase

    sessionmaker = create_sessionmaker(async_connection, join_transaction_mode="create_savepoint")
    assert async_connection.sync_connection is not None, "the test's connection is open"
    sources = (async_connection.sync_connection, app_engine.engine.sync_engine)
    return TestDatabase(sessionmaker, app_engine.database, sources)


@pytest.fixture
async def _committed_test_database(committed_engine: AsyncEngine) -> AsyncIterator[TestDatabase]:
    from src._template.database import Database, create_sessionmaker
    from tests.harness.db.current import TestDatabase
    from tests.harness.db.database import empty_tables

    database = Database(committed_engine, create_sessionmaker(committed_engine))
    yield TestDatabase(database.sessionmaker, database, (committed_engine.sync_engine,))
    await empty_tables(committed_engine)


@pytest.fixture
async def _test_session_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


# The guards every test runs with


@cache
def _test_database_hosts() -> frozenset[str]:
    """The test database server's name and addresses: the one host beside loopback that tests
    may reach."""
    from tests.harness.db.database import database_under_test

    url = database_under_test().url
    if not url.host:
        return frozenset()
    addresses = {info[4][0] for info in socket.getaddrinfo(url.host, url.port or 5432)}
    return frozenset({url.host, *map(str, addresses)})


@pytest.fixture(autouse=True)
def _network_guard() -> Iterator[NetworkGuard]:
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


@pytest.fixture(autouse=True)
def _dependency_overrides_guard() -> Iterator[None]:
    """Every test: `app.dependency_overrides` ends as it started. A test that leaves one
    changed fails, naming it (and the overrides are put back for the next test)."""
    from src.main import app

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


def run_seed(config: pytest.Config) -> str | None:
    """The run's seed: pytest-random-order's, printed in the header (None without it)."""
    seed = config.getoption("random_order_seed", None)
    return None if seed is None else str(seed).removeprefix("default:")


def seed_number(seed: str) -> int:
    return zlib.crc32(seed.encode())


@pytest.fixture(autouse=True)
def _seeded_randomness(pytestconfig: pytest.Config) -> None:
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
