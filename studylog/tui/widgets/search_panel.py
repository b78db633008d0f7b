"""The search box and its results: the index's Korean-aware search, filtering as you type,
each hit compact (title, path, one line of excerpt around the match) under a count; Enter
opens the note at its first match."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from studylog.labels import plural
from studylog.safe_text import visible, visible_spans
from studylog.store.search import Hit

# Characters of excerpt kept before the first match, so the match shows on its one line.
LEAD = 12


def hit_prompt(hit: Hit, place: str) -> Text:
    """Three lines, each cut to the width with … (app.tcss: the list does not wrap): the
    title, `place` (the note's path in the workspace), the excerpt (plain text: the store
    strips the marks) from the word just before its first match."""
    excerpt = " ".join(hit.excerpt.split("\n"))
    shown, highlights = visible_spans(excerpt, hit.highlights)
    first = min((s for s, _ in highlights), default=0)
    start = max(0, first - LEAD)
    if start > 0 and (space := shown.find(" ", start, first)) != -1:
        start = space + 1  # from a word's start, not the middle of one
    line = Text(("…" if start else "") + shown[start:], no_wrap=True, overflow="ellipsis")
    shift = 1 if start else 0
    for begin, end in highlights:
        if end > start:
            line.stylize("bold black on yellow", max(begin - start, 0) + shift, end - start + shift)
    title = Text(visible(hit.title), style="bold", no_wrap=True, overflow="ellipsis")
    path = Text(visible(place), style="dim", no_wrap=True, overflow="ellipsis")
    return Text("\n").join([title, path, line])


def hit_words(hit: Hit) -> list[str]:
    """The words the search matched in this hit (Korean stems included), as written."""
    return [hit.excerpt[s:e] for s, e in hit.highlights if 0 <= s < e <= len(hit.excerpt)]


class SearchPanel(Vertical):
    """Posts SearchPanel.Changed as the query changes and SearchPanel.Chosen on Enter."""

    class Changed(Message):
        def __init__(self, query: str) -> None:
            super().__init__()
            self.query = query

    class Chosen(Message):
        def __init__(self, path: str, words: list[str]) -> None:
            super().__init__()
            self.path = path
            self.words = words  # what to scroll to and highlight in the note

    def __init__(
        self, *, id: str | None = None, place: Callable[[str], str] = "notes/{}".format
    ) -> None:
        super().__init__(id=id)
        self.hits: dict[str, Hit] = {}
        self.place = place  # a note's path as shown: its place in the workspace

    def compose(self) -> ComposeResult:
        yield Input(placeholder="Search notes (/)  역전파, optimizer …", id="search-input")
        yield Static("", id="search-count")
        yield OptionList(id="search-results")

    def show_hits(self, query: str, hits: list[Hit]) -> None:
        results = self.query_one("#search-results", OptionList)
        count = self.query_one("#search-count", Static)
        results.clear_options()
        self.hits = {hit.path: hit for hit in hits}
        if not query.strip():
            count.update("")
            return
        if not hits:
            count.update(Text(f"No notes match {visible(query)!r}", style="dim"))
            return
        found = f"{len(hits)} {plural(len(hits), 'note')}"
        count.update(Text(f"{found} · ↓ to the list, Enter opens", style="dim"))
        results.add_options(
            [Option(hit_prompt(hit, self.place(hit.path)), id=hit.path) for hit in hits]
        )
        results.highlighted = 0

    def _chosen(self, path: str) -> None:
        hit = self.hits.get(path)
        self.post_message(self.Chosen(path, hit_words(hit) if hit is not None else []))

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.Changed(event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        results = self.query_one("#search-results", OptionList)
        if results.option_count and results.highlighted is not None:
            option = results.get_option_at_index(results.highlighted)
            if option.id:
                self._chosen(option.id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self._chosen(event.option.id)

    def key_down(self, event: events.Key) -> None:
        """↓ from the box: to the list, on its first hit (not past it)."""
        results = self.query_one("#search-results", OptionList)
        if results.has_focus or not results.option_count:
            return
        event.stop()
        event.prevent_default()
        results.focus()
        results.highlighted = 0
