"""A note, rendered: a compact header (date, topic, lectures, tags, warnings), then its
markdown, with each `<details>` a collapsible section, nested and open as the note says."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Collapsible, Static

from studylog.notes.model import Section
from studylog.safe_text import visible, visible_lines

if TYPE_CHECKING:
    from studylog.notes.blocks import Block
from studylog.store.queries import NoteDetail


def header_text(detail: NoteDetail) -> Text:
    s = detail.summary
    # Note text is never markup and its control characters are shown (safe_text).
    text = Text(visible(s.title), style="bold")
    text.append(f"\nnotes/{visible(s.path)}", style="dim")
    facts = [s.date or "Undated", s.topic or "No topic"]
    facts += [lecture.label() for lecture in s.lectures]
    text.append("\n" + visible("  |  ".join(facts)), style="cyan")
    if s.tags:
        text.append("\n" + visible(" ".join(f"#{t}" for t in s.tags)), style="magenta")
    if detail.todos:
        done = sum(t.done for t in detail.todos)
        text.append(f"\nTo-dos {done}/{len(detail.todos)} done", style="magenta")
    for warning in s.warnings:
        text.append(f"\n⚠ {visible(warning)}", style="bold yellow")
    return text


# ```python run name=x timeout=60 → ```python: the highlighter wants the language alone.
_RUN_FENCE = re.compile(r"^(\s*(?:```|~~~)\s*)(python3?|py)\b[^\n]*$", re.MULTILINE)


def display_markdown(text: str) -> str:
    """What the Markdown widget is given: run fences as plain python fences, and control
    characters visible (the widget would hand an escape sequence to the terminal)."""
    return _RUN_FENCE.sub(r"\1python", visible_lines(text))


def display_title(summary: str | None) -> str:
    """A `<details>` summary as a Collapsible title (a markup string there): escaped."""
    from textual.markup import escape

    return escape(visible(summary or "Details"))


def _widgets(blocks: list[Block]) -> list[Widget]:
    from textual.widgets import Markdown  # with the first note: the screen paints sooner

    from studylog.notes.blocks import DetailsBlock

    widgets: list[Widget] = []
    for block in blocks:
        if isinstance(block, DetailsBlock):
            widgets.append(
                Collapsible(
                    *_widgets(block.children),
                    title=display_title(block.summary),
                    collapsed=not block.open,
                )
            )
        else:
            widgets.append(Markdown(display_markdown(block.text), open_links=False))
    return widgets


class NoteView(VerticalScroll):
    """The selected note; `show()` replaces what is shown."""

    DEFAULT_CSS = """
    NoteView > #note-header { padding: 0 1 1 1; }
    NoteView Collapsible { padding-bottom: 0; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.detail: NoteDetail | None = None

    def compose(self) -> ComposeResult:
        yield Static(
            "Choose a note on the left (↑↓ and Enter), or press / to search.", id="note-header"
        )

    async def show(self, detail: NoteDetail) -> None:
        self.detail = detail
        await self.remove_children()
        await self.mount(Static(header_text(detail), id="note-header"))
        if not detail.summary.readable:
            return
        from studylog.notes.blocks import split_blocks

        await self.mount_all(_widgets(split_blocks(detail.body)))
        self.scroll_home(animate=False)

    def jump_to(self, section: Section) -> None:
        """Scroll to a section of the outline, opening the collapsibles on the way."""
        target = self._find(section)
        if target is None:
            return
        for ancestor in [target, *target.ancestors]:
            if isinstance(ancestor, Collapsible):
                ancestor.collapsed = False
        self.call_after_refresh(self.scroll_to_widget, target, top=True, animate=False)

    def _find(self, section: Section) -> Widget | None:
        if section.kind == "details":
            for collapsible in self.query(Collapsible):
                if collapsible.title == display_title(section.title):
                    return collapsible
            return None
        from textual.widgets import Markdown

        marker = "#" * section.level + " " + visible(section.title)
        for markdown in self.query(Markdown):
            if marker in markdown.source:
                return markdown
        return None
