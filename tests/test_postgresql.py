"""The postgresql variant against a real server, the sqlite variant's suite on PostgreSQL too,
the guard and the unreachable-server message, the throwaway server the harness starts where
none runs, the app's database created by `python -m src.create_database`, and the compose file
of local development."""

import os
import re
import shutil
import uuid
from pathlib import Path

import pytest
import yaml
from sqlalchemy import make_url

from tests.support.rendering import (
    IN_FILE_ORDER,
    Outcome,
    assert_suite_passed,
    postgres_test_env,
    project_env,
    run_in,
    run_project_pytest,
    run_snippet,
    summary_counts,
    with_few_schema_examples,
)
from tests.support.servers import database_names, execute, fetch_column, free_port, is_listening

ADDED_COLUMN = """    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    nickname: Mapped[str | None] = mapped_column(String(50))  # mutation: no migration
"""


# The harness's switches for its throwaway server: off, and where PostgreSQL's programs are.
AUTOSTART_OFF = {"TEST_DATABASE_AUTOSTART": "0"}
NO_PROGRAMS = {"TEST_DATABASE_PG_BIN": "/nonexistent"}
STARTED = re.compile(
    r"Started a throwaway PostgreSQL \S+ at 127\.0\.0\.1:(\d+) \(pid (\d+).*data in (\S+)\)"
)


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def harness_env(**overrides: str) -> dict[str, str]:
    """A project environment with none of the throwaway server's switches of this shell."""
    env = project_env(**overrides)
    for key in (*AUTOSTART_OFF, *NO_PROGRAMS):
        if key not in overrides:
            env.pop(key, None)
    return env


def nonblank_lines(outcome: Outcome) -> list[str]:
    return [line for line in outcome.output.splitlines() if line.strip()]


def default_database_url(project: Path) -> str:
    """The rendered app's default DATABASE_URL, as its own code computes it."""
    completed = run_snippet(project, "from src.config import DEFAULT_DATABASE_URL as u; print(u)")
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip()


# The postgresql variant's suite passes with two workers in tests/test_guide_commands.py, and
# serially in test_the_test_database_is_named_after_database_url.
def test_sqlite_variant_passes_its_suite_on_postgresql(
    default_project: Path, postgres_server: str
) -> None:
    env = with_few_schema_examples(postgres_test_env(postgres_server))

    outcome = run_project_pytest(default_project, IN_FILE_ORDER, "-n", "2", env=env)

    assert_suite_passed(outcome)


def add_column_without_migration(project: Path, tmp_path: Path) -> Path:
    mutant = shutil.copytree(project, tmp_path / "mutant")
    models = mutant / "src/users/models.py"
    source = models.read_text(encoding="utf-8")
    old = "    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))\n"
    assert source.count(old) == 1
    models.write_text(source.replace(old, ADDED_COLUMN), encoding="utf-8")
    return mutant


DRIFT_TEST = "tests/test_migrations.py::test_models_match_the_migrations"


@pytest.mark.parametrize("variant", ["sqlite", "postgresql"])
def test_drift_test_fails_when_a_model_changes_without_a_migration(
    variant: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if variant == "sqlite":
        project: Path = request.getfixturevalue("default_project")
        env = project_env()
    else:
        project = request.getfixturevalue("postgresql_project")
        env = postgres_test_env(request.getfixturevalue("postgres_server"))
    assert run_project_pytest(project, DRIFT_TEST, env=env).returncode == 0
    mutant = add_column_without_migration(project, tmp_path)

    outcome = run_project_pytest(mutant, DRIFT_TEST, env=env)

    assert outcome.returncode == 1, outcome
    assert summary_counts(outcome.output) == {"failed": 1}, outcome
    assert "add_column" in outcome.output, outcome
    assert "nickname" in outcome.output, outcome


def test_unreachable_server_stops_the_suite_with_one_clear_message(
    postgresql_project: Path,
) -> None:
    # Nothing listens on port 1: the connection is refused at once. The harness is told not to
    # start a server of its own there.
    url = "postgresql+asyncpg://postgres@127.0.0.1:1/acme_test"
    env = harness_env(TEST_DATABASE_URL=url, **AUTOSTART_OFF)

    outcome = run_project_pytest(postgresql_project, env=env)

    assert outcome.returncode == pytest.ExitCode.USAGE_ERROR, outcome
    assert "Cannot reach the test database server at 127.0.0.1:1" in outcome.output, outcome
    assert "docker compose up -d db" in outcome.output, outcome
    assert "TEST_DATABASE_URL" in outcome.output, outcome
    assert "Traceback" not in outcome.output, outcome
    assert "Started a throwaway" not in outcome.output, outcome
    assert len(nonblank_lines(outcome)) == 1, outcome


def test_without_server_programs_the_message_names_the_projects_test_database(
    postgresql_project: Path,
) -> None:
    port = free_port()
    app_url = f"postgresql+asyncpg://postgres:postgres@127.0.0.1:{port}/acme_orders"
    env = harness_env(DATABASE_URL=app_url, **NO_PROGRAMS)

    outcome = run_project_pytest(postgresql_project, env=env)

    assert outcome.returncode == pytest.ExitCode.USAGE_ERROR, outcome
    assert len(nonblank_lines(outcome)) == 1, outcome
    assert f"Cannot reach the test database server at 127.0.0.1:{port}" in outcome.output
    assert "docker compose up -d db" in outcome.output, outcome
    assert "apt-get install postgresql" in outcome.output, outcome  # then the harness starts one
    test_url = "postgresql+asyncpg://postgres:postgres@localhost:5432/acme_orders_test"
    assert test_url in outcome.output, outcome
    assert "my_service" not in outcome.output, outcome


@pytest.fixture(scope="module")
def server_programs() -> None:
    """PostgreSQL's server programs, which the harness starts a throwaway server with."""
    if shutil.which("initdb") or list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        return
    reason = "no PostgreSQL server programs (initdb) on this machine: `apt-get install postgresql`"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.mark.usefixtures("server_programs")
@pytest.mark.parametrize(
    "selection",
    # The whole suite with two workers sharing the server; serially, one module is enough.
    [["-n", "2"], ["tests/integration/test_user_endpoints.py"]],
    ids=["whole-suite-two-workers", "serial"],
)
def test_the_harness_starts_a_throwaway_server_where_none_runs(
    postgresql_project: Path, selection: list[str], tmp_path: Path
) -> None:
    # Nothing but pytest: no TEST_DATABASE_URL, and no server where DATABASE_URL points. The
    # temporary folder is the user's alone, as a root's may be: a server run as another user
    # must still reach its own folder.
    port = free_port()
    app_url = f"postgresql+asyncpg://postgres:postgres@127.0.0.1:{port}/acme_orders"
    private_tmp = tmp_path / "private-tmp"
    private_tmp.mkdir(mode=0o700)
    env = with_few_schema_examples(harness_env(DATABASE_URL=app_url, TMPDIR=str(private_tmp)))

    outcome = run_project_pytest(postgresql_project, IN_FILE_ORDER, *selection, env=env)

    assert_suite_passed(outcome)
    started = [match for line in outcome.output.splitlines() if (match := STARTED.search(line))]
    assert len(started) == 1, outcome  # once per run, shared by the workers
    started_port, pid, data = started[0].groups()
    assert int(started_port) == port, outcome
    assert not is_listening(port), outcome  # stopped after the run...
    assert not is_running(int(pid)), outcome  # by its PID...
    assert not Path(data).exists(), outcome  # and its data deleted


def test_the_test_database_is_named_after_database_url(
    postgresql_project: Path, postgres_server: str
) -> None:
    name = f"meta_{uuid.uuid4().hex[:12]}_shop"
    app_url = make_url(postgres_server).set(drivername="postgresql+asyncpg", database=name)
    # The app's database exists, so that a connection to it would succeed and be counted.
    execute(postgres_server, f'CREATE DATABASE "{name}"')
    env = with_few_schema_examples(
        harness_env(DATABASE_URL=app_url.render_as_string(hide_password=False))
    )
    try:
        outcome = run_project_pytest(postgresql_project, IN_FILE_ORDER, env=env)

        assert_suite_passed(outcome)
        databases = database_names(postgres_server)
        assert f"{name}_test" not in databases  # made for the run and dropped after it...
        (template,) = [found for found in databases if found.startswith(f"{name}_schema_")]
        assert template.endswith("_test")  # ...from the migrated template named after it
        sessions = sessions_of(postgres_server, name)
        assert not sessions, f"{sessions} connections to the app's own database"
    finally:
        execute(
            postgres_server,
            f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
            f'DROP DATABASE IF EXISTS "{name}_test" WITH (FORCE)',
        )


def sessions_of(server_url: str, database: str) -> int:
    """How many sessions the server has had on `database` (pg_stat_database, PostgreSQL 14+)."""
    query = "SELECT sessions FROM pg_stat_database WHERE datname = $1"
    sessions: list[int | None] = fetch_column(server_url, query, database)
    return next(iter(sessions), None) or 0


@pytest.mark.parametrize(
    ("variable", "url", "expected"),
    [
        (
            "TEST_DATABASE_URL",
            "postgresql://postgres@127.0.0.1:1/acme_orders_test",
            "postgresql://",
        ),
        ("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:1/acme_orders_test", "postgres://"),
        ("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/acme_orders", "postgresql://"),
        (
            "DATABASE_URL",
            "postgresql+psycopg2://postgres@127.0.0.1:1/acme",
            "postgresql+psycopg2://",
        ),
    ],
    ids=["test-postgresql", "test-postgres", "app-postgresql", "app-psycopg2"],
)
def test_a_url_without_an_async_driver_is_one_line_naming_the_fix(
    postgresql_project: Path, variable: str, url: str, expected: str
) -> None:
    outcome = run_project_pytest(postgresql_project, env=harness_env(**{variable: url}))

    assert outcome.returncode == pytest.ExitCode.USAGE_ERROR, outcome
    assert len(nonblank_lines(outcome)) == 1, outcome
    assert f"{variable} uses {expected} without an async driver" in outcome.output, outcome
    assert "postgresql+asyncpg://" in outcome.output, outcome
    assert "INTERNALERROR" not in outcome.output, outcome
    assert "psycopg" not in outcome.output.replace(expected, ""), outcome


def test_create_database_creates_the_apps_database(
    postgresql_project: Path, postgres_server: str
) -> None:
    name = f"meta_{uuid.uuid4().hex[:12]}_app"
    app_url = make_url(postgres_server).set(drivername="postgresql+asyncpg", database=name)
    env = harness_env(DATABASE_URL=app_url.render_as_string(hide_password=False))
    try:
        missing = run_in(postgresql_project, "alembic", "upgrade", "head", env=env)
        assert missing.returncode != 0, missing
        expected = (
            f"The database of DATABASE_URL, {app_url.render_as_string()}, does not exist: create "
            "the database with `uv run python -m src.create_database`, then run this again."
        )
        assert nonblank_lines(missing) == [expected], missing

        created = run_in(postgresql_project, "src.create_database", env=env)
        again = run_in(postgresql_project, "src.create_database", env=env)
        migrated = run_in(postgresql_project, "alembic", "upgrade", "head", env=env)

        assert created.returncode == 0, created
        assert "Created" in created.output, created
        assert name in database_names(postgres_server)
        assert again.returncode == 0, again
        assert "exists already" in again.output, again
        assert migrated.returncode == 0, migrated
    finally:
        execute(postgres_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("command", [["src.create_database"], ["alembic", "upgrade", "head"]])
def test_an_unreachable_app_server_is_one_line_naming_create_database(
    postgresql_project: Path, command: list[str]
) -> None:
    port = free_port()
    env = harness_env(DATABASE_URL=f"postgresql+asyncpg://postgres:secret@127.0.0.1:{port}/acme")

    outcome = run_in(postgresql_project, *command, env=env)

    assert outcome.returncode != 0, outcome
    lines = nonblank_lines(outcome)
    assert len(lines) == 1, outcome
    assert f"127.0.0.1:{port}" in lines[0], outcome
    assert "uv run python -m src.create_database" in lines[0], outcome
    assert "secret" not in lines[0], outcome


@pytest.mark.parametrize(
    ("database", "reason"),
    [
        ("acme_orders", "does not end in '_test'"),
        ("acme_orders_test@db.example.com", "is not this machine"),
    ],
    ids=["not-a-test-name", "remote-host"],
)
def test_guard_refuses_before_touching_anything(
    postgresql_project: Path, database: str, reason: str
) -> None:
    name, _, host = database.partition("@")
    url = f"postgresql+asyncpg://postgres@{host or '127.0.0.1:1'}/{name}"

    outcome = run_project_pytest(postgresql_project, env=project_env(TEST_DATABASE_URL=url))

    assert outcome.returncode == pytest.ExitCode.USAGE_ERROR, outcome
    assert reason in outcome.output, outcome
    assert "Cannot reach" not in outcome.output, outcome  # refused before connecting


def test_guard_refuses_the_apps_own_database(postgresql_project: Path) -> None:
    app_url = "postgresql+asyncpg://postgres@127.0.0.1:1/acme_orders_test"
    env = project_env(TEST_DATABASE_URL=app_url, DATABASE_URL=app_url)

    outcome = run_project_pytest(postgresql_project, env=env)

    assert outcome.returncode == pytest.ExitCode.USAGE_ERROR, outcome
    assert "the app's own database" in outcome.output, outcome


def test_compose_starts_the_database_the_app_expects(postgresql_project: Path) -> None:
    compose = yaml.safe_load((postgresql_project / "compose.yaml").read_text(encoding="utf-8"))
    app_default = make_url(default_database_url(postgresql_project))
    db, app = compose["services"]["db"], compose["services"]["app"]

    assert db["image"].startswith("postgres:")
    assert db["environment"] == {
        "POSTGRES_USER": app_default.username,
        "POSTGRES_PASSWORD": app_default.password,
        "POSTGRES_DB": app_default.database,
    }
    assert f"{app_default.port}:5432" in db["ports"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert any(volume.endswith(":/var/lib/postgresql/data") for volume in db["volumes"])
    assert app["build"] == "."
    assert make_url(app["environment"]["DATABASE_URL"]) == app_default.set(host="db")
    assert app["depends_on"]["db"]["condition"] == "service_healthy"


def test_sqlite_variant_has_no_compose_file(default_project: Path) -> None:
    assert not (default_project / "compose.yaml").exists()
