"""`sqlite+inline://`: the aiosqlite dialect with aiosqlite's worker thread taken out.

aiosqlite runs every sqlite3 call on a worker thread and wakes the event loop with the answer:
two thread hops per call, about 500 us per statement, while SQLite answers an in-memory query
in a few microseconds. A test database has nothing to wait for, so this driver makes the same
sqlite3 calls directly on the event loop's thread, wrapped in coroutines that finish at once.

Everything else is shared with `sqlite+aiosqlite`: SQLAlchemy's SQLite dialect and its
aiosqlite adapter classes, the `sqlite3` module and its exceptions, the pool (StaticPool for
`:memory:`), and the engine events of `src.database.create_engine` (the dialect is still named
"sqlite"). The SQL sent and its results are the same; only the thread that runs it differs.
Because a statement never yields to the event loop, concurrent requests in one test interleave
between statements only: test races with `TEST_DATABASE_URL=sqlite+aiosqlite:///:memory:`.
"""

import sqlite3
from collections.abc import AsyncIterator, Iterable
from typing import Any, Self, cast

from sqlalchemy.connectors.asyncio import AsyncIODBAPIConnection
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)

DRIVER = "inline"


class InlineCursor:
    """aiosqlite's cursor API, answered by a sqlite3 cursor on the calling thread."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

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
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> Self:
        self._cursor.executemany(sql, parameters)
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

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.sqlite3_connection = connection
        self.closed = False

    @property
    def isolation_level(self) -> str | None:
        return self.sqlite3_connection.isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self.sqlite3_connection.cursor())

    async def commit(self) -> None:
        self.sqlite3_connection.commit()

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

    def connect(self, *args: Any, **kwargs: Any) -> InlineAdaptedConnection:
        connection = sqlite3.connect(*args, **kwargs)
        return InlineAdaptedConnection(
            self, cast(AsyncIODBAPIConnection, InlineConnection(connection))
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
