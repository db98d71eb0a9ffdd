"""The generated CI workflow, checked by parsing (no GitHub runner here): every command it runs
exists in the project it ships in. tests/test_fresh_environment.py runs its commands for real,
tests/test_supply_chain.py lints it."""

import re
import shlex
import tomllib
from pathlib import Path

import yaml

from tests.support.project_files import answers_of, dev_group, workflow, workflow_commands
from tests.support.rendering import DEFAULT_ANSWERS, render, run_snippet


def test_workflow_runs_lint_types_and_tests_with_uv(project: Path) -> None:
    jobs = workflow(project)["jobs"]
    python_version = answers_of(project)["python_version"]

    assert set(jobs) == {"lint", "types", "tests", "audit"}
    for name, job in jobs.items():
        uses = [step["uses"].split("@")[0] for step in job["steps"] if "uses" in step]
        assert uses == ["actions/checkout", "astral-sh/setup-uv"]
        setup_uv = next(step for step in job["steps"] if "setup-uv" in step.get("uses", ""))
        expected_python = "${{ matrix.python }}" if name == "tests" else python_version
        assert setup_uv["with"]["python-version"] == expected_python
        # The audit reads uv.lock and installs nothing (tests/test_supply_chain.py).
        first_command = "uv audit --locked" if name == "audit" else "uv sync --locked"
        assert job["steps"][len(uses)]["run"] == first_command
    commands = workflow_commands(project)
    for expected in ("uv run ruff check .", "uv run ruff format --check .", "uv run mypy"):
        assert expected in commands
    assert any(command.startswith("uv run pytest") for command in commands)


def test_the_tests_run_on_the_oldest_and_the_newest_supported_python(
    project: Path, template_dir: Path
) -> None:
    questions = yaml.safe_load((template_dir / "copier.yml").read_text(encoding="utf-8"))
    newest = questions["python_version"]["choices"][-1]
    oldest = answers_of(project)["python_version"]

    assert questions["newest_python"]["default"] == newest
    matrix = workflow(project)["jobs"]["tests"]["strategy"]["matrix"]
    assert matrix["python"] == list(dict.fromkeys([oldest, newest]))
    assert (project / ".python-version").read_text(encoding="utf-8") == f"{oldest}\n"


def test_every_workflow_command_exists_in_the_project(project: Path) -> None:
    tools = dev_group(project)
    for command in workflow_commands(project):
        words = shlex.split(command)
        assert words[0] == "uv", command
        if words[1] == "run":
            program = words[2]
            assert program in tools or (project / program).is_file(), command
        else:
            assert words[1:] in (["sync", "--locked"], ["audit", "--locked"]), command


def test_workflow_uses_each_tools_project_configuration(project: Path) -> None:
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert {"ruff", "mypy"} <= pyproject["tool"].keys()
    assert (project / "pytest.ini").is_file()


def test_postgresql_tests_job_runs_against_a_postgres_service(postgresql_project: Path) -> None:
    tests_job = workflow(postgresql_project)["jobs"]["tests"]
    service = tests_job["services"]["postgres"]
    # No TEST_DATABASE_URL: the suite tests where it does on a laptop, in the app's default
    # database with `_test` appended, as the harness itself decides it.
    decided = run_snippet(
        postgresql_project,
        "from tests.harness.db.database import database_under_test as d; "
        "print(d().configured.render_as_string(hide_password=False))",
    )
    assert decided.returncode == 0, decided.stderr
    url = decided.stdout.strip()
    match = re.fullmatch(r"postgresql\+asyncpg://(\w+):(\w+)@localhost:(\d+)/(\w+)", url)

    assert match, url
    user, password, port, database = match.groups()
    assert database.endswith("_test")
    assert "env" not in tests_job
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
