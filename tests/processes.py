"""Whether a process still runs, for tests of what the runner kills."""

from __future__ import annotations


def gone_or_zombie(pid: int) -> bool:
    """True when `pid` no longer runs (a killed orphan stays a zombie until it is reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True
