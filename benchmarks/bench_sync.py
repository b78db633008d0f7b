"""Sync: points per second that `studylog sync` sends for a 100,000-point run to a real
MLflow tracking server (SQLite backend, on this machine), beside a loop of MLflow's own
`log_batch` calls (1,000 metrics a call) sending the same points to the same server in the
same process. The sync's figure includes its bookkeeping: reading the points from the
store, committing the high-water mark after each batch, params, tags and artifacts.

Needs `pip install -e '.[sync,sync-server]'`.

    python benchmarks/bench_sync.py [--points N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _common import report

from studylog.paths import Workspace
from studylog.runner.service import Runner, RunTarget
from studylog.settings import RunSettings, Settings
from studylog.store.db import open_store
from studylog.store.index import index_notes
from studylog.store.queries import get_note
from studylog.sync.client import Target
from studylog.sync.push import sync_runs

SNIPPET = """
from studylog import track
for step in range({points}):
    track.log(step=step, loss=1.0 / (step + 1))
"""


def start_server(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
         "--artifacts-destination", str(folder / "artifacts"), "--workers", "1"],
        cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=5):
                return proc, url
        except OSError:
            time.sleep(0.2)
    raise SystemExit("mlflow server did not start in 300 s")


def studylog_sync(root: Path, url: str, points: int) -> float:
    workspace = Workspace(root)
    (root / "notes").mkdir(parents=True)
    (root / "notes" / "bench.md").write_text(
        f"# Bench\n\n```python run name=bench\n{SNIPPET.format(points=points).strip()}\n```\n"
    )
    settings = Settings(run=RunSettings(timeout=600))
    db = open_store(workspace.db_path)
    index_notes(db, workspace, settings)
    detail = get_note(db, "bench.md")
    finished = asyncio.run(
        Runner(db, workspace, settings.run).run(
            RunTarget(detail.summary.id, "bench.md", detail.snippets[0])
        )
    )
    assert finished.status == "succeeded"
    start = time.perf_counter()
    result = sync_runs(db, workspace, Target(url, "bench-studylog"))
    elapsed = time.perf_counter() - start
    assert result.points == points, result
    db.close()
    return elapsed


def mlflow_log_batch(url: str, points: int, name: str) -> float:
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    client = MlflowClient(url)
    run = client.create_run(client.create_experiment(name))
    now = int(time.time() * 1000)
    start = time.perf_counter()
    for first in range(0, points, 1000):
        batch = [
            Metric("loss", 1.0 / (i + 1), now + i, i)
            for i in range(first, min(first + 1000, points))
        ]
        client.log_batch(run.info.run_id, metrics=batch, synchronous=True)
    client.set_terminated(run.info.run_id)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=100_000)
    args = parser.parse_args()
    os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "server").mkdir()
        proc, url = start_server(root / "server")
        try:
            # The baseline before and after ours, the faster counted: a warming server or a
            # busy machine does not favour either side.
            before = mlflow_log_batch(url, args.points, "bench-mlflow-1")
            ours = studylog_sync(root / "ws", url, args.points)
            baseline = min(before, mlflow_log_batch(url, args.points, "bench-mlflow-2"))
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait()
    rate, base_rate = args.points / ours, args.points / baseline
    print(f"{args.points:,} points of one run to a local MLflow server ({os.cpu_count()} CPUs)\n")
    report(
        "studylog sync",
        f"{rate:,.0f} pts/s",
        f"{base_rate:,.0f} pts/s",
        f"{rate / base_rate:.2f}× MLflow's own log_batch loop (goal ≥ 0.8×)",
    )


if __name__ == "__main__":
    main()
