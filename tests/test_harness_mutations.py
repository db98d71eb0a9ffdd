"""The generated suite must be able to fail: break the app or the harness, expect red."""

import re
import shutil
from pathlib import Path

import pytest

from tests.support.mutants import mutate, replace_once
from tests.support.rendering import (
    CONTRACT_CREATED,
    Outcome,
    project_env,
    run_project_pytest,
    summary_counts,
)

AIOSQLITE_URL = "sqlite+aiosqlite:///:memory:"


@pytest.mark.parametrize("test_database_url", ["", AIOSQLITE_URL], ids=["inline", "aiosqlite"])
@pytest.mark.parametrize(
    ("relative", "old", "new", "proof"),
    [
        pytest.param(
            "src/database.py",
            "            await session.commit()\n",
            "            pass  # mutation: the commit is gone\n",
            "integration/test_user_endpoints.py::TestUserEndpoints::test_created_user_is_persisted",
            id="app-forgets-to-commit",
        ),
        pytest.param(
            "tests/harness/fixtures.py",
            "await transaction.rollback()",
            "await transaction.commit()",
            "integration/test_isolation.py::test_committed_data_does_not_outlive_its_test",
            id="harness-commits-the-outer-transaction",
        ),
        pytest.param(
            "tests/harness/fixtures.py",
            "        async with LifespanManager(app) as manager:\n            yield manager.app\n",
            "        yield app  # mutation: the lifespan never runs\n",
            "harness/test_lifespan.py::test_the_lifespan_has_started_the_app_on_the_test_database",
            id="harness-skips-the-lifespan",
        ),
        pytest.param(
            "src/main.py",
            "if (handed_in := database.handed_in_database()) is not None:",
            "if False:  # mutation: the lifespan builds its engine from the settings again",
            "harness/test_lifespan.py::test_the_lifespan_has_started_the_app_on_the_test_database",
            id="lifespan-on-its-own-engine",
        ),
        pytest.param(
            "src/request_context.py",
            "                if is_database_unavailable(error)\n",
            "                if False  # mutation: every failure is a bug\n",
            "harness/test_health_and_failures.py"
            "::test_an_unavailable_database_is_503_with_retry_after_and_one_log_line",
            id="unavailable-database-answered-500",
        ),
        pytest.param(
            "tests/harness/database.py",
            'if not name.endswith("_test"):',
            "if False:  # mutation: any database name is accepted",
            "test_database_guard.py::test_refuses_other_databases_with_the_reason",
            id="guard-accepts-any-name",
        ),
    ],
)
def test_generated_suite_fails_on_mutation(
    default_project: Path,
    tmp_path: Path,
    relative: str,
    old: str,
    new: str,
    proof: str,
    test_database_url: str,
) -> None:
    mutant = mutate(default_project, tmp_path, relative, old, new)

    assert_proof_fails(mutant, proof, project_env(TEST_DATABASE_URL=test_database_url))


# Mutations whose proof builds its own app or database file: one run suffices.
@pytest.mark.parametrize(
    ("relative", "old", "new", "proof"),
    [
        pytest.param(
            "src/limits.py",
            "if declared.isdigit() and int(declared) > self.max_body_bytes:",
            "if False:  # mutation: a declared length is not checked",
            "harness/test_request_limits.py"
            "::test_a_declared_length_over_the_limit_is_refused_unread",
            id="declared-length-unchecked",
        ),
        pytest.param(
            "src/http_semantics.py",
            "if status == HTTPStatus.METHOD_NOT_ALLOWED and (allowed := allowed_methods(scope)):",
            "if False:  # mutation: a 405 lists one route's methods",
            "harness/test_http_semantics.py::test_405_lists_every_method_of_the_path",
            id="allow-lists-one-route",
        ),
        pytest.param(
            # A deferred BEGIN, the sqlite3 default: a transaction that reads and then writes
            # meets another writer.
            "src/database.py",
            'connection.exec_driver_sql("BEGIN IMMEDIATE")',
            'connection.exec_driver_sql("BEGIN")',
            "harness/test_sqlite_driver.py::test_a_transaction_holds_the_write_lock_from_its_start",
            id="sqlite-transactions-begin-deferred",
        ),
        pytest.param(
            "tests/harness/factories.py",
            "        session = running_sessionmaker()()\n",
            "        return super()._get_async_persistence()  # mutation: a session of its own\n"
            "        session = running_sessionmaker()()\n",
            "harness/test_factories.py::test_factory_rows_live_in_the_tests_transaction",
            id="factories-not-bound-to-the-test",
        ),
        pytest.param(
            "src/users/service.py",
            "        return result.all()\n",
            "        users = result.all()\n"
            "        for user in users:  # mutation: one more query per user (N+1)\n"
            "            await self.session.refresh(user)\n"
            "        return users\n",
            "integration/test_user_queries.py::test_listing_users_costs_the_same_for_1_and_for_50",
            id="listing-users-is-n-plus-1",
        ),
        pytest.param(
            "src/text.py",
            '_PRINTABLE = rf"[^{_CONTROLS}{FORMAT_CHARACTERS}]"',
            '_PRINTABLE = rf"[^{_CONTROLS}]"  # mutation: format characters inside',
            "harness/test_text.py::test_every_format_character_is_refused_anywhere",
            id="format-characters-accepted",
        ),
    ],
)
def test_generated_suite_fails_on_edge_mutation(
    default_project: Path, tmp_path: Path, relative: str, old: str, new: str, proof: str
) -> None:
    mutant = mutate(default_project, tmp_path, relative, old, new)

    assert_proof_fails(mutant, proof, project_env())


# Mutations that reach beyond the test database: the failure must name what reached out.
@pytest.mark.parametrize(
    ("relative", "old", "new", "proof", "named"),
    [
        pytest.param(
            "src/users/service.py",
            "        user = User(email=data.email, name=data.name)\n",
            "        import httpx  # mutation: an outgoing call nobody mocked\n\n"
            "        async with httpx.AsyncClient() as client:\n"
            '            await client.post("https://crm.example/hooks", json={})\n'
            "        user = User(email=data.email, name=data.name)\n",
            "integration/test_user_endpoints.py::TestUserEndpoints::test_create_user",
            "This test tried to reach a name lookup of 'crm.example'",
            id="app-calls-out-unmocked",
        ),
        pytest.param(
            "tests/harness/test_outside_world.py",
            "    override_dependency(get_sessionmaker, no_database)\n",
            "    override_dependency(get_sessionmaker, no_database)\n"
            "    app.dependency_overrides[no_database] = no_database  # mutation: never undone\n",
            "harness/test_outside_world.py::test_override_dependency_lasts_for_the_test",
            "This test left app.dependency_overrides changed: "
            "test_override_dependency_lasts_for_the_test.<locals>.no_database",
            id="override-left-behind",
        ),
    ],
)
def test_what_reaches_beyond_the_test_database_fails_by_name(
    default_project: Path,
    tmp_path: Path,
    relative: str,
    old: str,
    new: str,
    proof: str,
    named: str,
) -> None:
    mutant = mutate(default_project, tmp_path, relative, old, new)

    outcome = run_proof_module(mutant, proof, project_env())

    assert outcome.returncode == 1, outcome
    assert f"tests/{proof}" in outcome.output, outcome
    assert named in outcome.output, outcome


def run_proof_module(mutant: Path, proof: str, env: dict[str, str]) -> Outcome:
    """Run the module of `proof` (a node id under tests/) in the mutant, failures and errors
    listed. The proof's module is enough: the whole suite runs unmutated in tests/test_render.py."""
    module = f"tests/{proof.split('::', maxsplit=1)[0]}"
    return run_project_pytest(mutant, module, "-p", "no:randomly", "-rfE", env=env)


def assert_proof_fails(mutant: Path, proof: str, env: dict[str, str]) -> None:
    outcome = run_proof_module(mutant, proof, env)

    assert outcome.returncode == 1, outcome
    assert summary_counts(outcome.output).get("failed", 0) >= 1, outcome
    assert f"FAILED tests/{proof}" in outcome.output, outcome


def test_generated_suite_fails_on_a_leftover_conflict(
    default_project: Path, tmp_path: Path
) -> None:
    project = shutil.copytree(default_project, tmp_path / "unmerged")
    readme = project / "README.md"
    conflict = f"{'<' * 7} before updating\nours\n{'=' * 7}\ntheirs\n{'>' * 7} after updating\n"
    readme.write_text(readme.read_text(encoding="utf-8") + conflict, encoding="utf-8")
    (project / "src" / "main.py.rej").write_text("@@ -1 +1 @@\n-old\n+new\n", encoding="utf-8")

    outcome = run_project_pytest(project, "-p", "no:randomly")

    assert outcome.returncode == 1, outcome
    assert summary_counts(outcome.output).get("failed") == 1, outcome
    assert "README.md:" in outcome.output, outcome
    assert "src/main.py.rej" in outcome.output, outcome


def test_a_renamed_response_field_fails_the_committed_contract(
    default_project: Path, tmp_path: Path
) -> None:
    project = shutil.copytree(default_project, tmp_path / "service")
    contract = "tests/harness/test_api_contract.py"
    (project / "tests" / "openapi.json").unlink(missing_ok=True)
    first = run_project_pytest(project, contract, "-p", "no:randomly")
    assert CONTRACT_CREATED in first.output, first  # the owner commits it
    replace_once(project, "src/users/schemas.py", "    name: str\n", "    full_name: str\n")

    outcome = run_project_pytest(project, contract, "-p", "no:randomly")

    assert outcome.returncode == 1, outcome
    assert re.search(r'^-\s+"name": \{$', outcome.output, re.MULTILINE), outcome  # the diff
    assert "rm tests/openapi.json && uv run pytest" in outcome.output, outcome
