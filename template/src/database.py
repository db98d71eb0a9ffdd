"""Engine, session factory and the request-scoped `get_session_db` dependency."""

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import URL, Connection, MetaData, event, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm.session import JoinTransactionMode
from sqlalchemy.pool import QueuePool
from starlette.applications import Starlette

from src import sqlite_inline

sqlite_inline.register()

# Deterministic constraint names, so migrations can refer to (and drop) them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utc_now() -> datetime:
    """A row's timestamp, taken by the app: microseconds on both databases, where the server's
    own clock gives whole seconds on SQLite (CURRENT_TIMESTAMP) and microseconds on PostgreSQL."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# PostgreSQL connections per process: 5 kept open, up to 10 more opened under load.
POOL_SIZE = 5
MAX_OVERFLOW = 10
# Defaults of the settings of the same names (src/config.py), in seconds.
POOL_TIMEOUT = 5.0
CONNECT_TIMEOUT = 5.0
COMMAND_TIMEOUT = 5.0


def create_engine(
    url: str,
    *,
    echo: bool = False,
    pool_timeout: float = POOL_TIMEOUT,
    connect_timeout: float = CONNECT_TIMEOUT,
    command_timeout: float = COMMAND_TIMEOUT,
) -> AsyncEngine:
    """The app's engine. The timeouts turn a database that is away or overloaded into an error
    within seconds (answered 503, see `is_database_unavailable`) instead of a hung request.

    - pool_timeout: how long a request waits for a free connection of the pool;
    - connect_timeout, command_timeout (PostgreSQL): how long to wait for a connection to
      open and for a statement's answer; SQLite waits for locks for its URL's `?timeout=`.
    """
    # Error messages (and so logs) leave out the statement's parameters: users' data.
    common: dict[str, Any] = {"echo": echo, "hide_parameters": True}
    if make_url(url).get_backend_name() != "sqlite":
        return create_async_engine(
            url,
            **common,
            pool_size=POOL_SIZE,
            max_overflow=MAX_OVERFLOW,
            pool_timeout=pool_timeout,
            # A connection the server dropped (restart, failover, idle timeout) is replaced
            # before a request uses it, instead of failing that request.
            pool_pre_ping=True,
            connect_args={"timeout": connect_timeout, "command_timeout": command_timeout},
        )
    engine = create_async_engine(url, **common, **_sqlite_pool_options(url, pool_timeout))
    _configure_sqlite(engine)
    return engine


def is_in_memory_sqlite(url: str | URL) -> bool:
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")


def _sqlite_pool_options(url: str, pool_timeout: float) -> dict[str, Any]:
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

    Sessions of `get_session_db` wait for their turn at the engine's `ConnectionGate`."""
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
    the settings (src/main.py). The test harness hands the app its test database this way, so
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


async def get_session_db(
    sessionmaker: Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)],
) -> AsyncIterator[AsyncSession]:
    """One session (and transaction) per request: commit on success, roll back on error."""
    gate: ConnectionGate | None = sessionmaker.kw.get("info", {}).get(GATE)
    # The turn ends after the session has given its connection back to the pool.
    async with gate.turn() if gate else nullcontext(), sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except Exception:
            await session.rollback()
            raise


# scope="function" commits before the response is sent, so a failed commit is an error
# response instead of a 201 followed by lost data.
SessionDep = Annotated[AsyncSession, Depends(get_session_db, scope="function")]
