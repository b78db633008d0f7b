"""The main screen: notes on the left (tree or search), the open note on the right, and
under it its snippets, their run history, the run log and the curves."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Input
from textual.worker import Worker, WorkerState

from studylog.store.queries import NoteDetail, NoteNotFound, NoteSummary, get_note
from studylog.tui.widgets.note_tree import NoteTree
from studylog.tui.widgets.note_view import NoteView
from studylog.tui.widgets.search_panel import SearchPanel

# Runs, history and plots are imported when first used: the first screen paints sooner
# (benchmarks/bench_tui.py).

if TYPE_CHECKING:
    from studylog.notes.model import Snippet
    from studylog.runner.events import RunEvent
    from studylog.tui.app import StudylogApp
    from studylog.tui.widgets.run_area import RunArea
    from studylog.tui.widgets.runs_table import RunsTable
    from studylog.tui.widgets.snippet_table import SnippetTable

    SnippetTableHighlighted = SnippetTable.Highlighted
    RunsTableChosen = RunsTable.Chosen

# The clock of the elapsed time shown while a run goes (a snapshot test fixes it).
_clock = time.monotonic

# How often the notes folder is checked for changes (an incremental index: cheap).
WATCH_SECONDS = 2.0


class MainScreen(Screen[None]):
    BINDINGS = [
        Binding("t", "toggle_tree", "Topic/Date"),
        Binding("slash", "search", "Search"),
        Binding("r", "run", "Run"),
        Binding("R", "run_all", "Run all"),
        Binding("c", "cancel", "Cancel"),
        Binding("v", "compare", "Compare"),
        Binding("g", "outline", "Outline"),
        Binding("o", "edit", "Edit"),
        Binding("e", "export", "Export"),
        Binding("escape", "close_search", "Back", show=False),
    ]

    app: StudylogApp

    def __init__(self) -> None:
        super().__init__()
        self.notes: list[NoteSummary] = []
        self.detail: NoteDetail | None = None
        self.snippet: str | None = None  # the highlighted snippet
        self.running: str | None = None
        self.run_started = 0.0
        self.latest: dict[str, tuple[int, float]] = {}
        self.cancel_event: asyncio.Event | None = None
        self.run_area: RunArea | None = None  # mounted with the first note that has snippets

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="body"):
            with Vertical(id="sidebar"):
                yield SearchPanel(id="search")
                yield NoteTree(id="tree")
            with Vertical(id="main"):
                yield NoteView(id="note")
        yield Footer()

    def on_mount(self) -> None:
        tree = self.query_one(NoteTree)
        tree.mode = self.app.ui_state.tree_mode
        tree.focus()
        self.load_notes()
        self.set_interval(WATCH_SECONDS, self.watch_notes)
        self.set_interval(0.2, self._tick)

    # -- notes -------------------------------------------------------------------------

    @work(thread=True, group="index", exclusive=True, exit_on_error=False)
    def load_notes(self) -> list[NoteSummary]:
        """Index what changed (in a thread, on a connection of its own) and list the notes."""
        return self.app.store.refresh_index()

    def watch_notes(self) -> None:
        if not any(w.group == "index" and w.is_running for w in self.workers):
            self.load_notes()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == "index" and event.state == WorkerState.SUCCESS:
            self._notes_loaded(worker.result)  # type: ignore[arg-type]
        elif event.state == WorkerState.ERROR:
            self.app.report_error(worker.error)

    def _notes_loaded(self, notes: list[NoteSummary]) -> None:
        """A pass of the watcher: redraw only what changed, so a past run the user is
        looking at stays on screen."""
        first = not self.notes
        if first or _signature(notes) != _signature(self.notes):
            self.query_one(NoteTree).load(notes)
        old = {n.path: n for n in self.notes}
        self.notes = notes
        last = self.app.ui_state.last_note
        if first and last and self.detail is None and any(n.path == last for n in notes):
            self.query_one(NoteTree).select_path(last)  # where the last session left off
            self.open_note(last, quiet=True)
        elif self.detail is not None:
            path = self.detail.summary.path
            now = next((n for n in notes if n.path == path), None)
            if now is None:
                self.notify(f"notes/{path} was removed or moved.", severity="warning")
            elif _signature([now]) != _signature([old.get(path, now)]) or first:
                self.open_note(path, quiet=True)

    @on(NoteTree.Chosen)
    @on(SearchPanel.Chosen)
    def _chosen(self, event: NoteTree.Chosen | SearchPanel.Chosen) -> None:
        self.open_note(event.path)
        if isinstance(event, SearchPanel.Chosen):
            self.query_one(NoteTree).select_path(event.path)
            self.query_one(NoteView).focus()

    @work(group="open", exclusive=True, exit_on_error=False)
    async def open_note(self, path: str, quiet: bool = False) -> None:
        try:
            detail = get_note(self.app.db, path)
        except NoteNotFound:
            if not quiet:
                self.notify(f"notes/{path} is no longer there", severity="warning")
            return
        self.detail = detail
        await self.query_one(NoteView).show(detail)
        self.app.ui_state.last_note = path
        self.app.save_state()
        if not detail.summary.readable:
            self.notify(
                f"notes/{path} could not be read: {'; '.join(detail.summary.warnings)}",
                title="Unreadable note",
                severity="error",
            )
        self.snippet = None
        await self._show_run_area(bool(detail.snippets))
        if self.run_area is not None:
            self.run_area.runs.marked.clear()  # marks belong to one note's runs
        self.refresh_snippets()

    # -- snippets and runs -------------------------------------------------------------

    async def _show_run_area(self, show: bool) -> None:
        if show and self.run_area is None:
            from studylog.tui.widgets.run_area import RunArea

            self.run_area = RunArea(id="run-area")
            await self.query_one("#main").mount(self.run_area)
        if self.run_area is not None:
            self.run_area.display = show

    def refresh_snippets(self) -> None:
        from studylog.runner.snippets import snippet_states

        area = self.run_area
        if self.detail is None or area is None:
            return
        states = snippet_states(self.app.db, self.app.workspace, self.detail)
        area.snippets.show(states, self.running)

    def on_snippet_table_highlighted(self, event: SnippetTableHighlighted) -> None:
        if event.name != self.snippet:  # another snippet: show its history and latest run
            self.snippet = event.name
            self.refresh_runs()

    def refresh_runs(self) -> None:
        from studylog.runner.snippets import RunError, snippet_code
        from studylog.store.history import list_runs
        from studylog.store.runs import code_hash

        area = self.run_area
        if area is None:
            return
        if self.detail is None or self.snippet is None:
            area.runs.show([], None)
            return
        runs = list_runs(self.app.db, note_id=self.detail.summary.id, snippet=self.snippet)
        current = None
        snippet = self._snippet(self.snippet)
        if snippet is not None:
            try:
                current = code_hash(snippet_code(self.app.workspace, snippet))
            except RunError:
                current = None
        area.runs.show(runs, current)
        if self.running is None and runs:
            self.show_run(runs[0].id)
        elif self.running is None:
            area.log_view.show_text("", "", f"{self.snippet}: never run")
            area.plot.show({}, "press r to run")

    def on_runs_table_chosen(self, event: RunsTableChosen) -> None:
        if self.running is not None:
            self.notify("A run is going; its output stays on screen until it ends.")
            return
        self.show_run(event.run_id)

    def show_run(self, run_id: int) -> None:
        from studylog.run_views import duration_text
        from studylog.store.history import get_run, metric_names, series

        area = self.run_area
        if area is None:
            return
        run = get_run(self.app.db, run_id)
        s = run.summary
        title = f"#{s.id} {s.snippet} · {s.status.replace('_', ' ')} · {duration_text(s.duration)}"
        area.log_view.show_text(run.stdout, run.stderr, title)
        names = metric_names(self.app.db, run_id)
        area.plot.show({name: series(self.app.db, run_id, name) for name in names}, f"run #{s.id}")

    def _snippet(self, name: str) -> Snippet | None:
        if self.detail is None:
            return None
        return next((s for s in self.detail.snippets if s.name == name), None)

    def action_run(self) -> None:
        if self.snippet is not None:
            self._start([self.snippet])
        else:
            self.notify("This note has no snippet to run.", severity="warning")

    def action_run_all(self) -> None:
        if self.detail is not None and self.detail.snippets:
            self._start([s.name for s in self.detail.snippets])
        else:
            self.notify("This note has no snippets to run.", severity="warning")

    def _start(self, names: list[str]) -> None:
        if self.running is not None:
            self.notify("A run is already going; press c to cancel it.", severity="warning")
            return
        assert self.detail is not None
        self.run_snippets(self.detail, names)

    def action_cancel(self) -> None:
        if self.cancel_event is not None and self.running is not None:
            self.cancel_event.set()
        else:
            self.notify("Nothing is running.")

    @work(group="run", exit_on_error=False)
    async def run_snippets(self, detail: NoteDetail, names: list[str]) -> None:
        """Run snippets one after the other through the runner (each in its own process)."""
        from studylog.run_views import duration_text
        from studylog.runner.service import RunTarget
        from studylog.runner.snippets import RunError

        area = self.run_area
        assert area is not None
        cancel = self.cancel_event = asyncio.Event()
        try:
            for name in names:
                if cancel.is_set():
                    break
                snippet = next(s for s in detail.snippets if s.name == name)
                self.running, self.run_started, self.latest = name, _clock(), {}
                area.snippets.show(area.snippets.states, name)
                self.refresh_runs()
                area.log_view.show_text("", "", f"{name} · running")
                area.log_view.clear()
                area.plot.show({}, f"{name} · live")
                try:
                    finished = await self.app.runner.run(
                        RunTarget(detail.summary.id, detail.summary.path, snippet),
                        on_event=self._on_run_event,
                        cancel=cancel,
                    )
                except RunError as exc:
                    self.notify(str(exc), title="Cannot run", severity="error")
                    continue
                finally:
                    area.log_view.draw()
                if finished.status == "succeeded":
                    self.notify(f"{name} succeeded in {duration_text(finished.duration)}")
                else:
                    why = finished.last_error or finished.signal or ""
                    self.notify(
                        f"{name}: {finished.status.replace('_', ' ')}. {why}",
                        title="Run did not succeed",
                        severity="warning" if finished.status == "cancelled" else "error",
                    )
        finally:
            self.running, self.cancel_event = None, None
            area.status.update("")
            self.refresh_snippets()
            self.refresh_runs()

    def _on_run_event(self, event: RunEvent) -> None:
        from studylog.runner.events import MetricPoints, OutputLine, RunStarted

        area = self.run_area
        assert area is not None
        if isinstance(event, OutputLine):
            area.log_view.add_line(event.line)
        elif isinstance(event, MetricPoints):
            self.latest.update(event.latest())
            area.plot.extend(event.by_name())
        elif isinstance(event, RunStarted):
            area.log_view.border_title = f"#{event.run_id} {event.snippet} · running"
            self.refresh_runs()  # the new run, at the top of the history

    def _tick(self) -> None:
        if self.running is None or self.run_area is None:
            return
        from studylog.run_views import duration_text, number_text

        text = Text.assemble(("▶ ", "cyan"), (self.running, "bold"))
        text.append(f"  {duration_text(_clock() - self.run_started)}")
        for name, (step, value) in list(self.latest.items())[:3]:
            text.append(f"  {name} ", style="dim")
            text.append(number_text(value))
            text.append(f" @{step}", style="dim")
        text.append("   c cancels", style="dim")
        self.run_area.status.update(text)

    # -- comparison, outline, search, tree, editor -------------------------------------

    def action_compare(self) -> None:
        from studylog.store.history import get_run, metric_names, series
        from studylog.tui.screens.compare import CompareScreen

        marked = sorted(self.run_area.runs.marked) if self.run_area is not None else []
        if len(marked) < 2:
            self.notify("Mark two or more runs with space (in the runs table), then press v.")
            return
        runs = [get_run(self.app.db, run_id) for run_id in marked]
        curves: dict[str, list[tuple[int, float]]] = {}
        for run in runs:
            for name in metric_names(self.app.db, run.summary.id):
                label = f"#{run.summary.id} {run.summary.snippet} · {name}"
                curves[label] = series(self.app.db, run.summary.id, name)
        self.app.push_screen(CompareScreen(runs, curves, self.app.workspace.root / "exports"))

    def action_outline(self) -> None:
        from studylog.tui.screens.outline import OutlineScreen

        if self.detail is None or not self.detail.sections:
            self.notify("This note has no headings or sections.")
            return

        def jump(section: object) -> None:
            if section is not None:
                self.query_one(NoteView).jump_to(section)  # type: ignore[arg-type]

        self.app.push_screen(OutlineScreen(self.detail), jump)

    def action_export(self) -> None:
        from studylog.tui.screens.export import ExportScreen

        if self.detail is None:
            self.notify("Choose a note to export first.")
            return
        detail = self.detail

        def chosen(choice: tuple[str, Path] | None) -> None:
            if choice is not None:
                self.export_note(detail.summary.path, *choice)

        default = self.app.workspace.root / "exports"
        self.app.push_screen(ExportScreen(detail.summary.title, default), chosen)

    @work(thread=True, group="export", exit_on_error=False)
    def export_note(self, path: str, fmt: str, folder: Path) -> None:
        """Export in a thread, on a connection of its own; say where the files went."""
        from studylog.export.collect import ExportError
        from studylog.export.exporter import export_notes
        from studylog.store.db import connect

        db = connect(self.app.workspace.db_path)
        try:
            report = export_notes(db, self.app.workspace, [path], fmt, folder)  # type: ignore[arg-type]
        except ExportError as exc:
            self.app.call_from_thread(self.notify, str(exc), title="Export", severity="error")
            return
        finally:
            db.close()
        for problem in report.failed + report.warnings:
            self.app.call_from_thread(self.notify, problem, title="Export", severity="warning")
        if report.files:
            where = report.files[0]
            self.app.call_from_thread(
                self.notify, f"{len(report.files)} files, the note at {where}", title="Exported"
            )

    def action_search(self) -> None:
        self.query_one("#search-input", Input).focus()

    def action_close_search(self) -> None:
        search_input = self.query_one("#search-input", Input)
        if search_input.value:
            search_input.value = ""
        self.query_one(NoteTree).focus()

    @on(SearchPanel.Changed)
    def _search_changed(self, event: SearchPanel.Changed) -> None:
        self.run_search(event.query)

    @work(group="search", exclusive=True, exit_on_error=False)
    async def run_search(self, query: str) -> None:
        await asyncio.sleep(0.05)  # typing goes on: only the last query of a burst runs
        from studylog.store.search import search

        hits = search(self.app.db, query, limit=30) if query.strip() else []
        panel = self.query_one(SearchPanel)
        panel.show_hits(query, hits)
        panel.set_class(bool(query.strip()), "searching")

    def action_toggle_tree(self) -> None:
        tree = self.query_one(NoteTree)
        mode = "date" if tree.mode == "topic" else "topic"
        tree.load(self.notes, mode)
        self.app.ui_state.tree_mode = mode
        self.app.save_state()

    def action_edit(self) -> None:
        if self.detail is None:
            self.notify("Choose a note first.")
            return
        error = self.app.edit(self.app.workspace.notes_dir / self.detail.summary.path)
        if error:
            self.notify(error, title="Editor", severity="error")
        self.load_notes()


def _signature(notes: list[NoteSummary]) -> list[tuple[object, ...]]:
    """What the tree and the note view show of each note: a change here means a redraw."""
    return [
        (n.path, n.title, n.date, n.topic, n.warnings, n.snippet_count, n.tags, n.lectures)
        for n in notes
    ]
