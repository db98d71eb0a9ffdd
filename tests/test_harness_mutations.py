"""The generated suite must be able to fail: break the app or the harness, expect red."""

import shutil
from pathlib import Path

import pytest

from tests.rendering import run_project_pytest, summary_counts


def replace_once(root: Path, relative: str, old: str, new: str) -> None:
    target = root / relative
    source = target.read_text(encoding="utf-8")
    assert source.count(old) == 1, f"{old!r} must occur once in {relative}"
    target.write_text(source.replace(old, new), encoding="utf-8")


def mutate(project: Path, tmp_path: Path, relative: str, old: str, new: str) -> Path:
    copy = shutil.copytree(project, tmp_path / "mutant")
    replace_once(copy, relative, old, new)
    return copy


@pytest.mark.parametrize(
    ("relative", "old", "new"),
    [
        pytest.param(
            "src/database.py",
            "            await session.commit()\n",
            "            pass  # mutation: the commit is gone\n",
            id="app-forgets-to-commit",
        ),
        pytest.param(
            "tests/harness/fixtures.py",
            "await transaction.rollback()",
            "await transaction.commit()",
            id="harness-commits-the-outer-transaction",
        ),
        pytest.param(
            "tests/harness/database.py",
            'if not name.endswith("_test"):',
            "if False:  # mutation: any database name is accepted",
            id="guard-accepts-any-name",
        ),
    ],
)
def test_generated_suite_fails_on_mutation(
    default_project: Path, tmp_path: Path, relative: str, old: str, new: str
) -> None:
    mutant = mutate(default_project, tmp_path, relative, old, new)

    outcome = run_project_pytest(mutant, "-p", "no:randomly")

    assert outcome.returncode == 1, outcome
    assert summary_counts(outcome.output).get("failed", 0) >= 1, outcome


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
