"""One child process: its own process group, stdin closed, output streamed line by line,
a timeout, a memory limit, cancel, and a status for how it ended. No Textual, no torch.

The child runs under a supervisor process (`runner.supervisor`) that holds its whole tree,
setsid children included: every way out ends every process of the run, and the memory limit
is the sum over the tree."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from studylog.procctl import RUN_TAG_ENV, kill_tagged, owner_tag, process_mark
from studylog.runner import supervisor
from studylog.runner.output import CappedOutput
from studylog.runner.warm import WarmParent, WarmUnavailable
from studylog.store.runs import RunCost, RunEnd

Stream = Literal["stdout", "stderr"]
LineCallback = Callable[[Stream, str], None]
Status = Literal["succeeded", "failed", "timed_out", "cancelled", "out_of_memory", "crashed"]

_CHUNK = 65536
# Error lines that mean the child ran out of the memory it was allowed.
_OOM_MARKERS = (
    "MemoryError",
    "can't allocate memory",
    "Cannot allocate memory",  # ENOMEM: an mmap or fork refused by the limit
    "CUDA out of memory",
    "OutOfMemoryError",
    "Unable to allocate",  # NumPy
    "std::bad_alloc",
)
# After a stop request, how long the supervisor has to end the tree before we do it ourselves.
STOP_GRACE_SECONDS = 1.0
# Once every process of the run is gone, how long the output pipes may stay open (held by
# something outside the run) before we stop reading them.
PIPE_GRACE_SECONDS = 0.5


@dataclass(frozen=True)
class Limits:
    timeout: float | None = None  # seconds
    # Memory of the child's whole process tree: the sum of each process's proportional set
    # size (shared memory counted once), watched by the supervisor; and, so that a single
    # allocation fails with MemoryError rather than a kill, the data memory of each process
    # (RLIMIT_DATA: heap and private writable mappings; unlike RLIMIT_AS it leaves room for
    # CUDA's address reservations).
    memory_mb: int | None = None
    output_cap: int = 1_000_000  # characters kept per stream


@dataclass(kw_only=True)
class ProcessResult(RunEnd):
    """How the child ended (a RunEnd, its cost from the supervisor's report), and what it
    left."""

    status: Status
    duration: float
    stdout: str
    stderr: str
    started: float  # time.time()
    ended: float
    truncated: bool = False
    notes: list[str] = field(default_factory=list)
    start_path: Literal["warm", "cold"] = "cold"  # forked by the warm parent, or started


class _Protocol(asyncio.subprocess.SubprocessStreamProtocol):
    """The stream protocol, plus a future that is done the moment the child exits."""

    def __init__(self, limit: int, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=limit, loop=loop)
        self.exited: asyncio.Future[None] = loop.create_future()

    def process_exited(self) -> None:
        super().process_exited()
        if not self.exited.done():
            self.exited.set_result(None)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # the whole group is already gone
        os.killpg(pid, signal.SIGKILL)


def _kill_everything(child: _Started, tag: str) -> None:
    """The supervisor, its group, and every process that carries the run's tag whatever its
    session: the way out when the supervisor cannot do it (stuck, killed, or we are)."""
    with contextlib.suppress(ProcessLookupError):
        child.signal(signal.SIGKILL)
    _kill_group(child.pid)
    kill_tagged(tag)


def _read_report(fd: int) -> dict[str, str] | None:
    """The supervisor's last word (it has exited, so what it wrote is all in the pipe); None
    when it died before it could write it."""
    os.set_blocking(fd, False)
    data = b""
    with contextlib.suppress(BlockingIOError):
        while chunk := os.read(fd, 65536):
            data += chunk
    if not data.endswith(b"\n"):
        return None
    return supervisor.parse_words(data.decode("ascii", "replace"))


async def _pump(
    reader: asyncio.StreamReader, stream: Stream, sink: CappedOutput, on_line: LineCallback | None
) -> None:
    """Read in chunks (a 200 MB line must not sit in memory), decode leniently, split lines."""
    pending = b""
    while chunk := await reader.read(_CHUNK):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        if len(pending) > _CHUNK:  # a line without end: pass it on in pieces
            lines.append(pending)
            pending = b""
        for raw in lines:
            line = raw.decode("utf-8", errors="replace") + "\n"
            sink.add(line)
            if on_line is not None:
                on_line(stream, line)
        # Yield now and then so a flood of output never starves the caller's event loop.
        await asyncio.sleep(0)
    if pending:
        line = pending.decode("utf-8", errors="replace")
        sink.add(line)
        if on_line is not None:
            on_line(stream, line)


@dataclass
class _Started:
    """A run's supervisor, started one way or the other: what `_follow` needs of it."""

    pid: int
    exited: asyncio.Future[None]  # done the moment the supervisor ends
    stdout: asyncio.StreamReader
    stderr: asyncio.StreamReader
    signal: Callable[[int], None]  # raises ProcessLookupError when it is gone
    own_status: Callable[[], int | None]  # its exit status, where we can know it
    close: Callable[[], None]
    path: Literal["warm", "cold"]


async def run_process(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: dict[str, str] | None = None,
    limits: Limits = Limits(),
    on_line: LineCallback | None = None,
    cancel: asyncio.Event | None = None,
    pass_fds: Sequence[int] = (),
    capture: tuple[CappedOutput, CappedOutput] | None = None,
    on_start: Callable[[int], None] | None = None,
    warm: WarmParent | None = None,
) -> ProcessResult:
    """Run `argv` to its end (or its limit) and say how it went; never raises for the child's
    faults. Every way out kills every process the child started, whatever its session or
    process group. `capture` (stdout, stderr) lets the caller read the output so far;
    `on_start` is told the pid of the run's supervisor, the root of its process tree.
    `warm`: fork the run from this warm parent when it can take it, else start it cold."""
    started, t0 = time.time(), time.monotonic()
    me = os.getpid()
    tag = owner_tag(me, process_mark(me)) + secrets.token_hex(6)
    report_r, report_w = os.pipe()
    memory = limits.memory_mb * 1024 * 1024 if limits.memory_mb else 0
    config = {"parent": me, "report_fd": report_w, "memory": memory, "data": memory}
    env = {**(os.environ if env is None else env), RUN_TAG_ENV: tag}
    notes: list[str] = []
    child: _Started | None = None
    try:
        if warm is not None:
            try:
                child = await _start_warm(warm, argv, cwd, env, config, pass_fds)
            except WarmUnavailable as exc:
                if not exc.expected:
                    notes.append(f"started cold: {exc}")
        if child is None:
            config.update({f"keep{i}": fd for i, fd in enumerate(pass_fds)})
            child = await _start_cold(argv, cwd, env, config, pass_fds, report_w)
    except BaseException:
        os.close(report_r)
        raise
    finally:
        os.close(report_w)
    if on_start is not None:
        on_start(child.pid)
    try:
        result = await _follow(child, report_r, tag, limits, on_line, cancel, capture, started, t0)
    finally:
        os.close(report_r)
    result.notes[:0] = notes
    result.start_path = child.path
    return result


async def _start_cold(
    argv: Sequence[str],
    cwd: Path,
    env: dict[str, str],
    config: dict[str, int],
    pass_fds: Sequence[int],
    report_w: int,
) -> _Started:
    """A supervisor process of our own, which starts `argv` with exec."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.subprocess_exec(
        lambda: _Protocol(_CHUNK, loop),
        *supervisor.command(config, list(argv)),
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,  # its own group: a terminal's Ctrl-C reaches studylog only
        pass_fds=(*pass_fds, report_w),
    )
    proc = asyncio.subprocess.Process(transport, protocol, loop)
    assert proc.stdout is not None and proc.stderr is not None
    pid = proc.pid

    def send(signum: int) -> None:
        os.kill(pid, signum)

    return _Started(
        pid=pid,
        exited=protocol.exited,
        stdout=proc.stdout,
        stderr=proc.stderr,
        signal=send,
        own_status=transport.get_returncode,
        close=transport.close,
        path="cold",
    )


async def _start_warm(
    warm: WarmParent,
    argv: Sequence[str],
    cwd: Path,
    env: dict[str, str],
    config: dict[str, int],
    pass_fds: Sequence[int],
) -> _Started:
    """A supervisor forked by the warm parent (not our child: followed through a pidfd)."""
    loop = asyncio.get_running_loop()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        launched = await warm.launch(
            argv,
            cwd=cwd,
            env=env,
            config=config,
            fds={"stdout": out_w, "stderr": err_w, "report": config["report_fd"]},
            keep=pass_fds,
        )
    except BaseException:
        os.close(out_r)
        os.close(err_r)
        raise
    finally:
        os.close(out_w)
        os.close(err_w)
    pidfd = launched.pidfd
    readers: list[asyncio.StreamReader] = []
    transports: list[asyncio.BaseTransport] = []
    for fd in (out_r, err_r):
        reader = asyncio.StreamReader(limit=_CHUNK)
        protocol = asyncio.StreamReaderProtocol(reader)

        def factory(made: asyncio.StreamReaderProtocol = protocol) -> asyncio.BaseProtocol:
            return made

        transport, _ = await loop.connect_read_pipe(factory, os.fdopen(fd, "rb", buffering=0))
        readers.append(reader)
        transports.append(transport)
    exited: asyncio.Future[None] = loop.create_future()

    def on_exit() -> None:
        loop.remove_reader(pidfd)
        if not exited.done():
            exited.set_result(None)

    loop.add_reader(pidfd, on_exit)

    def send(signum: int) -> None:
        signal.pidfd_send_signal(pidfd, signum)

    def close() -> None:
        loop.remove_reader(pidfd)
        os.close(pidfd)
        for transport in transports:
            transport.close()

    return _Started(
        pid=launched.pid,
        exited=exited,
        stdout=readers[0],
        stderr=readers[1],
        signal=send,
        own_status=lambda: None,
        close=close,
        path="warm",
    )


async def _follow(
    child: _Started,
    report_fd: int,
    tag: str,
    limits: Limits,
    on_line: LineCallback | None,
    cancel: asyncio.Event | None,
    capture: tuple[CappedOutput, CappedOutput] | None,
    started: float,
    t0: float,
) -> ProcessResult:
    """Stream the output of a started supervisor until the run ends, then say how it went."""
    out, err = capture or (CappedOutput(limits.output_cap), CappedOutput(limits.output_cap))
    pumps = asyncio.gather(
        _pump(child.stdout, "stdout", out, on_line), _pump(child.stderr, "stderr", err, on_line)
    )
    # Not proc.wait(): it also waits for the pipes, which something outside the run may hold.
    waiter: asyncio.Future[Any] = asyncio.ensure_future(asyncio.shield(child.exited))
    watchers: set[asyncio.Future[Any]] = {waiter}
    cancel_task: asyncio.Future[Any] | None = None
    if cancel is not None:
        cancel_task = asyncio.ensure_future(cancel.wait())
        watchers.add(cancel_task)
    ended_by: Status | None = None
    notes: list[str] = []
    try:
        done, _ = await asyncio.wait(
            watchers, timeout=limits.timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if not done:
            ended_by = "timed_out"
        elif cancel_task is not None and cancel_task in done and not waiter.done():
            ended_by = "cancelled"
        if ended_by is not None:  # the supervisor ends the tree; if it cannot, we do
            with contextlib.suppress(ProcessLookupError):
                child.signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(asyncio.shield(child.exited), STOP_GRACE_SECONDS)
            except TimeoutError:
                _kill_everything(child, tag)
                await child.exited
        report = _read_report(report_fd)
        if report is None or report.get("all_killed") != "1":  # the supervisor could not finish
            _kill_everything(child, tag)
        # The run's processes are gone, so the pipes are at their end: unless something
        # outside the run holds them (a descriptor passed away). Then stop reading them.
        try:
            await asyncio.wait_for(asyncio.shield(pumps), PIPE_GRACE_SECONDS)
        except TimeoutError:
            pumps.cancel()
            notes.append("a process outside the run held its output open; stopped reading it")
    except BaseException:  # cancelled, or a bug of ours: no process of the run outlives it
        _kill_everything(child, tag)
        pumps.cancel()
        # Nobody awaits the pumps now: their CancelledError is taken here, or the event
        # loop logs it from a finalizer ("exception was never retrieved") at any moment.
        pumps.add_done_callback(lambda f: f.cancelled() or f.exception())
        child.close()
        raise
    finally:
        if cancel_task is not None:
            cancel_task.cancel()
    child.close()
    duration = time.monotonic() - t0
    last = err.last_line()
    if report is not None and "returncode" in report:
        returncode = int(report["returncode"])
    else:  # the supervisor died (or the snippet could not be waited for): its own end
        own = child.own_status()
        returncode = own or -signal.SIGKILL
        notes.append(f"the run's supervisor ended unexpectedly (exit status {own})")
    status = ended_by
    if status is None and report is not None and report.get("out_of_memory") == "1":
        status = "out_of_memory"
        used = int(report.get("memory", 0)) / 2**20
        last = (
            f"memory limit: the run's processes used {used:.0f} MB, over the "
            f"{limits.memory_mb} MB allowed (shared memory and child processes included)"
        )
    return ProcessResult(
        status=status or _status(returncode, last),
        exit_code=returncode if returncode >= 0 else None,
        signal=signal.Signals(-returncode).name if returncode < 0 else None,
        stdout=out.text(),
        stderr=err.text(),
        last_error=last if returncode != 0 or status else None,
        started=started,
        ended=started + duration,
        duration=duration,
        truncated=bool(out.dropped_lines or err.dropped_lines),
        notes=notes,
        cost=_cost(report),
    )


def _cost(report: dict[str, str] | None) -> RunCost:
    """The tree's peak memory and CPU time from the supervisor's report (unknown without)."""
    if report is None or "cpu_user" not in report:
        return RunCost()
    return RunCost(
        peak_memory=int(report["peak_memory"]),
        cpu_user=float(report["cpu_user"]),
        cpu_system=float(report["cpu_system"]),
    )


def _status(returncode: int, last_error_line: str | None) -> Status:
    if returncode == 0:
        return "succeeded"
    if last_error_line and any(m in last_error_line for m in _OOM_MARKERS):
        return "out_of_memory"
    if returncode < 0:
        return "crashed"
    return "failed"
