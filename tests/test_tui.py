"""The TUI's flows with Textual's Pilot, on a workspace built in tmp_path: browse both ways,
search in Korean, nested <details>, run and see output and a curve, cancel, compare, a broken
note, a failing snippet, help, the command palette, notes changed on disk."""

from __future__ import annotations

import functools
import json

import pytest
from textual.widgets import Input, OptionList

from studylog.store.history import list_runs
from studylog.tui.app import StudylogApp
from studylog.tui.screens.compare import CompareScreen
from studylog.tui.screens.help import HelpScreen
from studylog.tui.screens.main import MainScreen
from studylog.tui.screens.outline import OutlineScreen
from studylog.tui.widgets.metric_plot import MetricPlot
from studylog.tui.widgets.note_tree import NoteTree
from studylog.tui.widgets.note_view import NoteView
from studylog.tui.widgets.run_log import RunLog
from studylog.tui.widgets.runs_table import RunsTable
from studylog.tui.widgets.snippet_table import SnippetTable
from tests.tui_helpers import make_workspace, notifications, settings, studylog_app, until


@pytest.fixture
def ws(tmp_path):
    return make_workspace(tmp_path / "ws")


def _app(ws) -> StudylogApp:
    return StudylogApp(ws, settings())


def _labels(tree: NoteTree) -> list[str]:
    out = []

    def walk(node, depth):
        for child in node.children:
            out.append("  " * depth + str(child.label.plain))
            walk(child, depth + 1)

    walk(tree.root, 0)
    return out


async def _loaded(pilot) -> MainScreen:
    screen = pilot.app.screen
    await until(pilot, lambda: screen.notes, "the notes to load")
    return screen


async def _open(pilot, path: str) -> MainScreen:
    screen = await _loaded(pilot)
    screen.open_note(path)
    await until(
        pilot,
        lambda: screen.detail is not None and screen.detail.summary.path == path,
        f"{path} to open",
    )
    # Its run area is read off the loop: its snippet is chosen once it is drawn.
    detail = screen.detail
    assert detail is not None
    await until(pilot, lambda: screen.snippet is not None or not detail.snippets, "its runs")
    await pilot.pause()
    return screen


async def test_browse_by_topic_then_date_and_remember_it(ws):
    async with _app(ws).run_test(size=(120, 40)) as pilot:
        await _loaded(pilot)
        tree = pilot.app.query_one(NoteTree)
        # The first level opens by itself, its groups filled in as their events arrive.
        await until(
            pilot,
            lambda: any(label.strip().startswith("Lecture 5") for label in _labels(tree)),
            "the first level of the tree to open",
        )
        topic = _labels(tree)
        assert topic[0].startswith("Deep Learning Basics")
        await pilot.press("t")
        tops = [label for label in _labels(tree) if not label.startswith(" ")]
        assert tops[0].startswith("2022") and tops[-1].startswith("Undated")
        assert tree.mode == "date"
    assert json.loads(ws.ui_state_file.read_text())["tree_mode"] == "date"
    async with _app(ws).run_test(size=(120, 40)) as pilot:
        await _loaded(pilot)
        assert pilot.app.query_one(NoteTree).mode == "date"


async def test_open_a_note_from_the_tree(ws):
    async with _app(ws).run_test(size=(120, 40)) as pilot:
        await _loaded(pilot)
        tree = pilot.app.query_one(NoteTree)
        tree.focus()
        tree.select_path("dl/2022-01-20-backprop.md")
        await pilot.pause()
        await pilot.press("enter")
        view = pilot.app.query_one(NoteView)
        await until(pilot, lambda: view.detail is not None, "the note")
        assert view.detail is not None and view.detail.summary.title == "Backpropagation by hand"


async def test_search_in_korean_and_open_a_hit(ws):
    async with _app(ws).run_test(size=(120, 40)) as pilot:
        await _loaded(pilot)
        await pilot.press("slash")
        assert isinstance(pilot.app.focused, Input)
        await pilot.press(*"역전")
        results = pilot.app.query_one("#search-results", OptionList)
        await until(pilot, lambda: results.option_count, "search results")
        assert results.get_option_at_index(0).id == "dl/2022-01-20-backprop.md"
        await pilot.press("enter")
        view = pilot.app.query_one(NoteView)
        await until(pilot, lambda: view.detail is not None, "the hit to open")
        assert view.detail is not None and view.detail.summary.path == "dl/2022-01-20-backprop.md"


async def test_nested_details_are_sections_open_as_written(ws):
    async with _app(ws).run_test(size=(120, 40)) as pilot:
        screen = await _open(pilot, "dl/2022-01-20-backprop.md")
        view = screen.query_one(NoteView)
        outer, inner = view.sections()
        assert (outer.title, outer.open) == ("Chain rule", True)
        assert (inner.title, inner.open) == ("Inner proof", False)
        assert inner.parent is outer  # nested as written
        header = view.header.plain
        assert "2022-01-20" in header and "Deep Learning Basics" in header
        assert "To-dos 1/2" in header and "---" not in header
        # The outline jumps into the closed section and opens it.
        await pilot.press("g")
        assert isinstance(pilot.app.screen, OutlineScreen)
        await pilot.press("down", "down", "down", "enter")
        await until(pilot, lambda: inner.open, "the closed section opened")


async def test_run_a_snippet_and_see_its_output_and_curve(ws):
    async with _app(ws).run_test(size=(140, 45)) as pilot:
        screen = await _open(pilot, "pytorch/2022-01-21-training.md")
        assert screen.snippet == "train"
        await pilot.press("r")
        await until(
            pilot, lambda: screen.running is None and list_runs(studylog_app(pilot).db), "the run"
        )
        (run,) = list_runs(studylog_app(pilot).db)
        assert run.status == "succeeded"
        log_text = "\n".join(str(line.text) for line in pilot.app.query_one(RunLog).lines)
        assert "trained 20 steps" in log_text
        plot = pilot.app.query_one(MetricPlot)
        assert [p[0] for p in plot.curves["loss"]] == list(range(20))
        table = pilot.app.query_one(SnippetTable)
        assert "succeeded" in str(table.get_row_at(0)[1])


async def test_a_failing_snippet_is_reported_and_the_app_goes_on(ws):
    async with _app(ws).run_test(size=(140, 45)) as pilot:
        screen = await _open(pilot, "pytorch/2022-01-21-training.md")
        table = pilot.app.query_one(SnippetTable)
        table.focus()
        await pilot.press("down")
        assert screen.snippet == "broken"
        await pilot.press("r")
        await until(
            pilot, lambda: screen.running is None and list_runs(studylog_app(pilot).db), "the run"
        )
        assert list_runs(studylog_app(pilot).db)[0].status == "failed"
        messages = [n.message for n in notifications(pilot.app)]
        assert any("shapes do not match" in m for m in messages)
        assert "failed" in str(table.get_row_at(1)[1])
        log_text = "\n".join(str(line.text) for line in pilot.app.query_one(RunLog).lines)
        assert "ValueError: shapes do not match" in log_text


async def test_cancel_a_long_run(ws):
    async with _app(ws).run_test(size=(140, 45)) as pilot:
        screen = await _open(pilot, "pytorch/2022-02-01-slow.md")
        await pilot.press("r")
        plot = pilot.app.query_one(MetricPlot)
        # The live curve draws itself before the run ends.
        await until(pilot, lambda: len(plot.curves.get("loss", [])) == 5, "live points")
        await pilot.press("c")
        await until(pilot, lambda: screen.running is None, "the cancel")
        assert list_runs(studylog_app(pilot).db)[0].status == "cancelled"


async def test_compare_two_runs_overlaid(ws):
    async with _app(ws).run_test(size=(140, 45)) as pilot:
        screen = await _open(pilot, "pytorch/2022-01-21-training.md")
        db = studylog_app(pilot).db

        def ran(runs: int) -> bool:
            return screen.running is None and len(list_runs(db)) == runs

        for count in (1, 2):
            await pilot.press("r")
            await until(pilot, functools.partial(ran, count), "a run")
        runs = pilot.app.query_one(RunsTable)
        # The table is refreshed from a worker once the run is recorded: wait for both rows.
        await until(pilot, lambda: len(runs.runs) == 2, "both runs in the table")
        runs.focus()
        await pilot.press("space", "down", "space", "v")
        # The runs are read in a worker, then the comparison is pushed.
        await until(pilot, lambda: isinstance(pilot.app.screen, CompareScreen), "the comparison")
        plot = pilot.app.screen.query_one(MetricPlot)
        ids = sorted(r.id for r in list_runs(studylog_app(pilot).db))
        assert sorted(plot.curves) == [f"#{i} train · loss" for i in ids]
        await pilot.press("e")  # the overlaid curves as one PNG
        png = ws.root / "exports" / f"compare-{ids[0]}-{ids[1]}-loss.png"
        await until(pilot, png.exists, "the PNG")
        assert png.read_bytes()[:4] == b"\x89PNG"


async def test_compare_runs_of_two_snippets(ws):
    async with _app(ws).run_test(size=(140, 45)) as pilot:
        screen = await _open(pilot, "pytorch/2022-01-22-optim.md")
        await pilot.press("R")  # both snippets, one after the other
        await until(
            pilot,
            lambda: screen.running is None and len(list_runs(studylog_app(pilot).db)) == 2,
            "runs",
        )
        snippets, runs = pilot.app.query_one(SnippetTable), pilot.app.query_one(RunsTable)
        await until(pilot, lambda: runs.runs and runs.runs[0].snippet == "sgd", "sgd's runs")
        runs.focus()
        await pilot.press("space")  # sgd's run
        snippets.focus()
        await pilot.press("down")  # adam: its runs replace sgd's in the table
        await until(pilot, lambda: runs.runs and runs.runs[0].snippet == "adam", "adam's runs")
        runs.focus()
        await pilot.press("space", "v")
        # The runs are read in a worker, then the comparison is pushed.
        await until(pilot, lambda: isinstance(pilot.app.screen, CompareScreen), "the comparison")
        labels = sorted(pilot.app.screen.query_one(MetricPlot).curves)
        assert [label.split(" ", 1)[1] for label in labels] == ["sgd · loss", "adam · loss"]


async def test_compare_needs_two_marked_runs(ws):
    async with _app(ws).run_test(size=(140, 45)) as pilot:
        await _open(pilot, "pytorch/2022-01-21-training.md")
        await pilot.press("v")
        assert isinstance(pilot.app.screen, MainScreen)
        assert any("Mark two or more runs" in n.message for n in notifications(pilot.app))


async def test_a_broken_note_is_marked_and_explained(ws):
    async with _app(ws).run_test(size=(120, 40)) as pilot:
        await _loaded(pilot)
        tree = pilot.app.query_one(NoteTree)
        tree.select_path("broken.md")
        await pilot.pause()
        assert "⚠ broken.md" in [label.strip() for label in _labels(tree)]
        await _open(pilot, "broken.md")
        notes = notifications(pilot.app, "error")
        assert notes and "broken.md" in notes[-1].message and "binary" in notes[-1].message
        assert pilot.app.is_running


async def test_help_and_the_command_palette(ws):
    async with _app(ws).run_test(size=(120, 40)) as pilot:
        await _loaded(pilot)
        await pilot.press("question_mark")
        assert isinstance(pilot.app.screen, HelpScreen)
        await pilot.press("escape")
        titles = [c.title for c in pilot.app.get_system_commands(pilot.app.screen)]
        for action in ("Run", "Run all", "Cancel", "Compare", "Search", "Topic/Date", "Help"):
            assert action in titles


async def test_notes_changed_on_disk_show_up(ws):
    async with _app(ws).run_test(size=(120, 40)) as pilot:
        screen = await _loaded(pilot)
        (ws.notes_dir / "new-note.md").write_text("# Brand new\n", encoding="utf-8")
        (ws.notes_dir / "pytorch" / "2022-02-01-slow.md").unlink()
        screen.watch_notes()  # what the 2-second timer does
        await until(
            pilot, lambda: any(n.path == "new-note.md" for n in screen.notes), "the new note"
        )
        labels = "\n".join(_labels(pilot.app.query_one(NoteTree)))
        assert "Slow snippet" not in labels


async def test_a_locked_store_becomes_a_notification_with_what_to_do(ws):
    import sqlite3

    async with _app(ws).run_test(size=(120, 40)) as pilot:
        await _loaded(pilot)
        studylog_app(pilot).report_error(sqlite3.OperationalError("database is locked"))
        await pilot.pause()
        (note,) = notifications(pilot.app, "error")
        assert "studylog.db is busy" in note.message and "close the other studylog" in note.message
        assert pilot.app.is_running


async def test_a_locked_store_during_a_watch_pass_keeps_the_app_alive(ws, monkeypatch):
    import sqlite3

    import studylog.store.db

    monkeypatch.setattr(studylog.store.db, "BUSY_TIMEOUT_MS", 200)  # give up sooner than 10 s
    async with _app(ws).run_test(size=(120, 40)) as pilot:
        screen = await _loaded(pilot)
        other = sqlite3.connect(ws.db_path, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")  # another writer holds the store
        try:
            (ws.notes_dir / "new.md").write_text("# New\n", encoding="utf-8")  # needs a write
            screen.watch_notes()
            await until(
                pilot,
                lambda: any(n.severity == "error" for n in notifications(pilot.app)),
                "the error",
            )
        finally:
            other.execute("ROLLBACK")
            other.close()
        message = next(n.message for n in notifications(pilot.app) if n.severity == "error")
        assert "is busy" in message
        assert pilot.app.is_running and screen.notes  # the notes already shown stay
        screen.watch_notes()  # the lock is gone: the next pass goes through
        await until(pilot, lambda: any(n.path == "new.md" for n in screen.notes), "the new note")


async def test_export_the_open_note(ws, tmp_path):
    from studylog.tui.screens.export import ExportScreen

    out = tmp_path / "exported"
    async with _app(ws).run_test(size=(120, 40)) as pilot:
        await _open(pilot, "dl/2022-01-20-backprop.md")
        await pilot.press("e")
        assert isinstance(pilot.app.screen, ExportScreen)
        await pilot.press("enter")  # html, highlighted first
        field = pilot.app.screen.query_one(Input)
        field.value = str(out)
        await pilot.press("enter")
        page = out / "dl" / "2022-01-20-backprop.html"
        await until(pilot, page.exists, "the exported page")
        await until(
            pilot,
            lambda: any(n.title == "Exported" for n in notifications(pilot.app)),
            "the notice",
        )
        assert "Backpropagation by hand" in page.read_text()


async def test_the_mouse_works_too(ws):
    async with _app(ws).run_test(size=(140, 45)) as pilot:
        screen = await _open(pilot, "pytorch/2022-01-21-training.md")
        assert screen.snippet == "train"
        await pilot.click(SnippetTable, offset=(4, 3))  # the second row: border, header, row 1
        await until(pilot, lambda: screen.snippet == "broken", "the clicked snippet")
        await pilot.click("#search-input")
        assert isinstance(pilot.app.focused, Input)


async def test_a_flood_is_drawn_in_summary(ws):
    from studylog.tui.widgets.run_log import MAX_DRAW

    async with _app(ws).run_test(size=(140, 45)) as pilot:
        screen = await _open(pilot, "pytorch/2022-01-21-training.md")
        assert screen.run_area is not None
        log = screen.run_area.log_view
        log.clear()
        for number in range(MAX_DRAW + 300):
            log.add_line(f"line {number}\n")
        log.draw()
        await pilot.pause()
        text = [str(line.text) for line in log.lines]
        assert text[0] == "… 300 lines not drawn (kept in the run's output)"
        assert text[1] == "line 300" and text[-1] == f"line {MAX_DRAW + 299}"


async def test_a_runs_first_line_is_drawn_without_waiting_for_a_tick(ws):
    """A line after a quiet spell is drawn on the next turn of the loop (it waited for a
    50 ms tick once: a quarter of the time from `r` to the first line on screen); the lines
    that follow at once wait for the next draw, so a flood still costs one draw a tick."""
    async with _app(ws).run_test(size=(140, 45)) as pilot:
        screen = await _open(pilot, "pytorch/2022-01-21-training.md")
        assert screen.run_area is not None
        log = screen.run_area.log_view
        log.clear()
        log._last_draw = 0.0  # long ago
        log.add_line("first\n")
        log.add_line("second\n")  # before the draw: drawn with the first
        log.add_line("third\n")
        await pilot.pause()
        assert [str(line.text) for line in log.lines] == ["first", "second", "third"]
        log.add_line("soon after\n")  # within DRAW_SECONDS of that draw: waits for its time
        assert log._scheduled and log._pending == ["soon after\n"]
        await until(pilot, lambda: len(log.lines) == 4, "the next draw")


async def test_the_watch_pass_keeps_the_runs_table_and_its_marks(ws):
    """The watch pass redraws the snippets' badges; it must not empty the chosen snippet's
    runs (it did once the run area read its history per snippet: marks were lost every 2 s)."""
    async with _app(ws).run_test(size=(140, 45)) as pilot:
        screen = await _open(pilot, "pytorch/2022-01-21-training.md")
        await pilot.press("r")
        await until(
            pilot, lambda: screen.running is None and list_runs(studylog_app(pilot).db), "a run"
        )
        runs = pilot.app.query_one(RunsTable)
        await until(pilot, lambda: len(runs.runs) == 1, "the run in the table")
        runs.focus()
        await pilot.press("space")
        assert runs.marked
        assert screen.run_area is not None
        screen.run_area.refresh_snippets()  # what each watch pass does when idle
        await pilot.pause()
        assert len(runs.runs) == 1 and runs.marked
