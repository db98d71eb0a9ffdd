"""Render the template with real answer sets; every rendered project must pass its own checks."""

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.rendering import (
    CUSTOM_ANSWERS,
    DEFAULT_ANSWERS,
    asked_questions,
    assert_suite_passed,
    collected_count,
    project_env,
    render,
    run_in,
    run_project_pytest,
    with_few_schema_examples,
)

TEXT_SUFFIXES = {".py", ".toml", ".ini", ".md", ".yml", ".yaml", ".txt", ".cfg", ".example", ""}
TOOL_CACHES = {".mypy_cache", ".ruff_cache", ".pytest_cache", "__pycache__"}


# The whole suite of the default project passes in tests/test_harness_isolation.py (in
# parallel, on both SQLite drivers), the PostgreSQL project's in tests/test_postgresql.py.
# This run is the custom answers' and the serial one in random order: one fixed seed, so a
# failure reproduces.
def test_generated_suite_passes_in_random_order(custom_project: Path) -> None:
    seed = 1
    # "-v" offsets the helper's "-q": the header names the seed.
    outcome = run_project_pytest(
        custom_project,
        "-v",
        f"--random-order-seed={seed}",
        env=with_few_schema_examples(project_env()),
    )

    assert_suite_passed(outcome)
    assert f"Using --random-order-seed={seed}" in outcome.output, outcome


def test_default_project_has_the_guides_integration_tests(default_project: Path) -> None:
    # Collected here; they pass with the whole suite (tests/test_harness_isolation.py).
    assert collected_count(default_project, "tests/integration") >= 12


def test_ruff_check_passes(project: Path) -> None:
    outcome = run_in(project, "ruff", "check", ".")
    assert outcome.returncode == 0, outcome


def test_ruff_format_check_passes(project: Path) -> None:
    outcome = run_in(project, "ruff", "format", "--check", ".")
    assert outcome.returncode == 0, outcome


def test_mypy_strict_passes(project: Path) -> None:
    outcome = run_in(project, "mypy")
    assert outcome.returncode == 0, outcome


GITHUB_EXPRESSION = re.compile(r"\$\{\{ [\w.]+ \}\}")


def test_no_unrendered_jinja_left(project: Path) -> None:
    leftovers = []
    for path in project.rglob("*"):
        if TOOL_CACHES.isdisjoint(path.parts) and path.is_file() and path.suffix in TEXT_SUFFIXES:
            # GitHub Actions' own expressions, ${{ ... }}, are meant to stay.
            text = GITHUB_EXPRESSION.sub("", path.read_text(encoding="utf-8"))
            if "{{" in text or "{%" in text or "{#" in text:
                leftovers.append(str(path.relative_to(project)))
    assert leftovers == []
    assert not list(project.rglob("*.jinja"))


@pytest.mark.parametrize("answers", [DEFAULT_ANSWERS, CUSTOM_ANSWERS], ids=["default", "custom"])
def test_answers_file_records_every_answer(
    answers: dict[str, Any], template_dir: Path, tmp_path: Path
) -> None:
    project = render(template_dir, tmp_path / "project", answers)
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))

    for question, answer in answers.items():
        assert recorded[question] == answer
    assert asked_questions(template_dir).keys() <= recorded.keys()


def test_slug_is_derived_from_the_name(custom_project: Path) -> None:
    recorded = yaml.safe_load((custom_project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert recorded["project_slug"] == "acme-billing-service-2"
    assert 'name = "acme-billing-service-2"' in (custom_project / "pyproject.toml").read_text()


def test_plain_copy_needs_no_trust(template_dir: Path) -> None:
    settings = yaml.safe_load((template_dir / "copier.yml").read_text(encoding="utf-8"))
    assert not {"_tasks", "_migrations", "_jinja_extensions"} & settings.keys()


# What an owner imports or edits, beside the domains and the template's own package.
OWN_MODULES = {"__init__.py", "main.py", "config.py", "database.py", "errors.py", "api_types.py"}


def test_src_holds_the_owners_modules_the_domains_and_the_templates_package(
    project: Path,
) -> None:
    modules = {path.name for path in (project / "src").glob("*.py")}
    packages = {path.parent.name for path in (project / "src").glob("*/__init__.py")}
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))

    assert modules == OWN_MODULES | {"create_database.py"}
    assert len(modules) <= 7
    assert packages == {"_template", "users"}
    assert "The template's own code" in (project / "src/_template/__init__.py").read_text()
    assert recorded["moved_module_stubs"] is False
