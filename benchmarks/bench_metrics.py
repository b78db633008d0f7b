"""Metric ingestion: a snippet logs 1,000,000 points with `track.log`; points per second end
to end (the snippet's calls → rows in SQLite, the child's start, the run's bookkeeping and
the series' coarser levels, store/levels.py, included) and bytes on disk per point, levels
included (their share shown apart). Beside, in the same run:

- a bare `executemany` of the same rows into the same table (the ceiling), and
- MLflow's SQLite backend logging the same points with `MlflowClient.log_batch`
  (benchmark-only: `pip install mlflow-skinny sqlalchemy alembic`; left out when missing).

    python benchmarks/bench_metrics.py [--points N] [--repeat N] [--mlflow-points N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sqlite3
import statistics
import tempfile
import time
from array import array
from pathlib import Path

from _common import report

from studylog.paths import Workspace
from studylog.protocol import Columns
from studylog.runner.service import Runner, RunTarget
from studylog.settings import RunSettings, Settings
from studylog.store.db import open_store
from studylog.store.history import get_run
from studylog.store.index import index_notes
from studylog.store.metrics import MetricWriter
from studylog.store.queries import get_note

SNIPPET = """
from studylog import track
for step in range({points}):
    track.log(step=step, loss=1.0 / (step + 1))
"""


def _db_bytes(path: Path) -> int:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path.stat().st_size


def studylog_ingestion(root: Path, points: int) -> tuple[float, int, int]:
    """Seconds for the whole run, bytes the store grew by, and bytes of the levels."""
    workspace = Workspace(root)
    (root / "notes").mkdir(parents=True)
    (root / "notes" / "bench.md").write_text(
        f"# Bench\n\n```python run name=bench\n{SNIPPET.format(points=points).strip()}\n```\n"
    )
    settings = Settings(run=RunSettings(timeout=600))
    db = open_store(workspace.db_path)
    index_notes(db, workspace, settings)
    detail = get_note(db, "bench.md")
    before = _db_bytes(workspace.db_path)
    runner = Runner(db, workspace, settings.run)
    start = time.perf_counter()
    finished = asyncio.run(runner.run(RunTarget(detail.summary.id, "bench.md", detail.snippets[0])))
    elapsed = time.perf_counter() - start
    run = get_run(db, finished.run_id)
    db.close()
    assert run.summary.status == "succeeded", run.stderr
    assert run.metrics[0].points == points, run.metrics
    return elapsed, _db_bytes(workspace.db_path) - before, _levels_bytes(workspace.db_path)


def _levels_bytes(path: Path) -> int:
    """What the levels' table takes in the store (SQLite's dbstat, where it is built in)."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT sum(pgsize) FROM dbstat WHERE name = 'metric_levels'"
        ).fetchone()[0]
    except sqlite3.OperationalError:  # no dbstat in this SQLite
        return -1
    finally:
        conn.close()


def bare_executemany(root: Path, points: int) -> float:
    """The same rows, already in Python, into the same table in one transaction."""
    db = open_store(root / "bare.db")
    db.execute(
        "INSERT INTO runs (id, note_path, snippet, source, code, code_hash, seed, status, started)"
        " VALUES (1, 'b.md', 'b', 'fence', '', '', 0, 'running', '')"
    )
    rows = [(0, i, i, 1.0 / (i + 1), i // 1000) for i in range(points)]
    start = time.perf_counter()
    db.conn.execute("BEGIN")  # the store's connection is in autocommit mode
    db.conn.executemany(
        "INSERT INTO metrics (run_id, key, seq, step, value, ms) VALUES (1, ?, ?, ?, ?, ?)", rows
    )
    db.conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    db.close()
    return elapsed


def writer_ingestion(root: Path, points: int) -> float:
    """The same points, as the channel decodes them (typed columns, batches of 8,192), through
    the store's MetricWriter: the points and their levels, no child process. Apart from the
    end-to-end figure, it shows what the levels cost the writer on a busy machine."""
    db = open_store(root / "writer.db")
    db.execute(
        "INSERT INTO runs (id, note_path, snippet, source, code, code_hash, seed, status, started)"
        " VALUES (1, 'w.md', 'w', 'fence', '', '', 0, 'running', '')"
    )
    batches = [
        Columns(
            array("q", [0] * (end - start)),
            array("q", range(start, end)),
            array("q", range(start, end)),
            array("d", (1.0 / (i + 1) for i in range(start, end))),
            array("q", (i // 1000 for i in range(start, end))),
        )
        for start in range(0, points, 8192)
        for end in [min(start + 8192, points)]
    ]
    writer = MetricWriter(db, 1)
    writer.add_key(0, "loss")
    start = time.perf_counter()
    for batch in batches:
        writer.add_points(batch)
        writer.flush()
    elapsed = time.perf_counter() - start
    db.close()
    return elapsed


def mlflow_log_batch(root: Path, points: int) -> tuple[float, int] | None:
    try:
        from mlflow.entities import Metric
        from mlflow.tracking import MlflowClient
    except ImportError:
        return None
    db_path = root / "mlflow.db"
    client = MlflowClient(tracking_uri=f"sqlite:///{db_path}")
    experiment = client.create_experiment("bench", artifact_location=str(root / "artifacts"))
    run = client.create_run(experiment)
    before = _db_bytes(db_path)
    now = int(time.time() * 1000)
    start = time.perf_counter()
    for first in range(0, points, 1000):  # log_batch takes at most 1,000 metrics a call
        batch = [
            Metric("loss", 1.0 / (i + 1), now, i) for i in range(first, min(first + 1000, points))
        ]
        client.log_batch(run.info.run_id, metrics=batch)
    elapsed = time.perf_counter() - start
    return elapsed, _db_bytes(db_path) - before


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="rounds of (end to end, bare, writer), each its own baseline: medians reported",
    )
    parser.add_argument(
        "--mlflow-points",
        type=int,
        default=100_000,
        help="MLflow is slow: log this many and report its rate",
    )
    args = parser.parse_args()
    args.repeat = max(1, args.repeat)
    rounds: list[tuple[float, float, float]] = []  # (ours, bare, writer) seconds, one round
    loads = []
    with tempfile.TemporaryDirectory() as tmp:
        for number in range(args.repeat):
            root = Path(tmp) / f"round-{number}"
            root.mkdir()
            ours, disk, levels = studylog_ingestion(root / "ws", args.points)
            rounds.append(
                (ours, bare_executemany(root, args.points), writer_ingestion(root, args.points))
            )
            loads.append(os.getloadavg()[0])
            shutil.rmtree(root)  # a round's three stores: about 100 MB
        mlflow = mlflow_log_batch(Path(tmp), args.mlflow_points)
    ratios = sorted(bare / ours for ours, bare, _ in rounds)
    writer_ratios = sorted(bare / written for _, bare, written in rounds)
    ours = statistics.median(r[0] for r in rounds)
    bare = statistics.median(r[1] for r in rounds)
    written = statistics.median(r[2] for r in rounds)
    rate, bare_rate = args.points / ours, args.points / bare
    print(
        f"{args.points:,} points logged with track.log in one run ({os.cpu_count()} CPUs), "
        f"{args.repeat} rounds; load average {min(loads):.1f}–{max(loads):.1f}\n"
    )
    spread = f"rounds {ratios[0]:.2f}–{ratios[-1]:.2f}"
    report(
        "studylog end to end",
        f"{rate:,.0f} pts/s",
        f"{bare_rate:,.0f} pts/s",
        f"{statistics.median(ratios):.2f}× bare executemany (goal ≥ 0.5×; {spread})",
    )
    report(
        "  the metric writer alone",
        f"{args.points / written:,.0f} pts/s",
        f"{bare_rate:,.0f} pts/s",
        f"{statistics.median(writer_ratios):.2f}× bare executemany (points and levels, no "
        f"child; rounds {writer_ratios[0]:.2f}–{writer_ratios[-1]:.2f})",
    )
    report(
        "studylog on disk",
        f"{disk / args.points * 1e6 / 2**20:.1f} MB/M",
        "40 MB/M",
        "per million points (goal ≤ 40), levels included"
        + ("" if levels < 0 else f" ({levels / args.points * 1e6 / 2**20:.1f} MB/M of it)"),
    )
    if mlflow is None:
        print("MLflow not installed: pip install mlflow-skinny sqlalchemy alembic")
    else:
        m_time, m_disk = mlflow
        m_rate = args.mlflow_points / m_time
        report(
            "MLflow log_batch (SQLite)",
            f"{m_rate:,.0f} pts/s",
            f"{rate:,.0f} pts/s",
            f"studylog is {rate / m_rate:.0f}× faster",
        )
        report(
            "MLflow on disk",
            f"{m_disk / args.mlflow_points * 1e6 / 2**20:.0f} MB/M",
            f"{disk / args.points * 1e6 / 2**20:.1f} MB/M",
            "per million points",
        )


if __name__ == "__main__":
    main()
