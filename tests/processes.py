"""Helpers for tests of other processes: waiting for what they do, and whether one still
runs (for tests of what the runner kills)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(predicate: Callable[[], T | None], what: str, seconds: float = 60.0) -> T:
    """Poll until `predicate()` is truthy (an event of another process) and return its value;
    fail after `seconds`, a deadline generous enough for a loaded machine."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def gone_or_zombie(pid: int) -> bool:
    """True when `pid` no longer runs (a killed orphan stays a zombie until it is reaped).
    A process reaped between the open and the read of its stat file fails the read with
    ESRCH: gone too (CI met it once)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return True
