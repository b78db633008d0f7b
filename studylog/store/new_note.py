"""Making today's note: the template (the workspace's own or a built-in one in the house
style of its notes), the topic and next lecture the notes suggest, a name in the notes'
pattern, and a file written once, never over another."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from studylog.notes.template import (
    FRONT_MATTER_TEMPLATE,
    HEADER_TEMPLATE,
    NoteFields,
    TemplateError,
    fill,
    free_name,
    note_name,
    slug,
)
from studylog.paths import POSTS_DIR

if TYPE_CHECKING:
    import sqlite_utils

    from studylog.paths import Workspace

TEMPLATES_DIR = "templates"


class NewNoteError(Exception):
    """The note could not be made: the message names the file and the cause."""


@dataclass
class Suggestion:
    topic: str | None  # the newest note's topic
    lecture: str | None  # the next lecture number of that topic
    like: str | None  # the newest note's path: the pattern for the new name


def suggest(db: sqlite_utils.Database, topic: str | None = None) -> Suggestion:
    """What the notes suggest for a new one: the newest note's topic (or `topic`), the
    lecture after the highest of that topic, and the newest note of that topic to name by."""
    newest = db.execute(
        "SELECT path, topic FROM notes WHERE readable ORDER BY date IS NULL, date DESC, "
        "indexed_at DESC LIMIT 1"
    ).fetchone()
    if topic is None and newest is not None:
        topic = newest[1]
    like = newest[0] if newest else None
    lecture = None
    if topic:
        same = db.execute(
            "SELECT path FROM notes WHERE topic = ? ORDER BY date IS NULL, date DESC LIMIT 1",
            [topic],
        ).fetchone()
        like = same[0] if same else like
        numbers = [
            int(n)
            for (n,) in db.execute(
                "SELECT l.number FROM note_lectures l JOIN notes n ON n.id = l.note_id "
                "WHERE n.topic = ?",
                [topic],
            )
            if n is not None and str(n).isdigit()
        ]
        lecture = str(max(numbers) + 1) if numbers else None
    return Suggestion(topic, lecture, like)


def template_text(
    workspace: Workspace, like: str | None, name: str | None = None
) -> tuple[str, str]:
    """(text, where it came from): templates/NAME.md, else the workspace's only or first
    template, else a built-in one in the style of the note `like`."""
    folder = workspace.root / TEMPLATES_DIR
    if name is not None:
        path = folder / (name if name.endswith(".md") else f"{name}.md")
        if not path.is_file():
            raise NewNoteError(f"{path}: no such template")
        candidates = [path]
    else:
        candidates = sorted(folder.glob("*.md")) if folder.is_dir() else []
    if candidates:
        path = candidates[0]
        try:
            return path.read_text(encoding="utf-8-sig"), str(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise NewNoteError(f"{path}: cannot read the template ({exc})") from exc
    if like is not None:
        try:
            head = workspace.note_file(like).read_bytes()[:4096]
        except OSError:
            head = b""
        if not head.lstrip(b"\xef\xbb\xbf").startswith(b"---") and b">" in head:
            return HEADER_TEMPLATE, "the built-in header-block template"
    return FRONT_MATTER_TEMPLATE, "the built-in front-matter template"


def create_note(
    db: sqlite_utils.Database,
    workspace: Workspace,
    *,
    title: str | None = None,
    topic: str | None = None,
    lecture: str | None = None,
    today: dt.date | None = None,
    template: str | None = None,
) -> Path:
    """Write today's note and return its path; never overwrites a file."""
    day = today or dt.date.today()
    hint = suggest(db, topic)
    fields = NoteFields(
        title=title or day.isoformat(),
        date=day,
        topic=topic or hint.topic or "",
        lecture=lecture if lecture is not None else (hint.lecture or ""),
    )
    text, source = template_text(workspace, hint.like, template)
    try:
        content = fill(text, fields, source)
    except TemplateError as exc:
        raise NewNoteError(str(exc)) from exc
    notes = workspace.notes_dir
    taken = {
        p.relative_to(notes).as_posix()
        for folder in workspace.note_folders
        if folder.is_dir()
        for p in folder.rglob("*.md")
    }
    relative = free_name(_new_name(workspace, hint.like, day, title, sorted(taken)), taken)
    for _ in range(100):
        target = notes / relative
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "x", encoding="utf-8", newline="\n") as handle:  # x: never over
                handle.write(content)
            return target
        except FileExistsError:
            taken.add(relative)
            relative = free_name(relative, taken)
        except OSError as exc:
            raise NewNoteError(
                f"cannot write {target}: {exc.strerror or exc}. Check that the folder is "
                "writable; nothing was written."
            ) from exc
    raise NewNoteError(f"cannot find a free name for {relative}")


def _new_name(
    workspace: Workspace, like: str | None, day: dt.date, title: str | None, taken: list[str]
) -> str:
    """The new note's path (as the store keeps note paths): in a Jekyll site a dated post
    under `_posts/` (Jekyll publishes only `YYYY-MM-DD-title.md` there); elsewhere in the
    pattern of the note `like`, inside the first notes folder when there is none."""
    if POSTS_DIR in workspace.note_dirs:
        folder = like.rpartition("/")[0] if like and like.startswith(POSTS_DIR + "/") else ""
        return f"{folder or POSTS_DIR}/{day.isoformat()}-{slug(title or 'note')}.md"
    name = note_name(like, day, title or "note", taken)
    if like is None and workspace.notes_base == "" and workspace.note_dirs[0] != ".":
        return f"{workspace.note_dirs[0].rstrip('/')}/{name}"
    return name
