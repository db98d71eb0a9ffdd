"""The migrated schema, built once for each version of the migrations and copied into every
test database after that.

Migrating is most of what a test run does before its first test (importing alembic, then every
revision), so the harness migrates into an image once and copies it:

- SQLite: the image is a database file in pytest's cache folder
  (`.pytest_cache/d/harness-schema/`), copied into the test database through SQLite's ATTACH.
  Without pytest's cache (`-p no:cacheprovider`) every run migrates its database itself.
- PostgreSQL: the image is a template database on the test server,
  `<name>_schema_<fingerprint>_test`; each test database, a pytest-xdist worker's too, is
  created from it (CREATE DATABASE ... TEMPLATE), which copies files instead of replaying SQL.

The fingerprint hashes alembic.ini, every file under migrations/ and SQLAlchemy's version: any
change to them builds a new image (and removes the older one). What the migrations import from
src/ is not hashed: after changing such code, `pytest --cache-clear` builds the image anew. The
drift test (tests/test_migrations.py) always migrates from scratch, so an image can never hide a
difference between the models and the migrations.
"""

import hashlib
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy import URL, Connection, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from src._template.create_database import maintenance_connection
from tests.harness.paths import PROJECT_ROOT

MIGRATION_SOURCES = (PROJECT_ROOT / "alembic.ini", PROJECT_ROOT / "migrations")
SQLITE_IMAGE_PREFIX = "sqlite-"
# Where the template's name keeps the fingerprint: long enough never to collide by chance,
# short enough for PostgreSQL's 63-character names.
FINGERPRINT_LENGTH = 12
MAX_NAME_LENGTH = 63
BUILDING_SUFFIX = "_building_test"
# One builder at a time per server: pytest-xdist workers (and parallel runs) wait for the
# first one instead of migrating the same template side by side.
TEMPLATE_LOCK = 7_106_563_211


def image_dir(config: pytest.Config) -> Path | None:
    """Where the SQLite image is kept: pytest's cache folder (None with -p no:cacheprovider)."""
    cache = getattr(config, "cache", None)
    return None if cache is None else cache.mkdir("harness-schema")


def _source_files() -> Iterator[Path]:
    for source in MIGRATION_SOURCES:
        if source.is_file():
            yield source
        elif source.is_dir():
            yield from (
                path
                for path in sorted(source.rglob("*"))
                if path.is_file() and "__pycache__" not in path.parts
            )


def migrations_fingerprint() -> str:
    """A hash of everything `alembic upgrade head` reads from the project, and of the SQLAlchemy
    version that renders its DDL."""
    digest = hashlib.sha256(sqlalchemy.__version__.encode())
    for path in _source_files():
        digest.update(path.relative_to(PROJECT_ROOT).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def migrate(connection: Connection) -> None:
    # Imported here: alembic loads only in runs that migrate.
    from tests.harness.db.migrations import upgrade_to_head  # noqa: PLC0415

    upgrade_to_head(connection)


# SQLite


async def copy_sqlite_image(engine: AsyncEngine, url: URL, image_dir: Path) -> None:
    """Give the (empty) SQLite database of `engine` the migrated schema, copied from the image
    in `image_dir`, which is built first when missing."""
    image = image_dir / f"{SQLITE_IMAGE_PREFIX}{migrations_fingerprint()}.sqlite3"
    for _attempt in range(2):
        if not image.is_file():
            await _build_sqlite_image(url, image)
        async with engine.connect() as connection:
            if await connection.run_sync(_copy_from, image):
                return
        # Not a migrated schema: removed meanwhile (`--cache-clear` in another process), which
        # ATTACH answers with a new empty file, or damaged. Built anew, once.
        image.unlink(missing_ok=True)
    raise RuntimeError(f"{image} is not a migrated schema, even just after migrating into it")


async def _build_sqlite_image(url: URL, image: Path) -> None:
    # Imported here: the test engine factory lives with the guard, which imports this module.
    from tests.harness.db.database import create_test_engine  # noqa: PLC0415

    image.parent.mkdir(parents=True, exist_ok=True)
    building = image.with_name(f"{image.name}.{os.getpid()}.building")
    building.unlink(missing_ok=True)
    engine = create_test_engine(url.set(database=str(building)))
    try:
        async with engine.begin() as connection:
            await connection.run_sync(migrate)
        async with engine.connect() as connection:
            # A plain rollback-journal file: attaching it then leaves no -wal files behind.
            await connection.run_sync(_raw_execute, "PRAGMA journal_mode=DELETE")
    finally:
        await engine.dispose()
    # Atomic: a pytest-xdist worker copying the image meanwhile sees the whole file or none.
    building.replace(image)
    for older in image.parent.glob(f"{SQLITE_IMAGE_PREFIX}*.sqlite3"):
        if older != image:
            older.unlink(missing_ok=True)


def _raw_execute(connection: Connection, statement: str) -> None:
    # The driver's own cursor: the app's engine opens a transaction (BEGIN IMMEDIATE) for every
    # statement sent through SQLAlchemy, and ATTACH, DETACH and journal_mode need none.
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(statement)
    finally:
        cursor.close()


def _copy_from(connection: Connection, image: Path) -> bool:
    """Every table with its rows, then the indexes, triggers and views, from `image` into the
    connection's database, in one transaction. False, copying nothing, when `image` holds no
    migrated schema (no alembic_version table)."""
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute("ATTACH DATABASE ? AS image", (str(image),))
    except sqlite3.DatabaseError:  # not a database file at all
        cursor.close()
        return False
    try:
        cursor.execute("SELECT 1 FROM image.sqlite_master WHERE name = 'alembic_version'")
        if cursor.fetchone() is None:
            return False
        cursor.execute("BEGIN")
        try:
            _copy_objects(cursor, connection.dialect.identifier_preparer.quote)
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        cursor.execute("COMMIT")
        return True
    finally:
        cursor.execute("DETACH DATABASE image")
        cursor.close()


def _copy_objects(cursor: Any, quote: Callable[[str], str]) -> None:
    cursor.execute("PRAGMA defer_foreign_keys = ON")
    cursor.execute(
        "SELECT type, name, sql FROM image.sqlite_master WHERE sql IS NOT NULL "
        "ORDER BY type != 'table', rowid"
    )
    for kind, name, sql in cursor.fetchall():
        if name.startswith("sqlite_"):
            continue  # SQLite's own (sqlite_sequence): made with the tables that need it
        cursor.execute(sql)
        if kind == "table":
            table = quote(name)  # a table of the image, quoted
            cursor.execute(f"INSERT INTO main.{table} SELECT * FROM image.{table}")  # noqa: S608
    cursor.execute("SELECT 1 FROM image.sqlite_master WHERE name = 'sqlite_sequence'")
    if cursor.fetchone():
        cursor.execute("INSERT INTO main.sqlite_sequence SELECT * FROM image.sqlite_sequence")


# PostgreSQL


def template_prefix(configured: URL) -> str:
    """What the names of the templates for `configured` start with: `<name>_schema_`."""
    base = (configured.database or "app").removesuffix("_test")
    room = MAX_NAME_LENGTH - len("_schema_") - FINGERPRINT_LENGTH - len(BUILDING_SUFFIX)
    return f"{base[:room]}_schema_"


def template_name(configured: URL, fingerprint: str) -> str:
    """`<name>_schema_<fingerprint>_test`, after the configured test database's name."""
    return f"{template_prefix(configured)}{fingerprint[:FINGERPRINT_LENGTH]}_test"


async def postgresql_template(configured: URL) -> str:
    """The name of the migrated template database for `configured`'s test databases, built on
    its server first when missing (older templates of it are dropped then)."""
    name = template_name(configured, migrations_fingerprint())
    async with _templates_locked(configured) as connection:
        exists = await connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        )
        if not exists:
            await _drop_templates(connection, configured)
            await _build_template(connection, configured, name)
    return name


async def drop_postgresql_templates(configured: URL) -> None:
    """Drop every template of `configured`'s test databases: the next test database builds a
    new one (`pytest --cache-clear`)."""
    async with _templates_locked(configured) as connection:
        await _drop_templates(connection, configured)


@asynccontextmanager
async def _templates_locked(configured: URL) -> AsyncIterator[AsyncConnection]:
    """A maintenance connection of `configured`'s server, holding the templates' lock."""
    async with maintenance_connection(configured) as connection:
        await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": TEMPLATE_LOCK})
        try:
            yield connection
        finally:
            await connection.execute(
                text("SELECT pg_advisory_unlock(:key)"), {"key": TEMPLATE_LOCK}
            )


async def _drop_templates(connection: AsyncConnection, configured: URL) -> None:
    """Drop the templates for `configured`, whatever their fingerprint, and any left half-built."""
    # Imported here: the database helpers live with the guard, which imports this module.
    from tests.harness.db.database import drop_database  # noqa: PLC0415

    found = await connection.scalars(
        text(
            "SELECT datname FROM pg_database "
            "WHERE starts_with(datname, :prefix) AND datname LIKE '%\\_test'"
        ),
        {"prefix": template_prefix(configured)},
    )
    for database in found.all():
        await drop_database(configured.set(database=database))


async def _build_template(connection: AsyncConnection, configured: URL, name: str) -> None:
    # Imported here: the database helpers live with the guard, which imports this module.
    from tests.harness.db.database import create_database, create_test_engine  # noqa: PLC0415

    # Built under a name of its own and renamed when complete: a run interrupted while
    # migrating leaves no template that looks finished.
    building = configured.set(database=name.removesuffix("_test") + BUILDING_SUFFIX)
    await create_database(building, replace=True)
    engine = create_test_engine(building)
    try:
        async with engine.begin() as migrating:
            await migrating.run_sync(migrate)
    finally:
        await engine.dispose()
    quote = connection.dialect.identifier_preparer.quote
    await connection.execute(
        text(f"ALTER DATABASE {quote(building.database or '')} RENAME TO {quote(name)}")
    )
