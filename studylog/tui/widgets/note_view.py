"""A note, rendered: a compact header (date, topic, lectures, tags, warnings), then its
markdown, with each `<details>` a collapsible section, nested and open as the note says.

A note of 100 KB must open at once, so the markdown is not a widget per block: runs of
plain blocks are grouped into chunks of a few KB (a heading starts a new chunk, so the
outline can jump to it), each chunk one widget that renders its text once with Rich's
Markdown and keeps the lines. The first chunks are mounted before the first paint, the rest
in batches after it, so a long note paints its first screen at once and the app answers keys
while the rest arrives. Closed sections render nothing until they are opened."""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.geometry import Size
from textual.selection import Selection
from textual.strip import Strip
from textual.widget import AwaitMount, Widget
from textual.widgets import Collapsible, Static

from studylog.labels import NO_TOPIC, UNDATED
from studylog.notes.model import Section
from studylog.safe_text import visible, visible_lines

if TYPE_CHECKING:
    from rich.markdown import Markdown

    from studylog.notes.blocks import Block
from studylog.store.queries import NoteDetail

# A chunk closes at the first block boundary past this many characters of markdown.
CHUNK_CHARS = 2500
# Mounted before the first paint: a screen's worth of lines, at most this many characters.
FIRST_CHARS = 6000
# Mounted between two paints while the rest of a long note arrives (doubling each time):
# each batch costs a layout of all that is mounted, so few and large (measured with
# benchmarks/bench_note_open.py: 12,000 took about 15% more CPU for 100 KB).
BATCH_CHARS = 32000
# `<details>` deeper than this are shown flat (their summary in bold): a widget per level of
# a 2,000-deep nesting would take the app down.
MAX_DEPTH = 12
HIGHLIGHT = Style(color="black", bgcolor="yellow", bold=True)


def header_text(detail: NoteDetail, place: str, *, gone: bool = False, kept: bool = False) -> Text:
    """The note's title, its place in the workspace (`place`), date, topic, tags, to-dos and
    warnings."""
    s = detail.summary
    # Note text is never markup and its control characters are shown (safe_text).
    text = Text(visible(s.title), style="bold")
    text.append(f"\n{visible(place)}", style="dim")
    facts = [s.date or UNDATED, s.topic or NO_TOPIC]
    facts += [lecture.label() for lecture in s.lectures]
    text.append("\n" + visible("  |  ".join(facts)), style="cyan")
    if s.tags:
        text.append("\n" + visible(" ".join(f"#{t}" for t in s.tags)), style="magenta")
    if detail.todos:
        done = sum(t.done for t in detail.todos)
        text.append(f"\nTo-dos {done}/{len(detail.todos)} done", style="magenta")
    for warning in s.warnings:
        text.append(f"\n⚠ {visible(warning)}", style="bold yellow")
    if gone:
        text.append(
            f"\n⚠ {visible(place)} was removed or moved: this is the last version read.",
            style="bold red",
        )
    if kept:
        text.append(
            f"\n⚠ {visible(place)} cannot be read now: this is the last version read.",
            style="bold red",
        )
    return text


# ```python run name=x timeout=60 → ```python: the highlighter wants the language alone.
_RUN_FENCE = re.compile(r"^(\s*(?:```|~~~)\s*)(python3?|py)\b[^\n]*$", re.MULTILINE)
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_TODO = re.compile(r"^(\s*(?:[-*+]|\d+[.)])\s+)\[([ xX])\](?=\s|$)")
# $…$ inline math: not `$ 5` prices (no space inside the dollars), not inside code spans.
_INLINE_MATH = re.compile(r"(?<![\\$\w])\$(?=\S)([^$\n]*?\S)\$(?![$\w])")
_CODE_SPAN = re.compile(r"(`+)(.*?)\1")


def display_markdown(text: str) -> str:
    """What Rich's Markdown is given: run fences as plain python fences, control characters
    visible (an escape sequence would reach the terminal), to-dos as ☐ / ☑, and math as
    written (code, so no markdown escape applies: `\\\\` stays `\\\\`)."""
    lines = visible_lines(text).split("\n")
    out: list[str] = []
    fence: str | None = None
    math: list[str] | None = None
    for line in lines:
        if fence is not None:
            out.append(line)
            if line.strip().startswith(fence) and line.strip().strip(fence[0]) == "":
                fence = None
            continue
        if math is not None:
            if line.rstrip().endswith("$$"):
                math.append(line.rstrip()[:-2])
                out.extend(_math_block(math))
                math = None
            else:
                math.append(line)
            continue
        opened = _FENCE.match(line)
        if opened:
            fence = opened.group(1)
            out.append(line)
            continue
        stripped = line.strip()
        if stripped.startswith("$$"):
            rest = stripped[2:]
            if rest.endswith("$$") and len(rest) >= 2:
                out.extend(_math_block([rest[:-2]]))
            else:
                math = [rest]
            continue
        line = _TODO.sub(lambda m: m.group(1) + ("☐" if m.group(2) == " " else "☑"), line)
        out.append(_inline_math(line))
    if math is not None:  # never closed: shown as it was written
        out.extend(["$$", *math])
    return _RUN_FENCE.sub(r"\1python", "\n".join(out))


def _math_block(lines: list[str]) -> list[str]:
    body = [line for line in lines if line.strip()] or [""]
    ticks = "`" * max(3, _longest_ticks("\n".join(body)) + 1)
    return ["", f"{ticks}text", "$$", *body, "$$", ticks, ""]


def _longest_ticks(text: str) -> int:
    return max((len(m) for m in re.findall(r"`+", text)), default=0)


def _inline_math(line: str) -> str:
    if "$" not in line:
        return line
    parts: list[str] = []
    last = 0
    for span in _CODE_SPAN.finditer(line):
        parts.append(_math_spans(line[last : span.start()]))
        parts.append(span.group(0))
        last = span.end()
    parts.append(_math_spans(line[last:]))
    return "".join(parts)


def _math_spans(text: str) -> str:
    def code(match: re.Match[str]) -> str:
        ticks = "`" * (_longest_ticks(match.group(0)) + 1)
        return f"{ticks} {match.group(0)} {ticks}"

    return _INLINE_MATH.sub(code, text)


def display_title(summary: str | None) -> str:
    """A `<details>` summary as a Collapsible title (a markup string there): escaped."""
    from textual.markup import escape

    return escape(visible(summary or "Details"))


def chunk_texts(text: str) -> list[str]:
    """`text` cut at top-level block boundaries into pieces of about CHUNK_CHARS, a heading
    always starting a piece (so the outline lands on it)."""
    if len(text) <= CHUNK_CHARS and not re.search(r"\n#{1,6} ", text):
        return [text]
    from studylog.notes.markup import markdown_parser

    lines = text.split("\n")
    # Where each line starts in `text`: a piece's size is a subtraction.
    offsets = [0]
    for line_text in lines:
        offsets.append(offsets[-1] + len(line_text) + 1)
    starts: list[tuple[int, bool]] = []
    for token in markdown_parser(tables=True, blocks_only=True).parse(text):
        if token.level == 0 and token.nesting >= 0 and token.map is not None:
            starts.append((token.map[0], token.type == "heading_open"))
    pieces: list[str] = []
    begin = 0
    for line, heading in sorted(set(starts)):
        if line > begin and (heading or offsets[line] - offsets[begin] >= CHUNK_CHARS):
            pieces.append("\n".join(lines[begin:line]))
            begin = line
    pieces.append("\n".join(lines[begin:]))
    return [piece for piece in pieces if piece.strip()]


class Highlighted:
    """A renderable drawn with the words of `pattern` highlighted (a search's matches)."""

    def __init__(self, renderable: Markdown, pattern: re.Pattern[str]) -> None:
        self.renderable = renderable
        self.pattern = pattern

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in console.render_lines(self.renderable, options, pad=False):
            text = Text()
            for seg in line:
                if not seg.control:
                    text.append(seg.text, seg.style)
            text.highlight_regex(self.pattern, HIGHLIGHT)
            text.no_wrap = True
            yield text
            yield Segment.line()


# Rendered chunks, by (markdown, width): reopening a note, or a re-read that changed one
# chunk, renders only what is new. Least recently used first; a few MB at most.
_RENDERED: OrderedDict[tuple[str, int], list[Strip]] = OrderedDict()
_RENDERED_MAX = 600


def _offsets(strip: Strip, y: int) -> Strip:
    """`strip` with each segment's character offset in its line, which Textual's text
    selection reads to know which characters the mouse is over."""
    segments: list[Segment] = []
    column = 0
    for text, style, control in strip:
        meta = Style.from_meta({"offset": (column, y)})
        segments.append(Segment(text, style + meta if style else meta, control))
        column += len(text)
    return Strip(segments, strip.cell_length)


class MarkdownChunk(Widget):
    """A run of plain markdown blocks: rendered once per width with Rich's Markdown (code
    highlighted, tables aligned by cell width: Korean included), its lines kept. Its text
    can be selected with the mouse like a Static's (Textual's text selection)."""

    DEFAULT_CSS = "MarkdownChunk { height: auto; }"
    ALLOW_SELECT = True

    def __init__(self, source: str) -> None:
        super().__init__()
        self.source = source
        self.highlight: re.Pattern[str] | None = None
        self._lines: list[Strip] = []
        self._width = -1
        # Lines as drawn (widget style, selection offsets), for the current width and style.
        self._drawn: dict[int, Strip] = {}
        self._drawn_style: Style | None = None

    def _markdown(self) -> Markdown:
        from rich.markdown import Markdown

        return Markdown(display_markdown(self.source), hyperlinks=False)

    def lines_at(self, width: int) -> list[Strip]:
        width = max(width, 1)
        if width != self._width:
            self._drawn.clear()
            key = (self.source, width)
            cached = _RENDERED.get(key) if self.highlight is None else None
            if cached is not None:
                _RENDERED.move_to_end(key)
                self._lines = cached
            else:
                self._lines = self._render_at(width)
                if self.highlight is None:
                    _RENDERED[key] = self._lines
                    while len(_RENDERED) > _RENDERED_MAX:
                        _RENDERED.popitem(last=False)
            self._width = width
        return self._lines

    def _render_at(self, width: int) -> list[Strip]:
        console = self.app.console
        options = console.options.update(width=width, highlight=False)
        markdown = self._markdown()
        renderable: Markdown | Highlighted = markdown
        if self.highlight is not None:
            renderable = Highlighted(markdown, self.highlight)
        return [
            Strip(line).simplify() for line in console.render_lines(renderable, options, pad=False)
        ]

    def set_highlight(self, pattern: re.Pattern[str] | None) -> None:
        self.highlight = pattern
        self._width = -1
        self.refresh(layout=True)

    def line_of(self, pattern: re.Pattern[str]) -> int:
        """The first line (0-based) where `pattern` matches, as shown; 0 if none does."""
        for number, strip in enumerate(self.lines_at(self.size.width or 80)):
            if pattern.search(strip.text):
                return number
        return 0

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.lines_at(width))

    def render_line(self, y: int) -> Strip:
        lines = self.lines_at(self.size.width)
        if y >= len(lines):
            return Strip.blank(self.size.width, self.rich_style)
        style = self.rich_style
        if style != self._drawn_style:
            self._drawn.clear()
            self._drawn_style = style
        drawn = self._drawn.get(y)
        if drawn is None:
            line = lines[y]
            selection = self.text_selection
            span = selection.get_span(y) if selection is not None else None
            if span is not None:
                start, end = span
                text = Text(no_wrap=True, end="")
                for segment in line:
                    if not segment.control:
                        text.append(segment.text, segment.style)
                text.stylize(
                    self.screen.get_component_rich_style("screen--selection"),
                    start,
                    len(text) if end == -1 else end,
                )
                line = Strip(text.render(self.app.console), line.cell_length)
            drawn = self._drawn[y] = _offsets(line.apply_style(style), y)
        return drawn

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        text = "\n".join(strip.text.rstrip() for strip in self.lines_at(self.size.width))
        return selection.extract(text), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self._drawn.clear()
        self.refresh()


class NoteSection(Collapsible):
    """A `<details>` section. Its title is no Tab stop: Tab moves between panels (the
    outline, `g`, opens any section). A closed section makes its contents when first
    opened: until then it costs its title alone."""

    def __init__(
        self, blocks: list[Block], *, key: tuple[str, ...], title: str, collapsed: bool, depth: int
    ) -> None:
        super().__init__(title=title, collapsed=collapsed)
        self._title.can_focus = False
        self.blocks = blocks
        self.key = key
        self.depth = depth
        self.memory: dict[tuple[str, ...], bool] = {}
        self.filled: AwaitMount | None = None

    def compose(self) -> ComposeResult:
        yield self._title
        with self.Contents():
            if not self.collapsed:
                self.filled = AwaitMount(self, [])
                yield from self._children()

    def _children(self) -> Iterator[Widget]:
        for item in _items(self.blocks, self.depth + 1, self.key, self.memory):
            yield item.widget

    def _watch_collapsed(self, collapsed: bool) -> None:
        # (Collapsible sets `collapsed` in its __init__, before this class's attributes.)
        if not collapsed and getattr(self, "filled", True) is None and self.is_mounted:
            self.filled = self.query_one(Collapsible.Contents).mount_all(list(self._children()))
        super()._watch_collapsed(collapsed)

    def text(self) -> Iterator[str]:
        """Its markdown and its sections' titles, in order (for search and the outline)."""
        yield from _flat(self.blocks)


@dataclass
class _Item:
    widget: Widget
    size: int


def _items(
    blocks: list[Block],
    depth: int = 0,
    parent: tuple[str, ...] = (),
    memory: dict[tuple[str, ...], bool] | None = None,
) -> Iterator[_Item]:
    """The widgets for `blocks`, each with the markdown characters it will render now.
    `memory` holds which sections were open (keyed by their titles' path) before a re-read."""
    from studylog.notes.blocks import DetailsBlock

    plain: list[str] = []
    memory = memory if memory is not None else {}

    def flush() -> Iterator[_Item]:
        if plain:
            for piece in chunk_texts("\n\n".join(plain)):
                yield _Item(MarkdownChunk(piece), len(piece))
            plain.clear()

    for number, block in enumerate(blocks):
        if isinstance(block, DetailsBlock) and depth < MAX_DEPTH:
            yield from flush()
            key = (*parent, f"{number}:{block.summary}")
            is_open = memory.get(key, block.open)
            section = NoteSection(
                block.children,
                key=key,
                title=display_title(block.summary),
                collapsed=not is_open,
                depth=depth,
            )
            section.memory = memory
            size = sum(len(t) for t in _flat(block.children)) if is_open else 50
            yield _Item(section, size)
        elif isinstance(block, DetailsBlock):
            plain.append(f"**{block.summary or 'Details'}**")
            plain.extend(_flat(block.children))
        else:
            plain.append(block.text)
    yield from flush()


def _flat(blocks: list[Block]) -> Iterator[str]:
    from studylog.notes.blocks import DetailsBlock

    stack = list(reversed(blocks))
    while stack:  # no recursion: the nesting may be thousands deep
        block = stack.pop()
        if isinstance(block, DetailsBlock):
            yield f"**{block.summary or 'Details'}**"
            stack.extend(reversed(block.children))
        else:
            yield block.text


def _warm_highlighter() -> None:
    from pygments.lexers import get_lexer_by_name

    get_lexer_by_name("python")


class NoteView(VerticalScroll):
    """The selected note; `show()` replaces what is shown."""

    DEFAULT_CSS = """
    NoteView > #note-header { padding: 0 1 1 1; }
    NoteView Collapsible { padding-bottom: 0; }
    """

    def _label(self, detail: NoteDetail) -> str:
        """How the note is named to the user: its place in the workspace."""
        workspace = getattr(self.app, "workspace", None)
        path = detail.summary.path
        return workspace.label(path) if workspace is not None else f"notes/{path}"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.detail: NoteDetail | None = None
        self.gone = False
        # True while the last readable version stays shown under an unreadable file's warning.
        self.kept = False
        # Set when every part of the shown note is mounted (the outline and search wait).
        self.ready = asyncio.Event()
        self.first_painted = asyncio.Event()
        self._generation = 0
        self._highlighted: list[MarkdownChunk] = []

    def compose(self) -> ComposeResult:
        yield Static(
            "Choose a note on the left (↑↓ and Enter), or press / to search.", id="note-header"
        )

    def on_mount(self) -> None:
        # Pygments builds its Python lexer's tables on first use (0.2 s): not on the first
        # open, while the user waits.
        self.run_worker(_warm_highlighter, thread=True, exit_on_error=False, group="warm")

    async def show(self, detail: NoteDetail, *, keep_place: bool = False) -> None:
        """Show `detail`; with `keep_place` (the same note, re-read) the scroll position and
        the open sections stay as they were."""
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
            self.query_one("#note-header", Static).update(
                header_text(detail, self._label(detail), kept=True)
            )
            self.first_painted.set()
            return
        place = self._place() if keep_place else None
        memory = {section.key: not section.collapsed for section in self.query(NoteSection)}
        self._generation += 1
        generation = self._generation
        self.ready.clear()
        self.first_painted.clear()
        self.detail, self.gone, self.kept = detail, False, False
        self._highlighted = []
        # The header stays (updated in place); the old note's parts go.
        self.query_one("#note-header", Static).update(header_text(detail, self._label(detail)))
        await self.remove_children(list(self.children)[1:])
        if not detail.summary.readable:
            self.ready.set()
            self.first_painted.set()
            return
        from studylog.notes.blocks import split_blocks

        # Made as they are mounted: a long note's later sections cost nothing before the
        # first screen is painted.
        items = _items(split_blocks(detail.body), memory=memory if keep_place else None)
        if place is None:
            self.scroll_home(animate=False)
        first = True
        limit = BATCH_CHARS
        while generation == self._generation:
            if first:
                batch = self._first_screen(items)
            else:
                batch, size = [], 0
                while not batch or size < limit:
                    item = next(items, None)
                    if item is None:
                        break
                    batch.append(item.widget)
                    size += item.size
            if not batch:
                break
            await self.mount_all(batch)
            await self._painted()
            if generation != self._generation:
                return
            self.first_painted.set()
            # Keys and waiters get their turn before the next batch is made.
            await asyncio.sleep(0)
            if not first:
                limit *= 2  # fewer, larger batches: each costs a layout of all that is mounted
            first = False
            if place is not None:
                self.scroll_to(y=place[0], animate=False)
        if generation == self._generation:
            self.first_painted.set()  # (a note with an empty body)
            self.ready.set()

    def _first_screen(self, items: Iterator[_Item]) -> list[Widget]:
        """The first widgets of `items`, enough to fill the view: chunks are rendered here
        at the view's width to know their height (the render is kept)."""
        width = self.scrollable_content_region.width or self.size.width or 80
        wanted = max(self.size.height, 10) + 2
        height = 6  # the header, about
        batch: list[Widget] = []
        size = 0
        while height < wanted and size < FIRST_CHARS:
            item = next(items, None)
            if item is None:
                break
            batch.append(item.widget)
            size += item.size
            if isinstance(item.widget, MarkdownChunk):
                height += len(item.widget.lines_at(width))
            else:
                height += 1 + (item.size * 2) // max(width, 1)
        return batch

    async def _painted(self) -> None:
        """Back when what was mounted has been laid out and painted."""
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
            self.query_one("#note-header", Static).update(
                header_text(self.detail, self._label(self.detail), gone=True)
            )

    def _place(self) -> tuple[float]:
        return (self.scroll_y,)

    async def jump_to(self, section: Section) -> None:
        """Scroll to a section of the outline, opening the collapsibles on the way."""
        await self.ready.wait()
        if section.kind == "details":
            wanted = f"**{section.title or 'Details'}**"
            await self._open_towards(lambda text: wanted in text, lambda: self._find(section))
        else:
            marker = "#" * section.level + " " + visible(section.title)
            await self._open_towards(lambda text: marker in text, lambda: self._find(section))
        target = self._find(section)
        if target is None:
            return
        self._open_around(target)
        await self._painted()
        self.scroll_to_widget(target, top=True, animate=False, immediate=True)

    async def _open_towards(
        self, matches: Callable[[str], bool], found: Callable[[], object]
    ) -> None:
        """Open the closed sections (making their contents) on the way to the first place
        whose text `matches`, unless `found()` already finds it among what is made."""
        for _ in range(MAX_DEPTH + 1):
            if found():
                return
            for section in self.query(NoteSection):
                if section.filled is None and matches("\n".join(section.text())):
                    section.collapsed = False
                    if section.filled is not None:
                        await section.filled
                    break
            else:
                return

    def _open_around(self, target: Widget) -> None:
        for ancestor in [target, *target.ancestors]:
            if isinstance(ancestor, Collapsible):
                ancestor.collapsed = False

    def _find(self, section: Section) -> Widget | None:
        if section.kind == "details":
            for collapsible in self.query(NoteSection):
                if collapsible.title == display_title(section.title):
                    return collapsible
            return None
        marker = "#" * section.level + " " + visible(section.title)
        for chunk in self.query(MarkdownChunk):
            if any(line.strip() == marker for line in chunk.source.split("\n")):
                return chunk
        return None

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

        def made() -> bool:
            return any(
                pattern.search(display_markdown(c.source)) for c in self.query(MarkdownChunk)
            )

        await self._open_towards(
            lambda text: pattern.search(display_markdown(text)) is not None, made
        )
        self.clear_highlight()
        first: MarkdownChunk | None = None
        for chunk in self.query(MarkdownChunk):
            if pattern.search(display_markdown(chunk.source)):
                chunk.set_highlight(pattern)
                self._highlighted.append(chunk)
                if first is None:
                    first = chunk
        if first is None:
            return False
        self._open_around(first)
        await self._painted()
        offset = first.line_of(pattern)
        self.scroll_to_widget(first, top=True, animate=False, immediate=True)
        self.scroll_to(y=max(0, self.scroll_y + offset - 2), animate=False, immediate=True)
        return True

    def clear_highlight(self) -> None:
        for chunk in self._highlighted:
            if chunk.is_attached:
                chunk.set_highlight(None)
        self._highlighted = []

    @property
    def highlighting(self) -> bool:
        return bool(self._highlighted)
