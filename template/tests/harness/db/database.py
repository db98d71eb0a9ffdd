"""Which database the tests run against, the guard that refuses any other, and its lifecycle.

`TEST_DATABASE_URL` chooses the database. Without it, a SQLite app tests on in-memory SQLite
and a PostgreSQL app on its own database (`DATABASE_URL`) with `_test` appended, on the same
server. `database_under_test` decides it, once per process, and nothing is created or dropped
before the guard (`check_is_test_database`) has accepted it. Under pytest-xdist every worker
works in a database of its own (`<name>_gw0_test`, ...). A PostgreSQL test database is created
for the run from a migrated template and dropped after it (tests/harness/db/schema_image.py).
When nothing listens where a local PostgreSQL test database should be, `reach_or_start_server`
starts a throwaway server there from the PostgreSQL programs installed on this machine
(tests/harness/db/throwaway_postgres.py), unless TEST_DATABASE_AUTOSTART=0.
"""

import asyncio
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sqlalchemy import URL, Connection, MetaData, TextClause, make_url, text
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction

from src._template import sqlite_inline
from src._template.create_database import first_line, maintenance_connection
from src._template.database import create_engine, is_in_memory_sqlite
from src.config import ASYNC_SCHEMES, DEFAULT_DATABASE_URL, get_settings
from tests.harness.db import schema_image, throwaway_postgres
from tests.harness.paths import PROJECT_ROOT

# In-memory SQLite through the app's own driver (src/_template/sqlite_inline.py): no thread hop per
# statement. TEST_DATABASE_URL=sqlite+aiosqlite:///:memory: tests on aiosqlite instead.
SQLITE_TEST_DATABASE_URL = f"sqlite+{sqlite_inline.DRIVER}:///:memory:"
ALLOW_REMOTE_VARIABLE = "TEST_DATABASE_ALLOW_REMOTE"
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
DEFAULT_PORTS = {"postgresql": 5432}
SUPPORTED_BACKENDS = frozenset({"sqlite", "postgresql"})
# TEST_DATABASE_AUTOSTART=0: never start a throwaway PostgreSQL server for the tests.
AUTOSTART_VARIABLE = "TEST_DATABASE_AUTOSTART"


class UnsafeTestDatabaseError(Exception):
    """The URL does not name a database the tests may empty; nothing was touched."""


class DatabaseUnreachableError(Exception):
    """The test database server did not answer."""


@dataclass(frozen=True)
class DatabaseUnderTest:
    """The test database of this run, accepted by the guard.

    `configured` is what TEST_DATABASE_URL (or the default) names; `url` is this process's own:
    the same, or under pytest-xdist the worker's copy of it.
    """

    configured: URL
    worker: str | None
    app_url: URL
    allow_remote: bool

    @property
    def url(self) -> URL:
        return worker_database_url(self.configured, self.worker)

    @property
    def has_own_copy(self) -> bool:
        """Whether this process works in a database made for it (and dropped after it)."""
        return self.url != self.configured

    def guarded(self, url: URL) -> URL:
        """`url`, once the guard has accepted it as a test database of this run."""
        check_is_test_database(url, self.app_url, allow_remote=self.allow_remote)
        return url

    def live(self, scratch_dir: Path) -> URL:
        """A database for a live server, a process of its own that cannot share an in-memory
        database: a file in `scratch_dir` for SQLite, `<name>_live_test` on the test server
        for PostgreSQL (the worker's own under pytest-xdist)."""
        return self._sibling("live", scratch_dir)

    def committed(self, scratch_dir: Path) -> URL:
        """The database of `transactional_db` tests, whose commits are real: a file in
        `scratch_dir` for SQLite, `<name>_committed_test` for PostgreSQL (per worker)."""
        return self._sibling("committed", scratch_dir)

    def _sibling(self, kind: str, scratch_dir: Path) -> URL:
        if self.configured.get_backend_name() == "sqlite":
            file = scratch_dir / f"{kind}_test.db"
            return self.guarded(self.configured.set(database=str(file)))
        name = f"{database_name(self.configured).removesuffix('_test')}_{kind}_test"
        return self.guarded(worker_database_url(self.configured.set(database=name), self.worker))


def resolve_test_database(environ: Mapping[str, str]) -> DatabaseUnderTest:
    """Decide the test database from `environ` and the app's settings, and guard it.

    Raises UnsafeTestDatabaseError, with the reason, for anything but a throwaway test database.
    """
    configured_text = environ.get("TEST_DATABASE_URL")
    if configured_text:
        try:
            configured = make_url(configured_text)
        except ArgumentError:
            raise UnsafeTestDatabaseError(
                f"TEST_DATABASE_URL is not a database URL: {configured_text!r}; expected for "
                f"example {example_postgresql_url(example_test_database_name())}"
            ) from None
        check_async_driver(configured, "TEST_DATABASE_URL")
    app_url = make_url(get_settings().database_url)
    check_async_driver(app_url, "DATABASE_URL")
    if not configured_text:
        configured = default_test_database_url()
    database = DatabaseUnderTest(
        configured=configured,
        worker=environ.get("PYTEST_XDIST_WORKER"),
        app_url=app_url,
        allow_remote=environ.get(ALLOW_REMOTE_VARIABLE) == "1",
    )
    database.guarded(database.configured)
    database.guarded(database.url)
    return database


@cache
def database_under_test() -> DatabaseUnderTest:
    """This process's test database: resolved from the environment once, then shared by the
    start-up checks, the engine and the live servers."""
    return resolve_test_database(os.environ)


def default_test_database_url() -> URL:
    """In-memory SQLite for a SQLite app; for a PostgreSQL app, the database of its settings'
    DATABASE_URL (environment or .env) with `_test` appended, on the same server."""
    app_default = make_url(DEFAULT_DATABASE_URL)
    app_url = make_url(get_settings().database_url)
    if "sqlite" in (app_default.get_backend_name(), app_url.get_backend_name()):
        return make_url(SQLITE_TEST_DATABASE_URL)
    return app_url.set(database=f"{app_url.database or app_default.database}_test")


def example_test_database_name() -> str:
    """The test database's name for a message's example: the default one for a PostgreSQL app,
    one after the project's folder otherwise."""
    default = default_test_database_url()
    if default.get_backend_name() == "postgresql":
        return database_name(default)
    return f"{PROJECT_ROOT.name.replace('-', '_')}_test"


def example_postgresql_url(name: str) -> str:
    return f"postgresql+asyncpg://postgres:postgres@localhost:5432/{name}"


def check_async_driver(url: URL, variable: str) -> None:
    """Refuse, in one line naming the fix, a URL whose driver is not async (`postgresql://`)."""
    async_form = ASYNC_SCHEMES.get(url.drivername)
    if async_form is not None:
        raise UnsafeTestDatabaseError(
            f"{variable} uses {url.drivername}:// without an async driver: write {async_form} "
            "instead (the app and the tests run on asyncio)."
        )


def create_test_engine(url: URL) -> AsyncEngine:
    # The production engine factory, so the tests run with the app's own engine settings.
    return create_engine(url)


def database_name(url: URL) -> str:
    """The name the guard judges: the database on a server, the file's stem for SQLite."""
    if url.get_backend_name() == "sqlite":
        return Path(url.database or "").stem
    return url.database or ""


def same_database(first: URL, second: URL) -> bool:
    if first.get_backend_name() != second.get_backend_name():
        return False
    if first.get_backend_name() == "sqlite":
        return Path(first.database or "").resolve() == Path(second.database or "").resolve()
    return _server_identity(first) == _server_identity(second)


def _server_identity(url: URL) -> tuple[str, int | None, str | None]:
    host = "localhost" if url.host in (None, "", *LOCAL_HOSTS) else str(url.host)
    return host, url.port or DEFAULT_PORTS.get(url.get_backend_name()), url.database


def check_is_test_database(url: URL, app_url: URL, *, allow_remote: bool = False) -> None:
    """Refuse, with the reason, any database that is not clearly a throwaway test database."""
    if url.get_backend_name() not in SUPPORTED_BACKENDS:
        raise UnsafeTestDatabaseError(
            f"TEST_DATABASE_URL uses {url.get_backend_name()!r}; the harness supports "
            "SQLite and PostgreSQL (postgresql+asyncpg://...)."
        )
    if is_in_memory_sqlite(url):
        return
    shown = url.render_as_string(hide_password=True)
    refusal = f"Refusing to run the tests against {shown}:"
    name = database_name(url)
    if not name.endswith("_test"):
        raise UnsafeTestDatabaseError(
            f"{refusal} its name {name!r} does not end in '_test'. The tests empty their "
            f"database; point TEST_DATABASE_URL at a test database such as {name or 'app'}_test."
        )
    if same_database(url, app_url):
        raise UnsafeTestDatabaseError(
            f"{refusal} it is the app's own database (DATABASE_URL). Use a separate test database."
        )
    is_remote = url.get_backend_name() != "sqlite" and url.host not in (None, "", *LOCAL_HOSTS)
    if is_remote and not allow_remote:
        raise UnsafeTestDatabaseError(
            f"{refusal} its host {url.host!r} is not this machine. If it is a throwaway "
            f"server, allow it explicitly with {ALLOW_REMOTE_VARIABLE}=1."
        )


def worker_database_url(url: URL, worker: str | None) -> URL:
    """Each pytest-xdist worker (gw0, gw1, ...) gets a database of its own, still `*_test`."""
    if worker is None or is_in_memory_sqlite(url):
        return url
    name = f"{database_name(url).removesuffix('_test')}_{worker}_test"
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "")
        return url.set(database=str(path.with_name(name + path.suffix)))
    return url.set(database=name)


def drop_all_tables(connection: Connection) -> None:
    """Drop every table in the database, whatever an interrupted earlier run left behind."""
    existing = MetaData()
    existing.reflect(connection)
    existing.drop_all(connection)


async def server_problem(url: URL) -> tuple[str, bool] | None:
    """None when the server of `url` answers; otherwise why not, and whether nothing listens
    there at all (connection refused: a server may be started there)."""
    if url.get_backend_name() == "sqlite":
        return None
    try:
        async with maintenance_connection(url) as connection:
            await connection.execute(text("SELECT 1"))
    except (OSError, SQLAlchemyError) as error:
        reason = first_line(error)
        nothing_listens = isinstance(error, OSError) and not isinstance(error, TimeoutError)
        return reason, nothing_listens
    return None


def _address(url: URL) -> str:
    return f"{url.host or 'localhost'}:{url.port or DEFAULT_PORTS['postgresql']}"


def _may_start_server(url: URL, environ: Mapping[str, str]) -> bool:
    """Whether the harness may start a throwaway server for `url`: PostgreSQL on this machine,
    and not turned off with TEST_DATABASE_AUTOSTART=0."""
    return (
        url.get_backend_name() == "postgresql"
        and url.host in (None, "", *LOCAL_HOSTS)
        and environ.get(AUTOSTART_VARIABLE, "1") != "0"
    )


def how_to_start_a_server(url: URL, *, offer_install: bool) -> str:
    """What to do about an unreachable test database server, in one sentence."""
    ways = []
    if (PROJECT_ROOT / "compose.yaml").is_file():
        ways.append("`docker compose up -d db` starts PostgreSQL (compose.yaml)")
    if offer_install:
        ways.append(
            "install PostgreSQL's server programs (`apt-get install postgresql` or "
            "`brew install postgresql`) and the tests start a throwaway server themselves"
        )
    ways.append(
        "set TEST_DATABASE_URL to a running server's, e.g. "
        + example_postgresql_url(database_name(url))
    )
    sentence = "; or ".join(ways)
    return f"{sentence[0].upper()}{sentence[1:]}."


def reach_or_start_server(
    url: URL, environ: Mapping[str, str]
) -> throwaway_postgres.ThrowawayServer | None:
    """Make sure the test database server answers before any test runs.

    None when it does. When nothing listens there, the harness may start a server
    (`_may_start_server`) and PostgreSQL's programs are installed, a throwaway server started
    at the URL's port, for the caller to stop. Otherwise DatabaseUnreachableError, in one line
    saying how to get a server.
    """
    problem = asyncio.run(server_problem(url))
    if problem is None:
        return None
    reason, nothing_listens = problem
    unreachable = f"Cannot reach the test database server at {_address(url)} ({reason})."
    may_start = nothing_listens and _may_start_server(url, environ)
    programs = throwaway_postgres.find_programs(environ) if may_start else None
    if programs is None:
        how = how_to_start_a_server(url, offer_install=may_start)
        raise DatabaseUnreachableError(f"{unreachable} {how}")
    host = "::1" if url.host == "::1" else "127.0.0.1"
    port = url.port or DEFAULT_PORTS["postgresql"]
    try:
        server = throwaway_postgres.start(
            programs, host=host, port=port, user=url.username or "postgres"
        )
    except (throwaway_postgres.ThrowawayServerError, OSError) as error:
        how = how_to_start_a_server(url, offer_install=False)
        raise DatabaseUnreachableError(
            f"{unreachable} Starting a throwaway server with {programs} failed ({error}): {how}"
        ) from None
    problem = asyncio.run(server_problem(url))
    if problem is not None:
        server.stop()
        how = how_to_start_a_server(url, offer_install=False)
        raise DatabaseUnreachableError(
            f"{unreachable} The throwaway server started at {host}:{port} did not answer "
            f"either ({problem[0]}): {how}"
        )
    return server


async def create_database(url: URL, *, replace: bool, template: str | None = None) -> None:
    """Create the database unless it exists; `replace` starts from a new one: empty, or a copy
    of the `template` database (PostgreSQL)."""
    if url.get_backend_name() == "sqlite":
        if replace:
            _remove_sqlite_file(url)
        return
    async with maintenance_connection(url) as connection:
        if replace:
            await connection.execute(_drop_database_statement(connection, url))
        exists = await connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
        )
        if not exists:
            quote = connection.dialect.identifier_preparer.quote
            copy_of = f" TEMPLATE {quote(template)}" if template else ""
            await connection.execute(text(f"CREATE DATABASE {_quoted(connection, url)}{copy_of}"))


async def drop_database(url: URL) -> None:
    if url.get_backend_name() == "sqlite":
        _remove_sqlite_file(url)
        return
    async with maintenance_connection(url) as connection:
        await connection.execute(_drop_database_statement(connection, url))


def _remove_sqlite_file(url: URL) -> None:
    Path(url.database or "").unlink(missing_ok=True)


def _drop_database_statement(connection: AsyncConnection, url: URL) -> TextClause:
    # FORCE ends connections a crashed earlier run may have left open (PostgreSQL 13+).
    return text(f"DROP DATABASE IF EXISTS {_quoted(connection, url)} WITH (FORCE)")


def _quoted(connection: AsyncConnection, url: URL) -> str:
    return connection.dialect.identifier_preparer.quote(url.database or "")


@asynccontextmanager
async def open_test_database(
    database: DatabaseUnderTest, sqlite_image_dir: Path | None = None, *, url: URL | None = None
) -> AsyncIterator[AsyncEngine]:
    """The engine of this process's test database (or of `url`, another one of this run:
    `DatabaseUnderTest.committed`), with the migrated schema copied from its image
    (tests/harness/db/schema_image.py).

    PostgreSQL: the database is created from the migrated template for this run and dropped
    after it. SQLite: the database gets a copy of the image kept in `sqlite_image_dir` (without
    one, it is migrated itself); a worker's own file is deleted after the run, the configured
    file is left empty.
    """
    url = url or database.url
    has_own_copy = url != database.configured
    on_postgresql = url.get_backend_name() == "postgresql"
    if on_postgresql:
        template = await schema_image.postgresql_template(database.configured)
        await create_database(url, replace=True, template=template)
    else:
        await create_database(url, replace=has_own_copy)
    engine = create_test_engine(url)
    keeps_file = not (on_postgresql or has_own_copy or is_in_memory_sqlite(url))
    try:
        if not on_postgresql:
            await _give_sqlite_schema(engine, url, sqlite_image_dir)
        await remember_migrated_state(engine)
        yield engine
        if keeps_file:
            async with engine.begin() as connection:
                await connection.run_sync(drop_all_tables)
    finally:
        await engine.dispose()
        if on_postgresql or has_own_copy:
            await drop_database(url)


# The migrations' own table: emptied back to the versions the migrated database had.
VERSION_TABLE = "alembic_version"
_MIGRATED_VERSIONS: dict[str, frozenset[str]] = {}


async def empty_tables(engine: AsyncEngine) -> None:
    """Return a database to its migrated, empty state: every row gone, sequences restarted,
    and alembic_version as the migrations left it."""
    async with engine.begin() as connection:
        await connection.run_sync(_delete_rows)


async def remember_migrated_state(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        versions = await connection.scalars(text("SELECT version_num FROM alembic_version"))
        _MIGRATED_VERSIONS[_key(engine.url)] = frozenset(versions)


def _key(url: URL) -> str:
    return url.render_as_string(hide_password=False)


def _delete_rows(connection: Connection) -> None:
    existing = MetaData()
    existing.reflect(connection)
    tables = [table for table in existing.sorted_tables if table.name != VERSION_TABLE]
    migrated = _MIGRATED_VERSIONS.get(_key(connection.engine.url))
    if VERSION_TABLE in existing.tables and migrated is not None:
        versions = existing.tables[VERSION_TABLE]
        connection.execute(versions.delete().where(versions.c.version_num.not_in(migrated)))
    if not tables:
        return
    if connection.dialect.name == "postgresql":
        names = ", ".join(connection.dialect.identifier_preparer.format_table(t) for t in tables)
        connection.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        return
    for table in reversed(tables):  # children before their parents
        connection.execute(table.delete())
    if "sqlite_sequence" in sqlite_tables(connection):
        connection.exec_driver_sql("DELETE FROM sqlite_sequence")


def sqlite_tables(connection: Connection) -> set[str]:
    rows = connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {name for (name,) in rows}


# How long the teardown's rollback may take before the connection counts as broken.
ROLLBACK_TIMEOUT_SECONDS = 5.0


async def close_test_connection(connection: AsyncConnection, transaction: AsyncTransaction) -> bool:
    """Roll back a test's transaction and close its connection. A connection not in the state
    the test got it in (its transaction ended by the test, aborted, used from another event
    loop, or still in a transaction after the rollback) never goes back to the pool: it is
    invalidated (in-memory SQLite, whose one connection is the database, is rolled back at the
    driver instead). Returns whether the test had ended the outer transaction itself."""
    ended_by_the_test = not transaction.is_active
    try:
        async with asyncio.timeout(ROLLBACK_TIMEOUT_SECONDS):
            if not ended_by_the_test:
                await transaction.rollback()
            healthy = not ended_by_the_test and not await driver_in_transaction(connection)
    except Exception:  # noqa: BLE001 (whatever broke it, the connection is not reused)
        healthy = False
    if not healthy:
        await _discard(connection)
    await connection.close()
    return ended_by_the_test


async def driver_in_transaction(connection: AsyncConnection) -> bool:
    """Whether the driver's own connection is inside a transaction (asyncpg, sqlite3, aiosqlite
    and the inline driver each say it their way)."""
    driver = (await connection.get_raw_connection()).driver_connection
    inner = getattr(driver, "sqlite3_connection", driver)  # the inline driver wraps sqlite3's
    asyncpg_state = getattr(inner, "is_in_transaction", None)
    if callable(asyncpg_state):
        return bool(asyncpg_state())
    return bool(getattr(inner, "in_transaction", False))


async def _discard(connection: AsyncConnection) -> None:
    if is_in_memory_sqlite(connection.engine.url):
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        inner = getattr(driver, "sqlite3_connection", None)
        if inner is not None:
            inner.rollback()
        elif driver is not None:
            await driver.rollback()
        return
    await connection.invalidate()


async def _give_sqlite_schema(engine: AsyncEngine, url: URL, image_dir: Path | None) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(drop_all_tables)  # whatever an interrupted run left in a file
    if image_dir is not None:
        await schema_image.copy_sqlite_image(engine, url, image_dir)
        return
    async with engine.begin() as connection:
        await connection.run_sync(schema_image.migrate)
