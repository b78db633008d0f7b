"""The area under the note: its snippets and their run history on the left, the status line,
the output and the curves on the right, and the runs themselves (in a worker, through the
runner: snippets run in child processes, never here). Mounted when a note with snippets
first opens, so the first screen paints without it."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from studylog.labels import duration_text, status_text
from studylog.rich_labels import live_status
from studylog.safe_text import visible
from studylog.tui.widgets.metric_plot import MetricPlot
from studylog.tui.widgets.run_log import RunLog
from studylog.tui.widgets.run_messages import (
    BatchOver,
    Ended,
    Loaded,
    OutputArrived,
    PointsArrived,
    QueueChanged,
    Refused,
    Started,
    Starting,
)
from studylog.tui.widgets.run_notices import (
    Notice,
    RunNotices,
    batch_summary,
    ended_notice,
    enqueued_notice,
)
from studylog.tui.widgets.runs_table import RunsTable
from studylog.tui.widgets.snippet_table import SnippetTable

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel
    from textual.timer import Timer

    from studylog.runner.events import MetricPoints
    from studylog.runner.session import RunView, SessionEvent, SnippetHistory
    from studylog.runner.snippets import SnippetState
    from studylog.store.queries import NoteDetail
    from studylog.tui.app import StudylogApp

# The clock of the elapsed time shown while a run goes (a snapshot test fixes it).
_clock = time.monotonic
# A run's first output line is drawn before the rest of the area is (its row, the status
# line, the curves, the history): those redraws wait for the line's paint, or this long.
FIRST_LINE_WAIT = 0.3


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
        self.plot = MetricPlot(id="plot", hide_when_empty=True)
        self.right = Vertical(id="run-right")
        self.detail: NoteDetail | None = None
        self.snippet: str | None = None  # the highlighted snippet
        # The snippet whose run the output panel shows live: set when a run starts, cleared
        # once the batch's final history is drawn (what the panel shows, not the session's
        # state: that is the session's, `RunSession.live`).
        self.live_run: str | None = None
        self.run_started = 0.0
        self.latest: dict[str, tuple[int, float]] = {}
        self._lines: list[str] = []  # output and points not yet drawn (see OutputArrived)
        self._points: list[MetricPoints] = []
        # A run is starting: until its first output line is painted (or FIRST_LINE_WAIT),
        # the area's other redraws wait here, one of each kind, in order.
        self._first_line_pending = False
        self._deferred: dict[str, Callable[[], object]] = {}
        self._first_line_timer: Timer | None = None
        self._log_title: str | None = None  # the output panel is emptied with the first line
        self._batch_over = False  # the batch ended: the next history read is its final one
        self._notices = RunNotices()  # the run notices shown

    @property
    def running(self) -> str | None:
        """A run's output is on screen live (None once its batch's end is drawn)."""
        return self.live_run

    def compose(self) -> ComposeResult:
        with Vertical(id="run-left"):
            yield self.snippets
            yield self.runs
        with self.right:
            yield self.status
            yield self.log_view
            yield self.plot

    def on_mount(self) -> None:
        self.snippets.border_title = "Snippets"
        self.runs.border_title = "Runs (space marks, v compares)"
        self.log_view.border_title = "Output"
        self.set_interval(0.2, self.draw_status)

    # -- what is shown -----------------------------------------------------------------

    def show_note(self, detail: NoteDetail) -> None:
        """Another note (or the same one re-read): its snippets, and no marks from before."""
        if self.detail is None or self.detail.summary.id != detail.summary.id:
            self.runs.marked.clear()
        # The snippet the table will highlight (the one highlighted before, if the note
        # has it, else the first): its history is read with the states, in one read.
        names = [snippet.name for snippet in detail.snippets]
        keep = self.snippets.selected
        self.detail, self.snippet = detail, None
        self._load(choose=keep if keep in names else next(iter(names), None))

    def refresh_snippets(self) -> None:
        """The snippets' badges again, and the chosen snippet's runs (the watch pass calls
        this: reading no snippet here would empty the runs table and its marks). Read in
        the session's store thread, drawn when it arrives (`Loaded`)."""
        self._load()

    def on_snippet_table_highlighted(self, event: SnippetTable.Highlighted) -> None:
        if event.name != self.snippet:  # another snippet: show its history and latest run
            self.snippet = event.name
            self.refresh_runs()

    def refresh_runs(self) -> None:
        self._load(snippets=False)

    def _draw_history(self, history: SnippetHistory | None, *, snippets: bool = True) -> None:
        if history is None:
            self.runs.show([], None)
            return
        if snippets:
            self._draw_snippets(history.states)
        if self.snippet is None:
            self.runs.show([], None)
            return
        self.runs.show(history.runs, history.current_hash)
        if self.live_run is None and history.latest is not None:
            self._draw_run(history.latest)
        elif self.live_run is None:
            self.log_view.show_text("", "", f"{self.snippet}: never run")
            self.plot.show({}, "press r to run")
            self._fit_plot()

    def _draw_snippets(self, states: list[SnippetState] | None = None) -> None:
        """The snippet rows: the store's states (the latest read) with the session's live
        status over them (running, queued N, how a run of this batch ended; no read)."""
        if self.detail is None:
            return
        self.snippets.show(
            self.snippets.states if states is None else states,
            self.app.run_session.live(self.detail.summary.path),
        )

    def on_runs_table_chosen(self, event: RunsTable.Chosen) -> None:
        if self.live_run is not None:
            self.notify("A run is going; its output stays on screen until it ends.")
            return
        self.show_run(event.run_id)

    @work(group="show-run", exclusive=True, exit_on_error=False)
    async def show_run(self, run_id: int) -> None:
        """One run's output and curves, read in the session's store thread."""
        try:
            view = await self.app.run_session.run_view(run_id)
        except sqlite3.Error as exc:
            self.app.report_error(exc)
            return
        if self.live_run is None:  # a run started meanwhile: its output stays
            self._draw_run(view)

    def _draw_run(self, view: RunView) -> None:
        s = view.run.summary
        title = f"#{s.id} {s.snippet} · {status_text(s.status)} · {duration_text(s.duration)}"
        self.log_view.show_text(view.run.stdout, view.run.stderr, title, s.cost.text())
        self.plot.show(
            view.curves,
            f"run #{s.id}",
            sources={name: (s.id, name) for name in view.curves},  # zoom reads them again
            store=self.app.workspace.db_path,
        )
        self._fit_plot()

    def _fit_plot(self) -> None:
        """No curve to draw: the plot is hidden and the output takes its rows."""
        self.right.set_class(not self.plot.display, "-no-plot")

    # -- running: keys go to the session, its events come back as messages --------------

    def run(self, names: list[str]) -> None:
        """Run these snippets of the note, one after the other; while a run goes they join
        the session's queue (those queued already stay where they are; R does not queue the
        running one again). The session says what became of them; this says it on screen."""
        if self.detail is None or not names:
            return
        outcome = self.app.run_session.enqueue(
            self.detail, names, on_event=self._on_session_event, skip_running=len(names) > 1
        )
        if outcome.starts:
            self._first_line_pending = True  # the queue's redraw waits for the first line
            if self.live_run is None:  # until the batch's end is drawn
                self.live_run = outcome.added[0].snippet
            self.run_snippets()
        notice = enqueued_notice(outcome)
        if notice is not None:
            self._notices.show(self.app, notice)

    def _run_notice(
        self, message: str, *, title: str = "", severity: SeverityLevel = "information"
    ) -> None:
        """A notice about the runs, in place of the one before it of its kind (news, or a
        failure) while that one is still on screen (`RunNotices`)."""
        self._notices.show(self.app, Notice(message, title, severity))

    def unqueue(self) -> None:
        """Take the highlighted snippet out of the queue."""
        if self.detail is None or self.snippet is None:
            return
        if self.app.run_session.remove(self.detail.summary.path, self.snippet):
            self._run_notice(f"{visible(self.snippet)} taken out of the queue.")
        else:
            self.notify(f"{visible(self.snippet)} is not queued.")

    def clear_queue(self) -> None:
        """Empty the queue; the run going now goes on (c cancels it)."""
        dropped = self.app.run_session.clear_queue()
        if dropped:
            self._run_notice(f"Queue cleared: {len(dropped)} snippets will not run.")
        else:
            self.notify("The queue is empty.")

    def cancel(self) -> None:
        if not self.app.run_session.cancel():
            self.notify("Nothing is running.")

    @work(group="run", exit_on_error=False)
    async def run_snippets(self) -> None:
        await self.app.run_session.drain(on_event=self._on_session_event)

    def _on_session_event(self, event: SessionEvent) -> None:
        """The session's events, as messages to this area (called on the app's loop)."""
        from studylog.runner.events import MetricPoints, OutputLine, RunFinished, RunStarted
        from studylog.runner.session import (
            BatchEnded,
            Dequeued,
            Queued,
            RunRefused,
            SnippetStarting,
        )

        if isinstance(event, OutputLine):
            self._lines.append(event.line)
            self.post_message(OutputArrived())
        elif isinstance(event, MetricPoints):
            self._points.append(event)
            self.post_message(PointsArrived())
        elif isinstance(event, SnippetStarting):
            self.post_message(Starting(event.snippet, event.note_path))
        elif isinstance(event, RunStarted):
            self.post_message(Started(event.run_id, event.snippet))
        elif isinstance(event, RunFinished):
            self.post_message(Ended(event))
        elif isinstance(event, RunRefused):
            self.post_message(Refused(event.snippet, event.message))
        elif isinstance(event, Queued | Dequeued):
            self.post_message(QueueChanged())
        elif isinstance(event, BatchEnded):
            self.post_message(BatchOver(event.finished, event.dropped))

    # -- a run's first line first ------------------------------------------------------

    def _after_first_line(self, kind: str, redraw: Callable[[], object]) -> None:
        """`redraw` now, or, while a starting run's first output line is not painted yet,
        once it is (one redraw of each kind: the latest)."""
        if self._first_line_pending:
            self._deferred.pop(kind, None)
            self._deferred[kind] = redraw
        else:
            redraw()

    def _first_line_done(self) -> None:
        """The first line is on screen (or FIRST_LINE_WAIT passed, or the run ended): the
        redraws that waited for it, in the order they were asked for."""
        if self._first_line_timer is not None:
            self._first_line_timer.stop()
            self._first_line_timer = None
        self._first_line_pending = False
        self._empty_log()
        deferred, self._deferred = self._deferred, {}
        for redraw in deferred.values():
            redraw()

    def _empty_log(self) -> None:
        """The output panel emptied for the run starting (once, with its first line)."""
        if self._log_title is not None:
            self.log_view.start(self._log_title)
            self._log_title = None

    def _redraw_queue(self) -> None:
        self._draw_snippets()
        self.draw_status()

    # -- the session's events ----------------------------------------------------------

    def on_run_area_queue_changed(self, _: QueueChanged) -> None:
        self._after_first_line("rows", self._redraw_queue)

    def on_run_area_starting(self, message: Starting) -> None:
        """A run starts: nothing is redrawn until its first output line is (the output panel
        is emptied then); its row, the status line, the curves and the history follow the
        line's paint (`_after_first_line`), so that the screen has nothing else to draw
        between the key and the line."""
        name = message.snippet
        self.live_run, self.run_started, self.latest = name, _clock(), {}
        self._log_title = f"{name} · running"
        self._first_line_pending = True
        if self._first_line_timer is not None:
            self._first_line_timer.stop()
        self._first_line_timer = self.set_timer(FIRST_LINE_WAIT, self._first_line_done)
        self._after_first_line("rows", self._redraw_queue)
        self._after_first_line("plot", lambda: self._show_live_plot(name))
        self._load()  # read now, in the store's thread; drawn after the first line

    def on_run_area_started(self, message: Started) -> None:
        title = f"#{message.run_id} {message.snippet} · running"
        if self._log_title is not None:
            self._log_title = title  # the panel is not emptied yet
        else:
            self.log_view.set_title(title)
        self._load()  # the new run, at the top of the history (drawn after the first line)

    def on_run_area_output_arrived(self, _: OutputArrived) -> None:
        lines, self._lines = self._lines, []
        if lines:
            self._empty_log()
        for line in lines:
            self.log_view.add_line(line)
        if self._first_line_pending and lines:
            self.log_view.draw()  # now, not on the next tick
            self.call_after_refresh(self._first_line_done)

    def on_run_area_points_arrived(self, _: PointsArrived) -> None:
        if self._first_line_pending:
            self._first_line_done()  # the curves are reset before their first points
        batches, self._points = self._points, []
        for points in batches:
            self.latest.update(points.latest())
            self.plot.extend(points.by_name())
        self._fit_plot()

    def _show_live_plot(self, name: str) -> None:
        """The running run's curves, empty until its first points (hidden until then)."""
        self.plot.show({}, f"{name} · live")
        self._fit_plot()

    def on_run_area_ended(self, message: Ended) -> None:
        self._first_line_done()
        self.log_view.draw()
        self._draw_snippets()  # the row reads how it ended (the session's live status)
        self._notices.show(self.app, ended_notice(message.finished))

    def on_run_area_refused(self, message: Refused) -> None:
        self._first_line_done()
        self.log_view.draw()
        self._run_notice(message.message, title="Cannot run", severity="error")

    def on_run_area_batch_over(self, message: BatchOver) -> None:
        self._first_line_done()
        if message.dropped or len(message.finished) > 1:
            self._run_notice(batch_summary(message.finished, message.dropped), title="Batch over")
        self._batch_over = True  # `live_run` stays set until the next history is drawn
        self._load()

    @work(group="run-history", exclusive=True, exit_on_error=False)
    async def _load(self, snippets: bool = True, choose: str | None = None) -> None:
        """The open note's snippet states and the chosen snippet's history (or that of
        `choose`, which becomes the chosen one when it is drawn), read in the session's
        store thread (never on the app's loop), drawn by `on_run_area_loaded`. A newer
        read cancels this one; the first read after a batch's end is its final one (it
        clears `running`), as is any newer read that replaces it."""
        detail, final = self.detail, self._batch_over
        snippet = self.snippet if choose is None else choose
        history = None
        if detail is not None:
            try:
                history = await self.app.run_session.history(detail, snippet)
            except sqlite3.Error as exc:
                self.app.report_error(exc)
        note_id = detail.summary.id if detail is not None else None
        self.post_message(
            Loaded(note_id, snippet, history, final, snippets, chosen=choose is not None)
        )

    def on_run_area_loaded(self, message: Loaded) -> None:
        if message.final and self._batch_over:
            self._batch_over = False
            self.live_run = None
            self.status.update("", layout=False)
        if self.detail is None or self.detail.summary.id != message.note_id:
            return  # another note opened meanwhile
        if message.chosen and self.snippet is None:
            self.snippet = message.snippet
        if message.snippet != self.snippet:
            return  # another snippet was chosen meanwhile: its own read follows
        if message.history is not None:
            history, snippets = message.history, message.snippets
            self._after_first_line(
                "history", lambda: self._draw_history(history, snippets=snippets)
            )

    def draw_status(self) -> None:
        """The status line of the run going now (elapsed time, the queue, latest metrics)."""
        session = self.app.run_session
        if self.live_run is None or self._first_line_pending:
            return
        queued = len(session.queue)
        elapsed = _clock() - self.run_started
        text = live_status(self.live_run, elapsed, self.latest, metrics=3, queued=queued, hint="")
        # The keys, as far as the line has room (the run and the queue come first).
        room = self.status.content_size.width - text.cell_len
        for hint in ("   c cancels · X clears" if queued else "", "   c cancels"):
            if hint and len(hint) <= room:
                text.append(hint, style="dim")
                break
        self.status.update(text, layout=False)  # one line high, as wide as the panel

    # -- comparison --------------------------------------------------------------------

    def compare(self) -> None:
        """The marked runs' curves overlaid, in a screen of their own."""
        marked = sorted(self.runs.marked)
        if len(marked) < 2:
            self.notify("Mark two or more runs with space (in the runs table), then press v.")
            return
        self._compare(marked)

    @work(group="compare", exclusive=True, exit_on_error=False)
    async def _compare(self, marked: list[int]) -> None:
        from studylog.tui.screens.compare import CompareScreen

        views = await self.app.run_session.run_views(marked)
        curves: dict[str, list[tuple[int, float]]] = {}
        for view in views:
            s = view.run.summary
            for name, points in view.curves.items():
                curves[f"#{s.id} {s.snippet} · {name}"] = points
        runs = [view.run for view in views]
        self.app.push_screen(CompareScreen(runs, curves, self.app.workspace.root / "exports"))
