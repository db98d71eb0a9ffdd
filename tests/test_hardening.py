"""The generated service's hardening: fuzzing finds no 5xx; strict tools."""

import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.support.rendering import (
    IN_FILE_ORDER,
    REPO_ROOT,
    project_env,
    run_project_pytest,
    with_all_schema_examples,
)

SCHEMA_TEST = "tests/integration/test_api_schema.py"
# 10 schemathesis tests (5 user operations x valid and invalid requests, plus /health): at
# 25 examples each, well over 200 requests unless generation silently stops working.
MIN_GENERATED_REQUESTS = 200


class FuzzFigures(NamedTuple):
    tests: int
    requests: int
    server_errors: int


def fuzz_figures(project: Path, report: Path, env: dict[str, str]) -> FuzzFigures:
    """Run the schemathesis test; its tests, requests sent and 5xx responses, from its JUnit
    report."""
    outcome = run_project_pytest(
        project, SCHEMA_TEST, f"--junitxml={report}", IN_FILE_ORDER, env=env
    )
    assert outcome.returncode == 0, outcome
    junit = ET.parse(report)  # noqa: S314 (our own report)
    totals = {"requests": 0, "server_errors": 0}
    for prop in junit.iter("property"):
        name = prop.get("name", "")
        if name in totals:
            totals[name] += int(prop.get("value", "0"))
    return FuzzFigures(len(list(junit.iter("testcase"))), **totals)


@pytest.mark.fuzz
def test_schemathesis_finds_no_server_error(
    project: Path, tmp_path: Path, suite_env: dict[str, str]
) -> None:
    env = with_all_schema_examples(suite_env)

    figures = fuzz_figures(project, tmp_path / "report.xml", env)

    assert figures.requests >= MIN_GENERATED_REQUESTS
    assert figures.server_errors == 0


def test_schema_examples_sets_the_requests_of_each_schema_test(
    default_project: Path, tmp_path: Path
) -> None:
    env = project_env(SCHEMA_EXAMPLES="1")

    figures = fuzz_figures(default_project, tmp_path / "report.xml", env)

    assert figures.tests >= 10
    assert (figures.requests, figures.server_errors) == (figures.tests, 0)


@pytest.mark.parametrize("examples", ["0", "five"])
def test_schema_examples_other_than_a_count_stop_the_run_naming_the_rule(
    default_project: Path, examples: str
) -> None:
    env = project_env(SCHEMA_EXAMPLES=examples)

    outcome = run_project_pytest(default_project, SCHEMA_TEST, env=env)

    assert outcome.returncode != 0, outcome
    assert f"SCHEMA_EXAMPLES must be a whole number from 1 up, not '{examples}'" in outcome.output


def test_the_project_lints_with_the_repositorys_rules_and_strict_mypy(project: Path) -> None:
    # ruff-rules.toml is written once: the repository extends it, every project includes it.
    rules = tomllib.loads((REPO_ROOT / "ruff-rules.toml").read_text(encoding="utf-8"))
    theirs = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["tool"]

    assert theirs["ruff"]["lint"] == rules["lint"]
    assert theirs["ruff"]["line-length"] == rules["line-length"]
    assert len(theirs["ruff"]["lint"]["select"]) >= 30
    assert theirs["mypy"]["strict"] is True
    assert set(theirs["mypy"]["files"]) == {"src", "tests", "migrations"}
