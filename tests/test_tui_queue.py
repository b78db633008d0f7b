"""The run queue in the app (issue 12, point 2) and live per-snippet badges during Run all
(issue 10, point 6): what a person sees while snippets wait, run and end. Real child
processes and a real store; the app is waited for, never the clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

import studylog.store.runs as store_runs
import studylog.tui.widgets.run_area as run_area
from studylog.paths import Workspace
from studylog.store.db import open_store
from studylog.store.history import list_runs
from studylog.tui.app import StudylogApp
from studylog.tui.screens.main import MainScreen
from studylog.tui.widgets.snippet_table import SnippetTable
from tests.tui_helpers import make_workspace, notifications, open_snippets, settings, until

QUEUE_NOTE = "queue/2022-03-01-queue.md"
MANY_NOTE = "queue/2022-03-02-many.md"
HEADER = "---\ntitle: {title}\ndate: 2022-03-01\ntopic: Queue\n---\n# {title}\n\n"
# Waits (to be cancelled) once it said it started.
SLOW = 'import time\nprint("started", flush=True)\ntime.sleep(120)\n'


def fence(name: str, code: str) -> str:
    return f"```python run name={name}\n{code}```\n"


def queue_note() -> str:
    """A slow snippet first, then three quick ones."""
    quick = [fence(n, f"print({n!r})\n") for n in ("alpha", "beta", "gamma")]
    return HEADER.format(title="Queue") + "\n".join([fence("slow", SLOW), *quick])


def many_note(count: int, slow: int) -> str:
    """`count` quick snippets s01…, the `slow`-th waits until cancelled."""
    fences = [
        fence(f"s{i:02d}", SLOW if i == slow else f"print({i})\n") for i in range(1, count + 1)
    ]
    return HEADER.format(title="Many") + "\n".join(fences)


@pytest.fixture
def ws(tmp_path: Path):
    return make_workspace(
        tmp_path / "ws", {QUEUE_NOTE: queue_note(), MANY_NOTE: many_note(50, slow=25)}
    )


def status_of(table: SnippetTable, name: str) -> str:
    """The status cell of a snippet's row, as text."""
    return str(table.get_cell(name, table.ordered_columns[1].key))


def stored(ws) -> dict[str, list[str]]:
    """Each snippet's run statuses in the store, oldest first."""
    db = open_store(ws.db_path)
    try:
        out: dict[str, list[str]] = {}
        for run in reversed(list_runs(db)):
            out.setdefault(run.snippet, []).append(run.status)
        return out
    finally:
        db.close()


async def _open(pilot, path: str, first: str) -> MainScreen:
    screen = await open_snippets(pilot, path, first)
    await pilot.pause()
    return screen


@asynccontextmanager
async def _opened(
    ws: Workspace, path: str, first: str
) -> AsyncIterator[tuple[Any, MainScreen, run_area.RunArea]]:
    """The app at 140x45 with the note at `path` open (its first snippet `first`): the pilot,
    the main screen and its run area."""
    app = StudylogApp(ws, settings())
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await _open(pilot, path, first)
        area = screen.run_area
        assert area is not None
        yield pilot, screen, area


def _started(screen: MainScreen) -> bool:
    area = screen.run_area
    return area is not None and any("started" in line.text for line in area.log_view.lines)


async def test_r_while_a_run_goes_queues_x_removes_c_cancels_and_the_queue_goes_on(ws):
    async with _opened(ws, QUEUE_NOTE, "slow") as (pilot, screen, area):
        table = area.snippets
        await pilot.press("s", "r")  # the slow one runs
        await until(pilot, lambda: _started(screen), "the slow snippet to start", seconds=60)
        assert status_of(table, "slow").endswith("running")

        # r on alpha, then R: queued in order, each once, the running one not again.
        await pilot.press("down", "r", "R")
        await until(pilot, lambda: len(area.snippets.live.queued) == 3, "three snippets queued")
        assert [status_of(table, n) for n in ("alpha", "beta", "gamma")] == [
            "◦ queued 1",
            "◦ queued 2",
            "◦ queued 3",
        ]
        await pilot.press("r")  # alpha again: it is queued already, and says where
        await pilot.pause()
        assert len(area.snippets.live.queued) == 3
        assert any("Queued already (place 1)" in n.message for n in notifications(pilot.app))
        area.draw_status()
        assert "slow" in str(area.status.content) and "3 queued" in str(area.status.content)

        # x on beta takes it out; the places behind it move up.
        await pilot.press("down", "x")
        await until(pilot, lambda: len(area.snippets.live.queued) == 2, "beta taken out")
        assert status_of(table, "beta").endswith("never run")
        assert status_of(table, "gamma") == "◦ queued 2"

        # c cancels the slow one; alpha and gamma run by themselves.
        await pilot.press("c")
        await until(pilot, lambda: screen.running is None, "the queue to run out", seconds=120)
        assert status_of(table, "slow").endswith("cancelled")
        assert status_of(table, "alpha").endswith("succeeded")
        assert status_of(table, "beta").endswith("never run")
        assert status_of(table, "gamma").endswith("succeeded")
        # The notice says it was cancelled, not how the tree was ended (it read "SIGKILL").
        said = [str(n.message) for n in notifications(pilot.app, "warning")]
        assert "slow: cancelled." in said and not any("SIGKILL" in m for m in said)
    assert stored(ws) == {"slow": ["cancelled"], "alpha": ["succeeded"], "gamma": ["succeeded"]}


async def test_run_all_rows_show_each_status_the_moment_it_changes(ws):
    """Issue 10, point 6: during Run all, a snippet that just succeeded reads "succeeded"
    while the batch goes on, and the ones still waiting read their place in the queue."""
    async with _opened(ws, MANY_NOTE, "s01") as (pilot, screen, area):
        table = area.snippets
        await pilot.press("R")
        await until(pilot, lambda: _started(screen), "the 25th snippet to start", seconds=180)
        # The batch is still going: the 24 before read how they ended, by the session's
        # events (the 25th runs, 25 wait).
        assert screen.running == "s25"
        assert [status_of(table, f"s{i:02d}") for i in range(1, 25)] == ["✔ succeeded"] * 24
        assert status_of(table, "s25").endswith("running")
        assert status_of(table, "s26") == "◦ queued 1"
        assert status_of(table, "s50") == "◦ queued 25"
        await pilot.press("X", "c")
        await until(pilot, lambda: screen.running is None, "the batch to end", seconds=60)
        assert status_of(table, "s25").endswith("cancelled")


async def test_a_queue_of_50_cleared_at_the_25th_keeps_the_24_and_says_so(ws):
    """Bad input: X clears a queue of 50 while the 25th runs, c cancels that one: it ends
    cancelled, the 25 after it never start, the 24 before stay succeeded, and the app says
    what happened."""
    async with _opened(ws, MANY_NOTE, "s01") as (pilot, screen, area):
        table = area.snippets
        await pilot.press("R")
        await until(pilot, lambda: _started(screen), "the 25th snippet to start", seconds=180)
        await pilot.press("X")
        await until(pilot, lambda: not area.snippets.live.queued, "the queue cleared")
        assert any("25 snippets will not run" in n.message for n in notifications(pilot.app))
        assert status_of(table, "s26").endswith("never run")
        assert screen.running == "s25"  # clearing the queue leaves the running one
        await pilot.press("c")
        await until(pilot, lambda: screen.running is None, "the batch to end", seconds=60)
        messages = [n.message for n in notifications(pilot.app)]
        assert "24 succeeded, 1 cancelled, 25 not run (queue cleared)" in messages
        assert status_of(table, "s25").endswith("cancelled")
        assert [status_of(table, f"s{i:02d}") for i in range(26, 51)] == ["· never run"] * 25
    runs = stored(ws)
    assert runs == {**{f"s{i:02d}": ["succeeded"] for i in range(1, 25)}, "s25": ["cancelled"]}


async def test_a_queue_can_hold_snippets_of_two_notes(ws):
    """A snippet of another note joins the same queue: its note's rows show its place and
    nothing of the run going in the first note; it runs when its turn comes."""
    async with _opened(ws, QUEUE_NOTE, "slow") as (pilot, screen, area):
        table = area.snippets
        await pilot.press("s", "r")
        await until(pilot, lambda: _started(screen), "the slow snippet to start", seconds=60)
        screen.open_note(MANY_NOTE)
        await until(pilot, lambda: screen.snippet == "s01", "the second note to open")
        await pilot.press("s", "r")
        await until(pilot, lambda: len(area.snippets.live.queued) == 1, "s01 queued")
        assert status_of(table, "s01") == "◦ queued 1"
        assert not any(status_of(table, f"s{i:02d}").endswith("running") for i in range(1, 51))
        await pilot.press("c")
        await until(pilot, lambda: screen.running is None, "the queue to run out", seconds=60)
        assert status_of(table, "s01").endswith("succeeded")
    assert stored(ws) == {"slow": ["cancelled"], "s01": ["succeeded"]}


# -- a snapshot of the run area with a queue, at 80x24 ---------------------------------


@pytest.fixture
def fixed_time(monkeypatch):
    monkeypatch.setattr(store_runs, "now_iso", lambda: "2026-11-20T21:30:00.000+00:00")
    monkeypatch.setattr(run_area, "_clock", lambda: 0.0)


def test_run_area_with_a_queue_at_80x24(snap_compare, ws, fixed_time):
    async def queue_two(pilot) -> None:
        screen = await _open(pilot, QUEUE_NOTE, "slow")
        area = screen.run_area
        assert area is not None
        await pilot.press("s", "r")
        await until(pilot, lambda: _started(screen), "the slow snippet to start", seconds=60)
        await pilot.press("down", "down", "r", "down", "r")
        await until(pilot, lambda: len(area.snippets.live.queued) == 2, "two snippets queued")
        pilot.app.clear_notifications()  # their toasts go by themselves; the picture is not
        area.log_view.draw()
        area.draw_status()
        await pilot.pause()

    assert snap_compare(StudylogApp(ws, settings()), terminal_size=(80, 24), run_before=queue_two)
