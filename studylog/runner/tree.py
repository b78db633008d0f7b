"""A process tree read from /proc: descendants whatever their session, their memory, and
killing all of them. Stdlib only (the run's supervisor imports it). Linux; elsewhere the
tree is empty and the caller's process-group kill is all there is."""

from __future__ import annotations

import os
import signal
import time

TYPE_CHECKING = False  # not from typing: the supervisor imports this module at every run
if TYPE_CHECKING:
    from collections.abc import Callable

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _stat(pid: str) -> tuple[int, str] | None:
    """(parent pid, state letter) of a process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            # The name in parentheses may hold spaces and ')': split after the last one.
            fields = f.read().rsplit(b")", 1)[1].split()
        return int(fields[1]), fields[0].decode("ascii", "replace")
    except (OSError, IndexError, ValueError):
        return None


def descendants(root: int, *, with_zombies: bool = False) -> list[int]:
    """Every process below `root` (children, their children, ...), parents first.

    Read from each process's parent pid, so a child that left the session (setsid) is still
    found; one orphaned into `root`'s subreaper care is its child again."""
    children: dict[int, list[int]] = {}
    zombies: set[int] = set()
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    for name in names:
        if not name.isdigit():
            continue
        found = _stat(name)
        if found is None:
            continue
        ppid, state = found
        children.setdefault(ppid, []).append(int(name))
        if state in ("Z", "X"):
            zombies.add(int(name))
    out: list[int] = []
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            out.append(child)
            todo.append(child)
    return out if with_zombies else [pid for pid in out if pid not in zombies]


def memory_bytes(pid: int) -> int:
    """What `pid` costs in memory: its proportional set size (shared pages split between the
    processes that map them, so a tree's sum counts a shared mapping once), else its RSS."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:  # kernels before 4.14 have no smaps_rollup
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0  # gone meanwhile


def tree_memory(root: int) -> int:
    """The memory of every process below `root`, in bytes."""
    return sum(memory_bytes(pid) for pid in descendants(root))


def kill_tree(root: int, reap: Callable[[], None] | None = None, seconds: float = 5.0) -> bool:
    """SIGKILL every process below `root` until none is left; True when none is.

    Repeats because a process may fork while it is being killed: its child is found on the
    next pass (with `root` a subreaper, orphans become `root`'s children). `reap` collects
    the zombies that are `root`'s own children."""
    deadline = time.monotonic() + seconds
    while True:
        if reap is not None:
            reap()
        alive = descendants(root)
        if not alive:
            return True
        if time.monotonic() > deadline:
            return False
        for pid in alive:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):  # gone meanwhile, or not ours
                continue
        time.sleep(0.005)  # the kernel tears them down; their children then move to us
