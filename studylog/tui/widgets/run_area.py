"""The area under the note: its snippets and their run history on the left, the status line,
the output and the curves on the right, and the runs themselves (in a worker, through the
runner: snippets run in child processes, never here). Mounted when a note with snippets
first opens, so the first screen paints without it."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from studylog.labels import duration_text, number_text
from studylog.safe_text import visible
from studylog.tui.widgets.metric_plot import MetricPlot
from studylog.tui.widgets.run_log import RunLog
from studylog.tui.widgets.runs_table import RunsTable
from studylog.tui.widgets.snippet_table import SnippetTable

if TYPE_CHECKING:
    from studylog.notes.model import Snippet
    from studylog.runner.events import RunEvent
    from studylog.store.queries import NoteDetail
    from studylog.tui.app import StudylogApp

# The clock of the elapsed time shown while a run goes (a snapshot test fixes it).
_clock = time.monotonic


class RunArea(Horizontal):
    """The open note's snippets and runs. Its parts are attributes, not queries: a run's
    events reach them thousands of times a second, and a query walks the DOM each time."""

    app: StudylogApp

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.snippets = SnippetTable(id="snippets")
        self.runs = RunsTable(id="runs")
        self.status = Static("", id="run-status")
        self.log_view = RunLog(id="log")
        self.plot = MetricPlot(id="plot")
        self.detail: NoteDetail | None = None
        self.snippet: str | None = None  # the highlighted snippet
        self.running: str | None = None
        self.run_started = 0.0
        self.latest: dict[str, tuple[int, float]] = {}
        self.cancel_event: asyncio.Event | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="run-left"):
            yield self.snippets
            yield self.runs
        with Vertical(id="run-right"):
            yield self.status
            yield self.log_view
            yield self.plot

    def on_mount(self) -> None:
        self.snippets.border_title = "Snippets"
        self.runs.border_title = "Runs (space marks, v compares)"
        self.log_view.border_title = "Output"
        self.set_interval(0.2, self._tick)

    # -- what is shown -----------------------------------------------------------------

    def show_note(self, detail: NoteDetail) -> None:
        """Another note (or the same one re-read): its snippets, and no marks from before."""
        if self.detail is None or self.detail.summary.id != detail.summary.id:
            self.runs.marked.clear()
        self.detail, self.snippet = detail, None
        self.refresh_snippets()

    def refresh_snippets(self) -> None:
        from studylog.runner.snippets import snippet_states

        if self.detail is None:
            return
        states = snippet_states(self.app.db, self.app.workspace, self.detail)
        self.snippets.show(states, self.running)

    def on_snippet_table_highlighted(self, event: SnippetTable.Highlighted) -> None:
        if event.name != self.snippet:  # another snippet: show its history and latest run
            self.snippet = event.name
            self.refresh_runs()

    def refresh_runs(self) -> None:
        from studylog.runner.snippets import RunError, snippet_code
        from studylog.store.history import list_runs
        from studylog.store.runs import code_hash

        if self.detail is None or self.snippet is None:
            self.runs.show([], None)
            return
        runs = list_runs(self.app.db, note_id=self.detail.summary.id, snippet=self.snippet)
        current = None
        snippet = self._snippet(self.snippet)
        if snippet is not None:
            try:
                current = code_hash(snippet_code(self.app.workspace, snippet))
            except RunError:
                current = None
        self.runs.show(runs, current)
        if self.running is None and runs:
            self.show_run(runs[0].id)
        elif self.running is None:
            self.log_view.show_text("", "", f"{self.snippet}: never run")
            self.plot.show({}, "press r to run")

    def on_runs_table_chosen(self, event: RunsTable.Chosen) -> None:
        if self.running is not None:
            self.notify("A run is going; its output stays on screen until it ends.")
            return
        self.show_run(event.run_id)

    def show_run(self, run_id: int) -> None:
        from studylog.store.history import get_run, metric_names, series

        run = get_run(self.app.db, run_id)
        s = run.summary
        title = f"#{s.id} {s.snippet} · {s.status.replace('_', ' ')} · {duration_text(s.duration)}"
        self.log_view.show_text(run.stdout, run.stderr, title)
        names = metric_names(self.app.db, run_id)
        self.plot.show({name: series(self.app.db, run_id, name) for name in names}, f"run #{s.id}")

    def _snippet(self, name: str) -> Snippet | None:
        if self.detail is None:
            return None
        return next((s for s in self.detail.snippets if s.name == name), None)

    # -- running -----------------------------------------------------------------------

    def run(self, names: list[str]) -> None:
        """Run these snippets of the note, one after the other."""
        if self.running is not None:
            self.notify("A run is already going; press c to cancel it.", severity="warning")
        elif self.detail is not None and names:
            self.run_snippets(self.detail, names)

    def cancel(self) -> None:
        if self.cancel_event is not None and self.running is not None:
            self.cancel_event.set()
        else:
            self.notify("Nothing is running.")

    @work(group="run", exit_on_error=False)
    async def run_snippets(self, detail: NoteDetail, names: list[str]) -> None:
        from studylog.runner.service import RunTarget
        from studylog.runner.snippets import RunError

        cancel = self.cancel_event = asyncio.Event()
        try:
            for name in names:
                if cancel.is_set():
                    break
                snippet = next(s for s in detail.snippets if s.name == name)
                self.running, self.run_started, self.latest = name, _clock(), {}
                self.snippets.show(self.snippets.states, name)
                self.refresh_runs()
                self.log_view.show_text("", "", f"{name} · running")
                self.log_view.clear()
                self.plot.show({}, f"{name} · live")
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
                    self.log_view.draw()
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
            self.status.update("")
            self.refresh_snippets()
            self.refresh_runs()

    def _on_run_event(self, event: RunEvent) -> None:
        from studylog.runner.events import MetricPoints, OutputLine, RunStarted

        if isinstance(event, OutputLine):
            self.log_view.add_line(event.line)
        elif isinstance(event, MetricPoints):
            self.latest.update(event.latest())
            self.plot.extend(event.by_name())
        elif isinstance(event, RunStarted):
            self.log_view.border_title = Text(visible(f"#{event.run_id} {event.snippet} · running"))
            self.refresh_runs()  # the new run, at the top of the history

    def _tick(self) -> None:
        if self.running is None:
            return
        text = Text.assemble(("▶ ", "cyan"), (visible(self.running), "bold"))
        text.append(f"  {duration_text(_clock() - self.run_started)}")
        for name, (step, value) in list(self.latest.items())[:3]:
            text.append(f"  {visible(name)} ", style="dim")
            text.append(number_text(value))
            text.append(f" @{step}", style="dim")
        text.append("   c cancels", style="dim")
        self.status.update(text)

    # -- comparison --------------------------------------------------------------------

    def compare(self) -> None:
        """The marked runs' curves overlaid, in a screen of their own."""
        from studylog.store.history import get_run, metric_names, series
        from studylog.tui.screens.compare import CompareScreen

        marked = sorted(self.runs.marked)
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
