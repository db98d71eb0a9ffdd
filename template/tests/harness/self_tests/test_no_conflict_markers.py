"""Fail on what an unfinished merge leaves behind.

`copier update` (like git) reports a conflict and still exits 0: it writes conflict markers
into the file, or with `--conflict rej` a `.rej` file next to it. This test keeps either from
being committed unnoticed.
"""

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests.harness.paths import PROJECT_ROOT

# Built from pieces so this file does not contain a marker itself.
MARKER = re.compile("^(" + "<" * 7 + "|" + ">" * 7 + ")( |$)", re.MULTILINE)
# Skipped when the project is not a git checkout (where .gitignore decides instead).
NOT_PROJECT_FILES = {".git", ".venv", "venv", "node_modules", "__pycache__", "build", "dist"}


def project_files() -> Iterator[Path]:
    """The files git would consider (tracked or not ignored), or every file outside a checkout."""
    try:
        listing = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        for folder, subfolders, files in os.walk(PROJECT_ROOT):
            subfolders[:] = [
                name
                for name in subfolders
                if name not in NOT_PROJECT_FILES and not name.endswith("_cache")
            ]
            yield from (Path(folder, name) for name in files)
        return
    for name in listing.decode().split("\0"):
        if name:
            yield PROJECT_ROOT / name


def conflict_markers(path: Path) -> list[int]:
    """Line numbers of conflict markers in a text file (none in a binary or missing one)."""
    try:
        content = path.read_bytes()
    except OSError:  # listed by git but deleted in the working tree
        return []
    if b"\0" in content:
        return []
    text = content.decode("utf-8", errors="replace")
    return [text.count("\n", 0, match.start()) + 1 for match in MARKER.finditer(text)]


def test_no_conflict_markers_or_rejected_hunks() -> None:
    leftovers = []
    for path in project_files():
        relative = path.relative_to(PROJECT_ROOT).as_posix()
        if path.suffix == ".rej":
            leftovers.append(f"{relative}: rejected hunks from an update, merge them by hand")
        leftovers.extend(f"{relative}:{line}: conflict marker" for line in conflict_markers(path))

    assert leftovers == [], "unresolved merge:\n" + "\n".join(leftovers)
