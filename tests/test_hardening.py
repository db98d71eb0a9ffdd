"""The generated service's hardening: fuzzing finds no 5xx, strict tools, able-to-fail tests."""

import shutil
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.support.mutants import mutate, replace_once
from tests.support.rendering import REPO_ROOT, run_project_pytest, summary_counts

SCHEMA_TEST = "tests/integration/test_api_schema.py"
# 10 schemathesis tests (5 user operations x valid and invalid requests, plus /health): at
# 25 examples each, well over 200 requests unless generation silently stops working.
MIN_GENERATED_REQUESTS = 200


def fuzz_figures(project: Path, report: Path, env: dict[str, str]) -> tuple[int, int]:
    """Run the schemathesis test; return (requests sent, 5xx responses) from its JUnit report."""
    outcome = run_project_pytest(
        project, SCHEMA_TEST, f"--junitxml={report}", "-p", "no:randomly", env=env
    )
    assert outcome.returncode == 0, outcome
    totals = {"requests": 0, "server_errors": 0}
    for prop in ET.parse(report).iter("property"):  # noqa: S314 (our own report)
        name = prop.get("name", "")
        if name in totals:
            totals[name] += int(prop.get("value", "0"))
    return totals["requests"], totals["server_errors"]


def test_schemathesis_finds_no_server_error(
    project: Path, tmp_path: Path, suite_env: dict[str, str]
) -> None:
    requests, server_errors = fuzz_figures(project, tmp_path / "report.xml", suite_env)

    assert requests >= MIN_GENERATED_REQUESTS
    assert server_errors == 0


def test_ruff_rules_and_strict_mypy_match_the_repository(project: Path) -> None:
    # The repository lints the template's plain .py files with its own [tool.ruff]: the
    # rendered project must lint with the same rules, or the two drift apart.
    ours = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    theirs = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["tool"]

    assert theirs["ruff"]["lint"] == ours["ruff"]["lint"]
    assert len(theirs["ruff"]["lint"]["select"]) >= 30
    assert theirs["mypy"]["strict"] is True
    assert set(theirs["mypy"]["files"]) == {"src", "tests", "migrations"}


NO_CHANGE_ELSEWHERE: tuple[str, str, str] | None = None
CHECK_IN_MIGRATION = (
    "migrations/versions/0001_create_users.py",
    '        sa.CheckConstraint("email = lower(email)", name=op.f("ck_users_email_lower_case")),\n',
    "",
)


@pytest.mark.parametrize(
    ("relative", "old", "new", "suite", "also"),
    [
        pytest.param(
            "src/users/router.py",
            "Path(ge=1, le=MAX_BIGINT)",
            "Path(ge=1)",
            SCHEMA_TEST,
            NO_CHANGE_ELSEWHERE,
            id="ids-beyond-64-bit-reach-the-database",
        ),
        pytest.param(
            "src/users/schemas.py",
            '    model_config = ConfigDict(extra="forbid")\n',
            "    model_config = ConfigDict()\n",
            "tests/integration/test_bad_input.py",
            NO_CHANGE_ELSEWHERE,
            id="unknown-fields-accepted",
        ),
        pytest.param(
            "src/users/schemas.py",
            "    created_at: UtcDatetime\n",
            "    created_at: datetime\n",
            SCHEMA_TEST,
            NO_CHANGE_ELSEWHERE,
            id="timestamps-without-offset-break-the-schema",
        ),
        pytest.param(
            "src/users/models.py",
            '        CheckConstraint("email = lower(email)", name="email_lower_case"),\n',
            "",
            "tests/integration/test_bad_input.py",
            CHECK_IN_MIGRATION,
            id="database-allows-upper-case-emails",
        ),
        pytest.param(
            "src/users/schemas.py",
            "    return validated.ascii_email.lower()\n",
            "    return validated.ascii_email\n",
            "tests/integration/test_bad_input.py",
            NO_CHANGE_ELSEWHERE,
            id="emails-compared-with-letter-case",
        ),
        pytest.param(
            "src/main.py",
            "    errors.install_error_handlers(app)\n",
            "",
            "tests/integration/test_bad_input.py",
            NO_CHANGE_ELSEWHERE,
            id="errors-in-fastapis-own-shapes",
        ),
    ],
)
def test_hardening_tests_fail_on_mutation(
    default_project: Path,
    tmp_path: Path,
    relative: str,
    old: str,
    new: str,
    suite: str,
    also: tuple[str, str, str] | None,
) -> None:
    mutant = mutate(default_project, tmp_path, relative, old, new)
    if also is not None:  # the same mutation where the schema comes from: the migration
        replace_once(mutant, *also)

    outcome = run_project_pytest(mutant, suite, "-p", "no:randomly")

    assert outcome.returncode == 1, outcome
    assert summary_counts(outcome.output).get("failed", 0) >= 1, outcome


def test_a_leaked_resource_fails_the_suite(default_project: Path, tmp_path: Path) -> None:
    # Warnings are errors, ResourceWarning included: an unclosed file or connection is red.
    mutant = shutil.copytree(default_project, tmp_path / "leaky")
    (mutant / "tests" / "test_leak.py").write_text(
        "import gc\nfrom pathlib import Path\n\n\n"
        "def test_leaks_a_file() -> None:\n"
        '    Path(__file__).open(encoding="utf-8")\n'
        "    gc.collect()\n",
        encoding="utf-8",
    )

    outcome = run_project_pytest(mutant, "tests/test_leak.py", "-p", "no:randomly")

    assert outcome.returncode == 1, outcome
    assert "ResourceWarning" in outcome.output, outcome
