"""The objects a note becomes: Note, Lecture, Section, Todo, Snippet (plain data, no I/O)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

SnippetSource = Literal["fence", "link", "front_matter"]
SectionKind = Literal["heading", "details"]

# How deep `<details>` sections nest in a note's outline and display. Real notes nest a
# few levels; a note nesting thousands would exhaust the recursion of every tree walker
# (the store, the export, the TUI), and the TUI's layout slows with each level, so deeper
# sections are flattened into the last kept one, with a warning.
MAX_DETAILS_DEPTH = 8


@dataclass
class Lecture:
    number: str | None
    title: str | None = None

    def label(self) -> str:
        """`Lecture 2 · Optimization`, or whichever half the note gives."""
        number = f"Lecture {self.number}" if self.number else ""
        return " · ".join(part for part in (number, self.title or "") if part)

    def to_json(self) -> dict[str, object]:
        number: object = self.number
        if self.number is not None and self.number.isdigit():
            number = int(self.number)
        return {"number": number, "title": self.title}


@dataclass
class Section:
    title: str
    kind: SectionKind
    level: int  # heading level 1-6; for <details>, one below its container
    line: int  # 1-based source line
    open: bool = True  # <details open> or a heading
    children: list[Section] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "title": self.title,
            "kind": self.kind,
            "line": self.line,
            "children": [c.to_json() for c in self.children],
        }


@dataclass
class Todo:
    text: str
    done: bool
    line: int

    def to_json(self) -> dict[str, object]:
        return {"text": self.text, "done": self.done, "line": self.line}


@dataclass
class Snippet:
    name: str
    source: SnippetSource
    line: int
    path: str | None = None  # workspace-relative POSIX path for linked / listed files
    code: str | None = None  # the code of a fenced snippet
    attrs: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "source": self.source,
            "path": self.path,
            "line": self.line,
            "attrs": self.attrs,
        }


@dataclass
class Note:
    path: str  # POSIX path under notes/
    title: str
    date: dt.date | None = None
    topic: str | None = None
    lectures: list[Lecture] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    todos: list[Todo] = field(default_factory=list)
    snippets: list[Snippet] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    body: str = ""  # the markdown after the front matter, for search and excerpts


@dataclass(frozen=True)
class ParseOptions:
    """How to read a note: settings, and where the note lies in the workspace."""

    day_first: bool = False  # 22.01.25 as 22 January 2025
    from_folders: bool = True  # topic and lecture from folder names when nothing else says
    base: str = "notes"  # the workspace-relative folder note paths are relative to
    inner: str | None = None  # the path inside its notes folder (folder names are read here)
