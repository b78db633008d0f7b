"""Warm runs: a parent process that has imported torch and NumPy forks each run, so a run
starts in milliseconds and is still a fresh process of its own.

How it goes. studylog starts `python -m studylog.runner.warm` (`WarmParent.start`) with one
end of a socket pair. The warm parent imports NumPy and torch and does nothing else: no torch
operation (a process forked from one whose OpenMP pool has started can hang), no thread of
its own, no CUDA. It then keeps one *spare run* ready: a forked supervisor process and,
forked by that, the run's snippet process, both waiting. A run request carries the run's
spec, working folder, environment and limits, and (SCM_RIGHTS) the run's stdout, stderr,
report and kept file descriptors. The spare supervisor takes it from the socket, tells the
warm parent (which forks the next spare), answers studylog with its pid and a pidfd, and
hands the request and descriptors on to its snippet process. No fork stands between the
request and the snippet's first statement.

The spare supervisor is the run's supervisor, as `runner.supervisor` is for a cold run: a
session of its own (the run's process group), the child subreaper of the run's tree, dead
with the warm parent (which dies with studylog, and when studylog closes the socket); it
watches the tree's memory, kills the whole tree at the end and writes the report. The
snippet process puts its descriptors where a cold run has them (stdin /dev/null, stdout,
stderr, the metric channel at the same number; nothing else open), takes the run's working
folder, environment and data limit, and returns from `serve` to this module's top level,
which runs `bootstrap.main` and ends the process (`_end`). studylog follows the supervisor
through its pidfd and reads the report pipe exactly as for a cold one (`runner.process`).

What makes a forked run the same as a cold one: the warm parent is started with the
environment of a cold run of the same seed (`PYTHONHASHSEED` cannot change after start, so
a run with another seed goes cold); `bootstrap` hides the preloaded `numpy` and `torch` from
`sys.modules` until the snippet imports them, so they are seeded and reported at the same
moment as in a cold run. A fresh fork per run means no state passes from one run to the
next. What still differs: a run's own processes that never exec show the warm parent's
environment in /proc (without the run's tag), so a tree whose supervisor was SIGKILLed is
ended by process group and subreaper, not by the tag.

The warm parent does not outlive the studylog process that started it (the TUI, or one
`studylog run`): it holds that process's settings and environment, and a parent shared
between processes would need a lock, a socket path and a rule for who ends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The modules the warm parent imports, when installed.
PRELOAD = ("numpy", "torch")
# How long a run request may wait for the warm parent's answer (a fork) before it goes cold.
ANSWER_SECONDS = 5.0
_MAX_FDS = 32
_MAX_MESSAGE = 1 << 20


class WarmUnavailable(Exception):
    """The warm parent cannot take this run (not ready, gone, refused): run it cold.
    `expected`: an ordinary reason (not ready yet, another seed), not worth a warning."""

    def __init__(self, message: str, *, expected: bool = False) -> None:
        super().__init__(message)
        self.expected = expected


@dataclass(frozen=True)
class Launched:
    """A run forked by the warm parent: its supervisor's pid and a pidfd for it."""

    pid: int
    pidfd: int


def can_run(argv: Sequence[str]) -> bool:
    """Whether `argv` is a bootstrap run, the only command a warm parent runs."""
    return len(argv) == 4 and list(argv[1:3]) == ["-m", "studylog.runner.bootstrap"]


class WarmParent:
    """studylog's side of one warm parent: start it, ask it for runs, end it."""

    def __init__(self, cwd: Path, env: dict[str, str], hash_seed: str) -> None:
        self.cwd = cwd
        self.env = env
        self.hash_seed = hash_seed  # runs whose PYTHONHASHSEED differs go cold
        self.process: subprocess.Popen[bytes] | None = None
        self.sock: socket.socket | None = None
        self.ready = False
        self.failure: str | None = None  # why it is not there, for the record
        self.preloaded: list[str] = []
        self.data_size = 0  # the warm parent's data memory, which every fork starts with
        self.was_ready = False  # it got ready once (a parent that never did is not restarted)
        self._lock = asyncio.Lock()

    @classmethod
    def start(cls, cwd: Path, env: dict[str, str]) -> WarmParent:
        """Start a warm parent with this environment (that of a cold run, less what differs
        per run); it imports in the background and is `ready` later. Call from the thread
        that stays (the warm parent dies with the thread that started it)."""
        warm = cls(cwd, env, env.get("PYTHONHASHSEED", ""))
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            warm.process = subprocess.Popen(
                [sys.executable, "-m", "studylog.runner.warm", str(theirs.fileno())],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,  # a terminal's Ctrl-C reaches studylog only
            )
        except OSError as exc:
            ours.close()
            warm.failure = f"cannot start the warm parent ({exc})"
            return warm
        finally:
            theirs.close()
        warm.sock = ours
        ours.setblocking(False)
        return warm

    def alive(self) -> bool:
        """Started, not ended, and (once ready) still answering."""
        if self.process is None or self.sock is None:
            return False
        if self.process.poll() is not None:
            self._gone(f"the warm parent ended (exit status {self.process.returncode})")
            return False
        return True

    def check_ready(self) -> bool:
        """True once the warm parent has imported its modules (reads its hello, never waits)."""
        if self.ready or not self.alive():
            return self.ready
        assert self.sock is not None
        try:
            data = self.sock.recv(_MAX_MESSAGE)
        except BlockingIOError:
            return False
        except OSError as exc:
            self._gone(f"the warm parent's socket failed ({exc})")
            return False
        if not data:
            self._gone("the warm parent ended before it was ready")
            return False
        hello = json.loads(data)
        self.preloaded = list(hello.get("preloaded", []))
        self.data_size = int(hello.get("data", 0))
        self.ready = self.was_ready = True
        return True

    async def wait_ready(self, seconds: float) -> bool:
        """Wait (polling the socket) up to `seconds` for the warm parent to be ready."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not self.check_ready():
            if not self.alive() or loop.time() > deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    async def launch(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: dict[str, str],
        config: dict[str, int],
        fds: dict[str, int],
        keep: Sequence[int],
    ) -> Launched:
        """Ask for a forked run of `argv` (a bootstrap command); WarmUnavailable when it cannot
        be one. `fds`: stdout, stderr, report; `keep`: descriptors the run keeps at their
        numbers."""
        if not can_run(argv):
            raise WarmUnavailable("not a snippet run", expected=True)
        if env.get("PYTHONHASHSEED", "") != self.hash_seed:
            raise WarmUnavailable("the warm parent was started for another seed", expected=True)
        if not self.check_ready():
            if self.failure:
                raise WarmUnavailable(self.failure)
            raise WarmUnavailable("the warm parent is not ready yet", expected=True)
        limit = config.get("data", 0)
        if limit and limit < 2 * self.data_size:
            # A fork starts with torch's memory, which a cold run without torch never has:
            # under a limit this small, the run would fail where a cold one succeeds.
            raise WarmUnavailable("the memory limit is too small for a warm run", expected=True)
        assert self.sock is not None
        request = {
            "spec": argv[3],
            "cwd": str(cwd),
            "env": env,
            "memory": config.get("memory", 0),
            "data": config.get("data", 0),
            "keep": list(keep),
        }
        order = [fds["stdout"], fds["stderr"], fds["report"], *keep]
        loop = asyncio.get_running_loop()
        async with self._lock:
            try:
                socket.send_fds(self.sock, [json.dumps(request).encode()], order)
                answer, got = await asyncio.wait_for(self._answer(loop), ANSWER_SECONDS)
            except (OSError, TimeoutError) as exc:
                self._gone(f"the warm parent did not take the run ({exc or 'no answer'})")
                raise WarmUnavailable(self.failure or "gone") from exc
        if not answer:
            for fd in got:
                os.close(fd)
            self._gone("the warm parent ended")
            raise WarmUnavailable(self.failure or "gone")
        reply = json.loads(answer)
        if "error" in reply or len(got) != 1:
            for fd in got:
                os.close(fd)
            raise WarmUnavailable(str(reply.get("error", "no pidfd in the answer")))
        return Launched(int(reply["pid"]), got[0])

    async def _answer(self, loop: asyncio.AbstractEventLoop) -> tuple[bytes, list[int]]:
        assert self.sock is not None
        while True:
            try:
                msg, got, _flags, _addr = socket.recv_fds(self.sock, _MAX_MESSAGE, 1)
                return msg, got
            except BlockingIOError:
                await _readable(loop, self.sock.fileno())

    def _gone(self, why: str) -> None:
        self.failure = self.failure or why
        self.ready = False
        self.close()

    def close(self) -> None:
        """End the warm parent (its runs' supervisors end their trees when it goes)."""
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            self.process.wait()


async def _readable(loop: asyncio.AbstractEventLoop, fd: int) -> None:
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, wake)
    try:
        await ready
    finally:
        loop.remove_reader(fd)


# -- the warm parent's side -----------------------------------------------------------------


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
        msg, fds, _flags, _addr = socket.recv_fds(sock, _MAX_MESSAGE, _MAX_FDS)
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
        msg, fds, _flags, _addr = socket.recv_fds(sock, _MAX_MESSAGE, _MAX_FDS)
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
