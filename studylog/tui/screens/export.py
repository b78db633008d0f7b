"""Export the open note (e): choose the format and the folder; the files are written in a
worker and a notification says where they went."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from studylog.safe_text import visible

FORMATS = [
    ("md", "Markdown for a blog (GitHub Pages / Jekyll), curves as PNG beside it"),
    ("html", "One self-contained HTML page, opens anywhere"),
    ("ipynb", "A Jupyter notebook with the outputs and curves"),
]


class ExportScreen(ModalScreen[tuple[str, Path] | None]):
    """Dismissed with (format, folder), or None."""

    BINDINGS = [Binding("escape", "dismiss_none", "Cancel")]

    def __init__(self, title: str, default_dir: Path) -> None:
        super().__init__()
        self.note_title = title
        self.default_dir = default_dir

    def compose(self) -> ComposeResult:
        with Vertical(id="export"):
            yield Label(Text(f"Export “{visible(self.note_title)}”"), id="export-title")
            yield OptionList(
                *[Option(f"{fmt:<6} {text}", id=fmt) for fmt, text in FORMATS], id="export-format"
            )
            yield Label("into the folder (Enter to export):")
            yield Input(str(self.default_dir), id="export-dir")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = 1
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        options = self.query_one(OptionList)
        fmt = FORMATS[options.highlighted or 0][0]
        folder = event.value.strip()
        if not folder:
            self.notify("Give a folder to export into.", severity="warning")
            return
        self.dismiss((fmt, Path(folder).expanduser()))

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
