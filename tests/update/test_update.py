"""`copier update` on services that were generated long ago and changed by their owners since.

Every test works on its own throwaway git repository of the template, where versions are tags:
generate from an older one, commit, make the owner's changes, commit, update to a newer one.
"""

import hashlib
import os
import re
import tomllib
from pathlib import Path
from typing import Literal

import pytest
import yaml
from packaging.version import Version

from tests.support.edits import Edit, apply_edits, missing_edits
from tests.support.rendering import (
    DEFAULT_ANSWERS,
    IN_FILE_ORDER,
    REPO_ROOT,
    assert_suite_passed,
    run_in,
    run_project_pytest,
    summary_counts,
)
from tests.update.owner import CURRENT_LAYOUT_EDITS, EDITS_SINCE_1_0, OWNER_EDITS
from tests.update.repository import (
    RELEASES,
    TemplateRepository,
    assert_merged_cleanly,
    commit_all,
    find_conflicts,
    generate,
    render_version,
    template_files,
    update,
)


def release_order(version: str) -> Version:
    return Version(version)


OLDEST_FIRST: list[str] = sorted(RELEASES, key=release_order)


# The harness of the "newer version" in tests 1 and 2: a changed fixture body, a new fixture
# and a new template-owned file. Paths are relative to the generated project.
CONTRACT_TEST = '''"""What tests can rely on from the harness."""

from httpx import AsyncClient


async def test_client_calls_the_app_in_process(async_client: AsyncClient) -> None:
    assert str(async_client.base_url) == "http://app.test"


async def test_database_dialect_is_named(database_dialect: str) -> None:
    assert database_dialect in {"sqlite", "postgresql"}
'''
DIALECT_FIXTURE = '''

@pytest.fixture(scope="session")
def database_dialect(async_engine: AsyncEngine) -> str:
    """The test database's dialect name ("sqlite", "postgresql"), for dialect-specific tests."""
    return async_engine.dialect.name
'''
HARNESS_CHANGE = (
    Edit("tests/harness/fixtures.py", 'base_url="http://app.test"', old='base_url="http://test"'),
    Edit("tests/harness/fixtures.py", DIALECT_FIXTURE),
    Edit("tests/harness/test_harness_contract.py", CONTRACT_TEST),
)
# An owner who changed the very line HARNESS_CHANGE changes.
CONFLICTING_EDIT = Edit(
    "tests/harness/fixtures.py", 'base_url="http://api.test"', old='base_url="http://test"'
)


@pytest.fixture
def template(tmp_path: Path) -> TemplateRepository:
    return TemplateRepository(tmp_path / "template")


def release_working_tree(template: TemplateRepository, version: str) -> str:
    template.replace_with_working_tree()
    return template.release(version, "The working tree")


def release_harness_change(template: TemplateRepository, version: str) -> str:
    apply_edits(template.path / "template", HARNESS_CHANGE)
    return template.release(version, "Harness: new fixture, changed fixture, new file")


# Owner work that releases before 1.0.0 (no Alembic yet) could not have had: done by hand after
# updating, as the CHANGELOG's manual steps say, and as the tests that fail until then say.
MANUAL_STEPS_BEFORE = {Version("1.0.0"): EDITS_SINCE_1_0}
STEPS_NAMED_BY_FAILING_TESTS = (
    "alembic revision --autogenerate",  # the notes table has no migration
    "Document these settings in .env.example: ['NOTES_PAGE_SIZE']",
)


def owner_project(
    template: TemplateRepository,
    version: str,
    destination: Path,
    edits: tuple[Edit, ...] = OWNER_EDITS + EDITS_SINCE_1_0,
) -> Path:
    project = generate(template, version, destination, DEFAULT_ANSWERS)
    apply_edits(project, edits)
    commit_all(project, "Add the notes domain, a fixture, team README, service name")
    return project


def recorded_version(project: Path) -> str:
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    commit: str = answers["_commit"]
    return commit


# What the checks never read: git's and the tools' own folders, the answers file (which names
# each test's own template repository) and README.md. Updates never touch the README, so each
# release leaves its own; no test, ruff or mypy opens it (pyproject.toml names it for building a
# package, which the checks do not do). Without it, updates from every release since 0.1.0 give
# one tree, checked once.
NOT_CHECKED = {".git", ".pytest_cache", ".mypy_cache", ".ruff_cache", "__pycache__", "htmlcov"}
NOT_READ_BY_CHECKS = {".copier-answers.yml", "README.md"}


@pytest.fixture(scope="session")
def checked_trees(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where this run records the project trees whose checks passed, shared by the xdist
    workers: updates from several releases often merge into the very same files."""
    root = tmp_path_factory.getbasetemp()
    if "PYTEST_XDIST_WORKER" in os.environ:
        root = root.parent  # the run's folder, above each worker's own
    folder = root / "checked-trees"
    folder.mkdir(exist_ok=True)
    return folder


def tree_digest(project: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(project.rglob("*")):
        relative = path.relative_to(project)
        skipped = NOT_CHECKED & set(relative.parts) or relative.as_posix() in NOT_READ_BY_CHECKS
        if skipped or not path.is_file():
            continue
        digest.update(relative.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def assert_project_checks_pass(project: Path, checked_trees: Path) -> None:
    """The suite, ruff and mypy pass; once per run for each distinct tree of the files they
    read, since they judge those files alone."""
    checked = checked_trees / tree_digest(project)
    if checked.exists():
        return
    assert_suite_passed(run_project_pytest(project, IN_FILE_ORDER))
    for command in (("ruff", "check", "."), ("ruff", "format", "--check", "."), ("mypy",)):
        outcome = run_in(project, *command)
        assert outcome.returncode == 0, outcome
    checked.touch()


def dev_tools(project: Path) -> set[str]:
    """The names in the project's dev dependency group."""
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    return {re.split(r"[<>=\[ ]", entry)[0] for entry in pyproject["dependency-groups"]["dev"]}


def report_update_time(version_from: str, version_to: str, seconds: float) -> None:
    print(f"copier update {version_from} -> {version_to}: {seconds:.2f} s")


@pytest.mark.update_chain
def test_owner_changes_merge_cleanly_with_a_harness_change(
    template: TemplateRepository, tmp_path: Path, checked_trees: Path
) -> None:
    older = release_working_tree(template, "1.0.0")
    newer = release_harness_change(template, "1.1.0")
    project = owner_project(template, older, tmp_path / "service", CURRENT_LAYOUT_EDITS)

    seconds = update(project, newer)
    report_update_time(older, newer, seconds)

    assert_merged_cleanly(project)
    assert recorded_version(project) == newer
    assert missing_edits(project, HARNESS_CHANGE) == []
    newer_render = render_version(template, newer, tmp_path / "newer", DEFAULT_ANSWERS)
    assert template_files(project, "tests/harness") == template_files(newer_render, "tests/harness")
    assert missing_edits(project, CURRENT_LAYOUT_EDITS) == []
    assert_project_checks_pass(project, checked_trees)
    contract = run_project_pytest(project, "tests/harness/test_harness_contract.py")
    assert summary_counts(contract.output) == {"passed": 2}, contract


@pytest.mark.update_chain
@pytest.mark.parametrize("mode", ["inline", "rej"])
def test_conflicting_owner_edit_is_reported_and_kept(
    mode: Literal["inline", "rej"], template: TemplateRepository, tmp_path: Path
) -> None:
    older = release_working_tree(template, "1.0.0")
    newer = release_harness_change(template, "1.1.0")
    project = owner_project(template, older, tmp_path / "service", CURRENT_LAYOUT_EDITS)
    CONFLICTING_EDIT.apply(project)
    commit_all(project, "Point the test client at our own host name")

    seconds = update(project, newer, conflict=mode)
    report_update_time(older, newer, seconds)

    conflicts = find_conflicts(project)
    fixtures = "tests/harness/fixtures.py"
    if mode == "inline":
        assert conflicts.unmerged == [fixtures], conflicts
        assert {where.split(":")[0] for where in conflicts.markers} == {fixtures}, conflicts
        kept_in = project / fixtures
    else:
        assert conflicts.rejected == [f"{fixtures}.rej"], conflicts
        kept_in = project / f"{fixtures}.rej"
    with pytest.raises(AssertionError, match=fixtures):
        assert_merged_cleanly(project)
    assert CONFLICTING_EDIT.new in kept_in.read_text(encoding="utf-8")
    assert missing_edits(project, CURRENT_LAYOUT_EDITS) == []
    # The generated project's own check refuses the unfinished merge too: markers in Python
    # break the import, a .rej file fails the conflict check (part of every default run).
    suite = run_project_pytest(project, "tests/harness/self_tests/test_no_conflict_markers.py")
    assert suite.returncode != 0, suite
    assert fixtures in suite.output, suite


@pytest.mark.update_chain
@pytest.mark.parametrize("version", OLDEST_FIRST)
def test_update_from_a_release_to_the_current_tree(
    version: str,
    template: TemplateRepository,
    tmp_path: Path,
    default_project: Path,
    checked_trees: Path,
) -> None:
    template.replace_with_commit(RELEASES[version])
    template.release(version, f"Release {version}")
    current = release_working_tree(template, f"{max(RELEASES, key=release_order)}.post1")
    manual_steps = [
        edit
        for introduced, edits in MANUAL_STEPS_BEFORE.items()
        if Version(version) < introduced
        for edit in edits
    ]
    # A service generated since 9.0.0 has the owner's edits of that layout.
    all_edits = (
        CURRENT_LAYOUT_EDITS
        if Version(version) >= Version("9.0.0")
        else OWNER_EDITS + EDITS_SINCE_1_0
    )
    owner_edits = tuple(edit for edit in all_edits if edit not in manual_steps)
    project = owner_project(template, version, tmp_path / "service", owner_edits)

    seconds = update(project, current)
    report_update_time(version, current, seconds)

    assert_merged_cleanly(project)
    if manual_steps:
        # Until they are done, the failing tests name the steps.
        suite = run_project_pytest(project, IN_FILE_ORDER)
        assert suite.returncode == 1, suite
        for step in STEPS_NAMED_BY_FAILING_TESTS:
            assert step in suite.output, suite
    apply_edits(project, manual_steps)
    assert recorded_version(project) == current
    # The working tree's render with the same answers.
    assert template_files(project, "tests/harness") == template_files(
        default_project, "tests/harness"
    )
    assert dev_tools(default_project) <= dev_tools(project)
    assert missing_edits(project, all_edits) == []
    assert_project_checks_pass(project, checked_trees)


def test_every_release_is_in_the_changelog() -> None:
    changelog = (REPO_ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    for version, commit in RELEASES.items():
        heading = f"## [{version}]"
        assert heading in changelog
        section = changelog.split(heading, 1)[1].split("\n## [", 1)[0]
        assert commit in section, f"CHANGELOG.md must name the commit of {version}"
