"""A run session: the one path a key press or a command takes to run snippets. It runs one
snippet or many in order, cancels, owns the staleness and history a snippet list shows, and
tells its caller what happens through typed events. The CLI and the TUI both drive it; its
store work happens in the runner's store thread, never on the caller's loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from studylog.runner.events import RunEvent, RunFinished
from studylog.runner.service import Runner, RunTarget
from studylog.runner.snippets import RunError, SnippetState, snippet_code, snippet_states
from studylog.runner.store_thread import StoreThread

if TYPE_CHECKING:
    import sqlite_utils

    from studylog.notes.model import Snippet
    from studylog.paths import Workspace
    from studylog.settings import RunSettings
    from studylog.store.history import RunDetail, RunSummary
    from studylog.store.queries import NoteDetail


@dataclass(frozen=True)
class SnippetStarting:
    """The batch moves on to this snippet (its run is recorded next)."""

    snippet: str


@dataclass(frozen=True)
class RunRefused:
    """A snippet of the batch could not start (its file is missing, the store refused it);
    the batch goes on with the next."""

    snippet: str
    message: str


@dataclass(frozen=True)
class BatchEnded:
    """The batch is over: these runs finished (a cancelled batch stops early)."""

    finished: list[RunFinished]
    cancelled: bool


SessionEvent = SnippetStarting | RunEvent | RunRefused | BatchEnded
SessionCallback = Callable[[SessionEvent], None]


@dataclass(frozen=True)
class SnippetHistory:
    """What a snippet list shows of a note: each snippet's state, the runs of one of them
    (newest first), the hash of that snippet's code now, and its latest run in full."""

    states: list[SnippetState]
    runs: list[RunSummary]
    current_hash: str | None
    latest: RunView | None


@dataclass(frozen=True)
class RunView:
    """One run as the run area shows it: its record and its curves."""

    run: RunDetail
    curves: dict[str, list[tuple[int, float]]]


class RunSession:
    """Runs a workspace's snippets one batch at a time. `running` is the snippet running now."""

    def __init__(self, workspace: Workspace, settings: RunSettings) -> None:
        self.workspace = workspace
        self.store = StoreThread(workspace.db_path)
        self.runner = Runner(None, workspace, settings, store=self.store)
        self.running: str | None = None
        self.finished: list[RunFinished] = []  # of the batch going now, or the last one
        self._cancel: asyncio.Event | None = None

    @property
    def busy(self) -> bool:
        return self._cancel is not None

    @property
    def cancelling(self) -> bool:
        return self._cancel is not None and self._cancel.is_set()

    def cancel(self) -> bool:
        """Ask the run going now to stop (its processes are killed, it is recorded as
        cancelled) and the batch to go no further; False when nothing runs."""
        if self._cancel is None:
            return False
        self._cancel.set()
        return True

    async def run(
        self,
        note: NoteDetail,
        snippets: Sequence[Snippet],
        *,
        on_event: SessionCallback | None = None,
        seed: int | None = None,
        timeout: float | None = None,
        keep_going: bool = True,
    ) -> list[RunFinished]:
        """Run these snippets of `note` in order, telling `on_event` as they go. A snippet
        that cannot start is a RunRefused event (or, unless `keep_going`, a RunError)."""
        if self._cancel is not None:
            raise RunError("a run is already going; cancel it first")
        cancel = self._cancel = asyncio.Event()
        self.finished = finished = []

        def tell(event: SessionEvent) -> None:
            if on_event is not None:
                on_event(event)

        try:
            for snippet in snippets:
                if cancel.is_set():
                    break
                self.running = snippet.name
                tell(SnippetStarting(snippet.name))
                target = RunTarget(note.summary.id, note.summary.path, snippet)
                try:
                    finished.append(
                        await self.runner.run(
                            target, seed=seed, timeout=timeout, on_event=tell, cancel=cancel
                        )
                    )
                except RunError as exc:
                    if not keep_going:
                        raise
                    tell(RunRefused(snippet.name, str(exc)))
        finally:
            self.running, self._cancel = None, None
            tell(BatchEnded(list(finished), cancel.is_set()))  # also when the batch failed
        return finished

    # -- the read model of a snippet list ------------------------------------------------

    async def history(self, note: NoteDetail, snippet: str | None) -> SnippetHistory:
        """The note's snippet states, and the history of `snippet` (read in the store's
        thread)."""
        return await self.store.call(lambda db: self.history_now(db, note, snippet))

    def history_now(
        self, db: sqlite_utils.Database, note: NoteDetail, snippet: str | None
    ) -> SnippetHistory:
        """`history` on a connection of the caller's."""
        from studylog.store.history import list_runs
        from studylog.store.runs import code_hash

        states = snippet_states(db, self.workspace, note)
        if snippet is None:
            return SnippetHistory(states, [], None, None)
        runs = list_runs(db, note_id=note.summary.id, snippet=snippet)
        current = None
        found = next((s for s in note.snippets if s.name == snippet), None)
        if found is not None:
            try:
                current = code_hash(snippet_code(self.workspace, found))
            except RunError:
                current = None
        latest = run_view(db, runs[0].id) if runs else None
        return SnippetHistory(states, runs, current, latest)

    async def run_view(self, run_id: int) -> RunView:
        """One run's record and curves (read in the store's thread)."""
        return await self.store.call(lambda db: run_view(db, run_id))

    async def run_views(self, run_ids: Sequence[int]) -> list[RunView]:
        """Several runs' records and curves (read in the store's thread)."""
        return await self.store.call(lambda db: [run_view(db, run_id) for run_id in run_ids])

    def start_warm(self, seed: int | None = None) -> None:
        """Start a warm parent for the runs to come, of `seed` (the settings' by default),
        in the background: runs start cold until it has imported torch. Call from the
        thread of the runs' event loop."""
        self.runner.start_warm(seed)

    def close(self) -> None:
        """End the warm parent and the store's thread (after the batch going now is over)."""
        self.runner.close()
        self.store.close()


def run_view(db: sqlite_utils.Database, run_id: int) -> RunView:
    """One run's record and each of its metrics' curves."""
    from studylog.store.history import get_run, metric_names, series

    run = get_run(db, run_id)
    return RunView(run, {name: series(db, run_id, name) for name in metric_names(db, run_id)})
