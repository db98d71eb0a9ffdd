"""Alembic environment: runs migrations on the app's database with the app's async engine.

From the command line (`alembic upgrade head`) it connects to `DATABASE_URL`. The test harness
passes its own connection in `config.attributes["connection"]` and the migrations run on it.
"""

import asyncio
from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection, TypeDecorator, make_url
from sqlalchemy.exc import DBAPIError

from src._template import discovery
from src._template.create_database import cannot_connect
from src._template.database import create_engine
from src.config import get_settings
from src.database import Base

discovery.import_models()  # every domain's tables on Base.metadata, to migrate and compare
config = context.config
target_metadata = Base.metadata


def render_item(kind: str, item: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """A column type of the app's own (a TypeDecorator, such as a generated domain's
    ExactDecimal) is written into a migration as the SQLAlchemy types it stands for on
    PostgreSQL and on SQLite: alembic would write its module's path, without importing it, and
    a migration must not import the app's code anyway, which changes after it."""
    if kind != "type" or not isinstance(item, TypeDecorator):
        return False  # alembic's own rendering
    on_postgresql, on_sqlite = (
        item.load_dialect_impl(make_url(f"{name}://").get_dialect()())
        for name in ("postgresql", "sqlite")
    )
    if not all(type(t).__module__ == "sqlalchemy.sql.sqltypes" for t in (on_postgresql, on_sqlite)):
        return False  # a dialect's own type: alembic's rendering, to review by hand
    prefix = autogen_context.opts["sqlalchemy_module_prefix"]
    rendered = f"{prefix}{on_postgresql!r}"
    if repr(on_sqlite) != repr(on_postgresql):
        rendered += f'.with_variant({prefix}{on_sqlite!r}, "sqlite")'
    return rendered


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: autogenerate "batch" (copy-and-move) operations there.
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_on_app_database() -> None:
    url = get_settings().database_url
    engine = create_engine(url)
    try:
        try:
            connection = await engine.connect()
        except (OSError, DBAPIError) as error:
            # One line saying what to do (for a missing database, the command creating it).
            raise SystemExit(cannot_connect(url, error)) from None
        try:
            await connection.run_sync(run_migrations)
        finally:
            await connection.close()
    finally:
        await engine.dispose()


def main() -> None:
    if context.is_offline_mode():
        raise SystemExit("Offline (--sql) migrations are not supported: run them on a database.")
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    if config.config_file_name is not None:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    asyncio.run(run_migrations_on_app_database())


main()
