"""The metric writer of a running run: a store MetricWriter on a thread and connection of its
own, fed by the runner as the channel is decoded."""

from __future__ import annotations

import queue
import sqlite3
import threading
import time
from typing import TYPE_CHECKING, Any

from studylog.store.db import connect
from studylog.store.locks import retry_locked
from studylog.store.metrics import Losses, MetricWriter, retryable, store_error_text

if TYPE_CHECKING:
    from pathlib import Path

    from studylog.protocol import Columns


class BackgroundMetricWriter:
    """A MetricWriter on a thread and connection of its own: the caller's event loop keeps
    draining the metric channel while SQLite inserts (else the snippet waits on a full pipe).
    Writes what came as soon as nothing more waits in its queue (so a busy writer takes all
    that came meanwhile in one transaction, and an idle one never sits on points), at the
    latest every `every` seconds or when `max_points` wait.

    The thread survives any error: a lock is waited out (what waits is kept for the next
    flush); anything else loses what waited, counted in `losses` with its cause."""

    _STOP = object()

    def __init__(self, db_path: Path, run_id: int, every: float, max_points: int) -> None:
        self.db_path = db_path
        self.run_id = run_id
        self.every = every
        self.max_points = max_points
        self.rejected = 0
        self.errors: list[str] = []  # each distinct failure once, e.g. a store locked too long
        self.losses = Losses()  # read after close()
        self.queued = 0  # points handed over, and points written (or refused) so far
        self.done = 0
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._main, name=f"metrics-{run_id}", daemon=True)
        self._thread.start()

    def add_key(self, key: int, name: str) -> None:
        self._queue.put(("key", key, name))

    def add_points(self, points: Columns) -> None:
        self.queued += len(points)
        self._queue.put(("points", points))

    @property
    def backlog(self) -> int:
        """Points handed over but not yet written: the caller stops reading above a bound."""
        return self.queued - self.done

    def add_params(self, params: dict[str, Any]) -> None:
        self._queue.put(("params", params))

    def close(self) -> None:
        """Write what is left and stop (again: nothing)."""
        if self._thread.is_alive():
            self._queue.put(self._STOP)
            self._thread.join()

    def _main(self) -> None:
        try:
            db = connect(self.db_path)
        except (sqlite3.Error, OSError) as exc:
            self._lose_the_rest(exc)
            return
        writer = MetricWriter(db, self.run_id, self.losses)
        try:
            self._loop(writer)
        except Exception as exc:  # a bug must not lose the run's metrics without a word
            writer.drop(store_error_text(exc, self.db_path))
            self._lose_the_rest(exc)
        finally:
            self.rejected = writer.rejected
            db.close()

    def _loop(self, writer: MetricWriter) -> None:
        deadline = time.monotonic() + self.every
        stopping = retrying = False
        while not stopping:
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                if item is self._STOP:
                    stopping = True
                elif item[0] == "points":
                    writer.add_points(item[1])
                elif item[0] == "key":
                    writer.add_key(item[1], item[2])
                else:
                    writer.add_params(item[1])
            except queue.Empty:
                pass
            now = time.monotonic()
            # Points go in as soon as nothing else waits (a busy writer then takes all that
            # came meanwhile in one transaction); after a failed flush, at the next deadline.
            idle = not retrying and writer.pending_points > 0 and self._queue.empty()
            if idle or stopping or now >= deadline or writer.pending_points >= self.max_points:
                retrying = not self._flush(writer, final=stopping)
                deadline = now + self.every

    def _lose_the_rest(self, exc: BaseException) -> None:
        """Count all that is still to come as lost, until close()."""
        self.losses.cause(store_error_text(exc, self.db_path))
        while (item := self._queue.get()) is not self._STOP:
            if item[0] == "points":
                self.losses.points += len(item[1])
                self.done += len(item[1])
            elif item[0] == "key":
                self.losses.keys += 1
            else:
                self.losses.params += len(item[1])

    def _flush(self, writer: MetricWriter, final: bool) -> bool:
        """Write what waits; False when it is kept to be tried again."""
        pending = writer.pending_points
        try:
            retry_locked(writer.flush)  # a lock is waited out; warned only if it stays
        except Exception as exc:
            if retryable(exc) and not final:  # kept: retried at the next flush
                if str(exc) not in self.errors:
                    self.errors.append(str(exc))
                return False
            writer.drop(store_error_text(exc, self.db_path))
        self.done += pending
        return True
