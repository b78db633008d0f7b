"""The store's schema, as forward migrations (never edit an applied one: add the next)."""

from __future__ import annotations

import uuid

import sqlite_utils
from sqlite_utils.migrations import Migrations

migrations = Migrations("studylog")


def _execute_each(db: sqlite_utils.Database, script: str) -> None:
    # One statement at a time: executescript() would commit the migration's transaction.
    for statement in script.split(";\n"):
        if statement.strip():
            db.execute(statement)


@migrations()
def m001_notes(db: sqlite_utils.Database) -> None:
    _execute_each(db, _M001)


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


@migrations()
def m002_runs(db: sqlite_utils.Database) -> None:
    _execute_each(db, _M002)


# Runs point at notes by id without a foreign key: re-indexing never deletes a run, a moved
# note keeps its id (and so its runs), and a deleted note's runs stay under `note_path`.
_M002 = """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            note_id INTEGER,
            note_path TEXT NOT NULL,        -- path under notes/ when the run started
            snippet TEXT NOT NULL,          -- the snippet's name in the note
            source TEXT NOT NULL,           -- fence | link | front_matter
            snippet_path TEXT,              -- workspace-relative file of a linked snippet
            code TEXT NOT NULL,
            code_hash TEXT NOT NULL,        -- blake2b of the code: stale when it differs
            args TEXT NOT NULL DEFAULT '[]',
            seed INTEGER NOT NULL,
            timeout REAL,
            memory_limit_mb INTEGER,
            status TEXT NOT NULL,           -- running | succeeded | failed | timed_out | ...
            started TEXT NOT NULL,          -- ISO 8601 with time zone
            ended TEXT,
            duration REAL,                  -- seconds
            exit_code INTEGER,
            signal TEXT,                    -- e.g. SIGSEGV when killed by a signal
            last_error TEXT,
            truncated INTEGER NOT NULL DEFAULT 0,
            env TEXT NOT NULL DEFAULT '{}', -- JSON: python, studylog, torch, numpy, cuda, ...
            warnings TEXT NOT NULL DEFAULT '[]',
            owner_pid INTEGER,              -- the studylog process running it
            owner_start TEXT,               -- that process's start mark, against pid reuse
            -- Long text last (see notes).
            stdout TEXT NOT NULL DEFAULT '',
            stderr TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX runs_snippet ON runs(note_id, snippet, id);
        CREATE INDEX runs_status ON runs(status) WHERE status = 'running';
        CREATE TABLE run_params (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            value TEXT NOT NULL,            -- JSON
            PRIMARY KEY (run_id, name)
        );
        CREATE TABLE metric_keys (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            key INTEGER NOT NULL,           -- the run's own small number for the name
            name TEXT NOT NULL,
            PRIMARY KEY (run_id, key),
            UNIQUE (run_id, name)
        );
        -- One row a point, clustered by series (a curve is one range scan) and small on
        -- disk: the name is a run-local key, the time whole milliseconds since the start.
        -- NaN is stored as NULL (SQLite has no NaN). No CHECK on types: they would halve
        -- the insert rate, and points arrive as typed int64/float64 arrays (runner/channel.py).
        CREATE TABLE metrics (
            run_id INTEGER NOT NULL,
            key INTEGER NOT NULL,
            seq INTEGER NOT NULL,           -- the point's place in its series, from 0
            step INTEGER NOT NULL,
            value REAL,
            ms INTEGER NOT NULL,            -- milliseconds since the run started
            PRIMARY KEY (run_id, key, seq)
        ) WITHOUT ROWID
"""


@migrations()
def m003_review(db: sqlite_utils.Database) -> None:
    _execute_each(db, _M003)


# Review cards (store/review.py). A card is its note (by id, no foreign key: history
# outlives the note, like runs) and its question's hash, never a line number; `uid` is made
# once and is the card's id everywhere else (JSON, the Anki deck's guid).
_M003 = """
        CREATE TABLE cards (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL UNIQUE,
            note_id INTEGER NOT NULL,
            note_path TEXT NOT NULL,        -- path under notes/ when last seen
            qkey TEXT NOT NULL,             -- notes/cards.py question_key
            question TEXT NOT NULL,
            answer TEXT NOT NULL,
            line INTEGER NOT NULL,
            active INTEGER NOT NULL DEFAULT 1,  -- 0: gone from its note, or the note is gone
            due TEXT NOT NULL,              -- UTC, YYYY-MM-DD HH:MM:SS
            fsrs TEXT NOT NULL,             -- the FSRS card state (fsrs.Card.to_json)
            created TEXT NOT NULL,
            UNIQUE (note_id, qkey)
        );
        CREATE INDEX cards_due ON cards(due) WHERE active;
        CREATE INDEX cards_qkey ON cards(qkey);
        CREATE TABLE card_reviews (
            id INTEGER PRIMARY KEY,
            card_id INTEGER NOT NULL REFERENCES cards(id),
            rating INTEGER NOT NULL,        -- 1 again, 2 hard, 3 good, 4 easy
            reviewed TEXT NOT NULL,         -- UTC, as due
            due_before TEXT NOT NULL,
            due_after TEXT NOT NULL
        );
        CREATE INDEX card_reviews_card ON card_reviews(card_id, id);
        -- The note's hash when its cards were last read: only changed notes are read again.
        CREATE TABLE card_sync (
            note_id INTEGER PRIMARY KEY,
            hash TEXT,
            warnings TEXT NOT NULL DEFAULT '[]'  -- JSON: questions with no answer, ...
        )
"""


@migrations()
def m004_sync(db: sqlite_utils.Database) -> None:
    _execute_each(db, _M004)
    # This store's id on MLflow servers (tag `studylog.workspace`): with the run id it finds
    # a run sent by a sync that was killed before it could record the MLflow run's id.
    db.execute("INSERT INTO sync_workspace (id, uuid) VALUES (1, ?)", [uuid.uuid4().hex])


# What `studylog sync` sent where. A studylog run maps to one MLflow run per server and
# experiment; its points go in (key, seq) order and the last one acknowledged is recorded
# after each batch, so a sync that stops half way resumes after it (store/sync_state.py).
# No credentials here: the server is kept without user and password.
_M004 = """
        CREATE TABLE sync_workspace (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            uuid TEXT NOT NULL
        );
        CREATE TABLE sync_runs (
            server TEXT NOT NULL,           -- tracking URI without credentials
            experiment TEXT NOT NULL,       -- experiment name
            run_id INTEGER NOT NULL,        -- the studylog run
            mlflow_run_id TEXT NOT NULL,
            sent_key INTEGER NOT NULL DEFAULT -1,  -- the last point acknowledged: (key, seq)
            sent_seq INTEGER NOT NULL DEFAULT -1,
            points INTEGER NOT NULL DEFAULT 0,     -- points acknowledged so far
            done TEXT,                      -- when the run was complete on the server
            PRIMARY KEY (server, experiment, run_id)
        )
"""


@migrations()
def m005_sync_series(db: sqlite_utils.Database) -> None:
    _execute_each(db, _M005)


# A run synced live (`studylog run --sync`) grows in every series at once, so one (key, seq)
# mark cannot say what was sent: each series keeps its own last acknowledged point, and the
# keys of the request in flight are recorded before it is sent (a sync that stops then asks
# the server how many of those landed). The old single marks carry over.
_M005 = """
        CREATE TABLE sync_series (
            server TEXT NOT NULL,
            experiment TEXT NOT NULL,
            run_id INTEGER NOT NULL,
            key INTEGER NOT NULL,           -- the run's metric key
            sent_seq INTEGER NOT NULL,      -- the last point of the series acknowledged
            PRIMARY KEY (server, experiment, run_id, key)
        ) WITHOUT ROWID;
        -- JSON: the keys of the request in flight, NULL when none is
        ALTER TABLE sync_runs ADD COLUMN inflight TEXT;
        INSERT INTO sync_series (server, experiment, run_id, key, sent_seq)
            SELECT r.server, r.experiment, r.run_id, m.key, max(m.seq)
            FROM sync_runs r JOIN metrics m ON m.run_id = r.run_id AND m.key < r.sent_key
            GROUP BY r.server, r.experiment, r.run_id, m.key;
        INSERT INTO sync_series (server, experiment, run_id, key, sent_seq)
            SELECT server, experiment, run_id, sent_key, sent_seq FROM sync_runs
            WHERE sent_key >= 0
"""


@migrations()
def m006_search_spelling(db: sqlite_utils.Database) -> None:
    """Index every note again as store/search.py now spells it (identifier parts, headings
    again). A contentless FTS table forgets a row only when told the text it indexed, which
    the indexer recomputes with today's spelling: the old rows must all go first."""
    from studylog.store.search import fts_text

    db.execute("INSERT INTO notes_fts (notes_fts) VALUES ('delete-all')")
    rows = db.execute("SELECT id, title, body, meta FROM notes").fetchall()
    db.conn.executemany(
        "INSERT INTO notes_fts (rowid, title, body, meta) VALUES (?, ?, ?, ?)",
        ((note_id, *map(fts_text, texts)) for note_id, *texts in rows),
    )


@migrations()
def m007_run_cost(db: sqlite_utils.Database) -> None:
    _execute_each(db, _M007)


# What a run cost (store/runs.py RunCost), in a table of its own: in `runs` it would sit
# behind the output's overflow pages, and every list of runs reads it. No row: not measured
# (a run from before this table, or one still going).
_M007 = """
        CREATE TABLE run_cost (
            run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
            peak_memory INTEGER,            -- bytes: the process tree's PSS at its highest
            cpu_user REAL,                  -- seconds, the whole tree
            cpu_system REAL,
            cuda_device TEXT,               -- when the snippet used CUDA
            cuda_peak_allocated INTEGER,    -- bytes, torch.cuda.max_memory_allocated
            cuda_peak_reserved INTEGER      -- bytes, torch.cuda.max_memory_reserved
        )
"""


@migrations()
def m008_metric_levels(db: sqlite_utils.Database) -> None:
    """Coarser levels of every metric series (store/levels.py). The runs already stored get
    theirs here, computed from their points, so every series has them from now on."""
    from studylog.store.levels import rebuild_all

    _execute_each(db, _M008)
    rebuild_all(db.conn)


# Per series and level, one row a bucket of places (seq // 16, 64, 256, …): the number of
# points, the first and last value, and the lowest and highest point with their steps. Written in
# the transaction that inserts the points (store/metrics.py MetricWriter).
_M008 = """
        CREATE TABLE metric_levels (
            run_id INTEGER NOT NULL,
            key INTEGER NOT NULL,
            level INTEGER NOT NULL,         -- 1, 2, … (level 0 is the points in `metrics`)
            bucket INTEGER NOT NULL,        -- seq // the level's bucket size
            count INTEGER NOT NULL,         -- points in the bucket, NaN included
            first_value REAL,               -- of the points with a value (NULL: all NaN)
            last_value REAL,
            min_step INTEGER,
            min_value REAL,
            max_step INTEGER,
            max_value REAL,
            PRIMARY KEY (run_id, key, level, bucket)
        ) WITHOUT ROWID
"""


@migrations()
def m009_run_start_path(db: sqlite_utils.Database) -> None:
    """How each run's process started: 'warm' (forked by the warm parent) or 'cold' (a new
    interpreter); NULL for runs recorded before."""
    db.execute("ALTER TABLE runs ADD COLUMN start_path TEXT")


# The number of migrations above: PRAGMA user_version of an up-to-date store.
SCHEMA_VERSION = 9
