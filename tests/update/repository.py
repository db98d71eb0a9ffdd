"""`copier update` under test: tagged template versions, owner commits, conflict reports.

Copier renders a git template at a tag and updates a project from the tag in its answers file
to another one. It exits 0 even when the update conflicts, so `find_conflicts` looks for every
trace a conflict leaves: markers in files, `.rej` files and paths git reports as unmerged.
"""

import io
import re
import shutil
import subprocess
import tarfile
import time
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from copier import run_update

from tests.support.rendering import REPO_ROOT, render, snapshot_working_tree

# Every release's commit, by version: what owners' services were generated from.
RELEASES: dict[str, str] = tomllib.loads((REPO_ROOT / "releases.toml").read_text())["releases"]

# Commits made here must not depend on the machine's git configuration.
GIT_CONFIG = (
    "-c", "user.name=Meta Suite", "-c", "user.email=meta-suite@example.com",
    "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", "-c", "init.defaultBranch=main",
    "-c", "core.hooksPath=/dev/null",
)  # fmt: skip
MARKER = re.compile(r"^(<{7}|>{7})( |$)", re.MULTILINE)


def git(cwd: Path, *args: str) -> str:
    completed = subprocess.run(
        ["git", *GIT_CONFIG, *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {cwd}:\n{completed.stderr}")
    return completed.stdout


def commit_all(repository: Path, message: str) -> None:
    git(repository, "add", "--all")
    git(repository, "commit", "--quiet", "--allow-empty", "-m", message)


class TemplateRepository:
    """A throwaway git repository of this template whose tags are template versions."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True)
        git(path, "init", "--quiet")

    def release(self, version: str, message: str) -> str:
        commit_all(self.path, message)
        git(self.path, "tag", version)
        return version

    def replace_with_working_tree(self) -> None:
        """Make the tree this checkout's working tree, uncommitted changes included."""
        self._clear()
        snapshot_working_tree(self.path, dirs_exist_ok=True)

    def replace_with_commit(self, commit: str) -> None:
        """Make the tree that of a commit in this checkout's history."""
        self._clear()
        extract_commit(commit, self.path)

    def _clear(self) -> None:
        for entry in self.path.iterdir():
            if entry.name != ".git":
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


def extract_commit(commit: str, destination: Path) -> Path:
    """The tree of a commit in this checkout's history, written to `destination`."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit],
        cwd=REPO_ROOT,
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        raise RuntimeError(
            f"commit {commit} is not in this checkout's history (a shallow clone? fetch "
            f"the full history):\n{archive.stderr.decode(errors='replace')}"
        )
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(destination, filter="data")
    return destination


def render_version(
    template: TemplateRepository, version: str, destination: Path, answers: Mapping[str, Any]
) -> Path:
    return render(template.path, destination, answers, vcs_ref=version)


def generate(
    template: TemplateRepository, version: str, destination: Path, answers: Mapping[str, Any]
) -> Path:
    """Generate a project from a template version and commit it, as a team would."""
    render_version(template, version, destination, answers)
    git(destination, "init", "--quiet")
    commit_all(destination, f"Generate from template {version}")
    return destination


def update(project: Path, version: str, conflict: Literal["inline", "rej"] = "inline") -> float:
    """Update a committed project to a template version; the seconds it took."""
    started = time.perf_counter()
    run_update(
        str(project),
        vcs_ref=version,
        defaults=True,
        overwrite=True,
        quiet=True,
        unsafe=False,
        conflict=conflict,
    )
    return time.perf_counter() - started


@dataclass
class Conflicts:
    markers: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    unmerged: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.markers or self.rejected or self.unmerged)

    def __str__(self) -> str:
        lines = [f"conflict marker at {where}" for where in self.markers]
        lines += [f"rejected hunks in {path}" for path in self.rejected]
        lines += [f"unmerged in git: {path}" for path in self.unmerged]
        return "\n".join(lines) or "no conflicts"


def find_conflicts(project: Path) -> Conflicts:
    """Every trace of a conflicting update in a project's files (tracked or not ignored)."""
    conflicts = Conflicts()
    listed = git(project, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in sorted(set(filter(None, listed.split("\0")))):
        path = project / name
        if name.endswith(".rej"):
            conflicts.rejected.append(name)
        if path.is_file():
            conflicts.markers += [f"{name}:{line}" for line in marker_lines(path)]
    # One "<mode> <object> <stage>\t<path>" entry per conflicting stage.
    unmerged = filter(None, git(project, "ls-files", "-z", "--unmerged").split("\0"))
    conflicts.unmerged = sorted({entry.split("\t", 1)[1] for entry in unmerged})
    return conflicts


def marker_lines(path: Path) -> list[int]:
    text = path.read_bytes().decode("utf-8", errors="replace")
    return [text.count("\n", 0, match.start()) + 1 for match in MARKER.finditer(text)]


def assert_merged_cleanly(project: Path) -> None:
    conflicts = find_conflicts(project)
    assert not conflicts, f"the update left conflicts in {project}:\n{conflicts}"


def template_files(project: Path, folder: str) -> dict[str, str]:
    """The files under a folder of a project, by relative path, for comparing renders."""
    return {
        path.relative_to(project).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted((project / folder).rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }
