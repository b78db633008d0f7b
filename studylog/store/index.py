"""Incremental indexing of notes/ into the store: only changed files are read and parsed.

A file is unchanged when its size and mtime match; else its bytes are hashed, and an
equal hash only refreshes the mtime. A new path whose hash equals a vanished path's is a
move: the note keeps its id, so whatever refers to it (runs) stays attached. Nothing here
touches runs."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from studylog.store.scan import NoteFile, Problem, scan_notes
from studylog.store.search import fts_text

if TYPE_CHECKING:
    import sqlite_utils

    from studylog.notes.model import Note, Section
    from studylog.paths import Workspace
    from studylog.settings import Settings

# Notes written per transaction: big enough to be fast, small enough that another
# writer (a run being recorded) never waits long.
BATCH = 500

Progress = Callable[[int, int], None]  # (done, total) over the files being read


@dataclass
class IndexReport:
    added: int = 0
    changed: int = 0
    moved: int = 0
    removed: int = 0
    unchanged: int = 0
    warnings: list[str] = field(default_factory=list)  # "notes/x.md: cause"

    @property
    def total(self) -> int:
        return self.added + self.changed + self.moved + self.unchanged

    def summary(self) -> str:
        parts = [
            f"{n} {label}"
            for n, label in (
                (self.added, "added"),
                (self.changed, "changed"),
                (self.moved, "moved"),
                (self.removed, "removed"),
            )
            if n
        ]
        return f"{self.total} notes" + (f" ({', '.join(parts)})" if parts else ", all up to date")


@dataclass
class _Known:
    id: int
    size: int | None
    mtime_ns: int | None
    hash: str | None
    readable: bool


@contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """BEGIN IMMEDIATE: take the write lock up front, so a second writer waits on the busy
    timeout instead of failing with "database is locked" when it upgrades a read."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def index_notes(
    db: sqlite_utils.Database,
    workspace: Workspace,
    settings: Settings,
    *,
    full: bool = False,
    progress: Progress | None = None,
) -> IndexReport:
    """Bring the store's note index up to date with `workspace`'s notes/."""
    report = IndexReport()
    scan = scan_notes(workspace.notes_dir)
    known = {
        row[0]: _Known(row[1], row[2], row[3], row[4], bool(row[5]))
        for row in db.execute("SELECT path, id, size, mtime_ns, hash, readable FROM notes")
    }
    to_read: list[NoteFile] = []
    for f in scan.files:
        k = known.get(f.path)
        if not full and k is not None and k.size == f.size and k.mtime_ns == f.mtime_ns:
            report.unchanged += 1
        else:
            to_read.append(f)
    present = {f.path for f in scan.files} | {p.path for p in scan.problems if p.is_note}
    vanished = {path: k for path, k in known.items() if path not in present}
    by_hash = {k.hash: path for path, k in vanished.items() if k.hash}

    writer = _Writer(db)
    for done, f in enumerate(to_read, start=1):
        if progress is not None:
            progress(done, len(to_read))
        _index_file(workspace, settings, f, known, vanished, by_hash, writer, report, full)
    for problem in scan.problems:
        message = f"notes/{problem.path}: {problem.message}"
        report.warnings.append(message)
        if problem.is_note:
            writer.put_problem(problem, known.get(problem.path))
    writer.flush()
    if vanished:
        with write_transaction(db):
            for k in vanished.values():
                writer.delete(k.id)
        report.removed = len(vanished)
    return report


def _index_file(
    workspace: Workspace,
    settings: Settings,
    f: NoteFile,
    known: dict[str, _Known],
    vanished: dict[str, _Known],
    by_hash: dict[str, str],
    writer: _Writer,
    report: IndexReport,
    full: bool,
) -> None:
    from studylog.notes.parse import parse_note
    from studylog.notes.read import decode_note

    try:
        data = (workspace.notes_dir / f.path).read_bytes()
    except FileNotFoundError:
        report.warnings.append(f"notes/{f.path}: deleted while indexing; skipped")
        return
    except OSError as exc:
        problem = Problem(f.path, f"cannot read: {exc.strerror or exc}; skipped", True)
        if isinstance(exc, PermissionError):
            problem = Problem(
                f.path, "permission denied; skipped (check the file's permissions)", True
            )
        report.warnings.append(f"notes/{f.path}: {problem.message}")
        writer.put_problem(problem, known.get(f.path))
        return
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    k = known.get(f.path)
    if k is not None and k.hash == digest and not full:
        writer.touch(k.id, f)
        report.unchanged += 1
        return
    note_id = k.id if k is not None else None
    if note_id is None and digest in by_hash:
        moved_from = by_hash.pop(digest)
        note_id = vanished.pop(moved_from).id
        report.moved += 1
    elif k is None:
        report.added += 1
    else:
        report.changed += 1
    decoded = decode_note(data)
    if decoded.text is None:
        problem = Problem(f.path, "; ".join(decoded.warnings), True)
        report.warnings.append(f"notes/{f.path}: {problem.message}")
        writer.put_problem(problem, k, f, digest)
        return
    note = parse_note(decoded.text, f.path, day_first=settings.notes.day_first)
    note.warnings[:0] = decoded.warnings
    missing = [s.path for s in note.snippets if s.path and not (workspace.root / s.path).is_file()]
    note.warnings.extend(f"snippet file {p} does not exist" for p in missing)
    report.warnings.extend(f"notes/{f.path}: {w}" for w in note.warnings)
    writer.put(note, note_id, f, digest)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _meta(note: Note) -> str:
    lectures = " ".join(lec.title for lec in note.lectures if lec.title)
    return " ".join(filter(None, [note.topic or "", " ".join(note.tags), lectures]))


_NOTE_COLUMNS = (
    "path, title, date, topic, body, meta, warnings, readable, size, mtime_ns, hash, indexed_at"
)


class _Writer:
    """Buffers note rows and writes them BATCH at a time, each batch one transaction."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self.pending: list[tuple[Note, int | None, NoteFile | None, str | None, bool]] = []
        self.touched: list[tuple[int, int, int]] = []

    def put(self, note: Note, note_id: int | None, f: NoteFile, digest: str) -> None:
        self.pending.append((note, note_id, f, digest, True))
        if len(self.pending) >= BATCH:
            self.flush()

    def put_problem(
        self,
        problem: Problem,
        known: _Known | None,
        f: NoteFile | None = None,
        digest: str | None = None,
    ) -> None:
        from studylog.notes.model import Note, Section

        name = problem.path.rsplit("/", 1)[-1]
        note = Note(path=problem.path, title=name, warnings=[problem.message])
        self.pending.append((note, known.id if known else None, f, digest, False))

    def touch(self, note_id: int, f: NoteFile) -> None:
        self.touched.append((f.size, f.mtime_ns, note_id))

    def flush(self) -> None:
        if not self.pending and not self.touched:
            return
        with write_transaction(self.db):
            self.db.conn.executemany(
                "UPDATE notes SET size = ?, mtime_ns = ? WHERE id = ?", self.touched
            )
            for note, note_id, f, digest, readable in self.pending:
                if note_id is not None:
                    self._clear(note_id)
                self._insert(note, note_id, f, digest, readable)
        self.pending.clear()
        self.touched.clear()

    def delete(self, note_id: int) -> None:
        self._clear(note_id)
        self.db.execute("DELETE FROM notes WHERE id = ?", [note_id])

    def _clear(self, note_id: int) -> None:
        """Remove a note's derived rows; the notes row itself is rewritten in place."""
        row = self.db.execute(
            "SELECT title, body, meta FROM notes WHERE id = ?", [note_id]
        ).fetchone()
        if row is not None:
            # A contentless FTS5 table forgets a row only when told the text it indexed.
            self.db.execute(
                "INSERT INTO notes_fts (notes_fts, rowid, title, body, meta) "
                "VALUES ('delete', ?, ?, ?, ?)",
                [note_id, *map(fts_text, row)],
            )
        for table in ("note_lectures", "note_tags", "sections", "todos", "snippets"):
            self.db.execute(f"DELETE FROM {table} WHERE note_id = ?", [note_id])

    def _insert(
        self,
        note: Note,
        note_id: int | None,
        f: NoteFile | None,
        digest: str | None,
        readable: bool,
    ) -> None:
        meta = _meta(note)
        values = [
            note.path,
            note.title,
            note.date.isoformat() if note.date else None,
            note.topic,
            note.body,
            meta,
            json.dumps(note.warnings, ensure_ascii=False),
            int(readable),
            f.size if f else None,
            f.mtime_ns if f else None,
            digest,
            _now(),
        ]
        columns = _NOTE_COLUMNS
        if note_id is None:
            cursor = self.db.execute(
                f"INSERT INTO notes ({columns}) VALUES ({', '.join('?' * len(values))})", values
            )
            note_id = int(cursor.lastrowid or 0)
        else:
            assignments = ", ".join(f"{c.strip()} = ?" for c in columns.split(","))
            self.db.execute(f"UPDATE notes SET {assignments} WHERE id = ?", [*values, note_id])
        self.db.execute(
            "INSERT INTO notes_fts (rowid, title, body, meta) VALUES (?, ?, ?, ?)",
            [note_id, fts_text(note.title), fts_text(note.body), fts_text(meta)],
        )
        self._children(note, note_id)

    def _children(self, note: Note, note_id: int) -> None:
        conn = self.db.conn
        conn.executemany(
            "INSERT INTO note_lectures VALUES (?, ?, ?, ?)",
            [(note_id, i, lec.number, lec.title) for i, lec in enumerate(note.lectures)],
        )
        conn.executemany(
            "INSERT OR IGNORE INTO note_tags VALUES (?, ?)", [(note_id, t) for t in note.tags]
        )
        rows: list[tuple[object, ...]] = []

        def flatten(sections: list[Section], parent: int | None) -> None:
            for s in sections:
                position = len(rows)
                rows.append(
                    (note_id, position, parent, s.kind, s.level, s.title, s.line, int(s.open))
                )
                flatten(s.children, position)

        flatten(note.sections, None)
        conn.executemany("INSERT INTO sections VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        conn.executemany(
            "INSERT INTO todos VALUES (?, ?, ?, ?, ?)",
            [(note_id, i, t.text, int(t.done), t.line) for i, t in enumerate(note.todos)],
        )
        conn.executemany(
            "INSERT INTO snippets VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (note_id, i, s.name, s.source, s.path, s.code, json.dumps(s.attrs), s.line)
                for i, s in enumerate(note.snippets)
            ],
        )
