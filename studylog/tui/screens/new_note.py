"""The new-note dialog (n): title, topic and lecture, the last two offered from the notes."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


@dataclass
class NewNoteRequest:
    title: str | None
    topic: str | None
    lecture: str | None


class NewNoteScreen(ModalScreen[NewNoteRequest | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    NewNoteScreen { align: center middle; }
    NewNoteScreen > Vertical {
        width: 70; height: auto; padding: 1 2; border: round $accent; background: $surface;
    }
    NewNoteScreen Input { margin-bottom: 1; }
    """

    def __init__(self, topic: str | None, lecture: str | None) -> None:
        super().__init__()
        self.topic = topic or ""
        self.lecture = lecture or ""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Today's note — Enter makes it and opens $EDITOR, Esc cancels")
            yield Input(placeholder="Title", id="new-title")
            yield Input(self.topic, placeholder="Topic (course)", id="new-topic")
            yield Input(self.lecture, placeholder="Lecture number", id="new-lecture")

    def on_mount(self) -> None:
        self.query_one("#new-title", Input).focus()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        def value(name: str) -> str | None:
            return self.query_one(f"#new-{name}", Input).value.strip() or None

        self.dismiss(NewNoteRequest(value("title"), value("topic"), value("lecture")))

    def action_cancel(self) -> None:
        self.dismiss(None)
