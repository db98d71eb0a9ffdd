"""Edits to files of a rendered project: the owner's changes in the update tests, a new domain,
startup code. Each is applied once and can be looked for afterwards."""

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal


@dataclass(frozen=True)
class Edit:
    """A change to one file, adding `new`: in place of `old`, which must occur exactly once
    (`position` "before" or "after" keeps `old` and puts `new` next to it), or, when `old` is
    empty, at the end of the file, which is created if needed."""

    path: str
    new: str
    old: str = ""
    position: Literal["replace", "before", "after"] = "replace"

    def apply(self, root: Path) -> None:
        target = root / self.path
        if not self.old:
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("a", encoding="utf-8") as file:
                file.write(self.new)
            return
        text = target.read_text(encoding="utf-8")
        if text.count(self.old) != 1:
            raise AssertionError(f"{self.old!r} must occur exactly once in {self.path}")
        placed = {"replace": self.new, "before": self.new + self.old, "after": self.old + self.new}
        target.write_text(text.replace(self.old, placed[self.position]), encoding="utf-8")

    def is_present(self, root: Path) -> bool:
        target = root / self.path
        return target.is_file() and self.new in target.read_text(encoding="utf-8")


def apply_edits(root: Path, edits: Iterable[Edit]) -> None:
    for edit in edits:
        edit.apply(root)


def missing_edits(root: Path, edits: Iterable[Edit]) -> list[Edit]:
    return [edit for edit in edits if not edit.is_present(root)]
