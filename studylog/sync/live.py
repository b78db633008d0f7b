"""`studylog run --sync`: a companion that sends runs to the MLflow server while they go.

It listens to a run session's events (RunStarted, RunFinished) and, in a thread of its own
with its own connection to the store, sends what the store holds every `interval` seconds:
the run is made on the server as it starts, its params and each new point follow (the same
per-series marks as `studylog sync`, so nothing goes twice), and it is completed there when
it ends. It never slows or stops the run: a server that is away is a warning, the points it
missed wait in the store and go when it is back, and a run the server could not take before
studylog exits is completed by a later `studylog sync`.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from studylog.runner.events import RunFinished, RunStarted
from studylog.store.history import get_run
from studylog.sync.client import SyncError, Target, experiment_id, explain, make_client
from studylog.sync.push import SyncReport, _Pusher, _sync_lock

if TYPE_CHECKING:
    import sqlite_utils

    from studylog.paths import Workspace
    from studylog.runner.session import SessionEvent

# How often new points go to the server while a run goes.
INTERVAL_SECONDS = 1.0
# After the last run ends, how long studylog waits for the server to take the rest.
FINISH_SECONDS = 60.0


@dataclass
class LiveReport:
    server: str
    complete: list[int] = field(default_factory=list)  # runs complete on the server
    behind: dict[int, str] = field(default_factory=dict)  # run → why it is not (yet)


class LiveSync:
    """Sends the runs of a session as they go; `on_event` is the session's listener and
    `on_warning` hears (from this companion's thread) when the sync falls behind or catches
    up again."""

    def __init__(
        self,
        workspace: Workspace,
        target: Target,
        *,
        interval: float = INTERVAL_SECONDS,
        on_warning: Callable[[str], None] | None = None,
    ) -> None:
        self.workspace = workspace
        self.target = target
        self.interval = interval
        self.on_warning = on_warning
        self.report = SyncReport(target.server, target.experiment)
        self._lock = threading.Lock()
        self._active: list[int] = []  # runs started and not yet complete on the server
        self._params: dict[int, dict[str, object]] = {}  # params sent of each live run
        self._complete: list[int] = []
        self._error: str | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="studylog-live-sync", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def on_event(self, event: SessionEvent) -> None:
        """The session's listener: cheap, never blocks the caller's loop."""
        if isinstance(event, RunStarted):
            with self._lock:
                self._active.append(event.run_id)
            self._wake.set()
        elif isinstance(event, RunFinished):  # complete it on the server now
            self._wake.set()

    def finish(self, timeout: float = FINISH_SECONDS) -> LiveReport:
        """Send what is left, wait for it at most `timeout` seconds, and say what the server
        has complete and what it does not (yet)."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        out = LiveReport(self.target.server)
        with self._lock:
            out.complete = list(self._complete)
            why = self._error or "the server had not taken it when studylog stopped waiting"
            out.behind = {run_id: why for run_id in self._active}
        return out

    # -- the companion's thread ------------------------------------------------------------

    def _loop(self) -> None:
        from studylog.store.db import connect

        db = connect(self.workspace.db_path)
        pusher: _Pusher | None = None
        try:
            while True:
                last = self._stop.is_set()
                pusher = self._round(db, pusher)
                if last:
                    return
                self._wake.wait(self.interval)
                self._wake.clear()
        finally:
            db.conn.close()

    def _round(self, db: sqlite_utils.Database, pusher: _Pusher | None) -> _Pusher | None:
        with self._lock:
            active = list(self._active)
        if not active:
            return pusher
        try:
            with _sync_lock(self.workspace):
                if pusher is None:
                    pusher = self._pusher(db)
                for run_id in active:
                    run = get_run(db, run_id)
                    # Ended: its record says so (a run cancelled by a second Ctrl-C ends
                    # without a RunFinished event).
                    if run.summary.status != "running":
                        pusher.send(run)
                        with self._lock:
                            self._active.remove(run_id)
                            self._complete.append(run_id)
                        continue
                    state = pusher.open(run)
                    if self._params.get(run_id) != run.params:  # new params: send them
                        pusher.params_and_tags(state.mlflow_run_id, run)
                        self._params[run_id] = dict(run.params)
                    pusher.points(state, run)
        except SyncError as exc:  # the experiment was deleted, another sync holds the lock
            self._fell_behind(str(exc))
            return pusher
        except _errors() as exc:
            self._fell_behind(explain(exc, self.target.server))
            return pusher
        except sqlite3.Error as exc:  # the store is busy or failing: the run reports it
            self._fell_behind(f"reading the store {self.workspace.db_path}: {exc}")
            return pusher
        if self._error is not None:
            self._error = None
            self._warn(f"live sync to {self.target.server} caught up")
        return pusher

    def _pusher(self, db: sqlite_utils.Database) -> _Pusher:
        client = make_client(self.target)
        exp_id = experiment_id(client, self.target, create=True)
        assert exp_id is not None
        return _Pusher(db, client, self.target, exp_id, self.report, self.workspace)

    def _fell_behind(self, message: str) -> None:
        if self._error is None:
            self._warn(
                f"live sync fell behind: {message}. The run goes on; what the server missed "
                "is sent when it is back (or by `studylog sync`)."
            )
        self._error = message

    def _warn(self, text: str) -> None:
        if self.on_warning is not None:
            self.on_warning(text)


def _errors() -> tuple[type[BaseException], ...]:
    from studylog.sync.client import mlflow_errors

    return mlflow_errors()


def pending_message(report: LiveReport) -> str | None:
    """What to tell when some runs are not complete on the server; None when all are."""
    if not report.behind:
        return None
    runs = ", ".join(f"#{r}" for r in report.behind)
    why = next(iter(report.behind.values()))
    return (
        f"the sync fell behind: run(s) {runs} are complete here but not yet on "
        f"{report.server} ({why}). Run `studylog sync` to send the rest."
    )
