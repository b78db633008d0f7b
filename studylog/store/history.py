"""Reading runs back: the history of a note or snippet, one run in full, and a metric's curve
reduced to what a plot can show."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from studylog.store.runs import COST_COLUMNS, RunCost, RunEnd

if TYPE_CHECKING:
    import sqlite3

    import sqlite_utils


class RunNotFound(LookupError):
    """No run has that id."""


@dataclass(kw_only=True)
class RunSummary(RunEnd):
    """A run as a list shows it: how it ended (a RunEnd: status `running` while it goes),
    what ran, and the last value of each metric."""

    id: int
    note_id: int | None
    note_path: str
    snippet: str
    started: str
    seed: int
    code_hash: str
    final_metrics: dict[str, float | None] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "note": self.note_path,
            "snippet": self.snippet,
            "status": self.status,
            "started": self.started,
            "duration": self.duration,
            "exit_code": self.exit_code,
            "signal": self.signal,
            "seed": self.seed,
            "last_error": self.last_error,
            "final_metrics": {k: _json_number(v) for k, v in self.final_metrics.items()},
        }


@dataclass
class MetricInfo:
    name: str
    points: int
    last_step: int | None
    last_value: float | None
    min_value: float | None
    max_value: float | None


@dataclass
class RunDetail:
    summary: RunSummary
    source: str
    snippet_path: str | None
    code: str
    args: list[str]
    timeout: float | None
    memory_limit_mb: int | None
    ended: str | None
    truncated: bool
    env: dict[str, Any]
    warnings: list[str]
    stdout: str
    stderr: str
    params: dict[str, Any]
    metrics: list[MetricInfo]
    start_path: str | None = None  # warm (forked by the warm parent) | cold; None before m009

    def to_json(self) -> dict[str, object]:
        data = self.summary.to_json()
        data.update(
            source=self.source,
            snippet_path=self.snippet_path,
            code=self.code,
            code_hash=self.summary.code_hash,
            args=self.args,
            timeout=self.timeout,
            memory_limit_mb=self.memory_limit_mb,
            start_path=self.start_path,
            ended=self.ended,
            truncated=self.truncated,
            environment=self.env,
            warnings=self.warnings,
            params=self.params,
            cost=self.summary.cost.to_json(),
            metrics=[
                {
                    "name": m.name,
                    "points": m.points,
                    "last_step": m.last_step,
                    "last_value": _json_number(m.last_value),
                    "min": _json_number(m.min_value),
                    "max": _json_number(m.max_value),
                }
                for m in self.metrics
            ],
            output={"stdout": self.stdout, "stderr": self.stderr},
        )
        return data


_SUMMARY_NAMES = (
    "id",
    "note_id",
    "note_path",
    "snippet",
    "status",
    "started",
    "duration",
    "exit_code",
    "signal",
    "seed",
    "code_hash",
    "last_error",
)
# A run's summary and its cost (no cost row: not measured), FROM runs LEFT JOIN run_cost.
_SUMMARY_COLUMNS = ", ".join(
    [f"runs.{name}" for name in _SUMMARY_NAMES] + [f"run_cost.{name}" for name in COST_COLUMNS]
)
_SUMMARY_FROM = "runs LEFT JOIN run_cost ON run_cost.run_id = runs.id"
_SUMMARY_WIDTH = len(_SUMMARY_NAMES) + len(COST_COLUMNS)


def _summary(row: tuple[Any, ...]) -> RunSummary:
    n = len(_SUMMARY_NAMES)
    cost = RunCost(**dict(zip(COST_COLUMNS, row[n:_SUMMARY_WIDTH], strict=True)))
    return RunSummary(**dict(zip(_SUMMARY_NAMES, row[:n], strict=True)), cost=cost)


def _add_final_metrics(db: sqlite_utils.Database, runs: list[RunSummary]) -> None:
    """The last value of each metric, read through the primary key (no scan of the points)."""
    by_id = {r.id: r for r in runs}
    if not by_id:
        return
    ids = ",".join(str(i) for i in by_id)
    for run_id, name, value in db.execute(
        f"""SELECT k.run_id, k.name,
                   (SELECT value FROM metrics m WHERE m.run_id = k.run_id AND m.key = k.key
                    ORDER BY seq DESC LIMIT 1)
            FROM metric_keys k WHERE k.run_id IN ({ids}) ORDER BY k.run_id, k.key"""
    ):
        by_id[run_id].final_metrics[name] = value


def list_runs(
    db: sqlite_utils.Database,
    *,
    note_id: int | None = None,
    snippet: str | None = None,
    limit: int | None = None,
    status: str | None = None,
) -> list[RunSummary]:
    """Runs, newest first, of one note (and snippet) or of all (of that `status` when
    given)."""
    where: list[str] = []
    params: list[object] = []
    if note_id is not None:
        where.append("runs.note_id = ?")
        params.append(note_id)
    if snippet is not None:
        where.append("runs.snippet = ?")
        params.append(snippet)
    if status is not None:
        where.append("runs.status = ?")
        params.append(status)
    sql = f"SELECT {_SUMMARY_COLUMNS} FROM {_SUMMARY_FROM}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY runs.id DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    runs = [_summary(row) for row in db.execute(sql, params)]
    _add_final_metrics(db, runs)
    return runs


def latest_runs(
    db: sqlite_utils.Database, note_id: int, status: str | None = None
) -> dict[str, RunSummary]:
    """The latest run of each snippet of a note (of that `status` when given), by snippet
    name."""
    where = "note_id = ?" + (" AND status = ?" if status is not None else "")
    runs = [
        _summary(row)
        for row in db.execute(
            f"""SELECT {_SUMMARY_COLUMNS} FROM {_SUMMARY_FROM} WHERE runs.id IN
                    (SELECT max(id) FROM runs WHERE {where} GROUP BY snippet)""",
            [note_id] if status is None else [note_id, status],
        )
    ]
    _add_final_metrics(db, runs)
    return {r.snippet: r for r in runs}


# Which run of each snippet an export shows: the latest, the latest that succeeded (the
# default: a cancelled 5-step try must not replace a good 200-step run), or a run by its id.
RunChoice = Literal["latest", "succeeded"] | int


@dataclass(frozen=True)
class ShownRun:
    """The run an export shows for a snippet, and why this one."""

    summary: RunSummary
    why: Literal["latest", "latest succeeded", "chosen", "latest, none succeeded"]


def shown_runs(
    db: sqlite_utils.Database, note_id: int, choice: RunChoice = "succeeded"
) -> dict[str, ShownRun]:
    """The run each snippet of a note shows in an export, by snippet name. "succeeded": the
    latest succeeded run, else (never succeeded) the latest; a run id: that run for its
    snippet when it is of this note, the latest succeeded for the others."""
    latest = latest_runs(db, note_id)
    if choice == "latest":
        return {name: ShownRun(run, "latest") for name, run in latest.items()}
    good = latest_runs(db, note_id, "succeeded")
    shown = {
        name: ShownRun(good[name], "latest succeeded")
        if name in good
        else ShownRun(run, "latest, none succeeded")
        for name, run in latest.items()
    }
    if isinstance(choice, int):
        row = db.execute("SELECT note_id FROM runs WHERE id = ?", [choice]).fetchone()
        if row is not None and row[0] == note_id:
            chosen = get_run(db, choice).summary
            shown[chosen.snippet] = ShownRun(chosen, "chosen")
    return shown


def get_run(db: sqlite_utils.Database, run_id: int) -> RunDetail:
    row = db.execute(
        f"""SELECT {_SUMMARY_COLUMNS}, source, snippet_path, code, args, timeout,
                   memory_limit_mb, ended, truncated, env, warnings, stdout, stderr,
                   start_path
            FROM {_SUMMARY_FROM} WHERE runs.id = ?""",
        [run_id],
    ).fetchone()
    if row is None:
        raise RunNotFound(f"no run {run_id}; `studylog runs` lists the runs")
    summary = _summary(row)
    _add_final_metrics(db, [summary])
    (source, snippet_path, code, args, timeout, memory, ended, truncated, env, warnings) = row[
        _SUMMARY_WIDTH : _SUMMARY_WIDTH + 10
    ]
    params = {
        name: json.loads(value)
        for name, value in db.execute(
            "SELECT name, value FROM run_params WHERE run_id = ? ORDER BY rowid", [run_id]
        )
    }
    return RunDetail(
        summary=summary,
        source=source,
        snippet_path=snippet_path,
        code=code,
        args=json.loads(args),
        timeout=timeout,
        memory_limit_mb=memory,
        ended=ended,
        truncated=bool(truncated),
        env=json.loads(env),
        warnings=json.loads(warnings),
        stdout=row[_SUMMARY_WIDTH + 10],
        stderr=row[_SUMMARY_WIDTH + 11],
        params=params,
        metrics=_metric_infos(db, run_id),
        start_path=row[_SUMMARY_WIDTH + 12],
    )


def _metric_infos(db: sqlite_utils.Database, run_id: int) -> list[MetricInfo]:
    infos = []
    for key, name in db.execute(
        "SELECT key, name FROM metric_keys WHERE run_id = ? ORDER BY key", [run_id]
    ).fetchall():
        count, low, high = db.execute(
            "SELECT count(*), min(value), max(value) FROM metrics WHERE run_id = ? AND key = ?",
            [run_id, key],
        ).fetchone()
        last = db.execute(
            "SELECT step, value FROM metrics WHERE run_id = ? AND key = ? ORDER BY seq DESC "
            "LIMIT 1",
            [run_id, key],
        ).fetchone()
        infos.append(
            MetricInfo(
                name=name,
                points=count,
                last_step=last[0] if last else None,
                last_value=(last[1]) if last else None,
                min_value=(low),
                max_value=(high),
            )
        )
    return infos


def metric_names(db: sqlite_utils.Database, run_id: int) -> list[str]:
    return [
        name
        for (name,) in db.execute(
            "SELECT name FROM metric_keys WHERE run_id = ? ORDER BY key", [run_id]
        )
    ]


def series(
    db: sqlite_utils.Database,
    run_id: int,
    name: str,
    max_points: int | None = 400,
    step_range: tuple[int, int] | None = None,
) -> list[tuple[int, float]]:
    """The (step, value) points of one metric in logged order, NaN left out. With
    `max_points`, a long series is cut into that many buckets and each keeps its lowest and
    its highest point, so a plot of a few hundred columns still shows every spike; they are
    read from the points when there are at most 4 × `max_points`, else from the finest of
    the stored levels (store/levels.py) that covers them in at most 2 × `max_points` rows.
    `step_range` (first, last), both included, reads that part only; steps are taken to grow
    with the points, as a training loop logs them."""
    from studylog.store import levels

    found = db.execute(
        "SELECT key FROM metric_keys WHERE run_id = ? AND name = ?", [run_id, name]
    ).fetchone()
    if found is None:
        return []
    key = found[0]
    conn = db.conn
    top = conn.execute(
        "SELECT max(seq) FROM metrics WHERE run_id = ? AND key = ?", [run_id, key]
    ).fetchone()[0]
    if top is None:
        return []
    lo, hi = 0, top + 1
    if step_range is not None:
        lo = _first_place(conn, run_id, key, lo, hi, step_range[0])
        hi = _first_place(conn, run_id, key, lo, hi, step_range[1] + 1)
    span = hi - lo
    if max_points is None or span <= 2 * max_points:
        points = conn.execute(
            "SELECT step, value FROM metrics WHERE run_id = ? AND key = ? AND seq >= ? "
            "AND seq < ? AND value IS NOT NULL ORDER BY seq",
            [run_id, key, lo, hi],
        ).fetchall()
    elif levels.has_levels(conn, run_id, key, top):
        # The points themselves up to 4 per bucket, else the finest level with at most 2
        # rows a bucket: a redraw reads at most a few thousand rows at any length.
        number = 0 if span <= 4 * max_points else levels.level_for(span, 2 * max_points)
        extremes = levels.cover(conn, run_id, key, lo, hi, number)
        points = levels.reduce(extremes, lo, span, max_points)
    else:
        points = _reduce_points(db, run_id, key, lo, hi, max_points)
    if step_range is not None:  # steps that do not grow: keep to the range asked for
        first, last = step_range
        points = [p for p in points if first <= p[0] <= last]
    return points


def _first_place(
    conn: sqlite3.Connection, run_id: int, key: int, lo: int, hi: int, step: int
) -> int:
    """The first place in lo..hi whose step is `step` or more (hi when none): a binary search
    over the primary key, a few dozen probes for any length."""
    probe = (
        "SELECT step FROM metrics WHERE run_id = ? AND key = ? AND seq >= ? ORDER BY seq LIMIT 1"
    )
    while lo < hi:
        middle = (lo + hi) // 2
        found = conn.execute(probe, [run_id, key, middle]).fetchone()
        if found is None or found[0] >= step:
            hi = middle
        else:
            lo = middle + 1
    return lo


def _reduce_points(
    db: sqlite_utils.Database, run_id: int, key: int, lo: int, hi: int, max_points: int
) -> list[tuple[int, float]]:
    """The reduction from the points themselves, for a series stored without levels."""
    size = math.ceil((hi - lo) / max_points)
    # One short range scan of the primary key per bucket and extreme: SQLite gives a bare
    # column from the row that holds the min() or max(), so each point keeps its own step.
    # (A single GROUP BY seq / size is slower: SQLite sorts the groups instead of streaming.)
    range_sql = "FROM metrics WHERE run_id = ? AND key = ? AND seq >= ? AND seq < ?"
    low_sql = f"SELECT seq, step, min(value) {range_sql}"
    high_sql = f"SELECT seq, step, max(value) {range_sql}"
    points: list[tuple[int, float]] = []
    for start in range(lo, hi, size):
        bounds = (run_id, key, start, min(start + size, hi))
        low = db.execute(low_sql, bounds).fetchone()
        high = db.execute(high_sql, bounds).fetchone()
        if low[2] is None:  # every point of the bucket is NaN
            continue
        pair = sorted({(low[0], low[1], low[2]), (high[0], high[1], high[2])})
        points.extend((step, value) for _, step, value in pair)
    return points


def _json_number(value: float | None) -> float | None:
    """JSON has no infinity: a diverged loss of inf is shown as null, like NaN."""
    return value if value is None or math.isfinite(value) else None
