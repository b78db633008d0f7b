"""What `studylog sync` has sent to which MLflow server: the MLflow run of each studylog run
and the last point the server acknowledged (no MLflow here: studylog/sync/ talks to it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import sqlite_utils

# Never sent: statuses of runs that are still going.
_UNFINISHED = ("running",)


class Point(NamedTuple):
    key: int
    seq: int
    step: int
    value: float | None  # None: NaN (SQLite keeps NaN as NULL)
    ms: int  # milliseconds since the run started


@dataclass
class SyncState:
    """One studylog run on one server and experiment."""

    run_id: int
    mlflow_run_id: str
    sent_key: int  # the last point acknowledged, in (key, seq) order; -1, -1 before any
    sent_seq: int
    points: int
    done: bool


def workspace_uuid(db: sqlite_utils.Database) -> str:
    return str(db.execute("SELECT uuid FROM sync_workspace WHERE id = 1").fetchone()[0])


def runs_to_send(db: sqlite_utils.Database, server: str, experiment: str) -> list[int]:
    """Finished runs not yet complete on `server` in `experiment`, oldest first."""
    return [
        row[0]
        for row in db.execute(
            """SELECT id FROM runs WHERE status NOT IN (?) AND id NOT IN
                   (SELECT run_id FROM sync_runs WHERE server = ? AND experiment = ?
                    AND done IS NOT NULL)
               ORDER BY id""",
            [*_UNFINISHED, server, experiment],
        )
    ]


def sent_runs(db: sqlite_utils.Database, server: str, experiment: str) -> int:
    """How many runs are complete on `server` in `experiment`."""
    return int(
        db.execute(
            "SELECT count(*) FROM sync_runs WHERE server = ? AND experiment = ? "
            "AND done IS NOT NULL",
            [server, experiment],
        ).fetchone()[0]
    )


def get_state(
    db: sqlite_utils.Database, server: str, experiment: str, run_id: int
) -> SyncState | None:
    row = db.execute(
        """SELECT run_id, mlflow_run_id, sent_key, sent_seq, points, done IS NOT NULL
           FROM sync_runs WHERE server = ? AND experiment = ? AND run_id = ?""",
        [server, experiment, run_id],
    ).fetchone()
    if row is None:
        return None
    run_id, mlflow_run_id, sent_key, sent_seq, points, done = row
    return SyncState(run_id, mlflow_run_id, sent_key, sent_seq, points, bool(done))


def record_mlflow_run(
    db: sqlite_utils.Database, server: str, experiment: str, run_id: int, mlflow_run_id: str
) -> SyncState:
    """The MLflow run that stands for `run_id` there, before anything else is sent to it."""
    with db.conn:
        db.execute(
            """INSERT INTO sync_runs (server, experiment, run_id, mlflow_run_id)
               VALUES (?, ?, ?, ?)
               ON CONFLICT (server, experiment, run_id) DO UPDATE SET
                   mlflow_run_id = excluded.mlflow_run_id""",
            [server, experiment, run_id, mlflow_run_id],
        )
    state = get_state(db, server, experiment, run_id)
    assert state is not None
    return state


def record_sent(
    db: sqlite_utils.Database, server: str, experiment: str, state: SyncState, last: Point, n: int
) -> None:
    """The server acknowledged `n` more points, up to `last`: move the high-water mark."""
    state.sent_key, state.sent_seq, state.points = last.key, last.seq, state.points + n
    with db.conn:
        db.execute(
            """UPDATE sync_runs SET sent_key = ?, sent_seq = ?, points = ?
               WHERE server = ? AND experiment = ? AND run_id = ?""",
            [state.sent_key, state.sent_seq, state.points, server, experiment, state.run_id],
        )


def record_done(db: sqlite_utils.Database, server: str, experiment: str, run_id: int) -> None:
    with db.conn:
        db.execute(
            "UPDATE sync_runs SET done = ? WHERE server = ? AND experiment = ? AND run_id = ?",
            [
                dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                server,
                experiment,
                run_id,
            ],
        )


def points_after(
    db: sqlite_utils.Database, run_id: int, key: int, seq: int, limit: int
) -> list[Point]:
    """The next `limit` points of a run after (key, seq), in (key, seq) order: one range scan
    of the metrics table's primary key."""
    return [
        Point(*row)
        for row in db.execute(
            """SELECT key, seq, step, value, ms FROM metrics
               WHERE run_id = ? AND (key > ? OR (key = ? AND seq > ?))
               ORDER BY key, seq LIMIT ?""",
            [run_id, key, key, seq, limit],
        )
    ]


def iter_points_after(
    db: sqlite_utils.Database, run_id: int, key: int, seq: int, batch: int
) -> Iterator[list[Point]]:
    """The points after (key, seq) in batches of at most `batch`."""
    while True:
        points = points_after(db, run_id, key, seq, batch)
        if not points:
            return
        yield points
        key, seq = points[-1].key, points[-1].seq


def nth_seq(db: sqlite_utils.Database, run_id: int, key: int, n: int) -> int | None:
    """The seq of the `n`-th point (from 1) of a series, None when it has fewer."""
    row = db.execute(
        "SELECT seq FROM metrics WHERE run_id = ? AND key = ? ORDER BY seq LIMIT 1 OFFSET ?",
        [run_id, key, n - 1],
    ).fetchone()
    return None if row is None else int(row[0])


def count_through(db: sqlite_utils.Database, run_id: int, key: int, seq: int) -> int:
    """Points of a series up to and including `seq`."""
    return int(
        db.execute(
            "SELECT count(*) FROM metrics WHERE run_id = ? AND key = ? AND seq <= ?",
            [run_id, key, seq],
        ).fetchone()[0]
    )


def metric_names(db: sqlite_utils.Database, run_id: int) -> dict[int, str]:
    return dict(db.execute("SELECT key, name FROM metric_keys WHERE run_id = ?", [run_id]))


def point_count(db: sqlite_utils.Database, run_id: int) -> int:
    return int(db.execute("SELECT count(*) FROM metrics WHERE run_id = ?", [run_id]).fetchone()[0])
