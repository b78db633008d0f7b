"""Marked runs side by side: their curves overlaid in one plot with a legend, and a table of
what differs (snippet, seed, parameters, final values)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Static

from studylog.run_views import duration_text, number_text
from studylog.store.history import RunDetail
from studylog.tui.widgets.metric_plot import MetricPlot
from studylog.tui.widgets.snippet_table import badge


class CompareScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,v", "dismiss", "Close")]

    def __init__(self, runs: list[RunDetail], curves: dict[str, list[tuple[int, float]]]):
        super().__init__()
        self.runs = runs
        self.curves = curves

    def compose(self) -> ComposeResult:
        with Vertical(id="compare"):
            yield Static(f"Comparing {len(self.runs)} runs", id="compare-title")
            yield MetricPlot(id="compare-plot")
            yield DataTable(id="compare-table", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(MetricPlot).show(self.curves, "")
        table = self.query_one(DataTable)
        table.add_columns("run", "snippet", "status", "seed", "took", "params", "final")
        for run in self.runs:
            s = run.summary
            table.add_row(
                f"#{s.id}",
                s.snippet,
                badge(s.status),
                str(s.seed),
                duration_text(s.duration),
                "  ".join(f"{k}={v}" for k, v in run.params.items()),
                "  ".join(f"{k} {number_text(v)}" for k, v in s.final_metrics.items()),
            )
