from pathlib import Path

import pytest

from tests.rendering import CUSTOM_ANSWERS, DEFAULT_ANSWERS, render, snapshot_working_tree

# Files the update tests copy into generated projects, not tests of this repository.
collect_ignore = ["owner_service"]


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


@pytest.fixture(params=["default", "custom"], scope="session")
def project(request: pytest.FixtureRequest) -> Path:
    """Each rendered answer set in turn."""
    path: Path = request.getfixturevalue(f"{request.param}_project")
    return path
