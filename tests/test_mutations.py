"""The generated suite must be able to fail: break the app or the harness, expect red.

One table, `MUTATIONS`: each row edits one line of a rendered project and names the test (or
module) of the project's own suite that must fail, and what its failure must say when the
failure is about something other than a wrong answer.
"""

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.mutants import mutate, replace_once
from tests.support.rendering import (
    AIOSQLITE_URL,
    CONTRACT_CREATED,
    IN_FILE_ORDER,
    Outcome,
    postgres_test_env,
    project_env,
    run_project_pytest,
    with_all_schema_examples,
    with_few_schema_examples,
)

SCHEMA_TESTS = "integration/test_api_schema.py"
BAD_INPUT_TESTS = "integration/test_bad_input.py"
# The harness's own tests, in the project's tests/.
SELF_TESTS = "harness/self_tests"
APP_DATABASE_TESTS = f"{SELF_TESTS}/test_app_database.py"
LIFESPAN_PROOF = (
    f"{SELF_TESTS}/test_lifespan.py::test_the_lifespan_has_started_the_app_on_the_test_database"
)


@dataclass(frozen=True)
class Mutation:
    id: str
    file: str
    old: str
    new: str
    # A node id or a module under the project's tests/: its run must fail there.
    proof: str
    # Text the failure must contain (the name of what went wrong).
    named: str = ""
    # The same change where a second copy of it lives (the schema's migration).
    also: tuple[str, str, str] | None = None
    # Mutations of the app's database code run on both SQLite drivers: the inline default
    # and aiosqlite. The others build their own app or database file: one run suffices.
    both_sqlite_drivers: bool = False


MUTATIONS = [
    # Isolation: the app's own session code and the harness's savepoints.
    Mutation(
        "app-forgets-to-commit",
        "src/database.py",
        "            await session.commit()\n",
        "            pass  # mutation: the commit is gone\n",
        "integration/test_user_endpoints.py::TestUserEndpoints::test_created_user_is_persisted",
        both_sqlite_drivers=True,
    ),
    Mutation(
        "harness-commits-the-outer-transaction",
        "tests/harness/db/database.py",
        "await transaction.rollback()",
        "await transaction.commit()",
        "integration/test_isolation.py::test_committed_data_does_not_outlive_its_test",
        both_sqlite_drivers=True,
    ),
    # Every path of the app to the database leads into the test's transaction.
    Mutation(
        "app-handed-the-real-engine",
        "tests/harness/_plugin.py",
        "    return TestDatabase(sessionmaker, app_engine.database, sources)\n",
        "    from src.database import Database\n\n"
        "    real = async_connection.engine  # mutation: the app gets the run's engine again\n"
        "    handed = Database(real, create_sessionmaker(real))\n"
        "    return TestDatabase(sessionmaker, handed, sources)\n",
        f"{APP_DATABASE_TESTS}::test_the_apps_own_writes_do_not_outlive_the_test",
        both_sqlite_drivers=True,
    ),
    Mutation(
        "sessions-take-no-turns",
        "tests/harness/db/shared_connection.py",
        "        if not self.turns.take_now():\n            await_(self.turns.take())\n",
        "        pass  # mutation: checkouts no longer take turns\n",
        f"{APP_DATABASE_TESTS}::test_sessions_used_at_once_take_turns",
        both_sqlite_drivers=True,
    ),
    Mutation(
        "escapes-go-unseen",
        "tests/harness/db/escapes.py",
        "        if not RUN.own_code:\n            return\n",
        "        return  # mutation: no connection is ever watched\n",
        f"{APP_DATABASE_TESTS}::test_a_connection_beside_the_harness_is_refused_and_named",
    ),
    Mutation(
        "harness-skips-the-lifespan",
        "tests/harness/fixtures.py",
        "        async with lifespan_of(app) as started:\n            yield started\n",
        "        yield app  # mutation: the lifespan never runs\n",
        LIFESPAN_PROOF,
        both_sqlite_drivers=True,
    ),
    Mutation(
        "lifespan-on-its-own-engine",
        "src/_template/database.py",
        "if (handed_in := handed_in_database()) is not None:",
        "if False:  # mutation: the lifespan builds its engine from the settings again",
        LIFESPAN_PROOF,
        both_sqlite_drivers=True,
    ),
    Mutation(
        "unavailable-database-answered-500",
        "src/_template/edge.py",
        "                if is_database_unavailable(error)\n",
        "                if False  # mutation: every failure is a bug\n",
        f"{SELF_TESTS}/test_health_and_failures.py"
        "::test_an_unavailable_database_is_503_with_retry_after_and_one_log_line",
        both_sqlite_drivers=True,
    ),
    Mutation(
        "guard-accepts-any-name",
        "tests/harness/db/database.py",
        'if not name.endswith("_test"):',
        "if False:  # mutation: any database name is accepted",
        "test_database_guard.py::test_refuses_other_databases_with_the_reason",
        both_sqlite_drivers=True,
    ),
    Mutation(
        "factories-not-bound-to-the-test",
        "tests/harness/factories.py",
        "        session = running_sessionmaker()()\n",
        "        return super()._get_async_persistence()  # mutation: a session of its own\n"
        "        session = running_sessionmaker()()\n",
        f"{SELF_TESTS}/test_factories.py::test_factory_rows_live_in_the_tests_transaction",
    ),
    # Concurrency and queries.
    Mutation(
        # A deferred BEGIN, the sqlite3 default: a transaction that reads and then writes
        # meets another writer.
        "sqlite-transactions-begin-deferred",
        "src/_template/database.py",
        'connection.exec_driver_sql("BEGIN IMMEDIATE")',
        'connection.exec_driver_sql("BEGIN")',
        f"{SELF_TESTS}/test_sqlite_driver.py::test_a_transaction_holds_the_write_lock_from_its_start",
    ),
    Mutation(
        "listing-users-is-n-plus-1",
        "src/users/service.py",
        "        return result.all()\n",
        "        users = result.all()\n"
        "        for user in users:  # mutation: one more query per user (N+1)\n"
        "            await self.session.refresh(user)\n"
        "        return users\n",
        "integration/test_user_queries.py::test_listing_users_costs_the_same_for_1_and_for_50",
    ),
    # HTTP edges and input validation.
    Mutation(
        "declared-length-unchecked",
        "src/_template/edge.py",
        "if declared.isdigit() and int(declared) > self.max_body_bytes:",
        "if False:  # mutation: a declared length is not checked",
        f"{SELF_TESTS}/test_request_limits.py::test_a_declared_length_over_the_limit_is_refused_unread",
    ),
    Mutation(
        "allow-lists-one-route",
        "src/_template/http_semantics.py",
        "if status == HTTPStatus.METHOD_NOT_ALLOWED and (allowed := allowed_methods(scope)):",
        "if False:  # mutation: a 405 lists one route's methods",
        f"{SELF_TESTS}/test_http_semantics.py::test_405_lists_every_method_of_the_path",
    ),
    Mutation(
        "format-characters-accepted",
        "src/api_types.py",
        '_PRINTABLE = rf"[^{_CONTROLS}{FORMAT_CHARACTERS}]"',
        '_PRINTABLE = rf"[^{_CONTROLS}]"  # mutation: format characters inside',
        f"{SELF_TESTS}/test_text.py::test_every_format_character_is_refused_anywhere",
    ),
    Mutation(
        "shared-ids-read-as-python-reads-integers",
        "src/api_types.py",
        'not re.fullmatch(r"-?[0-9]+", value)',
        'not re.fullmatch(r"\\s*[-+]?[\\d_]+\\s*", value)',
        f"{SELF_TESTS}/test_api_types.py::test_an_id_written_otherwise_or_out_of_range_is_refused",
    ),
    Mutation(
        "ids-beyond-64-bit-reach-the-database",
        "src/api_types.py",
        "Path(ge=1, le=MAX_BIGINT)",
        "Path(ge=1)",
        SCHEMA_TESTS,
    ),
    Mutation(
        "timestamps-without-offset-break-the-schema",
        "src/api_types.py",
        "    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)\n",
        "    return value  # mutation: SQLite's timestamps are answered without their offset\n",
        SCHEMA_TESTS,
    ),
    Mutation(
        "unknown-fields-accepted",
        "src/users/schemas.py",
        '    model_config = ConfigDict(extra="forbid")\n',
        "    model_config = ConfigDict()\n",
        BAD_INPUT_TESTS,
    ),
    Mutation(
        "database-allows-upper-case-emails",
        "src/users/models.py",
        '        CheckConstraint("email = lower(email)", name="email_lower_case"),\n',
        "",
        BAD_INPUT_TESTS,
        also=(
            "migrations/versions/0001_create_users.py",
            (
                '        sa.CheckConstraint("email = lower(email)", '
                'name=op.f("ck_users_email_lower_case")),\n'
            ),
            "",
        ),
    ),
    Mutation(
        "emails-compared-with-letter-case",
        "src/users/schemas.py",
        "    return validated.ascii_email.lower()\n",
        "    return validated.ascii_email\n",
        BAD_INPUT_TESTS,
    ),
    Mutation(
        "errors-in-fastapis-own-shapes",
        "src/main.py",
        "    error_handlers.install(app)\n",
        "",
        BAD_INPUT_TESTS,
    ),
    # What reaches beyond the test database fails by name.
    Mutation(
        "app-calls-out-unmocked",
        "src/users/service.py",
        "        user = User(email=data.email, name=data.name)\n",
        "        import httpx  # mutation: an outgoing call nobody mocked\n\n"
        "        async with httpx.AsyncClient() as client:\n"
        '            await client.post("https://crm.example/hooks", json={})\n'
        "        user = User(email=data.email, name=data.name)\n",
        "integration/test_user_endpoints.py::TestUserEndpoints::test_create_user",
        named="This test tried to reach a name lookup of 'crm.example'",
    ),
    Mutation(
        "override-left-behind",
        "tests/harness/self_tests/test_outside_world.py",
        "    override_dependency(get_sessionmaker, no_database)\n",
        "    override_dependency(get_sessionmaker, no_database)\n"
        "    app.dependency_overrides[no_database] = no_database  # mutation: never undone\n",
        f"{SELF_TESTS}/test_outside_world.py::test_override_dependency_lasts_for_the_test",
        named="This test left app.dependency_overrides changed: "
        "test_override_dependency_lasts_for_the_test.<locals>.no_database",
    ),
    # Garbage collection, off while the app and the tests are imported, is on for the tests.
    Mutation(
        "garbage-collection-left-off",
        "tests/harness/_plugin.py",
        "        gc.enable()\n",
        "        pass  # mutation: garbage collection stays off\n",
        f"{SELF_TESTS}/test_collection.py::test_garbage_collection_is_on_while_tests_run",
    ),
]


def mutation_cases() -> list[object]:
    cases: list[object] = []
    for mutation in MUTATIONS:
        drivers = {"inline": ""}
        if mutation.both_sqlite_drivers:
            drivers["aiosqlite"] = AIOSQLITE_URL
        for driver, url in drivers.items():
            case_id = f"{mutation.id}[{driver}]" if mutation.both_sqlite_drivers else mutation.id
            cases.append(pytest.param(mutation, url, id=case_id))
    return cases


@pytest.mark.parametrize(("mutation", "test_database_url"), mutation_cases())
def test_the_generated_suite_fails_on_mutation(
    default_project: Path, tmp_path: Path, mutation: Mutation, test_database_url: str
) -> None:
    mutant = mutate(default_project, tmp_path, mutation.file, mutation.old, mutation.new)
    if mutation.also is not None:
        replace_once(mutant, *mutation.also)

    outcome = run_proof_module(mutant, mutation.proof, test_database_url)

    assert outcome.returncode == 1, outcome
    failed_where = rf"^(FAILED|ERROR) tests/{re.escape(mutation.proof)}"
    assert re.search(failed_where, outcome.output, re.MULTILINE), outcome
    assert mutation.named in outcome.output, outcome


def run_proof_module(mutant: Path, proof: str, test_database_url: str = "") -> Outcome:
    """Run the module of `proof` in the mutant, failures and errors listed. The module is
    enough: the whole suite runs unmutated in tests/test_render.py."""
    module = f"tests/{proof.split('::', maxsplit=1)[0]}"
    env = with_all_schema_examples(project_env(TEST_DATABASE_URL=test_database_url))
    return run_project_pytest(mutant, module, IN_FILE_ORDER, "-rfE", env=env)


# Mutations that add or rename rather than edit one line.
POISONING_TESTS = """
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession


async def test_1_leaves_its_connection_mid_transaction(async_connection: AsyncConnection) -> None:
    await async_connection.rollback()  # ends the harness's transaction
    raw = await async_connection.get_raw_connection()
    await raw.driver_connection.execute("BEGIN")  # one SQLAlchemy knows nothing of


async def test_2_follows(async_session: AsyncSession) -> None:
    assert await async_session.scalar(text("SELECT 1")) == 1
"""


@pytest.mark.parametrize("invalidated", [True, False], ids=["as-built", "mutant"])
def test_a_broken_connection_never_reaches_the_next_test(
    postgresql_project: Path, postgres_server: str, tmp_path: Path, invalidated: bool
) -> None:
    """A test that leaves its connection inside a transaction SQLAlchemy does not know of
    (asyncpg's own) fails, naming it; the next test gets a healthy connection. Without the
    teardown's invalidation, that connection goes back to the pool, and the next test fails."""
    project = shutil.copytree(postgresql_project, tmp_path / "service")
    (project / "tests" / "test_poisoning.py").write_text(POISONING_TESTS, encoding="utf-8")
    if not invalidated:
        replace_once(
            project,
            "tests/harness/db/database.py",
            "    if not healthy:\n        await _discard(connection)\n",
            "    pass  # mutation: the connection goes back to the pool as it is\n",
        )

    env = postgres_test_env(postgres_server)
    outcome = run_project_pytest(project, "tests/test_poisoning.py", IN_FILE_ORDER, "-rfE", env=env)

    assert "ended the harness's transaction itself" in outcome.output, outcome
    follower_failed = re.search(
        r"^(FAILED|ERROR) tests/test_poisoning.py::test_2_follows", outcome.output, re.MULTILINE
    )
    assert bool(follower_failed) is not invalidated, outcome


def test_a_leftover_conflict_fails_the_suite(default_project: Path, tmp_path: Path) -> None:
    project = shutil.copytree(default_project, tmp_path / "unmerged")
    readme = project / "README.md"
    conflict = f"{'<' * 7} before updating\nours\n{'=' * 7}\ntheirs\n{'>' * 7} after updating\n"
    readme.write_text(readme.read_text(encoding="utf-8") + conflict, encoding="utf-8")
    (project / "src" / "main.py.rej").write_text("@@ -1 +1 @@\n-old\n+new\n", encoding="utf-8")

    outcome = run_project_pytest(
        project, IN_FILE_ORDER, "-rfE", env=with_few_schema_examples(project_env())
    )

    assert outcome.returncode == 1, outcome
    failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", outcome.output, re.MULTILINE)
    assert [node.split("::")[0] for node in failed] == [
        "tests/harness/self_tests/test_no_conflict_markers.py"
    ], outcome
    assert "README.md:" in outcome.output, outcome
    assert "src/main.py.rej" in outcome.output, outcome


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

    outcome = run_project_pytest(mutant, "tests/test_leak.py", IN_FILE_ORDER)

    assert outcome.returncode == 1, outcome
    assert "ResourceWarning" in outcome.output, outcome


def test_a_renamed_response_field_fails_the_committed_contract(
    default_project: Path, tmp_path: Path
) -> None:
    project = shutil.copytree(default_project, tmp_path / "service")
    contract = "tests/harness/self_tests/test_api_contract.py"
    (project / "tests" / "openapi.json").unlink(missing_ok=True)
    first = run_project_pytest(project, contract, IN_FILE_ORDER)
    assert CONTRACT_CREATED in first.output, first  # the owner commits it
    replace_once(project, "src/users/schemas.py", "    name: str\n", "    full_name: str\n")

    outcome = run_project_pytest(project, contract, IN_FILE_ORDER)

    assert outcome.returncode == 1, outcome
    assert re.search(r'^-\s+"name": \{$', outcome.output, re.MULTILINE), outcome  # the diff
    assert "rm tests/openapi.json && uv run pytest" in outcome.output, outcome
