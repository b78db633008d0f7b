"""A run's metrics in the store: the metric writer (keys, points and params of one run,
written in batches, a point SQLite refuses kept apart from its neighbours), what could not
be stored (Losses), and a store error told as a person can act on it."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from studylog.labels import plural
from studylog.protocol import Columns
from studylog.store.levels import LevelWriter

if TYPE_CHECKING:
    from pathlib import Path

    import sqlite_utils


# Errors of one point's data (a value SQLite cannot bind, a clash): that point is refused and
# its neighbours kept. Anything else (a full disk, a lock held too long) concerns the batch.
_POINT_ERRORS = (
    sqlite3.InterfaceError,
    sqlite3.ProgrammingError,
    sqlite3.IntegrityError,
    sqlite3.DataError,
    TypeError,
    ValueError,
    OverflowError,
)


def _mount_of(path: Path) -> str:
    folder = os.path.abspath(path)
    while not os.path.ismount(folder):
        folder = os.path.dirname(folder)
    return folder


def _size_text(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024**2:
        return f"{size / 1024:.1f} KiB"
    return f"{size / 1024**2:.1f} MiB"


def store_error_text(exc: BaseException, db_path: Path) -> str:
    """What went wrong writing the store at `db_path`, as a person can act on it: a full disk
    names the filesystem and its free space (SQLite says only "database or disk is full")."""
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF in (sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR):
        folder = db_path.parent
        try:
            stats = os.statvfs(folder)
            free = stats.f_bavail * stats.f_frsize
        except OSError:
            free = None
        if code & 0xFF == sqlite3.SQLITE_FULL or free == 0:
            left = "" if free is None else f", {_size_text(free)} free"
            return f"no free space on {_mount_of(folder)} (the store {db_path}{left}: {exc})"
    if isinstance(exc, sqlite3.Error):
        return f"{db_path}: {exc}"
    return f"{type(exc).__name__}: {exc}"


def retryable(exc: BaseException) -> bool:
    """A lock held by another writer: what waits is kept and written at the next flush."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


@dataclass
class Losses:
    """What of a run's metrics could not be stored, and why (each distinct cause once)."""

    points: int = 0
    params: int = 0
    keys: int = 0  # metric names
    causes: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.points or self.params or self.keys)

    def cause(self, text: str) -> None:
        if text not in self.causes:
            self.causes.append(text)

    def text(self) -> str:
        """`12,000 metric points and 1 param could not be stored: no free space on /data (…)`"""
        parts = [
            f"{count:,} {plural(count, what)}"
            for count, what in (
                (self.points, "metric point"),
                (self.params, "param"),
                (self.keys, "metric name"),
            )
            if count
        ]
        what = ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]
        return f"{what} could not be stored: {'; '.join(self.causes) or 'unknown cause'}"


class MetricWriter:
    """Metric keys, points and params of one run, written at each flush: names and params in
    one transaction (when there are new ones), the points in another.

    Points go straight to `executemany` (the hot path, measured in
    benchmarks/bench_metrics.py); a batch that SQLite refuses is retried point by point so
    one malformed point cannot lose its neighbours. A key or param that cannot be stored is
    counted in `losses` with its cause as it is added; a flush that fails whole raises, and
    the caller either flushes again later or `drop`s what waits."""

    def __init__(
        self, db: sqlite_utils.Database, run_id: int, losses: Losses | None = None
    ) -> None:
        self.db = db
        self.run_id = run_id
        self.keys: list[tuple[int, str]] = []
        self.points: list[Columns] = []
        self.pending_points = 0
        self.params: dict[str, str] = {}  # name: value as JSON
        self.rejected = 0
        self.losses = Losses() if losses is None else losses
        self.levels = LevelWriter(run_id)  # the series' coarser levels, beside the points
        # run_id is an int from SQLite: putting it in the statement saves a column per row.
        self._insert = (
            f"INSERT OR IGNORE INTO metrics (run_id, key, seq, step, value, ms) "
            f"VALUES ({int(run_id)}, ?, ?, ?, ?, ?)"
        )
        self._inserts: dict[tuple[int, bool], str] = {}  # per series and step shape

    def add_key(self, key: int, name: str) -> None:
        try:
            if type(key) is not int or not isinstance(name, str):
                raise TypeError("not a number and a name")
            name.encode("utf-8")
        except (TypeError, UnicodeEncodeError) as exc:
            self.losses.keys += 1
            self.losses.cause(f"metric name {name!r}: {exc}")
            return
        self.keys.append((key, name))

    def add_points(self, points: Columns) -> None:
        self.points.append(points)
        self.pending_points += len(points)

    def add_params(self, params: dict[str, Any]) -> None:
        for name, value in params.items():
            try:
                if not isinstance(name, str):
                    raise TypeError("a param name must be a string")
                text = json.dumps(value, ensure_ascii=False, default=repr)
                name.encode("utf-8")
                text.encode("utf-8")
            except (TypeError, ValueError, RecursionError) as exc:
                self.losses.params += 1
                self.losses.cause(f"param {name!r}: {exc}")
                continue
            self.params[name] = text

    @property
    def pending(self) -> bool:
        return bool(self.keys or self.points or self.params)

    def drop(self, cause: str) -> None:
        """Give up on what waits: it is counted as lost, with `cause`."""
        self.losses.points += self.pending_points
        self.losses.params += len(self.params)
        self.losses.keys += len(self.keys)
        self.losses.cause(cause)
        self.keys, self.points, self.params, self.pending_points = [], [], {}, 0

    def flush(self) -> None:
        if not self.pending:
            return
        if self.keys or self.params:
            # Names and params first, in a small transaction of their own: when the points
            # cannot be stored (a full disk), what they were and how the run was set up stay.
            self._transaction(self._write_names)
            self.keys, self.params = [], {}
        if self.points:
            self._transaction(self._write_points)
            self.points, self.pending_points = [], 0

    def _transaction(self, write: Callable[[sqlite3.Connection], None]) -> None:
        conn = self.db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            write(conn)
        except BaseException:
            # SQLite ends the transaction itself on some errors (a full disk): a ROLLBACK then
            # would only replace the real error with "no transaction is active".
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _write_names(self, conn: sqlite3.Connection) -> None:
        conn.executemany(
            "INSERT OR IGNORE INTO metric_keys (run_id, key, name) VALUES (?, ?, ?)",
            [(self.run_id, key, name) for key, name in self.keys],
        )
        conn.executemany(
            "INSERT OR REPLACE INTO run_params (run_id, name, value) VALUES (?, ?, ?)",
            [(self.run_id, name, text) for name, text in self.params.items()],
        )

    def _write_points(self, conn: sqlite3.Connection) -> None:
        for batch in self.points:
            self._insert_points(conn, batch)

    def _statement(self, batch: Columns) -> tuple[str, Iterable[tuple[Any, ...]]]:
        """The insert of a batch and its rows. A batch of one series (the usual one) has its
        key in the statement, and its steps too when they are its places (a step per log
        call, or none given): fewer values bound per point is the cheapest win on the hot
        path (each bound value costs about as much as SQLite's own work for it)."""
        keys, seqs = batch.key, batch.seq
        key = keys[0] if len(keys) else None
        if type(key) is not int or keys.count(key) != len(keys):
            return self._insert, batch.rows()
        same = seqs == batch.step  # typed arrays: compared in C
        statement = self._inserts.get((key, same))
        if statement is None:
            places = "?1, ?1, ?2, ?3" if same else "?, ?, ?, ?"
            statement = self._inserts[key, same] = (
                f"INSERT OR IGNORE INTO metrics (run_id, key, seq, step, value, ms) "
                f"VALUES ({int(self.run_id)}, {key}, {places})"
            )
        if same:
            return statement, zip(seqs, batch.value, batch.ms, strict=True)
        return statement, zip(seqs, batch.step, batch.value, batch.ms, strict=True)

    def _insert_points(self, conn: sqlite3.Connection, batch: Columns) -> None:
        conn.execute("SAVEPOINT points")
        try:
            before = conn.total_changes
            conn.executemany(*self._statement(batch))
            inserted = conn.total_changes - before
        except _POINT_ERRORS:
            conn.execute("ROLLBACK TO points")
            inserted = 0
            for point in batch.rows():
                with contextlib.suppress(*_POINT_ERRORS):  # counted below as rejected
                    inserted += conn.execute(self._insert, point).rowcount
        # In the same transaction: the levels never disagree with the points.
        self.levels.write(conn, batch, complete=inserted == len(batch))
        conn.execute("RELEASE points")
        # OR IGNORE skips a point at a place already taken: count what did not land.
        self.rejected += len(batch) - inserted
