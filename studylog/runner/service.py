"""Running a note's snippet: its code, a child through the bootstrap, the metric channel, and
the run kept in the store as it goes. Callers (CLI, TUI) get typed events as it happens."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import importlib.metadata
import json
import os
import platform
import sqlite3
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studylog import __version__, procctl
from studylog.protocol import CHANNEL_ENV, Columns
from studylog.runner.channel import ChannelDecoder, Decoded
from studylog.runner.events import (
    EventCallback,
    MetricPoints,
    OutputLine,
    RunFinished,
    RunStarted,
)
from studylog.runner.metric_writer import BackgroundMetricWriter
from studylog.runner.output import CappedOutput
from studylog.runner.process import Limits, ProcessResult, Status, run_process
from studylog.runner.snippets import (
    RunError,
    fence_system_metrics,
    fence_timeout,
    snippet_code,
    wants_fresh,
)
from studylog.runner.store_thread import StoreThread
from studylog.runner.warm import WarmParent
from studylog.store import runs as store_runs

if TYPE_CHECKING:
    import sqlite_utils

    from studylog.notes.model import Snippet
    from studylog.paths import Workspace
    from studylog.settings import RunSettings

# The store gets the metrics at least this often (a crash loses at most this much).
FLUSH_SECONDS = 0.25
# ... and the output so far at least this often, when it changed.
OUTPUT_SAVE_SECONDS = 1.0
# After the child's group is killed the channel closes at once; this long at most.
CHANNEL_DRAIN_SECONDS = 2.0
# ... and sooner when this many points wait.
FLUSH_POINTS = 200_000
# Points read but not yet written above which the channel is left unread for a moment.
MAX_BACKLOG = 2_000_000
_READ = 1 << 20


@dataclass(frozen=True)
class RunTarget:
    """One snippet of one note, as the index knows it."""

    note_id: int | None
    note_path: str  # under notes/
    snippet: Snippet


@functools.cache
def _installed(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def base_environment() -> dict[str, Any]:
    """What the parent knows of a run's environment; the child adds CUDA once torch loads."""
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "studylog": __version__,
        "torch": _installed("torch"),
        "numpy": _installed("numpy"),
    }


def run_environment(seed: int) -> dict[str, str]:
    """The environment of every run of this seed, less its channel and tag."""
    return {
        **os.environ,
        "PYTHONUNBUFFERED": "1",  # output streams as it is printed
        "PYTHONIOENCODING": "utf-8",
        "PYTHONHASHSEED": str(seed),  # str hashes and set orders repeat too
        "MPLBACKEND": "Agg",  # a plotting snippet never waits on a window
    }


def _args(snippet: Snippet) -> list[str]:
    import shlex

    raw = snippet.attrs.get("args", "")
    try:
        return shlex.split(raw)
    except ValueError:
        return raw.split()


@dataclass
class _Live:
    """The parent's side of one run while it goes: what arrived, and writing it down."""

    store: StoreThread
    run_id: int
    on_event: EventCallback | None
    writer: BackgroundMetricWriter
    env: dict[str, Any]
    output: tuple[CappedOutput, CappedOutput]
    decoder: ChannelDecoder = field(default_factory=ChannelDecoder)
    names: dict[int, str] = field(default_factory=dict)
    cost: dict[str, Any] = field(default_factory=dict)  # the child's own cost message
    warnings: list[str] = field(default_factory=list)
    channel_problems: int = 0
    output_error: str | None = None
    output_saved: tuple[int, int] = (0, 0)
    saving: bool = False  # a save is on its way to the store
    note_path: str = ""  # what runs (said again when it ends)
    snippet: str = ""

    def on_line(self, stream: str, line: str) -> None:
        if self.on_event is not None:
            self.on_event(OutputLine(self.run_id, stream, line))

    def take(self, decoded: Decoded) -> None:
        for key, name in decoded.keys:
            self.names[key] = name
            self.writer.add_key(key, name)
        if decoded.params:
            self.writer.add_params(decoded.params)
        self.env.update(decoded.env)
        self.cost.update(decoded.cost)
        for problem in decoded.problems:
            self.channel_problems += 1
            if self.channel_problems <= 3:
                self.warnings.append(f"metric channel: ignored {problem}")
        for batch in decoded.points:
            self.writer.add_points(batch)
        if decoded.points and self.on_event is not None:
            self.on_event(MetricPoints(self.run_id, dict(self.names), decoded.points))

    def take_system(self, keys: list[tuple[int, str]], points: Columns) -> None:
        """A sample of the system sampler (runner/sampler.py), as if the child had sent it."""
        self.take(Decoded(keys=keys, points=[points]))

    def save_output(self) -> None:
        """The output so far into the store, in the store's thread (metrics go by the
        writer's thread); one save at a time, and none when nothing changed."""
        seen = (self.output[0].added, self.output[1].added)
        if seen == self.output_saved or self.saving:
            return
        stdout, stderr = self.output[0].text(), self.output[1].text()
        run_id = self.run_id

        def save(db: sqlite_utils.Database) -> None:
            try:
                store_runs.save_output(db, run_id, stdout, stderr)
                self.output_saved = seen
            except sqlite3.Error as exc:  # retried at the next save; the run goes on
                self.output_error = str(exc)
            finally:
                self.saving = False

        self.saving = True
        self.store.submit(save)

    def end(self, result: ProcessResult) -> store_runs.RunEnd:
        """How the run ended: the process's end, with what the child told of its CUDA use."""
        cuda = self.cuda_cost()
        if not cuda:
            return result
        return store_runs.RunEnd(
            **{**result.end_facts(), "cost": dataclasses.replace(result.cost, **cuda)}
        )

    def cuda_cost(self) -> dict[str, Any]:
        """The CUDA fields of the child's cost message, those of the right type."""
        wanted = {"cuda_device": str, "cuda_peak_allocated": int, "cuda_peak_reserved": int}
        kept: dict[str, Any] = {}
        for name, value in self.cost.items():
            kind = wanted.get(name)
            if kind is not None and type(value) is kind:
                kept[name] = value
            else:
                self.warnings.append(f"metric channel: ignored cost {name}={value!r}")
        return kept

    def problems(self) -> list[str]:
        """Warnings for the run's record (call after the writer is closed)."""
        extra = []
        if self.channel_problems > 3:
            extra.append(f"metric channel: {self.channel_problems - 3} more messages ignored")
        if self.writer.rejected:
            extra.append(f"{self.writer.rejected} metric points were malformed or repeated")
        for error in self.writer.errors:
            extra.append(f"the store refused metrics for a while: {error}")
        if self.writer.losses:
            extra.append(self.writer.losses.text())
        return self.warnings + extra

    def lost(self) -> int:
        """Messages, points, params and names that did not reach the store (after close)."""
        losses = self.writer.losses
        return (
            self.channel_problems
            + self.writer.rejected
            + losses.points
            + losses.params
            + losses.keys
        )


class Runner:
    """Runs snippets of a workspace's notes and keeps each run in its store. Its records are
    written by its own connection in a thread of its own (`store`), never by the caller's
    loop. Given `db`, the code files of runs that are over are removed now; else at the
    first run."""

    def __init__(
        self,
        db: sqlite_utils.Database | None,
        workspace: Workspace,
        settings: RunSettings,
        *,
        store: StoreThread | None = None,
    ):
        self.workspace = workspace
        self.settings = settings
        self.store = store if store is not None else StoreThread(workspace.db_path)
        self._owns_store = store is None
        self._cleaned = False
        self.warm: WarmParent | None = None
        if db is not None:
            self._remove_leftover_code(db)

    def start_warm(self, seed: int | None = None) -> WarmParent:
        """Start (or restart, when it died) a warm parent for runs of `seed` (the settings'
        by default); it imports torch in the background, and runs go cold until it is
        ready. Call from the thread that runs the runs (the warm parent dies with the thread
        that started it)."""
        if self.warm is None or not self.warm.alive():
            seed = self.settings.seed if seed is None else seed
            env = run_environment(seed)
            me = os.getpid()
            env[procctl.RUN_TAG_ENV] = procctl.owner_tag(me, procctl.process_mark(me))
            env[procctl.RUN_TAG_ENV] += "warm"
            self.warm = WarmParent.start(self.workspace.root, env)
        return self.warm

    def close(self) -> None:
        """End the warm parent, and the store's thread (when this runner made it)."""
        if self.warm is not None:
            self.warm.close()
        if self._owns_store:
            self.store.close()

    def _remove_leftover_code(self, db: sqlite_utils.Database) -> None:
        """Code files of runs that are over (a studylog killed mid-run leaves its own)."""
        self._cleaned = True
        if not self.workspace.run_dir.is_dir():
            return
        going = store_runs.running_ids(db)
        for path in self.workspace.run_dir.glob("run-*.py"):
            run_id = path.stem.removeprefix("run-")
            if run_id.isdigit() and int(run_id) not in going:
                with contextlib.suppress(OSError):
                    path.unlink()

    def system_metrics(self, snippet: Snippet) -> bool:
        """Whether the run samples system metrics: the snippet's say, else the settings'."""
        wanted = fence_system_metrics(snippet)[0]
        return self.settings.system_metrics if wanted is None else wanted

    def limits(self, snippet: Snippet, timeout: float | None = None) -> Limits:
        """--timeout, else the snippet's `timeout=`, else the settings'."""
        if timeout is None:
            timeout = fence_timeout(snippet)[0]
        return Limits(
            timeout=timeout if timeout is not None else self.settings.timeout,
            memory_mb=self.settings.memory_limit_mb or None,
        )

    async def run(
        self,
        target: RunTarget,
        *,
        seed: int | None = None,
        timeout: float | None = None,
        on_event: EventCallback | None = None,
        cancel: asyncio.Event | None = None,
    ) -> RunFinished:
        """Run one snippet to its end and record it. How the snippet ended is the run's
        status, never an exception; RunError only when the run cannot start."""
        snippet = target.snippet
        code = snippet_code(self.workspace, snippet)
        if not self._cleaned:
            await self.store.call(self._remove_leftover_code)
        limits = self.limits(snippet, timeout)
        seed = self.settings.seed if seed is None else seed
        new = store_runs.NewRun(
            note_id=target.note_id,
            note_path=target.note_path,
            snippet=snippet.name,
            source=snippet.source,
            snippet_path=snippet.path,
            code=code,
            seed=seed,
            args=_args(snippet),
            timeout=limits.timeout,
            memory_limit_mb=limits.memory_mb,
            env=base_environment(),
        )
        try:
            run_id = await self.store.call(lambda db: store_runs.start_run(db, new))
        except sqlite3.Error as exc:
            raise RunError(f"{self.workspace.db_path}: cannot record the run ({exc})") from exc
        output = (CappedOutput(limits.output_cap), CappedOutput(limits.output_cap))
        writer = BackgroundMetricWriter(self.workspace.db_path, run_id, FLUSH_SECONDS, FLUSH_POINTS)
        live = _Live(self.store, run_id, on_event, writer, dict(new.env), output)
        live.note_path, live.snippet = target.note_path, snippet.name
        if bad_flag := fence_system_metrics(snippet)[1]:
            live.warnings.append(bad_flag)
        if timeout is None and (bad_timeout := fence_timeout(snippet)[1]):
            live.warnings.append(bad_timeout)
        if on_event is not None:
            on_event(RunStarted(run_id, target.note_path, snippet.name))
        try:
            code_file = self.workspace.run_dir / f"run-{run_id}.py"
            try:
                code_file.parent.mkdir(parents=True, exist_ok=True)
                code_file.write_text(code, encoding="utf-8")
            except OSError as exc:
                live.warnings.append(f"{code_file}: cannot write the run's code ({exc})")
                return await self._finish(live, _not_started(f"OSError: {exc}"))
            try:
                result = await self._child(target, new, code_file, limits, live, cancel)
            finally:
                with contextlib.suppress(OSError):
                    code_file.unlink()
            await asyncio.to_thread(writer.close)  # the last metrics, off the event loop
        except asyncio.CancelledError:  # the caller's task was cancelled: the group is dead
            out, err = live.output
            cancelled = _not_started(None, "cancelled", out.text(), err.text())
            # Waited for here, blocking: a cancelled task is not to await again.
            finished = self.store.submit(lambda db: self._record(db, live, cancelled)).result()
            if live.on_event is not None:
                live.on_event(finished)
            raise
        return await self._finish(live, result)

    async def _child(
        self,
        target: RunTarget,
        new: store_runs.NewRun,
        code_file: Path,
        limits: Limits,
        live: _Live,
        cancel: asyncio.Event | None,
    ) -> ProcessResult:
        snippet = target.snippet
        spec = {
            "code_file": str(code_file),
            # A fence reports errors at its lines in the note, a file at its own lines.
            "filename": snippet.path or self.workspace.label(target.note_path),
            "line_offset": snippet.line if snippet.code is not None else 0,
            "file": str(self.workspace.root / snippet.path) if snippet.path else None,
            "args": list(new.args),
            "seed": new.seed,
        }
        read_fd, write_fd = os.pipe()
        env = {**run_environment(new.seed), CHANNEL_ENV: str(write_fd)}
        warm = None if wants_fresh(snippet) else self.warm
        channel = asyncio.ensure_future(self._read_channel(read_fd, live))
        saver = asyncio.ensure_future(_save_periodically(live))
        sampler = None
        if self.system_metrics(snippet):
            from studylog.runner.sampler import SystemSampler

            loop = asyncio.get_running_loop()

            def to_loop(keys: list[tuple[int, str]], points: Columns) -> None:
                loop.call_soon_threadsafe(live.take_system, keys, points)

            sampler = SystemSampler(to_loop)
        try:
            return await run_process(
                [sys.executable, "-m", "studylog.runner.bootstrap", json.dumps(spec)],
                cwd=self.workspace.root,
                env=env,
                limits=limits,
                on_line=live.on_line,
                cancel=cancel,
                pass_fds=(write_fd,),
                capture=live.output,
                on_start=None if sampler is None else sampler.start,
                warm=warm,
            )
        finally:
            os.close(write_fd)
            if warm is not None and warm.failure is not None and warm.was_ready:
                # It died: the next runs go warm again once a new one is ready.
                self.start_warm(int(warm.hash_seed) if warm.hash_seed.isdigit() else None)
            saver.cancel()
            if sampler is not None:
                await asyncio.to_thread(sampler.stop)  # its last points are on their way
                live.warnings.extend(sampler.warnings)
            # Every writer is dead now, so the channel ends at once; one that escaped the
            # process group (setsid) cannot hold the run open.
            try:
                await asyncio.wait_for(asyncio.shield(channel), CHANNEL_DRAIN_SECONDS)
            except TimeoutError:
                channel.cancel()
                live.warnings.append("a process of the run kept the metric channel open")

    async def _read_channel(self, fd: int, live: _Live) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=_READ)
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(fd, "rb", buffering=0)
        )
        try:
            while chunk := await reader.read(_READ):
                live.take(live.decoder.feed(chunk))
                while live.writer.backlog > MAX_BACKLOG:  # SQLite is behind: let it catch up
                    await asyncio.sleep(0.01)
            live.take(live.decoder.close())
        finally:
            transport.close()

    async def _finish(self, live: _Live, result: ProcessResult) -> RunFinished:
        finished = await self.store.call(lambda db: self._record(db, live, result))
        if live.on_event is not None:
            live.on_event(finished)
        return finished

    def _record(self, db: sqlite_utils.Database, live: _Live, result: ProcessResult) -> RunFinished:
        """Record how the run ended (in the store's thread)."""
        live.writer.close()  # at once if closed already
        end = live.end(result)
        warnings = live.problems() + result.notes
        try:
            store_runs.set_start_path(db, live.run_id, result.start_path)
            store_runs.finish_run(
                db,
                live.run_id,
                end,
                ended=result.ended,
                stdout=result.stdout,
                stderr=result.stderr,
                truncated=result.truncated,
                env=live.env,
                warnings=warnings,
            )
        except sqlite3.Error as exc:
            raise RunError(
                f"{self.workspace.db_path}: run {live.run_id} ended ({result.status}) but could "
                f"not be recorded ({exc}); it will show as interrupted"
            ) from exc
        return RunFinished(
            **end.end_facts(),
            run_id=live.run_id,
            note_path=live.note_path,
            snippet=live.snippet,
            warnings=warnings,
            lost=live.lost(),
        )


async def _save_periodically(live: _Live) -> None:
    while True:
        await asyncio.sleep(OUTPUT_SAVE_SECONDS)
        live.save_output()


def _not_started(
    error: str | None, status: Status = "failed", stdout: str = "", stderr: str = ""
) -> ProcessResult:
    """The result of a run that never got (or never finished) its child process."""
    now = time.time()
    return ProcessResult(
        status=status,
        exit_code=None,
        stdout=stdout,
        stderr=stderr,
        last_error=error,
        started=now,
        ended=now,
        duration=0.0,
    )
