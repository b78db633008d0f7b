"""The note view's lines: a document of markdown pieces and `<details>` sections
(note_document.py) laid out as lines, rendered lazily, and drawn with Textual's Line API (as
its Log does), not a widget per block or section. A piece is rendered with Rich's Markdown
only when needed: those on screen first, the rest in slices of a few milliseconds between
paints (`_fill`), so keys are answered while a long note arrives. Closed sections render
nothing until they are opened. The widget on top (note_view.py) says what to show."""

from __future__ import annotations

import asyncio
import bisect
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeGuard

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.selection import Selection
from textual.strip import Strip

from studylog.tui.widgets.note_document import (
    INDENT,
    Fold,
    Node,
    Piece,
    render_markdown,
    render_text,
    walk,
)

# Rendering between two paints while the rest of a note arrives: at most this long, so a
# key waits no longer than that.
SLICE_SECONDS = 0.012
HIGHLIGHT = Style(color="black", bgcolor="yellow", bold=True)
TITLE = Style(bold=True)
PLACEHOLDER = "Choose a note on the left (↑↓ and Enter), or press / to search."


class NoteLines(ScrollView):
    """A document's lines in a scrolling view: laid out (`_relayout`), rendered as they are
    needed (`_step`, `_fill_screen`, `_kick`), drawn (`render_line`) with the search's
    highlight and the mouse's selection."""

    ALLOW_SELECT = True

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        # Set when every shown part of the note is rendered (the outline and search wait).
        self.ready = asyncio.Event()
        # Pieces given their lines (rendered, or found rendered), since the last show().
        self.renders = 0
        self._generation = 0
        self._header = Text(PLACEHOLDER)
        # The header for a width (its path fitted to the line), or None: `_header` as is.
        self._header_for: Callable[[int], Text] | None = None
        self._header_lines: list[Strip] = []
        self._header_width = -1
        self._top: list[Node] = []
        self._more: Iterator[Node] | None = None  # top-level nodes not made yet
        self._rows: list[Node] = []  # what is shown, in order (open sections' contents)
        self._starts: list[int] = []  # each row's first line
        self._heights: list[int] = []  # each row's lines, when last laid out
        self._scan_from = 0  # rows before it are rendered at the current width
        self._batched: list[int] | None = None  # inside _batch(): lines changed so far
        self._height = 0
        self._highlight: re.Pattern[str] | None = None
        # Lines as drawn last, by number: (scroll_x, width, strip).
        self._drawn: dict[int, tuple[int, int, Strip]] = {}
        self._drawn_style: Style | None = None

    @property
    def allow_select(self) -> bool:
        return True

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
        again at a new width moves nothing on screen). Inside `_batch()` the scroll size,
        the lines drawn and the refresh wait for its end."""
        if self._batched is not None:
            changed = self._measure(rows)
            if changed is not None:
                self._batched.append(changed)
            if not self.show_vertical_scrollbar:
                # Now, not at the batch's end: a scrollbar that appears narrows the lines
                # rendered after it.
                self._set_virtual_size(Size(self._width(), self._height))
            return
        anchor = self._anchor()
        self._settle(self._measure(rows), anchor)

    @contextmanager
    def _batch(self) -> Iterator[None]:
        """Pieces rendered inside are laid out once, at its end (a 6 KB note's first paint
        made ten scroll sizes and refreshes, one per piece)."""
        if self._batched is not None:
            yield
            return
        anchor = self._anchor()
        self._batched = []
        try:
            yield
        finally:
            changed = min(self._batched, default=None)
            self._batched = None
            self._settle(changed, anchor)

    def _anchor(self) -> tuple[Node, int] | None:
        """The row at the top of the view and the line of it there, when scrolled."""
        top = int(self.scroll_y)
        if top > 0 and self._rows:
            index = self._row_at(top)
            if index >= 0:
                return self._rows[index], top - self._starts[index]
        return None

    def _measure(self, rows: bool) -> int | None:
        """Each row's first line and height (`rows`: which rows are shown, again); the first
        line that is not what it was, or None."""
        width = self._width()
        header_changed = width != self._header_width
        if header_changed:
            room = max(width - 2, 8)
            if self._header_for is not None:
                self._header = self._header_for(room)
            lines = render_text(self.app.console, self._header, room)
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
        self._scan_from = min(self._scan_from, changed_row)
        return changed

    def _settle(self, changed: int | None, anchor: tuple[Node, int] | None) -> None:
        """The view after a layout: lines from `changed` on drawn again, the scroll size
        set, the `anchor` row kept at the top."""
        if changed is not None:
            self._forget_drawn(changed)
        self._set_virtual_size(Size(self._width(), self._height))
        top = int(self.scroll_y)
        if anchor is not None:
            node, offset = anchor
            start = self.row_start(node)
            if start is not None:
                offset = min(offset, max(node.height - 1, 0))
                if start + offset != top:
                    self.scroll_to(y=start + offset, animate=False, immediate=True)
                    self.refresh()
                    return
        if changed is not None and changed < top + self.size.height:
            self.refresh()

    def _set_virtual_size(self, size: Size) -> None:
        """The scrollable size, without a layout of the screen unless the scrollbar comes
        or goes: the view's own size does not follow its lines (a layout per slice of a
        long note cost more than rendering it)."""
        if size == self.virtual_size:
            return
        shown = self.show_vertical_scrollbar
        self.set_reactive(NoteLines.virtual_size, size)
        # Private, on purpose: Textual has no public call that updates the scrollbars and
        # clamps the scroll to a new virtual size without a layout (setting `virtual_size`
        # lays out the screen; `refresh(layout=False)` leaves the scrollbar stale). Its
        # own OptionList calls this the same way (textual 8.2: widgets/_option_list.py).
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

    def _set_header(self, make: Callable[[int], Text]) -> None:
        """The header, made for the view's width (now, and again at each new width)."""
        self._header_for = make
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
        with self._batch():
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
            with self._batch():
                while more and time.perf_counter() < deadline:
                    more = self._step()
            if not more:
                break
            # Keys and paints get their turn before the next slice.
            await asyncio.sleep(0)
        if generation == self._generation:
            self.ready.set()

    async def _painted(self) -> None:
        """Back when what was changed has been laid out and painted."""
        done = asyncio.get_running_loop().create_future()

        def finish() -> None:
            if not done.done():
                done.set_result(None)

        self.call_after_refresh(finish)
        await done

    def _needs_work(self) -> bool:
        width = self._width()
        return self._more is not None or any(self._needs_render(row, width) for row in self._rows)

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
            if indent is None:
                return lines[offset]  # as rendered: no copy (a Strip is not changed in place)
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
        if scroll_x == 0 and line.cell_length <= width:
            strip = _styled(line, style, width, number)
        else:
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


def _styled(line: Strip, style: Style, width: int, y: int) -> Strip:
    """`line` (no wider than `width`) as `apply_style`, `crop_extend` and `apply_offsets`
    make it for a view not scrolled sideways, in one pass: one Strip made, not four (a
    Strip makes seven caches; a screen of lines made 170)."""
    add = style.__add__
    segments: list[Segment] = []
    x = 0
    for text, segment_style, control in line:
        styled = None if control else add(segment_style)
        offset = Style.from_meta({"offset": (x, y)})
        segments.append(Segment(text, styled + offset if styled else offset))
        x += len(text)
    if line.cell_length < width:
        offset = Style.from_meta({"offset": (x, y)})
        segments.append(Segment(" " * (width - line.cell_length), style + offset))
    return Strip(segments, width)
