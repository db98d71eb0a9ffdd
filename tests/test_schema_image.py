"""The migrated schema is built once and copied (the generated tests/harness/db/schema_image.py):
a changed migration builds a new image, on SQLite (a file in pytest's cache) and on PostgreSQL
(a template database), and the older one goes. A fingerprint blind to the change would keep
serving the old schema: the suite's copy check catches that."""

import shutil
from pathlib import Path

import pytest

from tests.support.mutants import replace_once
from tests.support.rendering import (
    IN_FILE_ORDER,
    Outcome,
    postgres_test_env,
    project_env,
    run_project_pytest,
)
from tests.support.servers import fetch_column

COPY_CHECK = "tests/test_migrations.py::test_the_test_database_is_what_the_migrations_build"
MIGRATION = "migrations/versions/0001_create_users.py"
NAME_COLUMN = '        sa.Column("name", sa.String(length=100), nullable=False),\n'
NEW_COLUMN = '        sa.Column("nickname", sa.String(length=30), nullable=True),\n'
# The mutant hashes the migrations' file names only: an edited migration keeps its fingerprint.
CONTENT_HASHING = ('        digest.update(path.read_bytes() + b"\\0")\n', "")


def run_copy_check(project: Path, env: dict[str, str]) -> Outcome:
    return run_project_pytest(project, IN_FILE_ORDER, COPY_CHECK, env=env)


def sqlite_images(project: Path) -> list[str]:
    return sorted(path.name for path in project.glob(".pytest_cache/d/harness-schema/*"))


@pytest.mark.parametrize("fingerprint", ["hashes contents", "mutant: names only"])
def test_an_edited_migration_builds_a_new_sqlite_image(
    default_project: Path, tmp_path: Path, fingerprint: str
) -> None:
    project = shutil.copytree(default_project, tmp_path / "service")
    if fingerprint.startswith("mutant"):
        replace_once(project, "tests/harness/db/schema_image.py", *CONTENT_HASHING)
    env = project_env()
    first = run_copy_check(project, env)
    assert first.returncode == 0, first
    (first_image,) = sqlite_images(project)

    replace_once(project, MIGRATION, NAME_COLUMN, NAME_COLUMN + NEW_COLUMN)
    second = run_copy_check(project, env)

    if fingerprint.startswith("mutant"):
        assert second.returncode == 1, second
        assert f"FAILED {COPY_CHECK}" in second.output, second
        return
    assert second.returncode == 0, second
    (second_image,) = sqlite_images(project)  # the older image is gone
    assert second_image != first_image


def test_an_edited_migration_builds_a_new_postgresql_template(
    postgresql_project: Path, tmp_path: Path, postgres_server: str
) -> None:
    project = shutil.copytree(postgresql_project, tmp_path / "service")
    env = postgres_test_env(postgres_server)
    database = env["TEST_DATABASE_URL"].rsplit("/", 1)[1].removesuffix("_test")

    def templates() -> list[str]:
        return sorted(
            name
            for name in fetch_column(postgres_server, "SELECT datname FROM pg_database")
            if name.startswith(f"{database}_schema_")
        )

    first = run_copy_check(project, env)
    assert first.returncode == 0, first
    (first_template,) = templates()

    replace_once(project, MIGRATION, NAME_COLUMN, NAME_COLUMN + NEW_COLUMN)
    second = run_copy_check(project, env)

    assert second.returncode == 0, second
    (second_template,) = templates()  # the older template is gone
    assert second_template != first_template
    assert sqlite_images(project) == []  # PostgreSQL's image is the template alone


@pytest.mark.parametrize("damage", [b"", b"not a database"], ids=["emptied", "overwritten"])
def test_a_damaged_sqlite_image_is_built_again(
    default_project: Path, tmp_path: Path, damage: bytes
) -> None:
    project = shutil.copytree(default_project, tmp_path / "service")
    env = project_env()
    assert run_copy_check(project, env).returncode == 0
    (image_name,) = sqlite_images(project)
    image = project / ".pytest_cache/d/harness-schema" / image_name
    image.write_bytes(damage)

    outcome = run_copy_check(project, env)

    assert outcome.returncode == 0, outcome
    assert image.read_bytes().startswith(b"SQLite format 3\0")
