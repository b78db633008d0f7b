"""One child process: its own process group, stdin closed, output streamed line by line,
a timeout, a memory limit, cancel, and a status for how it ended. No Textual, no torch."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from studylog.runner.output import CappedOutput

Stream = Literal["stdout", "stderr"]
LineCallback = Callable[[Stream, str], None]
Status = Literal["succeeded", "failed", "timed_out", "cancelled", "out_of_memory", "crashed"]

_CHUNK = 65536
# Error lines that mean the child ran out of the memory it was allowed.
_OOM_MARKERS = ("MemoryError", "can't allocate memory", "CUDA out of memory", "OutOfMemoryError")


@dataclass(frozen=True)
class Limits:
    timeout: float | None = None  # seconds
    # Data memory of the child and of each process it starts (RLIMIT_DATA: heap and private
    # writable mappings; unlike RLIMIT_AS it leaves room for CUDA's address reservations).
    memory_mb: int | None = None
    output_cap: int = 1_000_000  # characters kept per stream


@dataclass
class ProcessResult:
    status: Status
    exit_code: int | None
    signal_name: str | None
    stdout: str
    stderr: str
    last_error_line: str | None
    started: float  # time.time()
    ended: float
    duration: float
    truncated: bool = False
    notes: list[str] = field(default_factory=list)


def _child_setup(memory_mb: int | None) -> Callable[[], None]:
    def setup() -> None:
        if memory_mb:
            limit = memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
        _die_with_parent()

    return setup


def _die_with_parent() -> None:
    """On Linux, ask the kernel to SIGKILL the child when studylog dies (even by SIGKILL)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the process group kill still applies
        pass


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
) -> ProcessResult:
    """Run `argv` to its end (or its limit) and say how it went; never raises for the child's
    faults. Every way out kills the child's whole process group, grandchildren included.
    `capture` (stdout, stderr) lets the caller read the output so far while it runs."""
    started, t0 = time.time(), time.monotonic()
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.subprocess_exec(
        lambda: _Protocol(_CHUNK, loop),
        *argv,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,  # its own process group, so one killpg reaches every child
        preexec_fn=_child_setup(limits.memory_mb),
        pass_fds=pass_fds,
    )
    proc = asyncio.subprocess.Process(transport, protocol, loop)
    assert proc.stdout is not None and proc.stderr is not None
    out, err = capture or (CappedOutput(limits.output_cap), CappedOutput(limits.output_cap))
    pumps = asyncio.gather(
        _pump(proc.stdout, "stdout", out, on_line), _pump(proc.stderr, "stderr", err, on_line)
    )
    # Not proc.wait(): it also waits for the pipes, which a grandchild may hold open.
    waiter: asyncio.Future[Any] = asyncio.ensure_future(asyncio.shield(protocol.exited))
    watchers: set[asyncio.Future[Any]] = {waiter}
    cancel_task: asyncio.Future[Any] | None = None
    if cancel is not None:
        cancel_task = asyncio.ensure_future(cancel.wait())
        watchers.add(cancel_task)
    ended_by: Status | None = None
    try:
        done, _ = await asyncio.wait(
            watchers, timeout=limits.timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if not done:
            ended_by = "timed_out"
        elif cancel_task is not None and cancel_task in done and not waiter.done():
            ended_by = "cancelled"
    except BaseException:  # cancelled, or a bug of ours: the child must not outlive it
        _kill_group(proc.pid)
        pumps.cancel()
        raise
    finally:
        if cancel_task is not None:
            cancel_task.cancel()
    _kill_group(proc.pid)  # the snippet is over: no grandchild outlives it
    await protocol.exited
    await pumps
    returncode = transport.get_returncode()
    assert returncode is not None
    duration = time.monotonic() - t0
    last = err.last_line()
    return ProcessResult(
        status=ended_by or _status(returncode, last),
        exit_code=returncode if returncode >= 0 else None,
        signal_name=signal.Signals(-returncode).name if returncode < 0 else None,
        stdout=out.text(),
        stderr=err.text(),
        last_error_line=last if returncode != 0 or ended_by else None,
        started=started,
        ended=started + duration,
        duration=duration,
        truncated=bool(out.dropped_lines or err.dropped_lines),
    )


def _status(returncode: int, last_error_line: str | None) -> Status:
    if returncode == 0:
        return "succeeded"
    if last_error_line and any(m in last_error_line for m in _OOM_MARKERS):
        return "out_of_memory"
    if returncode < 0:
        return "crashed"
    return "failed"
