"""Write the migration that brings the schema up to the models, from the command line:

    uv run python -m tests.harness.new_migration "create notes"

Alembic's autogenerate compares the models with a database migrated to head. This runs it on
the test database (in memory for SQLite; on PostgreSQL the test database, emptied again after),
so the app's own database need not exist or be up to date. The revision is numbered after
the last one (0002 follows 0001), and ruff formats it (alembic.ini's post-write hooks). Read it
before you commit it: autogenerate misses renames and some constraint changes.
"""

import asyncio
import sys

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from tests.harness.db.database import database_under_test, open_test_database
from tests.harness.db.migrations import alembic_config

USAGE = 'usage: uv run python -m tests.harness.new_migration "what changed"'


def next_revision_id(script: ScriptDirectory) -> str | None:
    """The number after the highest numbered revision (0001, 0002, ...); alembic's random id
    when some revision is not a number."""
    ids = [revision.revision for revision in script.walk_revisions()]
    if not ids or not all(revision.isdigit() for revision in ids):
        return None if ids else "0001"
    return f"{max(int(revision) for revision in ids) + 1:04d}"


def write_revision(connection: Connection, message: str) -> None:
    config = alembic_config(connection)
    rev_id = next_revision_id(ScriptDirectory.from_config(config))
    command.revision(config, message=message, autogenerate=True, rev_id=rev_id)


async def main(message: str) -> None:
    async with (
        open_test_database(database_under_test()) as engine,
        engine.connect() as connection,
    ):
        await connection.run_sync(write_revision, message)


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1].strip():
        sys.exit(USAGE)
    asyncio.run(main(sys.argv[1]))
