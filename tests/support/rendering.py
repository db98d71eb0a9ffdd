"""Render the template from the working tree and run commands inside rendered projects."""

import ast
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from copier import run_copy
from sqlalchemy import make_url

REPO_ROOT = Path(__file__).resolve().parents[2]

# Not part of the template: VCS data, caches and local environments of this checkout.
_NOT_TEMPLATE = shutil.ignore_patterns(
    ".git",
    ".venv",
    ".uv",
    "__pycache__",
    "*.pyc",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    "site",
)

DEFAULT_ANSWERS: dict[str, Any] = {"project_name": "My Service"}
CUSTOM_ANSWERS: dict[str, Any] = {
    "project_name": "Acme Billing-Service 2",
    "description": 'Bills "customers" of Acme, with quotes and a backslash \\',
    "author_name": "Zoë Müller-Łukasiewicz",
    "author_email": "zoe.mueller@acme-billing.example.org",
    "python_version": "3.12",
}
POSTGRESQL_ANSWERS: dict[str, Any] = {"project_name": "Acme Orders", "database": "postgresql"}


def snapshot_working_tree(dst: Path, *, dirs_exist_ok: bool = False) -> Path:
    """Copy the working tree (uncommitted changes included) to a plain folder.

    Copier renders a git repository at its latest tag; a plain folder is rendered as it is.
    """
    shutil.copytree(REPO_ROOT, dst, ignore=_NOT_TEMPLATE, dirs_exist_ok=dirs_exist_ok)
    return dst


def render(
    template: Path,
    dst: Path,
    answers: Mapping[str, Any],
    *,
    only: Sequence[str] = (),
    vcs_ref: str | None = None,
) -> Path:
    """Render a project (of the template's version `vcs_ref`, in a git repository); with
    `only`, just those files (paths as rendered) and the answers."""
    exclude = ["*", "!.copier-answers.yml", *(f"!{path}" for path in only)] if only else []
    run_copy(
        str(template),
        str(dst),
        data=dict(answers),
        vcs_ref=vcs_ref,
        defaults=True,
        quiet=True,
        unsafe=False,
        exclude=exclude,
    )
    return dst


def project_env(**overrides: str) -> dict[str, str]:
    """The environment for a rendered project's commands: ours, minus what would leak in."""
    leaking = {"TEST_DATABASE_URL", "DATABASE_URL"}
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST_", "COV_")) and key not in leaking
    }
    # Bytecode goes to one cache outside the projects, shared by every rendered project and
    # process: left in place, PYTHONDONTWRITEBYTECODE (set on these machines) makes each run
    # compile FastAPI, SQLAlchemy and every plugin again, and pytest rewrite the asserts of
    # whole plugin packages, about 4 s of a 6 s start.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / "meta-pycache"))
    # Every rendered project type-checks against the same installed packages: one mypy cache
    # per test worker (never shared by two processes at once) spares each run after the first
    # about 10 s of re-reading FastAPI, SQLAlchemy and pydantic. mypy checks a cached module
    # again whenever its source differs, so the cache changes no result.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    env["MYPY_CACHE_DIR"] = str(Path(tempfile.gettempdir()) / f"meta-mypy-cache-{worker}")
    env.update(overrides)
    return env


# Requests per operation and mode of a rendered project's schema test in the runs that prove
# something other than what that test finds: an order, the workers, a database, the guide's
# commands. The test is derandomized, so every run of the same API sends the same requests: the
# project's own 25 are sent where they prove something, by the mutation checks and the fuzz test
# in both tiers, and in `make test` by the generated domains, the updates and the fresh installs.
FEW_SCHEMA_EXAMPLES = "2"


def with_few_schema_examples(env: dict[str, str]) -> dict[str, str]:
    """`env` for a run that proves something other than what the schema test finds."""
    return {**env, "SCHEMA_EXAMPLES": FEW_SCHEMA_EXAMPLES}


def with_all_schema_examples(env: dict[str, str]) -> dict[str, str]:
    """`env` without SCHEMA_EXAMPLES: the schema test sends the project's own count of requests.

    `make test-fast` lowers the count for every run; the runs that prove what the schema test
    finds do not inherit it.
    """
    return {key: value for key, value in env.items() if key != "SCHEMA_EXAMPLES"}


@dataclass
class Outcome:
    returncode: int
    output: str

    def __str__(self) -> str:
        return f"exit {self.returncode}\n{self.output}"


def run_in(project: Path, *args: str, env: Mapping[str, str] | None = None) -> Outcome:
    """Run a command in a rendered project with this interpreter's tools."""
    command = [sys.executable, "-m", *args]
    completed = subprocess.run(
        command,
        cwd=project,
        env=dict(env) if env is not None else project_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    return Outcome(completed.returncode, completed.stdout)


def run_snippet(
    project: Path, code: str, *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run Python code inside a rendered project; stdout and stderr kept apart for parsing."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=project,
        env=dict(env) if env is not None else project_env(),
        capture_output=True,
        text=True,
        check=False,
    )


def run_project_pytest(project: Path, *args: str, env: Mapping[str, str] | None = None) -> Outcome:
    # pytest's cache stays on, as in a project: the first SQLite run in a rendered project
    # builds the migrated schema's image there, and later runs, and copies, reuse it.
    return run_in(project, "pytest", "-q", *args, env=env)


def summary_counts(output: str) -> dict[str, int]:
    """Counts from pytest's closing line, e.g. {'passed': 21, 'failed': 1, 'deselected': 6}."""
    closing = [
        line for line in output.splitlines() if re.search(r"\d+ (passed|failed|error)", line)
    ]
    if not closing:
        return {}
    counts = re.findall(
        r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected|warnings?)", closing[-1]
    )
    return {word: int(number) for number, word in counts}


def assert_suite_passed(outcome: Outcome) -> None:
    """Every test the run collected passed: nothing failed, skipped, erred or warned.

    Tests left out by the project's own marker expression (the load tests) are deselected,
    which the closing line reports. The one skip allowed is the API contract's first run in a
    project, which writes the snapshot for its owner to commit.
    """
    assert outcome.returncode == 0, outcome
    counts = summary_counts(outcome.output)
    assert counts.get("passed", 0) > 0, outcome
    skipped = counts.pop("skipped", 0)
    assert skipped <= 1, outcome
    assert not skipped or CONTRACT_CREATED in outcome.output, outcome
    assert counts.keys() <= {"passed", "deselected"}, outcome


# The harness's second SQLite driver (the inline one is the default): both must isolate alike.
AIOSQLITE_URL = "sqlite+aiosqlite:///:memory:"
# A rendered suite's tests in their files' order (its pytest.ini shuffles them every run).
IN_FILE_ORDER = "--random-order-bucket=none"

# The skip reason of the API contract test when it writes a project's first snapshot.
CONTRACT_CREATED = "created: commit it (tests/openapi.json"


def postgres_test_env(server_url: str) -> dict[str, str]:
    """A project environment whose TEST_DATABASE_URL names a new `*_test` database on the
    meta-suite's server (the generated harness creates it)."""
    database = f"meta_{uuid.uuid4().hex[:12]}_test"
    url = make_url(server_url).set(drivername="postgresql+asyncpg", database=database)
    return project_env(TEST_DATABASE_URL=url.render_as_string(hide_password=False))


def collected_count(project: Path, path: str) -> int:
    """How many tests a run of `path` in the project's suite collects."""
    outcome = run_project_pytest(project, "--collect-only", path)
    match = re.search(r"(\d+) tests? collected", outcome.output)
    assert match, outcome
    return int(match.group(1))


def asked_questions(template: Path) -> dict[str, dict[str, Any]]:
    """copier.yml's questions a person answers for a project, in order: no settings, no
    derived values, none never asked (`ask: false`), none of a domain's (kind=domain)."""
    questions: dict[str, Any] = yaml.safe_load((template / "copier.yml").read_text("utf-8"))
    return {
        name: spec
        for name, spec in questions.items()
        if not name.startswith("_")
        and spec.get("when") is not False
        and spec.get("ask") is not False
        and "kind == 'domain'" not in str(spec.get("when"))
    }


def server_options(project: Path) -> list[str]:
    """The uvicorn options a rendered project serves with (SERVER_OPTIONS of its harness)."""
    tree = ast.parse((project / "tests/harness/live_server.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "SERVER_OPTIONS":
            # A tuple of strings, or of starred pairs: *("--option", "value"),
            assert isinstance(node.value, ast.Tuple), "SERVER_OPTIONS must be a tuple literal"
            options: list[str] = []
            for element in node.value.elts:
                if isinstance(element, ast.Starred):
                    options.extend(ast.literal_eval(element.value))
                else:
                    options.append(ast.literal_eval(element))
            return options
    raise AssertionError("tests/harness/live_server.py defines no SERVER_OPTIONS")
