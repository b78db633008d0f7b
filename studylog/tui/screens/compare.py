"""Marked runs side by side: their curves overlaid in one plot with a legend, and a table of
what differs (snippet, seed, parameters, final values). `t` adds the study group's runs of
the same snippets from the MLflow server, marked as remote (⇣ snippet@member); they are
shown here only, never written into the local history."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
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

if TYPE_CHECKING:
    from studylog.sync.remote import RemoteCurves


class CompareScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,v", "dismiss", "Close"),
        Binding("e", "export", "Save as PNG"),
        Binding("t", "teammates", "Teammates' runs"),
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
        self.remote: list[RemoteCurves] = []  # overlaid teammates' runs (not stored)

    def compose(self) -> ComposeResult:
        with Vertical(id="compare"):
            yield Static(f"Comparing {len(self.runs)} runs", id="compare-title")
            yield MetricPlot(id="compare-plot")
            yield DataTable(id="compare-table", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(MetricPlot).show(self.curves, "")
        table = self.query_one(DataTable)
        table.add_columns("run", "snippet", "status", "seed", "took", "cost", "params", "final")
        for run in self.runs:
            s = run.summary
            table.add_row(
                f"#{s.id}",
                Text(visible(s.snippet)),  # Text cells: a str would be read as markup
                badge(s.status),
                str(s.seed),
                duration_text(s.duration),
                Text(visible(s.cost.text() or "—")),
                Text(visible("  ".join(f"{k}={v}" for k, v in run.params.items()))),
                Text(
                    visible("  ".join(f"{k} {number_text(v)}" for k, v in s.final_metrics.items()))
                ),
            )

    def action_teammates(self) -> None:
        """Overlay the group's runs of these snippets, fetched from the MLflow server."""
        self.notify("Asking the MLflow server for the group's runs…", title="Teammates' runs")
        self._fetch_teammates()

    @work(thread=True, group="teammates", exclusive=True, exit_on_error=False)
    def _fetch_teammates(self) -> None:
        from studylog.store.db import connect
        from studylog.store.sync_state import workspace_uuid
        from studylog.sync.client import SyncError, resolve_target
        from studylog.sync.remote import teammates_curves

        app = self.app
        workspace, settings = app.workspace, app.settings  # type: ignore[attr-defined]
        snippets = list(dict.fromkeys(self._snippets()))
        try:
            target = resolve_target(None, settings.sync, workspace, for_what="fetch runs from")
            db = connect(workspace.db_path)
            try:
                uuid = workspace_uuid(db)
            finally:
                db.close()
            found = teammates_curves(target, uuid, snippets)
        except SyncError as exc:
            app.call_from_thread(
                self.notify, visible(str(exc)), title="Teammates' runs", severity="warning"
            )
            return
        app.call_from_thread(self._overlay, found, target.server)

    def _overlay(self, found: list[RemoteCurves], server: str) -> None:
        if not found:
            names = ", ".join(sorted({s for _, s in self._snippets()}))
            self.notify(
                visible(f"No teammate has sent a run of {names} to {server} yet."),
                title="Teammates' runs",
            )
            return
        table = self.query_one(DataTable)
        for remote in found:
            if any(r.run.mlflow_run_id == remote.run.mlflow_run_id for r in self.remote):
                continue
            self.remote.append(remote)
            for name, points in remote.curves.items():
                self.curves[f"{remote.label} · {name}"] = points
            r = remote.run
            table.add_row(
                Text(visible(remote.label), style="italic"),
                Text(visible(r.snippet)),
                Text(visible(f"{r.status} (remote)")),
                "" if r.seed is None else str(r.seed),
                duration_text(r.duration),
                Text(""),
                Text(""),
                Text(
                    visible("  ".join(f"{k} {number_text(v)}" for k, v in r.final_metrics.items()))
                ),
            )
        self.query_one(MetricPlot).show(self.curves, "")
        self.query_one("#compare-title", Static).update(
            Text(
                visible(
                    f"Comparing {len(self.runs)} runs + {len(self.remote)} remote "
                    f"(⇣, from {server})"
                )
            )
        )

    def _snippets(self) -> list[tuple[str, str]]:
        return [(r.summary.note_path, r.summary.snippet) for r in self.runs]

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
