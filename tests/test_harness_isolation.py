"""The generated suite is parallel-proof, on the test driver and on aiosqlite (its random-order
run is in tests/test_render.py)."""

import json
from pathlib import Path

import pytest

from tests.support.rendering import (
    AIOSQLITE_URL,
    assert_suite_passed,
    project_env,
    run_project_pytest,
    run_snippet,
    with_few_schema_examples,
)

PRINT_TEST_DRIVER = (
    "from tests.harness.db.database import create_test_engine, database_under_test; "
    "print(create_test_engine(database_under_test().url).dialect.driver)"
)


@pytest.mark.parametrize(
    ("test_database_url", "driver"), [("", "inline"), (AIOSQLITE_URL, "aiosqlite")]
)
def test_test_database_url_chooses_the_driver(
    default_project: Path, test_database_url: str, driver: str
) -> None:
    env = project_env(TEST_DATABASE_URL=test_database_url)
    completed = run_snippet(default_project, PRINT_TEST_DRIVER, env=env)

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == driver


# On the test driver, the suite's parallel run is tests/test_guide_commands.py's (with the app's
# own database out of reach); here it runs on aiosqlite.
def test_generated_suite_passes_in_parallel_on_aiosqlite(default_project: Path) -> None:
    env = with_few_schema_examples(project_env(TEST_DATABASE_URL=AIOSQLITE_URL))

    outcome = run_project_pytest(default_project, "-v", "-n", "2", env=env)

    assert_suite_passed(outcome)
    assert "created: 2/2 workers" in outcome.output, outcome


DRIVER_PARITY_SCRIPT = """
import asyncio, json, sys
from sqlalchemy import exc, make_url, text
from tests.harness.db.database import create_test_engine

async def observe(url):
    engine = create_test_engine(make_url(url))
    seen = {"pool": type(engine.pool).__name__}
    async with engine.connect() as connection:
        await connection.execute(text("CREATE TABLE t (x INTEGER UNIQUE)"))
        await connection.execute(text("INSERT INTO t VALUES (1), (2), (3)"))
        streamed = await connection.stream(text("SELECT x FROM t ORDER BY x"))
        seen["streamed"] = [row.x async for row in streamed]
        await connection.commit()
        outer = await connection.begin()
        await connection.execute(text("INSERT INTO t VALUES (4)"))
        savepoint = await connection.begin_nested()
        try:
            await connection.execute(text("INSERT INTO t VALUES (4)"))
        except exc.IntegrityError as error:
            seen["duplicate"] = type(error.orig).__module__ + "." + type(error.orig).__name__
        await savepoint.rollback()
        seen["in_transaction"] = (await connection.execute(text("SELECT count(*) FROM t"))).scalar()
        await outer.rollback()
        seen["after_rollback"] = (await connection.execute(text("SELECT count(*) FROM t"))).scalar()
    await engine.dispose()
    return seen

print(json.dumps([asyncio.run(observe(url)) for url in sys.argv[1:]]))
"""


def test_inline_driver_behaves_like_aiosqlite(default_project: Path) -> None:
    completed = run_snippet(
        default_project, DRIVER_PARITY_SCRIPT, "sqlite+inline:///:memory:", AIOSQLITE_URL
    )

    assert completed.returncode == 0, completed.stderr
    inline, aiosqlite = json.loads(completed.stdout)
    assert inline == aiosqlite
    assert inline == {
        "pool": "StaticPool",
        "streamed": [1, 2, 3],
        "duplicate": "sqlite3.IntegrityError",
        "in_transaction": 4,
        "after_rollback": 3,
    }
