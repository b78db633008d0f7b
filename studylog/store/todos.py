"""To-dos across notes: every checkbox item from the index, and ticking one in its file.

Ticking changes one byte of the note (` ` ↔ `x`) and nothing else: the encoding, a BOM and
the line endings stay as they were. It is refused when the file is not the one the index
read (its hash differs), so an edit made meanwhile in an editor is never overwritten."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import sqlite_utils

    from studylog.paths import Workspace

TodoFilter = Literal["all", "open", "done"]

# A checkbox list item: optional blockquote marks, a bullet or a number, then `[ ]`/`[x]`.
_CHECKBOX = re.compile(r"^[ \t]*(?:>[ \t]?)*[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+\[(?P<mark>[ xX])\]")
# Line ends as the reader counts them: \r\n, \r or \n (none is ever a CP949 trail byte).
_EOL = re.compile(rb"\r\n|\r|\n")


class TodoError(Exception):
    """A to-do could not be ticked: the message names the file and what to do."""


@dataclass
class TodoItem:
    path: str  # as the store keeps it (Workspace.label: its place)
    title: str
    date: str | None
    topic: str | None
    line: int  # 1-based line of the item in the file
    text: str
    done: bool
    hash: str | None = None  # the file's hash when it was read: ticking checks it

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "title": self.title,
            "date": self.date,
            "topic": self.topic,
            "line": self.line,
            "text": self.text,
            "done": self.done,
        }


def list_todos(db: sqlite_utils.Database, which: TodoFilter = "all") -> list[TodoItem]:
    """Every to-do of every indexed note, grouped by note, newest note first (undated last),
    items in the note's order."""
    where = {"all": "", "open": " AND t.done = 0", "done": " AND t.done = 1"}[which]
    rows = db.execute(
        "SELECT n.path, n.title, n.date, n.topic, t.line, t.text, t.done, n.hash "
        "FROM todos t JOIN notes n ON n.id = t.note_id WHERE 1" + where + " "
        "ORDER BY n.date IS NULL, n.date DESC, n.path, t.position"
    )
    return [
        TodoItem(path, title, date, topic, line, text, bool(done), digest)
        for path, title, date, topic, line, text, done, digest in rows
    ]


def tick_todo(workspace: Workspace, item: TodoItem) -> bool:
    """Flip `item`'s checkbox in its file; the new state (True: done). `item` is updated
    (done, and the hash of the file as now written); re-index afterwards.

    Raises TodoError when the file changed since the item was read (its hash differs), when
    that line holds no checkbox, or when the file cannot be written."""
    path, line = item.path, item.line
    file = workspace.note_file(path)
    label = workspace.label(path)
    try:
        with open(file, "r+b") as handle:
            data = handle.read()
            if hashlib.blake2b(data, digest_size=16).hexdigest() != item.hash:
                raise TodoError(
                    f"{label} changed on disk since it was read; nothing was written. "
                    "The list is being refreshed: tick the item again."
                )
            offset, new = _checkbox_offset(data, line, label)
            handle.seek(offset)
            handle.write(new)
            changed = data[:offset] + new + data[offset + 1 :]
    except FileNotFoundError as exc:
        raise TodoError(f"{label} is gone (moved or removed?); nothing was written") from exc
    except OSError as exc:
        raise TodoError(f"{label}: cannot write the to-do ({exc.strerror or exc})") from exc
    item.done = new == b"x"
    item.hash = hashlib.blake2b(changed, digest_size=16).hexdigest()
    return item.done


def _checkbox_offset(data: bytes, line: int, label: str) -> tuple[int, bytes]:
    """The byte offset of the mark inside the checkbox at `line`, and the byte to put there;
    `label` names the note in a message."""
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    for _ in range(line - 1):
        match = _EOL.search(data, start)
        if match is None:
            raise TodoError(f"{label} has no line {line}; re-index and try again")
        start = match.end()
    end_match = _EOL.search(data, start)
    raw = data[start : end_match.start() if end_match else len(data)]
    # The file's encoding, decided as the reader decides it: UTF-8, else CP949.
    try:
        data.decode("utf-8")
        encoding = "utf-8"
    except UnicodeDecodeError:
        encoding = "cp949"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise TodoError(f"{label}: line {line} is not readable text") from exc
    m = _CHECKBOX.match(text)
    if m is None:
        raise TodoError(f"{label}: line {line} holds no checkbox; re-index and try again")
    offset = start + len(text[: m.start("mark")].encode(encoding))
    old = data[offset : offset + 1]
    if old not in (b" ", b"x", b"X"):  # the encoding round trip did not land on the mark
        raise TodoError(f"{label}: cannot find the checkbox on line {line}")
    return offset, b" " if old != b" " else b"x"
