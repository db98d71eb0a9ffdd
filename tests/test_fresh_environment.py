"""The generated README's setup commands, run for real in fresh environments.

The rest of the meta-suite runs rendered projects with this repository's own environment, which
would hide a dependency the generated pyproject.toml forgot. Here each variant is installed from
scratch, with uv (then every command of its CI workflow, then the app is started) and with plain
pip. Slow (package installs): deselect locally with `-m "not fresh_env"`; CI runs them.
"""

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import make_url

from tests.support.project_files import workflow_commands
from tests.support.rendering import (
    REPO_ROOT,
    Outcome,
    assert_suite_passed,
    project_env,
    render,
    snapshot_working_tree,
    summary_counts,
)
from tests.support.servers import execute, free_port

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
        pytest.fail("uv is not available: run the meta-suite with `make test` (or `uv run pytest`)")
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
    execute(
        admin.set(drivername="postgresql").render_as_string(hide_password=False),
        f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)',
        f'CREATE DATABASE "{database}"',
    )
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
            # pytest-cov passes a total that rounds up to the minimum (89.5 to 90) and still
            # prints FAIL in the owner's CI log: the total must reach it unrounded.
            assert "FAIL Required test coverage" not in outcome.output, outcome
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


DEBIAN_PYTHON = Path("/usr/bin/python3")
MACHINE_NETWORK = re.compile(r"SSL_CERT|CA_BUNDLE|_CERT$|PROXY", re.IGNORECASE)


def quick_start_commands() -> list[str]:
    """The commands of the README's Quick start, in order, comments left out."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_the_readmes_quick_start_works_on_a_pep_668_system_python(tmp_path: Path) -> None:
    # As a newcomer runs it: the system Python first on PATH (on Debian it refuses
    # `pip install`), no uv, an empty home directory. The download caches are shared with the
    # rest of the suite, which changes what is fetched from PyPI, not what is installed.
    if not DEBIAN_PYTHON.is_file():
        pytest.skip(f"no system Python at {DEBIAN_PYTHON}")
    checkout = snapshot_working_tree(tmp_path / "template")
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "checkout"]):
        subprocess.run(
            ["git", "-c", "user.name=ci", "-c", "user.email=ci@localhost", *command],
            cwd=checkout,
            check=True,
        )
    home = tmp_path / "home"
    home.mkdir()
    env = {
        # The machine's own network settings (certificate authorities, proxies), as any shell
        # on it has them.
        **{key: value for key, value in os.environ.items() if MACHINE_NETWORK.search(key)},
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "UV_CACHE_DIR": cache_dir("UV_CACHE_DIR", "uv"),
        "PIP_CACHE_DIR": cache_dir("PIP_CACHE_DIR", "pip"),
        # A download would mean uv did not take the Python that .python-version names.
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_NO_PROGRESS": "1",
    }
    install_uv, scaffold_and_test = quick_start_commands()[:2]

    outcome = run(
        checkout, ["bash", "-euo", "pipefail", "-c", f"{install_uv}\n{scaffold_and_test}"], env
    )

    assert_whole_suite_passed(outcome)
    assert (home / ".local" / "uv" / "bin" / "uv").is_file(), outcome
    service = tmp_path / "my-service"
    assert (service / ".git").is_dir()
    assert Path(os.path.realpath(service / ".venv/bin/python")).parent == DEBIAN_PYTHON.parent


def cache_dir(variable: str, tool: str) -> str:
    return os.environ.get(variable) or str(Path.home() / ".cache" / tool)


PYTHON_QUESTION = yaml.safe_load((REPO_ROOT / "copier.yml").read_text(encoding="utf-8"))[
    "python_version"
]
# The default's projects run above and in the rest of the meta-suite.
OTHER_PYTHONS = [v for v in PYTHON_QUESTION["choices"] if v != PYTHON_QUESTION["default"]]


@pytest.mark.parametrize("python_version", OTHER_PYTHONS)
def test_every_python_version_syncs_without_a_download_and_passes(
    python_version: str, template_dir: Path, tmp_path: Path
) -> None:
    uv = uv_executable()
    env = fresh_env("sqlite", "unused_test")
    del env["UV_PYTHON"]  # .python-version decides, as on the owner's machine
    project = render(
        template_dir,
        tmp_path / "svc",
        {"project_name": "Versioned Service", "python_version": python_version},
    )
    # Inside the project, where pyenv (if any) reads .python-version too.
    found = run(project, [uv, "python", "find"], env)
    if found.returncode != 0:
        pytest.skip(f"no Python {python_version} on this machine (`uv python find` found none)")

    synced = run(project, [uv, "sync"], env)

    assert synced.returncode == 0, synced
    version = run(project, [str(project / ".venv/bin/python"), "--version"], env)
    assert version.output.splitlines()[-1].startswith(f"Python {python_version}."), version
    assert_whole_suite_passed(run(project, [uv, "run", "pytest", "-p", "no:cacheprovider"], env))
    for command in (["ruff", "check", "."], ["ruff", "format", "--check", "."], ["mypy"]):
        outcome = run(project, [uv, "run", *command], env)
        assert outcome.returncode == 0, outcome
