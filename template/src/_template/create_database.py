"""Create the app's database, the one DATABASE_URL names, when it does not exist yet:

    uv run python -m src.create_database

PostgreSQL: connects to the server's `postgres` database and runs CREATE DATABASE (the role
needs CREATEDB). SQLite: nothing to do, `uv run alembic upgrade head` creates the file. Then
`uv run alembic upgrade head` creates the tables. Any failure is one line, and exit status 1.
"""

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pydantic import ValidationError
from sqlalchemy import URL, make_url, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from src.config import get_settings

CONNECT_TIMEOUT_SECONDS = 5
COMMAND = "uv run python -m src.create_database"
# PostgreSQL's "database does not exist".
UNKNOWN_DATABASE = "3D000"


@asynccontextmanager
async def maintenance_connection(url: URL) -> AsyncIterator[AsyncConnection]:
    """An AUTOCOMMIT connection to the `postgres` database of `url`'s server, where CREATE and
    DROP DATABASE run (the test harness makes its databases with it too)."""
    engine = create_async_engine(
        url.set(database="postgres"),
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
        connect_args={"timeout": CONNECT_TIMEOUT_SECONDS},
    )
    try:
        async with engine.connect() as connection:
            yield connection
    finally:
        await engine.dispose()


async def create_database(url: URL) -> str:
    """Create the database of `url` unless it exists; what was done, in one line."""
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite":
        return f"{shown}: nothing to do for SQLite, `uv run alembic upgrade head` creates the file."
    async with maintenance_connection(url) as connection:
        exists = await connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
        )
        if exists:
            return f"{shown} exists already."
        name = connection.dialect.identifier_preparer.quote(url.database or "")
        await connection.execute(text(f"CREATE DATABASE {name}"))
    return f"Created {shown}; `uv run alembic upgrade head` creates its tables."


def first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def cannot_connect(url: str, error: Exception) -> str:
    """Why the app's database cannot be opened, and what to do, in one line (for
    migrations/env.py: `alembic upgrade head` on a database that is not there)."""
    parsed = make_url(url)
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite":
        return f"Cannot open DATABASE_URL's database {shown} ({first_line(error)})."
    create = f"create the database with `{COMMAND}`, then run this again"
    if getattr(getattr(error, "orig", None), "sqlstate", None) == UNKNOWN_DATABASE:
        return f"The database of DATABASE_URL, {shown}, does not exist: {create}."
    return (
        f"Cannot connect to DATABASE_URL's database {shown} ({first_line(error)}): start its "
        f"server (`docker compose up -d db` where the project has a compose.yaml), {create}."
    )


def main() -> int:
    try:
        url = make_url(get_settings().database_url)
    except ValidationError as error:
        messages = [str(problem["msg"]).removeprefix("Value error, ") for problem in error.errors()]
        sys.stderr.write(f"Invalid settings: {'; '.join(messages)}.\n")
        return 1
    try:
        done = asyncio.run(create_database(url))
    except OSError as error:  # refused, unknown host, timed out: no server there
        sys.stderr.write(
            f"Cannot reach the PostgreSQL server of DATABASE_URL at {url.host or 'localhost'}:"
            f"{url.port or 5432} ({first_line(error)}). Start it (`docker compose up -d db` where "
            "the project has a compose.yaml) or point DATABASE_URL at a running one, then run "
            f"`{COMMAND}` again.\n"
        )
        return 1
    except SQLAlchemyError as error:  # refused the login, or CREATE DATABASE
        shown = url.render_as_string(hide_password=True)
        sys.stderr.write(f"Cannot create {shown}: {first_line(error)}\n")
        return 1
    sys.stdout.write(done + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
