"""The documentation site (mkdocs) describes the template as it is."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.project_files import dev_group
from tests.support.rendering import REPO_ROOT, Outcome, asked_questions

TEMPLATE = REPO_ROOT / "template"


def test_options_page_documents_every_question_with_its_default_and_choices() -> None:
    questions = asked_questions(REPO_ROOT)
    asked = list(questions)
    lines = (REPO_ROOT / "docs/options.md").read_text(encoding="utf-8").splitlines()
    rows = {line.split("`")[1]: line for line in lines if line.startswith("| `")}
    explained = {
        name for line in lines if line.startswith("## ") for name in re.findall(r"`(\w+)`", line)
    }

    assert list(rows) == asked
    assert explained == set(asked)
    for name in asked:
        choices = questions[name].get("choices", [])
        for value in choices.values() if isinstance(choices, dict) else choices:
            assert f"`{value}`" in rows[name], (name, value)
        default = questions[name].get("default")
        if isinstance(default, str) and "{{" not in default:
            assert f"`{default}`" in rows[name], (name, default)


@pytest.mark.parametrize(
    ("section", "tests"),
    [
        (
            "## Nothing real beyond the test database",
            "tests/harness/self_tests/test_outside_world.py",
        ),
        ("## Test data and query counts", "tests/integration/test_user_queries.py"),
    ],
)
def test_the_testing_guides_fixture_examples_are_real_tests(section: str, tests: str) -> None:
    guide = (TEMPLATE / "docs" / "testing.md").read_text(encoding="utf-8")
    text = guide.split(section, 1)[1].split("\n## ", 1)[0]
    examples = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    source = (TEMPLATE / tests).read_text(encoding="utf-8")

    assert len(examples) >= 2
    for example in examples:
        assert example in source, example


def test_the_readme_lists_the_dev_group_as_it_is(default_project: Path) -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    listed = re.search(r"dev group \(([^)]*)\)", readme)
    assert listed, "README.md's 'What you get' lists the dev group in parentheses"

    assert set(re.split(r",\s+", listed.group(1))) == dev_group(default_project)


def make_docs_of(tmp_path: Path, pages: dict[str, str]) -> Outcome:
    """`make docs` on a site of these pages, built with the real site's configuration.

    mkdocs.yml as it is (theme, validation, extensions, stylesheets), but for its pages: the
    same command as on the real site, the same strict build, the same link check.
    """
    config = yaml.safe_load((REPO_ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    docs = tmp_path / "docs"
    for stylesheet in config.get("extra_css", []):
        (docs / stylesheet).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO_ROOT / "docs" / stylesheet, docs / stylesheet)
    for name, text in pages.items():
        (docs / name).write_text(text, encoding="utf-8")
    config["docs_dir"] = str(docs)
    config["nav"] = [{name.removesuffix(".md"): name} for name in pages]
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if key not in {"MAKEFLAGS", "MFLAGS"}}
    completed = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "docs",
            f"DOCS_CONFIG={tmp_path / 'mkdocs.yml'}",
            f"DOCS_SITE={tmp_path / 'site'}",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
        timeout=300,
    )
    return Outcome(completed.returncode, completed.stdout)


OTHER_PAGE = "# Other\n\n## A section\n\nText.\n"


def test_make_docs_passes_a_site_whose_links_and_anchors_hold(tmp_path: Path) -> None:
    index = '# Home\n\n[a section](other.md#a-section), <a href="other/#a-section">again</a>\n'
    outcome = make_docs_of(tmp_path, {"index.md": index, "other.md": OTHER_PAGE})

    assert outcome.returncode == 0, outcome
    assert "WARNING -" not in outcome.output, outcome
    assert " 0 Errors" in outcome.output, outcome  # lychee ran, and checked the links


@pytest.mark.parametrize(
    ("link", "printed"),
    [
        pytest.param(
            "[gone](missing.md)",
            r"WARNING -  Doc file 'index\.md' contains a link 'missing\.md', but the target is"
            r" not found among documentation files\.",
            id="page-mkdocs",
        ),
        pytest.param(
            "[gone](other.md#nowhere)",
            r"WARNING -  Doc file 'index\.md' contains a link 'other\.md#nowhere', but the doc"
            r" 'other\.md' does not contain an anchor '#nowhere'\.",
            id="anchor-mkdocs",
        ),
        # Raw HTML, which mkdocs does not read: the check of the built site finds these.
        pytest.param(
            '<a href="other/#nowhere">gone</a>',
            r"\[ERROR\] file://\S+/site/other#nowhere \(at \d+:\d+\) \| Cannot find fragment",
            id="anchor-built-site",
        ),
        pytest.param(
            '<a href="missing/">gone</a>',
            r"\[ERROR\] file://\S+/site/missing \(at \d+:\d+\) \| File not found",
            id="page-built-site",
        ),
    ],
)
def test_make_docs_fails_on_a_broken_link_and_prints_it(
    tmp_path: Path, link: str, printed: str
) -> None:
    index = f"# Home\n\n[fine](other.md#a-section), and {link}.\n"
    outcome = make_docs_of(tmp_path, {"index.md": index, "other.md": OTHER_PAGE})

    assert outcome.returncode != 0, outcome
    assert re.search(printed, outcome.output), outcome


def repository_files() -> list[Path]:
    """The repository's files: tracked, and new ones git does not ignore."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        check=True,
    ).stdout.decode()
    return [REPO_ROOT / name for name in listed.split("\0") if (REPO_ROOT / name).is_file()]


def test_the_readme_reads_in_minutes() -> None:
    # What the template is, its Quick start, its options and links: the rest has pages of its
    # own (CONTRIBUTING.md, docs/), where it does not push the Quick start down.
    lines = (REPO_ROOT / "README.md").read_text(encoding="utf-8").splitlines()

    assert len(lines) <= 120, len(lines)


# Tools of the workplace the template was built in, which its users do not have: no file may
# name one. Each name is put together from parts, so that this file does not contain it and is
# checked like every other. The word "duplicates" is English too; only its forms as a command
# (in backticks, at the start of a command line, with an option) name the tool.
WORKPLACE_TOOL = re.compile(
    "|".join(
        [
            r"\bfarm" + r"-[a-z]",
            r"`" + r"duplicates\b",
            r"^\s*(?:\$\s+)?" + r"duplicates\s",
            r"\b" + r"duplicates\s+--?[a-z]",
            r"\bhelper" + r"[\s-]+agents?\b",
        ]
    ),
    re.IGNORECASE | re.MULTILINE,
)


def test_no_file_names_a_tool_its_users_do_not_have() -> None:
    named = {}
    for path in repository_files():
        text = path.read_bytes().decode("utf-8", "replace")
        if match := WORKPLACE_TOOL.search(text):
            line = text.count("\n", 0, match.start()) + 1
            named[f"{path.relative_to(REPO_ROOT)}:{line}"] = text.splitlines()[line - 1]

    assert named == {}
    assert Path(__file__) in repository_files()  # this file was checked too


# The generated project's layout is listed once, in its ownership page (which docs/ownership.md
# includes into the site): a second list goes stale the first time a file moves. A listing is a
# table row whose first cell is a path of the project, or a line of a tree: a file or folder
# and, after a run of spaces, what it is for.
LAYOUT_LINE = re.compile(
    r"^\| `(?:src|tests|migrations|docs)/" + r"|^\s*[\w.<>-]+(?:/|\.py)\s{2,}\S", re.MULTILINE
)
LAYOUT_PAGE = "template/docs/ownership.md"


def test_only_the_ownership_page_lists_the_generated_projects_layout() -> None:
    listing = {
        str(path.relative_to(REPO_ROOT))
        for path in repository_files()
        if path.name.endswith((".md", ".jinja"))
        and LAYOUT_LINE.search(path.read_text(encoding="utf-8"))
    }

    assert listing == {LAYOUT_PAGE}


def test_the_timing_script_times_each_commit_on_a_fresh_clone(tmp_path: Path) -> None:
    # On a repository of two commits that carries the script: each clone is at its commit and
    # set up before the timed command runs, and a failing command is reported as failed.
    repository = tmp_path / "repository"
    (repository / "scripts").mkdir(parents=True)
    shutil.copy2(REPO_ROOT / "scripts/time-meta-suite.sh", repository / "scripts")
    commits = []
    for content in ("first", "second"):
        (repository / "version").write_text(content, encoding="utf-8")
        for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", content]):
            subprocess.run(
                ["git", "-c", "user.name=ci", "-c", "user.email=ci@localhost", *command],
                cwd=repository,
                check=True,
            )
        head = ["git", "rev-parse", "HEAD"]
        commits.append(subprocess.check_output(head, cwd=repository, text=True).strip())
    env = {
        **os.environ,
        "TMPDIR": str(tmp_path),
        "SETUP": "echo set up > setup-ran",
        "COMMAND": 'cat setup-ran version && sleep 0.2 && [ "$(cat version)" = first ]',
    }

    completed = subprocess.run(
        ["bash", "scripts/time-meta-suite.sh", *commits],
        cwd=repository,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
        timeout=60,
    )

    assert completed.returncode == 1, completed.stdout  # the second commit's command failed
    rows = [line.split() for line in completed.stdout.splitlines()[1:]]
    assert [row[0] for row in rows] == [commit[:12] for commit in commits], completed.stdout
    assert [row[4] for row in rows] == ["0", "1"], completed.stdout
    for (_, wall, user, system, _, log), content in zip(rows, ["first", "second"], strict=True):
        assert float(wall) >= 0.2, completed.stdout
        assert min(float(user), float(system)) >= 0, completed.stdout  # numbers, both
        assert Path(log).read_text(encoding="utf-8") == f"set up\n{content}", log
