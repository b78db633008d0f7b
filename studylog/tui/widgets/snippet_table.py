"""The snippets of the open note, each with the badge of its latest run, or where it stands
in the run queue (running, queued 2, or how the run of this batch just ended)."""

from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from studylog.labels import metrics_text
from studylog.rich_labels import badge
from studylog.runner.session import IDLE, LiveStatus
from studylog.runner.snippets import SnippetState
from studylog.safe_text import visible


class SnippetTable(DataTable[object]):
    """One row a snippet; posts SnippetTable.Highlighted with the snippet's name."""

    class Highlighted(Message):
        def __init__(self, name: str | None) -> None:
            super().__init__()
            self.name = name

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.states: list[SnippetState] = []
        self.live = IDLE
        self._rows: list[tuple[str, tuple[Text, ...]]] = []

    def on_mount(self) -> None:
        self.add_columns("snippet", "status", "from", "last result")

    def show(self, states: list[SnippetState], live: LiveStatus = IDLE) -> None:
        """One row a snippet. Its status, from the session's `live` status over the store's
        `states`: running, else its place in the queue (from 1), else how its run in this
        batch ended, else its latest run's."""
        keep = self.selected
        self.states, self.live = states, live
        rows: list[tuple[str, tuple[Text, ...]]] = []
        for state in states:
            name = state.snippet.name
            if name == live.running:
                status = badge("running")
            elif name in live.queued:
                status = Text(f"◦ queued {live.queued[name]}", style="cyan")
            else:
                status = badge(live.ended.get(name, state.badge))
            last = ""
            if state.problem:
                last = state.problem
            elif state.latest is not None:
                last = metrics_text(state.latest.final_metrics) or (state.latest.last_error or "")
            source = (
                state.snippet.path.rsplit("/", 1)[-1]
                if state.snippet.path
                else (f"line {state.snippet.line}")
            )
            # Text cells: a str cell would be read as markup (a name `x[/]` would crash).
            cells = (Text(visible(state.snippet.name)), status, Text(visible(source)))
            rows.append((name, (*cells, Text(visible(last)))))
        # The watcher asks again every pass: rows rebuilt unchanged would be drawn for a
        # frame before their columns are measured again (narrow, cut), so they are kept.
        if rows != self._rows:
            self._rows = rows
            self.clear()
            for key, row in rows:
                self.add_row(*row, key=key)
        if keep is not None and keep in [s.snippet.name for s in states]:
            self.move_cursor(row=[s.snippet.name for s in states].index(keep))
        self.post_message(self.Highlighted(self.selected))

    @property
    def selected(self) -> str | None:
        if not self.states or self.cursor_row >= len(self.states) or self.cursor_row < 0:
            return None
        return self.states[self.cursor_row].snippet.name

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self.post_message(self.Highlighted(self.selected))
