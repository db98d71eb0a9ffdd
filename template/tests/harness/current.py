"""The running test's session factory, for test code that cannot ask for fixtures: the
test-data factories of tests/factories/ (tests/harness/factories.py)."""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


class _Running:
    sessionmaker: async_sessionmaker[AsyncSession] | None = None


@contextmanager
def running_test(sessionmaker: async_sessionmaker[AsyncSession]) -> Iterator[None]:
    """While the block runs, `running_sessionmaker()` is `sessionmaker` (the harness's, bound to
    the running test's transaction)."""
    _Running.sessionmaker = sessionmaker
    try:
        yield
    finally:
        _Running.sessionmaker = None


def running_sessionmaker() -> async_sessionmaker[AsyncSession]:
    if _Running.sessionmaker is None:
        raise LookupError(
            "No test database in this test: ask for async_session or async_client (or any "
            "fixture that uses the test's transaction) in a test that creates rows."
        )
    return _Running.sessionmaker
