"""Owner patterns: tests written the way an owner of a generated service writes them, from
FastAPI's docs and public issues (tests/owner_patterns/), run in rendered projects on the three
test databases. Each passes, or fails with what its row of PATTERNS names, and none leaves a
row for a later test: the folder's conftest.py checks that at the start of every test and at
the end of the run ("ISOLATION BROKEN", "REFERENCE DATA GONE").

Nothing is rendered here: the session's projects are copied, the folder copied into the copy's
tests/, and run there with the project's own pytest, in parallel and in random order
(its pytest.ini shuffles).
"""

import ast
import os
import re
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.rendering import (
    AIOSQLITE_URL,
    postgres_test_env,
    project_env,
    run_project_pytest,
)

FOLDER = Path(__file__).parent / "owner_patterns"
PASSES = "passes"
# What the folder's checks say (tests/owner_patterns/isolation.py); a final check's failure
# belongs to the run, not to the test whose teardown it follows.
LEAK_MARKERS = ("ISOLATION BROKEN", "REFERENCE DATA GONE")
AT_THE_END = "at the end of the run"
HOLDS_THE_LOOP = "The test database is bound to the test session's event loop"
OWN_CLIENT = "This test calls the app through a client of its own"
APP_EXCEPTIONS = "App exceptions (answered 500)"
HARNESS_NOTES = "Harness notes"


@dataclass(frozen=True)
class Pattern:
    id: str
    # module::test in tests/owner_patterns/, as pytest names it (with its parameters).
    node: str
    # The public page or issue it comes from; its docstring cites it too.
    source: str
    # PASSES, or what its failure's text must contain, in this order.
    expectation: str | tuple[str, ...]


PATTERNS = (
    Pattern(
        "background-tasks",
        "test_background_work.py::test_a_background_task_writes_through_the_apps_sessionmaker",
        "https://fastapi.tiangolo.com/tutorial/background-tasks/",
        PASSES,
    ),
    Pattern(
        "create-task-awaited",
        "test_background_work.py::test_a_task_the_request_starts_is_awaited_by_the_test",
        "https://docs.python.org/3/library/asyncio-task.html#asyncio.create_task",
        PASSES,
    ),
    Pattern(
        "task-holding-at-teardown",
        "test_background_work.py::test_a_task_still_running_at_teardown_fails_the_test",
        "https://github.com/ITISFoundation/osparc-simcore/pull/3120",
        ("The test ended while task", "(slow_job) still used the database"),
    ),
    Pattern(
        "task-sleeping-at-teardown",
        "test_background_work.py::test_a_task_left_sleeping_at_teardown_is_named",
        "https://github.com/bolna-ai/bolna/pull/809",
        ("The test ended while task", "(remind_later)"),
    ),
    Pattern(
        "gather-5-posts",
        "test_concurrency.py::test_five_gathered_posts_all_create",
        "https://github.com/MagicStack/asyncpg/issues/56",
        PASSES,
    ),
    Pattern(
        "gather-10-gets",
        "test_concurrency.py::test_ten_gathered_gets_all_answer",
        "https://github.com/encode/databases/issues/81",
        PASSES,
    ),
    Pattern(
        "for-update-race-in-turns",
        "test_concurrency.py::test_two_withdrawals_for_update_one_is_refused",
        "https://github.com/sseshachala/conductai/issues/1197",
        PASSES,
    ),
    Pattern(
        "request-waits-for-request",
        "test_concurrency.py::test_a_request_waiting_for_another_fails_naming_the_holder",
        "https://github.com/encode/databases/issues/125",
        ("waited 0.2 s for the test's database connection, which task", "holds"),
    ),
    Pattern(
        "test-session-during-a-request",
        "test_concurrency.py::test_the_tests_session_reads_while_a_request_waits",
        "https://github.com/falkben/fastapi_experiments/pull/1",
        PASSES,
    ),
    Pattern(
        "bare-async-client",
        "test_clients.py::test_the_async_tests_pages_client_is_refused",
        "https://fastapi.tiangolo.com/advanced/async-tests/",
        OWN_CLIENT,
    ),
    Pattern(
        "sync-client-fixture",
        "test_clients.py::test_the_sync_client_fixture_calls_the_app_in_the_tests_transaction",
        "https://fastapi.tiangolo.com/tutorial/testing/",
        PASSES,
    ),
    Pattern(
        "testclient-import",
        "test_testclient.py::test_a_module_importing_testclient_collects",
        "https://fastapi.tiangolo.com/tutorial/testing/",
        PASSES,
    ),
    Pattern(
        "testclient-override-get-session",
        "test_testclient.py::test_testclient_with_override_get_session_is_refused",
        "https://sqlmodel.tiangolo.com/tutorial/fastapi/tests/",
        OWN_CLIENT,
    ),
    Pattern(
        "loop-scope-function",
        "test_loops.py::test_a_function_scoped_loop_fails_at_setup",
        "https://github.com/pytest-dev/pytest-asyncio/issues/38",
        HOLDS_THE_LOOP,
    ),
    Pattern(
        "anyio-marker",
        "test_loops.py::test_the_anyio_marker_fails_at_setup[asyncio]",
        "https://anyio.readthedocs.io/en/stable/testing.html",
        HOLDS_THE_LOOP,
    ),
    Pattern(
        "hypothesis-isolated-example",
        "test_hypothesis.py::test_each_example_is_rolled_back_with_isolated_example",
        "https://github.com/HypothesisWorks/hypothesis/issues/3779",
        PASSES,
    ),
    Pattern(
        "hypothesis-health-check",
        "test_hypothesis.py::test_given_with_function_scoped_fixtures_shows_the_health_check",
        "https://github.com/HypothesisWorks/hypothesis/issues/2733",
        ("FailedHealthCheck", "HealthCheck.function_scoped_fixture"),
    ),
    # On PostgreSQL the escaped row stays committed: a later test (or the end) reports it.
    Pattern(
        "escape-settings-engine",
        "test_escapes.py::test_an_engine_built_from_the_settings_in_a_request_is_named",
        "https://github.com/Kludex/starlette/issues/1315",
        "This test connected to the test database outside the harness",
    ),
    # The cleanup after it deletes the session's reference data too (REFERENCE DATA GONE).
    Pattern(
        "commit-async-connection",
        "test_escapes.py::test_committing_async_connection_is_named",
        "https://docs.sqlalchemy.org/en/20/orm/session_transaction.html#joining-a-session-into-an-external-transaction-such-as-for-test-suites",
        "This test ended the harness's transaction itself",
    ),
    Pattern(
        "committed-two-sessions",
        "test_committed.py::test_two_sessions_see_each_others_commits",
        "https://pytest-django.readthedocs.io/en/latest/helpers.html#transactional-db",
        PASSES,
    ),
    Pattern(
        "committed-row-lock-race",
        "test_committed.py::test_the_row_lock_race_with_real_commits",
        "https://github.com/getsentry/sentry/pull/108344",
        PASSES,
    ),
    Pattern(
        "committed-refused-request-audit",
        "test_committed.py::test_a_refused_requests_audit_row_with_real_commits",
        "https://fastapi.tiangolo.com/tutorial/dependencies/dependencies-with-yield/",
        PASSES,
    ),
    Pattern(
        "audit-engine-begin",
        "test_transactions.py::test_an_audit_row_through_engine_begin_during_a_request",
        "https://docs.sqlalchemy.org/en/20/core/connections.html#begin-once",
        PASSES,
    ),
    Pattern(
        "audit-of-a-refused-request",
        "test_transactions.py::test_a_refused_request_keeps_its_audit_row_only",
        "https://fastapi.tiangolo.com/tutorial/dependencies/dependencies-with-yield/",
        "transactional_db",
    ),
    Pattern(
        "audit-overlapping-request-session",
        "test_transactions.py::test_an_audit_transaction_overlapping_the_request_session",
        "https://github.com/fastapi/fastapi/issues/1936",
        PASSES,
    ),
    Pattern(
        "connect-and-commit",
        "test_transactions.py::test_connect_and_commit_during_a_request",
        "https://docs.sqlalchemy.org/en/20/core/connections.html#commit-as-you-go",
        PASSES,
    ),
    Pattern(
        "begin-nested-in-app",
        "test_transactions.py::test_begin_nested_in_the_app_skips_a_duplicate",
        "https://docs.sqlalchemy.org/en/20/orm/session_transaction.html#using-savepoint",
        PASSES,
    ),
    Pattern(
        "integrity-error-then-201",
        "test_transactions.py::test_a_conflict_then_another_request",
        "https://github.com/Zenor27/fastapi-rest-jsonapi/issues/20",
        PASSES,
    ),
    Pattern(
        "handler-commits-twice",
        "test_transactions.py::test_a_handler_committing_twice",
        "https://github.com/benavlabs/FastAPI-boilerplate/issues/142",
        PASSES,
    ),
    Pattern(
        "expire-on-commit-false",
        "test_transactions.py::test_objects_stay_loaded_after_commit",
        "https://docs.sqlalchemy.org/en/20/orm/extensions/asyncio.html#preventing-implicit-io-when-using-asyncsession",
        PASSES,
    ),
    Pattern(
        "streaming-response",
        "test_responses.py::test_a_streaming_response_reads_rows",
        "https://fastapi.tiangolo.com/advanced/custom-response/#streamingresponse",
        PASSES,
    ),
    Pattern(
        "override-current-user",
        "test_responses.py::test_the_current_user_dependency_is_overridden",
        "https://fastapi.tiangolo.com/advanced/testing-dependencies/",
        PASSES,
    ),
    Pattern(
        "missing-greenlet-500",
        "test_responses.py::test_a_lazy_load_after_commit_is_reported_with_its_cause",
        "https://github.com/sqlalchemy/sqlalchemy/issues/6164",
        (
            "App exceptions (answered 500)",
            "POST /patterns/users/expire-on-commit -> 500",
            "MissingGreenlet",
        ),
    ),
    Pattern(
        "database-clock",
        "test_responses.py::test_the_database_clock_within_one_test",
        "https://www.postgresql.org/docs/current/functions-datetime.html#FUNCTIONS-DATETIME-CURRENT",
        PASSES,
    ),
    # Fails when it runs after commit-async-connection on the same worker (see that row).
    Pattern(
        "session-reference-data",
        "test_responses.py::test_session_reference_data_is_seen_by_requests",
        "https://docs.pytest.org/en/stable/how-to/fixtures.html#scope-sharing-fixtures-across-classes-modules-packages-or-session",
        PASSES,
    ),
)


def pattern_functions() -> dict[str, ast.AsyncFunctionDef | ast.FunctionDef]:
    """The folder's test functions, as `module::name`."""
    functions: dict[str, ast.AsyncFunctionDef | ast.FunctionDef] = {}
    for module in sorted(FOLDER.glob("test_*.py")):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
                "test_"
            ):
                functions[f"{module.name}::{node.name}"] = node
    return functions


def without_parameters(node: str) -> str:
    return node.split("[", maxsplit=1)[0]


def test_the_table_and_the_folder_agree() -> None:
    functions = pattern_functions()
    listed = [without_parameters(pattern.node) for pattern in PATTERNS]

    assert len({pattern.id for pattern in PATTERNS}) == len(PATTERNS), "ids must be unique"
    assert len(set(listed)) == len(listed), "a test is listed twice"
    assert sorted(listed) == sorted(functions), "PATTERNS and tests/owner_patterns/ differ"
    names = [node.split("::")[1] for node in functions]
    assert len(set(names)) == len(names), "test names must be unique across the folder"
    assert len(PATTERNS) >= 22


def test_every_pattern_cites_its_source_in_its_docstring() -> None:
    functions = pattern_functions()

    uncited = [
        pattern.id
        for pattern in PATTERNS
        if pattern.source
        not in "".join(
            (ast.get_docstring(functions[without_parameters(pattern.node)]) or "").split()
        )
    ]

    assert not uncited, f"docstrings without their source: {uncited}"
    assert all(pattern.source.startswith("https://") for pattern in PATTERNS)


@dataclass
class Result:
    outcome: str  # passed, failed, error or skipped
    # Its failures' messages and error lines in the JUnit report, and its "App exceptions
    # (answered 500)" section of the terminal report.
    text: str


@dataclass
class Run:
    results: dict[str, Result]
    # The final checks' failures, found in the teardown of whichever test ran last.
    end_of_run: list[str]


def app_exception_sections(output: str) -> dict[str, str]:
    """The harness's sections of pytest's terminal report ("App exceptions (answered 500)",
    "Harness notes"), by test name (the JUnit report leaves report sections out)."""
    sections: dict[str, list[str]] = {}
    test, current = "", None
    for line in output.splitlines():
        header = re.fullmatch(r"_{3,} (?:ERROR at (?:setup|teardown) of )?(\S+) _{3,}", line)
        section = re.fullmatch(r"-{3,} (.+?) -{3,}", line)
        if header:
            test, current = header.group(1), None
        elif line.startswith("====="):
            test, current = "", None
        elif section:
            is_ours = test and section.group(1) in (APP_EXCEPTIONS, HARNESS_NOTES)
            current = sections.setdefault(test, [line]) if is_ours else None
        elif current is not None:
            current.append(line)
    return {name: "\n".join(lines) for name, lines in sections.items()}


# An exception's line in a report: "E   ..." in pytest's, "| Failed: ..." in an exception group's.
ERROR_LINE = re.compile(r"E\s.*|[\s|]*(?:\w[\w.]*(?:Error|Exception|Failed|Check)|Failed): .*")


def failure_text(element: ET.Element) -> str:
    """What a failure says: its message and its report's error lines, not the source lines of
    the traceback (a pattern's docstring would match anything)."""
    errors = [line for line in (element.text or "").splitlines() if ERROR_LINE.fullmatch(line)]
    return "\n".join([element.get("message") or "", *errors])


def read_run(junit: Path, output: str) -> Run:
    sections = app_exception_sections(output)
    outcomes: dict[str, str] = {}
    texts: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    end_of_run: list[str] = []
    for case in ET.parse(junit).iter("testcase"):  # noqa: S314 (our own report)
        module = case.get("classname", "").rsplit(".", maxsplit=1)[-1]
        name = case.get("name", "")
        # A test that failed and then erred at teardown has two testcases: they add up.
        node = f"{module}.py::{name}"
        names[node] = name
        outcomes.setdefault(node, "passed")
        for child in case:
            if child.tag not in {"failure", "error", "skipped"}:
                continue
            text = failure_text(child)
            if AT_THE_END in text:
                end_of_run += [leak(line) for line in text.splitlines() if AT_THE_END in line]
                if "ExceptionGroup" not in text:
                    continue  # only the final check: not this test's own outcome
            if outcomes[node] == "passed":
                outcomes[node] = {"failure": "failed", "error": "error"}.get(child.tag, "skipped")
            texts.setdefault(node, []).append(text)
    results = {
        node: Result(outcome, "\n".join([*texts.get(node, []), sections.get(names[node], "")]))
        for node, outcome in outcomes.items()
    }
    return Run(results, list(dict.fromkeys(end_of_run)))


def leak(line: str) -> str:
    """A line of the folder's checks, from its marker on (however the report wrapped it)."""
    starts = [line.find(marker) for marker in LEAK_MARKERS if marker in line]
    return line[min(starts) :].rstrip('"') if starts else line.strip()


def in_order(text: str, fragments: tuple[str, ...]) -> bool:
    position = 0
    for fragment in fragments:
        found = text.find(fragment, position)
        if found < 0:
            return False
        position = found + len(fragment)
    return True


def first_line(result: Result) -> str:
    return next((line for line in result.text.splitlines() if line.strip()), "")[:300]


def deviations(run: Run) -> list[str]:
    """Every way the run differs from the table, one line each."""
    problems = []
    for pattern in PATTERNS:
        result = run.results.get(pattern.node)
        if result is None:
            problems.append(f"{pattern.id}: {pattern.node} did not run")
            continue
        if pattern.expectation == PASSES:
            if result.outcome != "passed":
                problems.append(
                    f"{pattern.id}: expected to pass, {result.outcome}: {first_line(result)}"
                )
            continue
        fragments = (
            (pattern.expectation,) if isinstance(pattern.expectation, str) else pattern.expectation
        )
        if result.outcome not in {"failed", "error"}:
            problems.append(f"{pattern.id}: expected to fail with {fragments}, {result.outcome}")
        elif not in_order(result.text, fragments):
            problems.append(f"{pattern.id}: failed without {fragments}: {first_line(result)}")
    listed = {pattern.node for pattern in PATTERNS}
    for node, result in run.results.items():
        if node not in listed and result.outcome != "passed":
            problems.append(f"{node} (not in PATTERNS): {result.outcome}: {first_line(result)}")
    if unlisted := sorted(set(run.results) - listed):
        problems.append(f"tests not in PATTERNS: {unlisted}")
    problems += [f"end of the run: {line}" for line in run.end_of_run]
    leaks = sorted(
        {
            leak(line)[:300]
            for result in run.results.values()
            for line in result.text.splitlines()
            if any(marker in line for marker in LEAK_MARKERS) and AT_THE_END not in line
        }
    )
    problems += [f"leak reported: {line}" for line in leaks]
    return problems


# Not on aiosqlite in CI: there, after the harness cancels the tasks some patterns leave
# running (as their rows expect), aiosqlite leaves a coroutine never awaited, which pytest
# reports as an unraisable exception in whichever later test the garbage collector runs, in
# about one run in three. `OWNER_PATTERNS_AIOSQLITE=1` runs it too.
DATABASES = ["inline", "postgresql"] + (
    ["aiosqlite"] if os.environ.get("OWNER_PATTERNS_AIOSQLITE") == "1" else []
)


@pytest.mark.parametrize("database", DATABASES)
def test_owner_patterns_behave_as_their_table_says(
    database: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if database == "postgresql":
        project: Path = request.getfixturevalue("postgresql_project")
        env = postgres_test_env(request.getfixturevalue("postgres_server"))
    else:
        project = request.getfixturevalue("default_project")
        env = project_env(TEST_DATABASE_URL=AIOSQLITE_URL if database == "aiosqlite" else "")
    service = shutil.copytree(project, tmp_path / "service")
    shutil.copytree(
        FOLDER, service / "tests" / "owner_patterns", ignore=shutil.ignore_patterns("__pycache__")
    )
    junit = tmp_path / "owner-patterns.xml"

    outcome = run_project_pytest(
        service, "tests/owner_patterns", "-n", "2", f"--junitxml={junit}", env=env
    )

    assert junit.is_file(), outcome
    problems = deviations(read_run(junit, outcome.output))
    closing = outcome.output.strip().splitlines()[-1] if outcome.output.strip() else ""
    assert not problems, f"[{database}] {closing}\n" + "\n".join(problems)
