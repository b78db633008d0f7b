"""The run history of the selected snippet; runs can be marked for comparison (space)."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from studylog.labels import duration_text, started_text
from studylog.rich_labels import badge, metrics_cell
from studylog.store.history import RunSummary


class RunsTable(DataTable[object]):
    """Runs newest first; posts RunsTable.Chosen (Enter) and keeps the marked run ids."""

    BINDINGS = [Binding("space", "toggle_mark", "Mark", show=True)]

    class Chosen(Message):
        def __init__(self, run_id: int) -> None:
            super().__init__()
            self.run_id = run_id

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.runs: list[RunSummary] = []
        self.marked: set[int] = set()
        self.stale_hash: str | None = None  # code hash of the snippet now
        self._rows: list[tuple[str, tuple[object, ...]]] = []

    def on_mount(self) -> None:
        self.add_column("", key="mark", width=2)
        self.add_columns("run", "status", "started", "took", "seed", "final")

    def show(self, runs: list[RunSummary], current_hash: str | None) -> None:
        """The runs of one snippet. Marks stay when another snippet's runs are shown, so
        runs of several snippets (sgd, momentum, adam) can be compared."""
        self.runs, self.stale_hash = runs, current_hash
        rows: list[tuple[str, tuple[object, ...]]] = []
        for run in runs:
            status = badge(run.status)
            if current_hash is not None and run.code_hash != current_hash:
                status.append(" ≠", style="yellow")
            cells = (
                Text("●", style="bold magenta") if run.id in self.marked else "",
                f"#{run.id}",
                status,
                started_text(run.started, short=True),
                duration_text(run.duration),
                str(run.seed),
                metrics_cell(run.final_metrics),
            )
            rows.append((str(run.id), cells))
        # Shown again unchanged (the watcher's pass): kept, not rebuilt (see SnippetTable).
        if rows != self._rows:
            self._rows = rows
            self.clear()
            for key, row in rows:
                self.add_row(*row, key=key)

    @property
    def current(self) -> RunSummary | None:
        if 0 <= self.cursor_row < len(self.runs):
            return self.runs[self.cursor_row]
        return None

    def action_toggle_mark(self) -> None:
        run = self.current
        if run is None:
            return
        self.marked ^= {run.id}
        mark = Text("●", style="bold magenta") if run.id in self.marked else ""
        self.update_cell(str(run.id), "mark", mark)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if self.current is not None:
            self.post_message(self.Chosen(self.current.id))
