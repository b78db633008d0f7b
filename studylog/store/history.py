"""Reading runs back: the history of a note or snippet, one run in full, and a metric's curve
reduced to what a plot can show."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from studylog.store.runs import COST_COLUMNS, RunCost, RunEnd

if TYPE_CHECKING:
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
) -> list[RunSummary]:
    """Runs, newest first, of one note (and snippet) or of all."""
    where: list[str] = []
    params: list[object] = []
    if note_id is not None:
        where.append("runs.note_id = ?")
        params.append(note_id)
    if snippet is not None:
        where.append("runs.snippet = ?")
        params.append(snippet)
    sql = f"SELECT {_SUMMARY_COLUMNS} FROM {_SUMMARY_FROM}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY runs.id DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    runs = [_summary(row) for row in db.execute(sql, params)]
    _add_final_metrics(db, runs)
    return runs


def latest_runs(db: sqlite_utils.Database, note_id: int) -> dict[str, RunSummary]:
    """The latest run of each snippet of a note, by snippet name."""
    runs = [
        _summary(row)
        for row in db.execute(
            f"""SELECT {_SUMMARY_COLUMNS} FROM {_SUMMARY_FROM} WHERE runs.id IN
                    (SELECT max(id) FROM runs WHERE note_id = ? GROUP BY snippet)""",
            [note_id],
        )
    ]
    _add_final_metrics(db, runs)
    return {r.snippet: r for r in runs}


def get_run(db: sqlite_utils.Database, run_id: int) -> RunDetail:
    row = db.execute(
        f"""SELECT {_SUMMARY_COLUMNS}, source, snippet_path, code, args, timeout,
                   memory_limit_mb, ended, truncated, env, warnings, stdout, stderr
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
    db: sqlite_utils.Database, run_id: int, name: str, max_points: int | None = 400
) -> list[tuple[int, float]]:
    """The (step, value) points of one metric in logged order. With `max_points`, a long
    series is cut into that many buckets and each keeps its lowest and its highest point, so
    a plot of a few hundred columns still shows every spike. NaN points are left out."""
    found = db.execute(
        "SELECT key FROM metric_keys WHERE run_id = ? AND name = ?", [run_id, name]
    ).fetchone()
    if found is None:
        return []
    key = found[0]
    count = db.execute(
        "SELECT coalesce(max(seq) + 1, 0) FROM metrics WHERE run_id = ? AND key = ?",
        [run_id, key],
    ).fetchone()[0]
    if max_points is None or count <= 2 * max_points:
        return db.execute(
            "SELECT step, value FROM metrics WHERE run_id = ? AND key = ? AND value IS NOT NULL "
            "ORDER BY seq",
            [run_id, key],
        ).fetchall()
    size = math.ceil(count / max_points)
    # One short range scan of the primary key per bucket and extreme: SQLite gives a bare
    # column from the row that holds the min() or max(), so each point keeps its own step.
    # (A single GROUP BY seq / size is slower: SQLite sorts the groups instead of streaming.)
    range_sql = "FROM metrics WHERE run_id = ? AND key = ? AND seq >= ? AND seq < ?"
    low_sql = f"SELECT seq, step, min(value) {range_sql}"
    high_sql = f"SELECT seq, step, max(value) {range_sql}"
    points: list[tuple[int, float]] = []
    for start in range(0, count, size):
        bounds = (run_id, key, start, start + size)
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
