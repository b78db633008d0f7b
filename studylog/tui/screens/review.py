"""The review screen (L): the due cards one at a time — the question, space for the answer
(markdown), then 1 again, 2 hard, 3 good, 4 easy; FSRS sets the next time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Markdown, Static
from textual.worker import Worker, WorkerState

from studylog.safe_text import visible as clean
from studylog.store.review import CardGone, DueCard, due_cards, rate, sync_cards
from studylog.tui.widgets.note_view import display_markdown

if TYPE_CHECKING:
    from studylog.tui.app import StudylogApp


class ReviewScreen(Screen[None]):
    BINDINGS = [
        Binding("space,enter", "reveal", "Answer"),
        Binding("1", "rate(1)", "Again"),
        Binding("2", "rate(2)", "Hard"),
        Binding("3", "rate(3)", "Good"),
        Binding("4", "rate(4)", "Easy"),
        Binding("escape,L", "close", "Back"),
    ]
    DEFAULT_CSS = """
    ReviewScreen #review-card { height: 1fr; padding: 1 2; }
    ReviewScreen #review-question { padding-bottom: 1; }
    ReviewScreen #review-answer { display: none; border-top: hkey $primary-background; }
    ReviewScreen.revealed #review-answer { display: block; }
    ReviewScreen #review-status { height: 1; padding: 0 1; color: $text-muted; }
    """

    app: StudylogApp

    def __init__(self) -> None:
        super().__init__()
        self.cards: list[DueCard] | None = None  # None: still loading
        self.reviewed = 0

    @property
    def card(self) -> DueCard | None:
        return self.cards[0] if self.cards else None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="review-card"):
            yield Static("Reading the cards…", id="review-question")
            yield Markdown("", id="review-answer", open_links=False)
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
        text.append(f"\n\nnotes/{clean(card.path)}:{card.line}", style="dim")
        question.update(text)
        self.query_one("#review-answer", Markdown).update(display_markdown(clean(card.answer)))
        left = len(self.cards or [])
        status.update(f"{left} due · space shows the answer · 1 again 2 hard 3 good 4 easy")

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
        try:
            due = rate(self.app.db, card.id, rating)
        except CardGone as exc:
            self.notify(str(exc), severity="warning")
            due = None
        self.cards.pop(0)
        if due is not None:
            self.reviewed += 1
            self.notify(f"Next time: {due} UTC", timeout=2)
        self.show_card()

    def action_close(self) -> None:
        self.dismiss(None)
