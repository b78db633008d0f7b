"""The store's schema, as forward migrations (never edit an applied one: add the next)."""

from __future__ import annotations

import sqlite_utils
from sqlite_utils.migrations import Migrations

migrations = Migrations("studylog")


@migrations()
def m001_notes(db: sqlite_utils.Database) -> None:
    # One statement at a time: executescript() would commit the migration's transaction.
    for statement in _M001.split(";\n"):
        if statement.strip():
            db.execute(statement)


_M001 = """
        CREATE TABLE notes (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,      -- POSIX path under notes/
            title TEXT NOT NULL,
            date TEXT,                      -- YYYY-MM-DD or NULL (undated)
            topic TEXT,
            warnings TEXT NOT NULL DEFAULT '[]',  -- JSON list of strings
            readable INTEGER NOT NULL DEFAULT 1,
            size INTEGER,
            mtime_ns INTEGER,
            hash TEXT,                      -- blake2b of the file's bytes
            indexed_at TEXT NOT NULL,
            -- Long text last: columns after it would sit behind its overflow pages, and
            -- re-indexing reads size, mtime and hash of every note.
            meta TEXT NOT NULL DEFAULT '',  -- topic, tags and lecture titles, for search
            body TEXT NOT NULL DEFAULT ''   -- markdown after the front matter
        );
        -- Covers what re-indexing reads of every note, so it never walks the long rows.
        CREATE INDEX notes_files ON notes(path, id, size, mtime_ns, hash);
        CREATE INDEX notes_hash ON notes(hash);
        CREATE INDEX notes_date ON notes(date);
        CREATE TABLE note_lectures (
            note_id INTEGER NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            number TEXT,
            title TEXT,
            PRIMARY KEY (note_id, position)
        );
        CREATE TABLE note_tags (
            note_id INTEGER NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
            tag TEXT NOT NULL,
            PRIMARY KEY (note_id, tag)
        );
        CREATE TABLE sections (
            note_id INTEGER NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,      -- document order
            parent INTEGER,                 -- position of the containing section
            kind TEXT NOT NULL,             -- heading | details
            level INTEGER NOT NULL,
            title TEXT NOT NULL,
            line INTEGER NOT NULL,
            open INTEGER NOT NULL,
            PRIMARY KEY (note_id, position)
        );
        CREATE TABLE todos (
            note_id INTEGER NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            text TEXT NOT NULL,
            done INTEGER NOT NULL,
            line INTEGER NOT NULL,
            PRIMARY KEY (note_id, position)
        );
        CREATE TABLE snippets (
            note_id INTEGER NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            name TEXT NOT NULL,
            source TEXT NOT NULL,           -- fence | link | front_matter
            path TEXT,                      -- workspace-relative file of a linked snippet
            code TEXT,                      -- the code of a fenced snippet
            attrs TEXT NOT NULL DEFAULT '{}',
            line INTEGER NOT NULL,
            PRIMARY KEY (note_id, position),
            UNIQUE (note_id, name)
        );
        -- Contentless: the text lives in notes, and Hangul is indexed as syllable bigrams
        -- (see store/search.py) so that Korean substrings and two-syllable words are found.
        CREATE VIRTUAL TABLE notes_fts USING fts5(
            title, body, meta,
            content = '',
            tokenize = "unicode61 remove_diacritics 2 tokenchars '_'"
        );
"""

# The number of migrations above: PRAGMA user_version of an up-to-date store.
SCHEMA_VERSION = 1
