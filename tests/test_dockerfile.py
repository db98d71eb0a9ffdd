"""The generated Dockerfile and .dockerignore, checked by parsing (no Docker engine here): every
file the image copies exists in the project, and the image runs as production needs."""

import re
from pathlib import Path

from tests.support.project_files import (
    answers_of,
    copied_sources,
    dockerignore,
    instructions_of,
    stages,
)


def test_dockerfile_is_multi_stage_on_the_projects_python(project: Path) -> None:
    python_version = answers_of(project)["python_version"]
    builder, runtime = stages(project)

    base_image = runtime[0][1]
    assert re.fullmatch(
        rf"python:{re.escape(python_version)}\.\d+-slim@sha256:[0-9a-f]{{64}}", base_image
    )
    assert builder[0][1] == f"{base_image} AS builder"
    assert ("RUN", "--mount=type=cache,target=/root/.cache/uv uv sync --locked --no-dev") in builder
    assert not any("uv" in arguments.split() for keyword, arguments in runtime if keyword == "RUN")


def test_dockerfile_runs_the_app_as_a_non_root_user(project: Path) -> None:
    runtime = stages(project)[-1]
    users = instructions_of(runtime, "USER")
    user_creation = [command for command in instructions_of(runtime, "RUN") if "useradd" in command]

    assert users
    assert users[-1] not in {"root", "0"}
    assert user_creation
    assert user_creation[0].endswith(f" {users[-1]}")
    (command,) = instructions_of(runtime, "CMD")
    assert command.startswith('["uvicorn", "src.main:app", "--host", "0.0.0.0", "--port", "8000"')
    assert (project / "src/main.py").is_file()


def test_dockerfile_copies_only_what_the_project_has(project: Path) -> None:
    sources = copied_sources(project)
    readme = (project / "README.md").read_text(encoding="utf-8")

    assert sources == ["pyproject.toml", "uv.lock", "src", "alembic.ini", "migrations"]
    for source in sources:
        # uv.lock is written by the first `uv sync`, which the README tells the owner to commit.
        exists = (project / source).exists() or (source == "uv.lock" and "uv.lock" in readme)
        assert exists, source
    assert not dockerignore(project) & set(sources)


def test_dockerignore_keeps_local_state_and_secrets_out(project: Path) -> None:
    required = {".git", ".venv", ".env", "**/__pycache__", ".pytest_cache", ".mypy_cache"}
    assert required | {".ruff_cache", "tests"} <= dockerignore(project)


def test_sqlite_image_keeps_its_database_in_a_writable_volume(
    default_project: Path, postgresql_project: Path
) -> None:
    sqlite_runtime = stages(default_project)[-1]

    assert instructions_of(sqlite_runtime, "VOLUME") == ["/app/data"]
    assert "DATABASE_URL=sqlite+inline:////app/data/app.db" in instructions_of(
        sqlite_runtime, "ENV"
    )
    assert "mkdir /app/data && chown app:app /app/data" in instructions_of(sqlite_runtime, "RUN")
    assert instructions_of(stages(postgresql_project)[-1], "VOLUME") == []
