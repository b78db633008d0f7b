"""A note as a document of display lines, for the note view: its markdown cut into pieces
of a few KB (each rendered once per width with Rich's Markdown, its lines kept), and its
`<details>` sections, nested as written, each a title line and its contents (made when the
section is first opened). The view (note_view.py) draws the lines; this holds what they are."""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field

from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from rich.text import Text
from textual.strip import Strip

from studylog.labels import NO_TOPIC, UNDATED
from studylog.notes.blocks import Block, DetailsBlock
from studylog.safe_text import visible, visible_lines
from studylog.store.queries import NoteDetail

# A piece closes at the first block boundary past this many characters of markdown.
CHUNK_CHARS = 2500
# `<details>` deeper than this are shown flat (their summary in bold): a level of title and
# indentation per level of a 2,000-deep nesting would leave no room for the text.
MAX_DEPTH = 12
# Columns of indentation per level of `<details>`.
INDENT = 2


def fit_path(path: str, width: int) -> str:
    """`path` in `width` cells: whole if it fits, else cut at its start with … at a `/`
    (the file name whole), else the end of the file name after …: a path folded by the
    wrap broke mid-word (`…autograd-dat` / `aset.md`)."""
    if cell_len(path) <= width:
        return path
    parts = path.split("/")
    for first in range(1, len(parts)):
        tail = "…/" + "/".join(parts[first:])
        if cell_len(tail) <= width:
            return tail
    kept: list[str] = []
    room = max(width - 1, 1)
    for char in reversed(parts[-1]):
        room -= cell_len(char)
        if room < 0:
            break
        kept.append(char)
    return "…" + "".join(reversed(kept))


def header_text(
    detail: NoteDetail,
    place: str,
    width: int | None = None,
    *,
    gone: bool = False,
    kept: bool = False,
) -> Text:
    """The note's title, its place in the workspace (`place`, on one line of `width` cells
    when given), date, topic, tags, to-dos and warnings."""
    s = detail.summary
    # Note text is never markup and its control characters are shown (safe_text).
    text = Text(visible(s.title), style="bold")
    shown = visible(place) if width is None else fit_path(visible(place), width)
    text.append(f"\n{shown}", style="dim")
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


@dataclass(eq=False)
class Piece:
    """A run of markdown blocks, and its lines once rendered (at `width`)."""

    source: str
    depth: int
    parent: Fold | None = None
    lines: list[Strip] | None = None
    width: int = -1

    @property
    def height(self) -> int:
        return len(self.lines) if self.lines is not None else 0


@dataclass(eq=False)
class Fold:
    """A `<details>` section: one title line, and its contents while open. `key` is the
    path of titles that names it across re-reads (which sections were open)."""

    key: tuple[str, ...]
    summary: str
    depth: int
    open: bool
    blocks: list[Block]
    memory: dict[tuple[str, ...], bool] = field(default_factory=dict)
    parent: Fold | None = None
    _children: list[Node] | None = None

    @property
    def title(self) -> str:
        return visible(self.summary or "Details")

    @property
    def height(self) -> int:
        return 1

    def children(self) -> list[Node]:
        """Its contents, made on first use (a closed section costs its title alone)."""
        if self._children is None:
            self._children = list(nodes(self.blocks, self.depth + 1, self.key, self.memory, self))
        return self._children

    def text(self) -> Iterator[str]:
        """Its markdown and its sections' titles, in order (for search and the outline)."""
        yield from _flat(self.blocks)


Node = Piece | Fold


def nodes(
    blocks: list[Block],
    depth: int = 0,
    parent_key: tuple[str, ...] = (),
    memory: dict[tuple[str, ...], bool] | None = None,
    parent: Fold | None = None,
) -> Iterator[Node]:
    """The document's nodes for `blocks`, made as they are asked for. `memory` holds which
    sections were open (keyed by their titles' path) before a re-read."""
    plain: list[str] = []
    memory = memory if memory is not None else {}

    def flush() -> Iterator[Node]:
        if plain:
            for piece in chunk_texts("\n\n".join(plain)):
                yield Piece(piece, depth, parent)
            plain.clear()

    for number, block in enumerate(blocks):
        if isinstance(block, DetailsBlock) and depth < MAX_DEPTH:
            yield from flush()
            key = (*parent_key, f"{number}:{block.summary}")
            yield Fold(
                key,
                block.summary,
                depth,
                memory.get(key, block.open),
                block.children,
                memory,
                parent,
            )
        elif isinstance(block, DetailsBlock):
            plain.append(f"**{block.summary or 'Details'}**")
            plain.extend(_flat(block.children))
        else:
            plain.append(block.text)
    yield from flush()


def walk(top: list[Node], mode: str = "shown") -> Iterator[Node]:
    """The nodes of `top` in document order: "shown" (inside open sections), "made" (what
    was made so far, closed sections' contents included) or "all" (closed sections'
    contents made on the way)."""
    stack: list[Node] = list(reversed(top))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, Fold):
            continue
        if node.open or mode == "all":
            stack.extend(reversed(node.children()))
        elif mode == "made" and node._children is not None:
            stack.extend(reversed(node._children))


def ancestors(node: Node) -> Iterator[Fold]:
    parent = node.parent
    while parent is not None:
        yield parent
        parent = parent.parent


# Rendered pieces, by (markdown, width): reopening a note, or a re-read that changed one
# piece, renders only what is new. Least recently used first; a few MB at most.
_RENDERED: OrderedDict[tuple[str, int], list[Strip]] = OrderedDict()
_RENDERED_MAX = 600


def render_markdown(console: Console, source: str, width: int) -> list[Strip]:
    """`source` as Rich's Markdown draws it at `width` (code highlighted, tables aligned by
    cell width: Korean included), one Strip a line; kept in _RENDERED."""
    key = (source, width)
    cached = _RENDERED.get(key)
    if cached is not None:
        _RENDERED.move_to_end(key)
        return cached
    from studylog.tui.widgets.note_markdown import NoteMarkdown

    options = console.options.update(width=width, highlight=False)
    markdown = NoteMarkdown(display_markdown(source))
    lines = [_strip(line) for line in console.render_lines(markdown, options, pad=False)]
    # One blank line after it, none before, as Rich puts between two blocks: the next
    # piece or section title neither runs on nor floats. A code block's padding is not
    # blank (its background shows): a section's log kept its top row and got its gap.
    while lines and _blank(lines[0]):
        del lines[0]
    if lines and not _blank(lines[-1]):
        lines.append(Strip([]))
    _RENDERED[key] = lines
    while len(_RENDERED) > _RENDERED_MAX:
        _RENDERED.popitem(last=False)
    return lines


def _blank(line: Strip) -> bool:
    """Whether `line` shows nothing: no text, no background."""
    return not line.text.strip() and all(
        segment.style is None or segment.style.bgcolor is None for segment in line
    )


def render_text(console: Console, text: Text, width: int) -> list[Strip]:
    options = console.options.update(width=width, highlight=False)
    return [_strip(line) for line in console.render_lines(text, options, pad=False)]


def _strip(segments: list[Segment]) -> Strip:
    """One line as a Strip, its segments of one style joined: one Strip made, not two (a
    Strip makes seven caches; `Strip(line).simplify()` made a second)."""
    return Strip(Segment.simplify(segments))
