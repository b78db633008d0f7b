"""The area under the note: its snippets and their run history on the left, the status line,
the output and the curves on the right. Mounted when a note with snippets first opens, so
the first screen paints without it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from studylog.tui.widgets.metric_plot import MetricPlot
from studylog.tui.widgets.run_log import RunLog
from studylog.tui.widgets.runs_table import RunsTable
from studylog.tui.widgets.snippet_table import SnippetTable


class RunArea(Horizontal):
    """Its parts are attributes, not queries: a run's events reach them thousands of times a
    second, and a query walks the DOM each time."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.snippets = SnippetTable(id="snippets")
        self.runs = RunsTable(id="runs")
        self.status = Static("", id="run-status")
        self.log_view = RunLog(id="log")
        self.plot = MetricPlot(id="plot")

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
