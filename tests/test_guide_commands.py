"""The whole suite (in parallel) and the guide's commands pass while the app's own database
refuses every connection and the owner's startup code queries the database through the app's
engine and through its settings: under the harness, both are the test database. On PostgreSQL,
each worker's database is its own and is dropped after the run.

The guide's commands differ in what they select, not in what they need: all of them run on the
default variant, the coverage one (the one that needs a plugin) on both."""

import shutil
from pathlib import Path

import pytest
from sqlalchemy import make_url

from tests.support.edits import Edit
from tests.support.rendering import (
    assert_suite_passed,
    postgres_test_env,
    project_env,
    run_project_pytest,
    with_few_schema_examples,
)
from tests.support.servers import database_names

# From the guide (../shared/seed/async-integration-testing-guide.md), "Running the tests".
GUIDE_COMMANDS = (
    ("tests/integration/",),
    ("tests/integration/test_user_endpoints.py",),
    ("tests/integration/test_user_endpoints.py::TestUserEndpoints::test_get_users_empty_list",),
    ("tests/integration/", "-v"),
    ("tests/integration/", "--cov=src", "--cov-report=html"),
)
REFUSING_DATABASE_URLS = {
    "default": "sqlite+inline:////nonexistent-folder/app.db",
    "postgresql": "postgresql+asyncpg://nobody:nothing@127.0.0.1:9/refused",
}
STARTUP_QUERIES = Edit(
    "src/main.py",
    """            from sqlalchemy import text

            from src._template.database import create_engine
            from src.database import app_database

            async with app_database(app).engine.connect() as connection:
                await connection.execute(text("SELECT count(*) FROM users"))
            engine_of_the_settings = create_engine(get_settings().database_url)
            async with engine_of_the_settings.connect() as connection:
                await connection.execute(text("SELECT 1"))
            await engine_of_the_settings.dispose()
""",
    old="            # database (under the test harness, the test database).\n",
    position="after",
)


@pytest.mark.parametrize("variant", ["default", "postgresql"])
def test_the_guides_commands_pass_with_the_apps_database_out_of_reach(
    variant: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    rendered: Path = request.getfixturevalue(f"{variant}_project")
    project = shutil.copytree(rendered, tmp_path / "service")
    STARTUP_QUERIES.apply(project)
    server = request.getfixturevalue("postgres_server") if variant == "postgresql" else ""
    env = with_few_schema_examples(postgres_test_env(server) if server else project_env())
    env["DATABASE_URL"] = REFUSING_DATABASE_URLS[variant]

    whole_suite = run_project_pytest(project, "-v", "-n", "2", env=env)
    assert_suite_passed(whole_suite)
    assert "created: 2/2 workers" in whole_suite.output, whole_suite
    if server:
        # Workers use databases of their own, not the configured one, and drop them after use.
        base = str(make_url(env["TEST_DATABASE_URL"]).database)
        names = database_names(server)
        assert base not in names
        assert not [name for name in names if name.startswith(base.removesuffix("_test") + "_gw")]
    for arguments in GUIDE_COMMANDS if variant == "default" else GUIDE_COMMANDS[-1:]:
        assert_suite_passed(run_project_pytest(project, *arguments, env=env))
    assert (project / "htmlcov" / "index.html").is_file()
