"""The domain generator (kind=domain): a project plus two generated domains passes every check
of its own after the printed steps, run as printed, on both databases; bad names and specs are
refused with their rule and write nothing; a generated domain updates like a project."""

import contextlib
import io
import json
import os
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
    CONTRACT_CREATED,
    DEFAULT_ANSWERS,
    POSTGRESQL_ANSWERS,
    REPO_ROOT,
    Outcome,
    assert_suite_passed,
    postgres_test_env,
    project_env,
    render,
    run_in,
    run_project_pytest,
)
from tests.update.repository import TemplateRepository, assert_merged_cleanly, commit_all, git

EVERY_KIND = (
    "title:str! body:text? done:bool rank:int! score:float due:datetime? day:date? code:uuid! "
    "amount:decimal(12,2) balance:decimal(18,4)? summary:str(80)?"
)
NOTES = {"domain": "notes", "fields": f"{EVERY_KIND} author_id:ref:users?"}
# Required fields only; decimal and str at their default sizes (12,2 and 200), a short str.
COMMENTS = {
    "domain": "comments",
    "fields": "text:text note_id:ref:notes author_id:ref:users tip:decimal label:str code:str(8)!",
}


def add_domain(template: Path, project: Path, answers: dict[str, Any], **options: Any) -> str:
    """Generate a domain into `project`; what copier printed (its next steps among it)."""
    printed = io.StringIO()
    with contextlib.redirect_stderr(printed):
        run_copy(
            str(template),
            str(project),
            data={"kind": "domain", **answers},
            answers_file=f".copier-answers.{answers['domain']}.yml",
            defaults=True,
            quiet=False,
            unsafe=False,
            **options,
        )
    return printed.getvalue()


# `uv run ...` for the printed steps: the meta-suite's interpreter, which has the project's
# packages (a rendered project has no environment of its own here); its suite on two workers.
UV_STAND_IN = """#!/bin/sh
[ "$1" = run ] || { echo "only uv run is stood in for, not: uv $*" >&2; exit 2; }
shift
case "$1" in
    python) shift; exec "$META_PYTHON" "$@" ;;
    pytest) shift; exec "$META_PYTHON" -m pytest -q -n 2 "$@" ;;
    *) exec "$META_PYTHON" -m "$@" ;;
esac
"""
# The owner's git identity, for the printed commit.
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Owner", "GIT_AUTHOR_EMAIL": "owner@example.com",
    "GIT_COMMITTER_NAME": "Owner", "GIT_COMMITTER_EMAIL": "owner@example.com",
    "GIT_CONFIG_COUNT": "2", "GIT_CONFIG_KEY_0": "commit.gpgsign", "GIT_CONFIG_VALUE_0": "false",
    "GIT_CONFIG_KEY_1": "core.hooksPath", "GIT_CONFIG_VALUE_1": "/dev/null",
}  # fmt: skip


def printed_steps(printed: str) -> list[str]:
    """The commands of the next steps copier printed after a domain, without their comments."""
    steps = printed.split("Next steps, from the service's root:\n", 1)[1].split("\n\n", 1)[0]
    return [line.split("  # ", 1)[0].strip() for line in steps.splitlines()]


def run_printed_steps(
    project: Path, printed: str, env: dict[str, str], *, run_suite: bool = True
) -> Outcome | None:
    """Run the printed steps in a shell, as the owner does; the outcome of the suite's run.

    With `run_suite=False`, the step running the suite is left for a later domain's steps."""
    stand_in = project.parent / "uv-stand-in"
    stand_in.mkdir(exist_ok=True)
    (stand_in / "uv").write_text(UV_STAND_IN, encoding="utf-8")
    (stand_in / "uv").chmod(0o755)
    env = {**env, **GIT_ENV, "META_PYTHON": sys.executable}
    env["PATH"] = f"{stand_in}{os.pathsep}{env['PATH']}"
    suites = []
    steps = printed_steps(printed)
    assert len(steps) == 3, printed  # the migration, the suite, the commit
    assert "uv run pytest" in steps[1], steps
    for step in steps if run_suite else [steps[0], steps[2]]:
        completed = subprocess.run(
            ["bash", "-c", step], cwd=project, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False,
        )  # fmt: skip
        outcome = Outcome(completed.returncode, f"$ {step}\n{completed.stdout}")
        if "pytest" in step:
            suites.append(outcome)
        else:
            assert outcome.returncode == 0, outcome
    assert len(suites) == run_suite, steps
    return suites[0] if suites else None


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

    # The printed steps, run as printed, in a project that never ran its suite (the suite's
    # step of the first domain is left to the second's, which runs the project's whole suite:
    # random order, its pytest.ini's, on two workers; the drift test, migrating from empty and
    # schemathesis on the new routes included).
    for domain in (NOTES, COMMENTS):
        printed = add_domain(template_dir, project, domain)
        drift = run_project_pytest(project, "tests/test_migrations.py", env=env)
        command = f'uv run python -m tests.harness.new_migration "create {domain["domain"]}"'
        assert drift.returncode == 1, drift
        assert command in drift.output, drift  # the drift test names the step
        assert command in printed_steps(printed), printed  # and so do the printed steps
        assert not (project / "tests/openapi.json").exists()  # the suite never ran
        outcome = run_printed_steps(project, printed, env, run_suite=domain is COMMENTS)
        assert git(project, "status", "--porcelain", "--untracked-files=all") == ""  # committed
    assert outcome is not None
    assert_suite_passed(outcome)
    assert CONTRACT_CREATED in outcome.output, outcome  # the suite's first run wrote it

    assert sorted(p.name for p in (project / "migrations/versions").iterdir()) == [
        "0001_create_users.py", "0002_create_notes.py", "0003_create_comments.py"
    ]  # fmt: skip
    # What the API says it accepts, from the committed contract: the sizes given in the spec.
    schemas = json.loads((project / "tests/openapi.json").read_text("utf-8"))["components"]
    note = schemas["schemas"]["NoteCreate"]["properties"]
    assert [kind.get("maxLength") for kind in note["summary"]["anyOf"]] == [80, None]
    assert note["title"]["maxLength"] == 200
    twelve_two = r"^-?(0|[1-9][0-9]{0,9})(\.[0-9]{1,2})?$"  # 10 digits before the point, 2 after
    assert (note["amount"]["type"], note["amount"]["pattern"]) == ("string", twelve_two)
    comment = schemas["schemas"]["CommentCreate"]["properties"]
    assert comment["tip"]["pattern"] == twelve_two  # decimal alone is decimal(12,2)
    assert comment["code"]["maxLength"] == 8
    if answers.get("database") == "postgresql":
        # A domain's files do not depend on the database (the test below): linted and
        # type-checked in the sqlite case; the rest of this project in tests/test_render.py.
        return
    for check in (("ruff", "check", "."), ("ruff", "format", "--check", "."), ("mypy",)):
        checked = run_in(project, *check, env=env)
        assert checked.returncode == 0, checked


def test_generated_tests_cover_every_route_and_rule(
    template_dir: Path, committed_project: Path
) -> None:
    project = committed_project
    add_domain(template_dir, project, NOTES)
    add_domain(template_dir, project, COMMENTS)
    tests = (project / "tests/integration/test_notes_api.py").read_text(encoding="utf-8")
    for expected in (
        "test_title_is_unique", "test_rank_is_unique", "test_code_is_unique",
        "test_author_id_must_refer_to_an_existing_row",
        "test_deleting_the_referent_clears_author_id",
        "test_score_must_be_finite", "test_due_is_stored_and_answered_in_utc",
        "test_title_is_at_most_200_characters", "test_summary_is_at_most_80_characters",
        "test_amount_is_exact", "test_amount_is_a_string_of_a_finite_decimal",
        "test_amount_sorts_and_compares_by_value", "test_balance_is_exact",
        "test_optional_fields_may_be_left_out_then_set_and_cleared",
        "test_listing_costs_the_same_for_1_and_for_50",
    ):  # fmt: skip
        assert f"def {expected}(" in tests
    assert '("19.99", "19.99")' in tests  # sent, and answered exactly
    assert '("-99999999999999.9999", "-99999999999999.9999")' in tests  # decimal(18,4)
    comments = (project / "tests/integration/test_comments_api.py").read_text(encoding="utf-8")
    assert "def test_deleting_the_referent_deletes_author_id(" in comments
    assert "OPTIONAL" not in comments  # required fields only
    models = (project / "src/notes/models.py").read_text(encoding="utf-8")
    for column in (
        "amount: Mapped[Decimal] = mapped_column(ExactDecimal(12, 2))",
        "balance: Mapped[Decimal | None] = mapped_column(ExactDecimal(18, 4))",
        "summary: Mapped[str | None] = mapped_column(String(LINE80_MAX_LENGTH))",
        "LINE80_MAX_LENGTH = 80",
    ):
        assert column in models
    assert (project / "tests/factories/notes.py").is_file()
    assert not list(project.glob("migrations/versions/*notes*"))  # written by the printed step


# Small domains whose files differ most from the two above: no str or text field first (or at
# all), one kind only, a short model name (lines ruff would join), optional fields only.
SMALL_DOMAINS = [
    {"domain": "ons", "fields": "on:bool"},
    {"domain": "prices", "fields": "price:decimal(7)"},
    {"domain": "days", "fields": "day:date? at:datetime"},
    {"domain": "codes", "fields": "code:str(4)! size:decimal(2,2)?"},
    {"domain": "memos", "fields": "memo:text?"},
]


def test_small_domains_are_written_as_ruff_writes_them(
    template_dir: Path, committed_project: Path
) -> None:
    for domain in SMALL_DOMAINS:
        add_domain(template_dir, committed_project, domain)
    status = git(committed_project, "status", "--porcelain", "--untracked-files=all")
    written = [line[3:] for line in status.splitlines() if line.endswith(".py")]
    assert len(written) == 9 * len(SMALL_DOMAINS), written  # src/<domain>/, factory, tests
    prices = (committed_project / "src/prices/models.py").read_text(encoding="utf-8")
    assert "price: Mapped[Decimal] = mapped_column(ExactDecimal(7, 2))" in prices  # scale 2
    for check in (("ruff", "check"), ("ruff", "format", "--check")):
        checked = run_in(committed_project, *check, *written)
        assert checked.returncode == 0, checked


# (answers, what the refusal must say first)
REFUSED: list[tuple[dict[str, str], str]] = [
    ({"domain": "users"}, "domain must not be users, which every service"),
    ({"domain": "Notes"}, "domain must be lower case letters and digits"),
    ({"domain": "_notes"}, "domain must start with a letter: names starting with _ are the"),
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
    ({"fields": "title:str(0)"}, "fields: str(N) is one line of at most N characters"),
    ({"fields": "title:str(501)"}, "fields: str(N) is one line of at most N characters"),
    ({"fields": "title:str(80,2)"}, "fields: str(N) is one line of at most N characters"),
    ({"fields": "title:str(x)"}, "fields: str(N) is one line of at most N characters"),
    ({"fields": "rank:int(8)"}, "fields: only str(N) and decimal(P,S) take sizes"),
    ({"fields": "price:decimal(19,2)"}, "fields: decimal(P,S) is an exact number of P digits"),
    ({"fields": "price:decimal(4,5)"}, "fields: decimal(P,S) is an exact number of P digits"),
    ({"fields": "price:decimal(1)"}, "fields: decimal(P,S) is an exact number of P digits"),
    ({"fields": "price:decimal(12,"}, "fields: decimal(P,S) is an exact number of P digits"),
    ({"fields": "price:decimal!"}, "fields: ! (unique) is for"),
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
