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
    def compose(self) -> ComposeResult:
        with Vertical(id="run-left"):
            yield SnippetTable(id="snippets")
            yield RunsTable(id="runs")
        with Vertical(id="run-right"):
            yield Static("", id="run-status")
            yield RunLog(id="log")
            yield MetricPlot(id="plot")

    def on_mount(self) -> None:
        self.snippets.border_title = "Snippets"
        self.runs.border_title = "Runs (space marks, v compares)"
        self.log_view.border_title = "Output"

    @property
    def snippets(self) -> SnippetTable:
        return self.query_one(SnippetTable)

    @property
    def runs(self) -> RunsTable:
        return self.query_one(RunsTable)

    @property
    def log_view(self) -> RunLog:
        return self.query_one(RunLog)

    @property
    def plot(self) -> MetricPlot:
        return self.query_one(MetricPlot)

    @property
    def status(self) -> Static:
        return self.query_one("#run-status", Static)
