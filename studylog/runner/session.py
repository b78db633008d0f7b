"""A run session: the one path a key press or a command takes to run snippets. It runs one
snippet or many in order, cancels, owns the staleness and history a snippet list shows, and
tells its caller what happens through typed events. The CLI and the TUI both drive it; its
store work happens in the runner's store thread, never on the caller's loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

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
class QueueEntry:
    """A snippet waiting in the queue: which note and which snippet (its place is its index
    in the queue, from 0)."""

    note_path: str
    snippet: str


Queue = tuple[QueueEntry, ...]

# What became of a snippet asked to run: it starts now (no batch was going), it joined the
# queue, it was in the queue already (it keeps its place), it is the one running now (and
# was not queued again), or it cannot run (`why`).
Placing = Literal["starts", "queued", "queued already", "running now", "refused"]


@dataclass(frozen=True)
class Placed:
    """One snippet asked to run, and what became of it (`place`: in the queue, from 1)."""

    snippet: str
    outcome: Placing
    place: int = 0
    why: str = ""


@dataclass(frozen=True)
class Enqueued:
    """What `enqueue` did with each snippet asked for, in the order asked; `waiting` is how
    many wait in the queue now."""

    note_path: str
    placed: tuple[Placed, ...]
    waiting: int

    @property
    def added(self) -> Queue:
        """The snippets that joined the queue (the one starting included)."""
        return tuple(
            QueueEntry(self.note_path, p.snippet)
            for p in self.placed
            if p.outcome in ("starts", "queued")
        )

    @property
    def starts(self) -> bool:
        """No batch was going: `drain` runs these now."""
        return any(p.outcome == "starts" for p in self.placed)

    def places(self, outcome: Placing) -> list[int]:
        return [p.place for p in self.placed if p.outcome == outcome]


@dataclass(frozen=True)
class LiveStatus:
    """Where a note's snippets stand in the session now, over what the store says: the one
    running (None when none of this note runs), each queued one's place (from 1), and how
    the runs of this batch that the store's states do not show yet ended."""

    running: str | None
    queued: dict[str, int]
    ended: dict[str, str]


# Nothing of the note's runs in the session: the store's states as they are.
IDLE = LiveStatus(None, {}, {})


@dataclass(frozen=True)
class Queued:
    """These snippets joined the queue (those queued already were not added twice)."""

    added: Queue
    queue: Queue


@dataclass(frozen=True)
class Dequeued:
    """These snippets left the queue without running: removed one by one, or the queue
    cleared."""

    removed: Queue
    queue: Queue
    cleared: bool


@dataclass(frozen=True)
class SnippetStarting:
    """The session moves on to this snippet (its run is recorded next); `queue` is what still
    waits after it."""

    snippet: str
    note_path: str = ""
    queue: Queue = ()


@dataclass(frozen=True)
class RunRefused:
    """A snippet of the batch could not start (its file is missing, the store refused it);
    the batch goes on with the next."""

    snippet: str
    message: str


@dataclass(frozen=True)
class BatchEnded:
    """The queue ran out: these runs finished. `cancelled` when the queue was cleared (or the
    batch stopped by a failure) before it ran out; `dropped` the snippets that never started
    then."""

    finished: list[RunFinished]
    cancelled: bool
    dropped: Queue = ()


SessionEvent = Queued | Dequeued | SnippetStarting | RunEvent | RunRefused | BatchEnded
SessionCallback = Callable[[SessionEvent], None]


@dataclass
class _Waiting:
    """A queued snippet with what it runs with, and who is told about its run."""

    entry: QueueEntry
    note: NoteDetail
    snippet: Snippet
    seed: int | None
    timeout: float | None
    on_event: SessionCallback | None


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
    """Runs a workspace's snippets, one at a time, from a queue. `running` is the snippet
    running now, `queue` what waits after it; a run asked for while another goes joins the
    queue. Everything here happens on the caller's event loop (the store work in the
    store's thread)."""

    def __init__(self, workspace: Workspace, settings: RunSettings) -> None:
        self.workspace = workspace
        self.store = StoreThread(workspace.db_path)
        self.runner = Runner(None, workspace, settings, store=self.store)
        self.running: str | None = None
        self.running_note: str | None = None
        self.finished: list[RunFinished] = []  # of the batch going now, or the last one
        self._waiting: list[_Waiting] = []
        self._cancel: asyncio.Event | None = None  # of the run going now
        self._draining = False
        self._dropped: list[QueueEntry] = []  # cleared from the queue while the batch went
        self._listeners: list[SessionCallback] = []  # told of the queue's changes
        # How the runs of this batch ended, until a history read of their note shows them:
        # (status, the end's number in `_ends`).
        self._ended: dict[QueueEntry, tuple[str, int]] = {}
        self._ends = 0
        self._over: QueueEntry | None = None  # the running one has ended (the next not begun)

    @property
    def busy(self) -> bool:
        """A batch is going (a run, or the queue between two runs)."""
        return self._draining

    @property
    def cancelling(self) -> bool:
        return self._cancel is not None and self._cancel.is_set()

    @property
    def queue(self) -> Queue:
        """The snippets waiting, in the order they will run."""
        return tuple(w.entry for w in self._waiting)

    def _tell_all(self, event: SessionEvent) -> None:
        for listener in list(self._listeners):
            listener(event)

    def _listen(self, on_event: SessionCallback | None) -> None:
        if on_event is not None and on_event not in self._listeners:
            self._listeners.append(on_event)

    def enqueue(
        self,
        note: NoteDetail,
        snippets: Sequence[Snippet | str],
        *,
        on_event: SessionCallback | None = None,
        seed: int | None = None,
        timeout: float | None = None,
        skip_running: bool = False,
    ) -> Enqueued:
        """Put these snippets of `note` (or the snippets of these names) at the end of the
        queue and say what became of each (`Enqueued`): one queued already keeps its place;
        with `skip_running`, the one running now is not queued again (R runs the others);
        a name the note lacks is refused. `on_event` hears of their runs and of the queue's
        changes; `drain` runs them (`Enqueued.starts`: no batch was going)."""
        path = note.summary.path
        by_name = {s.name: s for s in note.snippets}
        running = None
        if self.running is not None and self.running_note is not None:
            running = QueueEntry(self.running_note, self.running)
        places = {entry: place for place, entry in enumerate(self.queue, 1)}
        starting = not self._draining
        placed: list[Placed] = []
        added: list[QueueEntry] = []
        for asked in snippets:
            snippet = by_name.get(asked) if isinstance(asked, str) else asked
            name = asked if isinstance(asked, str) else asked.name
            entry = QueueEntry(path, name)
            if snippet is None:
                placed.append(Placed(name, "refused", why=f"{path} has no snippet {name}"))
            elif entry in places:
                placed.append(Placed(name, "queued already", places[entry]))
            elif skip_running and self._draining and entry == running:
                placed.append(Placed(name, "running now"))
            else:
                self._waiting.append(_Waiting(entry, note, snippet, seed, timeout, on_event))
                places[entry] = len(self._waiting)
                outcome: Placing = "starts" if starting and places[entry] == 1 else "queued"
                placed.append(Placed(name, outcome, places[entry]))
                added.append(entry)
        self._listen(on_event)
        if added:
            self._tell_all(Queued(tuple(added), self.queue))
        return Enqueued(path, tuple(placed), len(self._waiting))

    def remove(self, note_path: str, snippet: str) -> bool:
        """Take this snippet out of the queue before it starts; False when it is not there."""
        entry = QueueEntry(note_path, snippet)
        kept = [w for w in self._waiting if w.entry != entry]
        if len(kept) == len(self._waiting):
            return False
        self._waiting = kept
        self._tell_all(Dequeued((entry,), self.queue, cleared=False))
        return True

    def clear_queue(self) -> Queue:
        """Empty the queue (the run going now goes on); the snippets that were waiting."""
        dropped = self.queue
        self._waiting = []
        if dropped:
            self._dropped.extend(dropped)
            self._tell_all(Dequeued(dropped, (), cleared=True))
        return dropped

    def cancel(self) -> bool:
        """Ask the run going now to stop (its processes are killed, it is recorded as
        cancelled); the queue goes on. False when nothing runs."""
        if self._cancel is None:
            return False
        self._cancel.set()
        return True

    def stop(self) -> bool:
        """Clear the queue and cancel the run going now; False when nothing was going."""
        dropped = self.clear_queue()
        return self.cancel() or bool(dropped)

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
        """Run these snippets of `note` in order, telling `on_event` as they go: `enqueue`
        then `drain`. A snippet that cannot start is a RunRefused event (or, unless
        `keep_going`, a RunError)."""
        if self._draining:
            raise RunError("a run is already going; cancel it first")
        self.enqueue(note, snippets, on_event=on_event, seed=seed, timeout=timeout)
        return await self.drain(on_event=on_event, keep_going=keep_going)

    async def drain(
        self, *, on_event: SessionCallback | None = None, keep_going: bool = True
    ) -> list[RunFinished]:
        """Run the queue until it is empty, snippets queued meanwhile included; the runs
        that finished. Returns [] at once when another drain is going (it takes the queue)."""
        if self._draining:
            return []
        self._draining, self._dropped = True, []
        self._listen(on_event)
        finished: list[RunFinished] = []
        self.finished = finished
        try:
            while self._waiting:
                waiting = self._waiting.pop(0)
                await self._run_one(waiting, finished, keep_going)
        finally:
            # Also when the batch failed (keep_going=False) or its task was cancelled: what
            # still waits never starts, and the listeners hear so.
            dropped = (*self._dropped, *self.queue)
            self._waiting, self._dropped = [], []
            self.running = self.running_note = None
            self._cancel, self._draining, self._over = None, False, None
            listeners, self._listeners = self._listeners, []
            ended = BatchEnded(list(finished), bool(dropped), dropped)
            for listener in listeners:
                listener(ended)
        return finished

    async def _run_one(
        self, waiting: _Waiting, finished: list[RunFinished], keep_going: bool
    ) -> None:
        entry, callback = waiting.entry, waiting.on_event

        def tell(event: SessionEvent) -> None:
            if isinstance(event, RunFinished):  # the live status says so before anyone hears
                self._ends += 1
                self._ended[entry] = (event.status, self._ends)
                self._over = entry
            if callback is not None:
                callback(event)
            elif self._listeners:  # queued by someone who hears nothing: the batch's caller
                self._listeners[0](event)

        self.running, self.running_note = entry.snippet, entry.note_path
        self._ended.pop(entry, None)  # queued again: it runs again
        self._over = None
        cancel = self._cancel = asyncio.Event()
        tell(SnippetStarting(entry.snippet, entry.note_path, self.queue))
        note = waiting.note
        target = RunTarget(note.summary.id, note.summary.path, waiting.snippet)
        try:
            finished.append(
                await self.runner.run(
                    target,
                    seed=waiting.seed,
                    timeout=waiting.timeout,
                    on_event=tell,
                    cancel=cancel,
                )
            )
        except RunError as exc:
            if not keep_going:
                raise
            tell(RunRefused(entry.snippet, str(exc)))
        finally:
            self._cancel = None

    # -- the read model of a snippet list ------------------------------------------------

    def live(self, note_path: str) -> LiveStatus:
        """Where this note's snippets stand in the session now (`LiveStatus`): drawn over
        the states of the note's latest `history`, with no read."""
        running = self.running if self.running_note == note_path else None
        queued: dict[str, int] = {}
        for place, entry in enumerate(self.queue, 1):
            if entry.note_path == note_path:
                queued.setdefault(entry.snippet, place)
        ended = {
            e.snippet: status for e, (status, _) in self._ended.items() if e.note_path == note_path
        }
        if running is not None and self._over == QueueEntry(note_path, running):
            running = None  # over: it reads how it ended until the next one starts
        return LiveStatus(running, queued, ended)

    async def history(self, note: NoteDetail, snippet: str | None) -> SnippetHistory:
        """The note's snippet states, and the history of `snippet` (read in the store's
        thread). The runs that ended before the read began are in it: the live status
        stops telling how they ended."""
        ends = self._ends
        history = await self.store.call(lambda db: self.history_now(db, note, snippet))
        path = note.summary.path
        for entry, (_, end) in list(self._ended.items()):
            if entry.note_path == path and end <= ends:
                del self._ended[entry]
        return history

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
