"""Marked runs side by side: their curves overlaid in one plot with a legend, and a table of
what differs (snippet, seed, parameters, final values)."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Static

from studylog.labels import duration_text, number_text
from studylog.safe_text import visible
from studylog.store.history import RunDetail
from studylog.tui.widgets.metric_plot import MetricPlot
from studylog.tui.widgets.snippet_table import badge


class CompareScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,v", "dismiss", "Close"),
        Binding("e", "export", "Save as PNG"),
    ]

    def __init__(
        self,
        runs: list[RunDetail],
        curves: dict[str, list[tuple[int, float]]],
        export_dir: Path | None = None,
    ):
        super().__init__()
        self.runs = runs
        self.curves = curves
        self.export_dir = export_dir

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
                Text(visible(s.snippet)),  # Text cells: a str would be read as markup
                badge(s.status),
                str(s.seed),
                duration_text(s.duration),
                Text(visible("  ".join(f"{k}={v}" for k, v in run.params.items()))),
                Text(
                    visible("  ".join(f"{k} {number_text(v)}" for k, v in s.final_metrics.items()))
                ),
            )

    def action_export(self) -> None:
        """Every compared run's curves in one figure per metric group, as PNG files."""
        from studylog.export.collect import ExportError
        from studylog.export.files import prepare_out_dir, safe_name, write_file
        from studylog.export.plots import curve_png, groups

        if self.export_dir is None:
            return
        ids = "-".join(str(r.summary.id) for r in self.runs)
        by_metric: dict[str, list[str]] = {}
        for label in self.curves:
            by_metric.setdefault(label.rsplit(" · ", 1)[-1], []).append(label)
        written = []
        try:
            folder = prepare_out_dir(self.export_dir)
            for group, names in groups(list(by_metric)).items():
                labels = [label for name in names for label in by_metric[name]]
                title = f"runs {ids.replace('-', ', ')}: {group}"
                png = curve_png({lb: self.curves[lb] for lb in labels}, title, group)
                path = folder / safe_name(f"compare-{ids}-{group}.png")
                write_file(path, png)
                written.append(path)
        except (OSError, ExportError) as exc:  # a folder we cannot write, a full disk
            self.notify(f"{self.export_dir}: {exc}", title="Save as PNG", severity="error")
            return
        self.notify("\n".join(str(p) for p in written), title="Saved the comparison")
