"""The generated load tests: they pass on both variants, they run in the generated workflow and
the schema run fails when the API refuses what its schema allows. (That SQLite transactions
that could collide fail the suite is proven in-process: tests/test_mutations.py.)"""

import json
from pathlib import Path

import pytest

from tests.support.mutants import mutate
from tests.support.project_files import dockerfile_instructions, workflow_commands
from tests.support.rendering import (
    IN_FILE_ORDER,
    postgres_test_env,
    project_env,
    run_project_pytest,
    server_options,
    summary_counts,
)

LOAD_TESTS = 4  # in tests/load/, the owner's
# The harness's: the schemathesis run against the live server, the body limits over uvicorn.
LIVE_HARNESS_TESTS = 2
# Outcomes of `pytest -m load`: a database restart needs a server, which SQLite does not have.
LOAD_OUTCOMES = {
    "default": {"passed": LOAD_TESTS + LIVE_HARNESS_TESTS - 1, "skipped": 1},
    "postgresql": {"passed": LOAD_TESTS + LIVE_HARNESS_TESTS},
}
SCHEMA_RUN = (
    "tests/harness/self_tests/test_live_schema.py::test_the_live_server_conforms_to_its_schema"
)


@pytest.mark.live_server
@pytest.mark.parametrize("variant", ["default", "postgresql"])
def test_load_tests_pass_on_both_variants(variant: str, request: pytest.FixtureRequest) -> None:
    project: Path = request.getfixturevalue(f"{variant}_project")
    env = (
        project_env()
        if variant == "default"
        else postgres_test_env(request.getfixturevalue("postgres_server"))
    )

    outcome = run_project_pytest(project, "-m", "load", IN_FILE_ORDER, env=env)

    assert outcome.returncode == 0, str(outcome)
    counts = summary_counts(outcome.output)
    counts.pop("deselected")  # every test outside tests/load and the live harness tests
    assert counts == LOAD_OUTCOMES[variant], str(outcome)


def test_the_default_run_leaves_the_load_tests_out(default_project: Path) -> None:
    outcome = run_project_pytest(default_project, "--collect-only", "tests/load")

    assert f"no tests collected ({LOAD_TESTS} deselected)" in outcome.output, str(outcome)


@pytest.mark.live_server
def test_an_email_check_narrower_than_the_schema_fails_the_schema_run(
    default_project: Path, tmp_path: Path
) -> None:
    # The validator refuses addresses at .test, which the schema's `format: email` allows.
    mutant = mutate(
        default_project,
        tmp_path,
        "src/users/schemas.py",
        "test_environment=True,",
        "test_environment=False,",
    )

    outcome = run_project_pytest(mutant, "-m", "load", SCHEMA_RUN, env=project_env())

    assert outcome.returncode == 1, str(outcome)
    assert "ST202 Schema-valid request rejected" in outcome.output, str(outcome)


def test_the_image_serves_with_the_options_the_load_tests_prove(project: Path) -> None:
    (command,) = [
        arguments for keyword, arguments in dockerfile_instructions(project) if keyword == "CMD"
    ]
    words = json.loads(command)

    assert words[:2] == ["uvicorn", "src.main:app"]
    options = server_options(project)
    assert " ".join(options) in " ".join(words[2:]), (options, words)


def test_the_generated_workflow_runs_the_load_tests(project: Path) -> None:
    assert "uv run pytest -m load" in workflow_commands(project)
