"""Runs in the store: starting and finishing one, what it cost, and the runs left `running`
by a studylog that died. Its metric points and params: store/metrics.py."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from studylog.procctl import alive, owner_tag, process_mark
from studylog.store.locks import retry_locked

if TYPE_CHECKING:
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


def set_start_path(db: sqlite_utils.Database, run_id: int, path: str) -> None:
    """Record how the run's process started: 'warm' or 'cold'."""

    def write() -> None:
        with db.conn:
            db.execute("UPDATE runs SET start_path = ? WHERE id = ?", (path, run_id))

    retry_locked(write)
