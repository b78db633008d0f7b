"""Opening the store: WAL, a busy timeout, foreign keys, and forward migrations; a read-only
store opened for reading; and messages that say what is wrong with a store that fails."""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import sqlite_utils

from studylog.paths import STATE_DIR, ensure_state_dir
from studylog.store.locks import is_locked, retry_locked
from studylog.store.runs import Interrupted, mark_interrupted
from studylog.store.schema import SCHEMA_VERSION, migrations

# How long a writer waits for another (the TUI and a CLI run) before giving up.
BUSY_TIMEOUT_MS = 10_000

Problem = Literal["damaged", "read_only", "full", "in_the_way", "locked", "other"]


class StoreError(Exception):
    """The store cannot be opened or written: the message names the file and what to do."""

    def __init__(self, message: str, problem: Problem = "other") -> None:
        super().__init__(message)
        self.problem = problem


def _configure(db: sqlite_utils.Database) -> None:
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable at checkpoints, never corrupt


def _database(target: Path | str) -> sqlite_utils.Database:
    """The one connection factory of the store and the tests' in-memory store: autocommit
    (isolation_level=None, so transactions are the explicit ones sqlite-utils and the store
    open), the busy timeout, foreign keys."""
    conn = sqlite3.connect(target, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    db = sqlite_utils.Database(conn)
    _configure(db)
    return db


def connect(path: Path) -> sqlite_utils.Database:
    """A connection to an existing store, configured but not migrated (for a second
    connection of the same process, e.g. a writer thread)."""
    return _database(path)


# Told what opening the store marked interrupted (runs of a studylog that died): the caller
# ends their leftover processes (procctl.end_leftovers); the store kills nothing.
OnInterrupted = Callable[[Interrupted], None]


def open_store(path: Path, *, on_interrupted: OnInterrupted | None = None) -> sqlite_utils.Database:
    """The store at `path`, made on first use and migrated forward, the runs of a studylog
    that died marked interrupted (`on_interrupted` is told of them when there are any);
    StoreError (with its problem: read-only, damaged, disk full, ...) when it cannot be
    opened for writing."""
    blocked = not_writable(path)
    if blocked is not None:
        raise StoreError(read_only_message(path, blocked), "read_only")
    db = None
    try:
        if path.parent.name == STATE_DIR:  # ignored by git from inside (a blog's repo)
            ensure_state_dir(path.parent)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
        db = connect(path)
        if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            retry_locked(lambda: db.execute("PRAGMA journal_mode = WAL"))
        migrate(db)
        interrupted = retry_locked(lambda: mark_interrupted(db))
    except (sqlite3.Error, OSError) as exc:
        if db is not None:
            db.close()
        raise StoreError(describe_store_error(path, exc), problem_of(exc)) from exc
    if interrupted.run_ids and on_interrupted is not None:
        on_interrupted(interrupted)
    return db


def open_store_for_reading(
    path: Path, *, on_interrupted: OnInterrupted | None = None
) -> tuple[sqlite_utils.Database, str | None]:
    """The store for a command that only reads: writable when it can be; else the store
    opened read-only (or, when there is none yet, an empty one in memory), with a note
    that says so. Other problems (damaged, disk full) raise StoreError."""
    try:
        return open_store(path, on_interrupted=on_interrupted), None
    except StoreError as exc:
        if exc.problem != "read_only":
            raise
        blocked = not_writable(path) or path.parent
    if not path.is_file():
        return open_memory_store(), (
            f"{blocked} is read-only: the notes are indexed in memory and nothing is saved."
        )
    return _open_read_only(path), (
        f"{blocked} is read-only: the note index could not be refreshed, so notes changed "
        "since the last `studylog index` show as they were then."
    )


def _open_read_only(path: Path) -> sqlite_utils.Database:
    """A read-only connection. A WAL store needs its -shm file to be read; in a read-only
    folder where that cannot be made, the file is opened as immutable (nothing can write it
    there anyway)."""
    uri = "file:" + urllib.parse.quote(str(path.resolve()))
    last: sqlite3.Error | None = None
    for mode in ("mode=ro", "immutable=1"):
        conn = sqlite3.connect(f"{uri}?{mode}", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            conn.close()
            if problem_of(exc) == "damaged":
                raise StoreError(describe_store_error(path, exc), "damaged") from exc
            last = exc
            continue
        if version != SCHEMA_VERSION:
            conn.close()
            raise StoreError(
                f"{path} has schema version {version} and this studylog reads version "
                f"{SCHEMA_VERSION}; it cannot be upgraded while it is read-only. "
                + ("Upgrade studylog." if version > SCHEMA_VERSION else "Make it writable.")
            )
        db = sqlite_utils.Database(conn)
        db.execute("PRAGMA query_only = ON")
        return db
    assert last is not None
    raise StoreError(f"{path}: cannot open the read-only store ({last})") from last


def open_memory_store() -> sqlite_utils.Database:
    """An in-memory store with the full schema (tests; a read-only workspace without a store)."""
    # The same factory as a store on disk: the same transactions in tests as in use.
    db = _database(":memory:")
    migrate(db)
    return db


def migrate(db: sqlite_utils.Database) -> None:
    """Apply pending migrations; refuse a store written by a newer studylog."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{db.conn.execute('PRAGMA database_list').fetchone()[2] or 'the store'} has schema "
            f"version {version}, newer than this studylog understands ({SCHEMA_VERSION}); "
            "upgrade studylog."
        )
    if version == SCHEMA_VERSION:
        return
    migrations.apply(db)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def not_writable(path: Path) -> Path | None:
    """The first thing that keeps the store at `path` from being written, or None: the file,
    its WAL companions, its folder, or (while the folder does not exist) the workspace."""
    folder = path.parent
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if candidate.exists() and not os.access(candidate, os.W_OK):
            return candidate
    if folder.is_dir():
        return None if os.access(folder, os.W_OK | os.X_OK) else folder
    parent = folder.parent
    if parent.is_dir() and not folder.exists() and not os.access(parent, os.W_OK | os.X_OK):
        return parent
    return None


def problem_of(exc: BaseException) -> Problem:
    """What kind of failure an error from SQLite or the file system is."""
    if isinstance(exc, StoreError):
        return exc.problem
    if isinstance(exc, OSError):
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return "read_only"
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return "full"
        if exc.errno in (errno.EEXIST, errno.ENOTDIR):
            return "in_the_way"
        return "other"
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
        return "damaged"
    if name.startswith("SQLITE_FULL"):
        return "full"
    if name.startswith(("SQLITE_READONLY", "SQLITE_PERM", "SQLITE_AUTH")):
        return "read_only"
    if is_locked(exc):
        return "locked"
    if isinstance(exc, sqlite3.DatabaseError):
        text = str(exc)
        # studylog stores only valid UTF-8: text that does not decode is damaged bytes.
        if "malformed" in text or "not a database" in text or "decode to UTF-8" in text:
            return "damaged"
    return "other"


def read_only_message(path: Path, blocked: Path) -> str:
    where = f"{path} is read-only" if blocked == path else f"{blocked} is read-only"
    try:
        if os.statvfs(blocked).f_flag & os.ST_RDONLY:
            where += " (a read-only file system)"
    except OSError:
        pass
    return (
        f"{where}, and this command must write the studylog store {path} "
        "(`studylog run` and `studylog index` record runs and notes there). Make it "
        "writable, or work in a writable copy of the workspace. Commands that only read "
        "(list, show, search, runs, export) still work."
    )


def describe_store_error(path: Path, exc: BaseException) -> str:
    """A message for a failure of the store at `path`: which file, what is wrong, what to do.
    "Move it aside" only for a file that SQLite finds damaged."""
    if isinstance(exc, StoreError):
        return str(exc)
    problem = problem_of(exc)
    cause = _cause(exc)
    if problem == "damaged":
        return (
            f"{path} is damaged ({cause}). Move it aside (mv {path} {path}.damaged) and run "
            "`studylog index` to start a new store; its runs are lost unless recovered, e.g. "
            f"with: sqlite3 {path}.damaged .recover | sqlite3 {path}"
        )
    if problem == "full":
        folder = path.parent if path.parent.exists() else path.parent.parent
        try:
            free = f" ({shutil.disk_usage(folder).free // 1024} KiB free)"
        except OSError:
            free = ""
        return (
            f"{path}: the disk holding {folder} is full{free}. Free space there and try "
            "again; nothing stored so far is lost."
        )
    if problem == "read_only":
        blocked = not_writable(path) or getattr(exc, "filename", None) or path.parent
        return read_only_message(path, Path(blocked))
    if problem == "in_the_way":
        in_the_way = _in_the_way(path)
        if in_the_way is not None:
            return (
                f"{in_the_way} is a file, but studylog keeps its store in a folder of that "
                f"name. Move the file aside (mv {in_the_way} {in_the_way}.bak) and try again."
            )
    if problem == "locked":
        return (
            f"{path} is busy: another studylog held it for too long ({cause}). Try again "
            "when it has finished, or close the other studylog."
        )
    if isinstance(exc, OSError):
        return f"{path}: cannot create the studylog store ({exc.strerror or exc})"
    return (
        f"{path}: the studylog store failed ({cause}). If this repeats, check the file with: "
        f"sqlite3 {path} 'PRAGMA integrity_check'"
    )


def _cause(exc: BaseException) -> str:
    """The error's first line, short: SQLite quotes whole column values in some errors."""
    lines = str(exc).splitlines() or [type(exc).__name__]
    first = lines[0]
    return first if len(first) <= 120 and len(lines) == 1 else first[:120] + "…"


def _in_the_way(path: Path) -> Path | None:
    """A file sitting where a folder on the way to `path` should be."""
    for folder in reversed(path.parents):
        if folder.exists() and not folder.is_dir():
            return folder
    return None
