"""Linux process controls (prctl(2)) in one place: a process that dies with its parent, and a
child subreaper that inherits the orphans of its tree. Stdlib only and cheap to import: the
runner's supervisor loads it before every run."""

from __future__ import annotations

import sys

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
