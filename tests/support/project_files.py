"""The files a rendered project ships, parsed: its answers, dependency groups, CI workflow and
Dockerfile."""

import re
import tomllib
from pathlib import Path
from typing import Any

import yaml
from packaging.requirements import Requirement


def answers_of(project: Path) -> dict[str, Any]:
    answers: dict[str, Any] = yaml.safe_load((project / ".copier-answers.yml").read_text())
    return answers


def dev_group(project: Path) -> set[str]:
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    return {Requirement(spec).name for spec in pyproject["dependency-groups"]["dev"]}


def workflow(project: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    return loaded


def workflow_commands(project: Path) -> list[str]:
    """Every shell command of every `run:` step, in job order (`&&` chains split)."""
    commands = []
    for job in workflow(project)["jobs"].values():
        for step in job["steps"]:
            for line in step.get("run", "").splitlines():
                commands += [part.strip() for part in line.split("&&") if part.strip()]
    return commands


def dockerfile_instructions(project: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    text = (project / "Dockerfile").read_text(encoding="utf-8")
    logical = re.sub(r"\\\n\s*", " ", text)
    instructions = []
    for line in logical.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, arguments = line.strip().partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def stages(project: Path) -> list[list[tuple[str, str]]]:
    split: list[list[tuple[str, str]]] = []
    for instruction in dockerfile_instructions(project):
        if instruction[0] == "FROM":
            split.append([])
        split[-1].append(instruction)
    return split


def instructions_of(stage: list[tuple[str, str]], keyword: str) -> list[str]:
    return [arguments for name, arguments in stage if name == keyword]


def copied_sources(project: Path) -> list[str]:
    sources = []
    for keyword, arguments in dockerfile_instructions(project):
        words = arguments.split()
        if keyword == "COPY" and not words[0].startswith("--from="):
            sources += words[:-1]
    return sources


def dockerignore(project: Path) -> set[str]:
    lines = (project / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}
