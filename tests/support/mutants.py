"""Mutants: copies of a rendered project with one change, which its own suite must catch."""

import shutil
from pathlib import Path


def replace_once(root: Path, relative: str, old: str, new: str) -> None:
    target = root / relative
    source = target.read_text(encoding="utf-8")
    assert source.count(old) == 1, f"{old!r} must occur once in {relative}"
    target.write_text(source.replace(old, new), encoding="utf-8")


def mutate(project: Path, tmp_path: Path, relative: str, old: str, new: str) -> Path:
    copy = shutil.copytree(project, tmp_path / "mutant")
    replace_once(copy, relative, old, new)
    return copy
