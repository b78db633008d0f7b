"""Reading the note index: summaries for lists, one note in full, NOTE arguments resolved."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from studylog.notes.model import Lecture, Section, Snippet, Todo

if TYPE_CHECKING:
    import sqlite_utils

    from studylog.paths import Workspace


class NoteNotFound(LookupError):
    """A NOTE argument matched no note, or more than one: the message lists what to type."""


@dataclass
class NoteSummary:
    id: int
    path: str
    title: str
    date: str | None
    topic: str | None
    lectures: list[Lecture] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    snippet_count: int = 0
    todo_count: int = 0
    todos_done: int = 0
    warnings: list[str] = field(default_factory=list)
    readable: bool = True  # False: the file could not be read as a note (see warnings)

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "title": self.title,
            "date": self.date,
            "topic": self.topic,
            "lectures": [lec.to_json() for lec in self.lectures],
            "tags": self.tags,
            "snippets": self.snippet_count,
            "todos": {"open": self.todo_count - self.todos_done, "done": self.todos_done},
            "warnings": self.warnings,
        }


@dataclass
class NoteDetail:
    summary: NoteSummary
    body: str
    sections: list[Section]
    todos: list[Todo]
    snippets: list[Snippet]

    def to_json(self) -> dict[str, object]:
        data = self.summary.to_json()
        data["sections"] = [s.to_json() for s in self.sections]
        data["todos"] = [t.to_json() for t in self.todos]
        data["snippets"] = [s.to_json() for s in self.snippets]
        return data


# Counts by correlated subqueries: each is a primary-key range lookup, so one note costs
# microseconds (joining grouped subqueries aggregated every note's rows on each call).
_SUMMARY_SQL = """
    SELECT n.id, n.path, n.title, n.date, n.topic, n.warnings,
           (SELECT count(*) FROM snippets s WHERE s.note_id = n.id),
           (SELECT count(*) FROM todos t WHERE t.note_id = n.id),
           (SELECT coalesce(sum(done), 0) FROM todos t WHERE t.note_id = n.id),
           n.readable
    FROM notes n
"""


def _summaries(
    db: sqlite_utils.Database, where: str = "", params: list[object] | None = None
) -> list[NoteSummary]:
    notes = [
        NoteSummary(
            id=row[0],
            path=row[1],
            title=row[2],
            date=row[3],
            topic=row[4],
            warnings=json.loads(row[5]) if row[5] != "[]" else [],
            snippet_count=row[6],
            todo_count=row[7],
            todos_done=row[8],
            readable=bool(row[9]),
        )
        for row in db.execute(
            _SUMMARY_SQL + where + " ORDER BY n.date IS NULL, n.date, n.path", params or []
        )
    ]
    if not notes:
        return notes
    by_id = {n.id: n for n in notes}
    ids_filter = "" if not where else f" WHERE note_id IN ({','.join(str(i) for i in by_id)})"
    for note_id, number, title in db.execute(
        f"SELECT note_id, number, title FROM note_lectures{ids_filter} ORDER BY note_id, position"
    ):
        if note_id in by_id:
            by_id[note_id].lectures.append(Lecture(number, title))
    tags: dict[int, list[str]] = defaultdict(list)
    for note_id, tag in db.execute(
        f"SELECT note_id, tag FROM note_tags{ids_filter} ORDER BY rowid"
    ):
        tags[note_id].append(tag)
    for note_id, note_tags in tags.items():
        if note_id in by_id:
            by_id[note_id].tags = note_tags
    return notes


def list_notes(db: sqlite_utils.Database) -> list[NoteSummary]:
    """Every indexed note, by date (undated last), then path."""
    return _summaries(db)


def _label(workspace: Workspace | None, path: str) -> str:
    """How messages name the note at `path`: its place in the workspace (a classic
    workspace's notes/ folder when no workspace is given)."""
    return workspace.label(path) if workspace is not None else f"notes/{path}"


def resolve_note(db: sqlite_utils.Database, query: str, workspace: Workspace | None = None) -> str:
    """The path of the one note `query` names: its place in the workspace (`notes/x.md` in a
    classic one, `_posts/x.md` in a blog), a path as the store keeps it, or any unambiguous
    part of one. Messages name notes by their place in `workspace` (classic when None)."""
    base = workspace.notes_base if workspace is not None else "notes"
    wanted = query.strip().replace("\\", "/").removeprefix("./")
    if base:
        wanted = wanted.removeprefix(f"{base}/")
    paths = [row[0] for row in db.execute("SELECT path FROM notes ORDER BY path")]
    if wanted in paths:
        return wanted
    for candidate in (wanted, wanted + ".md"):
        if candidate in paths:
            return candidate
    lowered = wanted.lower()
    matches = [p for p in paths if lowered in p.lower()]
    if len(matches) > 1:
        # A query that is a whole file name (stem) wins over paths that merely contain it.
        stems = [p for p in matches if p.rsplit("/", 1)[-1].lower().removesuffix(".md") == lowered]
        if len(stems) == 1:
            return stems[0]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise NoteNotFound(
            f"no note matches {query!r}; `studylog list` shows every note, "
            f"`studylog search {query}` searches their text"
        )
    shown = "\n  ".join(_label(workspace, p) for p in matches[:10])
    more = f"\n  … and {len(matches) - 10} more" if len(matches) > 10 else ""
    raise NoteNotFound(
        f"{query!r} matches {len(matches)} notes; be more specific:\n  {shown}{more}"
    )


def get_note(
    db: sqlite_utils.Database, path: str, workspace: Workspace | None = None
) -> NoteDetail:
    """One note in full: summary, outline, to-dos and snippets. A message names the note by
    its place in `workspace` (classic when None)."""
    found = _summaries(db, " WHERE n.path = ?", [path])
    if not found:
        raise NoteNotFound(f"no note at {_label(workspace, path)}")
    summary = found[0]
    body = db.execute("SELECT body FROM notes WHERE id = ?", [summary.id]).fetchone()[0]
    return NoteDetail(
        summary=summary,
        body=body,
        sections=_sections(db, summary.id),
        todos=[
            Todo(text, bool(done), line)
            for text, done, line in db.execute(
                "SELECT text, done, line FROM todos WHERE note_id = ? ORDER BY position",
                [summary.id],
            )
        ],
        snippets=[
            Snippet(
                name=name, source=source, line=line, path=spath, code=code, attrs=json.loads(attrs)
            )
            for name, source, spath, code, attrs, line in db.execute(
                "SELECT name, source, path, code, attrs, line FROM snippets "
                "WHERE note_id = ? ORDER BY position",
                [summary.id],
            )
        ],
    )


def _sections(db: sqlite_utils.Database, note_id: int) -> list[Section]:
    roots: list[Section] = []
    by_position: dict[int, Section] = {}
    for position, parent, kind, level, title, line, is_open in db.execute(
        "SELECT position, parent, kind, level, title, line, open FROM sections "
        "WHERE note_id = ? ORDER BY position",
        [note_id],
    ):
        section = Section(title=title, kind=kind, level=level, line=line, open=bool(is_open))
        by_position[position] = section
        (by_position[parent].children if parent is not None else roots).append(section)
    return roots
