"""Runs in the store: starting and finishing one, its params and metric points, and the
runs left `running` by a studylog that died."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from studylog.procctl import alive, owner_tag, process_mark
from studylog.protocol import Columns
from studylog.store.levels import LevelWriter
from studylog.store.locks import retry_locked

if TYPE_CHECKING:
    from pathlib import Path

    import sqlite_utils


INTERRUPTED_ERROR = "studylog stopped while this run was going (killed or crashed)"


def code_hash(code: str) -> str:
    return hashlib.blake2b(code.encode("utf-8"), digest_size=16).hexdigest()


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="milliseconds")


def iso(timestamp: float) -> str:
    return (
        dt.datetime.fromtimestamp(timestamp, dt.UTC).astimezone().isoformat(timespec="milliseconds")
    )


@dataclass(frozen=True)
class NewRun:
    """What is known of a run before it starts."""

    note_id: int | None
    note_path: str
    snippet: str
    source: str
    snippet_path: str | None
    code: str
    seed: int
    args: Sequence[str] = ()
    timeout: float | None = None
    memory_limit_mb: int | None = None
    env: dict[str, Any] = field(default_factory=dict)


MB = 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class RunCost:
    """What a run cost: the peak memory of its process tree (the sum of each process's
    proportional set size, at its highest), the CPU time of the tree, and when the snippet
    used CUDA the device and the peak memory torch allocated and reserved on it. None where
    it is not known (a run recorded before studylog measured it, a supervisor that died)."""

    peak_memory: int | None = None  # bytes
    cpu_user: float | None = None  # seconds, the whole tree
    cpu_system: float | None = None
    cuda_device: str | None = None
    cuda_peak_allocated: int | None = None  # bytes
    cuda_peak_reserved: int | None = None

    @property
    def cpu_seconds(self) -> float | None:
        if self.cpu_user is None or self.cpu_system is None:
            return None
        return self.cpu_user + self.cpu_system

    @property
    def used_cuda(self) -> bool:
        return self.cuda_peak_allocated is not None

    def row(self) -> tuple[Any, ...]:
        """The columns of table run_cost, in order (after run_id)."""
        return tuple(getattr(self, name) for name in COST_COLUMNS)

    def to_json(self) -> dict[str, Any]:
        """As `runs show --json` gives it (DESIGN.md)."""
        cuda = None
        if self.used_cuda:
            cuda = {
                "device": self.cuda_device,
                "peak_allocated_mb": _mb(self.cuda_peak_allocated),
                "peak_reserved_mb": _mb(self.cuda_peak_reserved),
            }
        seconds = self.cpu_seconds
        return {
            "peak_memory_mb": _mb(self.peak_memory),
            "cpu_seconds": None if seconds is None else round(seconds, 3),
            "cuda": cuda,
        }

    def text(self) -> str:
        """`peak 212 MB · CPU 1.40 s · CUDA NVIDIA H100: 1,024 MB allocated, 1,100 MB
        reserved`, or "" when nothing is known."""
        parts = []
        if self.peak_memory is not None:
            parts.append(f"peak {self.peak_memory / MB:,.0f} MB")
        if (seconds := self.cpu_seconds) is not None:
            parts.append(f"CPU {seconds:.2f} s")
        if self.used_cuda:
            reserved = self.cuda_peak_reserved or 0
            parts.append(
                f"CUDA {self.cuda_device or 'device'}: {(self.cuda_peak_allocated or 0) / MB:,.0f}"
                f" MB allocated, {reserved / MB:,.0f} MB reserved"
            )
        return " · ".join(parts)


# The columns of table run_cost (schema m007) after run_id: RunCost's fields.
COST_COLUMNS = tuple(f.name for f in fields(RunCost))


def _mb(size: int | None) -> float | None:
    return None if size is None else round(size / MB, 1)


@dataclass(kw_only=True)
class RunEnd:
    """How a run ended: the one description of it. The process's result, the runner's
    RunFinished event and the history's RunSummary are each a RunEnd with more around it,
    so a fact added here reaches every layer (`end_facts` carries it from one to another)."""

    status: str
    duration: float | None = None  # seconds
    exit_code: int | None = None
    signal: str | None = None  # the signal that ended it, e.g. "SIGKILL"
    last_error: str | None = None
    cost: RunCost = field(default_factory=RunCost)

    def end_facts(self) -> dict[str, Any]:
        """This end's RunEnd fields (not a subclass's own), to make another kind of end."""
        return {f.name: getattr(self, f.name) for f in fields(RunEnd)}


def start_run(db: sqlite_utils.Database, run: NewRun) -> int:
    """Record a run as `running`, owned by this process; returns its id."""
    return retry_locked(lambda: _start_run(db, run))


def _start_run(db: sqlite_utils.Database, run: NewRun) -> int:
    pid = os.getpid()
    with db.conn:
        cursor = db.execute(
            """INSERT INTO runs (note_id, note_path, snippet, source, snippet_path, code,
                   code_hash, args, seed, timeout, memory_limit_mb, status, started, env,
                   owner_pid, owner_start)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?)""",
            (
                run.note_id,
                run.note_path,
                run.snippet,
                run.source,
                run.snippet_path,
                run.code,
                code_hash(run.code),
                json.dumps(list(run.args)),
                run.seed,
                run.timeout,
                run.memory_limit_mb,
                now_iso(),
                json.dumps(run.env, ensure_ascii=False),
                pid,
                process_mark(pid),
            ),
        )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def finish_run(
    db: sqlite_utils.Database,
    run_id: int,
    end: RunEnd,
    *,
    ended: float,
    stdout: str,
    stderr: str,
    truncated: bool = False,
    env: dict[str, Any] | None = None,
    warnings: Sequence[str] = (),
) -> None:
    """Record how run `run_id` ended (`ended` a time.time()), with what it left."""
    row = (
        end.status,
        iso(ended),
        None if end.duration is None else round(end.duration, 3),
        end.exit_code,
        end.signal,
        end.last_error,
        stdout,
        stderr,
        int(truncated),
        json.dumps(env or {}, ensure_ascii=False),
        json.dumps(list(warnings), ensure_ascii=False),
        run_id,
    )
    retry_locked(lambda: _finish_run(db, row, (run_id, *end.cost.row())))


_INSERT_COST = (
    f"INSERT OR REPLACE INTO run_cost (run_id, {', '.join(COST_COLUMNS)}) "
    f"VALUES (?{', ?' * len(COST_COLUMNS)})"
)


def _finish_run(db: sqlite_utils.Database, row: tuple[Any, ...], cost: tuple[Any, ...]) -> None:
    with db.conn:
        db.execute(
            """UPDATE runs SET status = ?, ended = ?, duration = ?, exit_code = ?, signal = ?,
                   last_error = ?, stdout = ?, stderr = ?, truncated = ?, env = ?, warnings = ?,
                   owner_pid = NULL, owner_start = NULL
               WHERE id = ?""",
            row,
        )
        db.execute(_INSERT_COST, cost)


def save_output(db: sqlite_utils.Database, run_id: int, stdout: str, stderr: str) -> None:
    """The output so far of a running run, so a studylog that dies does not take it along."""
    with db.conn:
        db.execute("UPDATE runs SET stdout = ?, stderr = ? WHERE id = ?", (stdout, stderr, run_id))


def running_ids(db: sqlite_utils.Database) -> set[int]:
    return {row[0] for row in db.execute("SELECT id FROM runs WHERE status = 'running'")}


@dataclass(frozen=True)
class Interrupted:
    """What `mark_interrupted` marked: the runs, and the run-tag prefixes of their dead owners
    (procctl.owner_tag), whose processes may be left over for the caller to end
    (procctl.end_leftovers): the store itself kills nothing."""

    run_ids: tuple[int, ...] = ()
    owner_tags: tuple[str, ...] = ()


def mark_interrupted(db: sqlite_utils.Database) -> Interrupted:
    """Runs still `running` whose studylog process is gone become `interrupted`; what was
    marked, with the owners whose leftover processes are to be ended."""
    rows = db.execute(
        "SELECT id, owner_pid, owner_start FROM runs WHERE status = 'running'"
    ).fetchall()
    dead = [row for row in rows if row[1] is None or not alive(row[1], row[2])]
    if dead:
        with db.conn:
            db.conn.executemany(
                """UPDATE runs SET status = 'interrupted', last_error = ?, owner_pid = NULL,
                       owner_start = NULL
                   WHERE id = ? AND status = 'running'""",
                [(INTERRUPTED_ERROR, run_id) for run_id, _, _ in dead],
            )
    owners = dict.fromkeys(owner_tag(pid, mark) for _, pid, mark in dead if pid is not None)
    return Interrupted(tuple(run_id for run_id, _, _ in dead), tuple(owners))


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
            f"{count:,} {what}{'s' if count != 1 else ''}"
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


def set_start_path(db: sqlite_utils.Database, run_id: int, path: str) -> None:
    """Record how the run's process started: 'warm' or 'cold'."""

    def write() -> None:
        with db.conn:
            db.execute("UPDATE runs SET start_path = ? WHERE id = ?", (path, run_id))

    retry_locked(write)
