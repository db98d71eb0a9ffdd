"""What the running test works with, for code that cannot ask for fixtures: the app (through
the database the harness hands its lifespan) and the test-data factories of tests/factories/."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from src._template.database import Database
from tests.harness.shared_connection import NoTestConnectionError


@dataclass(frozen=True)
class TestDatabase:
    """One test's database: the sessions of the test's own code, and the app's database."""

    __test__ = False  # not a test class, whatever its name

    sessionmaker: async_sessionmaker[AsyncSession]
    app: Database
    # Where the test's and the app's statements go through, for counting them.
    statement_sources: tuple[Connection | Engine, ...]


class _Run:
    """The one state of a test process: which test runs, and whether the lifespan starts."""

    test: TestDatabase | None = None
    in_test = False
    lifespan = False


@contextmanager
def running_test(test: TestDatabase) -> Iterator[None]:
    """While the block runs, the app and the factories work with `test`'s database."""
    _Run.test = test
    try:
        yield
    finally:
        _Run.test = None


@contextmanager
def phase(*, in_test: bool = False, lifespan: bool = False) -> Iterator[None]:
    """A test runs (setup to teardown), or the app's lifespan starts or stops."""
    before = _Run.in_test, _Run.lifespan
    _Run.in_test, _Run.lifespan = in_test or before[0], lifespan or before[1]
    try:
        yield
    finally:
        _Run.in_test, _Run.lifespan = before


def running_sessionmaker() -> async_sessionmaker[AsyncSession]:
    if _Run.test is None:
        raise LookupError(
            "No test database in this test: ask for async_session or async_client (or any "
            "fixture that uses the test's transaction) in a test that creates rows."
        )
    return _Run.test.sessionmaker


def in_ordinary_test() -> bool:
    """Whether a test runs, outside the lifespan's start and stop."""
    return _Run.in_test and not _Run.lifespan


class RoutedDatabase(Database):
    """The database the harness hands the app's lifespan, for the whole run.

    While a test runs, `engine` and `sessionmaker` are that test's (inside its transaction, or
    its committed database); while the lifespan starts or stops, and between tests, they are
    the run's own test database. Code of the app that keeps `app_database(app)` and reads them
    when it needs them thus always works on the running test's database.
    """

    def __init__(self, run: Database) -> None:
        object.__setattr__(self, "run", run)

    run: Database

    def _now(self) -> Database:
        if _Run.test is not None and not _Run.lifespan:
            return _Run.test.app
        if in_ordinary_test():
            raise NoTestConnectionError(
                "This test reaches the app's database without the harness: ask for "
                "`async_client` (or `client` in a sync test, `async_session` for rows)."
            )
        return self.run

    @property
    def engine(self) -> AsyncEngine:
        return self._now().engine

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        return self._now().sessionmaker

    def __repr__(self) -> str:
        return f"RoutedDatabase(now={self._now()!r})"
