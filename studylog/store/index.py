"""Incremental indexing of notes/ into the store: only changed files are read and parsed.

A file is unchanged when its size and mtime match; else its bytes are hashed, and an
equal hash only refreshes the mtime. A new path whose hash equals a vanished path's is a
move: the note keeps its id, so whatever refers to it (runs) stays attached. Nothing here
touches runs."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, NamedTuple

from studylog.labels import plural
from studylog.notes.model import Note, ParseOptions, Section
from studylog.process_pool import interruptible_pool, interrupts_held
from studylog.store.scan import PERMISSION_DENIED, NoteFile, Problem, Scan, scan_notes
from studylog.store.search import fts_text

if TYPE_CHECKING:
    import sqlite_utils

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
        return f"{self.total} {plural(self.total, 'note')}" + (
            f" ({', '.join(parts)})" if parts else ", all up to date"
        )


class _Known(NamedTuple):
    """What the store remembers of a file (a plain tuple: 10,000 of these per re-index)."""

    id: int
    size: int | None
    mtime_ns: int | None
    hash: str | None


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


# Below this many files to read, worker processes cost more to start than they save.
PARALLEL_MIN = 400


@dataclass
class FileRead:
    """One note file read, hashed, decoded and parsed (in a worker process when many)."""

    file: NoteFile
    digest: str | None = None
    note: Note | None = None
    fts: tuple[str, str, str] | None = None  # title, body, meta as the FTS index sees them
    problem: Problem | None = None  # the file could not be read as a note
    vanished: bool = False  # deleted between the scan and the read


def read_note_file(workspace: Workspace, f: NoteFile, options: ParseOptions) -> FileRead:
    """Read the note `f` of `workspace` into a FileRead; never raises for bad files."""
    from studylog.notes.parse import parse_note
    from studylog.notes.read import decode_note

    root = workspace.root
    try:
        data = workspace.note_file(f.path).read_bytes()
    except FileNotFoundError:
        return FileRead(f, vanished=True)
    except PermissionError:
        return FileRead(f, problem=Problem(f.path, PERMISSION_DENIED, True))
    except OSError as exc:
        return FileRead(
            f, problem=Problem(f.path, f"cannot read: {exc.strerror or exc}; skipped", True)
        )
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    decoded = decode_note(data)
    if decoded.text is None:
        return FileRead(f, digest, problem=Problem(f.path, "; ".join(decoded.warnings), True))
    try:
        note = parse_note(
            decoded.text,
            f.path,
            options=replace(
                options,
                base=workspace.notes_base,
                inner=workspace.inner_path(f.path),
            ),
        )
        note.warnings[:0] = decoded.warnings
        # One warning per missing file, however many snippets name it.
        linked = dict.fromkeys(s.path for s in note.snippets if s.path)
        note.warnings.extend(missing_snippet(p) for p in linked if not (root / p).is_file())
        fts = (fts_text(note.title), fts_text(note.body), fts_text(_meta(note)))
    except Exception as exc:
        # parse_note turns what it expects into warnings; anything else is this note's
        # problem, never the workspace's (every command indexes first).
        cause = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        message = f"cannot be read as a note ({cause}); skipped"
        return FileRead(f, digest, problem=Problem(f.path, message, True))
    return FileRead(f, digest, note, fts)


@contextmanager
def _reads(
    workspace: Workspace, settings: Settings, files: list[NoteFile]
) -> Iterator[Iterator[FileRead]]:
    """FileReads in order; parsed by worker processes when there are many files."""
    options = ParseOptions(
        day_first=settings.notes.day_first, from_folders=settings.notes.from_folders
    )
    workers = min(os.cpu_count() or 1, 4)
    if len(files) < PARALLEL_MIN or workers < 2:
        yield (read_note_file(workspace, f, options) for f in files)
        return
    with interruptible_pool(workers) as pool:
        chunk = max(16, len(files) // (workers * 16))
        with interrupts_held():  # map submits every chunk now, which spawns the workers
            reads = pool.map(
                read_note_file,
                itertools.repeat(workspace),
                files,
                itertools.repeat(options),
                chunksize=chunk,
            )
        yield reads


def index_notes(
    db: sqlite_utils.Database,
    workspace: Workspace,
    settings: Settings,
    *,
    full: bool = False,
    progress: Progress | None = None,
) -> IndexReport:
    """Bring the store's note index up to date with `workspace`'s notes/."""
    scan = scan_notes(workspace)
    run = _IndexRun(db, scan, full, workspace)
    with _reads(workspace, settings, run.to_read) as reads:
        for done, read in enumerate(reads, start=1):
            if progress is not None:
                progress(done, len(run.to_read))
            run.apply(read)
    return run.finish(scan.problems)


def missing_snippet(path: str) -> str:
    """The warning a note gets for a linked snippet file that is not there."""
    return f"snippet file {path} does not exist"


def _snippet_files_changed(db: sqlite_utils.Database, workspace: Workspace) -> set[str]:
    """Notes whose linked snippet files appeared or vanished since they were read: their
    "snippet file … does not exist" warnings are wrong now, although the note is unchanged
    (a clone's experiments/ copied after its notes/, a script renamed)."""
    stale: set[str] = set()
    exists: dict[str, bool] = {}
    rows = db.execute(
        "SELECT n.path, s.path, n.warnings FROM snippets s JOIN notes n ON n.id = s.note_id "
        "WHERE s.path IS NOT NULL"
    )
    for note_path, snippet_path, warnings in rows:
        if snippet_path not in exists:
            exists[snippet_path] = (workspace.root / snippet_path).is_file()
        warned = missing_snippet(snippet_path) in json.loads(warnings or "[]")
        if warned == exists[snippet_path]:
            stale.add(note_path)
    return stale


class _IndexRun:
    """One pass over notes/: what the store knows, what the scan found, and the decisions."""

    def __init__(
        self, db: sqlite_utils.Database, scan: Scan, full: bool, workspace: Workspace
    ) -> None:
        self.db = db
        self.label = workspace.label
        self.full = full
        self.report = IndexReport()
        self.writer = _Writer(db)
        self.known = {
            path: _Known._make(rest)
            for path, *rest in db.execute("SELECT path, id, size, mtime_ns, hash FROM notes")
        }
        self.to_read: list[NoteFile] = []
        self.recheck = _snippet_files_changed(db, workspace)
        for f in scan.files:
            k = self.known.get(f.path)
            if (
                not full
                and k is not None
                and k.size == f.size
                and k.mtime_ns == f.mtime_ns
                and f.path not in self.recheck
            ):
                self.report.unchanged += 1
            else:
                self.to_read.append(f)
        present = {f.path for f in scan.files} | {p.path for p in scan.problems if p.is_note}
        self.vanished = {path: k for path, k in self.known.items() if path not in present}
        # A new path with a vanished path's bytes is that note, moved.
        self.by_hash = {k.hash: path for path, k in self.vanished.items() if k.hash}

    def apply(self, read: FileRead) -> None:
        """Decide what a file read means for the store: unchanged, added, changed or moved."""
        f, report = read.file, self.report
        if read.vanished:
            report.warnings.append(f"{self.label(f.path)}: deleted while indexing; skipped")
            return
        k = self.known.get(f.path)
        if read.digest is None:  # not even the bytes could be read
            assert read.problem is not None
            self._problem(read.problem, k.id if k else None)
            return
        if k is not None and k.hash == read.digest and not self.full and f.path not in self.recheck:
            self.writer.touch(k.id, f)
            report.unchanged += 1
            return
        note_id = k.id if k is not None else None
        if note_id is None and read.digest in self.by_hash:
            note_id = self.vanished.pop(self.by_hash.pop(read.digest)).id
            report.moved += 1
        elif k is None:
            report.added += 1
        else:
            report.changed += 1
        if read.problem is not None:
            self._problem(read.problem, note_id, f, read.digest)
            return
        assert read.note is not None and read.fts is not None
        report.warnings.extend(f"{self.label(f.path)}: {w}" for w in read.note.warnings)
        self.writer.put(read.note, read.fts, note_id, f, read.digest)

    def finish(self, problems: list[Problem]) -> IndexReport:
        """Record the scan's problems, write what is buffered, drop notes that are gone."""
        for problem in problems:
            if problem.is_note:
                k = self.known.get(problem.path)
                self._problem(problem, k.id if k else None)
            else:
                self.report.warnings.append(f"{self.label(problem.path)}: {problem.message}")
        self.writer.flush()
        if self.vanished:
            with write_transaction(self.db):
                for k in self.vanished.values():
                    self.writer.delete(k.id)
            self.report.removed = len(self.vanished)
        return self.report

    def _problem(
        self,
        problem: Problem,
        note_id: int | None,
        f: NoteFile | None = None,
        digest: str | None = None,
    ) -> None:
        self.report.warnings.append(f"{self.label(problem.path)}: {problem.message}")
        self.writer.put_problem(problem, note_id, f, digest)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _meta(note: Note) -> str:
    lectures = " ".join(lec.title for lec in note.lectures if lec.title)
    return " ".join(filter(None, [note.topic or "", " ".join(note.tags), lectures]))


_NOTE_COLUMNS = (
    "path, title, date, topic, body, meta, warnings, readable, size, mtime_ns, hash, indexed_at"
)


@dataclass
class _Row:
    note: Note
    fts: tuple[str, str, str]
    note_id: int | None
    file: NoteFile | None
    digest: str | None
    readable: bool


class _Writer:
    """Buffers note rows and writes them BATCH at a time, each batch one transaction."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self.pending: list[_Row] = []
        self.touched: list[tuple[int, int, int]] = []

    def put(
        self,
        note: Note,
        fts: tuple[str, str, str] | None,
        note_id: int | None,
        f: NoteFile | None,
        digest: str | None,
        *,
        readable: bool = True,
    ) -> None:
        if fts is None:
            fts = (fts_text(note.title), fts_text(note.body), fts_text(_meta(note)))
        self.pending.append(_Row(note, fts, note_id, f, digest, readable))
        if len(self.pending) >= BATCH:
            self.flush()

    def put_problem(
        self,
        problem: Problem,
        note_id: int | None,
        f: NoteFile | None = None,
        digest: str | None = None,
    ) -> None:
        """A file that cannot be read as a note: listed by its name, with the cause."""
        name = problem.path.rsplit("/", 1)[-1]
        note = Note(path=problem.path, title=name, warnings=[problem.message])
        self.put(note, None, note_id, f, digest, readable=False)

    def touch(self, note_id: int, f: NoteFile) -> None:
        self.touched.append((f.size, f.mtime_ns, note_id))

    def flush(self) -> None:
        if not self.pending and not self.touched:
            return
        with write_transaction(self.db):
            self.db.conn.executemany(
                "UPDATE notes SET size = ?, mtime_ns = ? WHERE id = ?", self.touched
            )
            for row in self.pending:
                if row.note_id is not None:
                    self._clear(row.note_id)
                self._insert(row)
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

    def _insert(self, row: _Row) -> None:
        note, f = row.note, row.file
        values = [
            note.path,
            note.title,
            note.date.isoformat() if note.date else None,
            note.topic,
            note.body,
            _meta(note),
            json.dumps(note.warnings, ensure_ascii=False),
            int(row.readable),
            f.size if f else None,
            f.mtime_ns if f else None,
            row.digest,
            _now(),
        ]
        note_id = row.note_id
        if note_id is None:  # another studylog indexing at once may have added it meanwhile
            found = self.db.execute("SELECT id FROM notes WHERE path = ?", [note.path]).fetchone()
            if found is not None:
                note_id = found[0]
                self._clear(note_id)
        if note_id is None:
            placeholders = ", ".join("?" * len(values))
            cursor = self.db.execute(
                f"INSERT INTO notes ({_NOTE_COLUMNS}) VALUES ({placeholders})", values
            )
            note_id = int(cursor.lastrowid or 0)
        else:
            assignments = ", ".join(f"{c.strip()} = ?" for c in _NOTE_COLUMNS.split(","))
            self.db.execute(f"UPDATE notes SET {assignments} WHERE id = ?", [*values, note_id])
        self.db.execute(
            "INSERT INTO notes_fts (rowid, title, body, meta) VALUES (?, ?, ?, ?)",
            [note_id, *row.fts],
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
