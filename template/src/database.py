"""Engine, session factory and the request-scoped `get_session_db` dependency."""

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Connection, MetaData, event, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm.session import JoinTransactionMode

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


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    if make_url(url).get_backend_name() != "sqlite":
        return create_async_engine(url, echo=echo)
    engine = create_async_engine(url, echo=echo, **_sqlite_pool_options(url))
    _configure_sqlite(engine)
    return engine


def _sqlite_pool_options(url: str) -> dict[str, Any]:
    """One connection per process for a database file (an in-memory one keeps its StaticPool).

    SQLite lets one transaction write at a time, and every transaction here writes or may
    (BEGIN IMMEDIATE, below): more connections would only wait for the lock, each polling for
    it, where requests waiting for the one connection are queued by the pool and served in
    order. Other processes (uvicorn --workers N) wait for the lock for the URL's `?timeout=`
    (in seconds; sqlite3's default, 5).
    """
    if make_url(url).database in (None, "", ":memory:"):
        return {}
    return {"pool_size": 1, "max_overflow": 0}


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
      transaction. `synchronous=NORMAL` is WAL's usual
      pairing: durable across process crashes, it may lose the last commits on power loss.
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


def create_sessionmaker(
    bind: AsyncEngine | AsyncConnection,
    *,
    join_transaction_mode: JoinTransactionMode = "conditional_savepoint",
) -> async_sessionmaker[AsyncSession]:
    """The app's session factory. The test harness binds it to a connection instead."""
    # expire_on_commit=False: the response is serialised after the commit, from loaded values.
    return async_sessionmaker(
        bind, expire_on_commit=False, join_transaction_mode=join_transaction_mode
    )


# Dependencies that do not block are `async def`: FastAPI runs a plain `def` in a worker thread.
async def get_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    """The factory the lifespan put on `app.state`; the test harness overrides this."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return sessionmaker


async def get_session_db(
    sessionmaker: Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)],
) -> AsyncIterator[AsyncSession]:
    """One session (and transaction) per request: commit on success, roll back on error."""
    async with sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except Exception:
            await session.rollback()
            raise


# scope="function" commits before the response is sent, so a failed commit is an error
# response instead of a 201 followed by lost data.
SessionDep = Annotated[AsyncSession, Depends(get_session_db, scope="function")]
