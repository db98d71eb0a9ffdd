"""The generated README's setup commands, run for real in fresh environments.

The rest of the meta-suite runs rendered projects with this repository's own environment, which
would hide a dependency the generated pyproject.toml forgot. Here each variant is installed from
scratch, with uv (then every command of its CI workflow, then the app is started) and with plain
pip. Slow (package installs): deselect locally with `-m "not fresh_env"`; CI runs them.
"""

import asyncio
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests.support.project_files import workflow_commands
from tests.support.rendering import (
    Outcome,
    assert_suite_passed,
    project_env,
    render,
    summary_counts,
)

pytestmark = pytest.mark.fresh_env

# The interpreter this checkout runs on, outside any virtual environment: the system Python.
SYSTEM_PYTHON = str(Path(sys.base_prefix, "bin", "python{}.{}".format(*sys.version_info)))
UV_COMMANDS = [
    "uv sync",
    "uv run pytest",
    "uv run alembic upgrade head",
    "uv run uvicorn src.main:app",
]
PIP_COMMANDS = [
    "python3 -m venv .venv",
    "python -m pip install --upgrade pip",
    "pip install -e . --group dev",
]
# Every variant passes its whole suite; fewer means tests went missing.
MINIMUM_TESTS = 12


def uv_executable() -> str:
    found = os.environ.get("UV") or shutil.which("uv")
    if not found:
        pytest.fail("uv is not available: run the meta-suite with `python3 -m uv run pytest`")
    return found


def fresh_postgres_url(database: str) -> str:
    """A fresh, empty `<database>` on the server META_POSTGRES_URL points to."""
    admin_url = os.environ.get("META_POSTGRES_URL")
    if not admin_url:
        reason = "META_POSTGRES_URL is not set: no PostgreSQL server for the postgresql variant"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    admin = make_url(admin_url)

    async def recreate() -> None:
        connection = await asyncpg.connect(
            admin.set(drivername="postgresql").render_as_string(hide_password=False)
        )
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            await connection.execute(f'CREATE DATABASE "{database}"')
        finally:
            await connection.close()

    asyncio.run(recreate())
    test_url = admin.set(drivername="postgresql+asyncpg", database=database)
    return test_url.render_as_string(hide_password=False)


def fresh_env(database: str, test_database: str) -> dict[str, str]:
    """No trace of this checkout's virtual environment; uv on the system Python, no downloads."""
    env = project_env(UV_PYTHON=SYSTEM_PYTHON, UV_PYTHON_DOWNLOADS="never", UV_NO_PROGRESS="1")
    for key in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "UV_PYTHON_PREFERENCE"):
        env.pop(key, None)
    env["PATH"] = os.pathsep.join(
        entry for entry in env["PATH"].split(os.pathsep) if not entry.startswith(sys.prefix)
    )
    if database == "postgresql":
        # Two databases, as in real life: the guard refuses to test on the app's own one.
        env["TEST_DATABASE_URL"] = fresh_postgres_url(test_database)
        env["DATABASE_URL"] = fresh_postgres_url(test_database.removesuffix("_test"))
    return env


def run(project: Path, command: list[str], env: dict[str, str]) -> Outcome:
    completed = subprocess.run(
        command,
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
        timeout=600,
    )
    return Outcome(completed.returncode, f"$ {shlex.join(command)}\n{completed.stdout}")


def assert_whole_suite_passed(outcome: Outcome) -> None:
    assert_suite_passed(outcome)
    assert summary_counts(outcome.output)["passed"] >= MINIMUM_TESTS, outcome


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def get_health(port: int) -> dict[str, str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
        assert response.status == 200
        body: dict[str, str] = json.loads(response.read())
        return body


@pytest.fixture
def served() -> Iterator[list[subprocess.Popen[str]]]:
    """Servers a test starts; stopped (with their children) however the test ends."""
    servers: list[subprocess.Popen[str]] = []
    yield servers
    for server in servers:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


def documented_project(
    template_dir: Path,
    tmp_path: Path,
    name: str,
    database: str,
    test_database: str,
    commands: Sequence[str],
) -> tuple[Path, dict[str, str]]:
    """A rendered project whose README gives `commands`, and the fresh environment to run them."""
    project = render(template_dir, tmp_path / "svc", {"project_name": name, "database": database})
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert all(command in readme for command in commands)
    return project, fresh_env(database, test_database)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_uv_setup_ci_workflow_and_server_work_from_scratch(
    database: str,
    template_dir: Path,
    tmp_path: Path,
    served: list[subprocess.Popen[str]],
) -> None:
    project, env = documented_project(
        template_dir, tmp_path, "Fresh Service", database, "fresh_uv_test", UV_COMMANDS
    )
    uv = uv_executable()

    synced = run(project, [uv, "sync"], env)
    assert synced.returncode == 0, synced
    assert (project / "uv.lock").is_file()
    assert Path(os.path.realpath(project / ".venv/bin/python")) == Path(
        os.path.realpath(SYSTEM_PYTHON)
    )

    # The CI workflow's commands, in order, as its runner would run them.
    for command in workflow_commands(project):
        words = shlex.split(command)
        if words[:2] == ["uv", "audit"]:  # asks a vulnerability database online: parsed only
            continue
        is_load_run = words[:3] == ["uv", "run", "pytest"] and "load" in words
        if is_load_run:  # collected here; tests/test_load.py runs them, on the same code
            words += ["--collect-only", "-q"]
        outcome = run(project, [uv, *words[1:]], env)
        if is_load_run:
            assert outcome.returncode == 0, outcome
            assert re.search(r"^[1-9]\d*/\d+ tests collected", outcome.output, re.MULTILINE), (
                outcome
            )
        elif words[:3] == ["uv", "run", "pytest"]:
            assert_whole_suite_passed(outcome)
        else:
            assert outcome.returncode == 0, outcome

    # As the README says: the app's database gets its tables before the app is served.
    migrated = run(project, [uv, "run", "alembic", "upgrade", "head"], env)
    assert migrated.returncode == 0, migrated
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [uv, "run", "uvicorn", "src.main:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=project,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    served.append(server)
    deadline = time.monotonic() + 60
    health = None
    while health is None and server.poll() is None and time.monotonic() < deadline:
        try:
            health = get_health(port)
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.25)
    log.close()
    assert health == {"status": "ok", "database": "ok"}, (tmp_path / "server.log").read_text()


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_plain_pip_setup_works_from_scratch(
    database: str, template_dir: Path, tmp_path: Path
) -> None:
    project, env = documented_project(
        template_dir, tmp_path, "Pip Service", database, "fresh_pip_test", PIP_COMMANDS
    )
    python = str(project / ".venv/bin/python")

    for command in (
        [SYSTEM_PYTHON, "-m", "venv", ".venv"],
        [python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"],
        [python, "-m", "pip", "install", "--quiet", "-e", ".", "--group", "dev"],
    ):
        outcome = run(project, command, env)
        assert outcome.returncode == 0, outcome

    pytest_command = [python, "-m", "pytest", "-p", "no:cacheprovider"]
    if database == "sqlite":
        assert_whole_suite_passed(run(project, pytest_command, env))
    else:
        # The PostgreSQL suite passes in the uv setup above and in tests/test_postgresql.py;
        # what pip adds is the install, so the suite must import and collect.
        collected = run(project, [*pytest_command, "--collect-only", "-q"], env)
        assert collected.returncode == 0, collected
        counted = re.search(r"^[1-9]\d*/\d+ tests collected", collected.output, re.MULTILINE)
        assert counted, collected
