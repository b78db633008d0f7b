"""The run session's read model (issue 9, point 1): what `enqueue` did with each snippet
asked for, each snippet's live status over the stored one, and a finished run that says
which snippet of which note it was. The run area only draws these. Real child processes,
a real store."""

from __future__ import annotations

import asyncio
from pathlib import Path

from studylog.runner.events import OutputLine, RunFinished
from studylog.runner.session import LiveStatus, Placed, SessionEvent
from tests.test_run_queue import NOTE, indexed, many_note, name, session_for, wait_until


async def test_enqueue_says_what_became_of_each_snippet(tmp_path: Path) -> None:
    """Started, queued at N, queued already (at its place), the running one (R does not
    queue it again; r does), or refused with why: the caller is told, not left to work it
    out from the queue."""
    ws, detail = indexed(tmp_path / "ws", many_note(4, slow={1}))
    session = session_for(ws)
    events: list[SessionEvent] = []
    try:
        first = session.enqueue(detail, [name(1)], on_event=events.append)
        assert first.placed == (Placed(name(1), "starts", 1),)
        assert first.starts and first.waiting == 1
        batch = asyncio.ensure_future(session.drain(on_event=events.append))
        await wait_until(
            lambda: any(isinstance(e, OutputLine) and "started" in e.line for e in events),
            "the slow snippet to start",
        )

        one = session.enqueue(detail, [name(2)], on_event=events.append)
        assert one.placed == (Placed(name(2), "queued", 1),)
        assert not one.starts and one.waiting == 1

        every = session.enqueue(detail, [name(1), name(2), name(3), "nope"], skip_running=True)
        assert every.placed[:3] == (
            Placed(name(1), "running now"),
            Placed(name(2), "queued already", 1),
            Placed(name(3), "queued", 2),
        )
        refused = every.placed[3]
        assert refused.outcome == "refused" and NOTE in refused.why and "nope" in refused.why
        assert [e.snippet for e in every.added] == [name(3)] and every.waiting == 2
        assert every.places("queued already") == [1]

        again = session.enqueue(detail, [name(1)])  # r on the running one: it runs again
        assert again.placed == (Placed(name(1), "queued", 3),)

        assert session.stop()
        finished = await asyncio.wait_for(batch, 120)
    finally:
        session.close()
    assert [f.status for f in finished] == ["cancelled"]


async def test_live_status_tells_running_queued_and_ended_until_the_store_shows_them(
    tmp_path: Path,
) -> None:
    """While a batch goes: the running snippet, the queued ones' places, and how the runs
    of the batch ended, the moment they end (before any read); a history read after the
    batch shows them from the store, and the live status stops repeating them."""
    ws, detail = indexed(tmp_path / "ws", many_note(3, slow=set()))
    session = session_for(ws)
    seen: list[tuple[str, LiveStatus]] = []
    finished_events: list[RunFinished] = []

    def on_event(event: SessionEvent) -> None:
        if isinstance(event, OutputLine):
            seen.append(("output", session.live(NOTE)))
        elif isinstance(event, RunFinished):
            finished_events.append(event)
            seen.append(("finished", session.live(NOTE)))

    try:
        finished = await asyncio.wait_for(
            session.run(detail, detail.snippets, on_event=on_event), 120
        )
        after_batch = session.live(NOTE)
        other_note = session.live("elsewhere/other.md")
        history = await session.history(detail, name(1))
        after_read = session.live(NOTE)
    finally:
        session.close()

    assert [f.status for f in finished] == ["succeeded"] * 3
    assert seen == [
        ("output", LiveStatus(name(1), {name(2): 1, name(3): 2}, {})),
        ("finished", LiveStatus(None, {name(2): 1, name(3): 2}, {name(1): "succeeded"})),
        ("output", LiveStatus(name(2), {name(3): 1}, {name(1): "succeeded"})),
        (
            "finished",
            LiveStatus(None, {name(3): 1}, {name(1): "succeeded", name(2): "succeeded"}),
        ),
        ("output", LiveStatus(name(3), {}, {name(1): "succeeded", name(2): "succeeded"})),
        ("finished", LiveStatus(None, {}, {name(i): "succeeded" for i in (1, 2, 3)})),
    ]
    # Each finished run says which snippet of which note it was.
    assert [(f.note_path, f.snippet) for f in finished_events] == [
        (NOTE, name(i)) for i in (1, 2, 3)
    ]
    assert after_batch == LiveStatus(None, {}, {name(i): "succeeded" for i in (1, 2, 3)})
    assert other_note == LiveStatus(None, {}, {})
    assert after_read == LiveStatus(None, {}, {})
    assert [s.badge for s in history.states] == ["succeeded"] * 3


async def test_a_snippet_queued_again_runs_again_and_reads_running(tmp_path: Path) -> None:
    """A snippet that ended in this batch and is queued again reads `queued`, then
    `running`, not how its first run ended."""
    ws, detail = indexed(tmp_path / "ws", many_note(2, slow=set()))
    session = session_for(ws)
    seen: list[LiveStatus] = []
    asked_again = False

    def on_event(event: SessionEvent) -> None:
        nonlocal asked_again
        if isinstance(event, RunFinished) and event.snippet == name(1) and not asked_again:
            asked_again = True
            session.enqueue(detail, [name(1)])
            seen.append(session.live(NOTE))
        elif isinstance(event, OutputLine):
            seen.append(session.live(NOTE))

    try:
        finished = await asyncio.wait_for(
            session.run(detail, detail.snippets[:2], on_event=on_event), 120
        )
    finally:
        session.close()
    assert [(f.snippet, f.status) for f in finished] == [
        (name(1), "succeeded"),
        (name(2), "succeeded"),
        (name(1), "succeeded"),
    ]
    assert seen[1] == LiveStatus(None, {name(2): 1, name(1): 2}, {name(1): "succeeded"})
    assert seen[-1] == LiveStatus(name(1), {}, {name(2): "succeeded"})
