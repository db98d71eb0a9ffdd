"""The generated pre-commit configuration: ruff and the standard hygiene hooks."""

import re
from importlib.metadata import version
from pathlib import Path

import yaml

STANDARD_HOOKS = {
    "https://github.com/pre-commit/pre-commit-hooks": {
        "check-merge-conflict",
        "check-yaml",
        "check-toml",
        "end-of-file-fixer",
        "trailing-whitespace",
    },
    "https://github.com/astral-sh/ruff-pre-commit": {"ruff-check", "ruff-format"},
}


def test_pre_commit_runs_ruff_and_the_standard_hygiene_hooks(project: Path) -> None:
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())
    hooks = {repo["repo"]: {hook["id"] for hook in repo["hooks"]} for repo in config["repos"]}
    revs = {repo["repo"]: repo["rev"] for repo in config["repos"]}

    assert hooks == STANDARD_HOOKS
    assert all(re.fullmatch(r"v\d+\.\d+\.\d+", rev) for rev in revs.values())
    # pre-commit's ruff is the ruff this template's own checks run with.
    assert revs["https://github.com/astral-sh/ruff-pre-commit"] == f"v{version('ruff')}"
