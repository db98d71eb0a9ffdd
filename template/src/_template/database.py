"""The app's engine and session factory, SQLite's configuration for serving, the connection
gate, what counts as an unavailable database, and the database the lifespan opens."""

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from sqlalchemy import URL, Connection, event, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm.session import JoinTransactionMode
from sqlalchemy.pool import QueuePool
from starlette.applications import Starlette

from src._template import sqlite_inline
from src.config import Settings, get_settings

sqlite_inline.register()

# PostgreSQL connections per process: 5 kept open, up to 10 more opened under load.
POOL_SIZE = 5
MAX_OVERFLOW = 10


def create_engine(url: str | URL, settings: Settings | None = None) -> AsyncEngine:
    """The app's engine on `url`, with the echo and timeouts of `settings` (by default the
    app's). The timeouts turn a database that is away or overloaded into an error within
    seconds (answered 503, see `is_database_unavailable`) instead of a hung request."""
    settings = settings or get_settings()
    # Error messages (and so logs) leave out the statement's parameters: users' data.
    common: dict[str, Any] = {"echo": settings.database_echo, "hide_parameters": True}
    if make_url(url).get_backend_name() != "sqlite":
        return create_async_engine(
            url,
            **common,
            pool_size=POOL_SIZE,
            max_overflow=MAX_OVERFLOW,
            pool_timeout=settings.database_pool_timeout,
            # A connection the server dropped (restart, failover, idle timeout) is replaced
            # before a request uses it, instead of failing that request.
            pool_pre_ping=True,
            connect_args={
                "timeout": settings.database_connect_timeout,
                "command_timeout": settings.database_command_timeout,
            },
        )
    pool_options = _sqlite_pool_options(url, settings.database_pool_timeout)
    engine = create_async_engine(url, **common, **pool_options)
    _configure_sqlite(engine)
    return engine


def is_in_memory_sqlite(url: str | URL) -> bool:
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")


def _sqlite_pool_options(url: str | URL, pool_timeout: float) -> dict[str, Any]:
    """One connection per process for a database file (an in-memory one keeps its StaticPool).

    SQLite lets one transaction write at a time, and every transaction here writes or may
    (BEGIN IMMEDIATE, below): more connections would only wait for the lock, each polling for
    it, where requests waiting for the one connection are queued by the pool and served in
    order. Other processes (uvicorn --workers N) wait for the lock for the URL's `?timeout=`
    (in seconds; sqlite3's default, 5).
    """
    if is_in_memory_sqlite(url):
        return {}
    return {"pool_size": 1, "max_overflow": 0, "pool_timeout": pool_timeout}


class ConnectionGate:
    """Lets as many sessions use the database at once as the pool has connections, and the
    others wait their turn in arrival order, up to the pool timeout.

    SQLAlchemy's async pool gives a returned connection to whichever request asks next, not to
    the one that has waited longest: under a burst the average wait is short while a few
    requests wait many times longer (PostgreSQL, 200 clients, one worker: p99 above 5 s for
    0.6 s on average) and time out. Waiting here first, in order, keeps every wait near the
    average; the pool then always has a connection ready.
    """

    def __init__(self, connections: int, timeout: float) -> None:
        self._free = asyncio.Semaphore(connections)  # FIFO: no newcomer overtakes a waiter
        self.timeout = timeout

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        try:
            async with asyncio.timeout(self.timeout):
                await self._free.acquire()
        except TimeoutError:
            raise PoolTimeoutError(
                f"no database connection became free within {self.timeout} s"
            ) from None
        try:
            yield
        finally:
            self._free.release()


def _connection_gate(bind: AsyncEngine | AsyncConnection) -> ConnectionGate | None:
    """The gate for an engine made by `create_engine`: as many turns as its pool has
    connections, waiting as long as its pool would. None for a connection (the test harness
    binds sessions to one) and for in-memory SQLite, whose one connection every session shares."""
    if not isinstance(bind, AsyncEngine) or not isinstance(bind.pool, QueuePool):
        return None
    connections = 1 if bind.dialect.name == "sqlite" else POOL_SIZE + MAX_OVERFLOW
    return ConnectionGate(connections, bind.pool.timeout())


def _configure_sqlite(engine: AsyncEngine) -> None:
    """Make SQLite transactions nest, and safe to run side by side (as Rails 7.1+ and Django 5.1+
    configure SQLite for serving).

    - The engine emits BEGIN itself (see SQLAlchemy's SQLite dialect docs): by default the
      sqlite3 driver emits none until the first write, so a SAVEPOINT could open (and its
      RELEASE commit) a transaction of its own instead of nesting in the real one.
    - BEGIN IMMEDIATE takes the write lock when the transaction starts. A deferred transaction
      that reads and then writes must upgrade its lock midway, and SQLite refuses that at once
      (`database is locked`, no waiting) while another connection writes: the busy timeout
      cannot help there. Taking the lock first makes writers queue for it instead.
    - WAL: a commit appends to a log instead of rewriting the file, other readers (a backup,
      the `sqlite3` shell) never block the writer, and a killed process loses no committed
      transaction. `synchronous=NORMAL` is WAL's usual pairing: durable across process
      crashes, it may lose the last commits on power loss.
    - Foreign keys are off in SQLite unless asked for.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: object) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        (journal_mode,) = cursor.fetchone()
        # In-memory databases answer "memory": there is no file to share with anyone.
        if journal_mode == "wal":
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


# PostgreSQL error classes that mean "not now", not "wrong request": 08 connection exception,
# 53 insufficient resources (too many connections), 57 operator intervention (shutting down,
# starting up, crashed).
UNAVAILABLE_SQLSTATE_CLASSES = frozenset({"08", "53", "57"})
UNAVAILABLE_SQLITE_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_CANTOPEN})


def is_database_unavailable(error: BaseException) -> bool:
    """Whether `error` says the database cannot serve right now (the request may be retried),
    rather than that the request or the code is wrong."""
    if isinstance(error, PoolTimeoutError | ConnectionError | TimeoutError):
        return True  # pool exhausted; connection refused or reset; connect or command timeout
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated or isinstance(error.orig, ConnectionError | TimeoutError):
        return True
    sqlite_code = getattr(error.orig, "sqlite_errorcode", None)
    if sqlite_code is not None:  # locked past the timeout; the file cannot be opened
        return sqlite_code & 0xFF in UNAVAILABLE_SQLITE_CODES
    sqlstate = getattr(error.orig, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate[:2] in UNAVAILABLE_SQLSTATE_CLASSES


GATE = "connection_gate"


def create_sessionmaker(
    bind: AsyncEngine | AsyncConnection,
    *,
    join_transaction_mode: JoinTransactionMode = "conditional_savepoint",
) -> async_sessionmaker[AsyncSession]:
    """The app's session factory. The test harness binds it to a connection instead.

    Its sessions wait for their turn at the engine's `ConnectionGate` (`session_turn`)."""
    # expire_on_commit=False: the response is serialised after the commit, from loaded values.
    return async_sessionmaker(
        bind,
        expire_on_commit=False,
        join_transaction_mode=join_transaction_mode,
        info={GATE: _connection_gate(bind)},
    )


@dataclass(frozen=True)
class Database:
    """What the app works with: its engine, and the session factory its requests use."""

    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]


class _HandedIn:
    database: Database | None = None


@contextmanager
def use_database(database: Database) -> Iterator[None]:
    """Inside the block, the app's lifespan works with `database` instead of opening one from
    the settings (`open_database`). The test harness hands the app its test database this way, so
    that the app under test, lifespan included, never reaches the database of DATABASE_URL."""
    _HandedIn.database = database
    try:
        yield
    finally:
        _HandedIn.database = None


def handed_in_database() -> Database | None:
    """The database handed in with `use_database`, if any: the app's lifespan works with it
    instead of opening one from the settings."""
    return _HandedIn.database


def app_database(app: Starlette) -> Database:
    """The database `app`'s lifespan opened."""
    database = getattr(app.state, "database", None)
    if isinstance(database, Database):
        return database
    raise RuntimeError("The app's database is opened by its lifespan, which has not run.")


# Dependencies that do not block are `async def`: FastAPI runs a plain `def` in a worker thread.
async def get_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    """The session factory of the app's database; the test harness overrides this."""
    return app_database(request.app).sessionmaker


def session_turn(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AbstractAsyncContextManager[None]:
    """The wait for a turn at the gate of the engine `sessionmaker` is bound to, if any. The
    gate travels with the session factory, so that one the harness or a test hands the app
    brings its own (or none)."""
    gate: ConnectionGate | None = sessionmaker.kw.get("info", {}).get(GATE)
    return gate.turn() if gate else nullcontext()


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[Database]:
    """The app's database while the block runs: the one the test harness hands in
    (`use_database`), or an engine on DATABASE_URL, closed at the end."""
    if (handed_in := handed_in_database()) is not None:
        yield handed_in  # its owner closes it
        return
    engine = create_engine(settings.database_url, settings)
    try:
        yield Database(engine, create_sessionmaker(engine))
    finally:
        await engine.dispose()
