"""What the running test works with, for code that cannot ask for fixtures: the app (through
the database the harness hands its lifespan), the test-data factories of tests/factories/ and
the escape watch (escapes.py)."""

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from src._template.database import Database
from tests.harness.db.shared_connection import NoTestConnectionError


@dataclass(frozen=True)
class TestDatabase:
    """One test's database: the sessions of the test's own code, and the app's database."""

    __test__ = False  # not a test class, whatever its name

    sessionmaker: async_sessionmaker[AsyncSession]
    app: Database
    # Where the test's and the app's statements go through, for counting them.
    statement_sources: tuple[Connection | Engine, ...]


@dataclass
class Run:
    """What a test process is doing now. `RUN` is its one instance: the harness's hooks and
    fixtures change a field for the length of a block (`during`), and code that cannot ask for
    fixtures (the app under test, the factories, the escape watch) reads it."""

    # The database of the running test, from its setup to its teardown.
    test: TestDatabase | None = None
    # A test runs, setup to teardown.
    in_test: bool = False
    # The app's lifespan starts or stops.
    lifespan: bool = False
    # The test's own code runs (its body, or a function-scoped fixture of its own): connections
    # to the test database beside the harness are refused (escapes.py).
    own_code: bool = False

    @contextmanager
    def during(self, **values: object) -> Iterator[None]:
        """While the block runs, the named fields have these values; then their earlier ones."""
        before = {name: getattr(self, name) for name in values}
        for name, value in values.items():
            setattr(self, name, value)
        try:
            yield
        finally:
            for name, value in before.items():
                setattr(self, name, value)


RUN = Run()


def running_test(test: TestDatabase) -> AbstractContextManager[None]:
    """While the block runs, the app and the factories work with `test`'s database."""
    return RUN.during(test=test)


def phase(*, in_test: bool = False, lifespan: bool = False) -> AbstractContextManager[None]:
    """A test runs (setup to teardown), or the app's lifespan starts or stops."""
    return RUN.during(in_test=in_test or RUN.in_test, lifespan=lifespan or RUN.lifespan)


def own_code(*, running: bool) -> AbstractContextManager[None]:
    """Whether the test's own code runs while the block does (`Run.own_code`)."""
    return RUN.during(own_code=running)


def running_sessionmaker() -> async_sessionmaker[AsyncSession]:
    if RUN.test is None:
        raise LookupError(
            "No test database in this test: ask for async_session or async_client (or any "
            "fixture that uses the test's transaction) in a test that creates rows."
        )
    return RUN.test.sessionmaker


def in_ordinary_test() -> bool:
    """Whether a test runs, outside the lifespan's start and stop."""
    return RUN.in_test and not RUN.lifespan


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
        if RUN.test is not None and not RUN.lifespan:
            return RUN.test.app
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
