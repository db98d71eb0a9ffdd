"""The generated suite must be able to fail: break the app or the harness, expect red."""

import shutil
from pathlib import Path

import pytest

from tests.rendering import project_env, run_project_pytest, summary_counts

AIOSQLITE_URL = "sqlite+aiosqlite:///:memory:"


def mutate(project: Path, tmp_path: Path, relative: str, old: str, new: str) -> Path:
    copy = shutil.copytree(project, tmp_path / "mutant")
    target = copy / relative
    source = target.read_text(encoding="utf-8")
    assert source.count(old) == 1, f"{old!r} must occur once in {relative}"
    target.write_text(source.replace(old, new), encoding="utf-8")
    return copy


@pytest.mark.parametrize("test_database_url", ["", AIOSQLITE_URL], ids=["inline", "aiosqlite"])
@pytest.mark.parametrize(
    ("relative", "old", "new", "proof"),
    [
        pytest.param(
            "src/database.py",
            "            await session.commit()\n",
            "            pass  # mutation: the commit is gone\n",
            "test_user_endpoints.py::TestUserEndpoints::test_created_user_is_persisted",
            id="app-forgets-to-commit",
        ),
        pytest.param(
            "tests/harness/fixtures.py",
            "await transaction.rollback()",
            "await transaction.commit()",
            "test_isolation.py::test_committed_data_does_not_outlive_its_test",
            id="harness-commits-the-outer-transaction",
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

    env = project_env(TEST_DATABASE_URL=test_database_url)
    outcome = run_project_pytest(mutant, "-p", "no:randomly", "-rf", env=env)

    assert outcome.returncode == 1, outcome
    assert summary_counts(outcome.output).get("failed", 0) >= 1, outcome
    assert f"FAILED tests/integration/{proof}" in outcome.output, outcome
