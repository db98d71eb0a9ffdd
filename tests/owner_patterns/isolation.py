"""The folder's own proof of isolation: every test starts on an empty database (but for the
session's reference data), and so does the end of the run.

An owner's session-scoped reference data, committed once through `async_engine` before any
test's transaction: the patterns' tables (tables.py) and one probe row in alembic_version.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import column, delete, func, insert, select, table
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.schema import DropTable

from src._template.database import is_in_memory_sqlite
from src.users.models import User
from tests.harness.db.database import create_test_engine, database_under_test
from tests.owner_patterns.tables import (
    CREATE_STATEMENTS,
    PATTERN_TABLES,
    REFERENCE_PROBE,
    accounts,
    audit_log,
)

ISOLATION_BROKEN = "ISOLATION BROKEN: rows left by an earlier test"
REFERENCE_DATA_GONE = "REFERENCE DATA GONE: the session's reference data was deleted during the run"
# The final checks' failures say so: they belong to the run, not to the test they follow.
AT_THE_END = "at the end of the run"
alembic_version = table("alembic_version", column("version_num"))


@dataclass(frozen=True)
class Baseline:
    """What a database holds between tests: the migrations' versions, the reference probe."""

    versions: frozenset[str]


async def leftovers(reader: AsyncConnection | AsyncSession, baseline: Baseline) -> list[str]:
    """Rows beyond the baseline, described."""
    found = []
    emails = list(await reader.scalars(select(User.email).order_by(User.email)))
    if emails:
        found.append(f"users: {', '.join(emails)}")
    versions = set(await reader.scalars(select(alembic_version.c.version_num)))
    if extra := sorted(versions - baseline.versions):
        found.append(f"alembic_version: {', '.join(extra)}")
    for kept in (accounts, audit_log):
        count = await reader.scalar(select(func.count()).select_from(kept))
        if count:
            found.append(f"{kept.name}: {count} rows")
    return found


async def create_pattern_tables(engine: AsyncEngine, *, reference: bool) -> Baseline:
    async with engine.begin() as connection:
        for statement in CREATE_STATEMENTS:
            await connection.execute(statement)
        versions = set(await connection.scalars(select(alembic_version.c.version_num)))
        if reference and REFERENCE_PROBE not in versions:
            await connection.execute(insert(alembic_version).values(version_num=REFERENCE_PROBE))
            versions.add(REFERENCE_PROBE)
    return Baseline(frozenset(versions))


async def end_of_run_problems(engine: AsyncEngine, baseline: Baseline, where: str) -> list[str]:
    """After the last test: nothing beyond the baseline, and the reference data still there.
    Then the reference data goes."""
    async with engine.connect() as connection:
        left = await leftovers(connection, baseline)
        versions = set(await connection.scalars(select(alembic_version.c.version_num)))
    async with engine.begin() as connection:
        await connection.execute(
            delete(alembic_version).where(alembic_version.c.version_num == REFERENCE_PROBE)
        )
        for created in reversed(PATTERN_TABLES.sorted_tables):
            await connection.execute(DropTable(created, if_exists=True))
    problems = []
    if left:
        problems.append(f"{ISOLATION_BROKEN} ({AT_THE_END}, {where}): {'; '.join(left)}")
    if missing := sorted(baseline.versions - versions):
        lost = ", ".join(missing)
        problems.append(
            f"{REFERENCE_DATA_GONE} ({AT_THE_END}, {where}): alembic_version lost {lost}"
        )
    return problems


# The committed database's end-of-run problems, reported with the test database's (one failure).
_COMMITTED_PROBLEMS: list[str] = []


async def repair(baseline: Baseline) -> None:
    """Delete committed leftovers, so that each leak fails one test, not every later one. On
    in-memory SQLite the test's connection is the database: nothing can be committed beside it,
    and a leak there stays for the next tests to report."""
    url = database_under_test().url
    if is_in_memory_sqlite(url):
        return
    engine = create_test_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(delete(User))
            for kept in (audit_log, accounts):
                await connection.execute(delete(kept))
            await connection.execute(
                delete(alembic_version).where(
                    alembic_version.c.version_num.not_in(baseline.versions)
                )
            )
    finally:
        await engine.dispose()


@pytest.fixture(scope="session", autouse=True)
async def reference_data(async_engine: AsyncEngine) -> AsyncIterator[Baseline]:
    """Committed for real once per run (and worker), before any test's transaction."""
    baseline = await create_pattern_tables(async_engine, reference=True)
    yield baseline
    problems = [
        *_COMMITTED_PROBLEMS,
        *await end_of_run_problems(async_engine, baseline, "the test database"),
    ]
    if problems:
        pytest.fail(" / ".join(problems), pytrace=False)


@pytest.fixture(scope="session")
async def committed_reference_data(committed_engine: AsyncEngine) -> AsyncIterator[Baseline]:
    """The patterns' tables in the database of `transactional_db` tests, from the first one on
    (torn down before `reference_data`, which reports both databases' end of run)."""
    baseline = await create_pattern_tables(committed_engine, reference=False)
    yield baseline
    where = "the transactional_db database"
    _COMMITTED_PROBLEMS.extend(await end_of_run_problems(committed_engine, baseline, where))


@pytest.fixture
def pattern_baseline(request: pytest.FixtureRequest, reference_data: Baseline) -> Baseline:
    """The baseline of the database this test works with (set up from a sync fixture: an
    async one cannot start another fixture on the running loop)."""
    if "transactional_db" in request.fixturenames:
        committed: Baseline = request.getfixturevalue("committed_reference_data")
        return committed
    return reference_data


@pytest.fixture(autouse=True)
async def isolation_check(
    pattern_baseline: Baseline,
    reference_data: Baseline,
    test_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Before every test of the folder, through the test's own database: nothing left by the
    tests before it."""
    async with test_sessionmaker() as session:
        left = await leftovers(session, pattern_baseline)
    if left:
        if pattern_baseline is reference_data:
            await repair(reference_data)
        pytest.fail(f"{ISOLATION_BROKEN}: {'; '.join(left)}", pytrace=False)
