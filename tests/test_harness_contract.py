"""The harness's contract with the project (tests/harness/contract.py): every name it lists,
renamed where it is defined, stops the generated suite with one line naming it."""

import ast
import re
import shutil
from pathlib import Path

import pytest

from tests.support.rendering import IN_FILE_ORDER, REPO_ROOT, run_project_pytest

CONTRACT = REPO_ROOT / "template" / "tests" / "harness" / "contract.py"


def contract_names() -> list[tuple[str, str]]:
    """(module, name) of every Requirement(...) in the contract, in its order."""
    tree = ast.parse(CONTRACT.read_text(encoding="utf-8"))
    return [
        (ast.literal_eval(call.args[0]), ast.literal_eval(call.args[1]))
        for call in ast.walk(tree)
        if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "Requirement"
    ]


def test_the_contract_lists_the_owner_names_the_harness_imports() -> None:
    harness = REPO_ROOT / "template" / "tests" / "harness"
    imported = {
        (node.module, alias.name)
        for path in harness.rglob("*.py")
        if "self_tests" not in path.relative_to(harness).parts
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom)
        and node.module in {"src.main", "src.config", "src.database"}
        for alias in node.names
    }
    assert imported <= set(contract_names())


@pytest.mark.parametrize(("module", "name"), contract_names())
def test_a_renamed_contract_name_stops_the_run_with_one_line(
    default_project: Path, tmp_path: Path, module: str, name: str
) -> None:
    mutant = shutil.copytree(default_project, tmp_path / "renamed")
    source = mutant / (module.replace(".", "/") + ".py")
    text, renamed = re.subn(rf"\b{name}\b", f"{name}_renamed", source.read_text(encoding="utf-8"))
    assert renamed, f"{name} does not occur in {module}"
    source.write_text(text, encoding="utf-8")

    outcome = run_project_pytest(mutant, IN_FILE_ORDER)

    lines = [line for line in outcome.output.splitlines() if line.strip()]
    assert outcome.returncode == 4, outcome  # pytest's usage error: no test ran
    assert len(lines) == 1, outcome
    assert lines[0].startswith(
        f"ERROR: The test harness needs `{name}` in {source.relative_to(mutant)}"
    ), outcome
