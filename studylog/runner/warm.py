"""Warm runs: a parent process that has imported torch and NumPy forks each run, so a run
starts in milliseconds and is still a fresh process of its own.

How it goes. studylog starts `python -m studylog.runner.warm_server` (`WarmParent.start`) with one
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
folder, environment and data limit, and returns from `serve` to warm_server's top level,
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
import socket
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from studylog.runner.warm_server import MAX_MESSAGE

# How long a run request may wait for the warm parent's answer (a fork) before it goes cold.
ANSWER_SECONDS = 5.0


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
                [sys.executable, "-m", "studylog.runner.warm_server", str(theirs.fileno())],
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
            data = self.sock.recv(MAX_MESSAGE)
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
                msg, got, _flags, _addr = socket.recv_fds(self.sock, MAX_MESSAGE, 1)
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
