"""Opening the store: WAL, a busy timeout, foreign keys, and forward migrations."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

from studylog.store.runs import mark_interrupted
from studylog.store.schema import SCHEMA_VERSION, migrations

# How long a writer waits for another (the TUI and a CLI run) before giving up.
BUSY_TIMEOUT_MS = 10_000


class StoreError(Exception):
    """The store cannot be opened or written: the message names the file and what to do."""


def _configure(db: sqlite_utils.Database) -> None:
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable at checkpoints, never corrupt


def connect(path: Path) -> sqlite_utils.Database:
    """A connection to an existing store, configured but not migrated (for a second
    connection of the same process, e.g. a writer thread)."""
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    db = sqlite_utils.Database(conn)
    _configure(db)
    return db


def open_store(path: Path) -> sqlite_utils.Database:
    """The store at `path`, made on first use and migrated forward."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = connect(path)
        if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            db.execute("PRAGMA journal_mode = WAL")
        migrate(db)
        mark_interrupted(db)
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            f"{path}: cannot open the studylog store ({exc}). If the file is damaged, move it "
            "aside (it holds your run history) and run `studylog index` to start a new one."
        ) from exc
    except OSError as exc:
        raise StoreError(f"{path}: cannot create the studylog store ({exc})") from exc
    return db


def open_memory_store() -> sqlite_utils.Database:
    """An in-memory store with the full schema, for tests."""
    db = sqlite_utils.Database(memory=True)
    _configure(db)
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
