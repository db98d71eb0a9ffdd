"""The postgresql variant against a real server, the sqlite variant's suite on PostgreSQL too,
the guard and the unreachable-server message, and the compose file of local development."""

import asyncio
import shutil
from pathlib import Path

import asyncpg
import pytest
import yaml
from sqlalchemy import make_url

from tests.support.rendering import (
    assert_suite_passed,
    postgres_test_env,
    project_env,
    run_project_pytest,
    run_snippet,
    summary_counts,
)

ADDED_COLUMN = """    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    nickname: Mapped[str | None] = mapped_column(String(50))  # mutation: no migration
"""


def database_names(server_url: str) -> set[str]:
    async def fetch() -> set[str]:
        connection = await asyncpg.connect(server_url)
        try:
            return {
                row["datname"] for row in await connection.fetch("SELECT datname FROM pg_database")
            }
        finally:
            await connection.close()

    return asyncio.run(fetch())


def default_database_url(project: Path) -> str:
    """The rendered app's default DATABASE_URL, as its own code computes it."""
    completed = run_snippet(project, "from src.config import DEFAULT_DATABASE_URL as u; print(u)")
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip()


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "two-workers"])
def test_postgresql_variant_passes_its_suite_on_postgresql(
    postgresql_project: Path, postgres_server: str, workers: list[str]
) -> None:
    env = postgres_test_env(postgres_server)

    outcome = run_project_pytest(postgresql_project, "-p", "no:randomly", *workers, env=env)

    assert_suite_passed(outcome)
    base = str(make_url(env["TEST_DATABASE_URL"]).database)
    names = database_names(postgres_server)
    # A serial run creates the configured database on demand and keeps it (empty); workers
    # use databases of their own instead.
    assert (base in names) == (not workers)
    worker_prefix = base.removesuffix("_test") + "_gw"
    assert not [name for name in names if name.startswith(worker_prefix)]  # dropped after use


def test_sqlite_variant_passes_its_suite_on_postgresql(
    default_project: Path, postgres_server: str
) -> None:
    env = postgres_test_env(postgres_server)

    outcome = run_project_pytest(default_project, "-p", "no:randomly", "-n", "2", env=env)

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
    # Nothing listens on port 1: the connection is refused at once.
    env = project_env(TEST_DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:1/acme_test")

    outcome = run_project_pytest(postgresql_project, env=env)

    assert outcome.returncode == pytest.ExitCode.USAGE_ERROR, outcome
    assert "Cannot reach the test database server at 127.0.0.1:1" in outcome.output, outcome
    assert "docker compose up -d db" in outcome.output, outcome
    assert "Traceback" not in outcome.output, outcome


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
