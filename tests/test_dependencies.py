"""The generated project asks for the versions this repository tests it with: one floor per
package, no package listed twice."""

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

from tests.support.rendering import REPO_ROOT


def requirements(pyproject: Path, *groups: str) -> list[Requirement]:
    loaded = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    listed = list(loaded["project"]["dependencies"]) if "project" in loaded else []
    for group in groups:
        listed += loaded["dependency-groups"][group]
    return [Requirement(entry) for entry in listed]


def floor(requirement: Requirement) -> Version:
    (bound,) = [spec for spec in requirement.specifier if spec.operator in (">=", "==")]
    return Version(bound.version)


def test_each_package_is_listed_once(project: Path) -> None:
    names = [requirement.name for requirement in requirements(project / "pyproject.toml", "dev")]
    assert sorted(names) == sorted(set(names))


def test_the_projects_floors_are_the_versions_tested_here(project: Path) -> None:
    tested = {req.name: req for req in requirements(REPO_ROOT / "pyproject.toml", "dev")}
    for requirement in requirements(project / "pyproject.toml", "dev"):
        ours = tested.get(requirement.name)
        assert ours is not None, f"{requirement.name} is not installed by the meta-suite"
        if any(spec.operator == "==" for spec in ours.specifier):
            # A pinned tool: the project's floor is its minor version.
            pinned = floor(ours)
            assert floor(requirement) == Version(f"{pinned.major}.{pinned.minor}"), requirement
        else:
            assert floor(requirement) == floor(ours), (requirement, ours)
