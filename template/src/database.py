"""Engine, session factory and the request-scoped `get_session_db` dependency."""

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Connection, MetaData, event
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm.session import JoinTransactionMode

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
    engine = create_async_engine(url, echo=echo)
    if engine.dialect.name == "sqlite":
        _use_sqlite_transactions_as_written(engine)
    return engine


def _use_sqlite_transactions_as_written(engine: AsyncEngine) -> None:
    """Make SQLite transactions behave like the SQL says (see SQLAlchemy's SQLite dialect docs).

    By default the sqlite3 driver emits no BEGIN until the first write, so a SAVEPOINT can open
    (and its RELEASE commit) a transaction of its own. Taking over BEGIN makes savepoints nest
    inside the real transaction. Foreign keys are off in SQLite unless asked for.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: object) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")


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
