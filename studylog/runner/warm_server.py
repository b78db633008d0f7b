"""The warm parent itself: what runs in the process studylog starts as `python -m
studylog.runner.warm_server` (its loop, the spare run it keeps forked, a forked run becoming
the snippet's process and ending). studylog's handle on it, and how it all goes:
runner/warm.py. Stdlib only until it preloads NumPy and torch."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
from dataclasses import dataclass
from typing import Any

# The modules the warm parent imports, when installed.
PRELOAD = ("numpy", "torch")
# The largest message and the most descriptors a run request or answer carries.
MAX_FDS = 32
MAX_MESSAGE = 1 << 20


@dataclass
class _Request:
    spec: str
    cwd: str
    env: dict[str, str]
    memory: int
    data: int
    keep: list[int]
    fds: list[int]  # stdout, stderr, report, *keep, as received


def _reap(signum: int, frame: Any) -> None:
    """SIGCHLD: collect the run supervisors that ended (no zombies between runs)."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _parse(msg: bytes, fds: list[int]) -> _Request:
    raw = json.loads(msg)
    return _Request(
        raw["spec"], raw["cwd"], raw["env"], raw["memory"], raw["data"], raw["keep"], fds
    )


def serve(sock_fd: int) -> tuple[_Request, Any]:
    """The warm parent's loop. Returns only in the process of a run's snippet (the request,
    and the hidden modules for `bootstrap`); ends the process when studylog is gone.

    The parent keeps one spare run ready: a supervisor and, under it, a snippet process,
    forked before any request. The spare supervisor takes the next request from the socket,
    answers it, and hands it to its snippet process; only then does the parent fork the
    next spare. So no fork stands between a request and the snippet's first statement."""
    from studylog.procctl import die_with_parent

    die_with_parent(signal.SIGKILL)
    sock = socket.socket(fileno=sock_fd)
    preloaded = []
    for name in PRELOAD:
        try:
            __import__(name)
            preloaded.append(name)
        except Exception:  # not installed, or broken: a run that imports it shows why
            for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
                del sys.modules[key]
    import studylog.runner.bootstrap  # noqa: F401  (and through it, track)

    # OpenBLAS (NumPy) starts a thread pool at import; its own fork handler stops it, so
    # after this throwaway fork the warm parent has one thread, as it must to fork safely.
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    signal.signal(signal.SIGCHLD, _reap)
    # What is loaded now stays out of every collection in the forks: a collection that
    # walked it would copy each page it touched into the run's process.
    import gc
    import weakref

    gc.freeze()
    # torch's own finalizers (one per operator library) would run at every run's exit, for
    # 80 ms, to tidy a process that is ending anyway; a snippet's own still run.
    for info in weakref.finalize._registry.values():  # type: ignore[attr-defined]
        info.atexit = False
    hello = {"preloaded": preloaded, "data": _data_size()}
    sock.send(json.dumps(hello).encode())
    me = os.getpid()
    while True:
        taken_r, taken_w = os.pipe()
        if os.fork() == 0:
            os.close(taken_r)
            return _spare(sock, taken_w, me)
        os.close(taken_w)
        word = _read_word(taken_r)  # the spare took a request, or saw studylog go
        os.close(taken_r)
        if word == b"e":
            os._exit(0)
        if not word:  # the spare died before it took one: try again, but not in a loop
            if not _alive_peer(sock):
                os._exit(0)
            import time

            time.sleep(0.1)


def _data_size() -> int:
    """This process's data memory (what RLIMIT_DATA counts), in bytes; 0 when unknown."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmData:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _read_word(fd: int) -> bytes:
    while True:
        try:
            return os.read(fd, 1)
        except InterruptedError:  # pragma: no cover (PEP 475 retries)
            continue


def _alive_peer(sock: socket.socket) -> bool:
    """Whether studylog still holds its end of the socket (a poll, no read)."""
    import select

    poller = select.poll()
    poller.register(sock.fileno(), select.POLLRDHUP)
    return not poller.poll(0)


def _spare(sock: socket.socket, taken_w: int, warm_pid: int) -> tuple[_Request, Any]:
    """A spare run: be its supervisor once a request comes; return (in the snippet's
    process) to run it."""
    from studylog.procctl import become_subreaper, die_with_parent
    from studylog.runner import supervisor

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.setsid()  # the run's own session and process group, as a cold supervisor has
    become_subreaper()
    die_with_parent(signal.SIGTERM)  # a spare whose warm parent is gone ends at once
    if os.getppid() != warm_pid:
        os._exit(0)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = os.fork()
    if pid == 0:
        os.close(taken_w)
        sock.close()
        ours.close()
        return _spare_snippet(theirs)
    theirs.close()
    try:
        msg, fds, _flags, _addr = socket.recv_fds(sock, MAX_MESSAGE, MAX_FDS)
    except OSError:
        msg, fds = b"", []
    os.write(taken_w, b"t" if msg else b"e")
    os.close(taken_w)
    if not msg:  # studylog closed its end: it is gone or done with us
        os._exit(0)
    try:
        request = _parse(msg, fds)
    except (ValueError, KeyError, TypeError) as exc:
        with contextlib.suppress(OSError):
            sock.send(json.dumps({"error": f"bad request ({exc})"}).encode())
        os._exit(0)
    pidfd = os.pidfd_open(os.getpid())
    socket.send_fds(sock, [json.dumps({"pid": os.getpid()}).encode()], [pidfd])
    os.close(pidfd)
    sock.close()
    report_fd = request.fds[2]
    config = {
        "parent": warm_pid,
        "report_fd": report_fd,
        "memory": request.memory,
        "data": request.data,
    }
    if not supervisor.prepare(config):
        os._exit(0)
    socket.send_fds(ours, [msg], fds)  # the snippet process starts
    ours.close()
    for fd in fds:  # the snippet has them; ours would keep the pipes open
        if fd != report_fd:
            os.close(fd)
    code = 1
    try:
        code = supervisor.watch(config, pid)
    finally:
        os._exit(code)


def _spare_snippet(sock: socket.socket) -> tuple[_Request, Any]:
    """A spare run's snippet process: made ready before its request (the preloaded modules
    touched and hidden), then made the run's on the request."""
    from studylog.procctl import die_with_parent
    from studylog.runner import bootstrap

    die_with_parent(signal.SIGKILL)  # if the supervisor is SIGKILLed, the snippet goes too
    # Seeding touches what a run's seeding will touch, so the pages are this process's own
    # before the clock starts; the run seeds again with its seed when it imports them.
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(0)
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed(0)
    hidden = bootstrap.hide_preloaded(PRELOAD)
    try:
        msg, fds, _flags, _addr = socket.recv_fds(sock, MAX_MESSAGE, MAX_FDS)
    except OSError:
        os._exit(0)
    if not msg:  # the spare was never used
        os._exit(0)
    sock.close()
    try:
        request = _parse(msg, fds)
        _become_run(request)
    except BaseException as exc:
        os.write(2, f"studylog: cannot start the run: {exc}\n".encode(errors="replace"))
        os._exit(127)
    return request, hidden


def _become_run(request: _Request) -> None:
    """Make this process look like a cold run's snippet process at its first line."""
    from studylog.runner import supervisor

    supervisor.become_snippet(request.data)
    stdout, stderr, report, *keep = request.fds
    os.close(report)
    # Move every descriptor we keep above the numbers they go to, close all else, then put
    # each at its place: stdin /dev/null, stdout, stderr, kept ones at their cold numbers.
    low = max([*request.keep, *request.fds, 2]) + 1
    high = [_dup_above(fd, low) for fd in (stdout, stderr, *keep)]
    devnull = os.open(os.devnull, os.O_RDONLY)
    high.append(_dup_above(devnull, low))
    os.closerange(3, low)
    keep_above = set(high)
    for fd in _open_fds():
        if fd >= low and fd not in keep_above:
            with contextlib.suppress(OSError):
                os.close(fd)
    h_out, h_err, *h_keep, h_null = high
    os.dup2(h_null, 0)
    os.dup2(h_out, 1)
    os.dup2(h_err, 2)
    for fd, number in zip(h_keep, request.keep, strict=True):
        os.dup2(fd, number)
    for fd in high:
        os.close(fd)
    os.chdir(request.cwd)
    os.environ.clear()
    os.environ.update(request.env)


def _dup_above(fd: int, low: int) -> int:
    import fcntl

    return fcntl.fcntl(fd, fcntl.F_DUPFD, low)


def _open_fds() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        return []


def _exit_code(exc: SystemExit) -> int:
    """The exit status Python gives a SystemExit that reaches the top."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code & 0xFF
    with contextlib.suppress(Exception):
        print(exc.code, file=sys.stderr)
    return 1


def _end(code: int) -> None:
    """End the run's process as Python's own exit would, less tearing down every module.

    That teardown (every object of torch dereferenced, in pages shared with the warm parent
    that each then gets copied) takes longer than the run itself: a second and more. What a
    program can see of an exit is kept: other threads are waited for, atexit handlers run,
    files the snippet left open are flushed, then the standard streams."""
    import atexit
    import gc
    import io
    import threading

    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    for obj in gc.get_objects():  # the snippet's objects only: the warm parent's are frozen
        if isinstance(obj, io.IOBase):
            with contextlib.suppress(Exception):
                if not obj.closed:
                    obj.flush()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    run, hidden = serve(int(sys.argv[1]))
    from studylog.runner import bootstrap

    try:
        bootstrap.main(run.spec, preloaded=hidden)
    except SystemExit as exc:
        _end(_exit_code(exc))
    _end(0)
