"""The process between studylog and a snippet: it keeps the snippet's whole tree in hand.

Started by `runner.process` (see `command`) with a CONFIG and the snippet's ARGV, it starts
ARGV and waits for it. As a child subreaper it inherits every orphan of the tree (a daemon
that double-forked, a child that called setsid), so it can find and kill each one whatever its
session; it dies with studylog (PR_SET_PDEATHSIG), and then first kills the tree; it sums the
tree's memory as the run's memory limit; and when the snippet ends, is stopped (SIGTERM) or
goes over the limit it kills every process left, so no descendant outlives the run or holds
its output pipes open. At the end it writes one line of `key=value` words to the report pipe.

Stdlib only and few imports (no json, no typing): it starts before every run, so its start
is part of every run's latency.
"""

from __future__ import annotations

import os
import resource
import signal
import sys
import time

from studylog.procctl import become_subreaper, die_with_parent
from studylog.runner.tree import kill_tree, tree_memory

# How often the tree's memory is summed (each time a read of /proc): often near the limit
# (memory can grow by gigabytes a second), seldom far below it. Without a limit: only to see
# that studylog is gone, should its death signal not come.
_POLL_NEAR = 0.02  # above half the limit
_POLL_MID = 0.1  # above a quarter
_POLL_FAR = 0.25
_POLL_IDLE = 0.5
_MAXRSS_UNIT = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, else KiB
_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
_WATCHED = {signal.SIGCHLD, *_STOP_SIGNALS}


def _start(argv: list[str], report_fd: int, data_limit: int) -> int:
    """Fork and exec the snippet: no blocked signals, dead with us, the per-process limit."""
    pid = os.fork()
    if pid:
        return pid
    try:
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        die_with_parent(signal.SIGKILL)  # if we are SIGKILLed, the snippet goes too
        os.close(report_fd)
        if data_limit:
            resource.setrlimit(resource.RLIMIT_DATA, (data_limit, data_limit))
        os.execvp(argv[0], argv)
    except BaseException as exc:
        os.write(2, f"studylog: cannot start {argv[0]}: {exc}\n".encode(errors="replace"))
    os._exit(127)


def command(config: dict[str, int], argv: list[str]) -> list[str]:
    """The command line that runs `argv` under a supervisor. No site (its .pth files cost
    more than the rest of the start); the package's own folder put on the path instead."""
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    code = (
        f"import sys; sys.path.insert(0, {package_root!r}); "
        "from studylog.runner.supervisor import main; sys.exit(main(sys.argv[1], sys.argv[2:]))"
    )
    words = " ".join(f"{key}={value}" for key, value in config.items())
    return [sys.executable, "-I", "-S", "-c", code, words, *argv]


def parse_words(line: str) -> dict[str, str]:
    """`a=1 b=x` as {"a": "1", "b": "x"}: the config and the report."""
    return dict(word.split("=", 1) for word in line.split() if "=" in word)


def main(config_words: str, argv: list[str]) -> int:
    config = {key: int(value) for key, value in parse_words(config_words).items()}
    parent, report_fd, limit = config["parent"], config["report_fd"], config.get("memory", 0)
    signal.pthread_sigmask(signal.SIG_BLOCK, _WATCHED)  # taken with sigtimedwait below
    become_subreaper()
    die_with_parent(signal.SIGTERM)
    report: dict[str, int | str] = {}
    if os.getppid() != parent:  # studylog died before we could ask to die with it
        _write(report_fd, report)
        return 0
    child = _start(argv, report_fd, config.get("data", 0))
    for key, fd in config.items():  # the snippet has them; ours would keep them open
        if key.startswith("keep"):
            os.close(fd)
    status: int | None = None
    me = os.getpid()

    def reap() -> None:
        nonlocal status
        while True:
            try:
                pid, st = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == child:
                status = st

    peak = used = 0
    poll = _POLL_FAR if limit else _POLL_IDLE
    while True:
        signo = _next_signal(poll)
        if signo in _STOP_SIGNALS:
            report["stopped"] = signal.Signals(signo).name
            break
        reap()
        if status is not None:
            break
        if os.getppid() != parent:
            report["stopped"] = "parent"
            break
        used = tree_memory(me)  # also without a limit: the run's cost records its peak
        peak = max(peak, used)
        if limit:
            if used > limit:
                report["out_of_memory"] = 1
                break
            share = used / limit
            poll = _POLL_NEAR if share > 0.5 else _POLL_MID if share > 0.25 else _POLL_FAR
    # The snippet ended (or must): nothing it started outlives it.
    report["all_killed"] = int(kill_tree(me, reap))
    reap()
    if status is not None:
        report["returncode"] = os.waitstatus_to_exitcode(status)
    report["memory"] = used
    # The cost of the tree: every process of it was reaped by us or by a reaped parent. The
    # largest single process's peak RSS covers a peak that fell between two samples.
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    report["peak_memory"] = max(peak, usage.ru_maxrss * _MAXRSS_UNIT)
    report["cpu_user"] = f"{usage.ru_utime:.3f}"
    report["cpu_system"] = f"{usage.ru_stime:.3f}"
    _write(report_fd, report)
    return 0


def _write(fd: int, report: dict[str, int | str]) -> None:
    line = " ".join(f"{key}={value}" for key, value in report.items()) + "\n"
    try:  # EPIPE only when studylog is gone: nobody is left to tell, the error may show
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def _next_signal(poll: float) -> int | None:
    """The next of the watched (blocked) signals, or None after `poll` seconds."""
    if hasattr(signal, "sigtimedwait"):
        info = signal.sigtimedwait(_WATCHED, poll)
        return None if info is None else info.si_signo
    time.sleep(poll)  # macOS: no sigtimedwait; a pending stop signal is seen on the next poll
    stops = signal.sigpending() & _STOP_SIGNALS
    return min(stops) if stops else None
