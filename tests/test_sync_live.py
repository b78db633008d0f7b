"""`studylog run --sync` against a real MLflow tracking server that goes away mid-run and comes
back on the same port and backend: the run's points all arrive, exactly once."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import Cli

pytest.importorskip("mlflow.server", reason="the sync tests need `pip install -e '.[sync-server]'`")

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from tests.mlflow_helpers import MlflowServer

DEADLINE = 180

LIVE = """\
import os, time
from studylog import track
track.param(lr=0.1)
step = 0
while not os.path.exists({stop!r}):
    track.log(step=step, loss=1.0 / (step + 1), acc=step / 1000)
    step += 1
    time.sleep(0.002)
print("stopped at", step)
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[MlflowServer]:
    folder = tmp_path / "mlflow"
    folder.mkdir()
    srv = MlflowServer(folder)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(autouse=True)
def _quick_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


def _wait(what: str, condition: Callable[[], bool], proc: subprocess.Popen[str] | None) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the run ended while waiting for {what}: {proc.communicate()}")
        assert time.monotonic() < deadline, f"no {what} in {DEADLINE} s"
        time.sleep(0.1)


def _local_points(root: Path, run_id: int, name: str) -> int:
    with sqlite3.connect(root / ".studylog" / "studylog.db") as db:
        row = db.execute(
            """SELECT count(*) FROM metrics m JOIN metric_keys k
                   ON k.run_id = m.run_id AND k.key = m.key
               WHERE m.run_id = ? AND k.name = ?""",
            [run_id, name],
        ).fetchone()
    return int(row[0])


def _remote_points(url: str, experiment: str, run_id: int, name: str) -> int:
    """Points of `name` the server holds for studylog run `run_id` (0 while unreachable)."""
    try:
        client = MlflowClient(url)
        exp = client.get_experiment_by_name(experiment)
        if exp is None:
            return 0
        runs = client.search_runs(
            [exp.experiment_id], filter_string=f"tags.`studylog.run_id` = '{run_id}'"
        )
        return len(client.get_metric_history(runs[0].info.run_id, name)) if runs else 0
    except (MlflowException, OSError):  # polling a server that may be away
        return 0


def _start_run(root: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "studylog", "run", "train.md", "--sync", "--json"],
        env={**os.environ, "STUDYLOG_WORKSPACE": str(root)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _assert_exactly_once(url: str, experiment: str, root: Path, run_id: int) -> None:
    client = MlflowClient(url)
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None
    runs = client.search_runs(
        [exp.experiment_id], filter_string=f"tags.`studylog.run_id` = '{run_id}'"
    )
    assert len(runs) == 1
    assert runs[0].info.status == "FINISHED"
    assert runs[0].data.params["lr"] == "0.1"
    for name in ("loss", "acc"):
        steps = [m.step for m in client.get_metric_history(runs[0].info.run_id, name)]
        local = _local_points(root, run_id, name)
        assert local > 0
        assert sorted(steps) == list(range(local)), name  # every point, none twice


def test_run_sync_survives_a_server_that_goes_away_and_comes_back(
    tmp_path: Path, server: MlflowServer
) -> None:
    experiment = f"live-{uuid.uuid4().hex[:8]}"
    root = tmp_path / "carol"
    (root / "notes").mkdir(parents=True)
    stop = tmp_path / "stop"
    (root / "studylog.toml").write_text(
        # The run lasts until the test touches `stop`; its timeout must not end it first
        # while a loaded machine restarts the server (each wait has its own deadline).
        f'[run]\ntimeout = 1800\n\n[sync]\nmlflow_uri = "{server.url}"\n'
        f'experiment = "{experiment}"\n',
        encoding="utf-8",
    )
    code = LIVE.format(stop=str(stop))
    (root / "notes" / "train.md").write_text(
        f"# Live\n\n```python run name=live\n{code}```\n", encoding="utf-8"
    )

    # 1. The server goes away mid-run and comes back while the run still goes.
    proc = _start_run(root)
    _wait(
        "points on the server", lambda: _remote_points(server.url, experiment, 1, "loss") > 50, proc
    )
    server.stop()
    while_away = _local_points(root, 1, "loss")
    _wait(
        "points stored while the server is away",
        lambda: _local_points(root, 1, "loss") > while_away + 200,
        proc,
    )
    server.start()
    at_return = _local_points(root, 1, "loss")
    _wait(
        "the missed points on the server",
        lambda: _remote_points(server.url, experiment, 1, "loss") > at_return,
        proc,
    )
    stop.touch()
    out, err = proc.communicate(timeout=DEADLINE)
    assert proc.returncode == 0, err
    [result] = json.loads(out)
    assert result["status"] == "succeeded" and result["synced"] is True
    assert "live sync fell behind" in err and "caught up" in err
    _assert_exactly_once(server.url, experiment, root, 1)

    # 2. The server is away when the run ends: the run succeeds here, says the sync fell
    # behind, and `studylog sync` completes it once the server is back.
    stop.unlink()
    proc = _start_run(root)
    _wait(
        "points on the server", lambda: _remote_points(server.url, experiment, 2, "loss") > 50, proc
    )
    server.stop()
    stop.touch()
    out, err = proc.communicate(timeout=DEADLINE)
    assert proc.returncode == 0, err
    [result] = json.loads(out)
    assert result["status"] == "succeeded" and result["synced"] is False
    assert "the sync fell behind" in err and "studylog sync" in err
    server.start()
    report = json.loads(Cli(root)("sync", "--json").stdout)
    assert report["sent"] == 1
    _assert_exactly_once(server.url, experiment, root, 2)
    _assert_exactly_once(server.url, experiment, root, 1)
