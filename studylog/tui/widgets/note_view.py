"""A note, rendered: a compact header (date, topic, lectures, tags, warnings), then its
markdown, with each `<details>` a section that opens and closes, nested and open as the note
says.

A note of 100 KB must open at once, so the view is one scrolling widget that draws lines
(Textual's Line API, as its Log does), not a widget per block or section: the note is a
document (note_document.py) of markdown pieces and section titles, flattened to lines as the
sections are open. A piece is rendered with Rich's Markdown only when needed: those on the
first screen before the first paint, the rest in slices of a few milliseconds between paints
(what is on screen first), so keys are answered while a long note arrives. Closed sections
render nothing until they are opened."""

from __future__ import annotations

import asyncio
import bisect
import re
import time
from collections.abc import Callable, Iterator
from typing import TypeGuard

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.selection import Selection
from textual.strip import Strip

from studylog.notes.model import Section
from studylog.safe_text import visible
from studylog.store.queries import NoteDetail
from studylog.tui.widgets.note_document import (
    _RENDERED,
    CHUNK_CHARS,
    INDENT,
    MAX_DEPTH,
    Fold,
    Node,
    Piece,
    ancestors,
    chunk_texts,
    display_markdown,
    header_text,
    nodes,
    render_markdown,
    render_text,
    walk,
)

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

# Rendering between two paints while the rest of a note arrives: at most this long, so a
# key waits no longer than that.
SLICE_SECONDS = 0.012
# Before the first paint, rendering goes on past the first screen until this long after
# the open began: a short note is then whole at its first paint (no slices, no second
# paint), a long one paints its first screen no later.
FIRST_SECONDS = 0.02
# A note this short (characters of markdown) is rendered whole before its first paint
# however long that takes on a loaded machine: about 30 ms of Rich's time.
WHOLE_CHARS = 8000
HIGHLIGHT = Style(color="black", bgcolor="yellow", bold=True)
TITLE = Style(bold=True)
PLACEHOLDER = "Choose a note on the left (↑↓ and Enter), or press / to search."


def _warm_highlighter() -> None:
    from pygments.lexers import get_lexer_by_name

    get_lexer_by_name("python")


class NoteView(ScrollView, can_focus=True):
    """The selected note; `show()` replaces what is shown. Enter or Space (or a click on
    its title) opens or closes the section at the top of the view."""

    ALLOW_SELECT = True
    BINDINGS = [
        Binding("enter,space", "toggle_section", "Open/close", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.detail: NoteDetail | None = None
        self.gone = False
        # True while the last readable version stays shown under an unreadable file's warning.
        self.kept = False
        # Set when every shown part of the note is rendered (the outline and search wait).
        self.ready = asyncio.Event()
        self.first_painted = asyncio.Event()
        # Pieces given their lines (rendered, or found rendered), since the last show().
        self.renders = 0
        self._generation = 0
        self._header = Text(PLACEHOLDER)
        self._header_lines: list[Strip] = []
        self._header_width = -1
        self._top: list[Node] = []
        self._more: Iterator[Node] | None = None  # top-level nodes not made yet
        self._rows: list[Node] = []  # what is shown, in order (open sections' contents)
        self._starts: list[int] = []  # each row's first line
        self._heights: list[int] = []  # each row's lines, when last laid out
        self._scan_from = 0  # rows before it are rendered at the current width
        self._height = 0
        self._highlight: re.Pattern[str] | None = None
        # Lines as drawn last, by number: (scroll_x, width, strip).
        self._drawn: dict[int, tuple[int, int, Strip]] = {}
        self._drawn_style: Style | None = None

    @property
    def allow_select(self) -> bool:
        return True

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

    # -- the document ----------------------------------------------------------------

    @property
    def header(self) -> Text:
        """The header as shown: the note's title, place, facts and warnings."""
        return self._header

    def pieces(self) -> list[Piece]:
        """The markdown pieces shown now (made, inside open sections), in order."""
        return [row for row in self._rows if isinstance(row, Piece)]

    def sections(self) -> list[Fold]:
        """The sections made so far (closed ones' contents are made when first needed)."""
        return [node for node in walk(self._top, "made") if isinstance(node, Fold)]

    def lines_text(self) -> list[str]:
        """Every line made so far, as plain text (what a select-all copies)."""
        return [self._line(y).text.rstrip() for y in range(self._height)]

    def row_start(self, node: Node) -> int | None:
        """The first line of `node`, if it is shown."""
        for index, row in enumerate(self._rows):
            if row is node:
                return self._starts[index]
        return None

    def _width(self) -> int:
        return max(self.scrollable_content_region.width or self.size.width or 80, 10)

    def _piece_width(self, piece: Piece) -> int:
        return max(self._width() - INDENT * piece.depth, 10)

    def _needs_render(self, node: Node, width: int | None = None) -> TypeGuard[Piece]:
        """Whether `node` is a piece not rendered at the view's width (`width`, when the
        caller has it: working it out is not free, and a long note has thousands)."""
        if not isinstance(node, Piece):
            return False
        width = self._width() if width is None else width
        return node.lines is None or node.width != max(width - INDENT * node.depth, 10)

    def _render_piece(self, piece: Piece) -> None:
        width = self._piece_width(piece)
        piece.lines = render_markdown(self.app.console, piece.source, width)
        piece.width = width
        self.renders += 1

    def _relayout(self, *, rows: bool = True) -> None:
        """Lines again after a change: rows (made, opened, closed) or heights (rendered).
        The line at the top of the view stays there (a piece above it that is rendered
        again at a new width moves nothing on screen)."""
        anchor: tuple[Node, int] | None = None
        top = int(self.scroll_y)
        if top > 0 and self._rows:
            index = self._row_at(top)
            if index >= 0:
                anchor = (self._rows[index], top - self._starts[index])
        width = self._width()
        header_changed = width != self._header_width
        if header_changed:
            lines = render_text(self.app.console, self._header, max(width - 2, 8))
            self._header_lines = [Strip([Segment(" "), *line]) for line in lines] + [Strip([])]
            self._header_width = width
        old_rows, old_starts, old_heights = self._rows, self._starts, self._heights
        if rows:
            self._rows = list(walk(self._top))
        line = len(self._header_lines)
        starts, heights = [], []
        for row in self._rows:
            starts.append(line)
            heights.append(row.height)
            line += row.height
        self._starts, self._heights = starts, heights
        self._height = line
        # The first line that is not what it was: lines above it are drawn as they were.
        changed = 0 if header_changed else None
        changed_row = 0 if header_changed else len(self._rows)
        for index, row in enumerate(self._rows):
            if changed is not None:
                break
            if (
                index >= len(old_rows)
                or old_rows[index] is not row
                or old_starts[index] != starts[index]
                or old_heights[index] != heights[index]
            ):
                changed, changed_row = starts[index], index
        if changed is None and len(old_rows) > len(self._rows):
            changed = line
        if changed is not None:
            self._forget_drawn(changed)
        self._scan_from = min(self._scan_from, changed_row)
        self._set_virtual_size(Size(width, self._height))
        if anchor is not None:
            node, offset = anchor
            start = self.row_start(node)
            if start is not None:
                offset = min(offset, max(node.height - 1, 0))
                if start + offset != top:
                    self.scroll_to(y=start + offset, animate=False, immediate=True)
                    self.refresh()
                    return
        if changed is not None and changed < int(self.scroll_y) + self.size.height:
            self.refresh()

    def _set_virtual_size(self, size: Size) -> None:
        """The scrollable size, without a layout of the screen unless the scrollbar comes
        or goes: the view's own size does not follow its lines (a layout per slice of a
        long note cost more than rendering it)."""
        if size == self.virtual_size:
            return
        shown = self.show_vertical_scrollbar
        self.set_reactive(NoteView.virtual_size, size)
        self._scroll_update(size)
        if self.show_vertical_scrollbar != shown:
            self.refresh(layout=True)

    def _forget_drawn(self, first: int = 0) -> None:
        """Lines from `first` on are drawn again when next shown."""
        if first <= 0:
            self._drawn.clear()
        else:
            for number in [n for n in self._drawn if n >= first]:
                del self._drawn[number]

    def _set_header(self, text: Text) -> None:
        self._header = text
        self._header_width = -1
        self._relayout(rows=False)

    def _row_at(self, y: int) -> int:
        """The row holding line `y`; -1 in the header."""
        return bisect.bisect_right(self._starts, y) - 1

    def _visible_rows(self) -> range:
        top = int(self.scroll_y)
        bottom = top + max(self.size.height, 10)
        first = max(self._row_at(top), 0)
        last = max(self._row_at(bottom), 0)
        return range(first, min(last + 1, len(self._rows)))

    def _step(self, *, visible_only: bool = False) -> bool:
        """One piece of work towards the whole note shown: a piece on screen rendered, else
        the next piece in order, else the next top-level part made. False when none is
        left."""
        width = self._width()
        for index in self._visible_rows():
            row = self._rows[index]
            if self._needs_render(row, width):
                self._render_piece(row)
                self._relayout(rows=False)
                return True
        if visible_only:
            return False
        width = self._width()
        # Rows before _scan_from are rendered at this width (a long note is not scanned
        # from its start for each piece).
        for index in range(self._scan_from, len(self._rows)):
            row = self._rows[index]
            if self._needs_render(row, width):
                self._scan_from = index
                self._render_piece(row)
                self._relayout(rows=False)
                return True
        self._scan_from = len(self._rows)
        if self._more is not None:
            node = next(self._more, None)
            if node is None:
                self._more = None
                return False
            self._top.append(node)
            self._relayout()
            return True
        return False

    def _fill_screen(self) -> None:
        """What the view shows now, rendered: before a paint."""
        bottom = int(self.scroll_y) + max(self.size.height, 10) + 2
        while self._step(visible_only=True) or (
            self._height < bottom and self._more is not None and self._step()
        ):
            pass

    def _render_through(self, node: Node) -> None:
        """Everything shown up to `node` (and a screen past it) rendered: its line is known."""
        for row in self._rows:
            if row is node:
                break
            if isinstance(row, Piece) and self._needs_render(row):
                self._render_piece(row)
        if isinstance(node, Piece) and self._needs_render(node):
            self._render_piece(node)
        self._relayout(rows=False)

    def _kick(self) -> None:
        """Render the rest of what is shown, a slice between paints; `ready` when done."""
        self.ready.clear()
        self.run_worker(self._fill(self._generation), group="note-fill", exclusive=True)

    async def _fill(self, generation: int) -> None:
        while generation == self._generation:
            deadline = time.perf_counter() + SLICE_SECONDS
            more = True
            while more and time.perf_counter() < deadline:
                more = self._step()
            if not more:
                break
            # Keys and paints get their turn before the next slice.
            await asyncio.sleep(0)
        if generation == self._generation:
            self.ready.set()

    # -- showing a note --------------------------------------------------------------

    async def show(self, detail: NoteDetail, *, keep_place: bool = False) -> None:
        """Show `detail`; with `keep_place` (the same note, re-read) the scroll position and
        the open sections stay as they were."""
        began = time.perf_counter()
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
            self._set_header(header_text(detail, self._label(detail), kept=True))
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
        self._header = header_text(detail, self._label(detail))
        self._header_width = -1
        if detail.summary.readable:
            from studylog.notes.blocks import split_blocks

            # Made as they are needed: a long note's later parts cost nothing before the
            # first screen is painted.
            self._more = nodes(split_blocks(detail.body), memory=memory)
        self._relayout()
        if place is not None:
            # A re-read: its pieces are mostly rendered already (kept by their text).
            while self._height < place + self.size.height and self._step():
                pass
            self.scroll_to(y=place, animate=False, immediate=True)
        self._fill_screen()
        short = len(detail.body) <= WHOLE_CHARS
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

    async def _painted(self) -> None:
        """Back when what was changed has been laid out and painted."""
        done = asyncio.get_running_loop().create_future()

        def finish() -> None:
            if not done.done():
                done.set_result(None)

        self.call_after_refresh(finish)
        await done

    def mark_gone(self) -> None:
        """The shown note's file was removed or moved: say so; what was read stays."""
        if self.detail is not None and not self.gone:
            self.gone = True
            self._set_header(header_text(self.detail, self._label(self.detail), gone=True))

    def on_resize(self, event: events.Resize) -> None:
        if self._header_width != self._width():
            self._relayout(rows=False)
            # What is on screen first, at the new width; the rest a slice at a time.
            self._fill_screen()
            if self.detail is not None and self._needs_work():
                self._kick()

    def _needs_work(self) -> bool:
        width = self._width()
        return self._more is not None or any(self._needs_render(row, width) for row in self._rows)

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
        nearest title above it (the section being read)."""
        top = int(self.scroll_y)
        middle = top + max(self.size.height // 2, 1)
        above: Fold | None = None
        for row, start in zip(self._rows, self._starts, strict=True):
            if start > middle:
                break
            if isinstance(row, Fold):
                if start >= top:
                    return row
                above = row
        return above

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
            self.scroll_to(y=start + line, animate=False, immediate=True)
            self._fill_screen()
        if self._needs_work():
            self._kick()
        await self._painted()

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
        self.scroll_to(y=max(0, start + line - 2), animate=False, immediate=True)
        self._fill_screen()
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

    # -- drawing ---------------------------------------------------------------------

    def _line(self, y: int) -> Strip:
        """Line `y` of the document, uncropped, before the widget's style and selection."""
        if y < len(self._header_lines):
            return self._header_lines[y]
        index = self._row_at(y)
        if index < 0 or index >= len(self._rows):
            return Strip([])
        row = self._rows[index]
        indent = Segment(" " * (INDENT * row.depth)) if row.depth else None
        if isinstance(row, Fold):
            glyph = "▼" if row.open else "▶"
            segments = [Segment(f"{glyph} {row.title}", TITLE)]
        else:
            lines = row.lines or []
            offset = y - self._starts[index]
            if offset >= len(lines):
                return Strip([])
            segments = list(lines[offset])
        return Strip([indent, *segments] if indent is not None else segments)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._drawn.clear()
        self._drawn_style = None

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        number = scroll_y + y
        width = self.size.width
        style = self._drawn_style
        if style is None:  # (worked out once per change of the widget's styles)
            style = self._drawn_style = self.rich_style
        if number >= self._height:
            return Strip.blank(width, style)
        drawn = self._drawn.get(number)
        if drawn is not None and drawn[0] == scroll_x and drawn[1] == width:
            return drawn[2]
        line = self._line(number)
        selection = self.text_selection
        span = selection.get_span(number) if selection is not None else None
        if self._highlight is not None or span is not None:
            text = Text(no_wrap=True, end="")
            for segment in line:
                if not segment.control:
                    text.append(segment.text, segment.style)
            if self._highlight is not None:
                text.highlight_regex(self._highlight, HIGHLIGHT)
            if span is not None:
                start, end = span
                text.stylize(
                    self.screen.get_component_rich_style("screen--selection"),
                    start,
                    len(text) if end == -1 else end,
                )
            line = Strip(text.render(self.app.console), line.cell_length)
        strip = (
            line.apply_style(style)
            .crop_extend(scroll_x, scroll_x + width, style)
            .apply_offsets(scroll_x, number)
        )
        if len(self._drawn) > 4000:  # a long note scrolled through: only what is near
            self._drawn.clear()
        self._drawn[number] = (scroll_x, width, strip)
        return strip

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        return selection.extract("\n".join(self.lines_text())), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self._drawn.clear()
        self.refresh()
