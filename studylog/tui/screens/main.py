"""The main screen: notes on the left (tree or search), the open note on the right, and
under it the run area (widgets/run_area.py: snippets, runs, output, curves)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Header, Input
from textual.worker import Worker, WorkerState

from studylog.labels import plural
from studylog.notes.model import Section
from studylog.store.queries import NoteDetail, NoteNotFound, NoteSummary
from studylog.tui.widgets.note_tree import NoteTree
from studylog.tui.widgets.note_view import NoteView
from studylog.tui.widgets.search_panel import SearchPanel

# The run area, and what it imports, comes with the first note that has snippets: the
# first screen paints sooner (benchmarks/bench_tui.py).

if TYPE_CHECKING:
    from studylog.notes.blocks import Block
    from studylog.tui.app import NoteIndex, StudylogApp
    from studylog.tui.widgets.run_area import RunArea

# How often the notes folder is checked for changes (an incremental index: cheap).
WATCH_SECONDS = 2.0


class MainScreen(Screen[None]):
    BINDINGS = [
        Binding("slash", "search", "Search"),
        Binding("r", "run", "Run"),
        Binding("R", "run_all", "Run all", show=False),
        Binding("c", "cancel", "Cancel", show=False),
        Binding("x", "unqueue", "Unqueue", show=False),
        Binding("X", "clear_queue", "Clear queue", show=False),
        Binding("g", "outline", "Outline", show=False),
        Binding("o", "edit", "Edit"),
        Binding("b", "toggle_sidebar", "Sidebar"),
        Binding("m", "maximize_panel", "Max"),
        Binding("t", "toggle_tree", "Topic/Date", show=False),
        Binding("s", "focus_snippets", "Snippets", show=False),
        Binding("u", "focus_runs", "Runs", show=False),
        Binding("v", "compare", "Compare", show=False),
        Binding("e", "export", "Export", show=False),
        Binding("n", "new_note", "New note", show=False),  # in the palette: screens/daily.py
        Binding("T", "todos", "To-dos", show=False),
        Binding("L", "review", "Review", show=False),
        Binding("C", "calendar", "Calendar", show=False),
        Binding("escape", "close_search", "Back", show=False),
    ]
    # Narrow: the sidebar hides itself (b shows it); medium: a slimmer sidebar; short: the
    # run area gives its rows to the output and the curve (app.tcss).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-medium"), (140, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]
    # What the palette offers beside the footer's keys (app.py).
    PALETTE_KEYS = ("g", "R", "t", "s", "u", "c", "x", "X", "v", "e")

    app: StudylogApp

    def __init__(self) -> None:
        super().__init__()
        self.notes: list[NoteSummary] = []
        self.detail: NoteDetail | None = None
        self.run_area: RunArea | None = None  # mounted with the first note that has snippets
        self._chooser: Widget | None = None  # what had the focus when a note was chosen

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="body"):
            with Vertical(id="sidebar"):
                yield SearchPanel(id="search", place=self.app.workspace.label)
                yield NoteTree(id="tree")
            with Vertical(id="main"):
                yield NoteView(id="note")
        yield Footer()

    def on_mount(self) -> None:
        tree = self.query_one(NoteTree)
        tree.mode = self.app.ui_state.tree_mode
        tree.focus()
        self.add_class("-show-sidebar")  # shown, even when narrow, until a note is open
        self.load_notes()
        self.set_interval(WATCH_SECONDS, self.watch_notes)

    # -- notes -------------------------------------------------------------------------

    @work(thread=True, group="index", exclusive=True, exit_on_error=False)
    def load_notes(self) -> list[NoteSummary]:
        """Index what changed (in a thread, on a connection of its own) and list the notes."""
        return self.app.store.refresh_index()

    def watch_notes(self) -> None:
        if not any(w.group == "index" and w.is_running for w in self.workers):
            self.load_notes()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == "index" and event.state == WorkerState.SUCCESS:
            self._notes_loaded(worker.result)  # type: ignore[arg-type]
        elif event.state == WorkerState.ERROR:
            self.app.report_error(worker.error)

    def _notes_loaded(self, notes: list[NoteSummary]) -> None:
        """A pass of the watcher: redraw only what changed, so a past run the user is
        looking at stays on screen."""
        first = not self.notes
        tree = self.query_one(NoteTree)
        if first or _signature(notes) != _signature(self.notes):
            tree.load(notes)
        tree.refresh_due()  # cards come due with the clock: counted each pass
        old = {n.path: n for n in self.notes}
        self.notes = notes
        last = self.app.ui_state.last_note
        if first and last and self.detail is None and any(n.path == last for n in notes):
            self.query_one(NoteTree).select_path(last)  # where the last session left off
            self.open_note(last, quiet=True)
        elif self.detail is not None:
            path = self.detail.summary.path
            view = self.query_one(NoteView)
            if not any(n.path == path for n in notes):
                if not view.gone:
                    view.mark_gone()
                    self.notify(
                        f"{self.app.workspace.label(path)} was removed or moved.",
                        severity="warning",
                    )
            else:
                self._check_open_note(path, first or path not in old)

    @work(thread=True, group="check-open", exclusive=True, exit_on_error=False)
    def _check_open_note(self, path: str, force: bool) -> None:
        """The open note re-read from the store (in a thread): shown again (in place) when its
        text, to-dos, snippets or outline changed; the snippets' badges follow their code
        (≠ stale)."""
        try:
            now = self.app.store.read_note(path)
        except NoteNotFound:
            return
        self.app.call_from_thread(self._open_note_read, now, force)

    def _open_note_read(self, now: NoteDetail, force: bool) -> None:
        if self.detail is None or self.detail.summary.path != now.summary.path:
            return  # another note was opened meanwhile
        if force or _content(now) != _content(self.detail):
            self.open_note(now.summary.path, quiet=True, keep_place=True, detail=now)
        elif self.run_area is not None and self.run_area.display and self.running is None:
            self.run_area.refresh_snippets()

    @on(NoteTree.Chosen)
    @on(SearchPanel.Chosen)
    def _chosen(self, event: NoteTree.Chosen | SearchPanel.Chosen) -> None:
        """Open the chosen note. What the user waits for is the note: the focus (a new
        footer: a layout of the screen), the tree's cursor and the sidebar's class wait for
        its first paint (`_after_open`), unless narrow (the sidebar hides: the note is laid
        out at its own width, and the focus leaves what is hidden)."""
        self._chooser = self.focused
        narrow = self.has_class("-narrow")
        if narrow:
            search = isinstance(event, SearchPanel.Chosen)
            self._after_open(event.path, narrow=True, search=search)
        if isinstance(event, SearchPanel.Chosen):
            self.open_note(event.path, reveal=event.words, chosen=not narrow)
        else:
            self.open_note(event.path, chosen=not narrow)

    def _after_open(self, path: str, *, narrow: bool, search: bool) -> None:
        """What choosing a note changes beside the note: the sidebar's class (narrow: the
        note gets the width), the tree's cursor (for a search hit) and the focus."""
        # -show-sidebar matters only when narrow (app.tcss): elsewhere a style update of
        # the whole screen for it would change nothing on screen.
        self.set_class(False, "-show-sidebar", update=narrow)
        if search:
            self.query_one(NoteTree).select_path(path)
        # The focus leaves what the note was chosen in; one the user moved elsewhere while
        # the note was read (/ to search again) stays where it is.
        if self.focused is None or self.focused is self._chooser:
            self.query_one(NoteView).focus()

    @work(group="open", exclusive=True, exit_on_error=False)
    async def open_note(
        self,
        path: str,
        quiet: bool = False,
        keep_place: bool = False,
        reveal: list[str] | None = None,
        detail: NoteDetail | None = None,
        chosen: bool = False,
    ) -> None:
        """Show the note at `path` (read in a thread unless its `detail` was just read);
        `chosen` by the user: the focus follows once the note is painted. A search hit in
        the note shown now is revealed in it as it is (its open sections and its place
        kept), not shown again."""
        began = time.perf_counter()
        view = self.query_one(NoteView)
        if (
            reveal
            and not keep_place
            and view.detail is not None
            and view.detail.summary.path == path
            and self.detail is view.detail
        ):
            if chosen:
                self._after_open(path, narrow=False, search=True)
            self.run_worker(view.reveal(reveal), group="reveal", exclusive=True)
            return
        blocks: list[Block] | None = None
        if detail is None:
            try:
                read, blocks = await asyncio.to_thread(_read_for_view, self.app.store, path)
            except NoteNotFound:
                if not quiet:
                    self.notify(
                        f"{self.app.workspace.label(path)} is no longer there", severity="warning"
                    )
                return
            detail = read
        same = self.detail is not None and self.detail.summary.path == path
        self.detail = detail
        if not keep_place and self.has_class("-narrow"):
            self.remove_class("-show-sidebar")
            sidebar = self.query_one("#sidebar")
            if self.focused is not None and sidebar in self.focused.ancestors_with_self:
                self.query_one(NoteView).focus()
        await view.show(detail, keep_place=keep_place and same, blocks=blocks, began=began)
        if chosen:  # the note is painted: the rest on the next turn of the loop
            self.call_later(self._after_open, path, narrow=False, search=bool(reveal))
        if reveal:
            self.run_worker(view.reveal(reveal), group="reveal", exclusive=True)
        self.app.ui_state.last_note = path
        self.app.save_state()
        if not detail.summary.readable:
            self.notify(
                f"{self.app.workspace.label(path)} could not be read: "
                + "; ".join(detail.summary.warnings),
                title="Unreadable note",
                severity="error",
            )
        await self._show_run_area(bool(detail.snippets))
        if self.run_area is not None:
            self.run_area.show_note(detail)

    # -- snippets and runs -------------------------------------------------------------

    async def _show_run_area(self, show: bool) -> None:
        if show and self.run_area is None:
            from studylog.tui.widgets.run_area import RunArea

            self.run_area = RunArea(id="run-area")
            await self.query_one("#main").mount(self.run_area)
        if self.run_area is not None:
            self.run_area.display = show

    @property
    def snippet(self) -> str | None:
        """The highlighted snippet of the open note."""
        return self.run_area.snippet if self.run_area is not None else None

    @property
    def running(self) -> str | None:
        """The snippet running now."""
        return self.run_area.running if self.run_area is not None else None

    def action_run(self) -> None:
        if self.run_area is not None and self.run_area.display and self.snippet is not None:
            self.run_area.run([self.snippet])
        else:
            self.notify("This note has no snippet to run.", severity="warning")

    def action_run_all(self) -> None:
        if self.run_area is not None and self.detail is not None and self.detail.snippets:
            self.run_area.run([s.name for s in self.detail.snippets])
        else:
            self.notify("This note has no snippets to run.", severity="warning")

    def action_cancel(self) -> None:
        if self.run_area is not None:
            self.run_area.cancel()
        else:
            self.notify("Nothing is running.")

    def action_unqueue(self) -> None:
        if self.run_area is not None and self.run_area.display:
            self.run_area.unqueue()

    def action_clear_queue(self) -> None:
        if self.run_area is not None:
            self.run_area.clear_queue()

    def action_compare(self) -> None:
        if self.run_area is not None and self.run_area.display:
            self.run_area.compare()
        else:
            self.notify("Open a note with snippets, mark two or more runs (space), then v.")

    # -- outline, export, search, tree, editor -----------------------------------------

    def action_outline(self) -> None:
        from studylog.tui.screens.outline import OutlineScreen

        if self.detail is None or not self.detail.sections:
            self.notify("This note has no headings or sections.")
            return

        def jump(section: Section | None) -> None:
            if section is not None:
                self.run_worker(self.query_one(NoteView).jump_to(section), group="jump")

        self.app.push_screen(OutlineScreen(self.detail), jump)

    def action_export(self) -> None:
        from studylog.tui.screens.export import ExportScreen

        if self.detail is None:
            self.notify("Choose a note to export first.")
            return
        detail = self.detail

        def chosen(choice: tuple[str, Path] | None) -> None:
            if choice is not None:
                self.export_note(detail.summary.path, *choice)

        default = self.app.workspace.root / "exports"
        self.app.push_screen(ExportScreen(detail.summary.title, default), chosen)

    @work(thread=True, group="export", exit_on_error=False)
    def export_note(self, path: str, fmt: str, folder: Path) -> None:
        """Export in a thread, on a connection of its own; say where the files went."""
        from studylog.export.collect import ExportError
        from studylog.export.exporter import export_notes
        from studylog.store.db import connect

        db = connect(self.app.workspace.db_path)
        try:
            report = export_notes(db, self.app.workspace, [path], fmt, folder)  # type: ignore[arg-type]
        except ExportError as exc:
            self.app.call_from_thread(self.notify, str(exc), title="Export", severity="error")
            return
        finally:
            db.close()
        for problem in report.failed + report.warnings:
            self.app.call_from_thread(self.notify, problem, title="Export", severity="warning")
        if report.files:
            where = report.files[0]
            self.app.call_from_thread(
                self.notify,
                f"{len(report.files)} {plural(len(report.files), 'file')}, the note at {where}",
                title="Exported",
            )

    def action_search(self) -> None:
        if self.has_class("-hide-sidebar") or self.has_class("-narrow"):
            self._set_sidebar(True)
        self.query_one("#search-input", Input).focus()

    def action_close_search(self) -> None:
        search_input = self.query_one("#search-input", Input)
        if search_input.value:
            search_input.value = ""
        self.query_one(NoteTree).focus()

    @on(SearchPanel.Changed)
    def _search_changed(self, event: SearchPanel.Changed) -> None:
        self.run_search(event.query)

    @work(group="search", exclusive=True, exit_on_error=False)
    async def run_search(self, query: str) -> None:
        await asyncio.sleep(0.05)  # typing goes on: only the last query of a burst runs
        hits = await asyncio.to_thread(self.app.store.search, query) if query.strip() else []
        panel = self.query_one(SearchPanel)
        panel.show_hits(query, hits)
        panel.set_class(bool(query.strip()), "searching")

    def action_toggle_tree(self) -> None:
        tree = self.query_one(NoteTree)
        mode = "date" if tree.mode == "topic" else "topic"
        tree.load(self.notes, mode)
        self.app.ui_state.tree_mode = mode
        self.app.save_state()

    def action_new_note(self) -> None:
        from studylog.tui.screens import daily

        daily.new_note(self)

    def action_todos(self) -> None:
        from studylog.tui.screens import daily

        daily.open_todos(self)

    def action_review(self) -> None:
        from studylog.tui.screens import daily

        daily.open_review(self)

    def action_calendar(self) -> None:
        from studylog.tui.screens import daily

        daily.open_calendar(self)

    def action_edit(self) -> None:
        if self.detail is None:
            self.notify("Choose a note first.")
            return
        error = self.app.edit(self.app.workspace.notes_dir / self.detail.summary.path)
        if error:
            self.notify(error, title="Editor", severity="error", timeout=10)
        self.refresh(layout=True)  # the screen as it was, whatever the editor left on it
        self.load_notes()

    # -- panels ------------------------------------------------------------------------

    def _set_sidebar(self, shown: bool) -> None:
        self.set_class(shown, "-show-sidebar")
        self.set_class(not shown, "-hide-sidebar")

    def action_toggle_sidebar(self) -> None:
        sidebar = self.query_one("#sidebar")
        shown = sidebar.display and not self.has_class("-hide-sidebar")
        if self.has_class("-narrow") and not self.has_class("-show-sidebar"):
            shown = False
        self._set_sidebar(not shown)
        if not shown:
            self.query_one(NoteTree).focus()
        elif self.focused is not None and sidebar in self.focused.ancestors_with_self:
            self.query_one(NoteView).focus()

    def action_maximize_panel(self) -> None:
        """The focused panel fills the screen (the run area as a whole when the focus is in
        it, so the output and the curve stay together); again (or Escape) to restore."""
        if self.maximized is not None:
            self.minimize()
            return
        focused = self.focused or self.query_one(NoteView)
        target: Widget = focused
        if self.run_area is not None and self.run_area in focused.ancestors:
            target = self.run_area
        self.maximized = target

    def action_focus_snippets(self) -> None:
        if self.run_area is None or not self.run_area.display:
            self.notify("This note has no snippets.")
            return
        self.run_area.query_one("#snippets").focus()

    def action_focus_runs(self) -> None:
        if self.run_area is None or not self.run_area.display:
            self.notify("This note has no snippets, so no runs.")
            return
        self.run_area.query_one("#runs").focus()

    def on_key(self, event: events.Key) -> None:
        # A search's highlights stay until the next key.
        view = self.query_one(NoteView)
        if view.highlighting:
            view.clear_highlight()


def _read_for_view(store: NoteIndex, path: str) -> tuple[NoteDetail, list[Block] | None]:
    """The note and, when readable, its blocks as the view shows them: cut in the reading
    thread, where the UI loop waits for the read anyway, not after it (1 ms of a 6 KB
    note's open)."""
    from studylog.notes.blocks import split_blocks  # the parser: not before the first paint

    detail = store.read_note(path)
    return detail, split_blocks(detail.body) if detail.summary.readable else None


def _content(detail: NoteDetail) -> tuple[object, ...]:
    """What the note view and the run area show of a note: a change here means a redraw."""
    return (detail.body, detail.todos, detail.snippets, detail.sections, detail.summary)


def _signature(notes: list[NoteSummary]) -> list[tuple[object, ...]]:
    """What the tree and the note view show of each note: a change here means a redraw."""
    return [
        (n.path, n.title, n.date, n.topic, n.warnings, n.snippet_count, n.tags, n.lectures)
        for n in notes
    ]
