"""Waiting out another studylog's write lock: a write that meets "database is locked" is
tried again, with backoff, for a bounded time before the error reaches anyone."""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# How long a write keeps trying, on top of SQLite's own busy timeout per attempt. Several
# writers at once (two runs logging metrics and an `index --full`) can starve one past the
# busy timeout: SQLite's busy handler is not fair, so a waiter may lose every round.
LOCK_RETRY_SECONDS = 60.0
_FIRST_PAUSE = 0.05
_LONGEST_PAUSE = 1.0


def is_locked(exc: BaseException) -> bool:
    """Another connection holds the lock (SQLITE_BUSY or SQLITE_LOCKED, any extended code)."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    name = getattr(exc, "sqlite_errorname", None)
    if name is not None:
        return str(name).startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))
    return "locked" in str(exc)


def retry_locked(action: Callable[[], T], *, seconds: float = LOCK_RETRY_SECONDS) -> T:
    """`action()` (one write transaction, which must roll back on error), tried again while
    the store is locked by another writer, for up to `seconds`; then the lock error is
    raised. Any other error is raised at once."""
    deadline = time.monotonic() + seconds
    pause = _FIRST_PAUSE
    while True:
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if not is_locked(exc) or time.monotonic() + pause > deadline:
                raise
        # Jitter, so that two waiters do not wake and collide in step.
        time.sleep(pause * random.uniform(0.5, 1.5))
        pause = min(pause * 2, _LONGEST_PAUSE)
