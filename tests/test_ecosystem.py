"""The generated project's tooling files, checked by parsing: CI workflow, container, pre-commit.

No Docker engine or GitHub runner is available here, so each file is checked against the
project it ships in: every command it runs and every file it copies must exist there.
test_fresh_environment.py then runs the workflow's commands for real.
"""

import re
import shlex
import tomllib
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement

from tests.rendering import DEFAULT_ANSWERS, render

POSTGRESQL_ANSWERS = {**DEFAULT_ANSWERS, "database": "postgresql"}


@pytest.fixture(scope="module")
def postgresql_project(template_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(template_dir, tmp_path_factory.mktemp("pg") / "my-service", POSTGRESQL_ANSWERS)


@pytest.fixture(params=["default", "custom", "postgresql"], scope="module")
def any_project(request: pytest.FixtureRequest) -> Path:
    path: Path = request.getfixturevalue(f"{request.param}_project")
    return path


def answers_of(project: Path) -> dict[str, Any]:
    answers: dict[str, Any] = yaml.safe_load((project / ".copier-answers.yml").read_text())
    return answers


def dev_group(project: Path) -> set[str]:
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    return {Requirement(spec).name for spec in pyproject["dependency-groups"]["dev"]}


def workflow(project: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    return loaded


def workflow_commands(project: Path) -> list[str]:
    """Every shell command of every `run:` step, in job order (`&&` chains split)."""
    commands = []
    for job in workflow(project)["jobs"].values():
        for step in job["steps"]:
            for line in step.get("run", "").splitlines():
                commands += [part.strip() for part in line.split("&&") if part.strip()]
    return commands


def test_workflow_runs_lint_types_and_tests_with_uv(any_project: Path) -> None:
    jobs = workflow(any_project)["jobs"]
    python_version = answers_of(any_project)["python_version"]

    assert set(jobs) == {"lint", "types", "tests", "audit"}
    for name, job in jobs.items():
        uses = [step["uses"].split("@")[0] for step in job["steps"] if "uses" in step]
        assert uses == ["actions/checkout", "astral-sh/setup-uv"]
        setup_uv = next(step for step in job["steps"] if "setup-uv" in step.get("uses", ""))
        assert setup_uv["with"]["python-version"] == python_version
        # The audit reads uv.lock and installs nothing (tests/test_supply_chain.py).
        first_command = "uv audit --locked" if name == "audit" else "uv sync --locked"
        assert job["steps"][len(uses)]["run"] == first_command
    commands = workflow_commands(any_project)
    for expected in ("uv run ruff check .", "uv run ruff format --check .", "uv run mypy"):
        assert expected in commands
    assert any(command.startswith("uv run pytest") for command in commands)


def test_every_workflow_command_exists_in_the_project(any_project: Path) -> None:
    tools = dev_group(any_project)
    for command in workflow_commands(any_project):
        words = shlex.split(command)
        assert words[0] == "uv", command
        if words[1] == "run":
            program = words[2]
            assert program in tools or (any_project / program).is_file(), command
        else:
            assert words[1:] in (["sync", "--locked"], ["audit", "--locked"]), command


def test_workflow_uses_each_tools_project_configuration(any_project: Path) -> None:
    pyproject = tomllib.loads((any_project / "pyproject.toml").read_text(encoding="utf-8"))
    assert {"ruff", "mypy"} <= pyproject["tool"].keys()
    assert (any_project / "pytest.ini").is_file()


def test_postgresql_tests_job_runs_against_a_postgres_service(postgresql_project: Path) -> None:
    tests_job = workflow(postgresql_project)["jobs"]["tests"]
    service = tests_job["services"]["postgres"]
    url = tests_job["env"]["TEST_DATABASE_URL"]
    match = re.fullmatch(r"postgresql\+asyncpg://(\w+):(\w+)@localhost:(\d+)/(\w+)", url)

    assert match, url
    user, password, port, database = match.groups()
    assert database.endswith("_test")
    assert service["image"].startswith("postgres:")
    assert service["env"] == {
        "POSTGRES_USER": user,
        "POSTGRES_PASSWORD": password,
        "POSTGRES_DB": database,
    }
    assert f"{port}:5432" in service["ports"]
    assert "--health-cmd" in service["options"]


def test_sqlite_tests_job_needs_no_service(default_project: Path) -> None:
    tests_job = workflow(default_project)["jobs"]["tests"]
    assert "services" not in tests_job
    assert "TEST_DATABASE_URL" not in tests_job.get("env", {})


def test_ci_none_renders_no_workflow(template_dir: Path, tmp_path: Path) -> None:
    project = render(template_dir, tmp_path / "no-ci", {**DEFAULT_ANSWERS, "ci": "none"})

    assert answers_of(project)["ci"] == "none"
    assert not (project / ".github").exists()
    assert ".github" not in (project / "README.md").read_text(encoding="utf-8")


def dockerfile_instructions(project: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    text = (project / "Dockerfile").read_text(encoding="utf-8")
    logical = re.sub(r"\\\n\s*", " ", text)
    instructions = []
    for line in logical.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, arguments = line.strip().partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def stages(project: Path) -> list[list[tuple[str, str]]]:
    split: list[list[tuple[str, str]]] = []
    for instruction in dockerfile_instructions(project):
        if instruction[0] == "FROM":
            split.append([])
        split[-1].append(instruction)
    return split


def test_dockerfile_is_multi_stage_on_the_projects_python(any_project: Path) -> None:
    python_version = answers_of(any_project)["python_version"]
    builder, runtime = stages(any_project)

    base_image = runtime[0][1]
    assert re.fullmatch(
        rf"python:{re.escape(python_version)}\.\d+-slim@sha256:[0-9a-f]{{64}}", base_image
    )
    assert builder[0][1] == f"{base_image} AS builder"
    assert ("RUN", "--mount=type=cache,target=/root/.cache/uv uv sync --locked --no-dev") in builder
    assert not any("uv" in arguments.split() for keyword, arguments in runtime if keyword == "RUN")


def test_dockerfile_runs_the_app_as_a_non_root_user(any_project: Path) -> None:
    runtime = stages(any_project)[-1]
    users = instructions_of(runtime, "USER")
    user_creation = [command for command in instructions_of(runtime, "RUN") if "useradd" in command]

    assert users
    assert users[-1] not in {"root", "0"}
    assert user_creation
    assert user_creation[0].endswith(f" {users[-1]}")
    (command,) = instructions_of(runtime, "CMD")
    assert command.startswith('["uvicorn", "src.main:app", "--host", "0.0.0.0", "--port", "8000"')
    assert (any_project / "src/main.py").is_file()


def copied_sources(project: Path) -> list[str]:
    sources = []
    for keyword, arguments in dockerfile_instructions(project):
        words = arguments.split()
        if keyword == "COPY" and not words[0].startswith("--from="):
            sources += words[:-1]
    return sources


def dockerignore(project: Path) -> set[str]:
    lines = (project / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def test_dockerfile_copies_only_what_the_project_has(any_project: Path) -> None:
    sources = copied_sources(any_project)
    readme = (any_project / "README.md").read_text(encoding="utf-8")

    assert sources == ["pyproject.toml", "uv.lock", "src", "alembic.ini", "migrations"]
    for source in sources:
        # uv.lock is written by the first `uv sync`, which the README tells the owner to commit.
        exists = (any_project / source).exists() or (source == "uv.lock" and "uv.lock" in readme)
        assert exists, source
    assert not dockerignore(any_project) & set(sources)


def test_dockerignore_keeps_local_state_and_secrets_out(any_project: Path) -> None:
    required = {".git", ".venv", ".env", "**/__pycache__", ".pytest_cache", ".mypy_cache"}
    assert required | {".ruff_cache", "tests"} <= dockerignore(any_project)


def instructions_of(stage: list[tuple[str, str]], keyword: str) -> list[str]:
    return [arguments for name, arguments in stage if name == keyword]


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


STANDARD_HOOKS = {
    "https://github.com/pre-commit/pre-commit-hooks": {
        "check-merge-conflict",
        "check-yaml",
        "check-toml",
        "end-of-file-fixer",
        "trailing-whitespace",
    },
    "https://github.com/astral-sh/ruff-pre-commit": {"ruff-check", "ruff-format"},
}


def test_pre_commit_runs_ruff_and_the_standard_hygiene_hooks(any_project: Path) -> None:
    config = yaml.safe_load((any_project / ".pre-commit-config.yaml").read_text())
    hooks = {repo["repo"]: {hook["id"] for hook in repo["hooks"]} for repo in config["repos"]}
    revs = {repo["repo"]: repo["rev"] for repo in config["repos"]}

    assert hooks == STANDARD_HOOKS
    assert all(re.fullmatch(r"v\d+\.\d+\.\d+", rev) for rev in revs.values())
    # pre-commit's ruff is the ruff this template's own checks run with.
    assert revs["https://github.com/astral-sh/ruff-pre-commit"] == f"v{version('ruff')}"
