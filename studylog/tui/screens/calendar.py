"""The calendar (C): notes and runs per day as a heat map, the streak, and per topic the
notes, runs and cards due."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static
from textual.worker import Worker, WorkerState

from studylog.store.stats import Stats

if TYPE_CHECKING:
    from studylog.tui.app import StudylogApp

WEEKS = 26


class CalendarScreen(Screen[None]):
    BINDINGS = [Binding("escape,C", "close", "Back")]
    DEFAULT_CSS = """
    CalendarScreen #calendar { height: 1fr; padding: 1 2; }
    """

    app: StudylogApp

    def __init__(self) -> None:
        super().__init__()
        self.stats: Stats | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll():
            yield Static("Counting the days…", id="calendar")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Calendar"
        self.load()

    @work(thread=True, group="calendar", exclusive=True, exit_on_error=False)
    def load(self) -> Stats:
        """Index, bring the cards in step, count (in a thread, on a connection of its own)."""
        from studylog.store.db import connect
        from studylog.store.review import sync_cards
        from studylog.store.stats import collect_stats

        self.app.store.refresh_index()
        db = connect(self.app.workspace.db_path)
        try:
            sync_cards(db, self.app.workspace)
            return collect_stats(db)
        finally:
            db.close()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "calendar":
            return
        if event.state == WorkerState.SUCCESS:
            from studylog.daily_views import stats_view

            self.stats = event.worker.result
            assert self.stats is not None
            self.query_one("#calendar", Static).update(stats_view(self.stats, WEEKS))
        elif event.state == WorkerState.ERROR:
            self.app.report_error(event.worker.error)

    def action_close(self) -> None:
        self.dismiss(None)
