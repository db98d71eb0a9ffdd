"""The domain generator (kind=domain): a project plus two generated domains passes every check
of its own after the printed steps, on both databases; bad names and specs are refused with
their rule and write nothing; a generated domain updates like a project."""

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jinja2
import pytest
from copier import run_copy, run_update

from tests.support.rendering import (
    DEFAULT_ANSWERS,
    POSTGRESQL_ANSWERS,
    REPO_ROOT,
    assert_suite_passed,
    postgres_test_env,
    project_env,
    render,
    run_in,
    run_project_pytest,
)
from tests.update.repository import TemplateRepository, assert_merged_cleanly, commit_all, git

EVERY_KIND = (
    "title:str! body:text? done:bool rank:int! score:float due:datetime? day:date? code:uuid!"
)
NOTES = {"domain": "notes", "fields": f"{EVERY_KIND} author_id:ref:users"}
COMMENTS = {"domain": "comments", "fields": "text:text note_id:ref:notes author_id:ref:users?"}


def add_domain(template: Path, project: Path, answers: dict[str, Any], **options: Any) -> None:
    run_copy(
        str(template),
        str(project),
        data={"kind": "domain", **answers},
        answers_file=f".copier-answers.{answers['domain']}.yml",
        defaults=True,
        quiet=True,
        unsafe=False,
        **options,
    )


def printed_steps(project: Path, domain: str, env: dict[str, str]) -> None:
    """The steps copier prints after a domain, as the owner runs them."""
    migration = subprocess.run(
        [sys.executable, "-m", "tests.harness.new_migration", f"create {domain}"],
        cwd=project, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert migration.returncode == 0, migration.stderr
    (project / "tests/openapi.json").unlink(missing_ok=True)
    commit_all(project, f"Add the {domain} domain")


@pytest.fixture(scope="session")
def generated_and_committed(template_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = render(template_dir, tmp_path_factory.mktemp("committed") / "shop", DEFAULT_ANSWERS)
    git(project, "init", "--quiet")
    commit_all(project, "Generated")
    return project


@pytest.fixture
def committed_project(generated_and_committed: Path, tmp_path: Path) -> Path:
    """A project as generated, committed: a copy of one per session, git history included."""
    return shutil.copytree(generated_and_committed, tmp_path / "shop", symlinks=True)


@pytest.mark.parametrize(
    "answers",
    [DEFAULT_ANSWERS, POSTGRESQL_ANSWERS],
    ids=["sqlite", "postgresql"],
)
def test_a_project_with_two_generated_domains_passes_its_checks(
    answers: dict[str, Any], template_dir: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    project = render(template_dir, tmp_path / "shop", answers)
    env = project_env()
    if answers.get("database") == "postgresql":
        env = postgres_test_env(request.getfixturevalue("postgres_server"))
    git(project, "init", "--quiet")
    commit_all(project, "Generated")

    for domain in (NOTES, COMMENTS):
        add_domain(template_dir, project, domain)
        drift = run_project_pytest(project, "tests/test_migrations.py", env=env)
        command = f'uv run python -m tests.harness.new_migration "create {domain["domain"]}"'
        assert drift.returncode == 1, drift
        assert command in drift.output, drift  # the drift test names the step
        printed_steps(project, domain["domain"], env)

    assert sorted(p.name for p in (project / "migrations/versions").iterdir()) == [
        "0001_create_users.py", "0002_create_notes.py", "0003_create_comments.py"
    ]  # fmt: skip
    # Random order (the project's pytest.ini) on two workers; the drift test, migrating
    # from empty and schemathesis on the new routes are part of the suite.
    outcome = run_project_pytest(project, "-n", "2", env=env)
    assert_suite_passed(outcome)
    if answers.get("database") == "postgresql":
        # A domain's files do not depend on the database (the test below): linted and
        # type-checked in the sqlite case; the rest of this project in tests/test_render.py.
        return
    for check in (("ruff", "check", "."), ("ruff", "format", "--check", "."), ("mypy",)):
        checked = run_in(project, *check, env=env)
        assert checked.returncode == 0, checked


def test_generated_tests_cover_every_route_and_rule(template_dir: Path, tmp_path: Path) -> None:
    project = render(template_dir, tmp_path / "shop", DEFAULT_ANSWERS)
    add_domain(template_dir, project, NOTES)
    tests = (project / "tests/integration/test_notes_api.py").read_text(encoding="utf-8")
    for expected in (
        "test_title_is_unique", "test_rank_is_unique", "test_code_is_unique",
        "test_author_id_must_refer_to_an_existing_row",
        "test_deleting_the_referent_deletes_author_id",
        "test_score_must_be_finite", "test_due_is_stored_and_answered_in_utc",
        "test_optional_fields_may_be_left_out_then_set_and_cleared",
        "test_listing_costs_the_same_for_1_and_for_50",
    ):  # fmt: skip
        assert f"def {expected}(" in tests
    assert (project / "tests/factories/notes.py").is_file()
    assert not list(project.glob("migrations/versions/*notes*"))  # written by the printed step


# (answers, what the refusal must say first)
REFUSED: list[tuple[dict[str, str], str]] = [
    ({"domain": "users"}, "domain must not be users, which every service"),
    ({"domain": "Notes"}, "domain must be lower case letters and digits"),
    ({"domain": "order-items"}, "domain must be lower case letters and digits"),
    ({"domain": "2notes"}, "domain must be lower case letters and digits"),
    ({"domain": "class"}, "domain must not be a Python keyword"),
    ({"domain": "config"}, "domain must not be the name of one of the service's own modules"),
    ({"domain": "tests"}, "domain must not be the name of one of the service's own modules"),
    ({"domain": "fastapi"}, "domain must not shadow a module"),
    ({"domain": "json"}, "domain must not shadow a module"),
    ({"domain": "order"}, "domain must not be a word SQL reserves"),
    ({"domain": "a" * 31}, "domain must be at most 30 characters"),
    ({"model": "note"}, "model must be a class name in CamelCase"),
    ({"model": "User"}, "model must not be a class the service already has"),
    ({"fields": ""}, "fields must name at least one field"),
    ({"fields": "title:string"}, "fields: each field is name:kind"),
    ({"fields": "title"}, "fields: each field is name:kind"),
    ({"fields": "Title:str"}, "fields: a field name is lower case letters"),
    ({"fields": "id:int"}, "fields: a field must not be named"),
    ({"fields": "class:str"}, "fields: a field must not be named"),
    ({"fields": "title:str title:text"}, "fields: each field name once"),
    ({"fields": "done:bool!"}, "fields: ! (unique) is for"),
    ({"fields": "title:str??"}, "fields: after the kind, ? (optional) and ! (unique) at most once"),
    ({"fields": "author_id:ref"}, "fields: each field is name:kind"),
    ({"fields": "parent_id:ref:notes"}, "fields: a reference is name:ref:<domain> to another"),
]


@pytest.mark.parametrize(("answers", "message"), REFUSED, ids=[m for _, m in REFUSED])
def test_a_bad_name_or_spec_is_refused_and_nothing_is_written(
    answers: dict[str, str], message: str, template_dir: Path, committed_project: Path
) -> None:
    domain = {"domain": "notes", "fields": "title:str", **answers}
    # Copier says "Validation error for question 'fields': " and then the rule, first.
    with pytest.raises(ValueError, match=r"question '\w+': " + re.escape(message)):
        add_domain(template_dir, committed_project, domain)
    assert git(committed_project, "status", "--porcelain", "--untracked-files=all") == ""


# Copier leaves its directory scan open when it stops at a conflict.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_an_existing_domain_is_refused_by_copier_and_nothing_is_overwritten(
    template_dir: Path, committed_project: Path
) -> None:
    add_domain(template_dir, committed_project, {"domain": "notes", "fields": "title:str"})
    commit_all(committed_project, "notes")
    (committed_project / "src/orders").mkdir()
    (committed_project / "src/orders/__init__.py").write_text('"""Hand-made."""\n')
    commit_all(committed_project, "orders, by hand")

    # Copier's own protection of existing files: a file that would change is a conflict it
    # asks about, and refuses when nobody can answer (--defaults, CI, scripts). It renders in
    # directory order, so files the domain lacked may be added before it stops; no file that
    # existed is changed.
    changed = {"domain": "notes", "fields": "title:text"}
    for again in (changed, {"domain": "orders", "fields": "n:int"}):
        with pytest.raises(Exception, match="--overwrite"):
            add_domain(template_dir, committed_project, again)
        assert git(committed_project, "status", "--porcelain", "--untracked-files=no") == ""


def test_generating_a_domain_takes_under_2_seconds(
    template_dir: Path, committed_project: Path
) -> None:
    started = time.perf_counter()
    add_domain(template_dir, committed_project, NOTES)
    assert time.perf_counter() - started < 2


@pytest.mark.update_chain
def test_a_domain_generated_from_an_older_commit_updates_with_the_owners_edit_kept(
    tmp_path: Path,
) -> None:
    template = TemplateRepository(tmp_path / "template")
    template.replace_with_working_tree()
    service = template.path / "domain/src/{{ domain }}/service.py.jinja"
    current = service.read_text(encoding="utf-8")
    older = current.replace(
        "    async def delete(self, row_id: int) -> None:",
        "    async def delete(self, row_id: int) -> None:  # older",
    )
    assert older != current
    service.write_text(older, encoding="utf-8")
    template.release("90.0.0", "older")
    service.write_text(current, encoding="utf-8")
    template.release("90.1.0", "newer")

    project = tmp_path / "shop"
    run_copy(str(template.path), str(project), data=DEFAULT_ANSWERS, vcs_ref="90.0.0",
             defaults=True, quiet=True, unsafe=False)  # fmt: skip
    git(project, "init", "--quiet")
    commit_all(project, "Generated")
    add_domain(template.path, project, NOTES, vcs_ref="90.0.0")
    router = project / "src/notes/router.py"
    edited = router.read_text(encoding="utf-8").replace('tags=["notes"]', 'tags=["notes", "owner"]')
    router.write_text(edited, encoding="utf-8")
    commit_all(project, "Owner edit")

    run_update(str(project), answers_file=".copier-answers.notes.yml", vcs_ref="90.1.0",
               defaults=True, overwrite=True, quiet=True, unsafe=False)  # fmt: skip

    assert_merged_cleanly(project)
    assert "# older" not in (project / "src/notes/service.py").read_text(encoding="utf-8")
    assert 'tags=["notes", "owner"]' in router.read_text(encoding="utf-8")
    assert "_commit: 90.1.0" in (project / ".copier-answers.notes.yml").read_text("utf-8")
    assert "_commit: 90.0.0" in (project / ".copier-answers.yml").read_text("utf-8")


def test_a_domains_files_do_not_depend_on_the_database() -> None:
    # Jinja's own lexer: every name a template's code uses, whatever filters it calls.
    lexer = jinja2.Environment(autoescape=True)
    templates = sorted((REPO_ROOT / "domain").rglob("*.jinja"))
    assert templates
    for template in templates:
        tokens = lexer.lex(template.read_text(encoding="utf-8"))
        names = {value for _, kind, value in tokens if kind == "name"}
        assert "database" not in names, template
