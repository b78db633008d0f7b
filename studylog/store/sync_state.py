"""What `studylog sync` has sent to which MLflow server: the MLflow run of each studylog run
and the last point of each series the server acknowledged (no MLflow here: studylog/sync/
talks to it)."""

from __future__ import annotations

import datetime as dt
import json
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
    marks: dict[int, int]  # metric key → the last seq the server acknowledged
    inflight: list[int] | None  # keys of a request that may have landed unrecorded
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
        """SELECT run_id, mlflow_run_id, inflight, points, done IS NOT NULL
           FROM sync_runs WHERE server = ? AND experiment = ? AND run_id = ?""",
        [server, experiment, run_id],
    ).fetchone()
    if row is None:
        return None
    run_id, mlflow_run_id, inflight, points, done = row
    marks = dict(
        db.execute(
            "SELECT key, sent_seq FROM sync_series WHERE server = ? AND experiment = ? "
            "AND run_id = ?",
            [server, experiment, run_id],
        ).fetchall()
    )
    keys = None if inflight is None else [int(k) for k in json.loads(inflight)]
    return SyncState(run_id, mlflow_run_id, marks, keys, points, bool(done))


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


def record_inflight(
    db: sqlite_utils.Database, server: str, experiment: str, state: SyncState, keys: list[int]
) -> None:
    """A request with points of these series is about to be sent."""
    state.inflight = keys
    with db.conn:
        db.execute(
            "UPDATE sync_runs SET inflight = ? WHERE server = ? AND experiment = ? AND run_id = ?",
            [json.dumps(keys), server, experiment, state.run_id],
        )


def record_sent(
    db: sqlite_utils.Database,
    server: str,
    experiment: str,
    state: SyncState,
    marks: dict[int, int],
    n: int,
) -> None:
    """The server acknowledged `n` more points, up to `marks` (key → seq) in their series:
    move those series' marks; nothing is in flight any more."""
    state.marks.update(marks)
    state.points += n
    state.inflight = None
    with db.conn:
        db.conn.executemany(
            """INSERT INTO sync_series (server, experiment, run_id, key, sent_seq)
               VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (server, experiment, run_id, key) DO UPDATE SET
                   sent_seq = excluded.sent_seq""",
            [(server, experiment, state.run_id, k, seq) for k, seq in marks.items()],
        )
        db.execute(
            """UPDATE sync_runs SET points = ?, inflight = NULL
               WHERE server = ? AND experiment = ? AND run_id = ?""",
            [state.points, server, experiment, state.run_id],
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


def unsent_batches(
    db: sqlite_utils.Database, run_id: int, marks: dict[int, int], batch: int
) -> Iterator[list[Point]]:
    """The points after each series' mark, in (key, seq) order, in batches of at most
    `batch`: one range scan of the metrics table's primary key per series."""
    keys = [
        k
        for (k,) in db.execute(
            "SELECT key FROM metric_keys WHERE run_id = ? ORDER BY key", [run_id]
        )
    ]
    after = dict(marks)
    points: list[Point] = []
    for key in keys:
        while True:
            rows = db.execute(
                """SELECT key, seq, step, value, ms FROM metrics
                   WHERE run_id = ? AND key = ? AND seq > ? ORDER BY seq LIMIT ?""",
                [run_id, key, after.get(key, -1), batch - len(points)],
            ).fetchall()
            if not rows:
                break
            points.extend(Point(*row) for row in rows)
            after[key] = points[-1].seq
            if len(points) == batch:
                yield points
                points = []
    if points:
        yield points


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


def last_seq(db: sqlite_utils.Database, run_id: int, key: int) -> int:
    row = db.execute(
        "SELECT max(seq) FROM metrics WHERE run_id = ? AND key = ?", [run_id, key]
    ).fetchone()
    return -1 if row[0] is None else int(row[0])


def metric_names(db: sqlite_utils.Database, run_id: int) -> dict[int, str]:
    return dict(db.execute("SELECT key, name FROM metric_keys WHERE run_id = ?", [run_id]))


def point_count(db: sqlite_utils.Database, run_id: int) -> int:
    return int(db.execute("SELECT count(*) FROM metrics WHERE run_id = ?", [run_id]).fetchone()[0])
