"""Alembic environment: runs migrations on the app's database with the app's async engine.

From the command line (`alembic upgrade head`) it connects to `DATABASE_URL`. The test harness
passes its own connection in `config.attributes["connection"]` and the migrations run on it.
"""

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from src._template import discovery
from src._template.create_database import cannot_connect
from src._template.database import create_engine
from src._template.migration_types import render_item
from src.config import get_settings
from src.database import Base

discovery.import_models()  # every domain's tables on Base.metadata, to migrate and compare
config = context.config
target_metadata = Base.metadata


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
