"""Marked runs side by side: their curves overlaid in one plot with a legend, and a table of
what differs (snippet, seed, parameters, final values). `t` adds the study group's runs of
the same snippets from the MLflow server, marked as remote (⇣ snippet@member): a list of the
group's runs of those snippets (member, started, status, same code or not) to choose from, the
newest three of each chosen at first. They are shown here only, never written into the local
history."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Static

from studylog.labels import duration_text
from studylog.rich_labels import badge, metrics_cell
from studylog.safe_text import visible
from studylog.store.history import RunDetail
from studylog.tui.screens.teammates import TeammatesDialog
from studylog.tui.widgets.metric_plot import MetricPlot

if TYPE_CHECKING:
    from studylog.sync.client import Target
    from studylog.sync.remote import RemoteCurves, RemoteRun

# Chosen in the list the first time it opens: the newest runs of each snippet.
DEFAULT_CHOSEN = 3


class CompareScreen(ModalScreen[None]):
    AUTO_FOCUS = "#compare-table"  # the plot (Tab) takes the zoom keys
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
        self.local_curves = dict(curves)  # your runs' curves, without remote ones
        self.remote: list[RemoteCurves] = []  # overlaid teammates' runs (not stored)

    def compose(self) -> ComposeResult:
        with Vertical(id="compare"):
            yield Static(f"Comparing {len(self.runs)} runs", id="compare-title")
            yield MetricPlot(id="compare-plot")
            yield DataTable(id="compare-table", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(MetricPlot).show(self.curves, "", **self._plot_sources())
        table = self.query_one(DataTable)
        table.add_columns("run", "snippet", "status", "seed", "took", "cost", "params", "final")
        self._fill_table()

    def _fill_table(self) -> None:
        """Your runs, then the overlaid remote ones (italic, marked remote)."""
        table = self.query_one(DataTable)
        table.clear()
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
                metrics_cell(s.final_metrics, limit=None),
            )
        for remote, label in zip(self.remote, self._labels(), strict=True):
            r = remote.run
            table.add_row(
                Text(visible(label), style="italic"),
                Text(visible(r.snippet)),
                Text(visible(f"{r.status} (remote)")),
                "" if r.seed is None else str(r.seed),
                duration_text(r.duration),
                Text(""),
                Text(""),
                metrics_cell(r.final_metrics, limit=None),
            )

    def _labels(self) -> list[str]:
        """How each overlaid run is named: snippet@member, with its start when one member
        has several runs of that snippet overlaid."""
        labels = [r.label for r in self.remote]
        labels = [
            f"{label} {r.run.started.replace('T', ' ')[:19]}" if labels.count(label) > 1 else label
            for label, r in zip(labels, self.remote, strict=True)
        ]
        # Started in the same second: numbered, so no curve hides another.
        return [
            f"{label} ({labels[:i].count(label) + 1})" if labels.count(label) > 1 else label
            for i, label in enumerate(labels)
        ]

    def action_teammates(self) -> None:
        """Choose which of the group's runs of these snippets to overlay: they are fetched
        from the MLflow server, then offered in a list (space toggles, enter overlays)."""
        self.notify("Asking the MLflow server for the group's runs…", title="Teammates' runs")
        self._fetch_teammates()

    @work(thread=True, group="teammates", exclusive=True, exit_on_error=False)
    def _fetch_teammates(self) -> None:
        from studylog.store.db import connect
        from studylog.store.sync_state import workspace_uuid
        from studylog.sync.client import SyncError, resolve_target
        from studylog.sync.remote import teammates_runs

        app = self.app
        workspace, settings = app.workspace, app.settings  # type: ignore[attr-defined]
        # Your code for each snippet: the newest compared run's (same_code in the list).
        my_code = {
            (r.summary.note_path, r.summary.snippet): r.summary.code_hash
            for r in sorted(self.runs, key=lambda r: r.summary.id)
        }
        try:
            target = resolve_target(None, settings.sync, workspace, for_what="fetch runs from")
            db = connect(workspace.db_path)
            try:
                uuid = workspace_uuid(db)
            finally:
                db.close()
            found = teammates_runs(target, uuid, list(my_code), my_code)
        except SyncError as exc:
            app.call_from_thread(
                self.notify, visible(str(exc)), title="Teammates' runs", severity="warning"
            )
            return
        app.call_from_thread(self._choose, found, target)

    def _choose(self, found: list[RemoteRun], target: Target) -> None:
        """Offer `found` to choose from: what is overlaid now is chosen, else (the first
        time) the newest DEFAULT_CHOSEN runs of each snippet."""
        if not self.is_attached:  # the comparison was closed while the server answered
            return
        if not found:
            names = ", ".join(sorted({s for _, s in self._snippets()}))
            self.notify(
                visible(f"No teammate has sent a run of {names} to {target.server} yet."),
                title="Teammates' runs",
            )
            return
        if self.remote:
            chosen = {r.run.mlflow_run_id for r in self.remote}
        else:
            per_snippet: dict[tuple[str, str], list[str]] = {}
            for run in found:  # newest first within each snippet
                per_snippet.setdefault((run.note, run.snippet), []).append(run.mlflow_run_id)
            chosen = {i for ids in per_snippet.values() for i in ids[:DEFAULT_CHOSEN]}

        def chosen_ids(ids: list[str] | None) -> None:
            if ids is not None:
                self._overlay_chosen(found, ids, target)

        self.app.push_screen(TeammatesDialog(found, chosen, target.server), chosen_ids)

    def _overlay_chosen(self, found: list[RemoteRun], ids: list[str], target: Target) -> None:
        have = {r.run.mlflow_run_id: r for r in self.remote}
        missing = [r for r in found if r.mlflow_run_id in ids and r.mlflow_run_id not in have]
        if missing:
            self._fetch_curves(missing, [have[i] for i in ids if i in have], ids, target)
        else:
            self._overlay([have[i] for i in ids], target.server)

    @work(thread=True, group="teammates", exclusive=True, exit_on_error=False)
    def _fetch_curves(
        self, runs: list[RemoteRun], kept: list[RemoteCurves], ids: list[str], target: Target
    ) -> None:
        from studylog.sync.client import SyncError
        from studylog.sync.remote import run_curves

        app = self.app
        try:
            fetched = run_curves(target, runs)
        except SyncError as exc:
            app.call_from_thread(
                self.notify, visible(str(exc)), title="Teammates' runs", severity="warning"
            )
            return
        by_id = {r.run.mlflow_run_id: r for r in [*kept, *fetched]}
        app.call_from_thread(self._overlay, [by_id[i] for i in ids if i in by_id], target.server)

    def _overlay(self, chosen: list[RemoteCurves], server: str) -> None:
        """Show exactly `chosen` beside your runs (none: your runs alone again)."""
        if not self.is_attached:
            return
        self.remote = chosen
        curves = dict(self.local_curves)
        for remote, label in zip(self.remote, self._labels(), strict=True):
            for name, points in remote.curves.items():
                curves[f"{label} · {name}"] = points
        self.curves = curves
        self._fill_table()
        shared = [
            f"{label} · {name}"
            for r, label in zip(self.remote, self._labels(), strict=True)
            for name in r.curves
        ]
        self.query_one(MetricPlot).show(self.curves, "", remote=shared, **self._plot_sources())
        title = f"Comparing {len(self.runs)} runs"
        if self.remote:
            title += f" + {len(self.remote)} remote (⇣, from {server})"
        self.query_one("#compare-title", Static).update(Text(visible(title)))

    def _plot_sources(self) -> dict[str, Any]:
        """The stored series behind the local curves (labelled as run_area's _compare does):
        zooming reads them again from the store."""
        workspace = getattr(self.app, "workspace", None)
        labels = {
            f"#{r.summary.id} {r.summary.snippet} · {m.name}": (r.summary.id, m.name)
            for r in self.runs
            for m in r.metrics
        }
        sources = {label: source for label, source in labels.items() if label in self.curves}
        return {"sources": sources, "store": workspace.db_path if workspace else None}

    def _snippets(self) -> list[tuple[str, str]]:
        return [(r.summary.note_path, r.summary.snippet) for r in self.runs]

    def action_export(self) -> None:
        """Every compared run's curves in one figure per metric group, as PNG files."""
        if self.export_dir is None:
            return
        ids = [r.summary.id for r in self.runs]
        self._save_pngs(self.export_dir, dict(self.curves), ids)

    @work(thread=True, group="compare-png", exit_on_error=False)
    def _save_pngs(
        self, export_dir: Path, curves: dict[str, list[tuple[int, float]]], ids: list[int]
    ) -> None:
        """Draw and write the figures off the UI thread (matplotlib takes a while)."""
        from studylog.export.collect import ExportError
        from studylog.export.files import prepare_out_dir, safe_name, write_file
        from studylog.export.plots import comparison_pngs

        written = []
        try:
            folder = prepare_out_dir(export_dir)
            for name, png in comparison_pngs(curves, ids).items():
                path = folder / safe_name(name)
                write_file(path, png)
                written.append(path)
        except (OSError, ExportError) as exc:  # a folder we cannot write, a full disk
            self.app.call_from_thread(
                self.notify, f"{export_dir}: {exc}", title="Save as PNG", severity="error"
            )
            return
        self.app.call_from_thread(
            self.notify, "\n".join(str(p) for p in written), title="Saved the comparison"
        )
