"""`studylog sync`: send every finished run not yet sent to an MLflow server, exactly once.

How a sync that stops half way (killed, server away) leaves no duplicate:
1. the MLflow run is created with the tags `studylog.workspace` and `studylog.run_id`, and
   its id recorded in the store before anything else is sent; a sync killed between the two
   finds that run by its tags next time instead of making another;
2. params, tags and artifacts are sent again on a resume: MLflow keeps one of each;
3. points go in (key, seq) order, at most 1,000 a request; the keys a request carries are
   recorded before it is sent and each series' last acknowledged point after it. A resume
   first asks the server how many points of those series it holds (the request may have
   landed without being recorded) and moves their marks there. Marks per series let a run
   that is still growing be sent live (studylog/sync/live.py) by the same code;
4. the run is marked done in the store only after MLflow has its end status.
One sync at a time per workspace (a lock file), so two never race over the same run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import getpass
import json
import math
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from studylog.store import sync_state as state_db
from studylog.store.history import RunDetail, get_run
from studylog.sync.client import (
    SyncError,
    Target,
    experiment_id,
    explain,
    make_client,
    mlflow_errors,
    tag,
)

if TYPE_CHECKING:
    import sqlite_utils
    from mlflow import MlflowClient

    from studylog.paths import Workspace
    from studylog.store.sync_state import SyncState

# MLflow's limits on one log_batch request, and on a param's and a tag's value.
METRICS_PER_BATCH = 1000
PARAMS_TAGS_PER_BATCH = 100
PARAM_VALUE_LIMIT = 6000
TAG_VALUE_LIMIT = 8000
NAME_LIMIT = 250

STATUS_MAP = {
    "succeeded": "FINISHED",
    "failed": "FAILED",
    "timed_out": "FAILED",
    "out_of_memory": "FAILED",
    "crashed": "FAILED",
    "cancelled": "KILLED",
    "interrupted": "KILLED",
}


@dataclass
class SyncReport:
    server: str
    experiment: str
    sent: int = 0  # runs completed on the server by this sync
    points: int = 0  # metric points sent by this sync
    skipped: int = 0  # runs already there from an earlier sync
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "sent": self.sent,
            "points": self.points,
            "skipped": self.skipped,
            "server": self.server,
            "experiment": self.experiment,
            "warnings": self.warnings,
        }


@contextlib.contextmanager
def _sync_lock(workspace: Workspace) -> Iterator[None]:
    workspace.state_dir.mkdir(parents=True, exist_ok=True)
    path = workspace.state_dir / "sync.lock"
    with open(path, "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SyncError(
                f"another `studylog sync` of {workspace.root} is running (it holds {path}); "
                "wait for it to finish"
            ) from None
        yield


def sync_runs(
    db: sqlite_utils.Database,
    workspace: Workspace,
    target: Target,
    on_run: Callable[[RunDetail, int], None] | None = None,
) -> SyncReport:
    """Send the finished runs not yet complete on `target`; `on_run(run, points)` after each.

    Raises SyncError naming the server when it fails; what was sent so far stays recorded."""
    report = SyncReport(target.server, target.experiment)
    with _sync_lock(workspace):
        client = make_client(target)
        errors = mlflow_errors()
        try:
            exp_id = experiment_id(client, target, create=True)
            assert exp_id is not None
            pending = state_db.runs_to_send(db, target.server, target.experiment)
            report.skipped = state_db.sent_runs(db, target.server, target.experiment)
            pusher = _Pusher(db, client, target, exp_id, report, workspace)
            for run_id in pending:
                run = get_run(db, run_id)
                points = pusher.send(run)
                report.sent += 1
                if on_run is not None:
                    on_run(run, points)
        except errors as exc:
            raise SyncError(
                f"{explain(exc, target.server)}. Nothing is lost locally: {report.sent} run(s) "
                f"and {report.points:,} point(s) were sent before this; run `studylog sync` "
                "again to pick up where it stopped."
            ) from exc
    return report


def _ms(iso: str | None) -> int | None:
    if iso is None:
        return None
    return int(dt.datetime.fromisoformat(iso).timestamp() * 1000)


_BAD_NAME = re.compile(r"[^\w\-. :/]")


def safe_name(name: str) -> str:
    """`name` as MLflow accepts a metric or param name (letters, digits, _ - . space : /)."""
    cleaned = _BAD_NAME.sub("_", name).strip("/") or "_"
    while "//" in cleaned or "/./" in cleaned or "/../" in cleaned:
        cleaned = cleaned.replace("//", "/").replace("/./", "/").replace("/../", "/")
    if cleaned in (".", "..") or cleaned.startswith("../") or cleaned.startswith("./"):
        cleaned = "_" + cleaned
    return cleaned[:NAME_LIMIT]


def _user() -> str:
    name = os.environ.get("MLFLOW_TRACKING_USERNAME")
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class _Pusher:
    """Sends one run at a time to one experiment."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        client: MlflowClient,
        target: Target,
        exp_id: str,
        report: SyncReport,
        workspace: Workspace,
    ) -> None:
        self.db = db
        self.workspace = workspace  # names the note by its place in the run's description
        self.client = client
        self.target = target
        self.exp_id = exp_id
        self.report = report
        self.uuid = state_db.workspace_uuid(db)

    def send(self, run: RunDetail) -> int:
        """Everything of `run`; returns the points sent now."""
        s = run.summary
        state = self.open(run)
        self.params_and_tags(state.mlflow_run_id, run)
        sent = self.points(state, run)
        self._artifacts(state.mlflow_run_id, run)
        self.client.set_terminated(
            state.mlflow_run_id, status=STATUS_MAP.get(s.status, "FAILED"), end_time=_ms(run.ended)
        )
        state_db.record_done(self.db, self.target.server, self.target.experiment, s.id)
        return sent

    def open(self, run: RunDetail) -> SyncState:
        """The MLflow run of `run`: recorded, else found by its tags (a sync killed before it
        could record it), else made (and recorded before anything is sent to it)."""
        s = run.summary
        server, experiment = self.target.server, self.target.experiment
        state = state_db.get_state(self.db, server, experiment, s.id)
        if state is None:
            found = self._find(s.id)
            if found is None:
                found = self.client.create_run(
                    self.exp_id,
                    start_time=_ms(s.started),
                    tags={tag("workspace"): self.uuid, tag("run_id"): str(s.id)},
                    run_name=s.snippet,
                ).info.run_id
            state = state_db.record_mlflow_run(self.db, server, experiment, s.id, found)
        return state

    def _find(self, run_id: int) -> str | None:
        """The MLflow run a killed sync made for `run_id` without recording it."""
        runs = self.client.search_runs(
            [self.exp_id],
            filter_string=f"tags.`{tag('workspace')}` = '{self.uuid}' "
            f"and tags.`{tag('run_id')}` = '{run_id}'",
            max_results=1,
        )
        return runs[0].info.run_id if runs else None

    def _warn(self, text: str) -> None:
        if text not in self.report.warnings:  # a live sync sends a run's params many times
            self.report.warnings.append(text)

    def params_and_tags(self, mlflow_run_id: str, run: RunDetail) -> None:
        from mlflow.entities import Param, RunTag

        s = run.summary
        params = []
        for name, value in run.params.items():
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            key = safe_name(name)
            if key != name:
                self._warn(f"run #{s.id}: param {name!r} is sent as {key!r} (MLflow's rules)")
            if len(text) > PARAM_VALUE_LIMIT:
                self._warn(
                    f"run #{s.id}: param {name!r} is {len(text):,} characters, over MLflow's "
                    f"{PARAM_VALUE_LIMIT:,}: truncated there; the full value is in params.json"
                )
                text = text[: PARAM_VALUE_LIMIT - 1] + "…"
            params.append(Param(key, text))
        tags = {
            "workspace": self.uuid,
            "run_id": str(s.id),
            "note": s.note_path,
            "snippet": s.snippet,
            "seed": str(s.seed),
            "code_hash": s.code_hash,
            "status": s.status,
            "started": s.started,
            "ended": run.ended or "",
            "duration": "" if s.duration is None else str(s.duration),
            "exit_code": "" if s.exit_code is None else str(s.exit_code),
            "environment": json.dumps(run.env, ensure_ascii=False, sort_keys=True),
        }
        run_tags = [RunTag(tag(k), v[:TAG_VALUE_LIMIT]) for k, v in tags.items()]
        run_tags += [
            RunTag("mlflow.user", _user()),
            RunTag(
                "mlflow.note.content",
                f"{self.workspace.label(s.note_path)} · snippet {s.snippet}",
            ),
        ]
        for i in range(0, len(params), PARAMS_TAGS_PER_BATCH):
            self.client.log_batch(mlflow_run_id, params=params[i : i + PARAMS_TAGS_PER_BATCH])
        for i in range(0, len(run_tags), PARAMS_TAGS_PER_BATCH):
            self.client.log_batch(mlflow_run_id, tags=run_tags[i : i + PARAMS_TAGS_PER_BATCH])

    def _catch_up(self, state: SyncState) -> None:
        """Move the marks past points the server got but the store did not record (the
        request in flight when the last sync stopped or lost its connection): the server's
        count of each series it carried says how far it got."""
        assert state.inflight is not None
        names = state_db.metric_names(self.db, state.run_id)
        landed: dict[int, int] = {}
        count = 0
        for key in state.inflight:
            if key not in names:
                continue
            history = self.client.get_metric_history(state.mlflow_run_id, safe_name(names[key]))
            mark = state.marks.get(key, -1)
            acknowledged = state_db.count_through(self.db, state.run_id, key, mark)
            if len(history) <= acknowledged:
                continue
            seq = state_db.nth_seq(self.db, state.run_id, key, len(history))
            if seq is None:  # the server holds more than this series has: all of it is there
                seq = state_db.last_seq(self.db, state.run_id, key)
            landed[key] = seq
            count += state_db.count_through(self.db, state.run_id, key, seq) - acknowledged
        state_db.record_sent(
            self.db, self.target.server, self.target.experiment, state, landed, count
        )

    def points(self, state: SyncState, run: RunDetail) -> int:
        """The points of `run` the server has not acknowledged (all of them once the run is
        over; those stored so far while it runs); returns how many were sent."""
        from mlflow.entities import Metric

        if state.inflight is not None:
            self._catch_up(state)
        server, experiment = self.target.server, self.target.experiment
        names: dict[int, str] = {}
        start = _ms(run.summary.started) or 0
        nan = math.nan
        sent = 0
        for batch in state_db.unsent_batches(self.db, state.run_id, state.marks, METRICS_PER_BATCH):
            if batch[-1].key not in names:  # a running run may have made new ones
                names = self._names(state)
            metrics = [
                Metric(names[p.key], nan if p.value is None else p.value, start + p.ms, p.step)
                for p in batch
            ]
            marks = {p.key: p.seq for p in batch}
            state_db.record_inflight(self.db, server, experiment, state, list(marks))
            self.client.log_batch(state.mlflow_run_id, metrics=metrics, synchronous=True)
            state_db.record_sent(self.db, server, experiment, state, marks, len(batch))
            sent += len(batch)
            self.report.points += len(batch)
        return sent

    def _names(self, state: SyncState) -> dict[int, str]:
        names = {}
        for key, name in state_db.metric_names(self.db, state.run_id).items():
            names[key] = safe_name(name)
            if names[key] != name and key not in state.marks:
                self._warn(f"run #{state.run_id}: metric {name!r} is sent as {names[key]!r}")
        return names

    def _artifacts(self, mlflow_run_id: str, run: RunDetail) -> None:
        s = run.summary
        code_name = os.path.basename(run.snippet_path) if run.snippet_path else f"{s.snippet}.py"
        files: dict[str, Any] = {
            "output/stdout.txt": run.stdout,
            "output/stderr.txt": run.stderr,
            f"code/{code_name}": run.code,
            "params.json": json.dumps(run.params, ensure_ascii=False, indent=2),
            "environment.json": json.dumps(run.env, ensure_ascii=False, indent=2),
        }
        for path, text in files.items():
            self.client.log_text(mlflow_run_id, text, path)
