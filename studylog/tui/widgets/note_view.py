"""A note, rendered: a compact header (date, topic, lectures, tags, warnings), then its
markdown, with each `<details>` a section that opens and closes, nested and open as the note
says.

A note of 100 KB must open at once: the view draws lines (note_lines.py) of a document of
markdown pieces and section titles (note_document.py), rendered as they are needed. This
module says what is shown: a note (`show`), a section opened (`set_open`, Enter, a click),
the outline's target (`jump_to`), a search's hit (`reveal`)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from textual import events
from textual.binding import Binding

from studylog.notes.model import Section
from studylog.safe_text import visible
from studylog.store.queries import NoteDetail
from studylog.tui.widgets.note_document import (
    _RENDERED,
    CHUNK_CHARS,
    MAX_DEPTH,
    Fold,
    Node,
    Piece,
    ancestors,
    chunk_texts,
    display_markdown,
    header_text,
    nodes,
    walk,
)
from studylog.tui.widgets.note_lines import NoteLines

if TYPE_CHECKING:
    from studylog.notes.blocks import Block  # the parser's imports: not before the first paint

__all__ = [
    "CHUNK_CHARS",
    "MAX_DEPTH",
    "_RENDERED",
    "Fold",
    "NoteView",
    "Piece",
    "chunk_texts",
    "display_markdown",
    "header_text",
]

# Before the first paint, rendering goes on past the first screen until this long after
# the open began: a short note is then whole at its first paint (no slices, no second
# paint), a long one paints its first screen no later.
FIRST_SECONDS = 0.02
# A note this short (characters of markdown) is rendered whole before its first paint
# however long that takes on a loaded machine: about 30 ms of Rich's time.
WHOLE_CHARS = 8000


def _warm_highlighter() -> None:
    from pygments.lexers import get_lexer_by_name

    get_lexer_by_name("python")


class NoteView(NoteLines, can_focus=True):
    """The selected note; `show()` replaces what is shown. Enter or Space (or a click on
    its title) opens or closes the section at the top of the view."""

    BINDINGS = [
        Binding("enter,space", "toggle_section", "Open/close", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.detail: NoteDetail | None = None
        self.gone = False
        # True while the last readable version stays shown under an unreadable file's warning.
        self.kept = False
        self.first_painted = asyncio.Event()

    def _label(self, detail: NoteDetail) -> str:
        """How the note is named to the user: its place in the workspace."""
        workspace = getattr(self.app, "workspace", None)
        path = detail.summary.path
        return workspace.label(path) if workspace is not None else f"notes/{path}"

    def on_mount(self) -> None:
        # Pygments builds its Python lexer's tables on first use (0.2 s): not on the first
        # open, while the user waits.
        self.run_worker(_warm_highlighter, thread=True, exit_on_error=False, group="warm")
        self._relayout()

    # -- showing a note --------------------------------------------------------------

    async def show(
        self,
        detail: NoteDetail,
        *,
        keep_place: bool = False,
        blocks: list[Block] | None = None,
        began: float | None = None,
    ) -> None:
        """Show `detail`; with `keep_place` (the same note, re-read) the scroll position and
        the open sections stay as they were. `blocks`: its body's blocks, when already cut
        (in the thread that read it); `began`: when the open was asked for (perf_counter),
        if before this call."""
        began = time.perf_counter() if began is None else began
        previous = self.detail
        if (
            keep_place
            and not detail.summary.readable
            and previous is not None
            and (previous.summary.readable or self.kept)
            and previous.summary.path == detail.summary.path
        ):
            # The open note became unreadable (binary, not UTF-8): its last version stays,
            # under a header that says why it is not the file's content.
            self.detail, self.kept = detail, True
            self._set_header(partial(header_text, detail, self._label(detail), kept=True))
            self.first_painted.set()
            return
        place = int(self.scroll_y) if keep_place else None
        memory = {fold.key: fold.open for fold in self.sections()} if keep_place else {}
        self._generation += 1
        generation = self._generation
        self.ready.clear()
        self.first_painted.clear()
        self.detail, self.gone, self.kept = detail, False, False
        self._highlight = None
        self.renders = 0
        self._top, self._more = [], None
        self.scroll_to(y=0, animate=False, immediate=True)
        self._header_for = partial(header_text, detail, self._label(detail))
        self._header_width = -1
        if detail.summary.readable:
            if blocks is None:
                from studylog.notes.blocks import split_blocks

                blocks = split_blocks(detail.body)
            # Made as they are needed: a long note's later parts cost nothing before the
            # first screen is painted.
            self._more = nodes(blocks, memory=memory)
        self._relayout()
        if place is not None:
            # A re-read: its pieces are mostly rendered already (kept by their text).
            while self._height < place + self.size.height and self._step():
                pass
            self.scroll_to(y=place, animate=False, immediate=True)
        short = len(detail.body) <= WHOLE_CHARS
        with self._batch():
            self._fill_screen()
            while (short or time.perf_counter() - began < FIRST_SECONDS) and self._step():
                pass
        whole = not self._needs_work()
        await self._painted()
        if generation != self._generation:
            return
        self.first_painted.set()
        if whole:
            self.ready.set()
        else:
            self._kick()

    def mark_gone(self) -> None:
        """The shown note's file was removed or moved: say so; what was read stays."""
        if self.detail is not None and not self.gone:
            self.gone = True
            place = self._label(self.detail)
            self._set_header(partial(header_text, self.detail, place, gone=True))

    def on_resize(self, event: events.Resize) -> None:
        if self._header_width != self._width():
            self._relayout(rows=False)
            # What is on screen first, at the new width; the rest a slice at a time.
            self._fill_screen()
            if self.detail is not None and self._needs_work():
                self._kick()

    # -- sections --------------------------------------------------------------------

    def set_open(self, fold: Fold, is_open: bool) -> None:
        """Open or close `fold` (its contents rendered as they come into view)."""
        if fold.open == is_open:
            return
        fold.open = is_open
        fold.memory[fold.key] = is_open
        self._forget_drawn()  # its title's glyph, and what follows it
        self._relayout()
        self.refresh()
        start = self.row_start(fold)
        if not is_open and start is not None and start < self.scroll_y:
            self.scroll_to(y=start, animate=False, immediate=True)
        self._fill_screen()
        if self._needs_work():
            self._kick()

    def _fold_for_key(self) -> Fold | None:
        """The section a key toggles: the first title in the top half of the view, else the
        innermost open section around the top line (the section being read), else the
        first title on screen. Never one out of sight: a closed section above the view is
        not the one being read (toggling it changed nothing on screen)."""
        top = int(self.scroll_y)
        middle = top + max(self.size.height // 2, 1)
        bottom = top + max(self.size.height, 1)
        first = max(self._row_at(top), 0)
        for index in range(first, len(self._rows)):
            row, start = self._rows[index], self._starts[index]
            if start > middle:
                break
            if isinstance(row, Fold) and start >= top:
                return row
        index = self._row_at(top)
        if 0 <= index < len(self._rows):
            reading = next(ancestors(self._rows[index]), None)
            if reading is not None:
                return reading
        for index in range(first, len(self._rows)):
            row, start = self._rows[index], self._starts[index]
            if start >= bottom:
                break
            if isinstance(row, Fold) and start >= top:
                return row
        return None

    def action_toggle_section(self) -> None:
        fold = self._fold_for_key()
        if fold is None:
            self.app.bell()
            return
        self.set_open(fold, not fold.open)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or self.text_selection is not None:
            return
        index = self._row_at(int(self.scroll_y) + offset.y)
        if index >= 0:
            row = self._rows[index]
            if isinstance(row, Fold) and self._starts[index] == int(self.scroll_y) + offset.y:
                self.set_open(row, not row.open)
                event.stop()

    async def jump_to(self, section: Section) -> None:
        """Scroll to a section of the outline, opening the sections on the way."""
        await self.ready.wait()
        target: Node | None
        if section.kind == "details":
            title = visible(section.title or "Details")
            target = self._find(lambda node: isinstance(node, Fold) and node.title == title)
            line = 0
        else:
            marker = "#" * section.level + " " + visible(section.title)
            target = self._find(
                lambda node: (
                    isinstance(node, Piece)
                    and any(line.strip() == marker for line in node.source.split("\n"))
                )
            )
            line = -1
        if target is None:
            return
        self._open_around(target)
        if isinstance(target, Piece) and line == -1:
            title = visible(section.title).strip()
            assert target.lines is not None
            line = next((n for n, s in enumerate(target.lines) if title in s.text), 0)
        await self._scroll_into(target, max(line, 0))

    async def _scroll_into(self, target: Node, line: int) -> None:
        start = self.row_start(target)
        if start is not None:
            self._scroll_to_line(start + line)
        if self._needs_work():
            self._kick()
        await self._painted()

    def _scroll_to_line(self, y: int) -> None:
        """Line `y` at the top of the view (or as near as the note's end allows), what is
        on screen rendered. What follows `y` in sections just opened has no lines yet: the
        scroll stopped short at the document's end as it was (a hit near the bottom, not
        the top), so the scroll is tried again as the screen's rows get their lines."""
        while True:
            self.scroll_to(y=y, animate=False, immediate=True)
            height = self._height
            self._fill_screen()
            if int(self.scroll_y) >= y or self._height == height:
                break

    def _find(self, matches: Callable[[Node], bool]) -> Node | None:
        """The first node shown that `matches`, else the first anywhere (closed sections
        included)."""
        for row in self._rows:
            if matches(row):
                return row
        for node in walk(self._top, "all"):
            if matches(node):
                return node
        return None

    def _open_around(self, target: Node) -> None:
        """`target` shown (the sections around it, and it, opened) and rendered up to it."""
        folds = list(ancestors(target))
        if isinstance(target, Fold):
            folds.append(target)
        for fold in folds:
            fold.open = True
            fold.memory[fold.key] = True
        self._forget_drawn()  # the titles' glyphs
        self._relayout()
        self.refresh()
        self._render_through(target)

    # -- search ----------------------------------------------------------------------

    async def reveal(self, words: list[str]) -> bool:
        """Scroll to the first place where one of `words` is, opening the sections around
        it and highlighting the words until `clear_highlight()`; False if none is found."""
        words = [w for w in {w.strip() for w in words} if w]
        if not words:
            return False
        await self.ready.wait()
        pattern = re.compile(
            "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)), re.IGNORECASE
        )
        target = self._find(
            lambda node: (
                isinstance(node, Piece)
                and pattern.search(display_markdown(node.source)) is not None
            )
        )
        if not isinstance(target, Piece):
            return False
        self._open_around(target)
        self._highlight = pattern
        self._drawn.clear()
        assert target.lines is not None
        line = next((n for n, s in enumerate(target.lines) if pattern.search(s.text)), 0)
        start = self.row_start(target) or 0
        self._scroll_to_line(max(0, start + line - 2))
        if self._needs_work():
            self._kick()
        self.refresh()
        await self._painted()
        return True

    def clear_highlight(self) -> None:
        if self._highlight is not None:
            self._highlight = None
            self._drawn.clear()
            self.refresh()

    @property
    def highlighting(self) -> bool:
        return self._highlight is not None
