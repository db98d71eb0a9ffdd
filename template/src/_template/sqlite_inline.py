"""`sqlite+inline://`: the aiosqlite dialect with aiosqlite's worker thread taken out.

aiosqlite runs every sqlite3 call on a worker thread and wakes the event loop with the answer.
Under load that wake-up waits behind every other request the loop is serving, so a transaction
of a few statements holds SQLite's single write lock for many loop turns, and throughput
collapses (docs/benchmarks.md in the template has the figures). SQLite itself answers in
microseconds from a local file, so this driver makes the same sqlite3 calls directly on the
event loop's thread, wrapped in coroutines: a transaction runs from BEGIN to COMMIT without
giving the loop away, unless the application awaits something else in between.

The one wait that can be long is for another process's write lock. sqlite3's busy handler
would sleep on the loop's thread, so this driver connects with `timeout=0` and waits itself:
it sleeps with `asyncio.sleep` between attempts until the connection's `timeout` (sqlite3's own
parameter, in seconds) runs out, then raises sqlite3's `database is locked` error as usual.

Everything else is shared with `sqlite+aiosqlite`: SQLAlchemy's SQLite dialect and its
aiosqlite adapter classes, the `sqlite3` module and its exceptions, the pool, and the engine
events of `src._template.database.create_engine` (the dialect is still named "sqlite"). The
SQL sent and its results are the same; only the thread that runs it differs. Because a
statement never yields to the event loop, concurrent requests in one process interleave between
statements only: test races with `TEST_DATABASE_URL=sqlite+aiosqlite:///:memory:`.
"""

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, Self, cast

from sqlalchemy.connectors.asyncio import AsyncIODBAPIConnection
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)

DRIVER = "inline"
# sqlite3.connect's default: how long to wait for another connection's lock, in seconds.
DEFAULT_TIMEOUT_SECONDS = 5.0
# Pauses between attempts to get a lock: short at first (transactions here last about a
# millisecond), never longer than MAX_BUSY_PAUSE_SECONDS.
FIRST_BUSY_PAUSE_SECONDS = 0.001
MAX_BUSY_PAUSE_SECONDS = 0.02


# Another connection holds the lock, or is recovering the WAL index: trying again can succeed.
# Not SQLITE_BUSY_SNAPSHOT: a transaction that read an older version of the database than the
# one it would write to never succeeds by trying again.
RETRYABLE_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_BUSY_RECOVERY})


def _is_busy(error: sqlite3.OperationalError) -> bool:
    return getattr(error, "sqlite_errorcode", 0) in RETRYABLE_CODES


async def _retry_while_busy(call: Callable[[], object], patience: float) -> None:
    """`call()`, tried again after a pause for as long as another connection holds the lock."""
    deadline = time.monotonic() + patience
    pause = FIRST_BUSY_PAUSE_SECONDS
    while True:
        try:
            call()
        except sqlite3.OperationalError as error:
            if not _is_busy(error) or time.monotonic() + pause > deadline:
                raise
        else:
            return
        await asyncio.sleep(pause)
        pause = min(pause * 2, MAX_BUSY_PAUSE_SECONDS)


class InlineCursor:
    """aiosqlite's cursor API, answered by a sqlite3 cursor on the calling thread."""

    def __init__(self, cursor: sqlite3.Cursor, timeout: float) -> None:
        self._cursor = cursor
        self._timeout = timeout

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc_info: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = ()) -> Self:
        await _retry_while_busy(lambda: self._cursor.execute(sql, parameters), self._timeout)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> Self:
        rows = list(parameters)
        await _retry_while_busy(lambda: self._cursor.executemany(sql, rows), self._timeout)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._rows()

    async def _rows(self) -> AsyncIterator[Any]:
        for row in self._cursor:
            yield row


class InlineConnection:
    """aiosqlite's connection API, answered by a sqlite3 connection on the calling thread."""

    def __init__(self, connection: sqlite3.Connection, timeout: float) -> None:
        self.sqlite3_connection = connection
        self.timeout = timeout
        self.closed = False

    @property
    def isolation_level(self) -> str | None:
        return self.sqlite3_connection.isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self.sqlite3_connection.cursor(), self.timeout)

    async def commit(self) -> None:
        await _retry_while_busy(self.sqlite3_connection.commit, self.timeout)

    async def rollback(self) -> None:
        self.sqlite3_connection.rollback()

    async def close(self) -> None:
        self.sqlite3_connection.close()
        self.closed = True

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self.sqlite3_connection.create_function(*args, **kwargs)


class InlineAdaptedConnection(AsyncAdapt_aiosqlite_connection):
    """The aiosqlite adapter, minus the parts that reach into aiosqlite's thread."""

    __slots__ = ()

    @property
    def isolation_level(self) -> str | None:
        return self._inline.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        # sqlite3's stubs list the BEGIN modes; None (autocommit) is what SQLAlchemy sets.
        self._inline.sqlite3_connection.isolation_level = cast(Any, value)

    @property
    def _inline(self) -> InlineConnection:
        return cast(InlineConnection, self._connection)

    # Like the aiosqlite adapter, commit and roll back only an open connection (it finds out by
    # peeking into aiosqlite; this asks InlineConnection).
    def rollback(self) -> None:
        if not self._inline.closed:
            super(AsyncAdapt_aiosqlite_connection, self).rollback()

    def commit(self) -> None:
        if not self._inline.closed:
            super(AsyncAdapt_aiosqlite_connection, self).commit()


class InlineDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def __init__(self) -> None:
        # aiosqlite re-exports sqlite3's exceptions and constants; here they come from sqlite3.
        super().__init__(sqlite3, sqlite3)

    def connect(self, database: str, **kwargs: Any) -> InlineAdaptedConnection:
        # sqlite3's own busy handler would sleep on the event loop's thread: wait here instead.
        timeout = float(kwargs.pop("timeout", DEFAULT_TIMEOUT_SECONDS))
        connection = sqlite3.connect(database, timeout=0, **kwargs)
        return InlineAdaptedConnection(
            self, cast(AsyncIODBAPIConnection, InlineConnection(connection, timeout))
        )


class SQLiteInlineDialect(SQLiteDialect_aiosqlite):
    driver = DRIVER
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> InlineDBAPI:
        return InlineDBAPI()


def register() -> None:
    """Make `sqlite+inline://` URLs resolve to this dialect."""
    registry.register(f"sqlite.{DRIVER}", __name__, SQLiteInlineDialect.__name__)
