"""The run queue (issue 12, point 2): snippets asked for while a run goes wait their turn,
can be taken out, a cancel stops only the run going now, and a queue cleared half way
keeps what ran. Real child processes, a real store."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from studylog.paths import Workspace
from studylog.runner.events import OutputLine, RunFinished
from studylog.runner.session import (
    BatchEnded,
    Dequeued,
    Queued,
    QueueEntry,
    RunSession,
    SessionEvent,
    SnippetStarting,
)
from studylog.settings import RunSettings, Settings
from studylog.store.db import open_store
from studylog.store.history import list_runs
from studylog.store.index import index_notes
from studylog.store.queries import NoteDetail, get_note
from tests.processes import wait_for

NOTE = "queue/2022-03-01-many.md"
HEADER = "---\ntitle: Many snippets\ndate: 2022-03-01\ntopic: Queue\n---\n# Many\n\n"
# A snippet that waits (to be cancelled) once it said it started.
SLOW = 'import time\nprint("started", flush=True)\ntime.sleep(120)\n'


def name(i: int) -> str:
    return f"s{i:02d}"


def many_note(count: int, slow: set[int]) -> str:
    """A note of `count` quick snippets s01…; those in `slow` wait until cancelled."""
    fences = []
    for i in range(1, count + 1):
        code = SLOW if i in slow else f"print({i})\n"
        fences.append(f"```python run name={name(i)}\n{code}```\n")
    return HEADER + "\n".join(fences)


def indexed(root: Path, text: str) -> tuple[Workspace, NoteDetail]:
    """A workspace holding the note, indexed; the note as the store knows it."""
    (root / "experiments").mkdir(parents=True)
    target = root / "notes" / NOTE
    target.parent.mkdir(parents=True)
    target.write_text(text, encoding="utf-8")
    ws = Workspace(root)
    settings = Settings(run=RunSettings(timeout=120, memory_limit_mb=2048))
    db = open_store(ws.db_path)
    try:
        index_notes(db, ws, settings)
        return ws, get_note(db, NOTE)
    finally:
        db.close()


def session_for(ws: Workspace) -> RunSession:
    return RunSession(ws, RunSettings(timeout=120, memory_limit_mb=2048))


def statuses(ws: Workspace) -> dict[str, str]:
    """Each snippet's run statuses in the store, oldest first, joined by commas."""
    db = open_store(ws.db_path)
    try:
        out: dict[str, list[str]] = {}
        for run in reversed(list_runs(db)):
            out.setdefault(run.snippet, []).append(run.status)
        return {k: ",".join(v) for k, v in out.items()}
    finally:
        db.close()


async def wait_until(condition: Callable[[], object], what: str, seconds: float = 120.0) -> None:
    """Let the loop work (the session's runs) until `condition()` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def snippets(detail: NoteDetail, *numbers: int) -> list:
    by_name = {s.name: s for s in detail.snippets}
    return [by_name[name(i)] for i in numbers]


async def test_snippets_asked_for_while_one_runs_wait_and_run_after_a_cancel(
    tmp_path: Path,
) -> None:
    ws, detail = indexed(tmp_path / "ws", many_note(4, slow={1}))
    session = session_for(ws)
    events: list[SessionEvent] = []
    try:
        batch = asyncio.ensure_future(
            session.run(detail, snippets(detail, 1), on_event=events.append)
        )
        await wait_until(
            lambda: any(isinstance(e, OutputLine) and "started" in e.line for e in events),
            "the slow snippet to start",
        )
        assert session.busy and session.running == name(1)

        # Asked for while s01 runs: queued, in order, each once.
        added = session.enqueue(detail, snippets(detail, 2, 3), on_event=events.append)
        again = session.enqueue(detail, snippets(detail, 3, 4, 2), on_event=events.append)
        assert [e.snippet for e in added.added] == [name(2), name(3)]
        assert [e.snippet for e in again.added] == [name(4)]
        assert session.queue == tuple(QueueEntry(NOTE, name(i)) for i in (2, 3, 4))
        queued = [e for e in events if isinstance(e, Queued)]
        assert [e.queue for e in queued][-1] == session.queue
        assert [[a.snippet for a in e.added] for e in queued] == [
            [name(1)],
            [name(2), name(3)],
            [name(4)],
        ]

        # One taken out before it starts; taking it out twice says so.
        assert session.remove(NOTE, name(3))
        assert not session.remove(NOTE, name(3))
        removed = [e for e in events if isinstance(e, Dequeued)]
        assert [(e.removed, e.cleared) for e in removed] == [((QueueEntry(NOTE, name(3)),), False)]
        assert session.queue == (QueueEntry(NOTE, name(2)), QueueEntry(NOTE, name(4)))

        # c cancels the running one; the queue goes on by itself.
        assert session.cancel()
        finished = await asyncio.wait_for(batch, 120)
    finally:
        session.close()

    assert [f.status for f in finished] == ["cancelled", "succeeded", "succeeded"]
    starting = [e for e in events if isinstance(e, SnippetStarting)]
    assert [(e.snippet, len(e.queue)) for e in starting] == [
        (name(1), 0),
        (name(2), 1),
        (name(4), 0),
    ]
    ended = [e for e in events if isinstance(e, BatchEnded)]
    assert len(ended) == 1 and not ended[0].cancelled and ended[0].dropped == ()
    assert statuses(ws) == {name(1): "cancelled", name(2): "succeeded", name(4): "succeeded"}
    assert not session.busy and session.queue == ()


async def test_a_queue_of_50_stopped_at_the_25th_keeps_the_24_before(tmp_path: Path) -> None:
    """Bad input: a queue of 50 snippets cleared, and its running one cancelled, while the
    25th runs: that one ends cancelled, the 25 after it never start, the 24 before it stay
    succeeded in the store, and the batch's end says what was dropped."""
    ws, detail = indexed(tmp_path / "ws", many_note(50, slow={25}))
    session = session_for(ws)
    events: list[SessionEvent] = []

    def on_event(event: SessionEvent) -> None:
        events.append(event)
        if isinstance(event, OutputLine) and "started" in event.line:
            assert session.running == name(25)
            assert session.stop()  # what X then c do in the app

    try:
        finished = await asyncio.wait_for(
            session.run(detail, detail.snippets, on_event=on_event), 600
        )
    finally:
        session.close()

    assert [f.status for f in finished] == ["succeeded"] * 24 + ["cancelled"]
    ended = [e for e in events if isinstance(e, BatchEnded)]
    assert len(ended) == 1 and ended[0].cancelled
    assert [e.snippet for e in ended[0].dropped] == [name(i) for i in range(26, 51)]
    cleared = [e for e in events if isinstance(e, Dequeued)]
    assert len(cleared) == 1 and cleared[0].cleared and len(cleared[0].removed) == 25
    started = [e.snippet for e in events if isinstance(e, SnippetStarting)]
    assert started == [name(i) for i in range(1, 26)]
    stored = statuses(ws)
    assert stored == {
        **{name(i): "succeeded" for i in range(1, 25)},
        name(25): "cancelled",
    }
    assert len([e for e in events if isinstance(e, RunFinished)]) == 25


async def test_a_second_drain_leaves_the_queue_to_the_first(tmp_path: Path) -> None:
    """Two key presses before the first batch starts both ask for a drain: one runs the
    queue, the other returns at once, and each snippet runs once."""
    ws, detail = indexed(tmp_path / "ws", many_note(3, slow=set()))
    session = session_for(ws)
    events: list[SessionEvent] = []
    try:
        session.enqueue(detail, snippets(detail, 1, 2), on_event=events.append)
        first = asyncio.ensure_future(session.drain(on_event=events.append))
        second = asyncio.ensure_future(session.drain(on_event=events.append))
        session.enqueue(detail, snippets(detail, 3), on_event=events.append)
        results = await asyncio.wait_for(asyncio.gather(first, second), 120)
    finally:
        session.close()
    assert [[f.status for f in r] for r in results] == [["succeeded"] * 3, []]
    assert statuses(ws) == {name(i): "succeeded" for i in (1, 2, 3)}
    assert len([e for e in events if isinstance(e, BatchEnded)]) == 1


def test_ctrl_c_in_studylog_run_all_stops_the_batch_not_only_its_run(tmp_path: Path) -> None:
    """`c` now cancels only the running snippet; Ctrl-C in `studylog run --all` still stops
    the whole batch: the running one is recorded cancelled, the rest never start."""
    marker = tmp_path / "started"
    waits = f"import pathlib, time\npathlib.Path({str(marker)!r}).touch()\ntime.sleep(120)\n"
    fences = [f"```python run name={name(1)}\n{waits}```\n"]
    fences += [f"```python run name={name(i)}\nprint({i})\n```\n" for i in (2, 3)]
    ws, _ = indexed(tmp_path / "ws", HEADER + "\n".join(fences))
    studylog = subprocess.Popen(
        [sys.executable, "-m", "studylog", "run", NOTE, "--all", "--workspace", str(ws.root)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(marker.exists, "the first snippet to start")
        studylog.send_signal(signal.SIGINT)
        out, err = studylog.communicate(timeout=60)
        assert studylog.returncode != 0, out + err
        assert statuses(ws) == {name(1): "cancelled"}
    finally:
        if studylog.poll() is None:
            studylog.kill()
            studylog.wait()
