"""The review screen (L): the due cards one at a time — the question, space for the answer
(markdown), then 1 again, 2 hard, 3 good, 4 easy; FSRS sets the next time. An answer that
holds a snippet offers r: it runs through the app's run session (a child process, kept in
the history) and its output shows under the answer."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Markdown, Static
from textual.worker import Worker, WorkerState

from studylog.safe_text import visible as clean
from studylog.store.review import CardGone, DueCard, due_cards, rate, sync_cards
from studylog.tui.widgets.note_tree import NoteTree
from studylog.tui.widgets.note_view import display_markdown

if TYPE_CHECKING:
    from studylog.notes.model import Snippet
    from studylog.runner.session import SessionEvent
    from studylog.store.queries import NoteDetail
    from studylog.tui.app import StudylogApp

# The output kept under an answer: the last lines of the run.
OUTPUT_LINES = 200


def answer_snippets(card: DueCard, detail: NoteDetail) -> list[Snippet]:
    """The note's snippets that are part of the card's answer: a fence whose code is in it,
    or a linked file it names."""
    found = []
    for snippet in detail.snippets:
        if snippet.code is not None:
            if snippet.code.strip() and snippet.code.strip() in card.answer:
                found.append(snippet)
        elif snippet.path is not None and PurePosixPath(snippet.path).name in card.answer:
            found.append(snippet)
    return found


@dataclass
class AnswerRun:
    """The run of an answer's snippets: its output and how it ended."""

    card_id: int
    lines: list[str]
    status: str = "running"
    run_ids: list[int] | None = None


def _rate_card(path: Path, card_id: int, rating: int) -> str:
    """Rate a card on a connection of this thread's own; its next due time."""
    from studylog.store.db import connect

    db = connect(path)
    try:
        return rate(db, card_id, rating)
    finally:
        db.close()


async def _refresh_due(trees: list[NoteTree], pending: list[asyncio.Future[str]]) -> None:
    await asyncio.gather(*pending, return_exceptions=True)  # told already, by `_told`
    for tree in trees:
        tree.refresh_due()


class ReviewScreen(Screen[None]):
    BINDINGS = [
        Binding("space,enter", "reveal", "Answer"),
        Binding("1", "rate(1)", "Again"),
        Binding("2", "rate(2)", "Hard"),
        Binding("3", "rate(3)", "Good"),
        Binding("4", "rate(4)", "Easy"),
        Binding("r", "run_snippet", "Run"),
        Binding("escape,L", "close", "Back"),
    ]
    DEFAULT_CSS = """
    ReviewScreen #review-card { height: 1fr; padding: 1 2; }
    ReviewScreen #review-question { padding-bottom: 1; }
    ReviewScreen #review-answer { display: none; border-top: hkey $primary-background; }
    ReviewScreen.revealed #review-answer { display: block; }
    ReviewScreen #review-run { display: none; padding: 1 0 0 0; }
    ReviewScreen.revealed #review-run.-shown { display: block; }
    ReviewScreen #review-status { height: 1; padding: 0 1; color: $text-muted; }
    """

    app: StudylogApp

    def __init__(self) -> None:
        super().__init__()
        self.cards: list[DueCard] | None = None  # None: still loading
        self.reviewed = 0
        self.answer_run: AnswerRun | None = None  # the run of the card shown, if any
        self._rates: list[asyncio.Future[str]] = []  # ratings being written, in a thread

    class RunChanged(Message):
        """The answer's run has new output or ended."""

    @property
    def card(self) -> DueCard | None:
        return self.cards[0] if self.cards else None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="review-card"):
            yield Static("Reading the cards…", id="review-question")
            yield Markdown("", id="review-answer", open_links=False)
            yield Static("", id="review-run")
        yield Static("", id="review-status")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Review"
        self.load()

    @work(thread=True, group="review", exclusive=True, exit_on_error=False)
    def load(self) -> tuple[list[DueCard], list[str]]:
        """Index, bring the cards in step with the notes, and list the due ones (in a thread,
        on a connection of its own)."""
        from studylog.store.db import connect

        self.app.store.refresh_index()
        db = connect(self.app.workspace.db_path)
        try:
            report = sync_cards(db, self.app.workspace)
            return due_cards(db), report.warnings or []
        finally:
            db.close()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "review-run" and event.state == WorkerState.ERROR:
            self.app.report_error(event.worker.error)
            if self.answer_run is not None and self.answer_run.status == "running":
                self._end_run(self.answer_run, f"failed: {event.worker.error}")
            return
        if event.worker.group != "review":
            return
        if event.state == WorkerState.SUCCESS:
            cards, warnings = event.worker.result  # type: ignore[misc]
            for warning in warnings[:5]:
                self.notify(clean(warning), title="Cards", severity="warning")
            self.cards = cards
            self.show_card()
        elif event.state == WorkerState.ERROR:
            self.app.report_error(event.worker.error)

    def show_card(self) -> None:
        self.remove_class("revealed")
        card = self.card
        question = self.query_one("#review-question", Static)
        status = self.query_one("#review-status", Static)
        if card is None:
            question.update(
                Text(f"Nothing due. Reviewed {self.reviewed} today. Esc goes back.", style="bold")
            )
            status.update("")
            return
        text = Text(clean(card.question), style="bold")
        place = self.app.workspace.label(card.path)
        text.append(f"\n\n{clean(place)}:{card.line}", style="dim")
        question.update(text)
        self.query_one("#review-answer", Markdown).update(display_markdown(clean(card.answer)))
        if (
            self.answer_run is not None
            and self.answer_run.card_id != card.id
            and self.answer_run.status != "running"
        ):
            self.answer_run = None
        self._show_run()
        left = len(self.cards or [])
        run = " · r runs its snippet" if "```" in card.answer or "](" in card.answer else ""
        status.update(f"{left} due · space shows the answer · 1 again 2 hard 3 good 4 easy{run}")

    def action_reveal(self) -> None:
        if self.card is not None:
            self.add_class("revealed")

    def action_rate(self, rating: int) -> None:
        card = self.card
        if card is None or self.cards is None:
            return
        if not self.has_class("revealed"):
            self.notify("Space shows the answer first.")
            return
        # Written in a thread, on a connection of its own (never on the UI loop); the next
        # card shows at once, and the rating's outcome is told when it is written.
        written = asyncio.get_running_loop().run_in_executor(
            None, _rate_card, self.app.workspace.db_path, card.id, rating
        )
        self._rates.append(written)
        self._told(written)
        self.cards.pop(0)
        self.show_card()

    @work(group="review-rate", exit_on_error=False)
    async def _told(self, written: asyncio.Future[str]) -> None:
        try:
            due = await asyncio.shield(written)  # the write goes on if the screen closes
        except CardGone as exc:
            self.notify(str(exc), severity="warning")
            return
        except sqlite3.Error as exc:
            self.app.report_error(exc)
            return
        self.reviewed += 1
        self.notify(f"Next time: {due} UTC", timeout=2)

    def action_close(self) -> None:
        if self.answer_run is not None and self.answer_run.status == "running":
            self.app.run_session.stop()  # recorded as cancelled, the rest never starts
        self.dismiss(None)
        trees = [tree for screen in self.app.screen_stack for tree in screen.query(NoteTree)]
        pending = [written for written in self._rates if not written.done()]
        # The tree's due marks, after the session's ratings are written (in the app's
        # worker: this screen's own end with it).
        self.app.run_worker(_refresh_due(trees, pending), group="due-after-review")

    # -- an answer's snippet -----------------------------------------------------------

    def action_run_snippet(self) -> None:
        card = self.card
        if card is None:
            return
        if not self.has_class("revealed"):
            self.notify("Space shows the answer first.")
            return
        if self.app.run_session.busy:
            self.notify("A run is already going; wait for it to end.", severity="warning")
            return
        self.answer_run = AnswerRun(card.id, [])
        self._show_run()
        self.run_answer(card)

    @work(group="review-run", exit_on_error=False)
    async def run_answer(self, card: DueCard) -> None:
        """Find the answer's snippets in its note (in the session's store thread) and run
        them through the app's run session: child processes, recorded in the history."""
        from studylog.store.queries import NoteNotFound, get_note

        run = self.answer_run
        assert run is not None
        session = self.app.run_session
        try:
            detail = await session.store.call(lambda db: get_note(db, card.path))
        except NoteNotFound as exc:
            self._end_run(run, f"cannot run: {exc}")
            return
        snippets = answer_snippets(card, detail)
        if not snippets:
            self._end_run(run, "no snippet in this answer")
            return
        finished = await session.run(detail, snippets, on_event=self._on_session_event)
        run.run_ids = [f.run_id for f in finished]
        if run.status == "running":
            statuses = [f.status for f in finished] or ["not run"]
            self._end_run(run, ", ".join(statuses))

    def _end_run(self, run: AnswerRun, status: str) -> None:
        run.status = status
        self.post_message(self.RunChanged())

    def _on_session_event(self, event: SessionEvent) -> None:
        from studylog.runner.events import OutputLine
        from studylog.runner.session import RunRefused

        run = self.answer_run
        if run is None:
            return
        if isinstance(event, OutputLine):
            run.lines.append(event.line.rstrip("\r\n"))
            del run.lines[:-OUTPUT_LINES]
        elif isinstance(event, RunRefused):
            run.lines.append(f"{event.snippet}: {event.message}")
        else:
            return
        self.post_message(self.RunChanged())

    def on_review_screen_run_changed(self, message: RunChanged) -> None:
        message.stop()
        self._show_run()

    def _show_run(self) -> None:
        area = self.query_one("#review-run", Static)
        run = self.answer_run
        card = self.card
        if run is None or card is None or run.card_id != card.id:
            area.remove_class("-shown")
            area.update("")
            return
        text = Text()
        for line in run.lines:
            text.append(clean(line) + "\n")
        style = (
            "yellow"
            if run.status == "running"
            else ("green" if run.status == "succeeded" else "red")
        )
        text.append(f"▶ {clean(run.status)}", style=f"bold {style}")
        area.update(text)
        area.add_class("-shown")
