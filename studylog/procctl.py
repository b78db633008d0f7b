"""Linux process controls in one place: a process that dies with its parent and a child
subreaper that inherits the orphans of its tree (prctl(2)); a process's start mark and
whether it is alive; the run tag every process of a run carries, and ending the processes
that carry one (the leftovers of a studylog that died). Stdlib only and cheap to import: the
runner's supervisor loads it before every run."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterable

PR_SET_PDEATHSIG = 1  # the signal this process gets when the thread that started it ends
PR_SET_CHILD_SUBREAPER = 36  # orphans of this process's tree become its children


def prctl(option: int, value: int) -> bool:
    """prctl(2) on Linux; False where there is none (the caller then falls back)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(option, value, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def die_with_parent(signum: int) -> bool:
    """Ask the kernel to send `signum` to this process when its parent ends."""
    return prctl(PR_SET_PDEATHSIG, signum)


def become_subreaper() -> bool:
    """Make this process the one that inherits every orphan of its tree."""
    return prctl(PR_SET_CHILD_SUBREAPER, 1)


def _process_stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the name (Linux), or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_mark(pid: int) -> str | None:
    """The start time of process `pid` (Linux), so a reused pid is not taken for the owner."""
    fields = _process_stat(pid)
    return fields[19] if fields is not None and len(fields) > 19 else None


def alive(pid: int, mark: str | None) -> bool:
    """Whether process `pid`, started at `mark` (None: whenever), is still running."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive, not ours to judge
        pass
    fields = _process_stat(pid)
    if fields is not None and fields[0] in ("Z", "X"):  # killed, not yet reaped: dead
        return False
    return mark is None or process_mark(pid) in (mark, None)


# Every process of a run carries this variable (the supervisor, the snippet, whatever they
# start and whatever their session) with the value "<studylog pid>:<its start mark>:<nonce>",
# so the leftovers of a studylog that died can be found by the next one and ended.
RUN_TAG_ENV = "STUDYLOG_RUN_TAG"


def owner_tag(pid: int, mark: str | None) -> str:
    """The start of the run tags of every run that process `pid` (started at `mark`) owns."""
    return f"{pid}:{mark}:"


def tagged_processes(prefix: str) -> list[int]:
    """Processes (but this one) whose environment holds a run tag that starts with `prefix`."""
    needle = f"{RUN_TAG_ENV}={prefix}".encode()
    found = []
    try:
        names = os.listdir("/proc")
    except OSError:  # not Linux: nothing to find
        return []
    me = str(os.getpid())
    for name in names:
        if not name.isdigit() or name == me:
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                environ = f.read()
        except OSError:  # gone, or another user's
            continue
        if any(entry.startswith(needle) for entry in environ.split(b"\0")):
            found.append(int(name))
    return found


def kill_tagged(prefix: str, seconds: float = 5.0) -> list[int]:
    """SIGKILL every process tagged `prefix` until none is left (one may fork meanwhile);
    the pids it killed."""
    killed: list[int] = []
    deadline = time.monotonic() + seconds
    while (found := tagged_processes(prefix)) and time.monotonic() < deadline:
        for pid in found:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
            if pid not in killed:
                killed.append(pid)
        time.sleep(0.005)  # a killed process leaves /proc/PID/environ empty once it is down
    return killed


def end_leftovers(owner_tags: Iterable[str]) -> list[int]:
    """End every process left by the runs of these owners (studylogs that died, see
    store.runs.mark_interrupted); the pids it killed. Can take a while (up to 5 s an
    owner): an app calls it off its event loop."""
    killed: list[int] = []
    for prefix in owner_tags:
        killed += kill_tagged(prefix)
    return killed
