import os
from pathlib import Path

import pytest
import yaml

from tests.support.rendering import (
    CUSTOM_ANSWERS,
    DEFAULT_ANSWERS,
    POSTGRESQL_ANSWERS,
    postgres_test_env,
    project_env,
    render,
    snapshot_working_tree,
)

# Files the update tests copy into generated projects, not tests of this repository.
collect_ignore = ["update/owner_service"]


@pytest.fixture(scope="session")
def template_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template as it is in the working tree, copied once per test session (and worker)."""
    return snapshot_working_tree(tmp_path_factory.mktemp("template") / "src")


@pytest.fixture(scope="session")
def default_project(template_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(template_dir, tmp_path_factory.mktemp("default") / "my-service", DEFAULT_ANSWERS)


@pytest.fixture(scope="session")
def custom_project(template_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(template_dir, tmp_path_factory.mktemp("custom") / "acme", CUSTOM_ANSWERS)


@pytest.fixture(scope="session")
def postgresql_project(template_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(template_dir, tmp_path_factory.mktemp("pg") / "acme-orders", POSTGRESQL_ANSWERS)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """A superuser URL of the PostgreSQL server `scripts/postgres.sh start` runs (CI runs one)."""
    url = os.environ.get("META_POSTGRES_URL")
    if url:
        return url
    if os.environ.get("CI") == "true":
        pytest.fail("META_POSTGRES_URL is not set: CI must start PostgreSQL (.ci/run does).")
    pytest.skip('no PostgreSQL: run `eval "$(bash scripts/postgres.sh start)"` to include this')


@pytest.fixture
def suite_env(project: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    """The environment for a rendered project's suite; a PostgreSQL project gets a server."""
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    if answers["database"] != "postgresql":
        return project_env()
    return postgres_test_env(request.getfixturevalue("postgres_server"))


@pytest.fixture(params=["default", "custom", "postgresql"], scope="session")
def project(request: pytest.FixtureRequest) -> Path:
    """Each rendered answer set in turn."""
    path: Path = request.getfixturevalue(f"{request.param}_project")
    return path
