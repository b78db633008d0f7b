"""Key r to the first output line (issue 12), and no store work on the UI thread (issue 9):
the line is painted before the rest of the run area redraws; choosing a snippet, showing a
run, rating a card and making a note run no statement on the UI thread; run notices replace
each other while a queue runs; the output panel's title is cut only when it does not fit."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

import studylog.store.db as store_db
import studylog.tui.app as tui_app
from studylog.store.history import list_runs
from studylog.tui.app import StudylogApp
from studylog.tui.widgets import run_area
from studylog.tui.widgets.run_log import RunLog
from studylog.tui.widgets.runs_table import RunsTable
from studylog.tui.widgets.snippet_table import SnippetTable
from tests.tui_helpers import (
    TRAINING,
    make_workspace,
    notes_loaded,
    notifications,
    open_snippets,
    settings,
    until,
)

QUICK_NOTE = """---
title: Three quick ones
date: 2022-03-02
topic: Queue
---
# Three quick ones

```python run name=one
print("one")
```

```python run name=two
print("two")
```

```python run name=three
print("three")
```
"""

WAIT_NOTE = """---
title: Waits for a file
date: 2022-03-03
topic: Queue
---
# Waits

```python run name=waits
import pathlib, time
while not pathlib.Path("go").exists():
    time.sleep(0.01)
print("went")
```
"""

FIRST_LINE_NOTE = """---
title: First line
date: 2022-03-04
topic: Queue
---
# First line

```python run name=first
print("first line of the run", flush=True)
import pathlib, time
while not pathlib.Path("go").exists():  # the points after the line is seen (two pipes:
    time.sleep(0.01)  # read in either order, and points first draw the run at once)
from studylog import track
for step in range(5):
    track.log(step=step, loss=1.0 / (step + 1))
```
"""


class UiThreadStatements:
    """Every SQL statement run on the UI thread, on the app's connection or any connection
    opened while this watches (the session's store thread, workers' own connections)."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.on = False
        self.ui_thread = threading.get_ident()

    def trace(self, db: sqlite_utils.Database) -> None:
        def seen(sql: str) -> None:
            if self.on and threading.get_ident() == self.ui_thread:
                self.statements.append(sql)

        db.conn.set_trace_callback(seen)

    @contextmanager
    def watching(self) -> Iterator[list[str]]:
        self.statements.clear()
        self.on = True
        try:
            yield self.statements
        finally:
            self.on = False


@pytest.fixture
def ui_statements(monkeypatch: pytest.MonkeyPatch) -> UiThreadStatements:
    watch = UiThreadStatements()
    real_connect = store_db.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite_utils.Database:
        db = real_connect(*args, **kwargs)
        watch.trace(db)
        return db

    monkeypatch.setattr(store_db, "connect", connect)
    monkeypatch.setattr(tui_app, "connect", connect)
    return watch


def _runs_shown(app: StudylogApp) -> list[int]:
    return [run.id for run in app.query_one(RunsTable).runs]


async def test_choosing_a_snippet_showing_a_run_and_r_run_no_statement_on_the_ui_thread(
    tmp_path: Path, ui_statements: UiThreadStatements
) -> None:
    ws = make_workspace(tmp_path)
    app = StudylogApp(ws, settings())
    async with app.run_test(size=(140, 45)) as pilot:
        ui_statements.trace(app.db)
        screen = await open_snippets(pilot, TRAINING, "train")
        await pilot.press("R")  # both snippets, so each has a run to show
        await until(
            pilot,
            lambda: screen.running is None and len(list_runs(app.db)) == 2,
            "both runs",
            seconds=60,
        )
        train, broken = (
            next(r.id for r in list_runs(app.db) if r.snippet == name)
            for name in ("train", "broken")
        )
        await until(pilot, lambda: _runs_shown(app) == [train], "train's run in the table")
        log = app.query_one(RunLog)
        with ui_statements.watching() as statements:
            app.query_one(SnippetTable).focus()
            await pilot.press("down")  # choose `broken`: its history and latest run
            await until(pilot, lambda: _runs_shown(app) == [broken], "broken's run shown")
            await until(pilot, lambda: f"#{broken} broken" in str(log.border_title), "its output")
            await pilot.press("up")
            await until(pilot, lambda: _runs_shown(app) == [train], "train's run shown")
            app.query_one(RunsTable).focus()
            await pilot.press("enter")  # show the run (read again)
            await until(pilot, lambda: f"#{train} train" in str(log.border_title), "the run")
            await pilot.press("r")
            await until(
                pilot,
                lambda: screen.running is None and len(_runs_shown(app)) == 2,
                "the run to end, in the table",
                seconds=60,
            )
        assert statements == []
        assert [r.status for r in list_runs(app.db, snippet="train")] == ["succeeded"] * 2


async def test_the_first_line_is_the_first_thing_drawn_after_r(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between the key and the screen update that shows the run's first line, the screen is
    not redrawn (the rows, status line, curves and history wait for the line); once it is
    shown they follow, and the run's curves and record are whole."""
    # However slow the machine, the line comes before the redraws' own deadline.
    monkeypatch.setattr(run_area, "FIRST_LINE_WAIT", 60.0)
    ws = make_workspace(tmp_path, {"queue/first.md": FIRST_LINE_NOTE})
    app = StudylogApp(ws, settings())
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_snippets(pilot, "queue/first.md", "first")
        await pilot.pause()
        # Each screen update after the key, until the line: (holds the line, shows the run
        # started). An update of something else (the tree, a timer's redraw) may come
        # first on a loaded machine; none may show the run area redrawn for the run.
        updates: list[tuple[bool, bool]] = []
        original = app._display

        def display(shown: Any, renderable: Any) -> None:
            original(shown, renderable)
            if renderable is not None and not any(line for line, _ in updates):
                text = renderable.render_segments(app.console)
                updates.append(("first line of the run" in text, "running" in text))

        app._display = display  # type: ignore[method-assign,assignment]
        await pilot.press("r")
        try:
            await until(pilot, lambda: any(line for line, _ in updates), "the line", seconds=60)
        finally:
            (ws.root / "go").touch()
        assert not any(started for _, started in updates[:-1]), updates
        await until(pilot, lambda: screen.running is None, "the run to end", seconds=60)
        table = app.query_one(SnippetTable)
        await until(pilot, lambda: "succeeded" in str(table.get_row_at(0)[1]), "its row")
        assert len(_runs_shown(app)) == 1
        assert [r.final_metrics for r in list_runs(app.db)] == [{"loss": 0.2}]


async def test_a_run_that_prints_nothing_yet_still_shows_as_running(tmp_path: Path) -> None:
    """The redraws that wait for the first line do not wait for it forever."""
    ws = make_workspace(tmp_path, {"queue/waits.md": WAIT_NOTE})
    app = StudylogApp(ws, settings())
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_snippets(pilot, "queue/waits.md", "waits")
        await pilot.press("r")
        table = app.query_one(SnippetTable)
        log = app.query_one(RunLog)
        try:
            await until(pilot, lambda: "running" in str(table.get_row_at(0)[1]), "its row")
            await until(pilot, lambda: "· running" in str(log.border_title), "the output title")
            assert not log.lines  # emptied for the run, nothing printed yet
        finally:
            (ws.root / "go").touch()
        await until(pilot, lambda: screen.running is None, "the run to end", seconds=60)
        await until(pilot, lambda: "succeeded" in str(table.get_row_at(0)[1]), "its end")
        assert any("went" in line.text for line in log.lines)


async def test_a_queues_notices_replace_each_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three runs queued and run: one notice about them shows at the end (the batch's
    summary), not one a run stacked over the output; a failure keeps its own notice."""
    monkeypatch.setattr(StudylogApp, "NOTIFICATION_TIMEOUT", 60.0)  # none expires meanwhile
    broken = QUICK_NOTE.replace('print("two")', 'raise ValueError("two broke")')
    ws = make_workspace(tmp_path, {"queue/quick.md": broken})
    app = StudylogApp(ws, settings())
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_snippets(pilot, "queue/quick.md", "one")
        await pilot.press("R")
        await until(pilot, lambda: screen.running is None, "the batch to end", seconds=60)
        await until(pilot, lambda: len(list_runs(app.db)) == 3, "three runs")
        shown = [(n.title, n.message) for n in notifications(app)]
        assert shown == [
            ("Run did not succeed", "two: failed. ValueError: two broke"),
            ("Batch over", "2 succeeded, 1 failed"),
        ]


async def test_the_output_title_is_cut_only_when_it_does_not_fit(tmp_path: Path) -> None:
    """A finished run's title: its cost follows where the panel has room for it; where it
    has not, the title stops before it, whole, instead of ending in "…"."""
    ws = make_workspace(tmp_path)
    app = StudylogApp(ws, settings())
    async with app.run_test(size=(100, 30)) as pilot:
        await open_snippets(pilot, TRAINING, "train")
        await pilot.press("r")
        log = app.query_one(RunLog)
        await until(pilot, lambda: "succeeded" in str(log.border_title), "the run", seconds=60)
        narrow = str(log.border_title)
        assert narrow.startswith("#1 train · succeeded · ") and narrow.endswith(" s")
        assert re.search(re.escape(narrow) + r"\s+─", _screen_text(app))  # whole, then the rule
        await pilot.resize_terminal(200, 40)
        await until(pilot, lambda: "peak" in str(log.border_title), "the cost, with room")
        await pilot.pause()
        assert str(log.border_title).startswith(narrow + " · peak ")
        assert re.search(re.escape(str(log.border_title)) + r"\s+─", _screen_text(app))


def _screen_text(app: StudylogApp) -> str:
    """What the screen shows, as text (pieces of one style apart, joined by spaces)."""

    svg = app.export_screenshot()
    return unescape(" ".join(re.findall(r">([^<]*)<", svg))).replace("\xa0", " ")


CARD_NOTE = """---
title: Autograd
date: 2022-01-25
topic: Pytorch
---
# Autograd

<details>
<summary>What does backward compute?</summary>
<div markdown="1">

The gradients.

</div>
</details>
"""


async def test_rating_a_card_runs_no_statement_on_the_ui_thread(
    tmp_path: Path, ui_statements: UiThreadStatements
) -> None:
    from studylog.store.review import review_count
    from studylog.tui.screens.review import ReviewScreen
    from tests.tui_helpers import until_screen

    ws = make_workspace(tmp_path, {"pytorch/2022-01-25-autograd.md": CARD_NOTE})
    app = StudylogApp(ws, settings())
    async with app.run_test(size=(120, 40)) as pilot:
        ui_statements.trace(app.db)
        main = await notes_loaded(pilot)
        await pilot.press("L")
        review = await until_screen(pilot, ReviewScreen, "the review")
        await until(pilot, lambda: review.cards, "the card")
        card = review.card
        assert card is not None
        with ui_statements.watching() as statements:
            await pilot.press("space", "3")
            assert review.cards == []  # the next card (none) shows at once
            await until(pilot, lambda: review.reviewed == 1, "the rating written")
            assert [n.message for n in notifications(app)][-1].startswith("Next time: ")
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is main, "the main screen")
        assert statements == []
        assert review_count(app.db, card.id) == 1


async def test_making_a_note_runs_no_statement_on_the_ui_thread(
    tmp_path: Path, ui_statements: UiThreadStatements, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime as dt

    from textual.widgets import Input

    from studylog.tui.screens.new_note import NewNoteScreen
    from tests.tui_helpers import until_screen

    monkeypatch.setenv("EDITOR", "true")  # an editor that saves nothing and returns
    monkeypatch.delenv("VISUAL", raising=False)
    ws = make_workspace(tmp_path)
    app = StudylogApp(ws, settings())
    async with app.run_test(size=(120, 40)) as pilot:
        ui_statements.trace(app.db)
        main = await notes_loaded(pilot)
        expected = f"pytorch/{dt.date.today().isoformat()}-schedulers.md"
        with ui_statements.watching() as statements:
            await pilot.press("n")
            dialog = await until_screen(pilot, NewNoteScreen, "the dialog")
            assert dialog.query_one("#new-topic", Input).value == "Pytorch"  # the newest's
            await pilot.press(*"Schedulers", "enter")
            await until(
                pilot,
                lambda: main.detail is not None and main.detail.summary.path == expected,
                "the new note to open",
            )
        assert statements == []
        assert (ws.notes_dir / expected).is_file()
