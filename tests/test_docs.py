"""The documentation site (mkdocs) describes the template as it is."""

import re
from pathlib import Path

import pytest

from tests.support.project_files import dev_group
from tests.support.rendering import REPO_ROOT, asked_questions

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
        ("## Nothing real beyond the test database", "tests/harness/test_outside_world.py"),
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
