"""The search box and its results: the index's Korean-aware search, filtering as you type,
each hit with its highlighted excerpt; Enter opens the note."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from studylog.safe_text import visible, visible_spans
from studylog.store.search import Hit


def hit_prompt(hit: Hit) -> Text:
    shown, highlights = visible_spans(hit.excerpt, hit.highlights)
    excerpt = Text(shown)
    for start, end in highlights:
        excerpt.stylize("bold black on yellow", start, end)
    return Text.assemble(
        (visible(hit.title), "bold"), "\n", (f"notes/{visible(hit.path)}", "dim"), "\n", excerpt
    )


class SearchPanel(Vertical):
    """Posts SearchPanel.Changed as the query changes and SearchPanel.Chosen on Enter."""

    class Changed(Message):
        def __init__(self, query: str) -> None:
            super().__init__()
            self.query = query

    class Chosen(Message):
        def __init__(self, path: str) -> None:
            super().__init__()
            self.path = path

    def compose(self) -> ComposeResult:
        yield Input(placeholder="Search notes (/)  역전파, optimizer …", id="search-input")
        yield OptionList(id="search-results")

    def show_hits(self, query: str, hits: list[Hit]) -> None:
        results = self.query_one("#search-results", OptionList)
        results.clear_options()
        if not query.strip():
            return
        if not hits:
            results.add_option(
                Option(Text(f"No notes match {query!r}", style="dim"), disabled=True)
            )
            return
        results.add_options([Option(hit_prompt(hit), id=hit.path) for hit in hits])
        results.highlighted = 0

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.Changed(event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        results = self.query_one("#search-results", OptionList)
        if results.option_count and results.highlighted is not None:
            option = results.get_option_at_index(results.highlighted)
            if option.id:
                self.post_message(self.Chosen(option.id))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.post_message(self.Chosen(event.option.id))

    def key_down(self) -> None:
        self.query_one("#search-results", OptionList).focus()
